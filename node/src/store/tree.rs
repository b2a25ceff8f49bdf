//! Where a log's stored tree hashes live (decision 0023): in `hashes` rows while their tile is
//! incomplete, and only in the tile's blob once it is complete.
//!
//! A hash tile at tile level `t` holds the 256 tree-level-`8t` hashes under one node; every
//! hash at tree levels `8t .. 8t + 8` under it can be computed from those 256 (a node at
//! height `h` above the tile's bottom is the fold of `2^h` of them). So when a batch completes
//! a tile, its blob is written and no row is written for any hash inside it; the rows earlier
//! batches wrote for the tile are deleted in the same transaction. Writing two rows per entry
//! was a fifth to two fifths of an append's cost (docs/PERFORMANCE.md, run 10).
//!
//! Invariants, kept by [`write_hashes`] and [`repair_tiles`]:
//! * every stored hash can be read: from its row if it has one, else from the blob of its
//!   complete tile (a row, where both exist, is the one read: databases written before this
//!   change hold both, and a repair writes rows);
//! * a tile's last bottom hash always stays a row, because a blob holds the first 255 (see
//!   [`super::blobs`]);
//! * a blob is written only with all 256 bottom hashes at hand; if one is missing, the tile's
//!   hashes stay rows, as before blobs;
//! * a blob that does not parse reads as absent, so its hashes read as missing: damage that
//!   the integrity checks find and repair from the entries, never a panic.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use daylight_verifier::Hash;
use daylight_verifier::merkle::NodeId;
use daylight_verifier::tile::TILE_HEIGHT;
use redb::ReadableTable;

use super::StorageError;
use super::blobs::{WIDTH, put_hash_tile, tile_is_complete};
use super::subtrees::fold;
use super::tables::{HASHES, TILES};

/// The place of a stored hash inside its hash tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct InTile {
    /// Tree level of the tile's bottom row: `8 · tile level`.
    pub base: u8,
    /// The tile's index among the tiles of its level.
    pub tile: u64,
    /// The first bottom hash under the node, counted from the tile's first (0..256).
    pub offset: usize,
    /// How many bottom hashes the node covers: `2^(level − base)`.
    pub width: usize,
}

/// The tile holding the hash `id`, or `None` for an index too large to have one.
pub(super) fn in_tile(id: NodeId) -> Option<InTile> {
    let base = id.level - id.level % TILE_HEIGHT;
    let height = u32::from(id.level - base);
    let first = id.index.checked_mul(1u64 << height)?;
    Some(InTile {
        base,
        tile: first / WIDTH,
        offset: (first % WIDTH) as usize,
        width: 1 << height,
    })
}

/// A tile's bottom hashes as read: `None` without a blob, or with one that does not parse.
type Bottom = Option<Rc<Vec<Hash>>>;

/// Reads stored hashes of one log inside one transaction: rows first, then complete tiles.
/// Each tile is read and parsed at most once per reader.
pub(super) struct TreeReader<'a, H, T> {
    hashes: &'a H,
    tiles: Option<&'a T>,
    log: u32,
    /// Bottom hashes of tiles read so far, by (bottom level, tile).
    loaded: RefCell<HashMap<(u8, u64), Bottom>>,
}

impl<'a, H, T> TreeReader<'a, H, T>
where
    H: ReadableTable<(u32, u8, u64), [u8; 32]>,
    T: ReadableTable<(u32, u8, u64), &'static [u8]>,
{
    /// A reader over `hashes` and (if the database has it) `tiles` for `log`.
    pub(super) fn new(hashes: &'a H, tiles: Option<&'a T>, log: u32) -> Self {
        TreeReader {
            hashes,
            tiles,
            log,
            loaded: RefCell::new(HashMap::new()),
        }
    }

    /// The stored hash `id`, or `None` if it is neither a row nor inside a readable tile.
    pub(super) fn get(&self, id: NodeId) -> Result<Option<Hash>, StorageError> {
        if let Some(row) = self.hashes.get((self.log, id.level, id.index))? {
            return Ok(Some(Hash(row.value())));
        }
        let Some(place) = in_tile(id) else {
            return Ok(None);
        };
        let Some(bottom) = self.bottom(place.base, place.tile)? else {
            return Ok(None);
        };
        Ok(bottom
            .get(place.offset..place.offset + place.width)
            .map(fold))
    }

    /// The bottom hashes of the tile `tile` whose bottom is at tree level `base`: the 255 of
    /// its blob, and the 256th if its row is stored. `None` without a blob that parses.
    fn bottom(&self, base: u8, tile: u64) -> Result<Bottom, StorageError> {
        if let Some(known) = self.loaded.borrow().get(&(base, tile)) {
            return Ok(known.clone());
        }
        let read = match self.tiles {
            Some(tiles) => read_bottom(tiles, self.hashes, self.log, base, tile)?.map(Rc::new),
            None => None,
        };
        self.loaded.borrow_mut().insert((base, tile), read.clone());
        Ok(read)
    }
}

/// The bottom hashes of a tile as stored: its blob's 255 (if the blob parses) and its last
/// hash's row (if stored).
fn read_bottom(
    tiles: &impl ReadableTable<(u32, u8, u64), &'static [u8]>,
    hashes: &impl ReadableTable<(u32, u8, u64), [u8; 32]>,
    log: u32,
    base: u8,
    tile: u64,
) -> Result<Option<Vec<Hash>>, StorageError> {
    let Some(blob) = tiles.get((log, base / TILE_HEIGHT, tile))? else {
        return Ok(None);
    };
    let blob = blob.value();
    if blob.len() != (WIDTH as usize - 1) * 32 {
        return Ok(None);
    }
    let mut bottom: Vec<Hash> = blob
        .chunks_exact(32)
        .map(|c| {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(c);
            Hash(hash)
        })
        .collect();
    if let Some(last) = tile.checked_mul(WIDTH).map(|first| first + WIDTH - 1)
        && let Some(row) = hashes.get((log, base, last))?
    {
        bottom.push(Hash(row.value()));
    }
    Ok(Some(bottom))
}

/// Writes the hashes a batch of `log` created (`new`, in the order the tree made them) now
/// that its size is `size`, inside the batch's transaction: each tile the batch completes is
/// stored as a blob with no rows inside it (the rows earlier batches wrote for it deleted);
/// every other hash is a row.
pub(super) fn write_hashes(
    txn: &redb::WriteTransaction,
    log: u32,
    size: u64,
    new: &[(NodeId, Hash)],
) -> Result<(), StorageError> {
    let mut rows = txn.open_table(HASHES)?;
    // The new hashes at each tiles' bottom level, by level: consecutive indexes from the
    // first, as the tree appends them.
    let mut bottoms: BTreeMap<u8, (u64, Vec<Hash>)> = BTreeMap::new();
    for (id, hash) in new {
        if id.level % TILE_HEIGHT == 0 {
            let (first, run) = bottoms.entry(id.level).or_insert((id.index, Vec::new()));
            if *first + run.len() as u64 == id.index {
                run.push(*hash);
            }
        }
    }
    let mut whole: HashSet<(u8, u64)> = HashSet::new();
    let mut tiles = txn.open_table(TILES)?;
    for (&base, (first_new, run)) in &bottoms {
        let end_new = first_new + run.len() as u64;
        for tile in first_new / WIDTH..end_new / WIDTH {
            let first = tile * WIDTH;
            let mut bottom = Vec::with_capacity(WIDTH as usize);
            // Its hashes from earlier batches (if it started in one) are rows.
            let earlier = first < *first_new;
            if earlier {
                for row in rows.range((log, base, first)..(log, base, *first_new))? {
                    let (key, value) = row?;
                    if key.value().2 != first + bottom.len() as u64 {
                        break;
                    }
                    bottom.push(Hash(value.value()));
                }
            }
            if earlier && first + (bottom.len() as u64) < *first_new {
                // A row is missing (damage): the tile stays in rows, without a blob.
                tiles.remove((log, base / TILE_HEIGHT, tile))?;
                continue;
            }
            let from = (first.max(*first_new) - first_new) as usize;
            let to = (first + WIDTH - first_new) as usize;
            bottom.extend_from_slice(&run[from..to]);
            put_hash_tile(&mut tiles, log, base / TILE_HEIGHT, tile, &bottom)?;
            if earlier {
                delete_inside(&mut rows, log, base, tile)?;
            }
            whole.insert((base, tile));
        }
    }
    for (id, hash) in new {
        let inside_blob = in_tile(*id).is_some_and(|place| {
            let last_bottom = id.level == place.base && id.index % WIDTH == WIDTH - 1;
            !last_bottom
                && tile_is_complete(place.base, place.tile, size)
                && whole.contains(&(place.base, place.tile))
        });
        if !inside_blob {
            rows.insert((log, id.level, id.index), hash.0)?;
        }
    }
    Ok(())
}

/// Deletes the rows of every hash inside tile `tile` at bottom level `base` except its last
/// bottom hash, which its blob does not hold.
fn delete_inside(
    rows: &mut redb::Table<(u32, u8, u64), [u8; 32]>,
    log: u32,
    base: u8,
    tile: u64,
) -> Result<(), StorageError> {
    let first = tile * WIDTH;
    rows.retain_in(
        (log, base, first)..(log, base, first + WIDTH - 1),
        |_, _| false,
    )?;
    for height in 1..TILE_HEIGHT {
        let Some(level) = base.checked_add(height) else {
            break;
        };
        let from = first >> height;
        let to = (first + WIDTH) >> height;
        rows.retain_in((log, level, from)..(log, level, to), |_, _| false)?;
    }
    Ok(())
}

/// After a repair wrote the rows `ids` (in [`Store::repair`](super::Store::repair)'s
/// transaction): rewrites the blob of every complete tile with a repaired bottom hash from
/// what is now stored (rows first, the blob for the rest). A tile whose 256 bottom hashes
/// cannot all be read keeps its blob as it is: its rows are read first, and the scrub finds
/// what is still missing.
pub(super) fn repair_tiles(
    txn: &redb::WriteTransaction,
    log: u32,
    size: u64,
    ids: impl Iterator<Item = NodeId>,
) -> Result<(), StorageError> {
    let touched: std::collections::BTreeSet<(u8, u64)> = ids
        .filter(|id| id.level % TILE_HEIGHT == 0)
        .map(|id| (id.level, id.index / WIDTH))
        .filter(|&(base, tile)| tile_is_complete(base, tile, size))
        .collect();
    if touched.is_empty() {
        return Ok(());
    }
    let rows = txn.open_table(HASHES)?;
    let mut tiles = txn.open_table(TILES)?;
    for (base, tile) in touched {
        let bottom: Option<Vec<Hash>> = {
            let reader = TreeReader::new(&rows, Some(&tiles), log);
            (0..WIDTH)
                .map(|i| reader.get(NodeId::new(base, tile * WIDTH + i)))
                .collect::<Result<Option<Vec<Hash>>, StorageError>>()?
        };
        if let Some(bottom) = bottom {
            put_hash_tile(&mut tiles, log, base / TILE_HEIGHT, tile, &bottom)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::super::log::{Batch, NewEntry};
    use super::*;
    use daylight_verifier::merkle::{Frontier, HashReader, leaf_hash, node_hash, tree_hash};

    /// A store in a fresh directory (removed on drop) with one log appended in batches,
    /// keeping every hash the tree made.
    struct Appended {
        dir: std::path::PathBuf,
        store: Store,
        log: u32,
        frontier: Frontier,
        made: Vec<(NodeId, Hash)>,
    }

    impl Appended {
        fn new(batches: &[u64]) -> Appended {
            let dir = std::env::temp_dir().join(format!(
                "daylight-tree-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let store = Store::open(&dir.join("db.redb")).unwrap();
            let log = store.log_number("net/a").unwrap();
            let mut appended = Appended {
                dir,
                store,
                log,
                frontier: Frontier::empty(),
                made: Vec::new(),
            };
            for &n in batches {
                appended.append(n);
            }
            appended
        }

        fn append(&mut self, n: u64) {
            let start = self.frontier.size();
            let entries: Vec<NewEntry> = (start..start + n)
                .map(|i| NewEntry::plain(format!("entry {i}").into_bytes(), None))
                .collect();
            let mut hashes = Vec::new();
            for entry in &entries {
                self.frontier.append(entry.leaf, &mut hashes);
            }
            let batch = Batch {
                log: self.log,
                start,
                entries,
                hashes: hashes.clone(),
                checkpoint: None,
                mirrored: false,
            };
            self.store.commit_batch(&batch, "net/a").unwrap();
            self.made.extend(hashes);
        }

        /// The `hashes` rows stored for the log.
        fn rows(&self) -> Vec<NodeId> {
            self.store
                .read(|txn| {
                    let table = txn.open_table(HASHES)?;
                    let mut ids = Vec::new();
                    for row in table.range((self.log, 0, 0)..=(self.log, u8::MAX, u64::MAX))? {
                        let (level, index) = {
                            let key = row?.0.value();
                            (key.1, key.2)
                        };
                        ids.push(NodeId::new(level, index));
                    }
                    Ok(ids)
                })
                .unwrap()
        }

        /// Checks that every hash the tree made reads back as made, in one read and one by
        /// one, and that the tree's root reads from storage.
        fn check_reads(&self) {
            let reader = self.store.hash_reader(self.log);
            let ids: Vec<NodeId> = self.made.iter().map(|(id, _)| *id).collect();
            let read = reader.read_hashes(&ids).unwrap();
            for ((id, made), read) in self.made.iter().zip(read) {
                assert_eq!(*made, read, "hash {id:?}");
            }
            for (id, made) in self.made.iter().step_by(97) {
                assert_eq!(reader.read_hashes(&[*id]).unwrap(), vec![*made], "{id:?}");
            }
            assert_eq!(
                tree_hash(self.frontier.size(), &reader).unwrap(),
                self.frontier.root()
            );
        }
    }

    impl Drop for Appended {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn hashes_inside_complete_tiles_are_kept_only_in_their_blobs() {
        // Batches that start and end inside tiles, one that completes many at once, and
        // enough entries to complete a tile at tile level 1 (65,536 entries).
        let mut log = Appended::new(&[1, 100, 300, 5_000, 1, 60_000, 200]);
        let size = log.frontier.size();
        assert_eq!(size, 65_602);
        log.check_reads();
        let rows = log.rows();
        for id in &rows {
            let place = in_tile(*id).unwrap();
            let last_bottom = id.level == place.base && id.index % WIDTH == WIDTH - 1;
            assert!(
                last_bottom || !tile_is_complete(place.base, place.tile, size),
                "{id:?} is inside a complete tile but is still a row"
            );
        }
        // Rows: the last bottom hash of each of the 256 complete level-0 tiles and of the
        // complete level-1 tile, and the partial right edge (66 leaves, their parents, and
        // one level-8 hash).
        let last_bottoms = rows
            .iter()
            .filter(|id| id.level % TILE_HEIGHT == 0 && id.index % WIDTH == WIDTH - 1)
            .count();
        assert_eq!(last_bottoms, 256 + 1);
        assert!(rows.len() < 256 + 1 + 2 * 66 + 8, "{} rows", rows.len());
        // Appending more completes further tiles; everything still reads.
        log.append(190);
        log.check_reads();
    }

    #[test]
    fn a_tile_missing_an_earlier_row_when_it_completes_stays_in_rows() {
        let mut log = Appended::new(&[100]);
        log.store
            .write(|txn| {
                txn.open_table(HASHES)?.remove((log.log, 0, 5))?;
                Ok(())
            })
            .unwrap();
        log.append(200);
        assert_eq!(log.store.hash_tile(log.log, 0, 0).unwrap(), None, "no blob");
        let reader = log.store.hash_reader(log.log);
        assert!(reader.read_hashes(&[NodeId::new(0, 5)]).is_err());
        for (id, made) in &log.made {
            let covers_5 = (id.index << id.level) <= 5 && 5 < ((id.index + 1) << id.level);
            if !covers_5 && id.level < TILE_HEIGHT {
                assert_eq!(reader.read_hashes(&[*id]).unwrap(), vec![*made], "{id:?}");
            }
        }
    }

    #[test]
    fn a_database_holding_rows_inside_complete_tiles_reads_its_rows() {
        // As written before this change: every hash a row, complete tiles also as blobs.
        let log = Appended::new(&[700]);
        log.store
            .write(|txn| {
                let mut rows = txn.open_table(HASHES)?;
                for (id, hash) in &log.made {
                    rows.insert((log.log, id.level, id.index), hash.0)?;
                }
                Ok(())
            })
            .unwrap();
        log.check_reads();
        // Where a row and the blob disagree, the row is read (a repair writes rows).
        let wrong = Hash([7; 32]);
        log.store
            .write(|txn| {
                txn.open_table(HASHES)?.insert((log.log, 0, 3), wrong.0)?;
                Ok(())
            })
            .unwrap();
        let reader = log.store.hash_reader(log.log);
        assert_eq!(
            reader.read_hashes(&[NodeId::new(0, 3)]).unwrap(),
            vec![wrong]
        );
        assert_eq!(
            reader.read_hashes(&[NodeId::new(0, 4)]).unwrap(),
            vec![leaf_hash(b"entry 4")]
        );
    }

    #[test]
    fn every_hash_has_its_place_in_a_tile() {
        let place = in_tile(NodeId::new(0, 300)).unwrap();
        assert_eq!(
            (place.base, place.tile, place.offset, place.width),
            (0, 1, 44, 1)
        );
        let place = in_tile(NodeId::new(7, 3)).unwrap();
        assert_eq!(
            (place.base, place.tile, place.offset, place.width),
            (0, 1, 128, 128)
        );
        let place = in_tile(NodeId::new(8, 257)).unwrap();
        assert_eq!(
            (place.base, place.tile, place.offset, place.width),
            (8, 1, 1, 1)
        );
        let place = in_tile(NodeId::new(10, 64)).unwrap();
        assert_eq!(
            (place.base, place.tile, place.offset, place.width),
            (8, 1, 0, 4)
        );
        assert_eq!(in_tile(NodeId::new(7, u64::MAX)), None);
    }

    #[test]
    fn a_fold_is_the_subtree_root() {
        let leaves: Vec<Hash> = (0..8u8).map(|i| Hash([i; 32])).collect();
        let pairs: Vec<Hash> = leaves.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
        let quads = [
            node_hash(&pairs[0], &pairs[1]),
            node_hash(&pairs[2], &pairs[3]),
        ];
        assert_eq!(fold(&leaves), node_hash(&quads[0], &quads[1]));
        assert_eq!(fold(&leaves[2..3]), leaves[2]);
    }
}
