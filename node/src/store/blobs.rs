//! Completed tiles stored whole (DESIGN §5.6, `docs/decisions/0013-tiles-as-blobs.md`): entry
//! bundles in `bundles`, hash tiles in `tiles`, written in the batch transaction that
//! completes them; the reads of entries over bundles and rows; the repair of entries inside a
//! stored bundle.
//!
//! **Layout, shaped by redb's pages.** redb gives a leaf holding one large value a run of
//! pages rounded up to a power of two, so a 100 KiB bundle stored as one value took a
//! 128 KiB run and whole bundles of 300–500-byte records cost about 90 bytes per entry more
//! than rows (measured); an 8,192-byte tile plus its key takes 16 KiB. Hence:
//! * a bundle is stored as consecutive chunks of at most `CHUNK_BYTES` (one 4 KiB page
//!   each), keyed `(log, bundle, chunk)`, and read with one range scan;
//! * a hash tile's blob holds its first 255 hashes (8,160 bytes, which with its key fits one
//!   8 KiB run); the 256th is read from its `hashes` row in the same read transaction.
//!
//! Invariants:
//! * an entry index below a stored bundle's end is in that bundle and has no `entries` row
//!   (kept by `write_entries` and `repair_entries`, which delete the rows in the
//!   transaction that stores the bundle); an old database, or a bundle that could not be
//!   encoded, keeps its rows and has no bundle;
//! * a stored bundle holds exactly `WIDTH` entries, a stored hash tile the first 255 of the
//!   `hashes` rows of its tile; a blob that does not parse is read as absent (damage, found
//!   and repaired by the integrity checks), never as a panic.

use std::collections::BTreeMap;

use daylight_verifier::Hash;
use daylight_verifier::tile::{TILE_HEIGHT, TILE_WIDTH, push_bundle_entry, read_bundle};
use redb::ReadableTable;

use super::StorageError;
use super::log::Batch;
use super::tables::{BUNDLES, ENTRIES};

/// Entries per bundle and hashes per tile.
pub(super) const WIDTH: u64 = TILE_WIDTH;

/// Bytes of a whole hash tile as served.
pub const HASH_TILE_BYTES: usize = TILE_WIDTH as usize * 32;

/// Largest chunk of a stored bundle: with its 14-byte key, 4-byte length and the leaf's
/// 4-byte header it fits one 4 KiB page (4,096 − 22 = 4,074; a little room is left).
pub(super) const CHUNK_BYTES: usize = 4_000;

/// The `bundles` table as read or written.
type BundleTable<'t> = redb::Table<'t, (u32, u64, u16), &'static [u8]>;

/// The entries of a stored bundle, if it parses into exactly `WIDTH` entries.
pub(super) fn parse_bundle(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    read_bundle(bytes)
        .ok()
        .filter(|entries| entries.len() as u64 == WIDTH)
}

/// The hashes of a whole hash tile, if it is exactly [`HASH_TILE_BYTES`] long.
pub fn parse_hash_tile(bytes: &[u8]) -> Option<Vec<Hash>> {
    if bytes.len() != HASH_TILE_BYTES {
        return None;
    }
    Some(
        bytes
            .chunks_exact(32)
            .map(|c| {
                let mut hash = [0u8; 32];
                hash.copy_from_slice(c);
                Hash(hash)
            })
            .collect(),
    )
}

/// The stored bytes of bundle `bundle` of `log`: its chunks concatenated (one range scan), or
/// `None` if it is not stored. A chunk missing from the sequence makes the bytes empty, so
/// they do not parse (damage).
pub(super) fn get_bundle(
    table: &impl ReadableTable<(u32, u64, u16), &'static [u8]>,
    log: u32,
    bundle: u64,
) -> Result<Option<Vec<u8>>, StorageError> {
    let mut bytes: Option<Vec<u8>> = None;
    let mut expected = 0u16;
    for row in table.range((log, bundle, 0)..=(log, bundle, u16::MAX))? {
        let (key, value) = row?;
        let bytes = bytes.get_or_insert_with(Vec::new);
        if key.value().2 != expected {
            bytes.clear();
            break;
        }
        bytes.extend_from_slice(value.value());
        expected = expected.wrapping_add(1);
    }
    Ok(bytes)
}

/// Stores `bytes` as bundle `bundle` of `log`, in chunks, replacing any stored chunks.
fn put_bundle(
    table: &mut BundleTable<'_>,
    log: u32,
    bundle: u64,
    bytes: &[u8],
) -> Result<(), StorageError> {
    remove_bundle(table, log, bundle)?;
    for (chunk, part) in bytes.chunks(CHUNK_BYTES).enumerate() {
        // A bundle is at most 256 × 65,537 bytes: 4,195 chunks, well within u16.
        let chunk = u16::try_from(chunk).unwrap_or(u16::MAX);
        table.insert((log, bundle, chunk), part)?;
    }
    Ok(())
}

/// Removes every stored chunk of bundle `bundle` of `log`.
fn remove_bundle(table: &mut BundleTable<'_>, log: u32, bundle: u64) -> Result<(), StorageError> {
    table.retain_in((log, bundle, 0)..=(log, bundle, u16::MAX), |_, _| false)?;
    Ok(())
}

/// The whole hash tile at tile level `level`, index `tile` of `log` as stored: its blob and
/// the `hashes` row of its last hash, or `None` if no blob is stored. Bytes of any other
/// length than [`HASH_TILE_BYTES`] mean damage (or a missing last row).
pub(super) fn get_hash_tile(
    tiles: &impl ReadableTable<(u32, u8, u64), &'static [u8]>,
    hashes: &impl ReadableTable<(u32, u8, u64), [u8; 32]>,
    log: u32,
    level: u8,
    tile: u64,
) -> Result<Option<Vec<u8>>, StorageError> {
    let Some(blob) = tiles.get((log, level, tile))? else {
        return Ok(None);
    };
    let mut bytes = Vec::with_capacity(HASH_TILE_BYTES);
    bytes.extend_from_slice(blob.value());
    let last = tile
        .checked_mul(WIDTH)
        .and_then(|first| first.checked_add(WIDTH - 1));
    let merkle_level = level.saturating_mul(TILE_HEIGHT);
    if let Some(last) = last
        && let Some(hash) = hashes.get((log, merkle_level, last))?
    {
        bytes.extend_from_slice(&hash.value());
    }
    Ok(Some(bytes))
}

/// Stores the blob of a whole hash tile (`hashes`, all 256) at tile level `level`, index
/// `tile`: the first 255 hashes.
pub(super) fn put_hash_tile(
    tiles: &mut redb::Table<(u32, u8, u64), &'static [u8]>,
    log: u32,
    level: u8,
    tile: u64,
    hashes: &[Hash],
) -> Result<(), StorageError> {
    let blob: Vec<u8> = hashes
        .iter()
        .take(WIDTH as usize - 1)
        .flat_map(|h| h.0)
        .collect();
    tiles.insert((log, level, tile), blob.as_slice())?;
    Ok(())
}

/// Entries `range` of `log` that exist: from the stored bundle where there is one (a bundle
/// that does not parse reads as absent), else from the `entries` rows (the partial right
/// edge, and every entry of a database written before bundles). One range scan per bundle.
pub(super) fn read_entries(
    bundles: Option<&impl ReadableTable<(u32, u64, u16), &'static [u8]>>,
    rows: &impl ReadableTable<(u32, u64), &'static [u8]>,
    log: u32,
    range: std::ops::Range<u64>,
) -> Result<Vec<Vec<u8>>, StorageError> {
    let mut out = Vec::with_capacity((range.end - range.start).min(1 << 16) as usize);
    let mut at = range.start;
    while at < range.end {
        let bundle = at / WIDTH;
        let bundle_end = bundle
            .saturating_add(1)
            .saturating_mul(WIDTH)
            .min(range.end);
        let blob = match bundles {
            Some(table) => get_bundle(table, log, bundle)?,
            None => None,
        };
        let parsed = blob.as_deref().map(parse_bundle);
        match parsed {
            Some(Some(entries)) => {
                let first = (at - bundle * WIDTH) as usize;
                let last = (bundle_end - bundle * WIDTH) as usize;
                out.extend(entries[first..last].iter().map(|e| e.to_vec()));
            }
            found => {
                if found.is_some() {
                    tracing::warn!(
                        "log #{log}: stored entry bundle {bundle} does not parse; reading it \
                         as missing"
                    );
                }
                for row in rows.range((log, at)..(log, bundle_end))? {
                    out.push(row?.1.value().to_vec());
                }
            }
        }
        at = bundle_end;
    }
    Ok(out)
}

/// Writes the entries of `batch` (inside [`write_batch`](super::log)'s transaction): each
/// bundle the batch completes whole to `bundles`, with the rows of its earlier entries
/// deleted; the rest as `entries` rows. A bundle that cannot be stored whole (an entry too
/// large for the encoding, or an earlier row missing) keeps rows, as before bundles.
pub(super) fn write_entries(
    txn: &redb::WriteTransaction,
    batch: &Batch,
) -> Result<(), StorageError> {
    let log = batch.log;
    let start = batch.start;
    let end = start + batch.entries.len() as u64;
    let entry = |index: u64| batch.entries[(index - start) as usize].bytes.as_slice();
    let mut rows = txn.open_table(ENTRIES)?;
    let mut bundles = txn.open_table(BUNDLES)?;
    for bundle in start / WIDTH..end / WIDTH {
        let first = bundle * WIDTH;
        let from = first.max(start);
        let mut blob = Vec::new();
        let mut whole = true;
        // The bundle's entries from earlier batches, which are rows.
        let mut expected = first;
        for row in rows.range((log, first)..(log, start))? {
            let (key, value) = row?;
            whole &=
                key.value().1 == expected && push_bundle_entry(&mut blob, value.value()).is_ok();
            expected += 1;
        }
        whole &= expected == from;
        for index in from..first + WIDTH {
            whole = whole && push_bundle_entry(&mut blob, entry(index)).is_ok();
        }
        if whole {
            put_bundle(&mut bundles, log, bundle, &blob)?;
            if first < start {
                rows.retain_in((log, first)..(log, start), |_, _| false)?;
            }
        } else {
            for index in from..first + WIDTH {
                rows.insert((log, index), entry(index))?;
            }
        }
    }
    for index in start.max(end / WIDTH * WIDTH)..end {
        rows.insert((log, index), entry(index))?;
    }
    Ok(())
}

/// Whether the hash tile of Merkle level `level` and index `tile` is complete in a tree of
/// `size` leaves.
pub(super) fn tile_is_complete(level: u8, tile: u64, size: u64) -> bool {
    let Some(hashes) = tile.checked_add(1).and_then(|t| t.checked_mul(WIDTH)) else {
        return false;
    };
    let level = u32::from(level);
    level < 64 && hashes.leading_zeros() >= level && hashes << level <= size
}

/// Writes repaired entries (all below the durable `size`, checked by the caller): rows at the
/// partial right edge; inside a complete bundle, the bundle is rebuilt whole from what is
/// stored (its blob, or its rows) with the repaired entries in place and stored as a bundle,
/// its rows deleted. If the bundle cannot be completed (its blob did not parse and some
/// entries are neither stored nor repaired), its blob is removed and what is known is
/// written as rows, so the scrub finds the rest missing and fetches the whole bundle.
pub(super) fn repair_entries(
    txn: &redb::WriteTransaction,
    log: u32,
    size: u64,
    entries: &[(u64, Vec<u8>)],
) -> Result<(), StorageError> {
    let mut by_bundle: BTreeMap<u64, Vec<(u64, &[u8])>> = BTreeMap::new();
    for (index, bytes) in entries {
        by_bundle
            .entry(index / WIDTH)
            .or_default()
            .push((*index, bytes.as_slice()));
    }
    let mut rows = txn.open_table(ENTRIES)?;
    let mut bundles = txn.open_table(BUNDLES)?;
    for (bundle, repaired) in by_bundle {
        let first = bundle * WIDTH;
        if first + WIDTH > size {
            for (index, bytes) in repaired {
                rows.insert((log, index), bytes)?;
            }
            continue;
        }
        let mut slots: Vec<Option<Vec<u8>>> = vec![None; WIDTH as usize];
        let stored = get_bundle(&bundles, log, bundle)?;
        if let Some(entries) = stored.as_deref().and_then(parse_bundle) {
            for (slot, entry) in slots.iter_mut().zip(entries) {
                *slot = Some(entry.to_vec());
            }
        }
        for row in rows.range((log, first)..(log, first + WIDTH))? {
            let (key, value) = row?;
            let offset = key.value().1.checked_sub(first);
            if let Some(slot) = offset.and_then(|o| slots.get_mut(o as usize))
                && slot.is_none()
            {
                *slot = Some(value.value().to_vec());
            }
        }
        for (index, bytes) in repaired {
            if let Some(slot) = slots.get_mut((index - first) as usize) {
                *slot = Some(bytes.to_vec());
            }
        }
        let mut blob = Vec::new();
        let whole = slots.iter().all(|slot| {
            slot.as_ref()
                .is_some_and(|entry| push_bundle_entry(&mut blob, entry).is_ok())
        });
        if whole {
            put_bundle(&mut bundles, log, bundle, &blob)?;
            rows.retain_in((log, first)..(log, first + WIDTH), |_, _| false)?;
        } else {
            remove_bundle(&mut bundles, log, bundle)?;
            for (offset, slot) in slots.iter().enumerate() {
                if let Some(entry) = slot {
                    rows.insert((log, first + offset as u64), entry.as_slice())?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::log::{Batch, NewEntry};
    use super::super::tables::TILES;
    use super::super::{StorageError, Store};
    use super::*;
    use daylight_verifier::merkle::{Frontier, HashReader, NodeId, leaf_hash, tree_hash};

    /// A log in a fresh database, with the entries appended so far and their frontier.
    struct Log {
        dir: std::path::PathBuf,
        store: Option<Store>,
        number: u32,
        frontier: Frontier,
        entries: Vec<Vec<u8>>,
    }

    impl Log {
        fn new() -> Log {
            let dir = std::env::temp_dir().join(format!(
                "daylight-blobs-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos())
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let store = Store::open(&dir.join("db.redb")).unwrap();
            let number = store.log_number("net/a").unwrap();
            Log {
                dir,
                store: Some(store),
                number,
                frontier: Frontier::empty(),
                entries: Vec::new(),
            }
        }

        /// Appends one batch of `n` entries of varied lengths.
        fn append(&mut self, n: u64) {
            let start = self.entries.len() as u64;
            let bytes = (start..start + n)
                .map(|i| format!("entry {i} {}", "x".repeat((i % 7) as usize)).into_bytes());
            self.append_bytes(bytes.collect());
        }

        fn append_bytes(&mut self, bytes: Vec<Vec<u8>>) {
            let start = self.entries.len() as u64;
            let mut hashes = Vec::new();
            let entries: Vec<NewEntry> = bytes
                .iter()
                .map(|b| NewEntry::plain(b.clone(), None))
                .collect();
            for entry in &entries {
                self.frontier.append(entry.leaf, &mut hashes);
            }
            let batch = Batch {
                log: self.number,
                start,
                entries,
                hashes,
                checkpoint: None,
                mirrored: false,
            };
            self.store().commit_batch(&batch, "net/a").unwrap();
            self.entries.extend(bytes);
        }

        fn size(&self) -> u64 {
            self.entries.len() as u64
        }

        fn store(&self) -> &Store {
            self.store.as_ref().unwrap()
        }

        /// Closes the database and opens it again, as a restarted node does.
        fn reopen(&mut self) {
            let path = self.store().path().to_path_buf();
            self.store = None;
            self.store = Some(Store::open(&path).unwrap());
        }

        /// Entry rows stored for `range`.
        fn rows(&self, range: std::ops::Range<u64>) -> u64 {
            self.store()
                .read(|txn| {
                    let table = txn.open_table(ENTRIES)?;
                    Ok(table
                        .range((self.number, range.start)..(self.number, range.end))?
                        .count() as u64)
                })
                .unwrap()
        }

        fn encoded(&self, bundle: u64) -> Vec<u8> {
            let mut blob = Vec::new();
            for entry in &self.entries[(bundle * WIDTH) as usize..((bundle + 1) * WIDTH) as usize] {
                push_bundle_entry(&mut blob, entry).unwrap();
            }
            blob
        }

        /// The hashes rows of a tile, concatenated.
        fn tile_rows(&self, level: u8, tile: u64) -> Vec<u8> {
            let ids: Vec<NodeId> = (0..WIDTH)
                .map(|i| NodeId::new(level * TILE_HEIGHT, tile * WIDTH + i))
                .collect();
            self.store()
                .hash_reader(self.number)
                .read_hashes(&ids)
                .unwrap()
                .iter()
                .flat_map(|h| h.0)
                .collect()
        }

        /// Checks every read of entries against what was appended.
        fn check_reads(&self) {
            let size = self.size();
            let all = self.store().entries(self.number, 0..size + 10).unwrap();
            assert_eq!(all, self.entries, "all entries");
            for (a, b) in [
                (0, 1),
                (250, 260),
                (255, 257),
                (256, 512),
                (511, 513),
                (100, 700),
                (size.saturating_sub(300), size),
                (size.saturating_sub(5), size + 5),
            ] {
                let (a, b) = (a.min(size), b);
                let expected = &self.entries[a as usize..b.min(size) as usize];
                assert_eq!(
                    self.store().entries(self.number, a..b).unwrap(),
                    expected,
                    "entries {a}..{b}"
                );
            }
            for i in [0, 255, 256, 257, size - 1] {
                assert_eq!(
                    self.store()
                        .find_leaf(&leaf_hash(&self.entries[i as usize]))
                        .unwrap(),
                    Some((self.number, i)),
                    "leaf of {i}"
                );
            }
        }
    }

    impl Drop for Log {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn a_batch_that_completes_tiles_stores_them_whole_and_entries_read_back() {
        let mut log = Log::new();
        // Irregular batches: bundles completed mid-batch, by a batch holding a whole bundle,
        // and by many; a level-1 hash tile completed (65,536 entries).
        for n in [100, 156, 1, 300, 4096, 37] {
            log.append(n);
        }
        while log.size() < 65_536 + 300 {
            log.append(4096.min(65_536 + 300 - log.size()));
        }
        let size = log.size();
        let complete = size / WIDTH;
        for bundle in 0..complete {
            assert_eq!(
                log.store().bundle(log.number, bundle).unwrap(),
                Some(log.encoded(bundle)),
                "bundle {bundle}"
            );
        }
        assert_eq!(log.store().bundle(log.number, complete).unwrap(), None);
        // Entries of stored bundles have no rows; the partial right edge has.
        assert_eq!(log.rows(0..complete * WIDTH), 0);
        assert_eq!(log.rows(complete * WIDTH..size), size % WIDTH);
        for tile in 0..complete {
            assert_eq!(
                log.store().hash_tile(log.number, 0, tile).unwrap(),
                Some(log.tile_rows(0, tile)),
                "tile 0/{tile}"
            );
        }
        assert_eq!(
            log.store().hash_tile(log.number, 0, complete).unwrap(),
            None
        );
        let level1 = log.store().hash_tile(log.number, 1, 0).unwrap().unwrap();
        assert_eq!(level1, log.tile_rows(1, 0));
        assert_eq!(parse_hash_tile(&level1).unwrap().len(), 256);
        assert_eq!(log.store().hash_tile(log.number, 1, 1).unwrap(), None);
        assert_eq!(log.store().hash_tile(log.number, 2, 0).unwrap(), None);
        log.check_reads();
        log.reopen();
        log.check_reads();
        assert_eq!(
            tree_hash(size, &log.store().hash_reader(log.number)).unwrap(),
            log.frontier.root()
        );
    }

    #[test]
    fn an_entry_too_large_for_a_bundle_keeps_its_bundle_in_rows() {
        let mut log = Log::new();
        log.append(200);
        let mut bytes: Vec<Vec<u8>> = (0..100).map(|i| vec![i as u8; 10]).collect();
        bytes[30] = vec![7; 70_000];
        log.append_bytes(bytes);
        assert_eq!(log.store().bundle(log.number, 0).unwrap(), None);
        assert_eq!(log.rows(0..300), 300);
        assert_eq!(
            log.store().entries(log.number, 0..300).unwrap(),
            log.entries
        );
        // The next bundle is stored whole again.
        log.append(300);
        assert!(log.store().bundle(log.number, 1).unwrap().is_some());
        assert_eq!(log.rows(256..512), 0);
        assert_eq!(
            log.store().entries(log.number, 0..600).unwrap(),
            log.entries
        );
    }

    #[test]
    fn a_database_from_before_blobs_reads_the_same_and_grows_blobs() {
        let mut log = Log::new();
        log.append(700);
        let before = log.store().entries(log.number, 0..700).unwrap();
        // Rewrite it as an old database: every entry a row, no blob tables at all.
        let number = log.number;
        log.store()
            .write(|txn| {
                let mut rows = txn.open_table(ENTRIES)?;
                let bundles = txn.open_table(BUNDLES)?;
                for bundle in 0..700 / WIDTH {
                    let blob = get_bundle(&bundles, number, bundle)?.unwrap();
                    let entries = parse_bundle(&blob).unwrap();
                    for (offset, entry) in entries.into_iter().enumerate() {
                        rows.insert((number, bundle * WIDTH + offset as u64), entry)?;
                    }
                }
                drop(bundles);
                txn.delete_table(BUNDLES)?;
                txn.delete_table(TILES)?;
                Ok(())
            })
            .unwrap();
        assert_eq!(log.rows(0..700), 700);
        log.reopen();
        assert_eq!(log.store().bundle(log.number, 0).unwrap(), None);
        assert_eq!(log.store().hash_tile(log.number, 0, 0).unwrap(), None);
        assert_eq!(log.store().entries(log.number, 0..700).unwrap(), before);
        log.check_reads();
        // Appending completes bundle 2 and tile 0/2: those are stored whole; the old
        // bundles keep their rows and still read the same.
        log.append(100);
        assert_eq!(log.store().bundle(log.number, 1).unwrap(), None);
        assert_eq!(
            log.store().bundle(log.number, 2).unwrap(),
            Some(log.encoded(2))
        );
        assert_eq!(log.rows(0..512), 512);
        assert_eq!(log.rows(512..800), 800 - 768);
        assert_eq!(
            log.store().hash_tile(log.number, 0, 2).unwrap(),
            Some(log.tile_rows(0, 2))
        );
        log.check_reads();
        log.reopen();
        log.check_reads();
    }

    #[test]
    fn a_repair_inside_a_bundle_rewrites_the_bundle() {
        let mut log = Log::new();
        // Entries of about 100 bytes: each bundle takes several chunks.
        log.append_bytes(
            (0..600)
                .map(|i| format!("entry {i} {}", "z".repeat(90)).into_bytes())
                .collect(),
        );
        let number = log.number;
        // An entry of an intact bundle changed (as a wrong repair would), then repaired back.
        log.store()
            .repair(number, &[(5, b"wrong".to_vec())], &[])
            .unwrap();
        assert_eq!(
            log.store().entries(number, 4..7).unwrap(),
            vec![
                log.entries[4].clone(),
                b"wrong".to_vec(),
                log.entries[6].clone()
            ]
        );
        assert_eq!(log.rows(0..256), 0);
        log.store()
            .repair(number, &[(5, log.entries[5].clone())], &[])
            .unwrap();
        assert_eq!(log.store().bundle(number, 0).unwrap(), Some(log.encoded(0)));
        // A bundle is stored in chunks, read back as one.
        let chunks = log
            .store()
            .read(|txn| {
                let table = txn.open_table(BUNDLES)?;
                Ok(table.range((number, 1, 0)..=(number, 1, u16::MAX))?.count())
            })
            .unwrap();
        assert_eq!(chunks, log.encoded(1).len().div_ceil(CHUNK_BYTES));
        // A bundle with a chunk missing, or whose bytes no longer parse, reads as missing
        // entries, not a panic.
        log.store()
            .write(|txn| {
                txn.open_table(BUNDLES)?.remove((number, 0, 1))?;
                Ok(())
            })
            .unwrap();
        assert_eq!(log.store().bundle(number, 0).unwrap(), Some(Vec::new()));
        assert!(log.store().entries(number, 0..256).unwrap().is_empty());
        log.store()
            .repair(number, &[(5, log.entries[5].clone())], &[])
            .unwrap();
        assert_eq!(log.store().bundle(number, 0).unwrap(), None);
        assert_eq!(
            log.store().entries(number, 0..256).unwrap(),
            log.entries[5..6]
        );
        let all: Vec<(u64, Vec<u8>)> = (0..256)
            .map(|i| (i, log.entries[i as usize].clone()))
            .collect();
        log.store().repair(number, &all, &[]).unwrap();
        assert_eq!(log.store().bundle(number, 0).unwrap(), Some(log.encoded(0)));
        log.store()
            .write(|txn| {
                let mut table = txn.open_table(BUNDLES)?;
                remove_bundle(&mut table, number, 1)?;
                table.insert((number, 1, 0), &[0xff, 0xff, 1, 2, 3][..])?;
                Ok(())
            })
            .unwrap();
        assert!(log.store().entries(number, 256..512).unwrap().is_empty());
        assert_eq!(log.store().entries(number, 250..520).unwrap().len(), 6 + 8);
        // Repairing part of it cannot complete it: the blob goes, what is known is rows.
        let part: Vec<(u64, Vec<u8>)> = (300..303)
            .map(|i| (i, log.entries[i as usize].clone()))
            .collect();
        log.store().repair(number, &part, &[]).unwrap();
        assert_eq!(log.store().bundle(number, 1).unwrap(), None);
        assert_eq!(
            log.store().entries(number, 256..512).unwrap(),
            log.entries[300..303]
        );
        // Repairing all of it stores it whole again and drops the rows.
        let all: Vec<(u64, Vec<u8>)> = (256..512)
            .map(|i| (i, log.entries[i as usize].clone()))
            .collect();
        log.store().repair(number, &all, &[]).unwrap();
        assert_eq!(log.store().bundle(number, 1).unwrap(), Some(log.encoded(1)));
        assert_eq!(log.rows(0..512), 0);
        // The partial right edge is repaired as rows.
        log.store()
            .repair(number, &[(590, log.entries[590].clone())], &[])
            .unwrap();
        log.check_reads();
        // Nothing at or beyond the size.
        assert!(matches!(
            log.store().repair(number, &[(600, vec![1])], &[]),
            Err(StorageError::BeyondSize { .. })
        ));
    }

    #[test]
    fn a_repaired_hash_rebuilds_its_tile_and_a_restore_is_checked() {
        let mut log = Log::new();
        log.append(600);
        let number = log.number;
        let good = log.tile_rows(0, 1);
        log.store()
            .write(|txn| {
                txn.open_table(TILES)?
                    .insert((number, 0, 1), &[1u8; 10][..])?;
                Ok(())
            })
            .unwrap();
        assert_eq!(
            parse_hash_tile(&log.store().hash_tile(number, 0, 1).unwrap().unwrap()),
            None
        );
        // With its blob damaged, the tile's hashes no longer read (no rows duplicate them)...
        let id = NodeId::new(0, 300);
        assert!(log.store().hash_reader(number).read_hashes(&[id]).is_err());
        // ...until a repair writes them (as the scrub does, from the entries), which also
        // rewrites the blob. A repair of only some of them leaves the blob as it is.
        let tile: Vec<(NodeId, Hash)> = (256..512)
            .map(|i| (NodeId::new(0, i), leaf_hash(&log.entries[i as usize])))
            .collect();
        log.store().repair(number, &[], &tile[..10]).unwrap();
        assert_eq!(
            parse_hash_tile(&log.store().hash_tile(number, 0, 1).unwrap().unwrap()),
            None
        );
        log.store().repair(number, &[], &tile).unwrap();
        assert_eq!(
            log.store().hash_tile(number, 0, 1).unwrap(),
            Some(good.clone())
        );
        let hash = tile[44].1;
        // A restore writes checked hashes, only for complete tiles of 256.
        let hashes = parse_hash_tile(&good).unwrap();
        log.store()
            .restore_hash_tile(number, 0, 1, &hashes)
            .unwrap();
        assert!(
            log.store()
                .restore_hash_tile(number, 0, 2, &hashes)
                .is_err()
        );
        assert!(
            log.store()
                .restore_hash_tile(number, 1, 0, &hashes)
                .is_err()
        );
        assert!(
            log.store()
                .restore_hash_tile(number, 0, 1, &hashes[..10])
                .is_err()
        );
        // A repair drops the log's cached tiles.
        let key = crate::store::cache::TileKey {
            log: number,
            kind: daylight_verifier::tile::TileKind::Entries,
            index: 0,
        };
        log.store()
            .tile_cache()
            .insert(key, std::sync::Arc::from(vec![1u8; 4]));
        log.store().repair(number, &[], &[(id, hash)]).unwrap();
        assert!(log.store().tile_cache().get(&key).is_none());
    }

    #[test]
    fn tile_completeness() {
        assert!(tile_is_complete(0, 0, 256));
        assert!(!tile_is_complete(0, 0, 255));
        assert!(tile_is_complete(8, 0, 65_536));
        assert!(!tile_is_complete(8, 0, 65_535));
        assert!(!tile_is_complete(56, u64::MAX / 256, u64::MAX));
        assert!(!tile_is_complete(63, 1, u64::MAX));
    }
}
