//! Fixtures for daylight's integration tests: a small network with real keys and a signed
//! genesis, temporary directories that clean up after themselves, and real `daylight-node`
//! processes on loopback with ephemeral ports.
//!
//! Modules: [`demo`], the one-process demo network; [`netns`], Linux network namespaces (a
//! bridge in a hub namespace, one namespace per node) whose links a test can cut and heal;
//! [`nginx`], a real nginx serving a static copy; [`garage`], a one-node Garage S3 store on
//! loopback; [`go_reference`], the Go reference tlog checker; [`lifecycle`], members, versions
//! and waits for tests of a network that changes, and the `daylight` command line;
//! [`qr_scan`], the QR codes on a page read as a phone would (chromium renders, ZBar decodes).

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context as _, bail};
use daylight_genesis::{GenesisBuilder, Member, Role, names};
use daylight_verifier::{KeyType, SigningKey};

pub mod demo;
pub mod garage;
pub mod go_reference;
pub mod lifecycle;
pub mod netns;
pub mod nginx;
pub mod qr_scan;

/// The network name of test networks.
pub const NETWORK: &str = "test.daylight";

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory whose name starts with `label`.
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "daylight-{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The keys of one member.
pub struct MemberKeys {
    /// Signs the member's log.
    pub log: SigningKey,
    /// Cosigns other logs.
    pub witness: SigningKey,
    /// The operator who signs the member's records.
    pub operator: SigningKey,
    /// Where the log key is written.
    pub log_key_file: PathBuf,
    /// Where the witness key is written.
    pub witness_key_file: PathBuf,
    /// Where the libp2p identity key is written.
    pub p2p_key_file: PathBuf,
    /// The member's libp2p peer id.
    pub peer_id: String,
}

impl MemberKeys {
    /// New keys for member `id` of [`NETWORK`] (log, witness, a clerk's operator key and a
    /// libp2p identity), the log, witness and identity keys written to `dir` as
    /// `<id>.log.key`, `<id>.witness.key` and `<id>.p2p.key`.
    pub fn generate(dir: &Path, id: &str) -> anyhow::Result<MemberKeys> {
        let log = SigningKey::generate(&names::log_key_name(NETWORK, id), KeyType::Ed25519)?;
        let witness =
            SigningKey::generate(&names::witness_key_name(NETWORK, id), KeyType::Cosignature)?;
        let operator = SigningKey::generate(
            &names::operator_key_name(NETWORK, id, "clerk"),
            KeyType::Ed25519,
        )?;
        let (p2p_key, peer) = daylight_node::network::generate_identity()?;
        let log_key_file = dir.join(format!("{id}.log.key"));
        let witness_key_file = dir.join(format!("{id}.witness.key"));
        let p2p_key_file = dir.join(format!("{id}.p2p.key"));
        std::fs::write(&log_key_file, log.to_private_key_string())?;
        std::fs::write(&witness_key_file, witness.to_private_key_string())?;
        std::fs::write(&p2p_key_file, p2p_key)?;
        Ok(MemberKeys {
            log,
            witness,
            operator,
            log_key_file,
            witness_key_file,
            p2p_key_file,
            peer_id: peer.to_string(),
        })
    }

    /// The genesis entry of member `id` with these keys, named `<id> bureau`, in `division`,
    /// with the clerk's operator key; no parent, addresses or witnesses yet.
    pub fn member(&self, id: &str, role: Role, division: &str) -> Member {
        let mut member = Member::new(
            id,
            role,
            &format!("{id} bureau"),
            division,
            self.log.verifier(),
            self.witness.verifier(),
            &self.peer_id,
        );
        member.operators = vec![self.operator.verifier()];
        member
    }
}

/// A test network: members, their keys on disk, and the signed genesis file.
pub struct TestNetwork {
    /// Holds every file of the network.
    pub dir: TempDir,
    /// The genesis file.
    pub genesis_file: PathBuf,
    /// Each member's keys, by member id.
    pub keys: BTreeMap<String, MemberKeys>,
}

impl TestNetwork {
    /// A network of a city, `counties` counties under it and an auditor, quorum 2, in which
    /// every member witnesses every log (the genesis default).
    pub fn city_with_counties(counties: usize) -> anyhow::Result<TestNetwork> {
        TestNetwork::city_with_counties_witnessed(counties, None)
    }

    /// Like [`TestNetwork::city_with_counties`], but with `Some(peers)` each log is witnessed
    /// as DESIGN §6a says a large network should be: by its parent (the city for a county),
    /// the auditor, and `peers` other counties (the next ones, in a ring) — so cosigning
    /// work grows with the number of logs, not with its square.
    pub fn city_with_counties_witnessed(
        counties: usize,
        peers: Option<usize>,
    ) -> anyhow::Result<TestNetwork> {
        TestNetwork::with_members(city_members(counties), 2, |id| {
            peers.map(|peers| limited_witnesses(id, counties, peers))
        })
    }

    /// A network of a city and one county witnessing each other, quorum 1: the smallest
    /// network whose checkpoints reach a quorum of cosignatures.
    pub fn city_and_county() -> anyhow::Result<TestNetwork> {
        TestNetwork::with_members(
            vec![
                ("city-1".to_string(), Role::City, None),
                (
                    "county-1".to_string(),
                    Role::County,
                    Some("city-1".to_string()),
                ),
            ],
            1,
            |_| None,
        )
    }

    /// Like [`TestNetwork::city_with_counties`], but the genesis lists `addresses(id)` as each
    /// member's libp2p addresses (multiaddrs without `/p2p/`), which every node dials.
    pub fn city_with_counties_at(
        counties: usize,
        addresses: impl Fn(&str) -> Vec<String>,
    ) -> anyhow::Result<TestNetwork> {
        TestNetwork::with_members_at(city_members(counties), 2, |_| None, addresses)
    }

    /// A network of these members (id, role, parent), every member a founder, with the given
    /// quorum; `witnesses(id)` lists the witnesses of a log (`None`: every other member).
    pub fn with_members(
        members: Vec<(String, Role, Option<String>)>,
        quorum: usize,
        witnesses: impl Fn(&str) -> Option<Vec<String>>,
    ) -> anyhow::Result<TestNetwork> {
        TestNetwork::with_members_at(members, quorum, witnesses, |_| Vec::new())
    }

    /// Like [`TestNetwork::with_members`], and the genesis lists `addresses(id)` as each
    /// member's libp2p addresses.
    pub fn with_members_at(
        members: Vec<(String, Role, Option<String>)>,
        quorum: usize,
        witnesses: impl Fn(&str) -> Option<Vec<String>>,
        addresses: impl Fn(&str) -> Vec<String>,
    ) -> anyhow::Result<TestNetwork> {
        let dir = TempDir::new("network");
        let mut draft = GenesisBuilder::new(NETWORK);
        draft.set_quorum(quorum);
        let mut keys = BTreeMap::new();
        for (n, (id, role, parent)) in members.into_iter().enumerate() {
            let member_keys = MemberKeys::generate(dir.path(), &id)?;
            let mut member = member_keys.member(&id, role, &format!("32{n:04}"));
            member.witnesses = witnesses(&id);
            member.addresses = addresses(&id);
            member.parent = parent;
            draft.add_member(member);
            keys.insert(id, member_keys);
        }
        let mut founders = keys.values();
        let first = founders.next().context("no members")?;
        let mut signed = draft.sign(&first.log)?;
        for k in founders {
            signed.sign(&k.log)?;
        }
        let genesis_file = dir.path().join("genesis.note");
        std::fs::write(&genesis_file, signed.to_text())?;
        Ok(TestNetwork {
            dir,
            genesis_file,
            keys,
        })
    }

    /// Runs `daylight-node init --observer` into a new data directory with an ephemeral port;
    /// returns the configuration file.
    pub fn init_observer(&self, name: &str) -> anyhow::Result<PathBuf> {
        let data = self.dir.path().join(format!("{name}-data"));
        let out = Command::new(node_binary()?)
            .arg("init")
            .arg("--genesis")
            .arg(&self.genesis_file)
            .args(["--observer", "--http", "127.0.0.1:0"])
            .arg("--data")
            .arg(&data)
            .output()?;
        if !out.status.success() {
            bail!("init failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(data.join("node.toml"))
    }

    /// `daylight-node init` for `member` into `data`, with the genesis and the member's key
    /// files; the caller adds any other flags and runs it.
    pub fn init_command(&self, member: &str, data: &Path) -> anyhow::Result<Command> {
        let keys = self.keys.get(member).context("unknown member")?;
        let mut command = Command::new(node_binary()?);
        command
            .arg("init")
            .arg("--genesis")
            .arg(&self.genesis_file)
            .args(["--member", member])
            .arg("--data")
            .arg(data)
            .arg("--log-key")
            .arg(&keys.log_key_file)
            .arg("--witness-key")
            .arg(&keys.witness_key_file)
            .arg("--p2p-key")
            .arg(&keys.p2p_key_file);
        Ok(command)
    }

    /// Runs `daylight-node init` for `member` into a new data directory with an ephemeral
    /// port; returns the configuration file.
    pub fn init_node(&self, member: &str) -> anyhow::Result<PathBuf> {
        let data = self.dir.path().join(format!("{member}-data"));
        let out = self
            .init_command(member, &data)?
            .args(["--http", "127.0.0.1:0"])
            .output()?;
        if !out.status.success() {
            bail!("init failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(data.join("node.toml"))
    }

    /// [`TestNetwork::init_node`] for each of `members`: their configuration files, in order.
    pub fn init_nodes(&self, members: &[&str]) -> anyhow::Result<Vec<PathBuf>> {
        members.iter().map(|m| self.init_node(m)).collect()
    }

    /// Initialises and starts the nodes of `members` ([`start_nodes`]).
    pub fn start_nodes(&self, members: &[&str]) -> anyhow::Result<Vec<NodeProcess>> {
        start_nodes(&self.init_nodes(members)?)
    }
}

/// Starts the node of `configs[0]` and makes it the bootstrap of every other configuration.
pub fn start_bootstrap(configs: &[PathBuf]) -> anyhow::Result<NodeProcess> {
    let first = NodeProcess::start(&configs[0])?;
    for config in &configs[1..] {
        set_bootstrap(config, std::slice::from_ref(&first.p2p))?;
    }
    Ok(first)
}

/// Starts the nodes of `configs`: the first, then the others with it as their bootstrap.
pub fn start_nodes(configs: &[PathBuf]) -> anyhow::Result<Vec<NodeProcess>> {
    let mut nodes = vec![start_bootstrap(configs)?];
    for config in &configs[1..] {
        nodes.push(NodeProcess::start(config)?);
    }
    Ok(nodes)
}

/// A city, `counties` counties under it and an auditor: (id, role, parent).
fn city_members(counties: usize) -> Vec<(String, Role, Option<String>)> {
    let mut members = vec![("city-1".to_string(), Role::City, None)];
    for i in 1..=counties {
        members.push((
            format!("county-{i}"),
            Role::County,
            Some("city-1".to_string()),
        ));
    }
    members.push((
        "auditor-1".to_string(),
        Role::Auditor,
        Some("city-1".to_string()),
    ));
    members
}

/// The §6a witness set of `id` in a city with `counties` counties and an auditor: its parent
/// or the city, the auditor, and `peers` counties after it in a ring (never itself).
fn limited_witnesses(id: &str, counties: usize, peers: usize) -> Vec<String> {
    let mut witnesses = Vec::new();
    let mut add = |w: String| {
        if w != id && !witnesses.contains(&w) {
            witnesses.push(w);
        }
    };
    add("city-1".to_string());
    add("auditor-1".to_string());
    let position = id
        .strip_prefix("county-")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    for step in 1..=peers.min(counties.saturating_sub(1)) {
        add(format!("county-{}", (position + step - 1) % counties + 1));
    }
    witnesses
}

/// A county-1 receipt of `minor` fen of city-1 money (funded by a city allocation pinned by
/// a made-up leaf; references to other logs are checked for form only), signed by `operator`.
pub fn signed_receipt(operator: &SigningKey, rid: &str, minor: u64) -> serde_json::Value {
    let amount = serde_json::json!({"minor": minor.to_string(), "currency": "CNY"});
    let record = daylight_verifier::record::Record::from_value(serde_json::json!({
        "v": 1, "rid": rid, "kind": "receipt", "event_date": "2024-03-05",
        "program": "rural-revitalisation-2024",
        "payer": {"member": "city-1"}, "amount": amount,
        "funded_by": [{
            "ref": {
                "log": "city-1",
                "rid": "city-1-2024-alloc-0007",
                "leaf": daylight_verifier::Hash::digest(b"city allocation").to_hex(),
            },
            "amount": amount,
        }],
    }))
    .expect("a valid receipt");
    serde_json::to_value(record.sign(operator)).expect("records serialize")
}

/// Polls `check` every 100 ms until it returns `Some`, and panics naming `what` if `deadline`
/// passes first. For waiting on another process's state, which no event announces.
pub fn wait_for<T>(
    deadline: std::time::Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Like [`wait_for`], but `check` says why it is not done yet (`Err(reason)`), and the panic
/// at the deadline gives the last reason.
pub fn wait_until<T>(
    deadline: std::time::Duration,
    what: &str,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let start = std::time::Instant::now();
    loop {
        let reason = match check() {
            Ok(value) => return value,
            Err(reason) => reason,
        };
        assert!(
            start.elapsed() < deadline,
            "timed out waiting for {what}: {reason}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Sets the addresses a node dials at start (multiaddrs ending in `/p2p/<peer id>`).
pub fn set_bootstrap(config: &Path, addresses: &[String]) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(config)?;
    let list = addresses
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let text = text
        .lines()
        .filter(|l| !l.starts_with("bootstrap"))
        .collect::<Vec<_>>()
        .join("\n");
    // Top-level keys must come before any table; node.toml has none.
    std::fs::write(config, format!("bootstrap = [{list}]\n{text}\n"))?;
    Ok(())
}

/// Sets the libp2p address a node listens on (a multiaddr such as `/ip4/10.77.0.1/tcp/4001`).
pub fn set_p2p_listen(config: &Path, address: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(config)?;
    let mut found = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("p2p_listen") {
                found = true;
                format!("p2p_listen = {address:?}")
            } else {
                l.to_string()
            }
        })
        .collect();
    if !found {
        bail!("{} has no p2p_listen line", config.display());
    }
    std::fs::write(config, lines.join("\n") + "\n")?;
    Ok(())
}

/// The `daylight-node` binary of this build (built by `cargo test --workspace`).
pub fn node_binary() -> anyhow::Result<PathBuf> {
    sibling_binary("daylight-node")
}

/// The `daylight` command line binary of this build (built by `cargo test --workspace`, or
/// `cargo build -p daylight-cli`).
pub fn cli_binary() -> anyhow::Result<PathBuf> {
    sibling_binary("daylight")
}

/// A binary of this workspace in the same profile directory as the running executable: a
/// test runs from `target/<profile>/deps/`, a benchmark binary from `target/<profile>/`.
fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("cannot locate the target directory")?;
    let profile_dir = if dir.ends_with("deps") {
        dir.parent().context("cannot locate the target directory")?
    } else {
        dir
    };
    let binary = profile_dir.join(name);
    if !binary.exists() {
        bail!(
            "{} is missing: run the tests with `cargo test --workspace`, which builds it",
            binary.display()
        );
    }
    Ok(binary)
}

/// A running `daylight-node run` process, killed when dropped.
pub struct NodeProcess {
    child: Child,
    /// Where its HTTP API listens.
    pub http: SocketAddr,
    /// Its libp2p address, with `/p2p/<peer id>`.
    pub p2p: String,
}

impl NodeProcess {
    /// Starts a node and waits for the line announcing its HTTP address.
    pub fn start(config: &Path) -> anyhow::Result<NodeProcess> {
        let mut command = Command::new(node_binary()?);
        command.arg("run").arg("--config").arg(config);
        NodeProcess::start_command(command)
    }

    /// Starts a node with `command` (`daylight-node run --config ...`, possibly behind a
    /// wrapper that `exec`s it, such as `ip netns exec`) and waits for the line announcing its
    /// HTTP address.
    pub fn start_command(mut command: Command) -> anyhow::Result<NodeProcess> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut reader = BufReader::new(stdout);
        let mut p2p = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if let Some(address) = line.trim().strip_prefix("p2p listening on ") {
                p2p = address.to_string();
                continue;
            }
            let Some(addr) = line.trim().strip_prefix("listening on http://") else {
                let _ = child.kill();
                let output = child.wait_with_output()?;
                bail!(
                    "node did not start: {}{}",
                    line,
                    String::from_utf8_lossy(&output.stderr)
                );
            };
            let http = addr.parse()?;
            // Keep draining stdout and stderr so the node never blocks on a full pipe.
            std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
            if let Some(mut stderr) = child.stderr.take() {
                std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
            }
            return Ok(NodeProcess { child, http, p2p });
        }
    }

    /// The base URL of its HTTP API.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// Stops it with SIGTERM (graceful) and waits for it to exit.
    pub fn terminate(mut self) -> anyhow::Result<std::process::ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("could not signal the node");
        }
        Ok(self.child.wait()?)
    }

    /// Kills it at once (SIGKILL): a crash.
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response: status and body.
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// GET `url`.
pub fn get(url: &str) -> anyhow::Result<Reply> {
    let mut response = agent().get(url).call()?;
    Ok(Reply {
        status: response.status().as_u16(),
        body: response.body_mut().read_to_vec()?,
    })
}

/// POST `body` as JSON to `url`.
pub fn post_json(url: &str, body: &[u8]) -> anyhow::Result<Reply> {
    let mut response = agent()
        .post(url)
        .header("content-type", "application/json")
        .send(body)?;
    Ok(Reply {
        status: response.status().as_u16(),
        body: response.body_mut().read_to_vec()?,
    })
}

/// A loopback port that was free a moment ago, chosen at random below the system's ephemeral
/// range, so that no outgoing connection of a test running beside this one takes it before the
/// node that is told it binds it (as `daylight-node demo` chooses its ports).
pub fn unused_port() -> u16 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768)
        .max(10_001);
    for attempt in 0..200u32 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(attempt);
        let port = 10_000 + (hasher.finish() % u64::from(ephemeral_start - 10_000)) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
