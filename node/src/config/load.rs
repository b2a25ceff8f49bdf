//! Reading a configuration and everything it names, checked against each other: the genesis
//! chain, the key files (the member's keys against the genesis, the p2p key against the
//! member's peer id), and small edits of a configuration file.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use daylight_genesis::Genesis;
use daylight_verifier::SigningKey;

use super::NodeConfig;
use crate::genesis::{Chain, ChainFile};
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
    /// The verified genesis chain: the configured one or the data directory's, whichever is
    /// longer. Keys were checked against its newest version.
    pub chain: Chain,
    /// The member's id and keys; `None` for an observer.
    pub member: Option<MemberKeys>,
    /// The libp2p identity.
    pub p2p_key: libp2p::identity::Keypair,
}

impl Loaded {
    /// The newest genesis version: what the node applies.
    pub fn genesis(&self) -> &Genesis {
        self.chain.latest()
    }
}

impl NodeConfig {
    /// Reads and checks a configuration file and everything it names.
    pub fn load(path: &Path) -> anyhow::Result<Loaded> {
        let config = NodeConfig::read(path)?;
        let configured = read_chain(&config.genesis)?;
        let chain = ChainFile::in_dir(&config.data_dir).reconcile(configured, &config.genesis)?;
        let genesis = chain.latest();
        let p2p_key = read_p2p_key(&config.p2p_key)?;
        let member = match (&config.member, &config.log_key, &config.witness_key) {
            (Some(id), Some(log), Some(witness)) => {
                let log_key = read_key(log)?;
                let witness_key = read_key(witness)?;
                check_keys(&chain, id, &log_key, &witness_key)?;
                check_peer_id(&chain, id, &p2p_key)?;
                let operator_key = match &config.operator_key {
                    Some(path) => Some(read_operator_key(genesis, id, path)?),
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
            chain,
            member,
            p2p_key,
        })
    }

    /// Reads a configuration file, with every path made absolute (relative paths are relative
    /// to the file) and its tables checked, without reading the files it names.
    pub fn read(path: &Path) -> anyhow::Result<NodeConfig> {
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
            publish.dir.as_mut().map(absolute);
            if let Some(s3) = publish.s3.as_mut() {
                absolute(&mut s3.credentials_file);
            }
            publish
                .check()
                .with_context(|| format!("{} has an invalid [publish] table", path.display()))?;
        }
        Ok(config)
    }
}

/// Reads a genesis file: version 1's note or a JSON chain, verified.
pub fn read_chain(path: &Path) -> anyhow::Result<Chain> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the genesis file {}", path.display()))?;
    Chain::parse_any(&bytes)
        .with_context(|| format!("genesis file {} is not valid", path.display()))
}

/// Reads a private key file.
pub fn read_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    SigningKey::parse(text.trim())
        .with_context(|| format!("key file {} is not valid", path.display()))
}

/// Reads an operator key and checks the genesis accepts it for `member`'s log.
pub(super) fn read_operator_key(
    genesis: &Genesis,
    member: &str,
    path: &Path,
) -> anyhow::Result<SigningKey> {
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

/// Reads a libp2p identity key file.
pub fn read_p2p_key(path: &Path) -> anyhow::Result<libp2p::identity::Keypair> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the p2p key file {}", path.display()))?;
    crate::network::parse_identity(&text)
        .with_context(|| format!("p2p key file {} is not valid", path.display()))
}

/// Checks that the libp2p identity gives the peer id the newest genesis version lists for
/// `member` (an identity an earlier version listed is named as superseded).
pub fn check_peer_id(
    chain: &Chain,
    member: &str,
    key: &libp2p::identity::Keypair,
) -> anyhow::Result<()> {
    let peer = key.public().to_peer_id().to_string();
    let genesis = chain.latest();
    let listed = genesis
        .member(member)
        .map(|m| m.peer_id.as_str())
        .unwrap_or("");
    if listed != peer {
        if let Some(superseded) =
            crate::genesis::superseded(chain, member, crate::genesis::KeyRole::P2p, &peer)
        {
            bail!("{superseded}");
        }
        bail!(
            "the p2p key gives peer id {peer}, but member {member}'s entry in the genesis lists \
             {listed}; use the p2p key the genesis was made with"
        );
    }
    Ok(())
}

/// Checks that the keys are the ones the newest genesis version lists for `member` (a key an
/// earlier version listed is named as superseded, with the command that installs the new one).
pub fn check_keys(
    chain: &Chain,
    member: &str,
    log_key: &SigningKey,
    witness_key: &SigningKey,
) -> anyhow::Result<()> {
    use crate::genesis::{KeyRole, superseded};
    let genesis = chain.latest();
    let Some(entry) = genesis.member(member) else {
        bail!(
            "member {member:?} is not in genesis {} (version {} of network {}); its members are: \
             {}",
            genesis.id(),
            chain.sequence(),
            chain.network_id(),
            genesis.member_ids()
        );
    };
    if entry.log_key != log_key.verifier() {
        let key = log_key.verifier().to_string();
        if let Some(superseded) = superseded(chain, member, KeyRole::Log, &key) {
            bail!("{superseded}");
        }
        bail!(
            "the log key {} does not match member {member}'s entry in the genesis, which lists {}; \
             use the key the genesis was made with",
            log_key.verifier(),
            entry.log_key
        );
    }
    if entry.witness_key != witness_key.verifier() {
        let key = witness_key.verifier().to_string();
        if let Some(superseded) = superseded(chain, member, KeyRole::Witness, &key) {
            bail!("{superseded}");
        }
        bail!(
            "the witness key {} does not match member {member}'s entry in the genesis, which lists {}",
            witness_key.verifier(),
            entry.witness_key
        );
    }
    Ok(())
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
