//! Inclusion proofs from memory: built from the store's verified hash subtrees
//! ([`crate::store::subtrees`]) without a storage read, so a handler can answer them on its
//! async worker; and the filling of those subtrees from storage, each checked against the
//! signed root before it is kept.
//!
//! The rule of this module (*a stored byte is served only after it has been tied to a
//! checkpoint signed by the log's key*) holds because a subtree enters memory only through
//! [`Integrity::remember_subtrees`], after its nodes were anchored to the signed root, and
//! because a proof built from memory is verified against the signed root (or, for an older
//! size, against that size's root computed from the same anchored nodes) before it is
//! returned.

use std::sync::Arc;

use daylight_verifier::Hash;
use daylight_verifier::merkle::{
    HashReader, NodeId, prove_inclusion, root_with_nodes, tree_hash, verify_inclusion,
};
use daylight_verifier::tile::TILE_HEIGHT;

use super::{Integrity, SignedRoot};
use crate::store::blobs::parse_hash_tile;
use crate::store::subtrees::{MemoryHashes, Subtree, SubtreeKey, fold};

/// Most subtrees one proof request loads into memory (a proof needs one per tile level, and
/// a few more at the right edge).
const MOST_LOADED_PER_PROOF: usize = 8;

/// Bytes of a full subtree in memory (see [`crate::store::subtrees`]): 319 hashes.
const FULL_SUBTREE_BYTES: usize = 319 * 32;

impl Integrity {
    /// The inclusion proof of entry `index` in the tree of `size` (at most `head.size`), built
    /// from the verified subtrees in memory and checked, without touching storage: `None`
    /// when memory lacks a node it needs (or the proof does not check, which is logged and
    /// drops the log's subtrees); the caller then builds it from storage with
    /// [`Integrity::inclusion_proof`] and [`Integrity::remember_subtrees`].
    pub fn inclusion_proof_in_memory(
        &self,
        log: u32,
        index: u64,
        size: u64,
        head: SignedRoot,
    ) -> Option<Vec<Hash>> {
        if index >= size || size > head.size {
            return None;
        }
        let memory = MemoryHashes::new(self.store.subtrees(), log);
        let proof = prove_inclusion(index, size, &memory).ok()?;
        let leaf = memory.read_hashes(&[NodeId::new(0, index)]).ok()?[0];
        let root = if size == head.size {
            head.root
        } else {
            tree_hash(size, &memory).ok()?
        };
        if verify_inclusion(index, size, &leaf, &proof, &root).is_err() {
            tracing::warn!(
                "log #{log}: a proof built from the subtrees in memory does not check; \
                 dropping them and reading storage"
            );
            self.store.subtrees().remove_log(log);
            return None;
        }
        Some(proof)
    }

    /// Loads into memory the subtrees that an inclusion proof of `index` in the tree of
    /// `size` needs and memory lacks (at most `MOST_LOADED_PER_PROOF`), each read from
    /// storage as far as it is complete in the tree of `head.size` and kept only once its
    /// nodes are anchored to `head`'s root. A subtree that does not check is not kept and not
    /// reported here: the reads that serve it (tiles, proofs, the scrub) report and repair
    /// it. Storage work: call it where storage may be read.
    pub fn remember_subtrees(&self, log: u32, index: u64, size: u64, head: SignedRoot) {
        if index >= size || size > head.size {
            return;
        }
        let memory = MemoryHashes::new(self.store.subtrees(), log);
        let _ = prove_inclusion(index, size, &memory);
        let _ = memory.read_hashes(&[NodeId::new(0, index)]);
        if size < head.size {
            let _ = tree_hash(size, &memory);
        }
        let cache = self.store.subtrees();
        for (level, tile) in memory.missing().into_iter().take(MOST_LOADED_PER_PROOF) {
            // Level-0 subtrees are most of the memory (one per 256 entries) and each serves
            // only proofs of its own 256 entries: once the cache is full they are not loaded,
            // so that on a log larger than the cache, random proofs do not each pay for one
            // that is evicted before it is used again. Higher subtrees serve many proofs each.
            if level == 0 && !cache.has_room(FULL_SUBTREE_BYTES) {
                continue;
            }
            if let Some(subtree) = self.load_subtree(log, level, tile, head) {
                let key = SubtreeKey {
                    log,
                    level,
                    index: tile,
                };
                cache.insert(key, Arc::new(subtree));
            }
        }
    }

    /// Whether the full hash tile at tile level `level` and index `index` (its 256 `hashes`)
    /// folds to the node above it as held in a verified subtree in memory. If memory lacks
    /// that subtree, it is loaded from storage and anchored to `head` first, so the first
    /// reads of consecutive tiles share one anchoring instead of each reading its proof path.
    /// `false` means only that memory cannot vouch for the tile: the caller then anchors it
    /// through storage (and reports damage if that fails too). Storage work: call it where
    /// storage may be read.
    pub(super) fn full_tile_in_memory(
        &self,
        log: u32,
        level: u8,
        index: u64,
        hashes: &[Hash],
        head: SignedRoot,
    ) -> bool {
        if hashes.len() != 256 {
            return false;
        }
        let Some(top) = level
            .checked_add(1)
            .and_then(|above| above.checked_mul(TILE_HEIGHT))
        else {
            return false;
        };
        self.node_in_memory(log, NodeId::new(top, index), head)
            .is_some_and(|known| fold(hashes) == known)
    }

    /// Node `id` of `log` from the verified subtrees in memory, loading (and anchoring to
    /// `head`) the subtree that holds it if memory lacks it.
    fn node_in_memory(&self, log: u32, id: NodeId, head: SignedRoot) -> Option<Hash> {
        let memory = MemoryHashes::new(self.store.subtrees(), log);
        if let Ok(found) = memory.read_hashes(&[id]) {
            return found.first().copied();
        }
        for (level, tile) in memory.missing() {
            if let Some(subtree) = self.load_subtree(log, level, tile, head) {
                let key = SubtreeKey {
                    log,
                    level,
                    index: tile,
                };
                self.store.subtrees().insert(key, Arc::new(subtree));
            }
        }
        let memory = MemoryHashes::new(self.store.subtrees(), log);
        memory.read_hashes(&[id]).ok()?.first().copied()
    }

    /// The subtree of tile level `level` and index `tile`, as complete in the tree of
    /// `head.size`, read from storage and anchored to `head`'s root; `None` if it has no node
    /// yet, cannot be read, or does not check.
    fn load_subtree(&self, log: u32, level: u8, tile: u64, head: SignedRoot) -> Option<Subtree> {
        let tree_level = level.checked_mul(TILE_HEIGHT)?;
        let complete = head.size.checked_shr(u32::from(tree_level))?;
        let first = tile.checked_mul(256)?;
        let width = complete.checked_sub(first)?.min(256);
        if width == 0 {
            return None;
        }
        let bottom = if width == 256 {
            let blob = self.store.hash_tile(log, level, tile).ok().flatten();
            match blob.as_deref().and_then(parse_hash_tile) {
                Some(hashes) => hashes,
                None => self.read_nodes(log, tree_level, first, width)?,
            }
        } else {
            self.read_nodes(log, tree_level, first, width)?
        };
        let subtree = Subtree::build(&bottom)?;
        let reader = self.store.hash_reader(log);
        // A full subtree is anchored by its root alone (its bottom folds to it); a partial one
        // by its bottom nodes.
        let root = match subtree.node(TILE_HEIGHT, 0) {
            Some(top) => {
                root_with_nodes(tree_level + TILE_HEIGHT, tile, &[top], head.size, &reader)
            }
            None => root_with_nodes(tree_level, first, &bottom, head.size, &reader),
        };
        (root.ok()? == head.root).then_some(subtree)
    }

    /// The stored hashes at tree level `level`, indexes `first .. first + count`.
    fn read_nodes(&self, log: u32, level: u8, first: u64, count: u64) -> Option<Vec<Hash>> {
        let ids: Vec<NodeId> = (first..first + count)
            .map(|i| NodeId::new(level, i))
            .collect();
        self.store.hash_reader(log).read_hashes(&ids).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Health;
    use crate::held::HeldLogs;
    use crate::integrity::replay::signed_head;
    use crate::integrity::test_log::signed_log;

    /// A full tile is vouched for by the subtree above it, loaded into memory once and
    /// anchored to the signed root; a tile with one wrong hash is not, and the check then
    /// fails through storage too.
    #[test]
    fn a_full_tile_is_checked_against_the_subtree_above_it() {
        let (dir, store, log) = signed_log(1_000);
        let number = log.number;
        let integrity = Integrity::new(
            store.clone(),
            Arc::new(Health::default()),
            Arc::new(HeldLogs::from_logs(vec![log.clone()])),
            None,
        );
        let head = signed_head(&store, &log).unwrap().unwrap();
        let tile = |index| parse_hash_tile(&store.hash_tile(number, 0, index).unwrap().unwrap());
        let one = tile(1).unwrap();
        assert!(store.subtrees().is_empty());
        assert!(integrity.full_tile_in_memory(number, 0, 1, &one, head));
        assert!(!store.subtrees().is_empty(), "the subtree above was kept");
        for index in [0, 2] {
            assert!(integrity.full_tile_in_memory(number, 0, index, &tile(index).unwrap(), head));
            integrity
                .check_hash_tile(number, 0, index, &tile(index).unwrap(), head)
                .unwrap();
        }
        let mut wrong = one.clone();
        wrong[17].0[0] ^= 1;
        assert!(!integrity.full_tile_in_memory(number, 0, 1, &wrong, head));
        assert!(
            integrity
                .check_hash_tile(number, 0, 1, &wrong, head)
                .is_err()
        );
        // Only a whole tile: the partial right edge is anchored through storage.
        assert!(!integrity.full_tile_in_memory(number, 0, 3, &one[..232], head));
        // A whole entry bundle is checked the same way, through its leaf hashes.
        let mut bundle: Vec<Vec<u8>> = (256..512)
            .map(|i| format!("entry {i}").into_bytes())
            .collect();
        integrity
            .check_entries(number, 256, &bundle, 256, head)
            .unwrap();
        bundle[3] = b"entry 3".to_vec();
        assert!(
            integrity
                .check_entries(number, 256, &bundle, 256, head)
                .is_err()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
