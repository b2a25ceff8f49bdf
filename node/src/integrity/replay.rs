//! The replay of a log from its stored entries: every stored hash recomputed and compared
//! with storage, and the root with the latest signed checkpoint.

use std::collections::{BTreeSet, HashMap};

use daylight_verifier::Hash;
use daylight_verifier::merkle::{Frontier, HashReader, NodeId, leaf_hash, tree_hash};

use super::SignedRoot;
use crate::held::HeldLog;
use crate::store::Store;

/// Entries the scrub reads per step (one entry tile).
pub(super) const SCRUB_CHUNK: u64 = 256;

/// The latest stored checkpoint of `log`, with its log signature verified.
pub(super) fn signed_head(store: &Store, log: &HeldLog) -> Result<Option<SignedRoot>, String> {
    let latest = store
        .latest_checkpoint(log.number)
        .map_err(|e| format!("its checkpoints ({e})"))?;
    let Some((size, note)) = latest else {
        return Ok(None);
    };
    // The key the log's history names for this size: after a rotation, earlier checkpoints
    // stay signed by the earlier key.
    let signed = log
        .policy
        .open(note.as_bytes())
        .map_err(|e| format!("its latest checkpoint, size {size} ({e})"))?;
    if signed.checkpoint.size != size {
        return Err(format!("its latest checkpoint, stored as size {size}"));
    }
    Ok(Some(SignedRoot {
        size,
        root: signed.checkpoint.root,
    }))
}

/// Replays all of `log` to `head` with `substitutes` in place of stored entries.
pub(super) fn full_replay(
    store: &Store,
    log: &HeldLog,
    head: SignedRoot,
    substitutes: &HashMap<u64, Vec<u8>>,
) -> Result<Replay, String> {
    let mut replay = Replay::new(head);
    let mut next = 0;
    while next < head.size {
        let end = (next + SCRUB_CHUNK).min(head.size);
        let entries = store
            .entries(log.number, next..end)
            .map_err(|e| e.to_string())?;
        replay.feed(store, log.number, next, end, entries, substitutes);
        next = end;
    }
    Ok(replay)
}

/// Replays all of `log` from storage, unthrottled, and says whether every stored entry and
/// hash leads to its latest signed checkpoint (`Ok(None)`) or what is damaged
/// (`Ok(Some(what))`). Changes nothing; for tools and benchmarks.
pub fn verify_log(store: &Store, log: &HeldLog) -> Result<Option<String>, String> {
    let Some(head) = signed_head(store, log)? else {
        return Ok(None);
    };
    let replay = full_replay(store, log, head, &HashMap::new())?;
    Ok((!replay.is_clean()).then(|| replay.describe()))
}

/// Before the node's own log is opened for writing: if its stored tree does not lead to its
/// last signed checkpoint but its entries do, rewrites the wrong stored hashes from the
/// entries (no peer needed). Returns how many hashes were rewritten; an error says what is
/// damaged beyond local repair.
pub fn repair_locally(store: &Store, log: &HeldLog) -> Result<usize, String> {
    let Some(head) = signed_head(store, log)? else {
        return Ok(0);
    };
    if tree_hash(head.size, &store.hash_reader(log.number)).is_ok_and(|root| root == head.root) {
        return Ok(0);
    }
    let replay = full_replay(store, log, head, &HashMap::new())?;
    if !replay.root_matches() {
        return Err(format!(
            "the stored entries of {} do not lead to its last signed checkpoint: {}",
            log.origin,
            replay.describe()
        ));
    }
    let count = replay.wrong_hashes.len();
    store
        .repair(log.number, &[], &replay.wrong_hashes)
        .map_err(|e| e.to_string())?;
    tracing::warn!(
        "rewrote {count} damaged stored hashes of {} from its entries",
        log.origin
    );
    Ok(count)
}

/// A replay of one log from its stored entries: every hash recomputed and compared.
pub(super) struct Replay {
    pub(super) head: SignedRoot,
    frontier: Frontier,
    /// Stored hashes that differ from the replay (or are missing), with the replay's value.
    pub(super) wrong_hashes: Vec<(NodeId, Hash)>,
    /// Leaf ranges (entry tiles) whose entries are missing or disagree with their stored
    /// leaf hash: the entries to fetch if the replay does not reach the signed root.
    suspects: BTreeSet<(u64, u64)>,
    /// Entries missing from storage (the replay cannot reach the root without them).
    missing: u64,
}

impl Replay {
    pub(super) fn new(head: SignedRoot) -> Replay {
        Replay {
            head,
            frontier: Frontier::empty(),
            wrong_hashes: Vec::new(),
            suspects: BTreeSet::new(),
            missing: 0,
        }
    }

    /// Appends entries `start..end` (stored `entries`, with `substitutes` taking precedence)
    /// and compares the hashes they complete with the stored ones.
    pub(super) fn feed(
        &mut self,
        store: &Store,
        log: u32,
        start: u64,
        end: u64,
        entries: Vec<Vec<u8>>,
        substitutes: &HashMap<u64, Vec<u8>>,
    ) {
        let tile = (
            start / SCRUB_CHUNK * SCRUB_CHUNK,
            (start / SCRUB_CHUNK + 1) * SCRUB_CHUNK,
        );
        let tile = (tile.0, tile.1.min(self.head.size));
        let mut stored_entries = entries.into_iter();
        let complete = (end - start) as usize == stored_entries.len();
        let mut computed = Vec::with_capacity((end - start) as usize * 2);
        for index in start..end {
            let bytes = match substitutes.get(&index) {
                Some(bytes) => {
                    if complete {
                        stored_entries.next();
                    }
                    bytes.clone()
                }
                // A short read cannot say which entry is missing: the tile is suspect, and
                // the replay goes on with an empty entry so the hashes after it still count.
                None if complete => stored_entries.next().unwrap_or_default(),
                None => {
                    self.missing += 1;
                    self.suspects.insert(tile);
                    Vec::new()
                }
            };
            self.frontier.append(leaf_hash(&bytes), &mut computed);
        }
        let ids: Vec<NodeId> = computed.iter().map(|(id, _)| *id).collect();
        let stored = store.hash_reader(log).read_hashes(&ids);
        match stored {
            Ok(stored) => {
                for ((id, hash), old) in computed.into_iter().zip(stored) {
                    if hash != old {
                        if id.level == 0 {
                            self.suspects.insert(tile);
                        }
                        self.wrong_hashes.push((id, hash));
                    }
                }
            }
            Err(_) => {
                // Some hash is unreadable or missing: compare one by one.
                for (id, hash) in computed {
                    let old = store.hash_reader(log).read_hashes(&[id]);
                    if old.ok().and_then(|v| v.first().copied()) != Some(hash) {
                        if id.level == 0 {
                            self.suspects.insert(tile);
                        }
                        self.wrong_hashes.push((id, hash));
                    }
                }
            }
        }
    }

    pub(super) fn root_matches(&self) -> bool {
        self.frontier.size() == self.head.size && self.frontier.root() == self.head.root
    }

    pub(super) fn is_clean(&self) -> bool {
        self.root_matches() && self.wrong_hashes.is_empty() && self.missing == 0
    }

    pub(super) fn suspect_tiles(&self) -> BTreeSet<(u64, u64)> {
        self.suspects.clone()
    }

    pub(super) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.suspects.is_empty() {
            let tiles: Vec<String> = self
                .suspects
                .iter()
                .take(5)
                .map(|(a, b)| format!("{a}..{b}"))
                .collect();
            parts.push(format!("entries in {}", tiles.join(", ")));
        }
        if !self.wrong_hashes.is_empty() {
            parts.push(format!("{} stored hashes", self.wrong_hashes.len()));
        }
        if !self.root_matches() {
            parts.push("entries that do not lead to the signed root".into());
        }
        parts.join("; ")
    }
}

/// One stored hash.
pub(super) fn read_one(
    reader: &impl HashReader,
    id: NodeId,
) -> Result<Hash, daylight_verifier::merkle::TreeError> {
    reader
        .read_hashes(&[id])?
        .into_iter()
        .next()
        .ok_or(daylight_verifier::merkle::TreeError::Missing(id))
}
