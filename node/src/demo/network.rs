//! The demo network's members, keys, genesis and node configurations, written to one
//! directory, and the four nodes started from them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use daylight_genesis::{Attestor, Genesis, GenesisBuilder, Member, Role, names};
use daylight_verifier::record::ProgrammeKey;
use daylight_verifier::{KeyType, SigningKey};

use daylight_node::config::{InitKeys, NodeConfig, init, write_private};
use daylight_node::node::RunningNode;

/// The demo network's name (the first segment of every origin and key name).
pub const NETWORK: &str = "demo.daylight";

/// The city, which allocates to both counties.
pub const CITY: &str = "city-320600";
/// The first county: the one with households, an asset and a correction.
pub const COUNTY_A: &str = "county-320681";
/// The second county: the one with the seeded problems.
pub const COUNTY_B: &str = "county-320682";
/// The auditor, which publishes findings.
pub const AUDITOR: &str = "auditor-320600";

/// How long the demo auditor lets a finding hold before publishing it.
pub const DEMO_AUDIT_SETTLE_SECONDS: u64 = 5;

/// The roles whose attestations the counties' records carry.
pub const ATTESTOR_ROLES: [&str; 2] = ["village_committee", "township"];

struct Founding {
    id: &'static str,
    role: Role,
    name: &'static str,
    division: &'static str,
    parent: Option<&'static str>,
}

const MEMBERS: [Founding; 4] = [
    Founding {
        id: CITY,
        role: Role::City,
        name: "南通市财政局",
        division: "320600",
        parent: None,
    },
    Founding {
        id: COUNTY_A,
        role: Role::County,
        name: "启东市财政局",
        division: "320681",
        parent: Some(CITY),
    },
    Founding {
        id: COUNTY_B,
        role: Role::County,
        name: "如皋市财政局",
        division: "320682",
        parent: Some(CITY),
    },
    Founding {
        id: AUDITOR,
        role: Role::Auditor,
        name: "南通市审计局",
        division: "320600",
        parent: Some(CITY),
    },
];

/// A loopback TCP port that was free a moment ago, chosen at random *below* the system's
/// ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`). The node binds it moments
/// later; a port from the ephemeral range could meanwhile be taken by any outgoing connection
/// on the machine (which made demos started side by side fail with "address in use"), while
/// one below it can only be taken by a program that asks for it by number. If one is taken
/// all the same, the node fails to start with a clear error.
fn free_port() -> anyhow::Result<u16> {
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (low, high) = (10_000u16, ephemeral_start.max(10_001));
    for _ in 0..200 {
        let port = low + (random_u64() % u64::from(high - low)) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .context("cannot find a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// A random number from the standard library's per-process hash keys and the clock (enough to
/// spread port choices; nothing secret depends on it).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// One member's keys and files in the demo directory.
pub struct DemoMember {
    /// Its node's configuration file.
    pub config: PathBuf,
    /// The operator key that signs its records.
    pub operator: SigningKey,
    /// Its operator key file (for `daylight publish --key`).
    pub operator_file: PathBuf,
    /// Attestor keys by role (counties only).
    pub attestors: BTreeMap<String, SigningKey>,
}

/// Everything the demo wrote: the genesis and each member's keys and configuration.
pub struct DemoSetup {
    /// The directory holding it all.
    pub dir: PathBuf,
    /// The signed genesis file.
    pub genesis_file: PathBuf,
    /// The verified genesis.
    pub genesis: Genesis,
    /// Members by id.
    pub members: BTreeMap<String, DemoMember>,
    /// The first county's programme key, which makes household pseudonyms.
    pub programme_key: ProgrammeKey,
}

impl DemoSetup {
    /// Creates keys, a genesis signed by all four founders, and one node data directory per
    /// member (HTTP on an ephemeral loopback port) under `dir`, which must be empty or absent.
    pub fn create(dir: &Path) -> anyhow::Result<DemoSetup> {
        if dir.exists()
            && std::fs::read_dir(dir)
                .with_context(|| format!("cannot read {}", dir.display()))?
                .next()
                .is_some()
        {
            anyhow::bail!(
                "{} is not empty; give the demo an empty or new directory",
                dir.display()
            );
        }
        let keys_dir = dir.join("keys");
        std::fs::create_dir_all(&keys_dir)
            .with_context(|| format!("cannot create {}", keys_dir.display()))?;
        let mut draft = GenesisBuilder::new(NETWORK);
        let mut founders = Vec::new();
        let mut prepared = Vec::new();
        let mut ports = BTreeMap::new();
        for founding in &MEMBERS {
            let id = founding.id;
            let log = SigningKey::generate(&names::log_key_name(NETWORK, id), KeyType::Ed25519)?;
            let witness =
                SigningKey::generate(&names::witness_key_name(NETWORK, id), KeyType::Cosignature)?;
            let operator = SigningKey::generate(
                &names::operator_key_name(NETWORK, id, "clerk"),
                KeyType::Ed25519,
            )?;
            let (p2p, peer) = daylight_node::network::generate_identity()?;
            let mut member = Member::new(
                id,
                founding.role,
                founding.name,
                founding.division,
                log.verifier(),
                witness.verifier(),
                &peer.to_string(),
            );
            member.parent = founding.parent.map(str::to_string);
            member.operators = vec![operator.verifier()];
            // The genesis lists where each node listens, as a real network's would, so every
            // node can dial every other directly and citizens can find each log's node.
            let (p2p_port, http_port) = (free_port()?, free_port()?);
            member.addresses = vec![format!("/ip4/127.0.0.1/tcp/{p2p_port}")];
            member.http = Some(format!("http://127.0.0.1:{http_port}"));
            ports.insert(id, (p2p_port, http_port));
            let mut attestors = BTreeMap::new();
            if founding.role == Role::County {
                for role in ATTESTOR_ROLES {
                    let key = SigningKey::generate(
                        &names::attestor_key_name(NETWORK, id, role, "demo"),
                        KeyType::Ed25519,
                    )?;
                    member.attestors.push(Attestor {
                        role: role.to_string(),
                        key: key.verifier(),
                    });
                    write_private(
                        &keys_dir.join(format!("{id}.{role}.key")),
                        &key.to_private_key_string(),
                    )?;
                    attestors.insert(role.to_string(), key);
                }
            }
            draft.add_member(member);
            let file = |kind: &str| keys_dir.join(format!("{id}.{kind}.key"));
            write_private(&file("log"), &log.to_private_key_string())?;
            write_private(&file("witness"), &witness.to_private_key_string())?;
            write_private(&file("p2p"), &p2p)?;
            write_private(&file("operator"), &operator.to_private_key_string())?;
            founders.push(log);
            prepared.push((id, operator, attestors));
        }
        let (first, rest) = founders.split_first().context("no founders")?;
        let mut signed = draft.sign(first)?;
        for founder in rest {
            signed.sign(founder)?;
        }
        let genesis_file = dir.join("genesis.note");
        std::fs::write(&genesis_file, signed.to_text())
            .with_context(|| format!("cannot write {}", genesis_file.display()))?;
        let genesis = signed.verify()?;

        let mut members = BTreeMap::new();
        for (id, operator, attestors) in prepared {
            let file = |kind: &str| keys_dir.join(format!("{id}.{kind}.key"));
            let keys = InitKeys {
                log: Some(&file("log")),
                witness: Some(&file("witness")),
                p2p: Some(&file("p2p")),
            };
            let (p2p_port, http_port) = ports[id];
            let http = Some(std::net::SocketAddr::from(([127, 0, 0, 1], http_port)));
            let config = init(&genesis_file, Some(id), &dir.join(id), keys, http)?;
            daylight_node::config::edit_config(&config, |c| {
                c.p2p_listen = format!("/ip4/127.0.0.1/tcp/{p2p_port}");
            })?;
            if id == AUDITOR {
                // The story is published and mirrored within a few seconds: a finding
                // that held for five is not an artefact of publication or mirroring order.
                daylight_node::config::edit_config(&config, |c| {
                    c.operator_key = Some(file("operator"));
                    c.audit_settle_seconds = DEMO_AUDIT_SETTLE_SECONDS;
                })?;
            }
            members.insert(
                id.to_string(),
                DemoMember {
                    config,
                    operator,
                    operator_file: file("operator"),
                    attestors,
                },
            );
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        write_private(
            &keys_dir.join(format!("{COUNTY_A}.programme.key")),
            &hex::encode(secret),
        )?;
        let programme_key = ProgrammeKey::from_bytes(secret);
        Ok(DemoSetup {
            dir: dir.to_path_buf(),
            genesis_file,
            genesis,
            members,
            programme_key,
        })
    }

    /// The member `id`; every demo member exists.
    pub fn member(&self, id: &str) -> &DemoMember {
        &self.members[id]
    }

    /// Starts the four nodes in this process; they dial each other at the addresses the
    /// genesis lists. Returns them by member id.
    pub async fn start(&self) -> anyhow::Result<BTreeMap<String, RunningNode>> {
        let mut nodes = BTreeMap::new();
        for id in [CITY, COUNTY_A, COUNTY_B, AUDITOR] {
            let loaded = NodeConfig::load(&self.member(id).config)?;
            let node = daylight_node::node::start(loaded)
                .await
                .with_context(|| format!("cannot start the node of {id}"))?;
            nodes.insert(id.to_string(), node);
        }
        Ok(nodes)
    }
}
