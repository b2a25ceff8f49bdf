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
        absolute(&mut config.genesis);
        absolute(&mut config.data_dir);
        absolute(&mut config.p2p_key);
        config.log_key.as_mut().map(absolute);
        config.witness_key.as_mut().map(absolute);
        config.operator_key.as_mut().map(absolute);
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

/// Names an operator key file in a configuration file (written by `init`), relative to it
/// when possible.
pub fn set_operator_key(config_path: &Path, key: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("cannot read {}", config_path.display()))?;
    let mut config: NodeConfig = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid configuration", config_path.display()))?;
    config.operator_key = Some(key.to_path_buf());
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
