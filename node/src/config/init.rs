//! `daylight-node init`: a data directory with its keys (generated unless given) and the
//! configuration file that names them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use daylight_genesis::names;
use daylight_verifier::{KeyType, SigningKey};

// The configuration's defaults are private to `config`; `init` writes them out.
use super::load::read_operator_key;
use super::*;

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

/// What `daylight-node init` may be told beyond the genesis and the member: key files, and
/// listen addresses that override the member's entry in the genesis.
#[derive(Clone, Copy, Debug, Default)]
pub struct InitOptions<'a> {
    /// Existing key files.
    pub keys: InitKeys<'a>,
    /// The HTTP listen address; by default the host and port of the member's `http` URL in
    /// the genesis, else 127.0.0.1:8080.
    pub http_listen: Option<SocketAddr>,
    /// The libp2p listen multiaddr; by default the member's first address in the genesis,
    /// else `/ip4/127.0.0.1/tcp/0`.
    pub p2p_listen: Option<&'a str>,
    /// An operator key file the genesis accepts for the member's log (an auditor needs one to
    /// publish findings); copied into the data directory.
    pub operator_key: Option<&'a Path>,
}

/// `daylight-node init` with only key files and an HTTP address: see [`init_with`].
pub fn init(
    genesis_path: &Path,
    member: Option<&str>,
    data_dir: &Path,
    keys: InitKeys<'_>,
    http_listen: Option<SocketAddr>,
) -> anyhow::Result<PathBuf> {
    let options = InitOptions {
        keys,
        http_listen,
        ..InitOptions::default()
    };
    init_with(genesis_path, member, data_dir, options)
}

/// `daylight-node init`: creates the data directory, keys (mode 0600) and configuration, for a
/// member (`Some(id)`) or an observer (`None`).
///
/// Keys come from `log_key`/`witness_key` files when given (the usual case: the genesis was
/// made with them), otherwise fresh ones are generated. Either way they must match the
/// member's entry in the genesis. The node listens where the genesis says the member can be
/// reached (its first libp2p address, the host and port of its HTTP URL), unless `options`
/// says otherwise, so that the other members' nodes, which dial those addresses, find it.
pub fn init_with(
    genesis_path: &Path,
    member: Option<&str>,
    data_dir: &Path,
    options: InitOptions<'_>,
) -> anyhow::Result<PathBuf> {
    let keys = options.keys;
    let chain = read_chain(genesis_path)?;
    let genesis = chain.latest();
    let entry = member.and_then(|m| genesis.member(m));
    let p2p_listen = match (options.p2p_listen, entry.and_then(|m| m.addresses.first())) {
        (Some(given), _) => given.to_string(),
        (None, Some(listed)) => listed.clone(),
        (None, None) => default_p2p(),
    };
    p2p_listen
        .parse::<libp2p::Multiaddr>()
        .with_context(|| format!("the p2p listen address {p2p_listen:?} is not a multiaddr"))?;
    let http_listen = match (options.http_listen, entry.and_then(|m| m.http.as_deref())) {
        (Some(given), _) => given,
        (None, Some(url)) => listen_address_of(url)?,
        (None, None) => default_http(),
    };
    if let (Some(member), Some(path)) = (member, options.operator_key) {
        read_operator_key(genesis, member, path)?;
    } else if options.operator_key.is_some() {
        bail!("an observer publishes nothing and takes no operator key; leave --operator-key out");
    }
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
        None => crate::network::generate_identity()?.0,
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
            check_keys(&chain, member, &log, &witness)?;
            check_peer_id(&chain, member, &crate::network::parse_identity(&p2p_text)?)?;
            Some((log, witness))
        }
        None => {
            crate::network::parse_identity(&p2p_text)?;
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
    if let Some(path) = options.operator_key {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        write_private(&data_dir.join("keys/operator.key"), text.trim())?;
    }
    // A JSON chain keeps its form (the node reads either); it is also stored as the data
    // directory's chain when the node first starts.
    let genesis_copy = if chain.sequence() > 1 || is_json(genesis_path)? {
        "genesis.json"
    } else {
        "genesis.note"
    };
    std::fs::copy(genesis_path, data_dir.join(genesis_copy))
        .with_context(|| format!("cannot copy {}", genesis_path.display()))?;
    let config = NodeConfig {
        member: member.map(str::to_string),
        genesis: genesis_copy.into(),
        data_dir: ".".into(),
        log_key: member.map(|_| "keys/log.key".into()),
        witness_key: member.map(|_| "keys/witness.key".into()),
        operator_key: options.operator_key.map(|_| "keys/operator.key".into()),
        p2p_key: "keys/p2p.key".into(),
        http_listen,
        p2p_listen,
        bootstrap: Vec::new(),
        max_batch: default_max_batch(),
        audit_settle_seconds: default_audit_settle_seconds(),
        scrub_entries_per_second: default_scrub_entries_per_second(),
        scrub_interval_seconds: default_scrub_interval_seconds(),
        warn_alone_seconds: default_warn_alone_seconds(),
        warn_quorum_seconds: default_warn_quorum_seconds(),
        http: HttpLimits::default(),
        publish: None,
    };
    std::fs::write(&config_path, toml::to_string(&config)?)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    Ok(config_path)
}

/// Whether the file at `path` holds JSON (a genesis chain) rather than a signed note.
fn is_json(path: &Path) -> anyhow::Result<bool> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{'))
}

/// The address to listen on for a node reached at `url` (`http://203.0.113.5:8080`): its IP and
/// port; for a host name, every interface at its port (the name resolves to this machine).
fn listen_address_of(url: &str) -> anyhow::Result<SocketAddr> {
    let authority = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap_or_default();
    if let Ok(address) = authority.parse::<SocketAddr>() {
        return Ok(address);
    }
    let port = match authority.rsplit_once(':') {
        Some((_, port)) => port.parse::<u16>().with_context(|| {
            format!("the genesis gives the node's HTTP URL as {url:?}, whose port is not a number")
        })?,
        None if url.starts_with("https://") => 443,
        None => 80,
    };
    Ok(SocketAddr::from(([0, 0, 0, 0], port)))
}
