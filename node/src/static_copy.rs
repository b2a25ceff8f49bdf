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

use std::collections::HashSet;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use daylight_verifier::hash::Hash;
use daylight_verifier::merkle::HashReader as _;
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::tile::{
    TILE_HEIGHT, TILE_WIDTH, Tile, TileKind, partial_width, push_bundle_entry,
};
use futures::{StreamExt as _, TryStreamExt as _};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, ObjectStore, ObjectStoreExt as _, PutMode, PutOptions,
    PutPayload,
};

use crate::held::HeldLog;
use crate::integrity::{Damage, Integrity, SignedRoot};
use crate::store::{StorageError, Store};

/// The name of the object that marks the root of a static copy.
pub const MARKER: &str = "daylight-static.json";

/// The content of [`MARKER`]: the format and its version, so a client knows what it reads.
pub const MARKER_JSON: &str = r#"{"format":"daylight-static","version":1}"#;

/// `Cache-Control` of the checkpoint object on a bucket: the only object that changes.
pub const CHECKPOINT_CACHE_CONTROL: &str = "no-cache, max-age=2";

/// `Cache-Control` of every other object on a bucket: they never change.
pub const IMMUTABLE_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

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

/// An S3-compatible bucket to publish to (the `[publish.s3]` table with its credentials
/// read), for [`StaticTarget::bucket`].
#[derive(Clone)]
pub struct S3Bucket {
    /// The service's URL, e.g. `https://s3.example.gov.cn` or `http://127.0.0.1:3900`. Plain
    /// `http://` is used only because it is written here.
    pub endpoint: String,
    /// The region the service expects in signatures (Garage: its `s3_region`).
    pub region: String,
    /// The bucket's name.
    pub bucket: String,
    /// A prefix inside the bucket (`/`-separated; empty for the bucket's root).
    pub prefix: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// Whether creates also send `If-None-Match: *` (PutMode::Create). Services that do not
    /// know the header ignore it (Garage); turn it off only for one that refuses it.
    pub conditional_put: bool,
}

impl std::fmt::Debug for S3Bucket {
    /// Everything but the secret key, which must never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Bucket")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("access_key_id", &self.access_key_id)
            .field("conditional_put", &self.conditional_put)
            .finish_non_exhaustive()
    }
}

/// How a destination creates an object that must never be overwritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Create {
    /// [`PutMode::Create`] fails on an existing object, atomically (a directory).
    Atomic,
    /// The store may overwrite despite [`PutMode::Create`] (Garage ignores `If-None-Match`):
    /// look first (`head`), then put with this mode.
    LookFirst(PutModeKind),
}

/// The put mode used after looking first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PutModeKind {
    /// `If-None-Match: *` as well.
    Create,
    /// A plain PUT (the service refuses conditional puts).
    Overwrite,
}

/// One destination of a static copy: an object store, the prefix the copy lives under, and
/// how the store creates objects and takes `Cache-Control`.
pub struct StaticTarget {
    name: String,
    objects: Arc<dyn ObjectStore>,
    prefix: Path,
    create: Create,
    attributes: bool,
}

impl std::fmt::Debug for StaticTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl StaticTarget {
    /// A destination in any object store whose [`PutMode::Create`] refuses existing objects
    /// atomically, under `prefix` (empty for its root). `name` names it in messages.
    pub fn new(name: impl Into<String>, objects: Arc<dyn ObjectStore>, prefix: Path) -> Self {
        StaticTarget {
            name: name.into(),
            objects,
            prefix,
            create: Create::Atomic,
            attributes: false,
        }
    }

    /// The directory `dir` (created if absent), with every write made durable (`fsync` of
    /// files and directories) before it returns.
    pub fn directory(dir: &FsPath) -> Result<StaticTarget, PublishError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            PublishError::Config(format!(
                "cannot create the static copy's directory {}: {e}",
                dir.display()
            ))
        })?;
        let local = object_store::local::LocalFileSystem::new_with_prefix(dir)?.with_fsync(true);
        Ok(StaticTarget::new(
            format!("directory {}", dir.display()),
            Arc::new(local),
            Path::default(),
        ))
    }

    /// An S3-compatible bucket, addressed path-style (`<endpoint>/<bucket>/<key>`, which every
    /// S3 service accepts and which needs no DNS name per bucket). Nothing is sent until the
    /// first pass.
    pub fn bucket(bucket: &S3Bucket) -> Result<StaticTarget, PublishError> {
        use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
        use object_store::{BackoffConfig, ClientOptions, RetryConfig};

        let endpoint = bucket.endpoint.trim_end_matches('/');
        let http = endpoint.starts_with("http://");
        if !http && !endpoint.starts_with("https://") {
            return Err(PublishError::Config(format!(
                "the S3 endpoint {endpoint:?} must start with https:// (or http:// for a \
                 service on a trusted network)"
            )));
        }
        let prefix = Path::parse(&bucket.prefix).map_err(|e| {
            PublishError::Config(format!(
                "the S3 prefix {:?} is not a valid object path ({e}); use names separated by \
                 single '/'",
                bucket.prefix
            ))
        })?;
        let s3 = AmazonS3Builder::new()
            // The client options first: they include `allow_http`, which a later
            // `with_client_options` would reset.
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(http)
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(60)),
            )
            .with_endpoint(endpoint)
            .with_region(&bucket.region)
            .with_bucket_name(&bucket.bucket)
            .with_access_key_id(&bucket.access_key_id)
            .with_secret_access_key(&bucket.secret_access_key)
            .with_virtual_hosted_style_request(false)
            .with_conditional_put(if bucket.conditional_put {
                S3ConditionalPut::ETagMatch
            } else {
                S3ConditionalPut::Disabled
            })
            // A pass that cannot reach the service fails within a minute and the next pass
            // tries again, rather than one pass waiting out the default three minutes.
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
            })
            .build()?;
        let kind = if bucket.conditional_put {
            PutModeKind::Create
        } else {
            PutModeKind::Overwrite
        };
        Ok(StaticTarget {
            name: format!(
                "bucket {}/{}{}{}",
                endpoint,
                bucket.bucket,
                if prefix.as_ref().is_empty() { "" } else { "/" },
                prefix
            ),
            objects: Arc::new(s3),
            prefix,
            create: Create::LookFirst(kind),
            attributes: true,
        })
    }

    /// The destination's name, for messages (`directory /srv/...`, `bucket http://...`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Options for a put of `kind`: the mode, and `Cache-Control` / `Content-Type` where the
    /// store takes them.
    fn options(&self, mode: PutMode, kind: ObjectKind) -> PutOptions {
        let mut options = PutOptions::from(mode);
        if self.attributes {
            let (content_type, cache) = match kind {
                ObjectKind::Checkpoint => ("text/plain; charset=utf-8", CHECKPOINT_CACHE_CONTROL),
                ObjectKind::Tile => ("application/octet-stream", IMMUTABLE_CACHE_CONTROL),
                ObjectKind::Json => ("application/json", IMMUTABLE_CACHE_CONTROL),
            };
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, AttributeValue::from(content_type));
            attributes.insert(Attribute::CacheControl, AttributeValue::from(cache));
            options.attributes = attributes;
        }
        options
    }

    /// Creates `location` with `bytes` unless it exists (see the module's invariants); an
    /// object already there is kept as it is.
    async fn create(
        &self,
        location: &Path,
        bytes: Vec<u8>,
        kind: ObjectKind,
    ) -> Result<(), PublishError> {
        let mode = match self.create {
            Create::Atomic => PutMode::Create,
            Create::LookFirst(mode) => {
                if exists(self.objects.as_ref(), location).await? {
                    return Ok(());
                }
                match mode {
                    PutModeKind::Create => PutMode::Create,
                    PutModeKind::Overwrite => PutMode::Overwrite,
                }
            }
        };
        match self
            .objects
            .put_opts(location, PutPayload::from(bytes), self.options(mode, kind))
            .await
        {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// What an object is, for its `Cache-Control` and `Content-Type`.
#[derive(Clone, Copy, Debug)]
enum ObjectKind {
    Checkpoint,
    Tile,
    Json,
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
                format!("{member} (to {})", target.name)
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
                    Err(e) => unmarked.push((d.target.name.clone(), e)),
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
            if dest.target.create == Create::Atomic
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
        assert_eq!(
            rid_of(br#"{"v":1,"rid":"county-1-r1"}"#).as_deref(),
            Some("county-1-r1")
        );
        assert_eq!(rid_of(br#"{"v":1}"#), None);
        assert_eq!(rid_of(br#"{"rid":7}"#), None);
        assert_eq!(rid_of(b"not json"), None);
    }

    fn bucket(endpoint: &str, prefix: &str) -> S3Bucket {
        S3Bucket {
            endpoint: endpoint.into(),
            region: "garage".into(),
            bucket: "daylight".into(),
            prefix: prefix.into(),
            access_key_id: "GK0".into(),
            secret_access_key: "secret".into(),
            conditional_put: true,
        }
    }

    #[test]
    fn bucket_targets_check_endpoint_and_prefix() {
        let target = StaticTarget::bucket(&bucket("http://127.0.0.1:3900/", "copies/a"))
            .expect("a valid bucket");
        assert_eq!(
            target.name(),
            "bucket http://127.0.0.1:3900/daylight/copies/a"
        );
        assert_eq!(target.prefix.as_ref(), "copies/a");
        assert!(target.attributes);
        assert_eq!(target.create, Create::LookFirst(PutModeKind::Create));
        let error = StaticTarget::bucket(&bucket("ftp://host", "")).expect_err("bad scheme");
        assert!(error.to_string().contains("https://"), "{error}");
        let error = StaticTarget::bucket(&bucket("https://host", "a//b")).expect_err("bad prefix");
        assert!(error.to_string().contains("prefix"), "{error}");
        // The secret never reaches a log.
        let shown = format!("{:?}", bucket("https://host", ""));
        assert!(!shown.contains("secret"), "{shown}");
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
