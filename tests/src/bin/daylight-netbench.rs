//! The network benchmark (issue 5): real nodes in this process — each with its own redb
//! database, libp2p swarm and HTTP server on loopback — measured in one run:
//!
//! * checkpoint propagation to every node of a 50-node network (p50, p95 over the nodes);
//! * publication → 2-cosignature quorum at the publisher;
//! * time until every node holds the evidence after an equivocation;
//! * mirror catch-up rate on a 1,000,000-entry log (a second, two-node network).
//!
//! Run: `cargo run --release -p daylight-tests --bin daylight-netbench` (`-- --quick` for 10
//! nodes and 100,000 entries; `-- --witness-peers K` witnesses each log as DESIGN §6a says a
//! large network should — parent, auditor and K peer counties — instead of by everyone;
//! `-- --catch-up-only` measures only the 1,000,000-entry catch-up and replay). Nodes connect in a random graph: each dials up to five nodes
//! started before it; the rest is gossip.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use daylight_genesis::Genesis;
use daylight_node::config::{InitKeys, NodeConfig, init};
use daylight_node::node::{RunningNode, start};
use daylight_node::store::NewEntry;
use daylight_tests::{TestNetwork, get, post_json, set_bootstrap};
use daylight_verifier::Hash;
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::policy::LogPolicy;
use daylight_verifier::record::Record;
use serde_json::json;

const POLL: Duration = Duration::from_millis(5);
const DEADLINE: Duration = Duration::from_secs(60);

struct Net {
    network: TestNetwork,
    nodes: Vec<RunningNode>,
    runtime: tokio::runtime::Runtime,
}

/// Starts every member of `network` in-process; node `i` bootstraps from up to five of the
/// nodes started before it.
fn start_all(network: TestNetwork) -> anyhow::Result<Net> {
    // Many nodes share this runtime; their storage calls block worker threads briefly, so
    // give them more workers than cores (each real node has its own process and runtime).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(16)
        .enable_all()
        .build()?;
    let mut nodes: Vec<RunningNode> = Vec::new();
    let members: Vec<String> = network.keys.keys().cloned().collect();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for member in &members {
        let keys = &network.keys[member];
        let config = init(
            &network.genesis_file,
            Some(member),
            &network.dir.path().join(format!("{member}-data")),
            InitKeys {
                log: Some(&keys.log_key_file),
                witness: Some(&keys.witness_key_file),
                p2p: Some(&keys.p2p_key_file),
            },
            Some("127.0.0.1:0".parse()?),
        )?;
        let mut bootstrap = Vec::new();
        for _ in 0..nodes.len().min(5) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let peer: &RunningNode = &nodes[(seed % nodes.len() as u64) as usize];
            bootstrap.push(peer.p2p_addresses[0].to_string());
        }
        set_bootstrap(&config, &bootstrap)?;
        nodes.push(runtime.block_on(start(NodeConfig::load(&config)?))?);
    }
    Ok(Net {
        network,
        nodes,
        runtime,
    })
}

fn checkpoint_of(node: &RunningNode, member: &str) -> Option<(Checkpoint, Vec<u8>)> {
    let reply = get(&format!(
        "http://{}/log/{member}/checkpoint",
        node.http_addr
    ))
    .ok()?;
    if reply.status != 200 {
        return None;
    }
    let text = reply.text();
    let body = text.split("\n\n").next()?;
    Some((Checkpoint::parse(&format!("{body}\n")).ok()?, reply.body))
}

fn wait<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> anyhow::Result<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return Ok(v);
        }
        anyhow::ensure!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Keeps a figure for the final table and prints it at once, so a later failure loses nothing.
fn keep(report: &mut Vec<(String, String)>, row: (String, String)) {
    eprintln!("{}: {}", row.0, row.1);
    report.push(row);
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let size = args
        .iter()
        .position(|a| a == "--nodes")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if quick { 10 } else { 50 });
    let witness_peers: Option<usize> = args
        .iter()
        .position(|a| a == "--witness-peers")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok());
    let catch_up_only = args.iter().any(|a| a == "--catch-up-only");
    let mut report = Vec::new();
    match witness_peers {
        Some(k) => println!("witnesses per log: parent, auditor and {k} peer counties (§6a)"),
        None => println!("witnesses per log: every other member"),
    }

    if !catch_up_only {
        // A city, counties and an auditor: `size` members.
        let net = start_all(TestNetwork::city_with_counties_witnessed(
            size - 2,
            witness_peers,
        )?)?;
        let genesis = Genesis::open(&std::fs::read(&net.network.genesis_file)?)?;
        let publisher_index = net
            .network
            .keys
            .keys()
            .position(|m| m == "county-1")
            .context("county-1")?;
        let publisher = &net.nodes[publisher_index];
        let policy: LogPolicy = genesis.policy_for("county-1")?;
        // Let the mesh form: every node connected to someone and subscribed.
        wait("every node to have a peer", || {
            net.nodes
                .iter()
                .all(|n| {
                    get(&format!("http://{}/v1/network", n.http_addr))
                        .map(|r| r.json()["peers"].as_array().is_some_and(|p| !p.is_empty()))
                        .unwrap_or(false)
                })
                .then_some(())
        })?;
        std::thread::sleep(Duration::from_secs(2)); // gossipsub mesh heartbeats

        for round in 0..3u32 {
            let operator = &net.network.keys["county-1"].operator;
            let record = Record::from_value(json!({
                "v": 1, "rid": format!("county-1-bench-{round}"), "kind": "allocation",
                "event_date": "2024-03-05", "program": "r24",
                "payer": {"member": "county-1"}, "payee": {"org": {"name": "Coop"}},
                "amount": {"minor": "100", "currency": "CNY"}, "purpose": "Road"
            }))?
            .sign(operator);
            let published = Instant::now();
            let reply = post_json(
                &format!("http://{}/v1/records", publisher.http_addr),
                &serde_json::to_vec(&record)?,
            )?;
            anyhow::ensure!(reply.status == 201, "publish failed: {}", reply.text());
            let target = u64::from(round) + 1;
            let mut arrived: Vec<Option<Duration>> = vec![None; net.nodes.len()];
            let mut quorum = None;
            let outcome = wait("propagation to every node and the quorum", || {
                for (i, node) in net.nodes.iter().enumerate() {
                    if arrived[i].is_none()
                        && checkpoint_of(node, "county-1").is_some_and(|(c, _)| c.size >= target)
                    {
                        arrived[i] = Some(published.elapsed());
                    }
                }
                if quorum.is_none()
                    && checkpoint_of(publisher, "county-1")
                        .is_some_and(|(c, note)| c.size >= target && policy.verify(&note).is_ok())
                {
                    quorum = Some(published.elapsed());
                }
                (arrived.iter().all(Option::is_some) && quorum.is_some()).then_some(())
            });
            if let Err(e) = outcome {
                let have = arrived.iter().filter(|a| a.is_some()).count();
                let peers: Vec<usize> = net
                    .nodes
                    .iter()
                    .map(|n| {
                        get(&format!("http://{}/v1/network", n.http_addr))
                            .map(|r| r.json()["peers"].as_array().map_or(0, Vec::len))
                            .unwrap_or(0)
                    })
                    .collect();
                let names: Vec<&String> = net.network.keys.keys().collect();
                let missing: Vec<String> = arrived
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.is_none())
                    .map(|(i, _)| {
                        let status = get(&format!("http://{}/v1/network", net.nodes[i].http_addr))
                            .map(|r| r.json())
                            .unwrap_or_default();
                        let county = status["logs"]
                            .as_array()
                            .and_then(|l| l.iter().find(|l| l["member"] == "county-1").cloned())
                            .unwrap_or_default();
                        format!(
                            "{} (peers {}, county-1 size {}, held {})",
                            names[i], peers[i], county["size"], county["entries_held"]
                        )
                    })
                    .collect();
                anyhow::bail!(
                    "{e}: {have} of {} nodes have the checkpoint, quorum {}; missing: {missing:?}",
                    net.nodes.len(),
                    quorum.is_some()
                );
            }
            let mut times: Vec<Duration> = arrived.into_iter().flatten().collect();
            times.sort();
            keep(
                &mut report,
                (
                    format!(
                        "checkpoint propagation to all {size} nodes, round {}",
                        round + 1
                    ),
                    format!(
                        "p50 {}, p95 {}, max {}",
                        ms(percentile(&times, 0.5)),
                        ms(percentile(&times, 0.95)),
                        ms(*times.last().unwrap_or(&Duration::ZERO))
                    ),
                ),
            );
            keep(
                &mut report,
                (
                    format!("publication → 2-cosignature quorum, round {}", round + 1),
                    ms(quorum.unwrap_or_default()),
                ),
            );
        }

        // Equivocation: the county's key signs another tree of the current size and shows it to
        // one witness; time until every node holds the evidence.
        let (real, _) = checkpoint_of(publisher, "county-1").context("checkpoint")?;
        let forged = Checkpoint::new(&real.origin, real.size, Hash::digest(b"another history"))
            .sign(&net.network.keys["county-1"].log)?
            .to_text();
        // The city witnesses every county under either witness policy.
        let city_index = net
            .network
            .keys
            .keys()
            .position(|m| m == "city-1")
            .context("city-1")?;
        let witness = &net.nodes[city_index];
        let shown = Instant::now();
        let answer = post_json(
            &format!("http://{}/log/county-1/add-checkpoint", witness.http_addr),
            format!("old {}\n\n{forged}", real.size).as_bytes(),
        )?;
        anyhow::ensure!(answer.status == 409, "witness answered {}", answer.status);
        let mut caught: Vec<Option<Duration>> = vec![None; net.nodes.len()];
        wait("evidence on every node", || {
            for (i, node) in net.nodes.iter().enumerate() {
                if caught[i].is_none()
                    && get(&format!("http://{}/v1/evidence", node.http_addr))
                        .map(|r| r.json().as_array().is_some_and(|a| !a.is_empty()))
                        .unwrap_or(false)
                {
                    caught[i] = Some(shown.elapsed());
                }
            }
            caught.iter().all(Option::is_some).then_some(())
        })?;
        let mut times: Vec<Duration> = caught.into_iter().flatten().collect();
        times.sort();
        keep(
            &mut report,
            (
                format!("equivocation → evidence on all {size} nodes"),
                format!(
                    "p50 {}, max {}",
                    ms(percentile(&times, 0.5)),
                    ms(*times.last().unwrap_or(&Duration::ZERO))
                ),
            ),
        );
        for node in net.nodes {
            net.runtime.block_on(node.shutdown())?;
        }
    }

    // Catch-up: the city holds N entries before one other member (a county) starts.
    let entries: u64 = if quick { 100_000 } else { 1_000_000 };
    // Two counties witness the city (quorum 2); neither is an auditor, whose audit of the
    // synthetic (non-record) entries would compete for the two cores.
    let pair = TestNetwork::city_with_counties(2)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let member = |name: &str| -> anyhow::Result<std::path::PathBuf> {
        let keys = &pair.keys[name];
        init(
            &pair.genesis_file,
            Some(name),
            &pair.dir.path().join(format!("{name}-data")),
            InitKeys {
                log: Some(&keys.log_key_file),
                witness: Some(&keys.witness_key_file),
                p2p: Some(&keys.p2p_key_file),
            },
            Some("127.0.0.1:0".parse()?),
        )
    };
    let source = runtime.block_on(start(NodeConfig::load(&member("city-1")?)?))?;
    let sequencer = source.sequencer().context("member")?.clone();
    runtime.block_on(async {
        let pad = "x".repeat(440);
        for start_at in (0..entries).step_by(4096) {
            let batch = (start_at..(start_at + 4096).min(entries))
                .map(|k| {
                    let rid = format!("city-1-fill-{k:08}");
                    NewEntry::plain(
                        format!("{{\"rid\":\"{rid}\",\"pad\":\"{pad}\"}}").into_bytes(),
                        Some(rid),
                    )
                })
                .collect();
            sequencer.submit(batch).await?;
        }
        anyhow::Ok(())
    })?;
    let mirror_config = member("county-1")?;
    set_bootstrap(&mirror_config, &[source.p2p_addresses[0].to_string()])?;
    let began = Instant::now();
    let mirror = runtime.block_on(start(NodeConfig::load(&mirror_config)?))?;
    wait("the mirror to catch up", || {
        checkpoint_of(&mirror, "city-1").and_then(|(c, _)| (c.size == entries).then_some(()))
    })?;
    let took = began.elapsed();
    keep(
        &mut report,
        (
            format!("mirror catch-up of a {entries}-entry log (verified, stored)"),
            format!(
                "{:.0} entries/s ({:.1} s)",
                entries as f64 / took.as_secs_f64(),
                took.as_secs_f64()
            ),
        ),
    );

    // Replay: `daylight audit --replay-only` fetches every entry tile of the log over HTTP
    // and checks the tree against the quorum-cosigned checkpoint. The second county is the
    // second witness the quorum needs.
    let second_config = member("county-2")?;
    set_bootstrap(&second_config, &[source.p2p_addresses[0].to_string()])?;
    let second = runtime.block_on(start(NodeConfig::load(&second_config)?))?;
    let policy = Genesis::open(&std::fs::read(&pair.genesis_file)?)?.policy_for("city-1")?;
    let url = format!("http://{}", source.http_addr);
    wait("a quorum-cosigned checkpoint of the filled log", || {
        let note = get(&format!("{url}/log/city-1/checkpoint")).ok()?;
        let trusted = policy.verify(&note.body).ok()?;
        (trusted.checkpoint.size == entries).then_some(())
    })?;
    let out = std::process::Command::new(daylight_tests::cli_binary()?)
        .args(["--json", "audit", "--replay-only", "--genesis"])
        .arg(&pair.genesis_file)
        .args(["--node", &url, "city-1"])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "daylight audit failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let replayed: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let seconds = replayed["logs"][0]["seconds"].as_f64().unwrap_or(f64::NAN);
    keep(
        &mut report,
        (
            format!("`daylight audit --replay-only` of a {entries}-entry log over HTTP"),
            format!("{:.0} entries/s ({seconds:.1} s)", entries as f64 / seconds),
        ),
    );
    runtime.block_on(second.shutdown())?;
    runtime.block_on(mirror.shutdown())?;
    runtime.block_on(source.shutdown())?;

    println!("| measurement | figure |\n|---|---|");
    for (what, figure) in report {
        println!("| {what} | {figure} |");
    }
    Ok(())
}
