//! Proofs from C2SP tlog-tiles, fetched by the page: which tiles a proof needs, and the
//! verifier's own proof functions ([`prove_inclusion`], [`prove_consistency`]) run over the
//! tiles' hashes, then checked against signed roots ([`verify_inclusion`],
//! [`verify_consistency`]).
//!
//! The tiles themselves are not trusted: a hash taken from a tampered tile makes the proof
//! lead to another root, and the check fails. A hash at a Merkle level between two tile levels
//! is folded from the tile row below it ([`reference_root`] of its complete subtree).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use daylight_verifier::Hash;
use daylight_verifier::merkle::{
    HashReader, NodeId, ProofError, TreeError, prove_consistency, prove_inclusion, reference_root,
    verify_consistency, verify_inclusion,
};
use daylight_verifier::tile::{TILE_HEIGHT, TILE_WIDTH, Tile, TileKind};

use crate::check::Check;

/// How many of the `count` items of one tile row tile `index` holds (`None` past the end).
fn width_at(count: u64, index: u64) -> Option<u64> {
    let start = index.checked_mul(TILE_WIDTH)?;
    (start < count).then(|| (count - start).min(TILE_WIDTH))
}

/// The entry bundle holding entry `index` of the tree of `size`, as that tree has it.
pub fn entry_tile(index: u64, size: u64) -> Result<Tile, String> {
    if index >= size {
        return Err(format!("entry {index} is not in a tree of size {size}"));
    }
    let tile = index / TILE_WIDTH;
    let width = width_at(size, tile).ok_or("entry beyond the tree")?;
    Ok(Tile {
        kind: TileKind::Entries,
        index: tile,
        width,
    })
}

/// The hash tile of the tree of `size` that holds stored hash `id` (and the hashes its
/// complete subtree folds from).
fn tile_of(id: NodeId, size: u64) -> Option<Tile> {
    let level = id.level / TILE_HEIGHT;
    let within = u32::from(id.level % TILE_HEIGHT);
    let first = id.index.checked_shl(within)?;
    let index = first / TILE_WIDTH;
    let row = size.checked_shr(u32::from(level) * u32::from(TILE_HEIGHT))?;
    width_at(row, index).map(|width| Tile {
        kind: TileKind::Hashes { level },
        index,
        width,
    })
}

/// A hash reader that answers zeros and notes what was asked: how a proof's tiles are found.
#[derive(Default)]
struct Recorder(RefCell<Vec<NodeId>>);

impl HashReader for Recorder {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        self.0.borrow_mut().extend_from_slice(ids);
        Ok(vec![Hash([0; 32]); ids.len()])
    }
}

fn paths(ids: Vec<NodeId>, size: u64) -> Result<Vec<String>, String> {
    let mut tiles = BTreeSet::new();
    for id in ids {
        let tile = tile_of(id, size)
            .ok_or_else(|| format!("hash {id:?} lies outside the tree of size {size}"))?;
        tiles.insert(tile.path());
    }
    Ok(tiles.into_iter().collect())
}

/// The hash tiles (paths relative to the log, e.g. `tile/0/000.p/40`) an inclusion proof of
/// entry `index` in the tree of `size` is built from.
pub fn inclusion_tiles(index: u64, size: u64) -> Result<Vec<String>, String> {
    let recorder = Recorder::default();
    prove_inclusion(index, size, &recorder).map_err(|e| e.to_string())?;
    paths(recorder.0.into_inner(), size)
}

/// The hash tiles of the tree of `new` leaves a consistency proof from `old` is built from
/// (none when `old` is 0 or equals `new`).
pub fn consistency_tiles(old: u64, new: u64) -> Result<Vec<String>, String> {
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    let recorder = Recorder::default();
    prove_consistency(old, new, &recorder).map_err(|e| e.to_string())?;
    paths(recorder.0.into_inner(), new)
}

/// Hash tiles the page fetched, by (tile level, index), as a hash store.
pub struct TileReader {
    tiles: HashMap<(u8, u64), Vec<Hash>>,
}

impl TileReader {
    /// Reads hash tiles: `paths[i]` names the tile whose bytes are the next `lengths[i]` bytes
    /// of `blob`. A path that is not a hash tile or bytes of the wrong length are refused.
    pub fn new(paths: &[String], blob: &[u8], lengths: &[u32]) -> Result<TileReader, String> {
        if paths.len() != lengths.len() {
            return Err(format!(
                "{} tile paths but {} tile lengths: pass one length per path",
                paths.len(),
                lengths.len()
            ));
        }
        let mut tiles = HashMap::new();
        let mut rest = blob;
        for (path, &len) in paths.iter().zip(lengths) {
            let tile = Tile::parse(path).map_err(|e| e.to_string())?;
            let TileKind::Hashes { level } = tile.kind else {
                return Err(format!("{path} is an entry bundle, not a hash tile"));
            };
            let len = len as usize;
            if rest.len() < len {
                return Err(format!("the tile bytes end inside {path}"));
            }
            let (bytes, tail) = rest.split_at(len);
            rest = tail;
            if bytes.len() as u64 != tile.width * 32 {
                return Err(format!(
                    "{path} is {} bytes, but a tile of {} hashes is {}: the node served a \
                     damaged tile",
                    bytes.len(),
                    tile.width,
                    tile.width * 32
                ));
            }
            let hashes = bytes
                .chunks_exact(32)
                .map(|c| Hash::from_slice(c).unwrap_or(Hash([0; 32])))
                .collect();
            tiles.insert((level, tile.index), hashes);
        }
        if !rest.is_empty() {
            return Err(format!(
                "{} tile bytes are left over after the last tile",
                rest.len()
            ));
        }
        Ok(TileReader { tiles })
    }

    fn hash(&self, id: NodeId) -> Option<Hash> {
        let level = id.level / TILE_HEIGHT;
        let within = u32::from(id.level % TILE_HEIGHT);
        let first = id.index.checked_shl(within)?;
        let count = 1usize << within;
        let hashes = self.tiles.get(&(level, first / TILE_WIDTH))?;
        let offset = (first % TILE_WIDTH) as usize;
        hashes.get(offset..offset + count).map(reference_root)
    }
}

impl HashReader for TileReader {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        ids.iter()
            .map(|&id| self.hash(id).ok_or(TreeError::Missing(id)))
            .collect()
    }
}

/// The `inclusion` check: entry `index` with leaf hash `leaf` is in the tree of `size` with
/// `root`, by a proof built from `tiles`.
pub fn check_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    root: &Hash,
    tiles: &TileReader,
) -> Check {
    let proof = match prove_inclusion(index, size, tiles) {
        Ok(proof) => proof,
        Err(e) => {
            return Check::fail(
                "inclusion",
                "missing_tile",
                format!("no inclusion proof from the tiles served: {e}"),
            );
        }
    };
    match verify_inclusion(index, size, leaf, &proof, root) {
        Ok(()) => Check::pass(
            "inclusion",
            format!(
                "leaf {leaf} is at index {index} of the tree of size {size} (proof of {} \
                 hashes from tiles)",
                proof.len()
            ),
        ),
        Err(e) => Check::fail(
            "inclusion",
            "proof_mismatch",
            format!("the entry and the tiles do not lead to the signed root: {e}"),
        ),
    }
}

/// The `log_grows` check: the tree of `new` leaves with `new_root` extends the tree of `old`
/// leaves with `old_root` that this browser saw before, by a proof built from `tiles`.
pub fn check_grows(
    old: u64,
    old_root: &Hash,
    new: u64,
    new_root: &Hash,
    tiles: &TileReader,
) -> Check {
    if old > new {
        return Check::fail(
            "log_grows",
            "rollback",
            format!(
                "the log is now at size {new}, smaller than the size {old} this browser saw \
                 before: logs only grow"
            ),
        );
    }
    if old == new {
        return if old_root == new_root {
            Check::pass(
                "log_grows",
                format!("same checkpoint as seen before (size {new})"),
            )
        } else {
            Check::fail(
                "log_grows",
                "conflicting_root",
                format!(
                    "size {new} has root {new_root} now, but {old_root} when this browser saw \
                     it before: the log signed two histories"
                ),
            )
        };
    }
    if old == 0 {
        return Check::pass(
            "log_grows",
            format!("grew from the empty tree to size {new}"),
        );
    }
    let proof = match prove_consistency(old, new, tiles) {
        Ok(proof) => proof,
        Err(e) => {
            return Check::fail(
                "log_grows",
                "missing_tile",
                format!("no consistency proof from the tiles served: {e}"),
            );
        }
    };
    match verify_consistency(old, new, old_root, new_root, &proof) {
        Ok(()) => Check::pass(
            "log_grows",
            format!("the log of size {new} extends the checkpoint of size {old} seen before"),
        ),
        Err(e @ (ProofError::RootMismatch { .. } | ProofError::OldRootMismatch { .. })) => {
            Check::fail(
                "log_grows",
                "not_consistent",
                format!(
                    "the log of size {new} does not extend the checkpoint of size {old} this \
                     browser saw before: {e}"
                ),
            )
        }
        Err(e) => Check::fail("log_grows", "not_consistent", e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daylight_verifier::merkle::{MemoryHashStore, append_batch, leaf_hash, tree_hash};

    /// The tiles of a tree of `size` leaves, as a node serves them, and its root.
    fn tiles_of(size: u64) -> (MemoryHashStore, Hash) {
        let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut store = MemoryHashStore::new();
        store.extend(append_batch(0, &leaves, &store).unwrap());
        let root = tree_hash(size, &store).unwrap();
        (store, root)
    }

    fn reader(paths: &[String], store: &MemoryHashStore) -> TileReader {
        let mut blob = Vec::new();
        let mut lengths = Vec::new();
        for path in paths {
            let tile = Tile::parse(path).unwrap();
            let ids: Vec<NodeId> = tile.node_ids().unwrap().collect();
            let before = blob.len();
            for h in store.read_hashes(&ids).unwrap() {
                blob.extend_from_slice(&h.0);
            }
            lengths.push((blob.len() - before) as u32);
        }
        TileReader::new(paths, &blob, &lengths).unwrap()
    }

    #[test]
    fn proofs_from_the_tiles_they_name_verify_and_match_the_store() {
        for size in [1u64, 2, 40, 255, 256, 257, 70_000] {
            let (store, root) = tiles_of(size);
            for index in [0, size / 2, size - 1] {
                let paths = inclusion_tiles(index, size).unwrap();
                let tiles = reader(&paths, &store);
                let proof = prove_inclusion(index, size, &tiles).unwrap();
                assert_eq!(proof, prove_inclusion(index, size, &store).unwrap());
                let leaf = leaf_hash(&index.to_be_bytes());
                assert!(check_inclusion(index, size, &leaf, &root, &tiles).ok);
                let wrong = leaf_hash(b"another entry");
                let failed = check_inclusion(index, size, &wrong, &root, &tiles);
                assert_eq!(failed.code, Some("proof_mismatch"), "{size} {index}");
            }
        }
        let (store, root) = tiles_of(70_000);
        for old in [1u64, 255, 256, 300, 65_536, 69_999] {
            let (_, old_root) = tiles_of(old);
            let paths = consistency_tiles(old, 70_000).unwrap();
            let tiles = reader(&paths, &store);
            assert!(
                check_grows(old, &old_root, 70_000, &root, &tiles).ok,
                "{old}"
            );
            let forked = check_grows(old, &Hash::digest(b"x"), 70_000, &root, &tiles);
            assert_eq!(forked.code, Some("not_consistent"));
        }
    }

    #[test]
    fn shrinking_forking_and_missing_tiles_fail_with_their_reason() {
        let (store, root) = tiles_of(300);
        let none = TileReader::new(&[], &[], &[]).unwrap();
        assert_eq!(
            check_grows(301, &root, 300, &root, &none).code,
            Some("rollback")
        );
        let other = Hash::digest(b"other");
        assert_eq!(
            check_grows(300, &other, 300, &root, &none).code,
            Some("conflicting_root")
        );
        assert!(check_grows(300, &root, 300, &root, &none).ok);
        let leaf = leaf_hash(&5u64.to_be_bytes());
        assert_eq!(
            check_inclusion(5, 300, &leaf, &root, &none).code,
            Some("missing_tile")
        );
        // A tampered tile is a proof that leads elsewhere.
        let paths = inclusion_tiles(5, 300).unwrap();
        let good = reader(&paths, &store);
        let mut tampered = good.tiles.clone();
        for hashes in tampered.values_mut() {
            hashes[4] = other;
        }
        let tampered = TileReader { tiles: tampered };
        assert_eq!(
            check_inclusion(5, 300, &leaf, &root, &tampered).code,
            Some("proof_mismatch")
        );
        // Wrong lengths, entry bundles and leftovers are refused, not panicked on.
        assert!(TileReader::new(&["tile/0/000".into()], &[0; 31], &[31]).is_err());
        assert!(TileReader::new(&["tile/entries/000.p/1".into()], &[0; 32], &[32]).is_err());
        assert!(TileReader::new(&["tile/0/000.p/1".into()], &[0; 33], &[32]).is_err());
        assert!(TileReader::new(&["tile/0/000.p/1".into()], &[0; 16], &[32]).is_err());
        assert!(inclusion_tiles(300, 300).is_err());
        assert_eq!(
            entry_tile(299, 300).unwrap().path(),
            "tile/entries/001.p/44"
        );
        assert!(entry_tile(300, 300).is_err());
    }
}
