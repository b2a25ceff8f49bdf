//! Replaying a whole log over HTTP, from a node or a static copy (the same tile paths),
//! trusting nothing but the genesis: the log's checkpoint
//! must carry its quorum of cosignatures, then every entry bundle (tlog-tiles) is fetched,
//! several at a time, each entry is hashed into the tree in order, and the tree's root must
//! equal the checkpoint's. One wrong byte in any tile changes the root, so this checks every
//! tile against the checkpoint. Entries go to the caller in order, as they are verified by
//! position, so a whole log never has to sit in memory.

use daylight_genesis::Genesis;
use daylight_verifier::merkle::{Frontier, leaf_hash};
use daylight_verifier::policy::TrustedCheckpoint;
use daylight_verifier::tile::{TILE_WIDTH, Tile, TileKind, read_bundle};

use crate::check::trusted_checkpoint;
use crate::error::{CliError, failed};
use crate::source::Source;

/// Entry bundles fetched at once, in parallel, before their entries are handed on.
const TILES_PER_ROUND: u64 = 64;
/// Parallel HTTP requests.
const FETCHERS: u64 = 4;

/// A log replayed and checked against its trusted checkpoint.
pub struct Replayed {
    /// The checkpoint the entries were checked against.
    pub checkpoint: TrustedCheckpoint,
}

/// A run of entries [`replay`] hands on, in log order.
pub struct Run<'a> {
    /// The index of the first entry.
    pub first: u64,
    /// The entries' bytes.
    pub entries: &'a [&'a [u8]],
    /// How many entries the whole replay hands on (the checkpoint's size), so that a taker
    /// can make room for all of them at once instead of growing as they come.
    pub log_size: u64,
}

/// Replays the log of `member` from `client` (a node or a static copy): checks its checkpoint
/// under the genesis policy, then hands each run of verified-by-position entries to `take`
/// in order, and finally checks the root. `progress` shows the entries handed on.
///
/// Entries are handed on before the final root check; the caller must discard what it built
/// if this returns an error.
pub fn replay(
    client: &Source,
    genesis: &Genesis,
    member: &str,
    progress: &indicatif::ProgressBar,
    mut take: impl FnMut(Run<'_>) -> Result<(), CliError>,
) -> Result<Replayed, CliError> {
    let checkpoint = trusted_checkpoint(client, genesis, member)?
        .map_err(|reason| failed(format!("log {member}: {reason}")))?;
    let size = checkpoint.checkpoint.size;
    progress.set_length(size);
    progress.set_message(member.to_string());
    let tiles = size.div_ceil(TILE_WIDTH);
    let mut frontier = Frontier::empty();
    let mut scratch = Vec::new();
    let mut first = 0;
    while first < tiles {
        let last = tiles.min(first + TILES_PER_ROUND);
        let bundles = fetch_round(client, member, first..last, size)?;
        for (offset, bundle) in bundles.iter().enumerate() {
            let tile = first + offset as u64;
            let entries = read_bundle(bundle).map_err(|e| {
                failed(format!("log {member}: entry tile {tile} is malformed: {e}"))
            })?;
            let expected = tile_width(tile, size);
            if entries.len() as u64 != expected {
                return Err(failed(format!(
                    "log {member}: entry tile {tile} holds {} entries, the checkpoint of size \
                     {size} implies {expected}",
                    entries.len()
                )));
            }
            for entry in &entries {
                frontier.append(leaf_hash(entry), &mut scratch);
                scratch.clear();
            }
            take(Run {
                first: tile * TILE_WIDTH,
                entries: &entries,
                log_size: size,
            })?;
            progress.inc(entries.len() as u64);
        }
        first = last;
    }
    let root = frontier.root();
    if root != checkpoint.checkpoint.root {
        // A static copy also has hash tiles to tell which bundle is the damaged one.
        let which = client
            .explain_damage(member)
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        return Err(failed(format!(
            "log {member}: the {size} entries served build the root {root}, but the cosigned \
             checkpoint says {}: {} served altered or reordered entries{which}",
            checkpoint.checkpoint.root,
            client
                .describe()
                .unwrap_or_else(|_| client.base().to_string())
        )));
    }
    Ok(Replayed { checkpoint })
}

/// How many entries tile `tile` holds in a tree of `size` leaves.
fn tile_width(tile: u64, size: u64) -> u64 {
    (size - tile * TILE_WIDTH).min(TILE_WIDTH)
}

/// Fetches the entry bundles `tiles` of a log of `size` leaves, `FETCHERS` at a time.
fn fetch_round(
    client: &Source,
    member: &str,
    tiles: std::ops::Range<u64>,
    size: u64,
) -> Result<Vec<Vec<u8>>, CliError> {
    let count = (tiles.end - tiles.start) as usize;
    let mut slots: Vec<Option<Result<Vec<u8>, CliError>>> = (0..count).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..FETCHERS)
            .map(|worker| {
                let tiles = tiles.clone();
                scope.spawn(move || {
                    tiles
                        .skip(worker as usize)
                        .step_by(FETCHERS as usize)
                        .map(|tile| {
                            let body = client.tile(
                                member,
                                &Tile {
                                    kind: TileKind::Entries,
                                    index: tile,
                                    width: tile_width(tile, size),
                                },
                            );
                            (tile, body)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            let fetched = handle.join().unwrap_or_default();
            for (tile, body) in fetched {
                slots[(tile - tiles.start) as usize] = Some(body);
            }
        }
    });
    slots
        .into_iter()
        .map(|slot| slot.unwrap_or_else(|| Err(failed("a tile fetcher stopped unexpectedly"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_widths_cover_the_tree_exactly() {
        for size in [1u64, 255, 256, 257, 512, 1_000_000] {
            let tiles = size.div_ceil(TILE_WIDTH);
            let total: u64 = (0..tiles).map(|t| tile_width(t, size)).sum();
            assert_eq!(total, size);
            assert!((0..tiles).all(|t| (1..=TILE_WIDTH).contains(&tile_width(t, size))));
        }
    }
}
