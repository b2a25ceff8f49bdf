//! The node's configuration file (TOML): what it holds and its defaults. The rest is in two
//! submodules, re-exported here:
//! * `load`: reading a configuration and everything it names, checked against each other
//!   ([`NodeConfig::load`], the key files, the genesis chain);
//! * `init`: `daylight-node init`, which writes a data directory and its configuration.

mod init;
mod load;

pub use init::{InitKeys, InitOptions, init, init_with};
pub use load::{
    Loaded, MemberKeys, check_keys, check_peer_id, edit_config, read_chain, read_key, read_p2p_key,
    set_operator_key, write_private,
};

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

/// Name of the configuration file `init` writes in the data directory.
pub const CONFIG_FILE: &str = "node.toml";

/// A node's configuration. Relative paths are relative to the configuration file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The member this node runs, as named in the genesis; absent for an observer, which
    /// mirrors, verifies and serves every log but publishes and witnesses nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// The genesis file: version 1's signed note, or the JSON genesis chain (`GET /v1/genesis`).
    /// The node runs the longer of this chain and the one stored in its data directory
    /// (`genesis-chain.json`), and refuses a file that conflicts with the stored chain.
    pub genesis: PathBuf,
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// The log's private key file (members only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_key: Option<PathBuf>,
    /// The witness's private key file (members only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness_key: Option<PathBuf>,
    /// An operator key file of the member (one the genesis accepts for its log), for records
    /// the node signs itself: an auditor's findings. Without it an auditor node reports its
    /// findings but publishes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_key: Option<PathBuf>,
    /// The libp2p identity key file (its peer id must be the member's in the genesis).
    pub p2p_key: PathBuf,
    /// HTTP listen address; loopback unless set otherwise. Port 0 picks a free port.
    #[serde(default = "default_http")]
    pub http_listen: SocketAddr,
    /// libp2p listen address (a multiaddr); loopback unless set otherwise.
    #[serde(default = "default_p2p")]
    pub p2p_listen: String,
    /// Extra peers to dial at start, as multiaddrs ending in `/p2p/<peer id>`, in addition to
    /// the members' addresses in the genesis.
    #[serde(default)]
    pub bootstrap: Vec<String>,
    /// Most entries one sequencer batch commits.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// On an auditor: seconds a finding must hold before it is published, so that logs
    /// caught mid-sync leave no wrong findings behind.
    #[serde(default = "default_audit_settle_seconds")]
    pub audit_settle_seconds: u64,
    /// The background scrub (DESIGN §5.5 *Damage*): most stored entries checked per second,
    /// which bounds the disk reads and CPU it takes from serving.
    #[serde(default = "default_scrub_entries_per_second")]
    pub scrub_entries_per_second: u64,
    /// Seconds between the end of one scrub pass over every held log and the next.
    #[serde(default = "default_scrub_interval_seconds")]
    pub scrub_interval_seconds: u64,
    /// Seconds with no peer connected before the node warns that it is isolated.
    #[serde(default = "default_warn_alone_seconds")]
    pub warn_alone_seconds: u64,
    /// Seconds the node's own latest checkpoint may lack its quorum of cosignatures before
    /// the node warns, naming the witnesses missing.
    #[serde(default = "default_warn_quorum_seconds")]
    pub warn_quorum_seconds: u64,
    /// Limits of the HTTP server against abuse (the `[http]` table; DESIGN §5.5). Every field
    /// has a default, and `init` writes none of them.
    #[serde(default, skip_serializing_if = "HttpLimits::is_default")]
    pub http: HttpLimits,
    /// Static publication (the `[publish]` table; DESIGN §5.6, docs/static-publication.md):
    /// when present, the node keeps a copy of every held log, as tlog-tiles, in a directory
    /// that any web server can serve, in an S3-compatible bucket, or both. Absent: no copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<PublishConfig>,
}

/// Static publication (DESIGN §5.6; docs/static-publication.md): the `[publish]` table of
/// `node.toml`. While the node runs it copies every log it holds to `dir`, to an S3-compatible
/// bucket (`[publish.s3]`), or to both — the checkpoint, hash tiles, entry bundles and a
/// `rid/` object per record, laid out as its own `/log/<member>/...` read path — writing
/// every object before the checkpoint that covers it and never overwriting anything but the
/// checkpoint.
///
/// ```toml
/// [publish]
/// dir = "/var/www/daylight"
/// interval_seconds = 2
///
/// [publish.s3]
/// endpoint = "https://s3.example.gov.cn"
/// region = "garage"
/// bucket = "daylight"
/// credentials_file = "s3-credentials.toml"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    /// The directory the copy is written to (created if absent; relative paths are relative
    /// to the configuration file). Serve it as the web server's root: the log of member `m` is
    /// then at `/log/m/`. Absent: no directory copy (then `s3` must be set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Seconds between passes that look for new checkpoints (default 2). A pass writes only
    /// what changed, so a short interval costs little.
    #[serde(default = "default_publish_interval_seconds")]
    pub interval_seconds: u64,
    /// An S3-compatible bucket to publish to as well (the `[publish.s3]` table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3PublishConfig>,
}

/// The `[publish.s3]` table: an S3-compatible bucket (Garage, or any S3 service) that receives
/// the static copy (docs/static-publication.md, "S3").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3PublishConfig {
    /// The service's URL, e.g. `https://s3.example.gov.cn`. `http://` is allowed only because
    /// it is written here (a service on loopback or a trusted network).
    pub endpoint: String,
    /// The region the service signs with (Garage: its `s3_region`, often `garage`).
    pub region: String,
    /// The bucket's name; requests are path-style (`<endpoint>/<bucket>/<key>`).
    pub bucket: String,
    /// A prefix inside the bucket (`a/b`; default empty: the bucket's root).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    /// A TOML file with `access_key_id` and `secret_access_key`, readable by its owner only
    /// (mode 0600); relative paths are relative to the configuration file.
    pub credentials_file: PathBuf,
    /// Whether creates also send `If-None-Match: *` (default true); the publisher looks first
    /// either way (docs/decisions/0012-static-publication-s3.md). Set false only for a service
    /// that refuses the header.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub conditional_put: bool,
}

fn default_true() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

/// The S3 credentials file named by `[publish.s3] credentials_file`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct S3Credentials {
    access_key_id: String,
    secret_access_key: String,
}

fn default_publish_interval_seconds() -> u64 {
    2
}

impl PublishConfig {
    /// The pause between passes (at least 100 ms).
    pub fn interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.interval_seconds)
            .max(std::time::Duration::from_millis(100))
    }

    /// Checks the table: at least one destination, and a valid `[publish.s3]` with readable,
    /// private credentials.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.dir.is_none() && self.s3.is_none() {
            bail!("[publish] needs dir = \"...\", a [publish.s3] table, or both");
        }
        if let Some(s3) = &self.s3 {
            s3.target()?;
        }
        Ok(())
    }

    /// Every configured destination, ready for [`crate::static_copy::StaticPublisher::new`].
    pub fn targets(&self) -> anyhow::Result<Vec<crate::static_copy::StaticTarget>> {
        let mut targets = Vec::new();
        if let Some(dir) = &self.dir {
            targets.push(
                crate::static_copy::StaticTarget::directory(dir)
                    .with_context(|| format!("[publish] dir {}", dir.display()))?,
            );
        }
        if let Some(s3) = &self.s3 {
            targets.push(s3.target()?);
        }
        Ok(targets)
    }
}

impl S3PublishConfig {
    /// The bucket with its credentials read from `credentials_file`, which must be readable
    /// by its owner only.
    pub fn bucket(&self) -> anyhow::Result<crate::static_copy::S3Bucket> {
        let path = &self.credentials_file;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path)
                .with_context(|| format!("cannot read the S3 credentials file {}", path.display()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                bail!(
                    "the S3 credentials file {} is readable by others (mode {:o}); run \
                     `chmod 600 {}`",
                    path.display(),
                    mode & 0o777,
                    path.display()
                );
            }
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the S3 credentials file {}", path.display()))?;
        let credentials: S3Credentials = toml::from_str(&text).with_context(|| {
            format!(
                "the S3 credentials file {} must hold access_key_id = \"...\" and \
                 secret_access_key = \"...\"",
                path.display()
            )
        })?;
        if self.bucket.is_empty() {
            bail!("bucket must name the bucket to publish to");
        }
        Ok(crate::static_copy::S3Bucket {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            access_key_id: credentials.access_key_id,
            secret_access_key: credentials.secret_access_key,
            conditional_put: self.conditional_put,
        })
    }

    /// The bucket as a [`crate::static_copy::StaticTarget`] (its endpoint and prefix checked).
    pub fn target(&self) -> anyhow::Result<crate::static_copy::StaticTarget> {
        crate::static_copy::StaticTarget::bucket(&self.bucket()?)
            .with_context(|| format!("[publish.s3] bucket {:?} at {}", self.bucket, self.endpoint))
    }
}

/// Limits of the HTTP server (DESIGN §5.5 "Abuse"; docs/decisions/0010-http-limits.md): the
/// `[http]` table of `node.toml`. Every field is optional; the defaults suit a public node.
///
/// ```toml
/// [http]
/// max_connections = 1024
/// header_read_timeout_seconds = 10
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpLimits {
    /// Most HTTP connections open at once (default 1024). The node also keeps the cap
    /// `fd_reserve` below its open-file limit, which it raises to the hard limit at start. At
    /// the cap, a new connection closes the least recently active connection that has no
    /// request in flight (one that never sent a request first); when every connection has a
    /// request in flight, the new one gets a 503.
    pub max_connections: usize,
    /// File descriptors kept free for the database, libp2p, the runtime and refused
    /// connections (default 128): the connection cap is at most the open-file limit minus this.
    pub fd_reserve: usize,
    /// Seconds a client has to send a request's head (default 10): the first request's from
    /// when the connection opens, a later one's from its first byte. A client that sent part
    /// of a head in time gets a 408; a new connection that sent nothing is closed.
    pub header_read_timeout_seconds: u64,
    /// Seconds a kept-alive connection may stay idle between requests before it is closed
    /// (default 30).
    pub keep_alive_seconds: u64,
    /// Longest request target (path and query) in bytes (default 8192); longer ones get 414.
    pub max_uri_bytes: usize,
    /// Largest request head (request line and headers) in bytes (default 16384); larger ones
    /// get 431 (or 414 when the request line alone is too long). At least 8192 bytes are
    /// buffered per connection whatever this says.
    pub max_header_bytes: usize,
    /// Most header fields in a request (default 100); more get 431.
    pub max_headers: usize,
    /// Largest submission body in bytes (default 16 MiB); larger ones get 413.
    pub max_body_bytes: usize,
    /// Most records in one submission (default 10,000); more get 413. Counted as the body
    /// arrives, before anything is parsed.
    pub max_records_per_submission: usize,
    /// Largest single record of a submission as sent, in bytes (default 256 KiB, room for a
    /// pretty-printed record whose entry is at the 65,535-byte limit); larger ones get 413.
    pub max_record_bytes: usize,
    /// Submission bytes held in memory at once, across all submissions (default 64 MiB). A
    /// submission reserves its declared length (a body without one: `max_body_bytes`) before
    /// its body is read, and keeps it until it is answered.
    pub submission_memory_bytes: usize,
    /// Most submissions handled at once (default 64): each reserves at least
    /// `submission_memory_bytes / max_concurrent_submissions`.
    pub max_concurrent_submissions: usize,
    /// Seconds a submission waits for room before it is refused with a 503 (default 10).
    pub submission_wait_seconds: u64,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            max_connections: 1024,
            fd_reserve: 128,
            header_read_timeout_seconds: 10,
            keep_alive_seconds: 30,
            max_uri_bytes: 8 << 10,
            max_header_bytes: 16 << 10,
            max_headers: 100,
            max_body_bytes: crate::http::MAX_BODY_BYTES,
            max_records_per_submission: 10_000,
            max_record_bytes: 256 << 10,
            submission_memory_bytes: 64 << 20,
            max_concurrent_submissions: 64,
            submission_wait_seconds: 10,
        }
    }
}

impl HttpLimits {
    /// Whether every limit has its default value (then `init` leaves the table out).
    pub fn is_default(&self) -> bool {
        *self == HttpLimits::default()
    }

    /// Refuses limits the server cannot work with: zeros, and a body limit above the memory
    /// budget (such a body could never be read).
    pub fn check(&self) -> anyhow::Result<()> {
        let positive = [
            ("max_connections", self.max_connections as u64),
            (
                "header_read_timeout_seconds",
                self.header_read_timeout_seconds,
            ),
            ("keep_alive_seconds", self.keep_alive_seconds),
            ("max_uri_bytes", self.max_uri_bytes as u64),
            ("max_header_bytes", self.max_header_bytes as u64),
            ("max_headers", self.max_headers as u64),
            ("max_body_bytes", self.max_body_bytes as u64),
            (
                "max_records_per_submission",
                self.max_records_per_submission as u64,
            ),
            ("max_record_bytes", self.max_record_bytes as u64),
            (
                "submission_memory_bytes",
                self.submission_memory_bytes as u64,
            ),
            (
                "max_concurrent_submissions",
                self.max_concurrent_submissions as u64,
            ),
        ];
        for (name, value) in positive {
            if value == 0 {
                bail!("[http] {name} must be more than 0");
            }
        }
        if self.max_body_bytes > self.submission_memory_bytes {
            bail!(
                "[http] max_body_bytes ({}) is larger than submission_memory_bytes ({}): such a \
                 submission could never be read; raise the budget or lower the body limit",
                self.max_body_bytes,
                self.submission_memory_bytes
            );
        }
        Ok(())
    }
}

fn default_audit_settle_seconds() -> u64 {
    30
}

fn default_scrub_entries_per_second() -> u64 {
    crate::integrity::ScrubPace::default().entries_per_second
}

fn default_scrub_interval_seconds() -> u64 {
    crate::integrity::ScrubPace::default()
        .pass_interval
        .as_secs()
}

fn default_warn_alone_seconds() -> u64 {
    crate::liveness::LivenessLimits::default().peer.as_secs()
}

fn default_warn_quorum_seconds() -> u64 {
    crate::liveness::LivenessLimits::default().quorum.as_secs()
}

impl NodeConfig {
    /// When the liveness watcher warns.
    pub fn liveness_limits(&self) -> crate::liveness::LivenessLimits {
        crate::liveness::LivenessLimits {
            peer: std::time::Duration::from_secs(self.warn_alone_seconds),
            quorum: std::time::Duration::from_secs(self.warn_quorum_seconds),
        }
    }

    /// How the background scrub is paced.
    pub fn scrub_pace(&self) -> crate::integrity::ScrubPace {
        crate::integrity::ScrubPace {
            entries_per_second: self.scrub_entries_per_second.max(1),
            pass_interval: std::time::Duration::from_secs(self.scrub_interval_seconds),
        }
    }
}

fn default_http() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_p2p() -> String {
    "/ip4/127.0.0.1/tcp/0".to_string()
}

fn default_max_batch() -> usize {
    4096
}

#[cfg(test)]
mod publish_tests {
    use super::*;

    fn table(text: &str) -> PublishConfig {
        toml::from_str::<std::collections::BTreeMap<String, PublishConfig>>(text)
            .expect("a [publish] table")
            .remove("publish")
            .expect("publish")
    }

    fn dir() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("daylight-publish-config-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn publish_needs_a_destination_and_private_credentials() {
        let error = table("[publish]\ninterval_seconds = 1\n")
            .check()
            .expect_err("empty");
        assert!(error.to_string().contains("[publish.s3]"), "{error}");

        let base = dir();
        let credentials = base.join("s3.toml");
        let mut s3 = table(&format!(
            "[publish.s3]\nendpoint = \"http://127.0.0.1:3900\"\nregion = \"garage\"\n\
             bucket = \"daylight\"\ncredentials_file = {:?}\n",
            credentials.display().to_string()
        ));
        assert_eq!(s3.dir, None);
        assert_eq!(s3.interval_seconds, 2);
        let error = format!("{:#}", s3.check().expect_err("no credentials file"));
        assert!(
            error.contains("cannot read the S3 credentials file"),
            "{error}"
        );

        std::fs::write(
            &credentials,
            "access_key_id = \"GK1\"\nsecret_access_key = \"s\"\n",
        )
        .expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o644))
                .expect("chmod");
            let error = format!("{:#}", s3.check().expect_err("readable by others"));
            assert!(error.contains("chmod 600"), "{error}");
            std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o600))
                .expect("chmod");
        }
        s3.check().expect("a valid [publish.s3]");
        let bucket = s3.s3.as_ref().expect("s3").bucket().expect("bucket");
        assert_eq!(bucket.access_key_id, "GK1");
        assert!(bucket.conditional_put);

        s3.s3.as_mut().expect("s3").endpoint = "s3.example.gov.cn".into();
        let error = format!("{:#}", s3.check().expect_err("no scheme"));
        assert!(error.contains("https://"), "{error}");
        let _ = std::fs::remove_dir_all(&base);
    }
}
