//! Catch-up: every other member's log is copied chunk by chunk, each chunk of entries with a
//! consistency proof from the tree ending with it to the signed target checkpoint, so only
//! verified entries are ever stored and an interrupted catch-up resumes where it stopped.
//! Peers are asked in turn (the log's own node and the one that told us first), with backoff
//! while none can serve yet; heads are pulled periodically so no node misses a checkpoint for
//! long.

use crate::network::protocol::MAX_ENTRIES_PER_REQUEST;
use crate::network::{SyncRequest, SyncResponse, Topic};
use crate::store::{Batch, NewEntry};
use daylight_verifier::Hash;
use daylight_verifier::checkpoint::SignedCheckpoint;
use daylight_verifier::merkle::{Frontier, leaf_hash, verify_consistency};
use libp2p::PeerId;
use std::collections::HashMap;
use std::sync::Arc;

use super::*;

impl Replication {
    /// Restarts the catch-up of every log whose largest seen checkpoint is not yet reached.
    pub(super) async fn retry_wanted(self: Arc<Self>) {
        let numbers: Vec<u32> = self.logs.iter().map(|l| l.number).collect();
        let Ok(sizes) = self
            .stored(move |store| {
                numbers
                    .into_iter()
                    .map(|n| Ok((n, store.size(n)?)))
                    .collect::<Result<HashMap<u32, u64>, crate::store::StorageError>>()
            })
            .await
        else {
            return;
        };
        let wanted: Vec<SignedCheckpoint> = {
            let mut wanted = self.wanted.lock().unwrap_or_else(|e| e.into_inner());
            wanted.retain(|origin, target| {
                let held = self
                    .logs
                    .by_origin(origin)
                    .and_then(|log| sizes.get(&log.number).copied())
                    .unwrap_or(0);
                held < target.checkpoint.size
            });
            wanted.values().cloned().collect()
        };
        for target in wanted {
            self.clone().start_sync(target, None);
        }
    }

    /// Asks one connected peer (a different one each time) for the heads of every log and
    /// treats them as if gossiped: gossip reaches peers outside a topic's mesh only lazily,
    /// so this bounds how long any node can miss a checkpoint.
    pub(super) async fn pull_heads(self: Arc<Self>) {
        let peers = self.network.peers().await.unwrap_or_default();
        if peers.is_empty() {
            return;
        }
        let turn = self
            .pulls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed) as usize;
        let Ok(peer) = peers[turn % peers.len()].peer_id.parse::<PeerId>() else {
            return;
        };
        if let Ok(SyncResponse::Heads(notes)) = self.network.request(peer, SyncRequest::Heads).await
        {
            for note in notes.iter().take(self.logs.len()) {
                let _ = self.checkpoint_seen(note.as_bytes(), Some(peer)).await;
            }
        }
    }

    /// On a new connection: publish our head, and ask the peer for its latest checkpoint of
    /// every log.
    pub(super) async fn catch_up_from(self: Arc<Self>, peer: PeerId) {
        if let Some(number) = self.logs.own().map(|l| l.number)
            && let Ok(Some((_, note))) = self.stored(move |s| s.latest_checkpoint(number)).await
        {
            let _ = self
                .network
                .publish(Topic::Checkpoints, note.into_bytes())
                .await;
        }
        let origins: Vec<String> = self.logs.iter().map(|l| l.origin.clone()).collect();
        for origin in origins {
            let request = SyncRequest::Checkpoint { origin };
            if let Ok(SyncResponse::Checkpoint(Some(note))) =
                self.network.request(peer, request).await
            {
                let _ = self.checkpoint_seen(note.as_bytes(), Some(peer)).await;
            }
        }
    }

    pub(super) fn start_sync(self: Arc<Self>, target: SignedCheckpoint, hint: Option<PeerId>) {
        {
            let mut syncing = self.syncing.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(pending) = syncing.get_mut(&target.checkpoint.origin) {
                let larger = pending
                    .as_ref()
                    .is_none_or(|p| p.checkpoint.size < target.checkpoint.size);
                if larger {
                    *pending = Some(target);
                }
                return;
            }
            syncing.insert(target.checkpoint.origin.clone(), None);
        }
        let shutdown = self.shutdown.clone();
        shutdown.spawn_until_cancelled(async move {
            let origin = target.checkpoint.origin.clone();
            let mut next = Some(target);
            while let Some(target) = next.take() {
                if let Err(e) = self.sync(&target, hint).await {
                    tracing::warn!("sync of {origin} to {}: {e}", target.checkpoint.size);
                }
                let mut syncing = self.syncing.lock().unwrap_or_else(|e| e.into_inner());
                match syncing.get_mut(&origin).and_then(Option::take) {
                    Some(more) => next = Some(more),
                    None => {
                        syncing.remove(&origin);
                    }
                }
            }
        });
    }

    /// Brings the mirror of `target`'s log up to `target`, verifying every chunk.
    pub(super) async fn sync(
        self: &Arc<Self>,
        target: &SignedCheckpoint,
        hint: Option<PeerId>,
    ) -> anyhow::Result<()> {
        let origin = &target.checkpoint.origin;
        let Some(log) = self.logs.by_origin(origin).cloned() else {
            anyhow::bail!("{origin} is not a log of this network");
        };
        let goal = target.checkpoint.size;
        let number = log.number;
        let held = self
            .stored(move |store| {
                let size = store.size(number).map_err(|e| e.to_string())?;
                if size >= goal {
                    return Ok(None);
                }
                let frontier =
                    Frontier::load(size, &store.hash_reader(number)).map_err(|e| e.to_string())?;
                Ok::<_, String>(Some((size, frontier)))
            })
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        let Some((mut size, mut frontier)) = held else {
            return Ok(());
        };
        // Ask the log's own node and the peer that told us first; then every connected peer.
        // A peer may not have caught up yet itself, so rounds without progress back off and
        // retry until a deadline, instead of giving up at the first refusal.
        let mut peers: Vec<PeerId> = log.peer.into_iter().chain(hint).collect();
        let mut attempt = 0usize;
        let mut pause = std::time::Duration::from_millis(50);
        let deadline = tokio::time::Instant::now() + SYNC_PATIENCE;
        // The next chunk, already asked of the peer that served the last one while that one
        // is being committed, and verified while it is (fetching, verifying and committing
        // overlap: verifying needs the frontier after the previous chunk, which is known
        // before its commit). Commits stay in order: a chunk's commit starts only after the
        // previous one returned, and each checks that it starts at the durable size.
        let mut prefetched: Option<Prefetch> = None;
        let mut committing: Option<Commit> = None;
        while size < goal {
            let (peer, answer) = match prefetched.take() {
                Some(next) if next.start == size => {
                    let answer = match next.answer.await {
                        Ok(answer) => answer.map_err(|e| e.to_string()),
                        Err(e) => Err(format!("the request task failed: {e}")),
                    };
                    (next.peer, answer)
                }
                _ => {
                    if attempt.is_multiple_of(peers.len().max(1)) {
                        for p in self.network.peers().await.unwrap_or_default() {
                            if let Ok(peer) = p.peer_id.parse::<PeerId>()
                                && !peers.contains(&peer)
                            {
                                peers.push(peer);
                            }
                        }
                        if attempt > 0 {
                            anyhow::ensure!(
                                tokio::time::Instant::now() < deadline,
                                "no peer served verifiable entries of {origin} in {SYNC_PATIENCE:?}"
                            );
                            tokio::time::sleep(pause).await;
                            pause = (pause * 2).min(std::time::Duration::from_secs(2));
                        }
                    }
                    let Some(&peer) = peers.get(attempt % peers.len().max(1)) else {
                        anyhow::bail!("no peer to sync {origin} from");
                    };
                    attempt += 1;
                    let request = entries_request(origin, size, goal);
                    let answer = self.network.request(peer, request).await;
                    (peer, answer.map_err(|e| e.to_string()))
                }
            };
            // Hashing and checking a chunk is CPU work: off the async workers.
            let verified = match answer {
                Ok(SyncResponse::Entries { entries, proof }) => {
                    let (start, base, target) = (size, frontier.clone(), target.clone());
                    tokio::task::spawn_blocking(move || {
                        verify_chunk(&base, start, entries, &proof, &target)
                    })
                    .await
                    .unwrap_or_else(|e| Err(format!("the verifying task failed: {e}")))
                }
                Ok(other) => Err(format!("unexpected answer {other:?}")),
                Err(e) => Err(e),
            };
            let (entries, chunk_frontier, hashes) = match verified {
                Ok(chunk) => chunk,
                Err(reason) => {
                    tracing::debug!("sync {origin} from {peer}: {reason}");
                    continue;
                }
            };
            attempt = 0;
            pause = std::time::Duration::from_millis(50);
            let new_size = chunk_frontier.size();
            if new_size < goal {
                let network = self.network.clone();
                let request = entries_request(origin, new_size, goal);
                prefetched = Some(Prefetch {
                    peer,
                    start: new_size,
                    answer: self
                        .shutdown
                        .spawn(async move { network.request(peer, request).await }),
                });
            }
            let batch = Batch {
                log: log.number,
                start: size,
                entries,
                hashes,
                checkpoint: (new_size == goal).then(|| target.note.to_text()),
                mirrored: true,
            };
            if let Some(previous) = committing.take() {
                self.committed(previous).await?;
            }
            // The commit fsyncs: off the async workers.
            let store = self.store.clone();
            let owner = origin.clone();
            committing = Some(Commit {
                entries: new_size - size,
                task: tokio::task::spawn_blocking(move || store.commit_batch(&batch, &owner)),
            });
            frontier = chunk_frontier;
            size = new_size;
        }
        if let Some(last) = committing.take() {
            self.committed(last).await?;
        }
        self.cosign_and_publish(target).await;
        Ok(())
    }
}

impl Replication {
    /// Waits for a chunk's commit and counts its entries as fetched.
    async fn committed(&self, commit: Commit) -> anyhow::Result<()> {
        commit.task.await??;
        self.fetched
            .fetch_add(commit.entries, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// A verified chunk being committed while the next one is fetched and verified.
struct Commit {
    /// How many entries it holds.
    entries: u64,
    /// The commit, on the blocking pool.
    task: tokio::task::JoinHandle<Result<(), crate::store::StorageError>>,
}

/// A request for the next chunk, sent before the current one is committed.
struct Prefetch {
    /// The peer asked (the one that served the previous chunk).
    peer: PeerId,
    /// The first index asked for.
    start: u64,
    /// Its answer, when it comes.
    answer: tokio::task::JoinHandle<Result<SyncResponse, crate::network::NetworkError>>,
}

/// The request for entries `start..` (at most one chunk) of `origin`, proved to `goal`.
fn entries_request(origin: &str, start: u64, goal: u64) -> SyncRequest {
    SyncRequest::Entries {
        origin: origin.to_string(),
        start,
        count: (goal - start).min(MAX_ENTRIES_PER_REQUEST),
        prove_to: goal,
    }
}

pub(super) type Chunk = (
    Vec<NewEntry>,
    Frontier,
    Vec<(daylight_verifier::merkle::NodeId, Hash)>,
);

/// The fields of a mirrored entry that the node indexes: its rid, and the record it corrects
/// or voids. Everything else is ignored; the publisher checked the record, and a mirror must
/// copy whatever the signed log holds, so an entry that is not a record is stored unindexed.
#[derive(serde::Deserialize)]
pub(super) struct IndexedFields {
    rid: Option<String>,
    corrects: Option<PinnedVersion>,
    voids: Option<PinnedVersion>,
}

#[derive(serde::Deserialize)]
pub(super) struct PinnedVersion {
    rid: String,
    leaf: String,
}

/// A mirrored entry with its rid and amendment indexed, so `/v1/records/<rid>` and leaf
/// lookups work for every held log.
pub(super) fn mirrored_entry(bytes: Vec<u8>) -> NewEntry {
    let fields: Option<IndexedFields> = serde_json::from_slice(&bytes).ok();
    let mut entry = NewEntry::plain(bytes, None);
    let Some(fields) = fields else { return entry };
    let amendment = |pin: PinnedVersion, void: bool| {
        Some(crate::store::Amendment {
            target: pin.rid,
            pinned: Hash::from_hex(&pin.leaf).ok()?,
            void,
        })
    };
    entry.amends = match (fields.corrects, fields.voids) {
        (Some(pin), None) => amendment(pin, false),
        (None, Some(pin)) => amendment(pin, true),
        _ => None,
    };
    entry.rid = fields.rid;
    entry
}

/// Checks a chunk of entries against the target checkpoint: appended to our tree, the tree
/// that ends with them must be a prefix of the signed one.
pub(super) fn verify_chunk(
    frontier: &Frontier,
    start: u64,
    entries: Vec<serde_bytes::ByteBuf>,
    proof: &[[u8; 32]],
    target: &SignedCheckpoint,
) -> Result<Chunk, String> {
    let goal = target.checkpoint.size;
    if entries.is_empty() || start + entries.len() as u64 > goal {
        return Err(format!(
            "{} entries do not fit below size {goal}",
            entries.len()
        ));
    }
    let mut next = frontier.clone();
    let mut hashes = Vec::with_capacity(entries.len() * 2);
    let entries: Vec<NewEntry> = entries
        .into_iter()
        .map(|bytes| {
            let entry = mirrored_entry(bytes.into_vec());
            next.append(leaf_hash(&entry.bytes), &mut hashes);
            entry
        })
        .collect();
    let proof: Vec<Hash> = proof.iter().map(|h| Hash(*h)).collect();
    let root = next.root();
    if next.size() == goal {
        if root != target.checkpoint.root || !proof.is_empty() {
            return Err("entries do not hash to the signed root".into());
        }
    } else {
        verify_consistency(next.size(), goal, &root, &target.checkpoint.root, &proof)
            .map_err(|e| format!("chunk is not a prefix of the signed tree: {e}"))?;
    }
    Ok((entries, next, hashes))
}
