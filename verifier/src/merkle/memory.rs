//! An in-memory hash store, for tests, benchmarks and tools that rebuild a tree.

use super::{HashReader, NodeId, TreeError};
use crate::hash::Hash;

/// Stored hashes held in memory, one vector per level.
///
/// Invariant: `levels[l][i]` is the hash of [`NodeId`] `(l, i)`; hashes are stored in append
/// order, so each level is a dense prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryHashStore {
    levels: Vec<Vec<Hash>>,
}

impl MemoryHashStore {
    /// An empty store.
    pub fn new() -> MemoryHashStore {
        MemoryHashStore::default()
    }

    /// Stores one hash. Hashes of a level must arrive in index order, as appends produce them.
    ///
    /// # Panics
    /// If `id` is not the next index of its level: that is a bug in the caller, not bad data.
    pub fn insert(&mut self, id: NodeId, hash: Hash) {
        let level = id.level as usize;
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        let row = &mut self.levels[level];
        assert_eq!(
            row.len() as u64,
            id.index,
            "hashes must be stored in append order"
        );
        row.push(hash);
    }

    /// Stores the output of an append.
    pub fn extend(&mut self, hashes: impl IntoIterator<Item = (NodeId, Hash)>) {
        for (id, hash) in hashes {
            self.insert(id, hash);
        }
    }

    /// Number of leaves stored.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |row| row.len() as u64)
    }

    /// One stored hash, if present.
    pub fn get(&self, id: NodeId) -> Option<Hash> {
        self.levels
            .get(id.level as usize)
            .and_then(|row| row.get(usize::try_from(id.index).ok()?))
            .copied()
    }
}

impl HashReader for MemoryHashStore {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        ids.iter()
            .map(|&id| self.get(id).ok_or(TreeError::Missing(id)))
            .collect()
    }
}
