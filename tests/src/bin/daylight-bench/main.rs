//! The publisher node benchmark (issue 4): runs a real node (in this process, with its real
//! HTTP server on loopback and its redb database fsync'd on disk) and reports, in one run:
//!
//! * durable appends per second through `POST /v1/records` at 1, 64 and 4096 records per
//!   submission (each record validated and its signature checked);
//! * submit-to-acknowledge latency, p50 and p99, at an offered 1,000 records/s (open loop);
//! * inclusion proofs served per second over HTTP;
//! * full hash tiles and entry bundles served per second over HTTP (first reads and re-reads);
//! * restart time with 1,000,000 entries, and bytes on disk per entry;
//! * as physical references: SHA-256 over the same bytes, Ed25519 verifications per second
//!   (single and batched), and fsyncs per second on the data disk;
//! * the record checks alone, one thread: records checked per second by the submission
//!   check (`Submitter::check_records`), and by the check as it was before issue 13 (parse,
//!   field rules, privacy guard, signers, then JCS for the size, the signing bytes and the
//!   entry) rebuilt from the verifier's public functions, so the gain shows in one run;
//! * side by side with Hypercore 11 (issue 13, item 4), on the same records: durable appends
//!   through the sequencer in 4096-entry batches against `core.append()` of the same batches,
//!   and a mirror's catch-up of those entries (a second node over libp2p, every entry
//!   verified and stored) against Hypercore's replication of the same blocks to a second
//!   process over TCP. Hypercore runs as `node tests/hypercore/bench.mjs`; without `node` or
//!   `tests/hypercore/node_modules` (`npm ci` there) the comparison is skipped, and says so.
//!
//! * nginx serving a static copy of the same tiles beside the node, as a reference for the
//!   tile rates.
//!
//! Run: `cargo run --release -p daylight-tests --bin daylight-bench` (add `-- --quick` for a
//! short smoke run, `-- --only proofs,tiles` for some parts: see [`Parts`]). Prints a Markdown
//! table for `docs/PERFORMANCE.md`.
//!
//! The code is split by job: this file runs the parts in order; `checks.rs` measures the
//! record checks and the physical references, `hypercore.rs` the side-by-side comparison with
//! Hypercore, `serving.rs` proofs and tiles over HTTP (the node's and nginx's).

mod checks;
mod hypercore;
mod lean_http;
mod serving;

/// The allocator of the `daylight-node` binary (see `node/src/main.rs`), so that the node
/// measured here allocates as the one that runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use daylight_node::config::{NodeConfig, init};
use daylight_node::node::{DATABASE_FILE, start};
use daylight_tests::TestNetwork;
use daylight_verifier::record::{
    MemberId, Record, SignedRecord, check_privacy, prepare_signatures, to_entry_bytes, validate,
};
use daylight_verifier::{KeyType, SigningKey};
use serde_json::json;

/// Client threads requesting proofs (they share the two cores with the server).
const PROOF_CLIENTS: u64 = 2;
/// Keep-alive connections for the tile measurements (node and nginx alike).
const TILE_CLIENTS: u64 = 2;

struct Report(Vec<(String, String)>);

impl Report {
    fn add(&mut self, what: &str, figure: String) {
        eprintln!("{what}: {figure}");
        self.0.push((what.to_string(), figure));
    }
}

/// Signed allocations of 300–500 bytes (the purpose text varies the size).
fn signed_records(operator: &SigningKey, from: u64, n: u64) -> Vec<serde_json::Value> {
    (from..from + n)
        .map(|i| {
            // 300–500 bytes: the purpose text varies the size.
            let purpose = format!(
                "Village road repair, section {i}{}",
                " and drains".repeat((i % 4) as usize)
            );
            let record = Record::from_value(json!({
                "v": 1, "rid": format!("county-1-a-{i}"), "kind": "allocation",
                "event_date": "2024-03-05", "program": "r24",
                "payer": {"member": "county-1"},
                "payee": {"org": {"name": "Coop"}},
                "amount": {"minor": format!("{}", 100_000 + i), "currency": "CNY"},
                "purpose": purpose
            }))
            .expect("valid record");
            serde_json::to_value(record.sign(operator)).expect("serializes")
        })
        .collect()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn post(agent: &ureq::Agent, url: &str, body: &[u8]) -> anyhow::Result<()> {
    let response = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body)?;
    anyhow::ensure!(
        response.status() == 201,
        "submission refused: {}",
        response.status()
    );
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Which parts of the bench run (`--only a,b,...`; all of them without it). The parts that
/// read a log of 1,000,000 entries (`proofs`, `tiles`, `nginx`, `scrub`, `disk`) first fill
/// it through the sequencer, which is measured too.
struct Parts(Option<Vec<String>>);

impl Parts {
    /// Every part's name, in the order they run.
    /// (`catchup` is `compare` without Hypercore's side: our appends and catch-up alone.)
    const ALL: [&'static str; 11] = [
        "checks", "compare", "catchup", "appends", "latency", "proofs", "tiles", "nginx", "scrub",
        "disk", "refs",
    ];

    fn from_args() -> anyhow::Result<Parts> {
        let args: Vec<String> = std::env::args().collect();
        let Some(at) = args.iter().position(|a| a == "--only") else {
            return Ok(Parts(None));
        };
        let list = args.get(at + 1).context("--only needs a list of parts")?;
        let names: Vec<String> = list.split(',').map(str::to_string).collect();
        for name in &names {
            anyhow::ensure!(
                Parts::ALL.contains(&name.as_str()),
                "unknown part {name:?}; the parts are {}",
                Parts::ALL.join(", ")
            );
        }
        Ok(Parts(Some(names)))
    }

    fn has(&self, name: &str) -> bool {
        self.0
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name))
    }

    /// Whether any part needs the log filled to 1,000,000 entries.
    fn needs_fill(&self) -> bool {
        ["proofs", "tiles", "nginx", "scrub", "disk"]
            .iter()
            .any(|p| self.has(p))
    }
}

fn main() -> anyhow::Result<()> {
    // As the `daylight-node` binary does first thing (decision 0024).
    daylight_node::memory::use_small_pages();
    // The node's own log lines (start, stop, damage) on stderr when RUST_LOG asks for them.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!(
            "daylight-bench [--quick] [--only PART,...] [--window SECONDS]\n\
             parts: {} (default: all)\n\
             --quick: a tenth of the scale, one-second windows\n\
             --window: how long the proof and tile re-read measurements run (default 5 s)",
            Parts::ALL.join(", ")
        );
        return Ok(());
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let parts = Parts::from_args()?;
    let scale = if quick { 10 } else { 1 };
    let mut report = Report(Vec::new());

    let network = TestNetwork::city_with_counties(1)?;
    let operator = network.keys["county-1"].operator.clone();
    let config_path = init(
        &network.genesis_file,
        Some("county-1"),
        &network.dir.path().join("county-1-data"),
        daylight_node::config::InitKeys {
            log: Some(&network.keys["county-1"].log_key_file),
            witness: Some(&network.keys["county-1"].witness_key_file),
            p2p: Some(&network.keys["county-1"].p2p_key_file),
        },
        Some("127.0.0.1:0".parse()?),
    )?;
    let runtime = tokio::runtime::Runtime::new()?;
    let node = runtime.block_on(start(NodeConfig::load(&config_path)?))?;
    let submit_url = format!("http://{}/v1/records", node.http_addr);

    // Records are signed before timing: signing is the clerk's cost, not the node's.
    let sizes = [
        (1u64, 2_000 / scale),
        (64, 64 * 300 / scale),
        (4096, 4096 * 24 / scale),
    ];
    let signed = ["checks", "appends", "latency", "refs"]
        .iter()
        .any(|p| parts.has(p));
    let total: u64 = if signed {
        sizes.iter().map(|(_, n)| n).sum::<u64>() + 10_000 / scale
    } else {
        100
    };
    eprintln!("signing {total} records...");
    let records = signed_records(&operator, 0, total);
    let entry_sizes: Vec<usize> = records
        .iter()
        .map(|r| to_entry_bytes(&serde_json::from_value(r.clone()).expect("record")).len())
        .collect();
    let mean_entry = entry_sizes.iter().sum::<usize>() as f64 / entry_sizes.len() as f64;
    report.add(
        "record size (JCS entry bytes)",
        format!(
            "mean {mean_entry:.0} B (min {}, max {})",
            entry_sizes.iter().min().unwrap(),
            entry_sizes.iter().max().unwrap()
        ),
    );

    // 0. The record checks alone, one thread, now and as before issue 13.
    if parts.has("checks") {
        let bodies: Vec<Vec<u8>> = records
            .iter()
            .take(20_000 / scale as usize)
            .map(|r| serde_json::to_vec(r).expect("serializes"))
            .collect();
        checks::checks_alone(&mut report, &network.genesis_file, &bodies)?;
    }

    // 0b. Side by side with Hypercore, on a log that holds nothing else yet: the same records
    //     appended by both in 4096-entry batches, then caught up by a mirror / replicated.
    if parts.has("compare") || parts.has("catchup") {
        let compared = 4096 * 24 / scale;
        eprintln!("signing {compared} records for the Hypercore comparison...");
        let same = signed_records(&operator, total, compared);
        let entries: Vec<(String, Vec<u8>)> = same
            .iter()
            .map(|r| {
                let record: SignedRecord = serde_json::from_value(r.clone()).expect("record");
                (
                    record.record.rid.as_str().to_string(),
                    to_entry_bytes(&record),
                )
            })
            .collect();
        drop(same);
        // Each side starts on a disk with nothing left to write back: Hypercore does not
        // fsync, so without this the kernel writes its data back while the next measurement
        // (ours) runs, and that measurement pays for it.
        hypercore::flush_disk("our appends")?;
        let ours = hypercore::append_entries(&runtime, &node, &entries)?;
        let peer = match parts.has("compare") {
            true => {
                hypercore::flush_disk("Hypercore's runs")?;
                hypercore::run_hypercore(&network.dir.path().join("hypercore"), &entries)?
            }
            false => None,
        };
        let caught_up = hypercore::catch_up(&runtime, &network, &node, compared)?;
        hypercore::compare(&mut report, ours, caught_up, peer.as_ref());
    }

    // 1. Durable appends per second at three submission sizes, two clients each.
    let mut next = 0usize;
    for (batch, count) in sizes {
        if !parts.has("appends") {
            break;
        }
        let chunk: Vec<Vec<u8>> = records[next..next + count as usize]
            .chunks(batch as usize)
            .map(|c| {
                if batch == 1 {
                    serde_json::to_vec(&c[0]).unwrap()
                } else {
                    serde_json::to_vec(c).unwrap()
                }
            })
            .collect();
        next += count as usize;
        let clients = if batch == 1 { 1 } else { 2 };
        let bodies = Arc::new(Mutex::new(chunk.into_iter()));
        let began = Instant::now();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let handles: Vec<_> = (0..clients)
                .map(|_| {
                    let bodies = bodies.clone();
                    let url = submit_url.clone();
                    scope.spawn(move || -> anyhow::Result<()> {
                        let agent = agent();
                        loop {
                            let Some(body) = bodies.lock().unwrap().next() else {
                                return Ok(());
                            };
                            post(&agent, &url, &body)?;
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("client thread")?;
            }
            Ok(())
        })?;
        let rate = count as f64 / began.elapsed().as_secs_f64();
        report.add(
            &format!("durable appends/s, {batch} record(s) per submission, {clients} client(s)"),
            format!("{rate:.0}"),
        );
    }

    // 2. Latency at an offered 1,000 records/s.
    if parts.has("latency") {
        let from = sizes.iter().map(|(_, n)| *n as usize).sum();
        latency(&mut report, &submit_url, &records[from..], 10_000 / scale)?;
    }

    // 3. Fill to 1,000,000 entries through the sequencer (the durable write path without
    //    HTTP and signature checks: synthetic entries of the same size).
    let target = 1_000_000 / scale;
    let data_dir = network.dir.path().join("county-1-data");
    let pad = "x".repeat(mean_entry as usize - 40);
    if !parts.needs_fill() {
        if parts.has("refs") {
            checks::references(&mut report, &records, mean_entry as usize, &data_dir)?;
        }
        runtime.block_on(node.shutdown())?;
        return print(&report);
    }
    let size_now = node_size(&submit_url)?;
    let filled = fill(&runtime, &node, &pad, size_now, target)?;
    report.add(
        "sequencer appends/s, 4096-entry batches, no validation",
        format!("{filled:.0}"),
    );

    // 4. Proofs, tiles (the node's, then nginx serving the same tiles) per second over HTTP.
    let window = match std::env::args().skip_while(|a| a != "--window").nth(1) {
        Some(seconds) => Duration::from_secs_f64(seconds.parse().context("--window SECONDS")?),
        None => Duration::from_secs(if quick { 1 } else { 5 }),
    };
    if parts.has("proofs") {
        serving::proofs_served(&mut report, node.http_addr, target, window)?;
    }
    if parts.has("tiles") {
        serving::tiles_served(&mut report, node.http_addr, target, window)?;
    }
    if parts.has("nginx") {
        serving::nginx_served(
            &mut report,
            node.http_addr,
            &network.dir.path().join("static"),
            target,
            window,
        )?;
    }

    // 4b. The scrub's cost to appends: the same sequencer appends as in 3, first alone, then
    //     while a scrub pass runs over the whole log at the node's default pace.
    if parts.has("scrub") {
        let extra = 100_000 / scale;
        let appends = |from: u64| fill(&runtime, &node, &pad, from, from + extra);
        let alone = appends(target)?;
        let scrubbed_before = node.integrity().scrubbed.load(Ordering::Relaxed);
        node.integrity().scrub_now();
        let began = Instant::now();
        let with_scrub = appends(target + extra)?;
        let scrub_rate = (node.integrity().scrubbed.load(Ordering::Relaxed) - scrubbed_before)
            as f64
            / began.elapsed().as_secs_f64();
        report.add(
            "sequencer appends/s, 4096-entry batches: alone / while the scrub runs at its default pace",
            format!(
                "{alone:.0} / {with_scrub:.0} ({:+.1} %), scrub meanwhile {scrub_rate:.0} entries/s",
                (with_scrub / alone - 1.0) * 100.0
            ),
        );
    }

    // 5. Bytes on disk (while running, then after the graceful shutdown's compaction), and
    //    restart with 1,000,000 entries.
    let held = node_size(&submit_url)?;
    if !parts.has("disk") {
        runtime.block_on(node.shutdown())?;
    } else {
        disk_and_restart(
            &mut report,
            &runtime,
            node,
            &network,
            &config_path,
            held,
            mean_entry,
        )?;
    }

    // 6. Physical references.
    if parts.has("refs") {
        checks::references(&mut report, &records, mean_entry as usize, &data_dir)?;
    }
    print(&report)
}

/// Prints the report as a Markdown table.
fn print(report: &Report) -> anyhow::Result<()> {
    println!("| measurement | figure |\n|---|---|");
    for (what, figure) in &report.0 {
        println!("| {what} | {figure} |");
    }
    Ok(())
}

/// Latency at an offered `offered` records/s, open loop: each record has a scheduled send
/// time and its latency counts from then, so queueing delay is included.
fn latency(
    report: &mut Report,
    submit_url: &str,
    records: &[serde_json::Value],
    count: u64,
) -> anyhow::Result<()> {
    let offered = 1_000u64;
    let schedule: Vec<(Instant, Vec<u8>)> = {
        let t0 = Instant::now() + Duration::from_millis(100);
        records[..count as usize]
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let at = t0 + Duration::from_micros(i as u64 * 1_000_000 / offered);
                (at, serde_json::to_vec(r).unwrap())
            })
            .collect()
    };
    let (send, receive) = mpsc::channel();
    for item in schedule {
        send.send(item)?;
    }
    drop(send);
    let receive = Arc::new(Mutex::new(receive));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(count as usize)));
    std::thread::scope(|scope| {
        for _ in 0..64 {
            let receive = receive.clone();
            let latencies = latencies.clone();
            let url = submit_url.to_string();
            scope.spawn(move || {
                let agent = agent();
                loop {
                    let Ok((at, body)) = receive.lock().unwrap().recv() else {
                        return;
                    };
                    // Open-loop pacing: wait for this record's scheduled send time.
                    if let Some(wait) = at.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    post(&agent, &url, &body).expect("latency submission");
                    latencies.lock().unwrap().push(at.elapsed());
                }
            });
        }
    });
    let mut latencies = latencies.lock().unwrap().clone();
    latencies.sort();
    report.add(
        &format!("submit→ack latency at {offered} records/s offered ({count} records)"),
        format!(
            "p50 {:.1} ms, p99 {:.1} ms",
            percentile(&latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3
        ),
    );
    Ok(())
}

/// Bytes on disk (while running, then after the graceful shutdown's compaction), restart
/// time, and a whole scrub pass, unthrottled, in one thread, over the `held` entries.
fn disk_and_restart(
    report: &mut Report,
    runtime: &tokio::runtime::Runtime,
    node: daylight_node::node::RunningNode,
    network: &TestNetwork,
    config_path: &std::path::Path,
    held: u64,
    mean_entry: f64,
) -> anyhow::Result<()> {
    let db_path = network.dir.path().join("county-1-data").join(DATABASE_FILE);
    let disk = std::fs::metadata(&db_path)?.len();
    report.add(
        &format!("bytes on disk per entry while running ({held} entries)"),
        format!("{:.0}", disk as f64 / held as f64),
    );
    let began = Instant::now();
    runtime.block_on(node.shutdown())?;
    let shutdown = began.elapsed();
    let disk = std::fs::metadata(&db_path)?.len();
    report.add(
        &format!("bytes on disk per entry after shutdown ({held} entries of ~{mean_entry:.0} B)"),
        format!(
            "{:.0} (goal ≤ {:.0})",
            disk as f64 / held as f64,
            1.5 * mean_entry + 100.0
        ),
    );
    report.add(
        "graceful shutdown time (includes compaction)",
        format!("{:.1} s", shutdown.as_secs_f64()),
    );
    {
        let store = daylight_node::store::Store::open(&db_path)?;
        let space = store.space()?;
        let per = |b: u64| b as f64 / held as f64;
        report.add(
            "  of which per entry: allocated pages / keys+values / branch metadata / fragmentation",
            format!(
                "{:.0} / {:.0} / {:.0} / {:.0}",
                per(space.allocated),
                per(space.stored),
                per(space.metadata),
                per(space.fragmented)
            ),
        );
    }
    let began = Instant::now();
    let node = runtime.block_on(start(NodeConfig::load(config_path)?))?;
    report.add(
        &format!("restart time with {held} entries (open, verify root, listen)"),
        format!("{:.0} ms", began.elapsed().as_secs_f64() * 1e3),
    );
    runtime.block_on(node.shutdown())?;

    // A whole scrub pass, unthrottled, in one thread: every entry hashed, every stored hash
    // compared, the root checked against the signed checkpoint.
    let store = daylight_node::store::Store::open(&db_path)?;
    let origin = daylight_genesis::names::origin(daylight_tests::NETWORK, "county-1");
    let log = daylight_node::held::HeldLog {
        member: "county-1".to_string(),
        number: store.find_log(&origin)?.context("the county's log")?,
        origin,
        policy: daylight_verifier::policy::LogPolicy::new(
            network.keys["county-1"].log.verifier(),
            Vec::new(),
            0,
        )?,
        peer: None,
        own: true,
    };
    let size = store.size(log.number)?;
    let began = Instant::now();
    let damage =
        daylight_node::integrity::verify_log(&store, &log).map_err(|e| anyhow::anyhow!(e))?;
    anyhow::ensure!(damage.is_none(), "the scrub found damage: {damage:?}");
    report.add(
        &format!("scrub, unthrottled, one thread ({size} entries)"),
        format!(
            "{:.0} entries/s",
            size as f64 / began.elapsed().as_secs_f64()
        ),
    );
    Ok(())
}

/// Appends synthetic entries `from..to` (of the size of the signed records, padded with
/// `pad`) through the sequencer in 4096-entry batches: the durable write path without HTTP or
/// signature checks. Returns appends per second.
fn fill(
    runtime: &tokio::runtime::Runtime,
    node: &daylight_node::node::RunningNode,
    pad: &str,
    from: u64,
    to: u64,
) -> anyhow::Result<f64> {
    let sequencer = node.sequencer().context("a member node has a sequencer")?;
    runtime.block_on(async {
        let began = Instant::now();
        let mut i = from;
        while i < to {
            let n = (to - i).min(4096);
            let entries = (i..i + n)
                .map(|k| {
                    daylight_node::store::NewEntry::plain(
                        format!("{{\"rid\":\"county-1-fill-{k:08}\",\"pad\":\"{pad}\"}}")
                            .into_bytes(),
                        Some(format!("county-1-fill-{k:08}")),
                    )
                })
                .collect();
            sequencer.submit(entries).await?;
            i += n;
        }
        anyhow::Ok((to - from) as f64 / began.elapsed().as_secs_f64())
    })
}

fn node_size(submit_url: &str) -> anyhow::Result<u64> {
    let url = submit_url.replace("/v1/records", "/log/county-1/checkpoint");
    let mut response = agent().get(&url).call()?;
    let text = response.body_mut().read_to_string()?;
    text.lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .context("checkpoint size")
}
