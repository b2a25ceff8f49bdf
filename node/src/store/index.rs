//! Rows derived from entries, written in the same transaction as the entries they come from:
//! which index holds each record id, which own entry has each leaf hash, and for every
//! corrected or voided record its corrections, versions and current version. The queries
//! that `/v1/records/<rid>`, `/v1/leaf/<hash>` and the submit checks ask of them.
//!
//! Invariant: index rows are a pure function of a log's entries (derived by
//! `index_batch` from the fields each [`NewEntry`](super::NewEntry) carries), so a repair that restores
//! entries as they were never needs to touch them.

use daylight_verifier::Hash;
use daylight_verifier::merkle::NodeId;

use super::log::{Batch, leaf_prefix};
use super::tables::{AMENDMENTS, CURRENT, HASHES, LEAF_GROUP, LEAF_GROUPS, RIDS, TILES, VERSIONS};
use super::{StorageError, Store};

/// The current version of a record: its latest leaf, and whether it has been voided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurrentVersion {
    /// The leaf of the latest version (the record, or its latest correction or void).
    pub leaf: Hash,
    /// Whether a void withdrew it.
    pub voided: bool,
}

impl Store {
    /// The index of record `rid` in a log.
    pub fn rid_index(&self, log: u32, rid: &str) -> Result<Option<u64>, StorageError> {
        self.read(|txn| Ok(txn.open_table(RIDS)?.get((log, rid))?.map(|v| v.value())))
    }

    /// Indexes of the corrections and voids of record `rid`, in log order.
    pub fn amendments(&self, log: u32, rid: &str) -> Result<Vec<u64>, StorageError> {
        self.read(|txn| {
            let table = txn.open_multimap_table(AMENDMENTS)?;
            table.get((log, rid))?.map(|v| Ok(v?.value())).collect()
        })
    }

    /// The current version of record `rid`, if the log has it.
    pub fn current_version(
        &self,
        log: u32,
        rid: &str,
    ) -> Result<Option<CurrentVersion>, StorageError> {
        self.read(|txn| {
            if let Some(v) = txn.open_table(CURRENT)?.get((log, rid))? {
                let (leaf, voided) = v.value();
                return Ok(Some(CurrentVersion {
                    leaf: Hash(leaf),
                    voided,
                }));
            }
            Ok(original_leaf(txn, log, rid)?.map(|leaf| CurrentVersion {
                leaf,
                voided: false,
            }))
        })
    }

    /// Whether `leaf` is a version (any, current or not) of record `rid`.
    pub fn is_version(&self, log: u32, rid: &str, leaf: &Hash) -> Result<bool, StorageError> {
        self.read(|txn| {
            if original_leaf(txn, log, rid)? == Some(*leaf) {
                return Ok(true);
            }
            for value in txn.open_multimap_table(VERSIONS)?.get((log, rid))? {
                if value?.value() == leaf.0 {
                    return Ok(true);
                }
            }
            Ok(false)
        })
    }
}

/// Writes the index rows of a batch's entries (inside [`Store::commit_batch`]'s transaction):
/// the rid of each record, the leaf of each entry of the node's own log, and for each
/// correction or void the amended record's version rows. Own and mirrored logs go through
/// this one function; they differ only in what a reused rid means (see [`Batch::mirrored`]).
pub(super) fn index_batch(txn: &redb::WriteTransaction, batch: &Batch) -> Result<(), StorageError> {
    let mut rids = txn.open_table(RIDS)?;
    let mut leaves = txn.open_table(LEAF_GROUPS)?;
    for (offset, entry) in batch.entries.iter().enumerate() {
        let index = batch.start + offset as u64;
        if !batch.mirrored {
            let key = (index / LEAF_GROUP, leaf_prefix(&entry.leaf));
            // The first entry with a leaf keeps the slot (an own log cannot log the same
            // bytes twice, as a rid is never reused; this only keeps the rule plain).
            let earlier = leaves.insert(key, (batch.log, index))?.map(|v| v.value());
            if let Some(earlier) = earlier {
                leaves.insert(key, earlier)?;
            }
        }
        let Some(rid) = &entry.rid else { continue };
        if batch.mirrored {
            // The first entry with a rid keeps it: one B-tree walk for the common case.
            let key = (batch.log, rid.as_str());
            let earlier = rids.insert(key, index)?.map(|v| v.value());
            if let Some(earlier) = earlier {
                rids.insert(key, earlier)?;
            }
        } else if let Some(existing) = rids.insert((batch.log, rid.as_str()), index)? {
            return Err(StorageError::DuplicateRid {
                rid: rid.clone(),
                index: existing.value(),
            });
        }
    }
    // Only amended records get version rows: a record never corrected or voided has
    // one version, whose leaf is already stored as hash (0, index).
    let mut amendments = txn.open_multimap_table(AMENDMENTS)?;
    let mut versions = txn.open_multimap_table(VERSIONS)?;
    let mut current = txn.open_table(CURRENT)?;
    for (offset, entry) in batch.entries.iter().enumerate() {
        if let Some(a) = &entry.amends {
            let index = batch.start + offset as u64;
            amendments.insert((batch.log, a.target.as_str()), index)?;
            versions.insert((batch.log, a.target.as_str()), entry.leaf.0)?;
            current.insert((batch.log, a.target.as_str()), (entry.leaf.0, a.void))?;
        }
    }
    Ok(())
}

/// The leaf of the entry that first logged `rid`.
fn original_leaf(
    txn: &redb::ReadTransaction,
    log: u32,
    rid: &str,
) -> Result<Option<Hash>, StorageError> {
    let Some(index) = txn.open_table(RIDS)?.get((log, rid))?.map(|v| v.value()) else {
        return Ok(None);
    };
    let rows = txn.open_table(HASHES)?;
    let tiles = super::tables::open_optional(txn, TILES)?;
    super::tree::TreeReader::new(&rows, tiles.as_ref(), log).get(NodeId::new(0, index))
}
