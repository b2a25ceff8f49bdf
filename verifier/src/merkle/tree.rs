//! Growing a tree: the hashes an append creates, and the root of any size.

use super::{
    HashReader, NodeId, TreeError, empty_tree_hash, fold_right, node_hash, read_exact, subtrees,
};
use crate::hash::Hash;

/// The maximal complete subtrees of a tree of `size` leaves, left to right: one per set bit of
/// `size`, highest level first. Their hashes folded from the right give the root.
pub fn frontier_nodes(size: u64) -> Vec<NodeId> {
    let mut out = Vec::with_capacity(size.count_ones() as usize);
    subtrees(0, size, &mut out);
    out
}

/// The root hash of the first `size` leaves, from at most `log2(size) + 1` stored hashes.
pub fn tree_hash(size: u64, reader: &impl HashReader) -> Result<Hash, TreeError> {
    if size == 0 {
        return Ok(empty_tree_hash());
    }
    let ids = frontier_nodes(size);
    Ok(fold_right(&read_exact(reader, &ids)?))
}

/// The hashes to store when leaf `leaf` is appended at index `size` (the tree had `size`
/// leaves): `(0, size)` and one interior hash per trailing one bit of `size`. Reads only the
/// left siblings it combines with.
pub fn append(
    size: u64,
    leaf: Hash,
    reader: &impl HashReader,
) -> Result<Vec<(NodeId, Hash)>, TreeError> {
    let merges = size.trailing_ones() as u8;
    let left_ids: Vec<NodeId> = (0..merges)
        .map(|level| NodeId::new(level, (size >> level) - 1))
        .collect();
    let lefts = read_exact(reader, &left_ids)?;
    let mut out = Vec::with_capacity(merges as usize + 1);
    let mut hash = leaf;
    out.push((NodeId::new(0, size), hash));
    for (level, left) in (1..=merges).zip(&lefts) {
        hash = node_hash(left, &hash);
        out.push((NodeId::new(level, size >> level), hash));
    }
    Ok(out)
}

/// The hashes to store when `leaves` are appended to a tree of `size` leaves, in order.
///
/// Reads only the tree's frontier (one hash per set bit of `size`) and computes the rest in
/// memory, so a batch of `k` leaves costs about `2k` hashes and a single read.
pub fn append_batch(
    size: u64,
    leaves: &[Hash],
    reader: &impl HashReader,
) -> Result<Vec<(NodeId, Hash)>, TreeError> {
    let mut frontier = Frontier::load(size, reader)?;
    let mut out = Vec::with_capacity(leaves.len() * 2 + 64);
    for leaf in leaves {
        frontier.append(*leaf, &mut out);
    }
    Ok(out)
}

/// The right edge of a tree held in memory: the hash of each maximal complete subtree.
///
/// Enough to append leaves and compute the root without reading storage, so a sequencer can
/// keep one per log and make every append and every new checkpoint `O(log n)` in hashing and
/// free of reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    // Invariant: for every set bit `l` of `size`, `by_level[l]` is the hash of the complete
    // subtree at level `l` that the binary decomposition of `size` contains. Other entries
    // are stale and never read.
    by_level: [Hash; 64],
}

impl Default for Frontier {
    fn default() -> Self {
        Frontier::empty()
    }
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn empty() -> Frontier {
        Frontier {
            size: 0,
            by_level: [Hash::default(); 64],
        }
    }

    /// Reads the frontier of a stored tree of `size` leaves.
    pub fn load(size: u64, reader: &impl HashReader) -> Result<Frontier, TreeError> {
        let ids = frontier_nodes(size);
        let hashes = read_exact(reader, &ids)?;
        let mut frontier = Frontier::empty();
        frontier.size = size;
        for (id, hash) in ids.iter().zip(hashes) {
            frontier.by_level[id.level as usize] = hash;
        }
        Ok(frontier)
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash of the tree.
    pub fn root(&self) -> Hash {
        let mut levels = (0..64u32).filter(|&l| self.size >> l & 1 == 1);
        let Some(lowest) = levels.next() else {
            return empty_tree_hash();
        };
        levels.fold(self.by_level[lowest as usize], |right, l| {
            node_hash(&self.by_level[l as usize], &right)
        })
    }

    /// Appends one leaf hash, pushing the new stored hashes onto `out`.
    pub fn append(&mut self, leaf: Hash, out: &mut Vec<(NodeId, Hash)>) {
        let index = self.size;
        let mut hash = leaf;
        out.push((NodeId::new(0, index), hash));
        let mut level = 0usize;
        while index >> level & 1 == 1 {
            hash = node_hash(&self.by_level[level], &hash);
            level += 1;
            out.push((NodeId::new(level as u8, index >> level), hash));
        }
        self.by_level[level] = hash;
        self.size += 1;
    }

    /// The hashes of the maximal complete subtrees, left to right (as [`frontier_nodes`]).
    pub fn hashes(&self) -> Vec<(NodeId, Hash)> {
        frontier_nodes(self.size)
            .into_iter()
            .map(|id| (id, self.by_level[id.level as usize]))
            .collect()
    }
}

/// Convenience for tests and tools: the root of `entries` computed directly by the RFC 6962
/// recursion, with no storage. Quadratic-free but allocation-heavy; not for large logs.
pub fn reference_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_tree_hash(),
        1 => leaves[0],
        n => {
            let k = super::split_point(n as u64) as usize;
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{MemoryHashStore, leaf_hash};

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("leaf-{i}").as_bytes()))
            .collect()
    }

    #[test]
    fn append_writes_at_most_log_n_plus_one_hashes() {
        let mut store = MemoryHashStore::new();
        for (i, leaf) in leaves(1030).into_iter().enumerate() {
            let new = append(i as u64, leaf, &store).unwrap();
            assert_eq!(new.len(), 1 + (i as u64).trailing_ones() as usize);
            store.extend(new);
        }
    }

    #[test]
    fn roots_match_the_rfc_recursion_for_every_size() {
        let all = leaves(300);
        let mut store = MemoryHashStore::new();
        let mut frontier = Frontier::empty();
        for (i, leaf) in all.iter().enumerate() {
            let mut new = Vec::new();
            frontier.append(*leaf, &mut new);
            store.extend(new);
            let size = i as u64 + 1;
            let expected = reference_root(&all[..=i]);
            assert_eq!(tree_hash(size, &store).unwrap(), expected, "size {size}");
            assert_eq!(frontier.root(), expected, "frontier size {size}");
        }
        assert_eq!(tree_hash(0, &store).unwrap(), empty_tree_hash());
    }

    #[test]
    fn batch_append_equals_one_by_one() {
        let all = leaves(777);
        let mut one = MemoryHashStore::new();
        for (i, leaf) in all.iter().enumerate() {
            one.extend(append(i as u64, *leaf, &one).unwrap());
        }
        let mut batched = MemoryHashStore::new();
        let mut size = 0u64;
        for chunk in all.chunks(100) {
            batched.extend(append_batch(size, chunk, &batched).unwrap());
            size += chunk.len() as u64;
        }
        assert_eq!(one, batched);
        let loaded = Frontier::load(777, &batched).unwrap();
        assert_eq!(loaded.root(), reference_root(&all));
        assert_eq!(loaded.hashes().len(), 777u64.count_ones() as usize);
    }

    #[test]
    fn missing_hashes_are_reported() {
        let store = MemoryHashStore::new();
        assert_eq!(
            tree_hash(3, &store),
            Err(TreeError::Missing(NodeId::new(1, 0)))
        );
    }
}
