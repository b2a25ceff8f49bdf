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
    /// The member this node runs, as named in the genesis.
    pub member: String,
    /// The genesis file.
    pub genesis: PathBuf,
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// The log's private key file.
    pub log_key: PathBuf,
    /// The witness's private key file.
    pub witness_key: PathBuf,
    /// HTTP listen address; loopback unless set otherwise. Port 0 picks a free port.
    #[serde(default = "default_http")]
    pub http_listen: SocketAddr,
    /// Most entries one sequencer batch commits.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
}

fn default_http() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_max_batch() -> usize {
    4096
}

/// Everything `run` needs, loaded and cross-checked.
pub struct Loaded {
    /// The configuration with absolute paths.
    pub config: NodeConfig,
    /// The verified genesis.
    pub genesis: Genesis,
    /// The log key.
    pub log_key: SigningKey,
    /// The witness key.
    pub witness_key: SigningKey,
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
        for p in [
            &mut config.genesis,
            &mut config.data_dir,
            &mut config.log_key,
            &mut config.witness_key,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        let genesis = read_genesis(&config.genesis)?;
        let log_key = read_key(&config.log_key)?;
        let witness_key = read_key(&config.witness_key)?;
        check_keys(&genesis, &config.member, &log_key, &witness_key)?;
        Ok(Loaded {
            config,
            genesis,
            log_key,
            witness_key,
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

/// `daylight-node init`: creates the data directory, keys (mode 0600) and configuration.
///
/// Keys come from `log_key`/`witness_key` files when given (the usual case: the genesis was
/// made with them), otherwise fresh ones are generated. Either way they must match the
/// member's entry in the genesis.
pub fn init(
    genesis_path: &Path,
    member: &str,
    data_dir: &Path,
    log_key: Option<&Path>,
    witness_key: Option<&Path>,
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
    let log = match log_key {
        Some(p) => read_key(p)?,
        None => SigningKey::generate(&names::log_key_name(&network, member), KeyType::Ed25519)?,
    };
    let witness = match witness_key {
        Some(p) => read_key(p)?,
        None => SigningKey::generate(
            &names::witness_key_name(&network, member),
            KeyType::Cosignature,
        )?,
    };
    check_keys(&genesis, member, &log, &witness)?;
    std::fs::create_dir_all(data_dir.join("keys"))
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    write_private(&data_dir.join("keys/log.key"), &log.to_private_key_string())?;
    write_private(
        &data_dir.join("keys/witness.key"),
        &witness.to_private_key_string(),
    )?;
    std::fs::copy(genesis_path, data_dir.join("genesis.note"))
        .with_context(|| format!("cannot copy {}", genesis_path.display()))?;
    let config = NodeConfig {
        member: member.to_string(),
        genesis: "genesis.note".into(),
        data_dir: ".".into(),
        log_key: "keys/log.key".into(),
        witness_key: "keys/witness.key".into(),
        http_listen: http_listen.unwrap_or_else(default_http),
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
