//! Static publication (DESIGN §5.6): every held log copied, as C2SP tlog-tiles, to a directory
//! that any web server (nginx) serves, to an S3-compatible bucket (Garage, or any S3 service),
//! or to both. Each destination is a [`StaticTarget`]: an [`ObjectStore`] and a prefix in it.
//!
//! The layout is exactly the node's own read path, under the prefix, plus two kinds of small
//! immutable objects that let a client use the copy without a node:
//!
//! ```text
//! <prefix>/daylight-static.json                    {"format":"daylight-static","version":1}
//! <prefix>/log/<member>/checkpoint                  the cosigned note, as /log/<member>/checkpoint
//! <prefix>/log/<member>/tile/<L>/<N>[.p/<W>]        hash tiles
//! <prefix>/log/<member>/tile/entries/<N>[.p/<W>]    entry bundles
//! <prefix>/log/<member>/rid/<rid>                   {"index":N,"leaf":"<64 hex>"} per record
//! ```
//!
//! so a tlog-tiles client (the Go reference, our CLI, the portal) reads the copy exactly as it
//! reads a node, and finds a record by its rid (the index to ask the tiles for, and the leaf
//! hash the entry must have) without a node's record index. `daylight-static.json` marks the
//! root of a copy; the CLI depends on this layout.
//!
//! # Invariants
//!
//! These are kept by `StaticPublisher::publish_to`, the only code that writes log objects:
//!
//! * **Tiles before their checkpoint.** Every hash tile, entry bundle and `rid/` object that a
//!   checkpoint covers is written, and has returned as written, before that checkpoint object
//!   is. The directory backend writes each object to a staging file and renames (or links) it
//!   into place with `fsync` of the file and of every directory it changed, so a tile is whole
//!   and durable before the checkpoint that needs it exists; an S3 PUT is whole and durable
//!   when it returns. A reader that sees a checkpoint of size `N` therefore finds every tile of
//!   the tree of size `N`, and the `rid/` object of every record among its first `N` entries.
//! * **Tiles are immutable.** A tile object is only ever created, never overwritten: a full
//!   tile at its full path once, a partial tile under its own partial path (`.p/W`) once; a
//!   later, wider partial or the full tile is a different object. The same holds for `rid/`
//!   objects and `daylight-static.json`. In a directory, creation is atomic
//!   ([`PutMode::Create`] links the staged file into place, failing if the name exists). S3
//!   services differ: Garage (2.x) ignores `If-None-Match` on PUT, so on a bucket every create
//!   first asks (`head`) whether the object exists and writes only if it does not, and also
//!   sends `If-None-Match: *` (unless `conditional_put = false`) so that services that honour
//!   it close the remaining race. A race lost between the `head` and the PUT — two publishers
//!   of the same log — rewrites identical bytes: a tile's content is fixed by its position in
//!   the log, and a rid's by the log.
//! * **Only the checkpoint is overwritten**, each time the log (or its set of cosignatures)
//!   moves on.
//! * **Never publish damage.** Every byte is read from storage and checked with the same
//!   integrity checks the HTTP API applies before it serves it ([`Integrity::check_note`],
//!   [`Integrity::check_hash_tile`], [`Integrity::check_entries`]), against the signed root of
//!   the checkpoint about to be published. Damage is reported (health, metrics, repair) and
//!   that log's checkpoint is not advanced until a later pass succeeds.
//!
//! What was published is remembered per destination and log in memory; after a restart the
//! first pass of each log asks the store (`head`) whether a tile exists and skips those that
//! do, and reads the published checkpoint to learn from which entry on `rid/` objects are
//! missing (see `StaticPublisher::rids_published`).
//!
//! On a bucket, the checkpoint object gets a short `Cache-Control` and every other object a
//! year-long, immutable one, so a CDN in front of the bucket's website endpoint caches them
//! correctly; a directory's web server sets those headers itself (docs/static-publication.md).
//!
//! Storage reads and checks are blocking and run on the blocking pool (`spawn_blocking`),
//! never on the async workers.
//!
//! * [`layout`] — object names and contents, and the tiles a tree is published as;
//! * [`target`] — the destinations (directory, bucket) and how each creates objects;
//! * this module — [`StaticPublisher`]: what to publish, checked, in the invariants' order.

use std::collections::HashSet;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use daylight_verifier::hash::Hash;
use daylight_verifier::merkle::HashReader as _;
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::tile::{TILE_WIDTH, Tile, TileKind, push_bundle_entry};
use futures::{StreamExt as _, TryStreamExt as _};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutPayload};

pub mod layout;
pub mod target;

pub use layout::{
    CHECKPOINT_CACHE_CONTROL, IMMUTABLE_CACHE_CONTROL, MARKER, MARKER_JSON, is_safe_rid, rid_json,
    tiles_covering,
};
pub use target::{S3Bucket, StaticTarget};

use layout::object_path;
use target::{ObjectKind, exists};

use crate::held::HeldLog;
use crate::integrity::{Damage, Integrity, SignedRoot};
use crate::store::{StorageError, Store};

/// How many `rid/` objects are written at once (each is one small PUT).
const RID_WRITES_AT_ONCE: usize = 16;

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
    /// A destination was configured wrongly (a bad prefix, endpoint or directory).
    #[error("{0}")]
    Config(String),
    /// A blocking task failed.
    #[error("internal error: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// What has been published of one log to one destination.
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
    /// Entries below this index have their `rid/` objects; `None` until learnt (after a
    /// restart, from the published checkpoint).
    rids_through: Option<u64>,
}

/// One destination and what has been published to it.
struct Destination {
    target: StaticTarget,
    /// Whether [`MARKER`] is known to be there.
    marked: bool,
    /// Per log, in the order of [`StaticPublisher::logs`].
    progress: Vec<Progress>,
}

/// The outcome of one pass over every log.
#[derive(Debug, Default)]
pub struct PassReport {
    /// Logs whose copy is at this checkpoint size (unchanged or newly published), with the
    /// destination (by name) when there is more than one.
    pub published: Vec<(String, u64)>,
    /// Logs with no checkpoint yet (nothing to publish).
    pub empty: Vec<String>,
    /// Logs that failed this pass, with why (and where, when there is more than one
    /// destination).
    pub failed: Vec<(String, PublishError)>,
}

/// Publishes every held log to one or more [`StaticTarget`]s, keeping the invariants in the
/// module documentation. Each destination keeps its own progress, so one that is down (a
/// bucket out of reach) does not hold back another (a directory).
pub struct StaticPublisher {
    store: Arc<Store>,
    integrity: Arc<Integrity>,
    logs: Vec<HeldLog>,
    destinations: Vec<Destination>,
    /// The node's held logs, when the publisher follows them: logs a new genesis version
    /// adds are published from the next pass on.
    follow: Option<Arc<crate::held::HeldLogs>>,
}

impl StaticPublisher {
    /// This publisher, also publishing every log `held` gains later (a member added by a new
    /// genesis version), from the pass after it is added.
    pub fn following(mut self, held: Arc<crate::held::HeldLogs>) -> StaticPublisher {
        self.follow = Some(held);
        self
    }

    /// Adds the logs the followed list holds and this publisher does not yet.
    fn adopt_new_logs(&mut self) {
        let Some(held) = self.follow.clone() else {
            return;
        };
        for log in held.iter() {
            if self.logs.iter().all(|l| l.number != log.number) {
                self.logs.push(log.clone());
                for destination in &mut self.destinations {
                    destination.progress.push(Progress::default());
                }
            }
        }
    }

    /// A publisher writing every log in `logs` to every destination in `targets`.
    pub fn new(
        store: Arc<Store>,
        integrity: Arc<Integrity>,
        targets: Vec<StaticTarget>,
        logs: Vec<HeldLog>,
    ) -> StaticPublisher {
        let destinations = targets
            .into_iter()
            .map(|target| Destination {
                target,
                marked: false,
                progress: logs.iter().map(|_| Progress::default()).collect(),
            })
            .collect();
        StaticPublisher {
            store,
            integrity,
            logs,
            destinations,
            follow: None,
        }
    }

    /// A publisher writing to the directory `dir` (created if absent), with every write made
    /// durable (`fsync` of files and directories) before it returns.
    pub fn to_directory(
        store: Arc<Store>,
        integrity: Arc<Integrity>,
        dir: &FsPath,
        logs: Vec<HeldLog>,
    ) -> Result<StaticPublisher, PublishError> {
        let target = StaticTarget::directory(dir)?;
        Ok(StaticPublisher::new(store, integrity, vec![target], logs))
    }

    /// A publisher writing to an S3-compatible bucket ([`StaticTarget::bucket`]).
    pub fn to_bucket(
        store: Arc<Store>,
        integrity: Arc<Integrity>,
        bucket: &S3Bucket,
        logs: Vec<HeldLog>,
    ) -> Result<StaticPublisher, PublishError> {
        let target = StaticTarget::bucket(bucket)?;
        Ok(StaticPublisher::new(store, integrity, vec![target], logs))
    }

    /// Runs passes every `interval` until `stop` is cancelled.
    ///
    /// A stop may cut a pass short between two writes. That keeps every invariant: the
    /// checkpoint is written last, so a cut pass leaves at most tiles and `rid/` objects that
    /// no published checkpoint covers yet, which the next run finds and keeps.
    pub async fn run(mut self, interval: Duration, stop: crate::shutdown::Shutdown) {
        loop {
            self.adopt_new_logs();
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

    /// One pass: publishes the latest checkpoint of every log (and every object it covers)
    /// that changed since the last pass, to every destination. A log or destination that
    /// fails does not stop the others.
    pub async fn publish_all(&mut self) -> PassReport {
        let mut report = PassReport::default();
        let several = self.destinations.len() > 1;
        let label = |member: &str, target: &StaticTarget| {
            if several {
                format!("{member} (to {})", target.name())
            } else {
                member.to_string()
            }
        };
        let mut unmarked = Vec::new();
        for d in &mut self.destinations {
            if !d.marked {
                let location = d.target.prefix.clone().join(MARKER);
                match d
                    .target
                    .create(&location, MARKER_JSON.as_bytes().to_vec(), ObjectKind::Json)
                    .await
                {
                    Ok(()) => d.marked = true,
                    Err(e) => unmarked.push((d.target.name().to_string(), e)),
                }
            }
        }
        for (name, error) in unmarked {
            report
                .failed
                .push((format!("(every log) to {name}"), error));
        }
        for i in 0..self.logs.len() {
            let member = self.logs[i].member.clone();
            let head = match self.head(i).await {
                Ok(Some(head)) => head,
                Ok(None) => {
                    report.empty.push(member);
                    continue;
                }
                Err(e) => {
                    report.failed.push((member, e));
                    continue;
                }
            };
            for d in 0..self.destinations.len() {
                if !self.destinations[d].marked {
                    continue;
                }
                let name = label(&member, &self.destinations[d].target);
                match self.publish_to(d, i, &head.0, head.1).await {
                    Ok(()) => report.published.push((name, head.1.size)),
                    Err(e) => report.failed.push((name, e)),
                }
            }
        }
        report
    }

    /// Log `i`'s latest checkpoint note exactly as the HTTP API serves it (with the
    /// cosignatures collected) and its signed root, against which every tile is checked;
    /// `None` when the log has no checkpoint yet.
    async fn head(&self, i: usize) -> Result<Option<(Arc<str>, SignedRoot)>, PublishError> {
        let number = self.logs[i].number;
        let (store, integrity) = (self.store.clone(), self.integrity.clone());
        tokio::task::spawn_blocking(move || {
            let Some((_, note)) = store.latest_checkpoint(number)? else {
                return Ok(None);
            };
            let note: Arc<str> = Arc::from(crate::mirror::with_cosignatures(&store, number, &note));
            let root = integrity.check_note(number, &note)?;
            Ok(Some((note, root)))
        })
        .await?
    }

    /// Publishes log `i` at checkpoint `note` (of `root`) to destination `d`: every tile and
    /// `rid/` object it covers, then the checkpoint.
    async fn publish_to(
        &mut self,
        d: usize,
        i: usize,
        note: &Arc<str>,
        root: SignedRoot,
    ) -> Result<(), PublishError> {
        let number = self.logs[i].number;
        if self.destinations[d].progress[i].checkpoint.as_ref() == Some(note) {
            return Ok(());
        }
        let base = self.destinations[d]
            .target
            .prefix
            .clone()
            .join("log")
            .join(self.logs[i].member.as_str());
        // INVARIANT (tiles before their checkpoint): every tile of the tree of `root.size` is
        // created below before the checkpoint object is written at the end.
        for tile in tiles_covering(root.size) {
            let dest = &mut self.destinations[d];
            let progress = &mut dest.progress[i];
            if progress.tiles.contains(&tile) {
                continue;
            }
            let location = object_path(&base, &tile.path());
            // A destination that looks before every create needs no lookup here.
            if dest.target.creates_atomically()
                && !progress.looked_up
                && exists(dest.target.objects.as_ref(), &location).await?
            {
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
            let dest = &mut self.destinations[d];
            dest.target
                .create(&location, bytes, ObjectKind::Tile)
                .await?;
            dest.progress[i].tiles.insert(tile);
        }
        self.destinations[d].progress[i].looked_up = true;
        // INVARIANT (tiles before their checkpoint): the rid objects of every entry it covers.
        let from = match self.destinations[d].progress[i].rids_through {
            Some(from) => from,
            None => self.rids_published(d, i, &base, root).await?,
        };
        self.publish_rids(d, i, &base, from, root).await?;
        let dest = &mut self.destinations[d];
        dest.progress[i].rids_through = Some(root.size);
        // INVARIANT (only the checkpoint is overwritten).
        dest.target
            .objects
            .put_opts(
                &base.clone().join("checkpoint"),
                PutPayload::from(note.as_bytes().to_vec()),
                dest.target
                    .options(PutMode::Overwrite, ObjectKind::Checkpoint),
            )
            .await?;
        let progress = &mut dest.progress[i];
        progress.checkpoint = Some(note.clone());
        // Partial tiles below a full one are never needed again.
        let tiles = &mut progress.tiles;
        let full: HashSet<(TileKind, u64)> = tiles
            .iter()
            .filter(|t| t.width == TILE_WIDTH)
            .map(|t| (t.kind, t.index))
            .collect();
        tiles.retain(|t| t.width == TILE_WIDTH || !full.contains(&(t.kind, t.index)));
        Ok(())
    }

    /// After a restart: the number of entries of log `i` whose `rid/` objects destination `d`
    /// already has. Every entry the published checkpoint covers has one (they are written
    /// before it), unless that checkpoint was written by a publisher that did not write
    /// `rid/` objects yet; the `rid/` object of the last entry it covers tells which. When in
    /// doubt: 0 (every `rid/` object is then created again if absent, which is safe).
    async fn rids_published(
        &self,
        d: usize,
        i: usize,
        base: &Path,
        root: SignedRoot,
    ) -> Result<u64, PublishError> {
        let objects = self.destinations[d].target.objects.clone();
        let published = match objects.get(&base.clone().join("checkpoint")).await {
            Ok(object) => object.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let size = std::str::from_utf8(&published)
            .ok()
            .and_then(|note| note.lines().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0);
        if size == 0 || size > root.size {
            return Ok(0);
        }
        let (store, integrity, number) = (
            self.store.clone(),
            self.integrity.clone(),
            self.logs[i].number,
        );
        let last = tokio::task::spawn_blocking(move || {
            checked_rids(&store, &integrity, number, size - 1..size, root)
        })
        .await??;
        match last.first() {
            Some(entry)
                if exists(
                    objects.as_ref(),
                    &base.clone().join("rid").join(entry.rid.as_str()),
                )
                .await? =>
            {
                Ok(size)
            }
            _ => Ok(0),
        }
    }

    /// Creates the `rid/` objects of log `i`'s entries `from..root.size` in destination `d`,
    /// reading and checking the entries a bundle at a time.
    async fn publish_rids(
        &self,
        d: usize,
        i: usize,
        base: &Path,
        from: u64,
        root: SignedRoot,
    ) -> Result<(), PublishError> {
        let target = &self.destinations[d].target;
        let number = self.logs[i].number;
        let mut start = from - from % TILE_WIDTH;
        while start < root.size {
            let end = (start + TILE_WIDTH).min(root.size);
            let (store, integrity) = (self.store.clone(), self.integrity.clone());
            let rids = tokio::task::spawn_blocking(move || {
                checked_rids(&store, &integrity, number, start..end, root)
            })
            .await??;
            futures::stream::iter(rids.into_iter().filter(|entry| entry.index >= from).map(
                |entry| {
                    let location = base.clone().join("rid").join(entry.rid.as_str());
                    let json = rid_json(entry.index, &entry.leaf);
                    async move {
                        target
                            .create(&location, json.into_bytes(), ObjectKind::Json)
                            .await
                    }
                },
            ))
            .buffer_unordered(RID_WRITES_AT_ONCE)
            .try_collect::<Vec<()>>()
            .await?;
            start = end;
        }
        Ok(())
    }
}

/// An entry's rid, position and leaf hash: what its `rid/` object says.
struct RidEntry {
    rid: String,
    index: u64,
    leaf: Hash,
}

/// The rid (when it has a safe one), index and leaf hash of each entry in `range` of log
/// `number`, read from storage and checked against `root` as the HTTP API checks entries.
fn checked_rids(
    store: &Store,
    integrity: &Integrity,
    number: u32,
    range: std::ops::Range<u64>,
    root: SignedRoot,
) -> Result<Vec<RidEntry>, PublishError> {
    let entries = store.entries(number, range.clone())?;
    integrity.check_entries(number, range.start, &entries, range.end - range.start, root)?;
    Ok(entries
        .iter()
        .zip(range)
        .filter_map(|(entry, index)| {
            let rid = rid_of(entry)?;
            if !is_safe_rid(&rid) {
                tracing::warn!(
                    "entry {index} of log {number} has a rid that is not a safe object name \
                     ({rid:?}); it gets no rid/ object in the static copy"
                );
                return None;
            }
            Some(RidEntry {
                rid,
                index,
                leaf: leaf_hash(entry),
            })
        })
        .collect())
}

/// The `rid` of an entry (a record's JSON), if it has one.
fn rid_of(entry: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct WithRid {
        rid: Option<String>,
    }
    serde_json::from_slice::<WithRid>(entry).ok()?.rid
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

    #[test]
    fn an_entrys_rid_is_read_when_it_has_one() {
        assert_eq!(
            rid_of(br#"{"v":1,"rid":"county-1-r1"}"#).as_deref(),
            Some("county-1-r1")
        );
        assert_eq!(rid_of(br#"{"v":1}"#), None);
        assert_eq!(rid_of(br#"{"rid":7}"#), None);
        assert_eq!(rid_of(b"not json"), None);
    }
}
