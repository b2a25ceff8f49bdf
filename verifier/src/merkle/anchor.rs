//! Anchoring a run of stored hashes to a root: is this tile (or these entries) part of the
//! tree that a signed checkpoint names?
//!
//! A node that serves a tile must know the tile is right, not just that it is stored. Take a
//! run of consecutive complete subtrees at one level, `nodes[j] = (level, first + j)`, lying
//! inside the tree of `size` leaves. The tree's root can be recomputed from that run plus
//! `O(log size)` other stored hashes: walk the RFC 6962 recursion from the root; a range
//! wholly inside the run is folded from the run itself, a range wholly outside it is read
//! from storage, and a range straddling a boundary is split further. If the recomputed root
//! equals the signed one, every hash of the run is the one the log signed (short of a
//! SHA-256 collision): a single wrong hash in the run changes the root.
//!
//! Why no range straddles a boundary at the bottom: ranges of the recursion wider than
//! `2^level` start on multiples of `2^level`; a narrower one is either a left child of width
//! exactly `2^level` (aligned, so inside or outside) or the partial right edge of the tree,
//! which lies beyond any complete subtree of the run. So ranges inside the run always cover
//! whole nodes of the run.

use super::{HashReader, NodeId, TreeError, fold_right, read_exact, split_point, subtrees};
use crate::hash::Hash;

/// The root of the tree of `size` leaves, computed from `nodes` — the complete subtrees
/// `(level, first)`, `(level, first + 1)`, … — and the stored hashes of everything else.
///
/// Compare the result with a signed root to check the run. Fails if the run is empty, does
/// not lie inside the tree, or a needed stored hash is missing.
pub fn root_with_nodes(
    level: u8,
    first: u64,
    nodes: &[Hash],
    size: u64,
    reader: &impl HashReader,
) -> Result<Hash, TreeError> {
    let out_of_range = TreeError::IndexOutOfRange { index: first, size };
    let count = nodes.len() as u64;
    let (Some(lo), Some(hi)) = (
        first.checked_shl(u32::from(level)),
        first
            .checked_add(count)
            .and_then(|end| end.checked_shl(u32::from(level))),
    ) else {
        return Err(out_of_range);
    };
    if level >= 64 || nodes.is_empty() || hi > size || (hi >> level) != first + count {
        return Err(out_of_range);
    }
    let run = Run {
        level,
        lo,
        hi,
        first,
        nodes,
    };
    // Pass 1 lists the stored hashes needed, so they are read in one call; pass 2 folds.
    let mut ids = Vec::new();
    run.walk(0, size, &mut Plan::Collect(&mut ids))?;
    let stored = read_exact(reader, &ids)?;
    let mut supply = stored.iter();
    run.walk(0, size, &mut Plan::Fold(&mut supply))
}

/// The run being anchored: nodes `first..first + len` at `level`, covering leaves `lo..hi`.
struct Run<'a> {
    level: u8,
    lo: u64,
    hi: u64,
    first: u64,
    nodes: &'a [Hash],
}

/// What one walk does with ranges outside the run.
enum Plan<'a, 'b> {
    /// Lists the complete subtrees to read.
    Collect(&'a mut Vec<NodeId>),
    /// Takes their hashes, in the same order.
    Fold(&'a mut std::slice::Iter<'b, Hash>),
}

impl Run<'_> {
    /// The tree hash of leaves `[lo, hi)` of the recursion.
    fn walk(&self, lo: u64, hi: u64, plan: &mut Plan) -> Result<Hash, TreeError> {
        if hi <= self.lo || lo >= self.hi {
            let mut ids = Vec::new();
            subtrees(lo, hi, &mut ids);
            return Ok(match plan {
                Plan::Collect(all) => {
                    all.extend(ids);
                    Hash([0; 32])
                }
                Plan::Fold(supply) => {
                    let hashes: Vec<Hash> = supply.by_ref().take(ids.len()).copied().collect();
                    if hashes.len() != ids.len() {
                        return Err(TreeError::ShortRead {
                            asked: ids.len(),
                            got: hashes.len(),
                        });
                    }
                    fold_right(&hashes)
                }
            });
        }
        if self.lo <= lo && hi <= self.hi {
            let from = ((lo >> self.level) - self.first) as usize;
            let to = ((hi >> self.level) - self.first) as usize;
            return Ok(super::reference_root(&self.nodes[from..to]));
        }
        // Straddles a boundary of the run: wider than one node, so it splits.
        let k = split_point(hi - lo);
        let left = self.walk(lo, lo + k, plan)?;
        let right = self.walk(lo + k, hi, plan)?;
        Ok(super::node_hash(&left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{MemoryHashStore, leaf_hash, reference_root};

    fn tree(size: u64) -> (Vec<Hash>, MemoryHashStore) {
        let leaves: Vec<Hash> = (0..size)
            .map(|i| leaf_hash(format!("e{i}").as_bytes()))
            .collect();
        let mut store = MemoryHashStore::new();
        let mut frontier = crate::merkle::Frontier::empty();
        let mut out = Vec::new();
        for leaf in &leaves {
            frontier.append(*leaf, &mut out);
        }
        store.extend(out);
        (leaves, store)
    }

    /// The complete subtree hashes at `level` from `first`, `count` of them.
    fn level_nodes(leaves: &[Hash], level: u8, first: u64, count: u64) -> Vec<Hash> {
        (first..first + count)
            .map(|i| {
                let w = 1usize << level;
                reference_root(&leaves[i as usize * w..(i as usize + 1) * w])
            })
            .collect()
    }

    #[test]
    fn every_run_of_every_level_leads_to_the_root_and_a_changed_hash_does_not() {
        for size in [1u64, 2, 3, 5, 8, 13, 64, 100, 257, 300] {
            let (leaves, store) = tree(size);
            let root = reference_root(&leaves);
            for level in 0..=8u8 {
                let complete = size >> level;
                for first in 0..complete {
                    for count in 1..=(complete - first).min(5) {
                        let mut nodes = level_nodes(&leaves, level, first, count);
                        assert_eq!(
                            root_with_nodes(level, first, &nodes, size, &store).unwrap(),
                            root,
                            "size {size} level {level} first {first} count {count}"
                        );
                        nodes[(count - 1) as usize].0[7] ^= 1;
                        assert_ne!(
                            root_with_nodes(level, first, &nodes, size, &store).unwrap(),
                            root
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_run_outside_the_tree_is_refused() {
        let (leaves, store) = tree(10);
        let nodes = level_nodes(&leaves, 1, 4, 1);
        assert!(root_with_nodes(1, 5, &nodes, 10, &store).is_err());
        assert!(root_with_nodes(0, 0, &[], 10, &store).is_err());
        assert!(root_with_nodes(0, u64::MAX, &nodes, 10, &store).is_err());
    }
}
