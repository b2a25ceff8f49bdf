//! RFC 6962 / RFC 9162 Merkle trees over stored complete-subtree hashes.
//!
//! # The math, once
//!
//! A log of `n` entries has leaf hashes `L[i] = SHA-256(0x00 ‖ entry i)`. The tree hash of a
//! range of leaves is the leaf hash for a single leaf, and for more than one leaf
//! `SHA-256(0x01 ‖ MTH(left) ‖ MTH(right))`, where the left part takes the largest power of
//! two strictly smaller than the range's width. The empty tree's hash is `SHA-256("")`.
//!
//! Every *complete* subtree — the `2^level` leaves starting at `index · 2^level` — has a hash
//! that never changes once its last leaf exists. A [`NodeId`] `(level, index)` names it. These
//! are the only hashes daylight stores, each exactly once, and they are exactly the hashes
//! that C2SP tlog-tiles serves (a tile at tile-level `T` holds the level-`8T` hashes).
//!
//! Appending leaf `n` creates the hashes `(0, n)`, and then `(l + 1, n >> (l + 1))` for every
//! level `l` at which the new complete subtree is a right child: one per trailing one bit of
//! `n`, so at most `log2(n) + 1` hashes, and one on average.
//!
//! Any range `[lo, hi)` that starts on a boundary (as every range in the RFC's recursions
//! does) splits greedily into at most `2 · log2(n)` complete subtrees; its tree hash is those
//! hashes folded from the right. So the root of any size, each inclusion proof and each
//! consistency proof read `O(log n)` stored hashes, in a single batched read through
//! [`HashReader`], which is all a storage backend has to implement.
//!
//! Proofs are produced in RFC 9162 §2.1.3 / §2.1.4 order and are byte-identical to those of
//! the Go reference (`golang.org/x/mod/sumdb/tlog`); `tests/vectors.rs` holds this to the
//! reference's own output.

mod anchor;
mod memory;
mod proof;
mod tree;
mod verify;

pub use anchor::root_with_nodes;
pub use memory::MemoryHashStore;
pub use proof::{prove_consistency, prove_inclusion};
pub use tree::{Frontier, append, append_batch, frontier_nodes, reference_root, tree_hash};
pub use verify::{root_from_inclusion_proof, verify_consistency, verify_inclusion};

use sha2::{Digest, Sha256};

use crate::hash::Hash;

/// RFC 6962 leaf hash: `SHA-256(0x00 ‖ entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(entry);
    Hash(hasher.finalize().into())
}

/// RFC 6962 interior node hash: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut block = [0u8; 65];
    block[0] = 0x01;
    block[1..33].copy_from_slice(&left.0);
    block[33..].copy_from_slice(&right.0);
    Hash(Sha256::digest(block).into())
}

/// The hash of the empty tree, `SHA-256("")`.
pub fn empty_tree_hash() -> Hash {
    Hash::digest(b"")
}

/// Names the hash of one complete subtree: the `2^level` leaves from `index · 2^level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves; 0 for a leaf hash.
    pub level: u8,
    /// Position among the subtrees of that level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The subtree at `level` and `index`.
    pub const fn new(level: u8, index: u64) -> NodeId {
        NodeId { level, index }
    }
}

/// Why a tree operation could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// A leaf index at or past the tree size.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// Sizes of a consistency proof out of order (need `0 < old <= new`).
    #[error("no consistency proof from size {old} to size {new}: need 0 < old <= new")]
    BadSizes {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// The store does not hold a hash it should.
    #[error("stored hash {0:?} is missing: the store is incomplete or corrupt")]
    Missing(NodeId),
    /// The store answered with the wrong number of hashes.
    #[error("hash store returned {got} hashes for {asked} requested")]
    ShortRead {
        /// Hashes asked for.
        asked: usize,
        /// Hashes returned.
        got: usize,
    },
    /// The storage backend failed.
    #[error("hash storage failed: {0}")]
    Storage(String),
}

/// Why a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The index is not below the size.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index claimed.
        index: u64,
        /// The tree size claimed.
        size: u64,
    },
    /// The sizes cannot have a consistency proof.
    #[error("no consistency proof from size {old} to size {new}")]
    BadSizes {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for these sizes.
    #[error("proof has the wrong number of hashes ({0}) for this index and size")]
    WrongLength(usize),
    /// The proof leads to a different root than the one expected.
    #[error("proof leads to root {computed}, expected {expected}")]
    RootMismatch {
        /// The root recomputed from the proof.
        computed: Hash,
        /// The root the proof was checked against.
        expected: Hash,
    },
    /// A consistency proof does not lead to the old root.
    #[error("consistency proof leads to old root {computed}, expected {expected}")]
    OldRootMismatch {
        /// The old root recomputed from the proof.
        computed: Hash,
        /// The old root the proof was checked against.
        expected: Hash,
    },
}

/// Read access to stored complete-subtree hashes: all a storage backend implements.
///
/// Each call asks for every hash an operation needs at once, so a backend can serve it from
/// one transaction or a handful of tiles.
pub trait HashReader {
    /// Returns the hashes for `ids`, in the same order. Fails with [`TreeError::Missing`] for
    /// a hash that is not stored.
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        (**self).read_hashes(ids)
    }
}

/// Reads `ids` and checks that the store answered one hash each.
pub(crate) fn read_exact(reader: &impl HashReader, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
    let hashes = reader.read_hashes(ids)?;
    if hashes.len() != ids.len() {
        return Err(TreeError::ShortRead {
            asked: ids.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes)
}

/// Splits the leaves `[lo, hi)` into maximal complete subtrees, left to right.
///
/// With `lo` on a boundary, as in every RFC 6962 recursion, this is the RFC's own split:
/// the tree hash of the range is these subtree hashes folded from the right.
pub(crate) fn subtrees(mut lo: u64, hi: u64, out: &mut Vec<NodeId>) {
    while lo < hi {
        let width = hi - lo;
        // Largest level whose subtree is aligned at `lo` and fits in the range.
        let fit = 63 - width.leading_zeros();
        let align = if lo == 0 { 63 } else { lo.trailing_zeros() };
        let level = fit.min(align);
        out.push(NodeId::new(level as u8, lo >> level));
        lo += 1 << level;
    }
}

/// Folds subtree hashes from the right into the hash of the range they cover.
pub(crate) fn fold_right(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(last) = iter.next() else {
        return empty_tree_hash();
    };
    iter.fold(*last, |right, left| node_hash(left, &right))
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_points() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(1 << 40), 1 << 39);
    }

    #[test]
    fn subtree_split_of_a_range() {
        let mut out = Vec::new();
        subtrees(0, 13, &mut out);
        assert_eq!(
            out,
            vec![NodeId::new(3, 0), NodeId::new(2, 2), NodeId::new(0, 12)]
        );
        out.clear();
        subtrees(8, 16, &mut out);
        assert_eq!(out, vec![NodeId::new(3, 1)]);
    }
}
