//! Integrity (DESIGN §5.5 *Damage*): whatever the node serves, it has checked, and damage is
//! found, reported and repaired.
//!
//! Three pieces, one rule — *a stored byte is served only after it has been tied to a
//! checkpoint signed by the log's key*:
//!
//! * **Checks on read.** Every tile, entry, record, receipt and proof the HTTP API serves goes
//!   through [`Integrity`] first. A run of hashes (a hash tile, or the leaf hashes of an entry
//!   tile or of one entry) is anchored to the signed root with [`root_with_nodes`], which
//!   costs `O(log n)` stored hashes; proofs are verified as a client would. Every read from
//!   storage is checked, however often the same tile was checked before (the disk may have
//!   changed since); only the bytes of the store's hot-tile cache and its hash subtrees,
//!   checked when they entered memory, are used without a new check (and a proof built from
//!   those subtrees is still verified). What fails is reported and answered with an error,
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
//!
//! The module is split by job:
//!
//! * this file: [`Integrity`], its shared state, and the checks on read;
//! * `scrub.rs`: the background scrub and repair task ([`Integrity::run`], [`ScrubPace`]);
//! * `replay.rs`: the replay of a log from its stored entries, shared by the scrub, the local
//!   repair at start ([`repair_locally`]) and tools ([`verify_log`]);
//! * `memory.rs`: inclusion proofs built from the verified hash subtrees in memory (no
//!   storage read), and the loading of those subtrees, each anchored to the signed root.

mod memory;
mod replay;
mod scrub;
#[cfg(test)]
mod test_log;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use daylight_verifier::Hash;
use daylight_verifier::merkle::{
    HashReader, NodeId, leaf_hash, prove_consistency, prove_inclusion, root_with_nodes, tree_hash,
    verify_consistency, verify_inclusion,
};
use tokio::sync::Notify;

use crate::health::{Health, Problem};
use crate::held::HeldLogs;
use crate::network::Network;
use crate::store::Store;

use replay::read_one;
pub use replay::{repair_locally, verify_log};
pub use scrub::ScrubPace;

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
    logs: Arc<HeldLogs>,
    network: Option<Network>,
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
        logs: Arc<HeldLogs>,
        network: Option<Network>,
    ) -> Integrity {
        Integrity {
            store,
            health,
            logs,
            network,
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
            .by_number(log)
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
        // Opened under the log's key history, so a checkpoint signed before a rotation
        // still verifies with the key that signed it.
        let signed = self
            .logs
            .by_number(log)
            .and_then(|l| l.policy.open(note.as_bytes()).ok());
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

    /// Checks the hashes of the tile at tile level `level` and tile index `index` (its hashes
    /// are the tree-level `8 · level` nodes from `256 · index`) against `head`.
    pub fn check_hash_tile(
        &self,
        log: u32,
        level: u8,
        index: u64,
        hashes: &[Hash],
        head: SignedRoot,
    ) -> Result<(), Damage> {
        // A full tile whose hashes fold to a node held in memory, itself anchored to the
        // signed root, is anchored too; otherwise its proof path is read from storage.
        if self.full_tile_in_memory(log, level, index, hashes, head) {
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
        Ok(())
    }

    /// Checks the `expected` consecutive entries from index `first` against `head` (their leaf
    /// hashes are anchored to the signed root); fewer stored entries than `expected` is
    /// damage too.
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
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        // A whole entry bundle's leaf hashes are the bottom of a level-0 hash tile.
        if first.is_multiple_of(256) && self.full_tile_in_memory(log, 0, first / 256, &leaves, head)
        {
            return Ok(());
        }
        self.anchor(log, 0, first, &leaves, head)
            .map_err(|_| self.report(log, range, format!("entries {}..{}", range.0, range.1)))?;
        Ok(())
    }

    /// The inclusion proof of entry `index` in the tree of `size`, checked against `head`
    /// before it is handed out. `leaf` is the entry's leaf hash when the caller has the entry
    /// (a receipt); otherwise the stored leaf hash is read with the proof.
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
        let (proof, leaf) = match leaf {
            Some(leaf) => (
                prove_inclusion(index, size, &reader).map_err(|_| damaged())?,
                leaf,
            ),
            None => {
                // The leaf hash is read in the same storage transaction as the proof.
                let with_leaf = WithHash::new(&reader, NodeId::new(0, index));
                let proof = prove_inclusion(index, size, &with_leaf).map_err(|_| damaged())?;
                let leaf = match with_leaf.extra() {
                    Some(leaf) => leaf,
                    None => read_one(&reader, NodeId::new(0, index)).map_err(|_| damaged())?,
                };
                (proof, leaf)
            }
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
}

/// A hash reader that also reads one extra stored hash with the first batch it is asked
/// for, so a proof and the leaf it proves come from one storage transaction.
struct WithHash<'a, R> {
    inner: &'a R,
    id: NodeId,
    extra: std::cell::Cell<Option<Hash>>,
}

impl<'a, R: HashReader> WithHash<'a, R> {
    fn new(inner: &'a R, id: NodeId) -> Self {
        WithHash {
            inner,
            id,
            extra: std::cell::Cell::new(None),
        }
    }

    /// The extra hash, if a batch was read.
    fn extra(&self) -> Option<Hash> {
        self.extra.get()
    }
}

impl<R: HashReader> HashReader for WithHash<'_, R> {
    fn read_hashes(
        &self,
        ids: &[NodeId],
    ) -> Result<Vec<Hash>, daylight_verifier::merkle::TreeError> {
        if self.extra.get().is_some() {
            return self.inner.read_hashes(ids);
        }
        let mut all = Vec::with_capacity(ids.len() + 1);
        all.extend_from_slice(ids);
        all.push(self.id);
        let mut hashes = self.inner.read_hashes(&all)?;
        if hashes.len() == all.len() {
            self.extra.set(hashes.pop());
        }
        Ok(hashes)
    }
}
