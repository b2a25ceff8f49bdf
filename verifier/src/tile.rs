//! C2SP tlog-tiles: the names and contents of a log's immutable read resources.
//!
//! A *hash tile* at tile-level `L`, index `N`, holds up to 256 consecutive stored hashes of
//! Merkle level `8L`, starting at index `256N`: exactly the [`NodeId`]s `(8L, 256N + i)`. A
//! *partial* tile (`.p/W`) holds the first `W` of them. An *entry bundle* `N` holds entries
//! `256N ..`, each prefixed by its length as a big-endian u16.
//!
//! Paths write `N` in 3-digit groups, all but the last prefixed by `x`: 1234067 is
//! `x001/x234/067`.

use std::ops::Range;

use crate::merkle::NodeId;

/// Hashes per full tile.
pub const TILE_WIDTH: u64 = 256;
/// Merkle levels per tile level.
pub const TILE_HEIGHT: u8 = 8;
/// Largest entry an entry bundle can carry (u16 length prefix).
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// Why a tile path or entry bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// The path does not follow tlog-tiles.
    #[error("invalid tile path {path:?}: {reason}")]
    BadPath {
        /// The path given.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// An entry bundle is truncated or has a bad length.
    #[error("malformed entry bundle: {0}")]
    BadBundle(&'static str),
    /// An entry too large for a bundle.
    #[error("entry of {0} bytes exceeds the 65,535-byte limit of entry bundles")]
    EntryTooLarge(usize),
}

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// Stored Merkle hashes of level `8 × level`.
    Hashes {
        /// The tile level (0 to 7 covers any u64-sized tree).
        level: u8,
    },
    /// Entry bundle.
    Entries,
}

/// A tile resource: kind, index, and width (256 for a full tile).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tile {
    /// Hash tile or entry bundle.
    pub kind: TileKind,
    /// Index within its level.
    pub index: u64,
    /// Number of hashes or entries, 1 to 256.
    pub width: u64,
}

/// Writes `n` in tlog-tiles form (`x001/x234/067`).
pub fn encode_index(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// The width of the rightmost tile of tile-level `level` in a tree of `size` leaves (0 when
/// that tile is full or absent).
pub fn partial_width(level: u8, size: u64) -> u64 {
    let shift = u32::from(level) * u32::from(TILE_HEIGHT);
    if shift >= 64 {
        return 0;
    }
    (size >> shift) % TILE_WIDTH
}

impl Tile {
    /// Parses a path after the log prefix, e.g. `tile/0/x001/234.p/5` or `tile/entries/000`.
    pub fn parse(path: &str) -> Result<Tile, TileError> {
        let bad = |reason| TileError::BadPath {
            path: path.to_string(),
            reason,
        };
        let rest = path
            .strip_prefix("tile/")
            .ok_or(bad("must start with tile/"))?;
        let (kind_part, rest) = rest.split_once('/').ok_or(bad("missing tile index"))?;
        let kind = if kind_part == "entries" {
            TileKind::Entries
        } else {
            let level = parse_small_decimal(kind_part).ok_or(bad("level must be 0 to 63"))?;
            if level > 63 {
                return Err(bad("level must be 0 to 63"));
            }
            TileKind::Hashes { level: level as u8 }
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((index_part, w)) => {
                let w = parse_small_decimal(w).ok_or(bad("partial width must be 1 to 255"))?;
                if !(1..TILE_WIDTH).contains(&w) {
                    return Err(bad("partial width must be 1 to 255"));
                }
                (index_part, w)
            }
            None => (rest, TILE_WIDTH),
        };
        let groups: Vec<&str> = index_part.split('/').collect();
        let mut index: u64 = 0;
        for (i, group) in groups.iter().enumerate() {
            let last = i + 1 == groups.len();
            let digits = if last {
                *group
            } else {
                group
                    .strip_prefix('x')
                    .ok_or(bad("index groups before the last start with x"))?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("index groups are three digits"));
            }
            let value: u64 = digits
                .parse()
                .map_err(|_| bad("index groups are three digits"))?;
            index = index
                .checked_mul(1000)
                .and_then(|v| v.checked_add(value))
                .ok_or(bad("index too large"))?;
        }
        let tile = Tile { kind, index, width };
        if tile.path() != path {
            return Err(bad("not in canonical form"));
        }
        Ok(tile)
    }

    /// The path after the log prefix.
    pub fn path(&self) -> String {
        let kind = match self.kind {
            TileKind::Hashes { level } => level.to_string(),
            TileKind::Entries => "entries".to_string(),
        };
        let mut out = format!("tile/{kind}/{}", encode_index(self.index));
        if self.width < TILE_WIDTH {
            out.push_str(&format!(".p/{}", self.width));
        }
        out
    }

    /// For a hash tile, the stored hashes it holds, in order.
    pub fn node_ids(&self) -> Option<impl Iterator<Item = NodeId>> {
        let TileKind::Hashes { level } = self.kind else {
            return None;
        };
        let merkle_level = u32::from(level) * u32::from(TILE_HEIGHT);
        let start = self.index.checked_mul(TILE_WIDTH)?;
        if merkle_level >= 64 {
            return None;
        }
        Some((0..self.width).map(move |i| NodeId::new(merkle_level as u8, start + i)))
    }

    /// For an entry bundle, the entry indexes it holds.
    pub fn entry_range(&self) -> Option<Range<u64>> {
        if self.kind != TileKind::Entries {
            return None;
        }
        let start = self.index.checked_mul(TILE_WIDTH)?;
        Some(start..start.checked_add(self.width)?)
    }

    /// The number of leaves a tree must have for this tile to exist.
    pub fn min_tree_size(&self) -> Option<u64> {
        let level = match self.kind {
            TileKind::Hashes { level } => u32::from(level),
            TileKind::Entries => 0,
        };
        let shift = level * u32::from(TILE_HEIGHT);
        let hashes = self
            .index
            .checked_mul(TILE_WIDTH)?
            .checked_add(self.width)?;
        if shift >= 64 || hashes.leading_zeros() < shift {
            return None;
        }
        Some(hashes << shift)
    }
}

fn parse_small_decimal(text: &str) -> Option<u64> {
    crate::checkpoint::parse_canonical_u64(text).filter(|_| text.len() <= 3)
}

/// Appends one entry, length-prefixed, to an entry bundle.
pub fn push_bundle_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), TileError> {
    let len = u16::try_from(entry.len()).map_err(|_| TileError::EntryTooLarge(entry.len()))?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Splits an entry bundle into its entries.
pub fn read_bundle(mut bytes: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let [a, b, rest @ ..] = bytes else {
            return Err(TileError::BadBundle("truncated length prefix"));
        };
        let len = u16::from_be_bytes([*a, *b]) as usize;
        if rest.len() < len {
            return Err(TileError::BadBundle("entry shorter than its length prefix"));
        }
        entries.push(&rest[..len]);
        bytes = &rest[len..];
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding_matches_the_spec_example() {
        assert_eq!(encode_index(1_234_067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(1000), "x001/000");
    }

    #[test]
    fn paths_round_trip() {
        for path in [
            "tile/0/000",
            "tile/0/x001/x234/067",
            "tile/1/002.p/17",
            "tile/entries/x001/000.p/255",
            "tile/entries/000",
        ] {
            assert_eq!(Tile::parse(path).unwrap().path(), path);
        }
        let t = Tile::parse("tile/1/002.p/17").unwrap();
        assert_eq!(t.kind, TileKind::Hashes { level: 1 });
        assert_eq!(t.index, 2);
        assert_eq!(t.width, 17);
        assert_eq!(t.node_ids().unwrap().next(), Some(NodeId::new(8, 512)));
    }

    #[test]
    fn bad_paths_are_refused() {
        for path in [
            "tile/0/1",
            "tile/0/0001",
            "tile/00/000",
            "tile/64/000",
            "tile/0/001/002",
            "tile/0/x001",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/05",
            "tile/entries/x000/001",
            "tile/0/x999/x999/x999/x999/x999/x999/999",
            "checkpoint",
        ] {
            assert!(Tile::parse(path).is_err(), "{path} accepted");
        }
    }

    #[test]
    fn partial_widths_follow_the_spec_example() {
        // Tree of 70,000: level 0 partial of 112, level 1 partial of 17, level 2 of 1.
        assert_eq!(partial_width(0, 70_000), 112);
        assert_eq!(partial_width(1, 70_000), 17);
        assert_eq!(partial_width(2, 70_000), 1);
        assert_eq!(partial_width(1, 256), 1);
        assert_eq!(partial_width(0, 256), 0);
    }

    #[test]
    fn bundles_round_trip_and_truncation_fails() {
        let mut bundle = Vec::new();
        push_bundle_entry(&mut bundle, b"one").unwrap();
        push_bundle_entry(&mut bundle, b"").unwrap();
        push_bundle_entry(&mut bundle, b"three").unwrap();
        assert_eq!(
            read_bundle(&bundle).unwrap(),
            vec![&b"one"[..], b"", b"three"]
        );
        assert!(read_bundle(&bundle[..bundle.len() - 1]).is_err());
        assert!(push_bundle_entry(&mut bundle, &vec![0; 65_536]).is_err());
    }
}
