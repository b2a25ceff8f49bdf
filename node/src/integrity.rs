//! Integrity (DESIGN §5.5 *Damage*): whatever the node serves, it has checked, and damage is
//! found, reported and repaired.
//!
//! Three pieces, one rule — *a stored byte is served only after it has been tied to a
//! checkpoint signed by the log's key*:
//!
//! * **Checks on read.** Every tile, entry, record, receipt and proof the HTTP API serves goes
//!   through [`Integrity`] first. A run of hashes (a hash tile, or the leaf hashes of an entry
//!   tile or of one entry) is anchored to the signed root with
//!   [`root_with_nodes`](daylight_verifier::merkle::root_with_nodes), which costs `O(log n)`
//!   stored hashes; proofs are verified as a client would. A full tile, once checked, is
//!   remembered (tiles never change). What fails is reported and answered with an error,
//!   never with bytes.
//! * **The scrub.** A background task replays every held log from its stored entries at a
//!   bounded rate, recomputes every stored hash and the root, and compares them with storage
//!   and with the latest signed checkpoint. At start, each log first gets the fast check
//!   (the root of its stored tree against its latest checkpoint).
//! * **Repair.** If the replayed root is the signed one, the entries are intact and every
//!   wrong stored hash is rewritten from the replay. If not, the entries whose leaf hash
//!   disagrees with storage are fetched from peers holding the same log, and the log is
//!   replayed again with them; only a replay that reaches the signed root is written. A
//!   peer's bytes are never written unverified.
//!
//! Damage is reported as a log line naming the log and the indexes, as a problem in
//! [`Health`] (so `/healthz` says degraded, with the reason) and in `/metrics`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use daylight_verifier::checkpoint::SignedCheckpoint;
use daylight_verifier::merkle::{
    Frontier, HashReader, NodeId, leaf_hash, prove_consistency, prove_inclusion, root_with_nodes,
    tree_hash, verify_consistency, verify_inclusion,
};
use daylight_verifier::{Hash, VerifierKey};
use libp2p::PeerId;
use tokio::sync::Notify;

use crate::health::{Health, Problem};
use crate::p2p::protocol::MAX_ENTRIES_PER_REQUEST;
use crate::p2p::{Network, SyncRequest, SyncResponse};
use crate::storage::Store;

/// Entries the scrub reads per step (one entry tile).
const SCRUB_CHUNK: u64 = 256;

/// Most full tiles remembered as checked before the memory is cleared (it only saves work).
const VERIFIED_TILES_LIMIT: usize = 1 << 20;

/// How the scrub is paced.
#[derive(Clone, Copy, Debug)]
pub struct ScrubPace {
    /// Entries checked per second at most (bounds the scrub's disk reads and CPU).
    pub entries_per_second: u64,
    /// Pause between the end of one full pass over every log and the next pass.
    pub pass_interval: Duration,
}

impl Default for ScrubPace {
    fn default() -> Self {
        ScrubPace {
            entries_per_second: 20_000,
            pass_interval: Duration::from_secs(3600),
        }
    }
}

/// One log as the integrity checks need it.
#[derive(Clone, Debug)]
pub struct CheckedLog {
    /// The log's origin.
    pub origin: String,
    /// Its storage number.
    pub number: u32,
    /// The key that signs its checkpoints.
    pub log_key: VerifierKey,
}

/// Why something stored could not be served.
#[derive(Debug, thiserror::Error)]
pub enum Damage {
    /// Stored bytes do not lead to the signed root.
    #[error(
        "this node's copy of log {origin} is damaged at {what}; it is not served and is being \
         repaired from a peer; ask another node meanwhile"
    )]
    Found {
        /// The log.
        origin: String,
        /// Where, in words ("entries 256..512", "hash (8, 3)").
        what: String,
    },
}

/// The signed head a read is checked against: size and root of a checkpoint signed by the
/// log's key.
#[derive(Clone, Copy, Debug)]
pub struct SignedRoot {
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root: Hash,
}

/// Damage found and not yet repaired, by log number: the leaf ranges involved.
type DamageMap = HashMap<u32, BTreeSet<(u64, u64)>>;

/// The integrity checker, scrubber and repairer of one node.
pub struct Integrity {
    store: Arc<Store>,
    health: Arc<Health>,
    logs: Vec<CheckedLog>,
    network: Option<Network>,
    /// Full tiles already anchored to a signed root: (log, tile level, tile index, entries?).
    verified: Mutex<HashSet<(u32, u8, u64, bool)>>,
    /// Damage found and not yet repaired.
    damaged: Mutex<DamageMap>,
    /// The last checkpoint note of each log whose log signature was checked, with its root.
    checked_notes: Mutex<HashMap<u32, (Arc<str>, SignedRoot)>>,
    /// Wakes the scrub for an immediate pass (damage found on read).
    wake: Notify,
    /// Damage reports since start.
    pub damage_found: AtomicU64,
    /// Repairs written since start.
    pub repairs: AtomicU64,
    /// Entries checked by the scrub since start.
    pub scrubbed: AtomicU64,
}

impl Integrity {
    /// The checker of `logs`, repairing from peers over `network` when there is one.
    pub fn new(
        store: Arc<Store>,
        health: Arc<Health>,
        logs: Vec<CheckedLog>,
        network: Option<Network>,
    ) -> Integrity {
        Integrity {
            store,
            health,
            logs,
            network,
            verified: Mutex::new(HashSet::new()),
            damaged: Mutex::new(HashMap::new()),
            checked_notes: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            damage_found: AtomicU64::new(0),
            repairs: AtomicU64::new(0),
            scrubbed: AtomicU64::new(0),
        }
    }

    fn origin(&self, log: u32) -> String {
        self.logs
            .iter()
            .find(|l| l.number == log)
            .map_or_else(|| format!("#{log}"), |l| l.origin.clone())
    }

    /// Reports damage in `log` over leaves `range`: a log line, a health problem, a metric,
    /// and a wake-up for the repairer. Returns the error to answer the request with.
    pub fn report(&self, log: u32, range: (u64, u64), what: impl Into<String>) -> Damage {
        let origin = self.origin(log);
        let what = what.into();
        let new = self
            .damaged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(log)
            .or_default()
            .insert(range);
        if new {
            self.damage_found.fetch_add(1, Ordering::Relaxed);
            tracing::error!("damage in log {origin}: {what}; not serving it, repairing");
            self.health.raise(
                Problem::Damaged(origin.clone()),
                format!(
                    "log {origin} is damaged at {what}; the damaged items are not served and \
                     are being repaired from a peer"
                ),
            );
            self.wake.notify_one();
        }
        Damage::Found { origin, what }
    }

    /// The size and root of `note`, the latest checkpoint of `log` about to be served or
    /// used to check a read, once its log signature is verified (remembered per log, so a
    /// note is verified once, not on every request).
    pub fn check_note(&self, log: u32, note: &Arc<str>) -> Result<SignedRoot, Damage> {
        if let Some((seen, root)) = self
            .checked_notes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&log)
            && seen == note
        {
            return Ok(*root);
        }
        let key = self
            .logs
            .iter()
            .find(|l| l.number == log)
            .map(|l| &l.log_key);
        let signed = key.and_then(|key| SignedCheckpoint::open(note.as_bytes(), key).ok());
        let Some(signed) = signed else {
            return Err(self.report(log, (0, 0), "its latest checkpoint (bad log signature)"));
        };
        let root = SignedRoot {
            size: signed.checkpoint.size,
            root: signed.checkpoint.root,
        };
        self.checked_notes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(log, (note.clone(), root));
        Ok(root)
    }

    /// Checks the hashes of a tile (`level` is the tile level, `first` the index of its first
    /// hash at tree level `8 · level`) against `head`.
    pub fn check_hash_tile(
        &self,
        log: u32,
        level: u8,
        index: u64,
        hashes: &[Hash],
        head: SignedRoot,
    ) -> Result<(), Damage> {
        let key = (log, level, index, false);
        let full = hashes.len() == 256;
        if full && self.is_verified(&key) {
            return Ok(());
        }
        let tree_level = level * 8;
        let first = index * 256;
        let leaves = (
            first << tree_level,
            (first + hashes.len() as u64) << tree_level,
        );
        self.anchor(log, tree_level, first, hashes, head)
            .map_err(|_| {
                self.report(
                    log,
                    leaves,
                    format!(
                        "hash tile {level}/{index} (leaves {}..{})",
                        leaves.0, leaves.1
                    ),
                )
            })?;
        if full {
            self.remember(key);
        }
        Ok(())
    }

    /// Checks consecutive entries starting at `first` against `head` (their leaf hashes are
    /// anchored to the signed root). `tile` marks a full entry tile worth remembering.
    pub fn check_entries(
        &self,
        log: u32,
        first: u64,
        entries: &[Vec<u8>],
        expected: u64,
        head: SignedRoot,
    ) -> Result<(), Damage> {
        let range = (first, first + expected);
        if entries.len() as u64 != expected {
            return Err(self.report(
                log,
                range,
                format!(
                    "entries {}..{} ({} of {expected} stored)",
                    range.0,
                    range.1,
                    entries.len()
                ),
            ));
        }
        let key = (log, 0, first / 256, true);
        let full = expected == 256 && first.is_multiple_of(256);
        if full && self.is_verified(&key) {
            return Ok(());
        }
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        self.anchor(log, 0, first, &leaves, head)
            .map_err(|_| self.report(log, range, format!("entries {}..{}", range.0, range.1)))?;
        if full {
            self.remember(key);
        }
        Ok(())
    }

    /// The inclusion proof of entry `index` (whose bytes are `entry`) in the tree of `size`,
    /// checked against `head` before it is handed out.
    pub fn inclusion_proof(
        &self,
        log: u32,
        index: u64,
        size: u64,
        leaf: Option<Hash>,
        head: SignedRoot,
    ) -> Result<Vec<Hash>, Damage> {
        let reader = self.store.hash_reader(log);
        let damaged = || {
            self.report(
                log,
                (index, index + 1),
                format!("entry {index} or the hashes of its proof"),
            )
        };
        let proof = prove_inclusion(index, size, &reader).map_err(|_| damaged())?;
        let leaf = match leaf {
            Some(leaf) => leaf,
            None => read_one(&reader, NodeId::new(0, index)).map_err(|_| damaged())?,
        };
        let root = self.root_at(log, size, head)?;
        verify_inclusion(index, size, &leaf, &proof, &root).map_err(|_| damaged())?;
        Ok(proof)
    }

    /// The consistency proof from `old` to `new`, checked against `head` before it is handed
    /// out.
    pub fn consistency_proof(
        &self,
        log: u32,
        old: u64,
        new: u64,
        head: SignedRoot,
    ) -> Result<Vec<Hash>, Damage> {
        let reader = self.store.hash_reader(log);
        let damaged = || {
            self.report(
                log,
                (0, new),
                format!("the hashes between sizes {old} and {new}"),
            )
        };
        let proof = prove_consistency(old, new, &reader).map_err(|_| damaged())?;
        let old_root = tree_hash(old, &reader).map_err(|_| damaged())?;
        let new_root = self.root_at(log, new, head)?;
        verify_consistency(old, new, &old_root, &new_root, &proof).map_err(|_| damaged())?;
        Ok(proof)
    }

    /// The root of the tree of `size` from storage, checked to be a prefix of `head`.
    fn root_at(&self, log: u32, size: u64, head: SignedRoot) -> Result<Hash, Damage> {
        if size == head.size {
            return Ok(head.root);
        }
        let reader = self.store.hash_reader(log);
        let damaged = || {
            self.report(
                log,
                (0, head.size),
                format!("the tree hashes of size {size}"),
            )
        };
        let root = tree_hash(size, &reader).map_err(|_| damaged())?;
        let proof = prove_consistency(size, head.size, &reader).map_err(|_| damaged())?;
        verify_consistency(size, head.size, &root, &head.root, &proof).map_err(|_| damaged())?;
        Ok(root)
    }

    fn anchor(
        &self,
        log: u32,
        level: u8,
        first: u64,
        nodes: &[Hash],
        head: SignedRoot,
    ) -> Result<(), ()> {
        let reader = self.store.hash_reader(log);
        match root_with_nodes(level, first, nodes, head.size, &reader) {
            Ok(root) if root == head.root => Ok(()),
            _ => Err(()),
        }
    }

    fn is_verified(&self, key: &(u32, u8, u64, bool)) -> bool {
        self.verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(key)
    }

    fn remember(&self, key: (u32, u8, u64, bool)) {
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= VERIFIED_TILES_LIMIT {
            verified.clear();
        }
        verified.insert(key);
    }

    /// Starts a scrub pass over every held log now instead of at the next interval (for
    /// operators' tools and benchmarks).
    pub fn scrub_now(&self) {
        self.wake.notify_one();
    }

    /// Whether any damage is known and not yet repaired.
    pub fn has_damage(&self) -> bool {
        !self
            .damaged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// The fast check at start: each log's stored tree root against its latest signed
    /// checkpoint. Logs that fail are reported (and scrubbed and repaired first).
    pub fn check_at_start(&self) {
        for log in &self.logs {
            if let Err(what) = self.fast_check(log) {
                let size = self.store.size(log.number).unwrap_or(0);
                self.report(log.number, (0, size), what);
            }
        }
    }

    fn fast_check(&self, log: &CheckedLog) -> Result<(), String> {
        let Some(head) = self.signed_head(log)? else {
            return Ok(());
        };
        let root = tree_hash(head.size, &self.store.hash_reader(log.number))
            .map_err(|e| format!("the stored tree ({e})"))?;
        if root != head.root {
            return Err(format!(
                "the stored tree of size {} (its root is not the signed one)",
                head.size
            ));
        }
        Ok(())
    }

    fn signed_head(&self, log: &CheckedLog) -> Result<Option<SignedRoot>, String> {
        signed_head(&self.store, log)
    }

    /// The scrub: a fast check of every log, then full passes over every log at `pace`, one
    /// after another, with repair of whatever they find. Damage reported on read starts a pass
    /// at once. Ends when `stop` fires.
    pub async fn run(
        self: Arc<Self>,
        pace: ScrubPace,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let this = self.clone();
        let _ = tokio::task::spawn_blocking(move || this.check_at_start()).await;
        loop {
            for log in self.logs.clone() {
                if *stop.borrow() {
                    return;
                }
                if let Err(e) = self.scrub_and_repair(&log, pace, &mut stop).await {
                    tracing::warn!("scrub of {}: {e}", log.origin);
                }
            }
            tokio::select! {
                _ = stop.changed() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(if self.has_damage() {
                    Duration::from_secs(5)
                } else {
                    pace.pass_interval
                }) => {}
            }
        }
    }

    /// One pass over `log`, then its repair if the pass found damage.
    async fn scrub_and_repair(
        self: &Arc<Self>,
        log: &CheckedLog,
        pace: ScrubPace,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), String> {
        let head = match self.signed_head(log) {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(()),
            Err(what) => {
                let size = self.store.size(log.number).unwrap_or(0);
                self.report(log.number, (0, size), what);
                return Ok(());
            }
        };
        let mut replay = Replay::new(head);
        let mut next = 0;
        while next < head.size {
            if *stop.borrow() {
                return Ok(());
            }
            let end = (next + SCRUB_CHUNK).min(head.size);
            let started = tokio::time::Instant::now();
            let store = self.store.clone();
            let number = log.number;
            replay = tokio::task::spawn_blocking(move || {
                let entries = store.entries(number, next..end).unwrap_or_default();
                replay.feed(&store, number, next, end, entries, &HashMap::new());
                replay
            })
            .await
            .map_err(|e| e.to_string())?;
            self.scrubbed.fetch_add(end - next, Ordering::Relaxed);
            let budget = Duration::from_secs_f64(
                (end - next) as f64 / pace.entries_per_second.max(1) as f64,
            );
            next = end;
            if let Some(rest) = budget.checked_sub(started.elapsed()) {
                tokio::select! {
                    _ = stop.changed() => return Ok(()),
                    _ = tokio::time::sleep(rest) => {}
                }
            }
        }
        if replay.is_clean() {
            self.repaired(log);
            return Ok(());
        }
        let what = replay.describe();
        let size = head.size;
        self.report(log.number, (0, size), what);
        self.repair(log, replay).await
    }

    /// Marks `log` as holding no known damage.
    fn repaired(&self, log: &CheckedLog) {
        let had = self
            .damaged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&log.number)
            .is_some();
        if had {
            tracing::info!(
                "log {} verified again against its signed checkpoint",
                log.origin
            );
        }
        self.health.clear(&Problem::Damaged(log.origin.clone()));
    }

    /// Repairs `log` after a pass that found damage: from the replay itself when the entries
    /// reach the signed root, else with entries fetched from peers and a second replay.
    async fn repair(self: &Arc<Self>, log: &CheckedLog, replay: Replay) -> Result<(), String> {
        if replay.root_matches() {
            let hashes = replay.wrong_hashes;
            self.write_repair(log, Vec::new(), hashes).await?;
            return self.confirm_repair(log, replay.head).await;
        }
        let suspects = replay.suspect_tiles();
        let Some(network) = &self.network else {
            return Err("entries are damaged and no network to repair them from".into());
        };
        let peers: Vec<PeerId> = network
            .peers()
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.peer_id.parse().ok())
            .collect();
        for peer in peers {
            let Some(fetched) = self.fetch(network, peer, log, &suspects).await else {
                continue;
            };
            let this = self.clone();
            let checked = log.clone();
            let head = replay.head;
            let second = tokio::task::spawn_blocking(move || {
                this.full_replay(&checked, head, &fetched)
                    .map(|r| (r, fetched))
            })
            .await
            .map_err(|e| e.to_string())?;
            let Ok((second, fetched)) = second else {
                continue;
            };
            if !second.root_matches() {
                tracing::warn!(
                    "peer {peer} sent entries of {} that do not lead to its signed root",
                    log.origin
                );
                continue;
            }
            let entries: Vec<(u64, Vec<u8>)> = fetched.into_iter().collect();
            tracing::info!(
                "repairing {} entries of {} from peer {peer}",
                entries.len(),
                log.origin
            );
            self.write_repair(log, entries, second.wrong_hashes).await?;
            return self.confirm_repair(log, head).await;
        }
        Err(format!(
            "no connected peer served entries of {} that verify; will try again",
            log.origin
        ))
    }

    /// Reads the repaired log back: only a replay from storage that is clean clears the
    /// damage. Damage to the storage engine's own pages (a B-tree page whose keys are out of
    /// order) can survive a rewrite; then the damage stays reported and is still not served.
    async fn confirm_repair(
        self: &Arc<Self>,
        log: &CheckedLog,
        head: SignedRoot,
    ) -> Result<(), String> {
        let this = self.clone();
        let checked = log.clone();
        let replay = tokio::task::spawn_blocking(move || {
            full_replay(&this.store, &checked, head, &HashMap::new())
        })
        .await
        .map_err(|e| e.to_string())??;
        if replay.is_clean() {
            self.repaired(log);
            return Ok(());
        }
        Err(format!(
            "the repair of {} did not hold ({}): the database's own structure is damaged there; \
             the damaged items stay unserved — restore the database from a backup, or (on a \
             mirror) move the data directory aside and let the node copy the log again",
            log.origin,
            replay.describe()
        ))
    }

    /// Entries of the `suspects` tiles of `log` from `peer`, by index (unverified).
    async fn fetch(
        &self,
        network: &Network,
        peer: PeerId,
        log: &CheckedLog,
        suspects: &BTreeSet<(u64, u64)>,
    ) -> Option<HashMap<u64, Vec<u8>>> {
        let mut fetched = HashMap::new();
        for &(start, end) in suspects {
            let mut at = start;
            while at < end {
                let count = (end - at).min(MAX_ENTRIES_PER_REQUEST);
                let request = SyncRequest::Entries {
                    origin: log.origin.clone(),
                    start: at,
                    count,
                    prove_to: at + count,
                };
                let Ok(SyncResponse::Entries { entries, .. }) =
                    network.request(peer, request).await
                else {
                    return None;
                };
                if entries.is_empty() || entries.len() as u64 > count {
                    return None;
                }
                for entry in entries {
                    fetched.insert(at, entry.into_vec());
                    at += 1;
                }
            }
        }
        Some(fetched)
    }

    fn full_replay(
        &self,
        log: &CheckedLog,
        head: SignedRoot,
        substitutes: &HashMap<u64, Vec<u8>>,
    ) -> Result<Replay, String> {
        full_replay(&self.store, log, head, substitutes)
    }

    async fn write_repair(
        &self,
        log: &CheckedLog,
        entries: Vec<(u64, Vec<u8>)>,
        hashes: Vec<(NodeId, Hash)>,
    ) -> Result<(), String> {
        let store = self.store.clone();
        let number = log.number;
        let count = entries.len() + hashes.len();
        tokio::task::spawn_blocking(move || store.repair(number, &entries, &hashes))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        self.repairs.fetch_add(1, Ordering::Relaxed);
        // Checks remembered before the repair stay valid (they passed); nothing else to drop.
        tracing::info!("repaired {count} stored items of log {}", log.origin);
        Ok(())
    }
}

/// The latest stored checkpoint of `log`, with its log signature verified.
fn signed_head(store: &Store, log: &CheckedLog) -> Result<Option<SignedRoot>, String> {
    let latest = store
        .latest_checkpoint(log.number)
        .map_err(|e| format!("its checkpoints ({e})"))?;
    let Some((size, note)) = latest else {
        return Ok(None);
    };
    let signed = SignedCheckpoint::open(note.as_bytes(), &log.log_key)
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
fn full_replay(
    store: &Store,
    log: &CheckedLog,
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
pub fn verify_log(store: &Store, log: &CheckedLog) -> Result<Option<String>, String> {
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
pub fn repair_locally(store: &Store, log: &CheckedLog) -> Result<usize, String> {
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
struct Replay {
    head: SignedRoot,
    frontier: Frontier,
    /// Stored hashes that differ from the replay (or are missing), with the replay's value.
    wrong_hashes: Vec<(NodeId, Hash)>,
    /// Leaf ranges (entry tiles) whose entries are missing or disagree with their stored
    /// leaf hash: the entries to fetch if the replay does not reach the signed root.
    suspects: BTreeSet<(u64, u64)>,
    /// Entries missing from storage (the replay cannot reach the root without them).
    missing: u64,
}

impl Replay {
    fn new(head: SignedRoot) -> Replay {
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
    fn feed(
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

    fn root_matches(&self) -> bool {
        self.frontier.size() == self.head.size && self.frontier.root() == self.head.root
    }

    fn is_clean(&self) -> bool {
        self.root_matches() && self.wrong_hashes.is_empty() && self.missing == 0
    }

    fn suspect_tiles(&self) -> BTreeSet<(u64, u64)> {
        self.suspects.clone()
    }

    fn describe(&self) -> String {
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
fn read_one(
    reader: &impl HashReader,
    id: NodeId,
) -> Result<Hash, daylight_verifier::merkle::TreeError> {
    reader
        .read_hashes(&[id])?
        .into_iter()
        .next()
        .ok_or(daylight_verifier::merkle::TreeError::Missing(id))
}
