//! The logs: entries exactly as hashed, stored complete-subtree hashes, signed checkpoints and
//! durable sizes, and the one write path, [`Store::commit_batch`], that extends a log.
//!
//! Invariant (kept by `write_batch`, inside the batch's one transaction): a batch starts
//! exactly at the durable size, so a log is only ever extended, never rewritten or reordered;
//! a size never gets a second, different checkpoint; the bundles and hash tiles it completes
//! are stored whole in the same transaction (see [`super::blobs`]). [`Store::repair`]
//! may only overwrite below the durable size, with copies the integrity checks verified.

use daylight_verifier::Hash;
use daylight_verifier::merkle::{HashReader, NodeId, TreeError};
use redb::{ReadableTable, ReadableTableMetadata};

use super::blobs;
use super::tables::{
    BUNDLES, CHECKPOINTS, ENTRIES, HASHES, LEAF_GROUPS, LEAVES, LOGS, SIZES, TILES,
};
use super::{StorageError, Store, index, tables, tree};

/// One entry of a batch.
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// The entry bytes, exactly as hashed.
    pub bytes: Vec<u8>,
    /// RFC 6962 leaf hash of `bytes`.
    pub leaf: Hash,
    /// The record id to index, if the entry has one.
    pub rid: Option<String>,
    /// The record this entry corrects or voids, if it is a correction or void.
    pub amends: Option<Amendment>,
    /// References to records of this same log, which must resolve.
    pub references: Vec<LocalReference>,
}

impl NewEntry {
    /// An entry with no amendment and no same-log references.
    pub fn plain(bytes: Vec<u8>, rid: Option<String>) -> NewEntry {
        NewEntry {
            leaf: daylight_verifier::merkle::leaf_hash(&bytes),
            bytes,
            rid,
            amends: None,
            references: Vec::new(),
        }
    }
}

/// A correction or void of an earlier record of the same log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amendment {
    /// The rid corrected or voided.
    pub target: String,
    /// The leaf of the version it replaces, which must be the current one.
    pub pinned: Hash,
    /// Whether it withdraws the record (a void) rather than replacing its content.
    pub void: bool,
}

/// A reference from a record to a version of another record in the same log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalReference {
    /// The field path of the reference, for error messages.
    pub path: String,
    /// The rid referred to.
    pub rid: String,
    /// The exact version pinned.
    pub leaf: Hash,
}

/// Everything one sequencer batch makes durable at once.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The log's number.
    pub log: u32,
    /// The durable size before the batch: the index of its first entry.
    pub start: u64,
    /// The entries, in order.
    pub entries: Vec<NewEntry>,
    /// The new stored hashes.
    pub hashes: Vec<(NodeId, Hash)>,
    /// The checkpoint signed over the tree after the batch. A mirror commits verified chunks
    /// of a long catch-up without one, and the signed checkpoint with the last chunk.
    pub checkpoint: Option<String>,
    /// Whether the batch copies another member's log. A publisher's batch is refused if it
    /// reuses a rid; a mirror must copy whatever the signed log holds, so there the first
    /// entry with a rid keeps the index and later ones are only reachable by index or leaf.
    pub mirrored: bool,
}

impl Store {
    /// The number of log `origin`, registering it if new.
    pub fn log_number(&self, origin: &str) -> Result<u32, StorageError> {
        if let Some(n) = self.find_log(origin)? {
            return Ok(n);
        }
        self.write(|txn| {
            let mut logs = txn.open_table(LOGS)?;
            if let Some(n) = logs.get(origin)? {
                return Ok(n.value());
            }
            let next = logs.len()? as u32;
            logs.insert(origin, next)?;
            txn.open_table(SIZES)?.insert(next, 0)?;
            Ok(next)
        })
    }

    /// The number of log `origin`, if registered.
    pub fn find_log(&self, origin: &str) -> Result<Option<u32>, StorageError> {
        self.read(|txn| Ok(txn.open_table(LOGS)?.get(origin)?.map(|v| v.value())))
    }

    /// The durable size of a log.
    pub fn size(&self, log: u32) -> Result<u64, StorageError> {
        self.read(|txn| Ok(txn.open_table(SIZES)?.get(log)?.map_or(0, |v| v.value())))
    }

    /// The signed checkpoint of the largest size, if any.
    pub fn latest_checkpoint(&self, log: u32) -> Result<Option<(u64, String)>, StorageError> {
        self.read(|txn| {
            let table = txn.open_table(CHECKPOINTS)?;
            let mut range = table.range((log, 0)..=(log, u64::MAX))?;
            Ok(match range.next_back() {
                Some(row) => {
                    let (key, value) = row?;
                    Some((key.value().1, value.value().to_string()))
                }
                None => None,
            })
        })
    }

    /// The numbers, other than `except`, under which checkpoints naming `origin` (on their
    /// first line) are stored. A log is stored under one number; another means the table of
    /// logs was damaged and the log registered again under a new one. Looks at each stored
    /// number's latest checkpoint, whether or not the table of logs still lists it.
    pub fn other_logs_signed_as(
        &self,
        origin: &str,
        except: u32,
    ) -> Result<Vec<u32>, StorageError> {
        let mut found = Vec::new();
        let mut from = 0u32;
        loop {
            let number = self.read(|txn| {
                let table = txn.open_table(CHECKPOINTS)?;
                let mut rows = table.range((from, 0)..)?;
                Ok(match rows.next() {
                    Some(row) => Some(row?.0.value().0),
                    None => None,
                })
            })?;
            let Some(number) = number else {
                return Ok(found);
            };
            if number != except
                && let Some((_, note)) = self.latest_checkpoint(number)?
                && note.lines().next() == Some(origin)
            {
                found.push(number);
            }
            match number.checked_add(1) {
                Some(next) => from = next,
                None => return Ok(found),
            }
        }
    }

    /// Moves log `origin` to the name `to` in the table of logs, as damage to its key does
    /// (tests only).
    #[cfg(test)]
    pub(crate) fn rename_log(&self, origin: &str, to: &str) -> Result<(), StorageError> {
        self.write(|txn| {
            let mut logs = txn.open_table(LOGS)?;
            let number = logs.remove(origin)?.map(|n| n.value());
            if let Some(number) = number {
                logs.insert(to, number)?;
            }
            Ok(())
        })
    }

    /// The checkpoint signed at exactly `size`, if any.
    pub fn checkpoint_at(&self, log: u32, size: u64) -> Result<Option<String>, StorageError> {
        self.read(|txn| {
            let table = txn.open_table(CHECKPOINTS)?;
            Ok(table.get((log, size))?.map(|v| v.value().to_string()))
        })
    }

    /// Every checkpoint of a log, by size.
    pub fn checkpoints(&self, log: u32) -> Result<Vec<(u64, String)>, StorageError> {
        self.read(|txn| {
            let table = txn.open_table(CHECKPOINTS)?;
            table
                .range((log, 0)..=(log, u64::MAX))?
                .map(|row| {
                    let (k, v) = row?;
                    Ok((k.value().1, v.value().to_string()))
                })
                .collect()
        })
    }

    /// Entries `range` of a log (those that exist), in order: from stored bundles where the
    /// range covers a complete one, and from the `entries` rows for the partial right edge
    /// and for databases written before bundles (see [`super::tables`]). A stored
    /// bundle that does not parse reads as missing entries (damage, which the integrity
    /// checks find and repair), never as a panic.
    pub fn entries(
        &self,
        log: u32,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|txn| {
            let bundles = tables::open_optional(txn, BUNDLES)?;
            let rows = txn.open_table(ENTRIES)?;
            blobs::read_entries(bundles.as_ref(), &rows, log, range.clone())
        })
    }

    /// The stored bundle `index` of a log (entries `256·index ..`, tlog-tiles encoding),
    /// exactly as stored, if the log has it whole: one read. `None` for the partial right
    /// edge and for bundles completed before bundles were stored (read those with
    /// [`Store::entries`]). The caller checks the bytes before serving them.
    pub fn bundle(&self, log: u32, index: u64) -> Result<Option<Vec<u8>>, StorageError> {
        self.read(|txn| {
            let Some(table) = tables::open_optional(txn, BUNDLES)? else {
                return Ok(None);
            };
            blobs::get_bundle(&table, log, index)
        })
    }

    /// The stored hash tile at tile level `level` and index `index` of a log (its 256 hashes,
    /// 8,192 bytes), exactly as stored, if the log has it whole: one blob read and one row,
    /// in one read transaction. `None` for partial tiles and for tiles completed before tiles
    /// were stored (build those from [`Store::hash_reader`]). The caller checks the bytes
    /// before serving them (bytes of another length are damage).
    pub fn hash_tile(
        &self,
        log: u32,
        level: u8,
        index: u64,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        self.read(|txn| {
            let Some(tiles) = tables::open_optional(txn, TILES)? else {
                return Ok(None);
            };
            let hashes = txn.open_table(HASHES)?;
            blobs::get_hash_tile(&tiles, &hashes, log, level, index)
        })
    }

    /// Rewrites the stored hash tile at tile level `level` and index `index` with `hashes`,
    /// which the caller checked against the log's signed root (they are the `hashes` rows of
    /// the tile, read and anchored): the repair of a damaged tile blob. Refuses a tile that
    /// is not complete below the durable size or is not 256 hashes; drops the log's cached
    /// tiles and subtrees, as every repair does. One durable transaction.
    pub fn restore_hash_tile(
        &self,
        log: u32,
        level: u8,
        index: u64,
        hashes: &[Hash],
    ) -> Result<(), StorageError> {
        let merkle_level = level.saturating_mul(daylight_verifier::tile::TILE_HEIGHT);
        self.write(|txn| {
            let size = txn.open_table(SIZES)?.get(log)?.map_or(0, |v| v.value());
            if hashes.len() as u64 != blobs::WIDTH
                || !blobs::tile_is_complete(merkle_level, index, size)
            {
                return Err(StorageError::BeyondSize { index, size });
            }
            blobs::put_hash_tile(&mut txn.open_table(TILES)?, log, level, index, hashes)
        })?;
        self.forget_cached(log);
        Ok(())
    }

    /// The cache of full tiles that passed the integrity checks (see [`super::cache`]).
    pub fn tile_cache(&self) -> &super::cache::TileCache {
        &self.tile_cache
    }

    /// The cache of hash subtrees anchored to a signed root (see [`super::subtrees`]).
    pub fn subtrees(&self) -> &super::subtrees::SubtreeCache {
        &self.subtrees
    }

    /// Drops everything held in memory about `log` that a repair may change: its cached
    /// tiles and its subtrees.
    fn forget_cached(&self, log: u32) {
        self.tile_cache.remove_log(log);
        self.subtrees.remove_log(log);
    }

    /// A reader of a log's stored hashes, for the Merkle functions.
    pub fn hash_reader(&self, log: u32) -> LogHashes<'_> {
        LogHashes { store: self, log }
    }

    /// Makes a batch durable in one transaction (one fsync), checking the invariants above.
    pub fn commit_batch(&self, batch: &Batch, origin: &str) -> Result<(), StorageError> {
        let committed = self.write(|txn| write_batch(txn, batch, origin));
        self.heads_changed();
        committed
    }

    /// Overwrites stored entries and hashes of a log below its durable size with verified
    /// copies (see `integrity`): the repair of damage found by the scrub. Refuses anything at
    /// or beyond the durable size, so it can never extend or reorder the log. An entry inside
    /// a complete bundle is repaired by rewriting that bundle whole; a hash of a complete
    /// tile also rebuilds that tile's blob from the rows. Index rows are untouched (they are
    /// derived from the same entries, which a repair restores as they were). One durable
    /// transaction; afterwards the log's cached tiles and subtrees are dropped.
    pub fn repair(
        &self,
        log: u32,
        entries: &[(u64, Vec<u8>)],
        hashes: &[(NodeId, Hash)],
    ) -> Result<(), StorageError> {
        self.write(|txn| {
            let size = txn.open_table(SIZES)?.get(log)?.map_or(0, |v| v.value());
            if let Some((index, _)) = entries.iter().find(|(index, _)| *index >= size) {
                return Err(StorageError::BeyondSize {
                    index: *index,
                    size,
                });
            }
            blobs::repair_entries(txn, log, size, entries)?;
            let mut table = txn.open_table(HASHES)?;
            for (id, hash) in hashes {
                let end = (id.index + 1).checked_shl(u32::from(id.level));
                if end.is_none_or(|end| end > size) {
                    return Err(StorageError::BeyondSize {
                        index: id.index,
                        size,
                    });
                }
                table.insert((log, id.level, id.index), hash.0)?;
            }
            drop(table);
            tree::repair_tiles(txn, log, size, hashes.iter().map(|(id, _)| *id))?;
            Ok(())
        })?;
        self.forget_cached(log);
        self.heads_changed();
        Ok(())
    }

    /// The log and index of the entry of the node's own log whose leaf hash is `leaf`. The
    /// first entry with that leaf keeps the slot.
    pub fn find_leaf(&self, leaf: &Hash) -> Result<Option<(u32, u64)>, StorageError> {
        self.read(|txn| {
            let prefix = leaf_prefix(leaf);
            // Entries written before `leaf_groups` existed are in `leaves`; later ones, in
            // their group (see `tables`). Earlier entries first: the first one keeps the slot.
            let mut found = txn.open_table(LEAVES)?.get(prefix)?.map(|v| v.value());
            if found.is_none()
                && let Some(groups) = tables::open_optional(txn, LEAF_GROUPS)?
            {
                let last = groups.last()?.map_or(0, |(key, _)| key.value().0);
                for group in 0..=last {
                    if let Some(v) = groups.get((group, prefix))? {
                        found = Some(v.value());
                        break;
                    }
                }
            }
            let Some((log, index)) = found else {
                return Ok(None);
            };
            let bundles = tables::open_optional(txn, BUNDLES)?;
            let rows = txn.open_table(ENTRIES)?;
            let entry = blobs::read_entries(bundles.as_ref(), &rows, log, index..index + 1)?;
            let found = entry
                .first()
                .is_some_and(|bytes| daylight_verifier::merkle::leaf_hash(bytes) == *leaf);
            Ok(found.then_some((log, index)))
        })
    }
}

/// The body of [`Store::commit_batch`], inside its write transaction.
fn write_batch(
    txn: &redb::WriteTransaction,
    batch: &Batch,
    origin: &str,
) -> Result<(), StorageError> {
    let mut sizes = txn.open_table(SIZES)?;
    let durable = sizes.get(batch.log)?.map_or(0, |v| v.value());
    if durable != batch.start {
        return Err(StorageError::OutOfOrder {
            log: origin.to_string(),
            start: batch.start,
            durable,
        });
    }
    blobs::write_entries(txn, batch)?;
    index::index_batch(txn, batch)?;
    let new_size = batch.start + batch.entries.len() as u64;
    tree::write_hashes(txn, batch.log, new_size, &batch.hashes)?;
    if let Some(checkpoint) = &batch.checkpoint {
        let mut checkpoints = txn.open_table(CHECKPOINTS)?;
        if let Some(existing) = checkpoints.get((batch.log, new_size))?
            && existing.value() != checkpoint
        {
            return Err(StorageError::CheckpointConflict(new_size));
        }
        checkpoints.insert((batch.log, new_size), checkpoint.as_str())?;
    }
    sizes.insert(batch.log, new_size)?;
    Ok(())
}

/// The key of an own entry in the leaf index.
pub(super) fn leaf_prefix(leaf: &Hash) -> [u8; 16] {
    let mut prefix = [0u8; 16];
    prefix.copy_from_slice(&leaf.0[..16]);
    prefix
}

/// The stored hashes of one log, read in one transaction per call.
pub struct LogHashes<'a> {
    store: &'a Store,
    log: u32,
}

impl HashReader for LogHashes<'_> {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        let read = self.store.read(|txn| {
            let rows = txn.open_table(HASHES)?;
            let tiles = tables::open_optional(txn, TILES)?;
            let reader = tree::TreeReader::new(&rows, tiles.as_ref(), self.log);
            ids.iter()
                .map(|id| reader.get(*id))
                .collect::<Result<Vec<_>, StorageError>>()
        });
        let hashes = read.map_err(|e| TreeError::Storage(e.to_string()))?;
        hashes
            .into_iter()
            .zip(ids)
            .map(|(hash, id)| hash.ok_or(TreeError::Missing(*id)))
            .collect()
    }
}
