//! The layout of a static copy: the names and contents of its objects (the marker, `rid/`
//! objects, tile paths under a prefix), the tiles a tree of a given size is published as,
//! and the `Cache-Control` each kind of object gets. Pure functions; the CLI reads copies by
//! exactly this layout.

use daylight_verifier::hash::Hash;
use daylight_verifier::tile::{TILE_HEIGHT, TILE_WIDTH, Tile, TileKind, partial_width};
use object_store::path::Path;

/// The name of the object that marks the root of a static copy.
pub const MARKER: &str = "daylight-static.json";

/// The content of [`MARKER`]: the format and its version, so a client knows what it reads.
pub const MARKER_JSON: &str = r#"{"format":"daylight-static","version":1}"#;

/// `Cache-Control` of the checkpoint object on a bucket: the only object that changes.
pub const CHECKPOINT_CACHE_CONTROL: &str = "no-cache, max-age=2";

/// `Cache-Control` of every other object on a bucket: they never change.
pub const IMMUTABLE_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// The content of a `rid/` object: `{"index":N,"leaf":"<64 hex>"}`.
pub fn rid_json(index: u64, leaf: &Hash) -> String {
    format!(r#"{{"index":{index},"leaf":"{}"}}"#, leaf.to_hex())
}

/// Whether `rid` may be used as one path segment: the record schema's identifier rule (1 to
/// 128 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit), so never empty, `.`, `..`,
/// and never with `/`, `\`, `%` or control characters, whatever a log holds.
pub fn is_safe_rid(rid: &str) -> bool {
    let b = rid.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// `base` joined with a tile path's `/`-separated parts.
pub(super) fn object_path(base: &Path, tile_path: &str) -> Path {
    tile_path
        .split('/')
        .fold(base.clone(), |path, part| path.join(part))
}

/// Every hash tile and entry bundle of the tree of `size`, in the widths a tlog-tiles client
/// asks for: full tiles, and the rightmost partial tile of each level.
pub fn tiles_covering(size: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    let mut push = |kind, hashes: u64, level: u8| {
        for index in 0..hashes / TILE_WIDTH {
            out.push(Tile {
                kind,
                index,
                width: TILE_WIDTH,
            });
        }
        let width = partial_width(level, size);
        if width > 0 {
            out.push(Tile {
                kind,
                index: hashes / TILE_WIDTH,
                width,
            });
        }
    };
    push(TileKind::Entries, size, 0);
    for level in 0u8.. {
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        let hashes = if shift < 64 { size >> shift } else { 0 };
        if hashes == 0 {
            break;
        }
        push(TileKind::Hashes { level }, hashes, level);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(size: u64) -> Vec<String> {
        tiles_covering(size).iter().map(Tile::path).collect()
    }

    #[test]
    fn tiles_of_small_trees() {
        assert!(paths(0).is_empty());
        assert_eq!(paths(1), ["tile/entries/000.p/1", "tile/0/000.p/1"]);
        assert_eq!(
            paths(300),
            [
                "tile/entries/000",
                "tile/entries/001.p/44",
                "tile/0/000",
                "tile/0/001.p/44",
                "tile/1/000.p/1",
            ]
        );
        assert_eq!(
            paths(256 * 256),
            (0..256)
                .map(|i| format!("tile/entries/{i:03}"))
                .chain((0..256).map(|i| format!("tile/0/{i:03}")))
                .chain(["tile/1/000".to_string(), "tile/2/000.p/1".to_string()])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn only_schema_identifiers_are_rid_object_names() {
        for rid in ["county-1-r1", "A.b_c-9", &"x".repeat(128)] {
            assert!(is_safe_rid(rid), "{rid}");
        }
        for rid in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a\\b",
            "-a",
            ".hidden",
            "a\nb",
            "a\u{7f}",
            "a%2Fb",
            "名字",
            &"x".repeat(129),
        ] {
            assert!(!is_safe_rid(rid), "{rid:?}");
        }
    }

    #[test]
    fn rid_objects_and_the_marker_are_exact() {
        assert_eq!(
            rid_json(7, &Hash([0xab; 32])),
            format!(r#"{{"index":7,"leaf":"{}"}}"#, "ab".repeat(32))
        );
        let marker: serde_json::Value = serde_json::from_str(MARKER_JSON).expect("JSON");
        assert_eq!(
            marker,
            serde_json::json!({"format": "daylight-static", "version": 1})
        );
    }

    #[test]
    fn every_tile_is_within_its_tree() {
        for size in [1, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 1 << 20] {
            for tile in tiles_covering(size) {
                assert!(tile.min_tree_size().is_some_and(|m| m <= size), "{tile:?}");
                assert_eq!(Tile::parse(&tile.path()).ok(), Some(tile));
            }
        }
    }
}
