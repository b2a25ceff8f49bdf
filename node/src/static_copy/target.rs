//! Where a static copy goes: a [`StaticTarget`] is an object store (a directory, with every
//! write fsync'd, or an S3-compatible bucket) and the prefix the copy lives under, with how
//! that store creates an object that must never be overwritten and whether it takes
//! `Cache-Control`. The publisher ([`super::StaticPublisher`]) writes only through
//! `StaticTarget::create` (tiles, `rid/` objects, the marker) and a plain put (the
//! checkpoint), which is how the module's invariants reach each kind of store.

use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, ObjectStore, ObjectStoreExt as _, PutMode, PutOptions,
    PutPayload,
};

use super::PublishError;
use super::layout::{CHECKPOINT_CACHE_CONTROL, IMMUTABLE_CACHE_CONTROL};

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
pub(super) enum Create {
    /// [`PutMode::Create`] fails on an existing object, atomically (a directory).
    Atomic,
    /// The store may overwrite despite [`PutMode::Create`] (Garage ignores `If-None-Match`):
    /// look first (`head`), then put with this mode.
    LookFirst(PutModeKind),
}

/// The put mode used after looking first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PutModeKind {
    /// `If-None-Match: *` as well.
    Create,
    /// A plain PUT (the service refuses conditional puts).
    Overwrite,
}

/// One destination of a static copy: an object store, the prefix the copy lives under, and
/// how the store creates objects and takes `Cache-Control`.
pub struct StaticTarget {
    name: String,
    pub(super) objects: Arc<dyn ObjectStore>,
    pub(super) prefix: Path,
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

    /// Whether [`PutMode::Create`] refuses an existing object atomically here (a directory):
    /// then creating needs no lookup, and the publisher looks (`head`) only to skip reading
    /// and checking a tile an earlier run already wrote.
    pub(super) fn creates_atomically(&self) -> bool {
        self.create == Create::Atomic
    }

    /// The destination's name, for messages (`directory /srv/...`, `bucket http://...`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Options for a put of `kind`: the mode, and `Cache-Control` / `Content-Type` where the
    /// store takes them.
    pub(super) fn options(&self, mode: PutMode, kind: ObjectKind) -> PutOptions {
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
    pub(super) async fn create(
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
pub(super) enum ObjectKind {
    Checkpoint,
    Tile,
    Json,
}

/// Whether an object exists.
pub(super) async fn exists(
    objects: &dyn ObjectStore,
    location: &Path,
) -> Result<bool, PublishError> {
    match objects.head(location).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
