//! Static publication (DESIGN §5.6): every held log copied, as C2SP tlog-tiles, to a directory
//! that any web server (nginx) serves, or to any other [`ObjectStore`] (an S3-compatible bucket
//! is the same code with another backend).
//!
//! The layout is exactly the node's own read path, under a prefix:
//!
//! ```text
//! <prefix>/log/<member>/checkpoint                  the cosigned note, as /log/<member>/checkpoint
//! <prefix>/log/<member>/tile/<L>/<N>[.p/<W>]        hash tiles
//! <prefix>/log/<member>/tile/entries/<N>[.p/<W>]    entry bundles
//! ```
//!
//! so a tlog-tiles client (the Go reference, our CLI, the portal) reads the copy exactly as it
//! reads a node.
//!
//! # Invariants
//!
//! These are kept by [`StaticPublisher::publish_log`], the only code that writes objects:
//!
//! * **Tiles before their checkpoint.** Every hash tile and entry bundle that a checkpoint
//!   covers is written, and has returned as written, before that checkpoint object is. The
//!   directory backend writes each object to a staging file and renames (or links) it into
//!   place with `fsync` of the file and of every directory it changed, so a tile is whole and
//!   durable before the checkpoint that needs it exists. A reader that sees a checkpoint of
//!   size `N` therefore finds every tile of the tree of size `N`.
//! * **Tiles are immutable.** A tile object is only ever created, never overwritten: a full
//!   tile at its full path once, a partial tile under its own partial path (`.p/W`) once; a
//!   later, wider partial or the full tile is a different object. Writes use
//!   [`PutMode::Create`], so even a second publisher cannot replace a tile.
//! * **Only the checkpoint is overwritten**, each time the log (or its set of cosignatures)
//!   moves on.
//! * **Never publish damage.** Every byte is read from storage and checked with the same
//!   integrity checks the HTTP API applies before it serves it ([`Integrity::check_note`],
//!   [`Integrity::check_hash_tile`], [`Integrity::check_entries`]), against the signed root of
//!   the checkpoint about to be published. Damage is reported (health, metrics, repair) and
//!   that log's checkpoint is not advanced until a later pass succeeds.
//!
//! What was published is remembered per log in memory; after a restart the first pass of each
//! log asks the store (`head`) whether a tile exists and skips those that do.
//!
//! Storage reads and checks are blocking and run on the blocking pool (`spawn_blocking`),
//! never on the async workers.

use std::collections::HashSet;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use daylight_verifier::merkle::HashReader as _;
use daylight_verifier::tile::{
    TILE_HEIGHT, TILE_WIDTH, Tile, TileKind, partial_width, push_bundle_entry,
};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload};

use crate::integrity::{Damage, Integrity, SignedRoot};
use crate::storage::{StorageError, Store};

/// Why a log could not be published (this pass; the next pass tries again).
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Reading the database failed.
    #[error("cannot read the database: {0}")]
    Storage(#[from] StorageError),
    /// What would be published failed an integrity check; nothing of it was written.
    #[error(transparent)]
    Damage(#[from] Damage),
    /// The object store refused a write or a lookup.
    #[error("cannot write the static copy: {0}")]
    Store(#[from] object_store::Error),
    /// A tile could not be encoded (an entry too large for a bundle).
    #[error("cannot encode {0}")]
    Encode(String),
    /// A blocking task failed.
    #[error("internal error: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// One log to publish: its member id (the `log/<member>` path) and storage number.
#[derive(Clone, Debug)]
pub struct StaticLog {
    /// The member whose log this is.
    pub member: String,
    /// The log's number in storage (the one [`Integrity`] knows it by).
    pub number: u32,
}

/// What has been published of one log.
#[derive(Default)]
struct Progress {
    /// The checkpoint note last published.
    checkpoint: Option<Arc<str>>,
    /// Tiles known to exist in the copy. Full tiles stay; a partial one is dropped once its
    /// full tile is known (it is never looked at again).
    tiles: HashSet<Tile>,
    /// Whether existing objects have been looked up (`head`) since this process started; until
    /// then a tile not in `tiles` may still be in the copy from an earlier run.
    looked_up: bool,
}

/// The outcome of one pass over every log.
#[derive(Debug, Default)]
pub struct PassReport {
    /// Logs whose copy is at this checkpoint size (unchanged or newly published).
    pub published: Vec<(String, u64)>,
    /// Logs with no checkpoint yet (nothing to publish).
    pub empty: Vec<String>,
    /// Logs that failed this pass, with why.
    pub failed: Vec<(String, PublishError)>,
}

/// Publishes every held log to an [`ObjectStore`] under a prefix, keeping the invariants in
/// the module documentation.
pub struct StaticPublisher {
    store: Arc<Store>,
    integrity: Arc<Integrity>,
    objects: Arc<dyn ObjectStore>,
    prefix: Path,
    logs: Vec<(StaticLog, Progress)>,
}

impl StaticPublisher {
    /// A publisher writing to `objects` under `prefix` (empty for the store's root).
    pub fn new(
        store: Arc<Store>,
        integrity: Arc<Integrity>,
        objects: Arc<dyn ObjectStore>,
        prefix: Path,
        logs: Vec<StaticLog>,
    ) -> StaticPublisher {
        StaticPublisher {
            store,
            integrity,
            objects,
            prefix,
            logs: logs.into_iter().map(|l| (l, Progress::default())).collect(),
        }
    }

    /// A publisher writing to the directory `dir` (created if absent), with every write made
    /// durable (`fsync` of files and directories) before it returns.
    pub fn to_directory(
        store: Arc<Store>,
        integrity: Arc<Integrity>,
        dir: &FsPath,
        logs: Vec<StaticLog>,
    ) -> Result<StaticPublisher, PublishError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            PublishError::Store(object_store::Error::Generic {
                store: "LocalFileSystem",
                source: format!("cannot create {}: {e}", dir.display()).into(),
            })
        })?;
        let local = object_store::local::LocalFileSystem::new_with_prefix(dir)?.with_fsync(true);
        Ok(StaticPublisher::new(
            store,
            integrity,
            Arc::new(local),
            Path::default(),
            logs,
        ))
    }

    /// Runs passes every `interval` until `stop` is cancelled.
    ///
    /// A stop may cut a pass short between two writes. That keeps every invariant: the
    /// checkpoint is written last, so a cut pass leaves at most tiles that no published
    /// checkpoint covers yet, which the next run finds (`head`) and keeps.
    pub async fn run(mut self, interval: Duration, stop: crate::shutdown::Shutdown) {
        loop {
            let report = tokio::select! {
                _ = stop.cancelled() => return,
                report = self.publish_all() => report,
            };
            for (member, error) in &report.failed {
                tracing::warn!("static copy of log {member}: {error}; trying again later");
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// One pass: publishes the latest checkpoint of every log (and every tile it covers) that
    /// changed since the last pass. A log that fails does not stop the others.
    pub async fn publish_all(&mut self) -> PassReport {
        let mut report = PassReport::default();
        for i in 0..self.logs.len() {
            let member = self.logs[i].0.member.clone();
            match self.publish_log(i).await {
                Ok(Some(size)) => report.published.push((member, size)),
                Ok(None) => report.empty.push(member),
                Err(e) => report.failed.push((member, e)),
            }
        }
        report
    }

    /// Publishes log `i`'s latest checkpoint after every tile it covers; its size, or `None`
    /// when the log has no checkpoint yet.
    async fn publish_log(&mut self, i: usize) -> Result<Option<u64>, PublishError> {
        let number = self.logs[i].0.number;
        let (store, integrity) = (self.store.clone(), self.integrity.clone());
        // The note exactly as the HTTP API serves it (with the cosignatures collected), and
        // its signed root: what every tile is checked against.
        let head = tokio::task::spawn_blocking(move || {
            let Some((_, note)) = store.latest_checkpoint(number)? else {
                return Ok::<_, PublishError>(None);
            };
            let note: Arc<str> =
                Arc::from(crate::replication::with_cosignatures(&store, number, &note));
            let root = integrity.check_note(number, &note)?;
            Ok(Some((note, root)))
        })
        .await??;
        let Some((note, root)) = head else {
            return Ok(None);
        };
        let (log, progress) = &mut self.logs[i];
        if progress.checkpoint.as_ref() == Some(&note) {
            return Ok(Some(root.size));
        }
        let base = self.prefix.clone().join("log").join(log.member.as_str());
        let put_tile = PutOptions::from(PutMode::Create);
        // INVARIANT (tiles before their checkpoint): every tile of the tree of `root.size` is
        // created below before the checkpoint object is written at the end.
        for tile in tiles_covering(root.size) {
            if progress.tiles.contains(&tile) {
                continue;
            }
            let location = object_path(&base, &tile.path());
            if !progress.looked_up && exists(self.objects.as_ref(), &location).await? {
                progress.tiles.insert(tile);
                continue;
            }
            // INVARIANT (never publish damage): read and checked as the HTTP API does.
            let (store, integrity) = (self.store.clone(), self.integrity.clone());
            let bytes = tokio::task::spawn_blocking(move || {
                checked_tile(&store, &integrity, number, tile, root)
            })
            .await??;
            // INVARIANT (tiles are immutable): created, never overwritten. One already there
            // (a previous run, or another publisher of the same log) holds the same bytes.
            match self
                .objects
                .put_opts(&location, PutPayload::from(bytes), put_tile.clone())
                .await
            {
                Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            progress.tiles.insert(tile);
        }
        progress.looked_up = true;
        // INVARIANT (only the checkpoint is overwritten).
        self.objects
            .put(
                &base.clone().join("checkpoint"),
                PutPayload::from(note.as_bytes().to_vec()),
            )
            .await?;
        progress.checkpoint = Some(note);
        // Partial tiles below a full one are never needed again.
        let tiles = &mut progress.tiles;
        let full: HashSet<(TileKind, u64)> = tiles
            .iter()
            .filter(|t| t.width == TILE_WIDTH)
            .map(|t| (t.kind, t.index))
            .collect();
        tiles.retain(|t| t.width == TILE_WIDTH || !full.contains(&(t.kind, t.index)));
        Ok(Some(root.size))
    }
}

/// Whether an object exists.
async fn exists(objects: &dyn ObjectStore, location: &Path) -> Result<bool, PublishError> {
    match objects.head(location).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// `base` joined with a tile path's `/`-separated parts.
fn object_path(base: &Path, tile_path: &str) -> Path {
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

/// The bytes of `tile` of log `number`, read from storage and checked against `root` exactly
/// as the HTTP API checks them before serving.
fn checked_tile(
    store: &Store,
    integrity: &Integrity,
    number: u32,
    tile: Tile,
    root: SignedRoot,
) -> Result<Vec<u8>, PublishError> {
    match tile.kind {
        TileKind::Hashes { level } => {
            let ids: Vec<_> = tile.node_ids().into_iter().flatten().collect();
            let hashes = store.hash_reader(number).read_hashes(&ids).map_err(|e| {
                integrity.report(
                    number,
                    (0, root.size),
                    format!("hash tile {} ({e})", tile.path()),
                )
            })?;
            integrity.check_hash_tile(number, level, tile.index, &hashes, root)?;
            Ok(hashes.iter().flat_map(|h| h.0).collect())
        }
        TileKind::Entries => {
            let range = tile
                .entry_range()
                .ok_or_else(|| PublishError::Encode(tile.path()))?;
            let entries = store.entries(number, range.clone())?;
            integrity.check_entries(
                number,
                range.start,
                &entries,
                range.end - range.start,
                root,
            )?;
            let mut bundle = Vec::new();
            for entry in &entries {
                push_bundle_entry(&mut bundle, entry)
                    .map_err(|e| PublishError::Encode(format!("{}: {e}", tile.path())))?;
            }
            Ok(bundle)
        }
    }
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
    fn every_tile_is_within_its_tree() {
        for size in [1, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 1 << 20] {
            for tile in tiles_covering(size) {
                assert!(tile.min_tree_size().is_some_and(|m| m <= size), "{tile:?}");
                assert_eq!(Tile::parse(&tile.path()).ok(), Some(tile));
            }
        }
    }
}
