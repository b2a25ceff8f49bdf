//! The node's configuration file (TOML) and `daylight-node init`, which writes it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use daylight_genesis::{Genesis, names};
use daylight_verifier::{KeyType, SigningKey};
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
    /// The genesis file.
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
    /// Limits of the HTTP server against abuse (the `[http]` table; DESIGN §5.5). Every field
    /// has a default, and `init` writes none of them.
    #[serde(default, skip_serializing_if = "HttpLimits::is_default")]
    pub http: HttpLimits,
    /// Static publication (the `[publish]` table; DESIGN §5.6, docs/static-publication.md):
    /// when present, the node keeps a copy of every held log, as tlog-tiles, in a directory
    /// that any web server can serve. Absent: no copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<PublishConfig>,
}

/// Static publication (DESIGN §5.6; docs/static-publication.md): the `[publish]` table of
/// `node.toml`. While the node runs it copies every log it holds to `dir` — the checkpoint,
/// hash tiles and entry bundles, laid out as its own `/log/<member>/...` read path — writing
/// every tile before the checkpoint that covers it and never overwriting anything but the
/// checkpoint.
///
/// ```toml
/// [publish]
/// dir = "/var/www/daylight"
/// interval_seconds = 2
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    /// The directory the copy is written to (created if absent; relative paths are relative
    /// to the configuration file). Serve it as the web server's root: the log of member `m` is
    /// then at `/log/m/`.
    pub dir: PathBuf,
    /// Seconds between passes that look for new checkpoints (default 2). A pass writes only
    /// what changed, so a short interval costs little.
    #[serde(default = "default_publish_interval_seconds")]
    pub interval_seconds: u64,
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

impl NodeConfig {
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

/// A member node's identity: its id and its keys, checked against the genesis.
pub struct MemberKeys {
    /// The member id.
    pub id: String,
    /// The log key.
    pub log_key: SigningKey,
    /// The witness key.
    pub witness_key: SigningKey,
    /// The operator key the node signs its own records with, if configured.
    pub operator_key: Option<SigningKey>,
}

/// Everything `run` needs, loaded and cross-checked.
pub struct Loaded {
    /// The configuration with absolute paths.
    pub config: NodeConfig,
    /// The verified genesis.
    pub genesis: Genesis,
    /// The member's id and keys; `None` for an observer.
    pub member: Option<MemberKeys>,
    /// The libp2p identity.
    pub p2p_key: libp2p::identity::Keypair,
}

impl NodeConfig {
    /// Reads and checks a configuration file and everything it names.
    pub fn load(path: &Path) -> anyhow::Result<Loaded> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        let mut config: NodeConfig = toml::from_str(&text).with_context(|| {
            format!(
                "{} is not a valid daylight-node configuration",
                path.display()
            )
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let absolute = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        config
            .http
            .check()
            .with_context(|| format!("{} has an invalid [http] table", path.display()))?;
        absolute(&mut config.genesis);
        absolute(&mut config.data_dir);
        absolute(&mut config.p2p_key);
        config.log_key.as_mut().map(absolute);
        config.witness_key.as_mut().map(absolute);
        config.operator_key.as_mut().map(absolute);
        if let Some(publish) = config.publish.as_mut() {
            absolute(&mut publish.dir);
        }
        let genesis = read_genesis(&config.genesis)?;
        let p2p_key = read_p2p_key(&config.p2p_key)?;
        let member = match (&config.member, &config.log_key, &config.witness_key) {
            (Some(id), Some(log), Some(witness)) => {
                let log_key = read_key(log)?;
                let witness_key = read_key(witness)?;
                check_keys(&genesis, id, &log_key, &witness_key)?;
                check_peer_id(&genesis, id, &p2p_key)?;
                let operator_key = match &config.operator_key {
                    Some(path) => Some(read_operator_key(&genesis, id, path)?),
                    None => None,
                };
                Some(MemberKeys {
                    id: id.clone(),
                    log_key,
                    witness_key,
                    operator_key,
                })
            }
            (Some(id), _, _) => bail!(
                "member {id} needs log_key and witness_key in {}",
                path.display()
            ),
            (None, None, None) if config.operator_key.is_none() => None,
            (None, _, _) => bail!(
                "{} names keys but no member; an observer has no log or witness key",
                path.display()
            ),
        };
        Ok(Loaded {
            config,
            genesis,
            member,
            p2p_key,
        })
    }
}

fn read_genesis(path: &Path) -> anyhow::Result<Genesis> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the genesis file {}", path.display()))?;
    Genesis::open(&bytes).with_context(|| format!("genesis file {} is not valid", path.display()))
}

fn read_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    SigningKey::parse(text.trim())
        .with_context(|| format!("key file {} is not valid", path.display()))
}

/// Reads an operator key and checks the genesis accepts it for `member`'s log.
fn read_operator_key(genesis: &Genesis, member: &str, path: &Path) -> anyhow::Result<SigningKey> {
    let key = read_key(path)?;
    let accepted = genesis.operator_keys(member)?;
    if !accepted.contains(&key.verifier()) {
        bail!(
            "operator key {} ({}) is not an operator key of {member} in the genesis; use one \
             of: {}",
            path.display(),
            key.verifier(),
            accepted
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(key)
}

/// Names an operator key file in a configuration file (written by `init`).
pub fn set_operator_key(config_path: &Path, key: &Path) -> anyhow::Result<()> {
    edit_config(config_path, |config| {
        config.operator_key = Some(key.to_path_buf())
    })
}

/// Rewrites a configuration file with `change` applied.
pub fn edit_config(config_path: &Path, change: impl FnOnce(&mut NodeConfig)) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("cannot read {}", config_path.display()))?;
    let mut config: NodeConfig = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid configuration", config_path.display()))?;
    change(&mut config);
    std::fs::write(config_path, toml::to_string(&config)?)
        .with_context(|| format!("cannot write {}", config_path.display()))
}

fn read_p2p_key(path: &Path) -> anyhow::Result<libp2p::identity::Keypair> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the p2p key file {}", path.display()))?;
    crate::p2p::parse_identity(&text)
        .with_context(|| format!("p2p key file {} is not valid", path.display()))
}

/// Checks that the libp2p identity gives the peer id the genesis lists for `member`.
pub fn check_peer_id(
    genesis: &Genesis,
    member: &str,
    key: &libp2p::identity::Keypair,
) -> anyhow::Result<()> {
    let peer = key.public().to_peer_id().to_string();
    let listed = genesis
        .member(member)
        .map(|m| m.peer_id.as_str())
        .unwrap_or("");
    if listed != peer {
        bail!(
            "the p2p key gives peer id {peer}, but member {member}'s entry in the genesis lists \
             {listed}; use the p2p key the genesis was made with"
        );
    }
    Ok(())
}

/// Checks that the keys are the ones the genesis lists for `member`.
pub fn check_keys(
    genesis: &Genesis,
    member: &str,
    log_key: &SigningKey,
    witness_key: &SigningKey,
) -> anyhow::Result<()> {
    let Some(entry) = genesis.member(member) else {
        bail!(
            "member {member:?} is not in genesis {}; its members are: {}",
            genesis.id(),
            genesis
                .members()
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    if entry.log_key != log_key.verifier() {
        bail!(
            "the log key {} does not match member {member}'s entry in the genesis, which lists {}; \
             use the key the genesis was made with",
            log_key.verifier(),
            entry.log_key
        );
    }
    if entry.witness_key != witness_key.verifier() {
        bail!(
            "the witness key {} does not match member {member}'s entry in the genesis, which lists {}",
            witness_key.verifier(),
            entry.witness_key
        );
    }
    Ok(())
}

/// Existing key files for `init` to use; each one absent is generated.
#[derive(Clone, Copy, Debug, Default)]
pub struct InitKeys<'a> {
    /// The log key file.
    pub log: Option<&'a Path>,
    /// The witness key file.
    pub witness: Option<&'a Path>,
    /// The libp2p identity key file.
    pub p2p: Option<&'a Path>,
}

/// `daylight-node init`: creates the data directory, keys (mode 0600) and configuration, for a
/// member (`Some(id)`) or an observer (`None`).
///
/// Keys come from `log_key`/`witness_key` files when given (the usual case: the genesis was
/// made with them), otherwise fresh ones are generated. Either way they must match the
/// member's entry in the genesis.
pub fn init(
    genesis_path: &Path,
    member: Option<&str>,
    data_dir: &Path,
    keys: InitKeys<'_>,
    http_listen: Option<SocketAddr>,
) -> anyhow::Result<PathBuf> {
    let genesis = read_genesis(genesis_path)?;
    let network = genesis.network().to_string();
    let config_path = data_dir.join(CONFIG_FILE);
    if config_path.exists() {
        bail!(
            "{} already exists: this data directory is already initialised",
            config_path.display()
        );
    }
    let p2p_text = match keys.p2p {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read the p2p key file {}", p.display()))?,
        None => crate::p2p::generate_identity()?.0,
    };
    let member_keys = match member {
        Some(member) => {
            let log = match keys.log {
                Some(p) => read_key(p)?,
                None => {
                    SigningKey::generate(&names::log_key_name(&network, member), KeyType::Ed25519)?
                }
            };
            let witness = match keys.witness {
                Some(p) => read_key(p)?,
                None => SigningKey::generate(
                    &names::witness_key_name(&network, member),
                    KeyType::Cosignature,
                )?,
            };
            check_keys(&genesis, member, &log, &witness)?;
            check_peer_id(&genesis, member, &crate::p2p::parse_identity(&p2p_text)?)?;
            Some((log, witness))
        }
        None => {
            crate::p2p::parse_identity(&p2p_text)?;
            None
        }
    };
    std::fs::create_dir_all(data_dir.join("keys"))
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    if let Some((log, witness)) = &member_keys {
        write_private(&data_dir.join("keys/log.key"), &log.to_private_key_string())?;
        write_private(
            &data_dir.join("keys/witness.key"),
            &witness.to_private_key_string(),
        )?;
    }
    write_private(&data_dir.join("keys/p2p.key"), p2p_text.trim())?;
    std::fs::copy(genesis_path, data_dir.join("genesis.note"))
        .with_context(|| format!("cannot copy {}", genesis_path.display()))?;
    let config = NodeConfig {
        member: member.map(str::to_string),
        genesis: "genesis.note".into(),
        data_dir: ".".into(),
        log_key: member.map(|_| "keys/log.key".into()),
        witness_key: member.map(|_| "keys/witness.key".into()),
        operator_key: None,
        p2p_key: "keys/p2p.key".into(),
        http_listen: http_listen.unwrap_or_else(default_http),
        p2p_listen: default_p2p(),
        bootstrap: Vec::new(),
        max_batch: default_max_batch(),
        audit_settle_seconds: default_audit_settle_seconds(),
        scrub_entries_per_second: default_scrub_entries_per_second(),
        scrub_interval_seconds: default_scrub_interval_seconds(),
        http: HttpLimits::default(),
        publish: None,
    };
    std::fs::write(&config_path, toml::to_string(&config)?)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    Ok(config_path)
}

/// Writes a file only its owner can read, durably.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    writeln!(file, "{contents}")?;
    file.sync_all()?;
    Ok(())
}
