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
use crate::store::subtrees::{MemoryHashes, Subtree, SubtreeKey};

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
    /// `size` needs and memory lacks (at most [`MOST_LOADED_PER_PROOF`]), each read from
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
