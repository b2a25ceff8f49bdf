//! Verified hash subtrees kept in memory, so that an inclusion proof can be built without a
//! storage read (DESIGN §5.6: proofs served from cached tiles).
//!
//! A subtree is the part of the Merkle tree one hash tile spans: the subtree of tile level `T`
//! and index `t` holds the tree-level `8T` nodes `256t .. 256t + width` (the tile's hashes)
//! and every complete node above them up to level `8T + 8` (the tile's root once `width` is
//! 256). A complete node never changes as a log grows, so a subtree never goes stale: one at
//! the right edge (a partial tile) only holds fewer nodes, and is replaced by a wider one when
//! a proof needs more.
//!
//! Invariant (kept by the only caller that inserts, `Integrity::remember_subtrees`): a
//! subtree is inserted only after its level-`8T` nodes were anchored to a checkpoint signed
//! by the log's key, with the same check a served hash tile passes; its other nodes are
//! computed from those. Every repair of a log drops that log's subtrees (as it drops its
//! cached tiles), and a proof built from memory is still verified before it is served.
//!
//! Memory: the relative levels 1 and 2 of a subtree are not kept but recomputed from level 0
//! when asked for (one and three hashes), which makes a full subtree 319 hashes (about
//! 10 KiB) instead of 511; a log of 1,000,000 entries takes about 40 MB for all its subtrees.

use std::cell::RefCell;
use std::sync::Arc;

use daylight_verifier::Hash;
use daylight_verifier::merkle::{HashReader, NodeId, TreeError, node_hash};
use daylight_verifier::tile::TILE_HEIGHT;

use super::cache::{CacheKey, ClockCache, Weighted};

/// The default bound of the subtree cache: 64 MiB.
pub const DEFAULT_SUBTREE_CACHE_BYTES: usize = 64 << 20;

/// Nodes at the bottom of a subtree (the hashes of a full tile).
const WIDTH: usize = 256;

/// Relative levels recomputed from level 0 instead of kept (see the module doc).
const RECOMPUTED: [u8; 2] = [1, 2];

/// Which subtree: the log, the tile level and the tile index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubtreeKey {
    /// The log's storage number.
    pub log: u32,
    /// The tile level (the subtree's bottom is tree level `8 · level`).
    pub level: u8,
    /// The tile index.
    pub index: u64,
}

impl CacheKey for SubtreeKey {
    fn log(&self) -> u32 {
        self.log
    }
}

/// The verified subtrees of every log, bounded by bytes.
pub type SubtreeCache = ClockCache<SubtreeKey, Arc<Subtree>>;

/// The complete nodes of one tile's subtree (see the module doc).
#[derive(Debug)]
pub struct Subtree {
    /// Nodes at relative level 0 (1..=256).
    width: usize,
    /// The kept relative levels, concatenated from level 0 up; level `r` holds
    /// `width >> r` nodes.
    nodes: Box<[Hash]>,
    /// Where each relative level starts in `nodes` (unused for [`RECOMPUTED`] levels).
    starts: [usize; 9],
}

impl Weighted for Arc<Subtree> {
    fn weight(&self) -> usize {
        self.nodes.len() * 32
    }
}

impl Subtree {
    /// The subtree over `bottom`, the first 1 to 256 nodes of a tile (`None` otherwise):
    /// every complete node above them is computed.
    pub fn build(bottom: &[Hash]) -> Option<Subtree> {
        if bottom.is_empty() || bottom.len() > WIDTH {
            return None;
        }
        let width = bottom.len();
        let mut nodes = Vec::with_capacity(width + width / 4);
        let mut starts = [0usize; 9];
        let mut level: Vec<Hash> = bottom.to_vec();
        for r in 0..=TILE_HEIGHT {
            if r > 0 {
                level = level
                    .chunks_exact(2)
                    .map(|pair| node_hash(&pair[0], &pair[1]))
                    .collect();
            }
            starts[r as usize] = nodes.len();
            if !RECOMPUTED.contains(&r) {
                nodes.extend_from_slice(&level);
            }
        }
        Some(Subtree {
            width,
            nodes: nodes.into_boxed_slice(),
            starts,
        })
    }

    /// Nodes at relative level 0.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The node at relative level `r` (0..=8) and index `k` within that level of the
    /// subtree, if it is complete in this subtree.
    pub fn node(&self, r: u8, k: usize) -> Option<Hash> {
        if r > TILE_HEIGHT || k >= self.width >> r {
            return None;
        }
        if RECOMPUTED.contains(&r) {
            let leaves = &self.nodes[k << r..(k + 1) << r];
            return Some(fold(leaves));
        }
        self.nodes.get(self.starts[r as usize] + k).copied()
    }
}

/// The root of a complete subtree given its bottom nodes (a power of two of them, at least
/// one).
pub fn fold(nodes: &[Hash]) -> Hash {
    if nodes.len() == 1 {
        return nodes[0];
    }
    let (left, right) = nodes.split_at(nodes.len() / 2);
    node_hash(&fold(left), &fold(right))
}

/// Where node `id` is in the subtrees: tile level, tile index, relative level and index
/// within that level.
pub fn locate(id: NodeId) -> (u8, u64, u8, usize) {
    let level = id.level / TILE_HEIGHT;
    let r = id.level % TILE_HEIGHT;
    let shift = u32::from(TILE_HEIGHT - r);
    let tile = id.index >> shift;
    let k = (id.index - (tile << shift)) as usize;
    (level, tile, r, k)
}

/// A reader of one log's stored hashes from the subtree cache only. A read that finds every
/// node succeeds; otherwise it fails, and [`MemoryHashes::missing`] lists the subtrees that
/// would have answered (to be loaded from storage, checked and inserted).
pub struct MemoryHashes<'a> {
    cache: &'a SubtreeCache,
    log: u32,
    /// Subtrees fetched by this reader (a proof reads several nodes of each).
    seen: RefCell<Vec<(u8, u64, Arc<Subtree>)>>,
    /// Subtrees asked for and not cached, or cached too narrow: (tile level, tile index).
    missing: RefCell<Vec<(u8, u64)>>,
}

impl<'a> MemoryHashes<'a> {
    /// A reader of log `log` from `cache`.
    pub fn new(cache: &'a SubtreeCache, log: u32) -> Self {
        MemoryHashes {
            cache,
            log,
            seen: RefCell::new(Vec::new()),
            missing: RefCell::new(Vec::new()),
        }
    }

    /// The subtrees a failed read needed, without repeats: (tile level, tile index).
    pub fn missing(&self) -> Vec<(u8, u64)> {
        self.missing.borrow().clone()
    }

    fn subtree(&self, level: u8, index: u64) -> Option<Arc<Subtree>> {
        let mut seen = self.seen.borrow_mut();
        if let Some((_, _, subtree)) = seen.iter().find(|s| s.0 == level && s.1 == index) {
            return Some(subtree.clone());
        }
        let key = SubtreeKey {
            log: self.log,
            level,
            index,
        };
        let subtree = self.cache.get(&key)?;
        seen.push((level, index, subtree.clone()));
        Some(subtree)
    }

    fn node(&self, id: NodeId) -> Option<Hash> {
        let (level, tile, r, k) = locate(id);
        let found = self.subtree(level, tile).and_then(|s| s.node(r, k));
        if found.is_some() {
            return found;
        }
        // A node at the bottom of a subtree is also the root of one a tile level lower.
        if r == 0 && level > 0 {
            let below = self.subtree(level - 1, id.index).and_then(|s| s.node(8, 0));
            if below.is_some() {
                return below;
            }
        }
        let mut missing = self.missing.borrow_mut();
        if !missing.contains(&(level, tile)) {
            missing.push((level, tile));
        }
        None
    }
}

impl HashReader for MemoryHashes<'_> {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        let found: Vec<Option<Hash>> = ids.iter().map(|id| self.node(*id)).collect();
        found
            .into_iter()
            .zip(ids)
            .map(|(hash, id)| hash.ok_or(TreeError::Missing(*id)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daylight_verifier::merkle::{
        Frontier, MemoryHashStore, leaf_hash, prove_inclusion, tree_hash, verify_inclusion,
    };

    /// A tree of `size` leaves in memory, every stored hash kept.
    fn tree(size: u64) -> MemoryHashStore {
        let mut store = MemoryHashStore::new();
        let mut frontier = Frontier::empty();
        let mut hashes = Vec::new();
        for i in 0..size {
            frontier.append(leaf_hash(&i.to_le_bytes()), &mut hashes);
        }
        store.extend(hashes);
        store
    }

    /// Caches the subtrees of every tile of a tree of `size`, as far as it is complete.
    fn cache_all(cache: &SubtreeCache, store: &MemoryHashStore, size: u64) {
        for level in 0..3u8 {
            let nodes = size >> (level * TILE_HEIGHT);
            for tile in 0..nodes.div_ceil(256) {
                let ids: Vec<NodeId> = (tile * 256..nodes.min((tile + 1) * 256))
                    .map(|i| NodeId::new(level * TILE_HEIGHT, i))
                    .collect();
                let bottom = store.read_hashes(&ids).unwrap();
                let key = SubtreeKey {
                    log: 1,
                    level,
                    index: tile,
                };
                cache.insert(key, Arc::new(Subtree::build(&bottom).unwrap()));
            }
        }
    }

    #[test]
    fn proofs_from_subtrees_match_proofs_from_storage() {
        for size in [1u64, 2, 255, 256, 257, 1000, 65_536, 70_001] {
            let store = tree(size);
            let cache = SubtreeCache::new(1 << 30);
            cache_all(&cache, &store, size);
            let root = tree_hash(size, &store).unwrap();
            for index in [0, 1, size / 3, size / 2, size.saturating_sub(2), size - 1] {
                if index >= size {
                    continue;
                }
                let memory = MemoryHashes::new(&cache, 1);
                let proof = prove_inclusion(index, size, &memory).unwrap();
                assert_eq!(proof, prove_inclusion(index, size, &store).unwrap());
                let leaf = memory.read_hashes(&[NodeId::new(0, index)]).unwrap()[0];
                verify_inclusion(index, size, &leaf, &proof, &root).unwrap();
                assert!(memory.missing().is_empty());
            }
            // Every smaller tree's root too.
            for old in [1, size / 2, size] {
                if old > 0 {
                    let memory = MemoryHashes::new(&cache, 1);
                    assert_eq!(
                        tree_hash(old, &memory).unwrap(),
                        tree_hash(old, &store).unwrap()
                    );
                }
            }
        }
    }

    #[test]
    fn a_missing_or_too_narrow_subtree_is_named() {
        let size = 70_001u64;
        let store = tree(size);
        let cache = SubtreeCache::new(1 << 30);
        cache_all(&cache, &store, 60_000);
        let memory = MemoryHashes::new(&cache, 1);
        assert!(prove_inclusion(69_000, size, &memory).is_err());
        let missing = memory.missing();
        assert!(missing.contains(&(0, 69_000 / 256)), "{missing:?}");
        // Another log has nothing.
        let other = MemoryHashes::new(&cache, 2);
        assert!(prove_inclusion(5, 10, &other).is_err());
        assert_eq!(other.missing(), vec![(0, 0)]);
        assert!(Subtree::build(&[]).is_none());
        assert!(Subtree::build(&vec![Hash([0; 32]); 257]).is_none());
    }
}
