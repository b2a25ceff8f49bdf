//! One log's C2SP tlog-tiles, read from wherever they are stored and checked against one
//! checkpoint's root before anything in them is used: the client side of a static copy
//! (DESIGN §5.6), where there is no node to build proofs.
//!
//! A [`TileLog`] is a log at one tree size and root. Every hash tile it reads is *verified*
//! before a hash of it is used, top down, as the Go reference's `TileHashReader` does:
//!
//! * a **full** tile at tile-level `T`, index `N`, folds into the stored hash `(8T + 8, N)`,
//!   which a tile one level up holds; that tile is verified first, so a full tile whose fold
//!   differs is the damaged one, and the error names it;
//! * the **partial** tiles (the rightmost one at each level, `.p/W`) are exactly what the
//!   tree's frontier is made of, so together they must rebuild the checkpoint's root.
//!
//! The verified tiles then serve as a [`HashReader`], so inclusion and consistency proofs
//! come from the verifier's own proof functions ([`prove_inclusion`],
//! [`prove_consistency`]), and every entry bundle is checked entry by entry against the
//! verified level-0 hash tile of the same index. Nothing read from the network is trusted
//! and nothing read can make this panic: a tile that is missing, of the wrong length or
//! that does not match is a verification failure naming the tile.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use daylight_verifier::Hash;
use daylight_verifier::merkle::{
    HashReader, NodeId, TreeError, leaf_hash, prove_consistency, prove_inclusion, reference_root,
    tree_hash,
};
use daylight_verifier::tile::{TILE_HEIGHT, TILE_WIDTH, Tile, TileKind, read_bundle};

use crate::error::{CliError, failed};

/// Where a log's tiles are read from. Paths are relative to the log, e.g. `tile/0/x001/234`.
pub trait TileFetch {
    /// The object at `path`; `Ok(None)` when it does not exist.
    fn fetch(&self, path: &str) -> Result<Option<Vec<u8>>, CliError>;
    /// Where `path` is, for messages (a URL).
    fn location(&self, path: &str) -> String;
}

/// Hash tiles checked against the root, by (tile level, index).
type Verified = HashMap<(u8, u64), Arc<[Hash]>>;

/// A log's tiles at one tree size and root, each checked against that root before use.
pub struct TileLog<F> {
    fetch: F,
    size: u64,
    root: Hash,
    /// Hash tiles already checked against `root`.
    verified: Mutex<Verified>,
    /// The error behind the last [`TreeError::Storage`] this reader returned.
    error: Mutex<Option<CliError>>,
}

impl<F: TileFetch> TileLog<F> {
    /// The log of `size` entries whose tree has `root`, read through `fetch`.
    pub fn new(fetch: F, size: u64, root: Hash) -> TileLog<F> {
        TileLog {
            fetch,
            size,
            root,
            verified: Mutex::new(HashMap::new()),
            error: Mutex::new(None),
        }
    }

    /// The tree size everything is checked against.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hash tile at tile-level `level`, index `index`, as the tree of `size` has it
    /// (full, or partial at the right edge); `None` if the tree has no such tile.
    fn hash_tile(&self, level: u8, index: u64) -> Option<Tile> {
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        if shift >= 64 {
            return None;
        }
        width_at(self.size >> shift, index).map(|width| Tile {
            kind: TileKind::Hashes { level },
            index,
            width,
        })
    }

    /// The entry bundle `index` as the tree of `size` has it.
    pub fn entry_tile(&self, index: u64) -> Option<Tile> {
        width_at(self.size, index).map(|width| Tile {
            kind: TileKind::Entries,
            index,
            width,
        })
    }

    /// Reads a tile's bytes; a missing tile is a verification failure, since the checkpoint
    /// of this size promises every tile of its tree.
    fn read(&self, tile: &Tile) -> Result<Vec<u8>, CliError> {
        let path = tile.path();
        self.fetch.fetch(&path)?.ok_or_else(|| {
            failed(format!(
                "{} is missing, but the checkpoint of size {} needs it: the static copy is \
                 incomplete; ask its publisher to republish it, or use a node",
                self.fetch.location(&path),
                self.size
            ))
        })
    }

    /// Reads a hash tile and splits it into hashes, unverified.
    fn read_hashes_of(&self, tile: &Tile) -> Result<Vec<Hash>, CliError> {
        let bytes = self.read(tile)?;
        let expected = tile.width as usize * 32;
        if bytes.len() != expected {
            return Err(failed(format!(
                "{} is {} bytes, but a hash tile of {} hashes is {expected}: the static copy \
                 is damaged",
                self.fetch.location(&tile.path()),
                bytes.len(),
                tile.width
            )));
        }
        Ok(bytes
            .chunks_exact(32)
            .map(|c| Hash::from_slice(c).unwrap_or(Hash([0; 32])))
            .collect())
    }

    fn cached(&self, level: u8, index: u64) -> Option<Arc<[Hash]>> {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(level, index))
            .cloned()
    }

    fn remember(&self, level: u8, index: u64, hashes: Vec<Hash>) -> Arc<[Hash]> {
        let hashes: Arc<[Hash]> = hashes.into();
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((level, index), hashes.clone());
        hashes
    }

    /// The hashes of a hash tile, checked against the root (see the module documentation).
    fn tile_hashes(&self, level: u8, index: u64) -> Result<Arc<[Hash]>, CliError> {
        if let Some(hashes) = self.cached(level, index) {
            return Ok(hashes);
        }
        let Some(tile) = self.hash_tile(level, index) else {
            return Err(failed(format!(
                "the tree of size {} has no hash tile {index} at tile level {level}",
                self.size
            )));
        };
        if tile.width < TILE_WIDTH {
            self.check_partial_tiles()?;
            return self.cached(level, index).ok_or_else(|| {
                failed(format!(
                    "{} is not a partial tile of the tree of size {}",
                    self.fetch.location(&tile.path()),
                    self.size
                ))
            });
        }
        let hashes = self.read_hashes_of(&tile)?;
        let parent_level = level.checked_add(1).filter(|l| *l < 8).ok_or_else(|| {
            failed(format!(
                "{} cannot be a full tile: no tree is that large",
                self.fetch.location(&tile.path())
            ))
        })?;
        let expected = self.node(NodeId::new(parent_level * TILE_HEIGHT, index))?;
        let got = reference_root(&hashes);
        if got != expected {
            let parent = self
                .hash_tile(parent_level, index / TILE_WIDTH)
                .map(|t| self.fetch.location(&t.path()))
                .unwrap_or_default();
            return Err(failed(format!(
                "{} is damaged: its hashes fold to {got}, but {parent}, checked against the \
                 checkpoint root, holds {expected} for it",
                self.fetch.location(&tile.path())
            )));
        }
        Ok(self.remember(level, index, hashes))
    }

    /// Checks the rightmost partial tile of every level together: they hold the tree's
    /// frontier, which must fold to the checkpoint's root.
    fn check_partial_tiles(&self) -> Result<(), CliError> {
        let mut partial = BTreeMap::new();
        for level in 0..8u8 {
            let shift = u32::from(level) * u32::from(TILE_HEIGHT);
            let count = self.size >> shift;
            if !count.is_multiple_of(TILE_WIDTH)
                && let Some(tile) = self.hash_tile(level, count / TILE_WIDTH)
            {
                partial.insert(level, (tile, self.read_hashes_of(&tile)?));
            }
        }
        let reader = Frontier(&partial);
        let root = tree_hash(self.size, &reader).map_err(|e| {
            failed(format!(
                "the static copy's partial hash tiles do not hold the tree's frontier: {e}"
            ))
        })?;
        if root != self.root {
            let names: Vec<String> = partial
                .values()
                .map(|(t, _)| self.fetch.location(&t.path()))
                .collect();
            return Err(failed(if names.len() == 1 {
                format!(
                    "{} is damaged: with it the tree of size {} has the root {root}, but the \
                     checkpoint says {}",
                    names[0], self.size, self.root
                )
            } else {
                format!(
                    "one of the partial hash tiles {} is damaged: together they give the tree \
                     of size {} the root {root}, but the checkpoint says {}",
                    names.join(", "),
                    self.size,
                    self.root
                )
            }));
        }
        for (level, (tile, hashes)) in partial {
            self.remember(level, tile.index, hashes);
        }
        Ok(())
    }

    /// The verified hash of the complete subtree `id`.
    fn node(&self, id: NodeId) -> Result<Hash, CliError> {
        let level = id.level / TILE_HEIGHT;
        let within = u32::from(id.level % TILE_HEIGHT);
        let (first, count) = (id.index.checked_shl(within), 1usize << within);
        let Some(first) = first.filter(|f| f >> within == id.index) else {
            return Err(failed(format!("stored hash {id:?} is outside any tree")));
        };
        let hashes = self.tile_hashes(level, first / TILE_WIDTH)?;
        let offset = (first % TILE_WIDTH) as usize;
        hashes
            .get(offset..offset + count)
            .map(reference_root)
            .ok_or_else(|| {
                failed(format!(
                    "stored hash {id:?} is not in the tree of size {}",
                    self.size
                ))
            })
    }

    /// Runs a verifier function over this reader, turning its errors back into the
    /// [`CliError`] that caused them.
    fn with_reader<T>(
        &self,
        what: &str,
        run: impl FnOnce(&Self) -> Result<T, TreeError>,
    ) -> Result<T, CliError> {
        *self.error.lock().unwrap_or_else(PoisonError::into_inner) = None;
        run(self).map_err(|e| {
            self.error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .unwrap_or_else(|| failed(format!("cannot build the {what}: {e}")))
        })
    }

    /// The inclusion proof of entry `index` in the tree of `size` (at most this log's size),
    /// built from verified hash tiles.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, CliError> {
        self.check_size(size)?;
        self.with_reader("inclusion proof", |r| prove_inclusion(index, size, r))
    }

    /// The consistency proof from the tree of `old` entries to the tree of `new` (at most
    /// this log's size), built from verified hash tiles.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, CliError> {
        self.check_size(new)?;
        self.with_reader("consistency proof", |r| prove_consistency(old, new, r))
    }

    fn check_size(&self, size: u64) -> Result<(), CliError> {
        if size > self.size {
            return Err(failed(format!(
                "the static copy's checkpoint has size {}; nothing about a tree of size {size} \
                 can be proven from it",
                self.size
            )));
        }
        Ok(())
    }

    /// The entries of bundle `index`, each checked against the verified leaf hash at its
    /// position.
    pub fn bundle(&self, index: u64) -> Result<Vec<Vec<u8>>, CliError> {
        let Some(tile) = self.entry_tile(index) else {
            return Err(failed(format!(
                "the tree of size {} has no entry bundle {index}",
                self.size
            )));
        };
        let location = self.fetch.location(&tile.path());
        let bytes = self.read(&tile)?;
        let entries =
            read_bundle(&bytes).map_err(|e| failed(format!("{location} is damaged: {e}")))?;
        if entries.len() as u64 != tile.width {
            return Err(failed(format!(
                "{location} is damaged: it holds {} entries, the checkpoint of size {} implies {}",
                entries.len(),
                self.size,
                tile.width
            )));
        }
        let leaves = self.tile_hashes(0, index)?;
        for (offset, (entry, leaf)) in entries.iter().zip(leaves.iter()).enumerate() {
            let got = leaf_hash(entry);
            if got != *leaf {
                return Err(failed(format!(
                    "{location} is damaged: entry {} hashes to {got}, but the hash tiles, \
                     checked against the checkpoint root, say {leaf}",
                    index * TILE_WIDTH + offset as u64
                )));
            }
        }
        Ok(entries.into_iter().map(<[u8]>::to_vec).collect())
    }

    /// Entry `index`, checked against the checkpoint root.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, CliError> {
        if index >= self.size {
            return Err(failed(format!(
                "entry {index} is not in the tree of size {}",
                self.size
            )));
        }
        let mut entries = self.bundle(index / TILE_WIDTH)?;
        let offset = (index % TILE_WIDTH) as usize;
        Ok(std::mem::take(&mut entries[offset]))
    }

    /// The index of the first entry whose leaf hash is `leaf`, searching the verified level-0
    /// hash tiles (32 bytes an entry, not the entries themselves).
    pub fn find_leaf(&self, leaf: &Hash) -> Result<Option<u64>, CliError> {
        for tile in 0..self.size.div_ceil(TILE_WIDTH) {
            let hashes = self.tile_hashes(0, tile)?;
            if let Some(offset) = hashes.iter().position(|h| h == leaf) {
                return Ok(Some(tile * TILE_WIDTH + offset as u64));
            }
        }
        Ok(None)
    }

    /// Hands every verified entry from index `from` to the end to `take(index, entry)`, in
    /// order; returns how many were handed on.
    pub fn scan(
        &self,
        from: u64,
        mut take: impl FnMut(u64, &[u8]) -> Result<(), CliError>,
    ) -> Result<u64, CliError> {
        let mut scanned = 0;
        for tile in from / TILE_WIDTH..self.size.div_ceil(TILE_WIDTH) {
            for (offset, entry) in self.bundle(tile)?.iter().enumerate() {
                let index = tile * TILE_WIDTH + offset as u64;
                if index >= from {
                    take(index, entry)?;
                    scanned += 1;
                }
            }
        }
        Ok(scanned)
    }
}

/// The verified tiles as the verifier's hash store. A tile that cannot be read or checked
/// is a [`TreeError::Storage`]; the [`CliError`] behind it is kept for the caller.
impl<F: TileFetch> HashReader for TileLog<F> {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        ids.iter()
            .map(|id| {
                self.node(*id).map_err(|e| {
                    let message = e.to_string();
                    *self.error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
                    TreeError::Storage(message)
                })
            })
            .collect()
    }
}

/// The width of tile `index` of a level holding `count` hashes (or entries): 256 for a full
/// tile, less for the rightmost; `None` past the end.
fn width_at(count: u64, index: u64) -> Option<u64> {
    let start = index.checked_mul(TILE_WIDTH)?;
    (start < count).then(|| (count - start).min(TILE_WIDTH))
}

/// The partial tiles of a tree, not yet verified, as a hash store for [`tree_hash`]: every
/// frontier hash lies in one of them.
struct Frontier<'a>(&'a BTreeMap<u8, (Tile, Vec<Hash>)>);

impl HashReader for Frontier<'_> {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        ids.iter()
            .map(|id| {
                let within = u32::from(id.level % TILE_HEIGHT);
                let (tile, hashes) = self
                    .0
                    .get(&(id.level / TILE_HEIGHT))
                    .ok_or(TreeError::Missing(*id))?;
                let first = id
                    .index
                    .checked_shl(within)
                    .ok_or(TreeError::Missing(*id))?;
                let offset = first
                    .checked_sub(tile.index * TILE_WIDTH)
                    .ok_or(TreeError::Missing(*id))? as usize;
                hashes
                    .get(offset..offset + (1usize << within))
                    .map(reference_root)
                    .ok_or(TreeError::Missing(*id))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daylight_verifier::merkle::{Frontier as Tree, MemoryHashStore, verify_inclusion};
    use daylight_verifier::tile::push_bundle_entry;

    /// The tiles of a log of `size` entries, as a static copy holds them, in memory.
    struct Copy {
        objects: Mutex<HashMap<String, Vec<u8>>>,
        store: MemoryHashStore,
        root: Hash,
    }

    impl TileFetch for &Copy {
        fn fetch(&self, path: &str) -> Result<Option<Vec<u8>>, CliError> {
            Ok(self.objects.lock().unwrap().get(path).cloned())
        }
        fn location(&self, path: &str) -> String {
            format!("mem/{path}")
        }
    }

    fn entry(i: u64) -> Vec<u8> {
        format!("{{\"entry\":{i}}}").into_bytes()
    }

    /// Writes every tile of the tree of `size`, as a publisher does for that checkpoint.
    fn copy(size: u64) -> Copy {
        let mut store = MemoryHashStore::new();
        let mut tree = Tree::empty();
        let mut out = Vec::new();
        for i in 0..size {
            tree.append(leaf_hash(&entry(i)), &mut out);
        }
        store.extend(out);
        let mut objects = HashMap::new();
        for level in 0..8u8 {
            let count = size >> (u32::from(level) * 8);
            for index in 0..count.div_ceil(TILE_WIDTH) {
                let width = width_at(count, index).unwrap();
                let tile = Tile {
                    kind: TileKind::Hashes { level },
                    index,
                    width,
                };
                let bytes: Vec<u8> = tile
                    .node_ids()
                    .unwrap()
                    .flat_map(|id| store.get(id).unwrap().0)
                    .collect();
                objects.insert(tile.path(), bytes);
            }
        }
        for index in 0..size.div_ceil(TILE_WIDTH) {
            let width = width_at(size, index).unwrap();
            let tile = Tile {
                kind: TileKind::Entries,
                index,
                width,
            };
            let mut bundle = Vec::new();
            for i in tile.entry_range().unwrap() {
                push_bundle_entry(&mut bundle, &entry(i)).unwrap();
            }
            objects.insert(tile.path(), bundle);
        }
        Copy {
            objects: Mutex::new(objects),
            root: tree.root(),
            store,
        }
    }

    #[test]
    fn proofs_from_tiles_are_the_verifiers_own() {
        // Sizes around tile boundaries at levels 0 and 1, and pairs of every kind in them.
        for size in [
            1u64, 2, 3, 7, 255, 256, 257, 511, 512, 513, 1000, 65_535, 65_536, 65_537,
        ] {
            let copy = copy(size);
            let log = TileLog::new(&copy, size, copy.root);
            let mut indexes: Vec<u64> = vec![0, 1, 127, 255, 256, 257, 511, 65_535, 65_536];
            indexes.extend([size / 2, size.saturating_sub(2), size - 1]);
            indexes.retain(|i| *i < size);
            for &index in &indexes {
                for tree in [index + 1, size.div_ceil(2).max(index + 1), size] {
                    let got = log.inclusion_proof(index, tree).unwrap();
                    let want = prove_inclusion(index, tree, &copy.store).unwrap();
                    assert_eq!(got, want, "inclusion of {index} in {tree} (copy {size})");
                    let leaf = leaf_hash(&entry(index));
                    if tree == size {
                        verify_inclusion(index, size, &leaf, &got, &copy.root).unwrap();
                    }
                }
                let old = index + 1;
                for new in [old, size.div_ceil(2).max(old), size] {
                    let got = log.consistency_proof(old, new).unwrap();
                    let want = prove_consistency(old, new, &copy.store).unwrap();
                    assert_eq!(got, want, "consistency {old} to {new} (copy {size})");
                }
                assert_eq!(log.entry(index).unwrap(), entry(index));
            }
            assert_eq!(
                log.find_leaf(&leaf_hash(&entry(size - 1))).unwrap(),
                Some(size - 1)
            );
            assert_eq!(log.find_leaf(&leaf_hash(b"absent")).unwrap(), None);
        }
    }

    #[test]
    fn every_pair_in_small_trees() {
        for size in 1..=70u64 {
            let copy = copy(size);
            let log = TileLog::new(&copy, size, copy.root);
            for index in 0..size {
                for tree in index + 1..=size {
                    assert_eq!(
                        log.inclusion_proof(index, tree).unwrap(),
                        prove_inclusion(index, tree, &copy.store).unwrap()
                    );
                    assert_eq!(
                        log.consistency_proof(index + 1, tree).unwrap(),
                        prove_consistency(index + 1, tree, &copy.store).unwrap()
                    );
                }
            }
        }
    }

    fn damage(copy: &Copy, path: &str) {
        let mut objects = copy.objects.lock().unwrap();
        let bytes = objects.get_mut(path).unwrap();
        bytes[5] ^= 1;
    }

    #[test]
    fn a_damaged_tile_is_named() {
        // A full level-0 tile: caught against its parent.
        let c = copy(600);
        damage(&c, "tile/0/001");
        let log = TileLog::new(&c, 600, c.root);
        let e = log.inclusion_proof(300, 600).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(e.to_string().contains("mem/tile/0/001 is damaged"), "{e}");
        // Other parts of the tree still verify.
        log.inclusion_proof(10, 600).unwrap();
        // The only partial tile: caught against the root.
        let c = copy(100);
        damage(&c, "tile/0/000.p/100");
        let log = TileLog::new(&c, 100, c.root);
        let e = log.inclusion_proof(3, 100).unwrap_err();
        assert!(
            e.to_string().contains("mem/tile/0/000.p/100 is damaged"),
            "{e}"
        );
        // An entry bundle: caught against the verified leaf hashes.
        let c = copy(300);
        damage(&c, "tile/entries/001.p/44");
        let log = TileLog::new(&c, 300, c.root);
        let e = log.entry(260).unwrap_err();
        assert!(
            e.to_string()
                .contains("mem/tile/entries/001.p/44 is damaged"),
            "{e}"
        );
        assert_eq!(log.entry(3).unwrap(), entry(3));
        // A wrong root (another tree): nothing verifies.
        let c = copy(300);
        let log = TileLog::new(&c, 300, leaf_hash(b"another tree"));
        assert!(log.entry(3).is_err());
    }

    #[test]
    fn missing_and_short_tiles_are_failures_not_panics() {
        let c = copy(300);
        c.objects.lock().unwrap().remove("tile/1/000.p/1");
        let log = TileLog::new(&c, 300, c.root);
        let e = log.inclusion_proof(0, 300).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(
            e.to_string().contains("mem/tile/1/000.p/1 is missing"),
            "{e}"
        );
        let c = copy(300);
        c.objects
            .lock()
            .unwrap()
            .get_mut("tile/0/000")
            .unwrap()
            .truncate(100);
        let log = TileLog::new(&c, 300, c.root);
        let e = log.inclusion_proof(0, 300).unwrap_err();
        assert!(e.to_string().contains("is 100 bytes"), "{e}");
        let e = log.inclusion_proof(0, 301).unwrap_err();
        assert!(e.to_string().contains("size 300"), "{e}");
        let scanned = {
            let c = copy(300);
            let log = TileLog::new(&c, 300, c.root);
            let mut seen = Vec::new();
            let n = log
                .scan(250, |i, e| {
                    assert_eq!(e, entry(i));
                    seen.push(i);
                    Ok(())
                })
                .unwrap();
            assert_eq!(seen, (250..300).collect::<Vec<_>>());
            n
        };
        assert_eq!(scanned, 50);
    }
}
