//! The publisher node benchmark (issue 4): runs a real node (in this process, with its real
//! HTTP server on loopback and its redb database fsync'd on disk) and reports, in one run:
//!
//! * durable appends per second through `POST /v1/records` at 1, 64 and 4096 records per
//!   submission (each record validated and its signature checked);
//! * submit-to-acknowledge latency, p50 and p99, at an offered 1,000 records/s (open loop);
//! * inclusion proofs served per second over HTTP;
//! * restart time with 1,000,000 entries, and bytes on disk per entry;
//! * as physical references: SHA-256 over the same bytes, Ed25519 verifications per second
//!   (single and batched), and fsyncs per second on the data disk.
//!
//! Run: `cargo run --release -p daylight-tests --bin daylight-bench` (add `-- --quick` for a
//! short smoke run). Prints a Markdown table for `docs/PERFORMANCE.md`.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use daylight_node::config::{NodeConfig, init};
use daylight_node::node::{DATABASE_FILE, start};
use daylight_tests::TestNetwork;
use daylight_verifier::record::{Record, to_entry_bytes};
use daylight_verifier::{KeyType, SigningKey};
use serde_json::json;

/// Client threads requesting proofs (they share the two cores with the server).
const PROOF_CLIENTS: u64 = 2;

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

fn main() -> anyhow::Result<()> {
    // The node's own log lines (start, stop, damage) on stderr when RUST_LOG asks for them.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let quick = std::env::args().any(|a| a == "--quick");
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
    let total: u64 = sizes.iter().map(|(_, n)| n).sum::<u64>() + 10_000 / scale;
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

    // 1. Durable appends per second at three submission sizes, two clients each.
    let mut next = 0usize;
    for (batch, count) in sizes {
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

    // 2. Latency at an offered 1,000 records/s, open loop: each record has a scheduled send
    //    time and its latency counts from then, so queueing delay is included.
    let offered = 1_000u64;
    let count = 10_000 / scale;
    let schedule: Vec<(Instant, Vec<u8>)> = {
        let t0 = Instant::now() + Duration::from_millis(100);
        records[next..next + count as usize]
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
            let url = submit_url.clone();
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

    // 3. Fill to 1,000,000 entries through the sequencer (the durable write path without
    //    HTTP and signature checks: synthetic entries of the same size).
    let target = 1_000_000 / scale;
    let data_dir = network.dir.path().join("county-1-data");
    let db_path = data_dir.join(DATABASE_FILE);
    let pad = "x".repeat(mean_entry as usize - 40);
    let size_now = node_size(&submit_url)?;
    let filled = fill(&runtime, &node, &pad, size_now, target)?;
    report.add(
        "sequencer appends/s, 4096-entry batches, no validation",
        format!("{filled:.0}"),
    );

    // 4. Proofs per second over HTTP, from 4 client threads.
    let proof_base = format!("http://{}/log/county-1/proof/inclusion", node.http_addr);
    let served = AtomicU64::new(0);
    let window = Duration::from_secs(if quick { 1 } else { 5 });
    let began = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..PROOF_CLIENTS {
            let served = &served;
            let proof_base = &proof_base;
            scope.spawn(move || {
                let agent = agent();
                let mut x = t + 1;
                while began.elapsed() < window {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let index = (x >> 20) % target;
                    let url = format!("{proof_base}?index={index}&size={target}");
                    let mut response = agent.get(&url).call().expect("proof request");
                    let _ = response.body_mut().read_to_vec();
                    served.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    report.add(
        &format!("inclusion proofs served/s over HTTP, tree of {target}, {PROOF_CLIENTS} keep-alive clients"),
        format!(
            "{:.0}",
            served.load(Ordering::Relaxed) as f64 / began.elapsed().as_secs_f64()
        ),
    );

    // 4b. The scrub's cost to appends: the same sequencer appends as in 3, first alone, then
    //     while a scrub pass runs over the whole log at the node's default pace.
    let extra = 100_000 / scale;
    let appends = |from: u64| fill(&runtime, &node, &pad, from, from + extra);
    let alone = appends(target)?;
    let scrubbed_before = node.integrity().scrubbed.load(Ordering::Relaxed);
    node.integrity().scrub_now();
    let began = Instant::now();
    let with_scrub = appends(target + extra)?;
    let scrub_rate = (node.integrity().scrubbed.load(Ordering::Relaxed) - scrubbed_before) as f64
        / began.elapsed().as_secs_f64();
    report.add(
        "sequencer appends/s, 4096-entry batches: alone / while the scrub runs at its default pace",
        format!(
            "{alone:.0} / {with_scrub:.0} ({:+.1} %), scrub meanwhile {scrub_rate:.0} entries/s",
            (with_scrub / alone - 1.0) * 100.0
        ),
    );

    // 5. Bytes on disk (while running, then after the graceful shutdown's compaction), and
    //    restart with 1,000,000 entries.
    // Per entry actually logged: 4b appended 2 × `extra` after the `target` of 3.
    let held = target + 2 * extra;
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
        let store = daylight_node::storage::Store::open(&db_path)?;
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
    let node = runtime.block_on(start(NodeConfig::load(&config_path)?))?;
    report.add(
        &format!("restart time with {held} entries (open, verify root, listen)"),
        format!("{:.0} ms", began.elapsed().as_secs_f64() * 1e3),
    );
    runtime.block_on(node.shutdown())?;

    // 5b. A whole scrub pass, unthrottled, in one thread: every entry hashed, every stored
    //     hash compared, the root checked against the signed checkpoint.
    {
        let store = daylight_node::storage::Store::open(&db_path)?;
        let origin = daylight_genesis::names::origin(daylight_tests::NETWORK, "county-1");
        let log = daylight_node::integrity::CheckedLog {
            number: store.find_log(&origin)?.context("the county's log")?,
            origin,
            log_key: network.keys["county-1"].log.verifier(),
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
    }

    // 6. Physical references.
    references(&mut report, &records, mean_entry as usize, &data_dir)?;

    println!("| measurement | figure |\n|---|---|");
    for (what, figure) in &report.0 {
        println!("| {what} | {figure} |");
    }
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
                    daylight_node::storage::NewEntry::plain(
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

fn references(
    report: &mut Report,
    records: &[serde_json::Value],
    entry_size: usize,
    data_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let entries: Vec<Vec<u8>> = records
        .iter()
        .take(20_000)
        .map(|r| to_entry_bytes(&serde_json::from_value(r.clone()).expect("record")))
        .collect();
    let bytes: usize = entries.iter().map(Vec::len).sum();
    let began = Instant::now();
    let mut sink = 0u8;
    for _ in 0..10 {
        for e in &entries {
            sink ^= daylight_verifier::merkle::leaf_hash(e).0[0];
        }
    }
    let elapsed = began.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    report.add(
        "SHA-256 leaf hashing of the same entries, one core",
        format!(
            "{:.0} MB/s ({:.0} entries/s)",
            10.0 * bytes as f64 / elapsed / 1e6,
            10.0 * entries.len() as f64 / elapsed
        ),
    );

    let key = SigningKey::generate("bench/key", KeyType::Ed25519)?;
    let messages: Vec<Vec<u8>> = (0..4096u32)
        .map(|i| {
            let mut m = vec![7u8; entry_size];
            m[..4].copy_from_slice(&i.to_le_bytes());
            m
        })
        .collect();
    let signatures: Vec<ed25519_dalek::Signature> = messages
        .iter()
        .map(|m| ed25519_dalek::Signature::from_bytes(&key.sign_raw(m)))
        .collect();
    let verifier = key.verifier();
    let began = Instant::now();
    for (m, s) in messages.iter().zip(&signatures) {
        assert!(verifier.verify_raw(m, &s.to_bytes()));
    }
    report.add(
        "Ed25519 verifications/s, one at a time (strict), one core",
        format!(
            "{:.0}",
            messages.len() as f64 / began.elapsed().as_secs_f64()
        ),
    );
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let keys = vec![*verifier.ed25519(); messages.len()];
    let began = Instant::now();
    for ((m, s), k) in refs
        .chunks(64)
        .zip(signatures.chunks(64))
        .zip(keys.chunks(64))
    {
        ed25519_dalek::verify_batch(m, s, k).expect("batch verifies");
    }
    report.add(
        "Ed25519 verifications/s, batches of 64, one core",
        format!(
            "{:.0}",
            messages.len() as f64 / began.elapsed().as_secs_f64()
        ),
    );

    let path = data_dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path)?;
    let block = vec![1u8; 4096];
    let began = Instant::now();
    let mut n = 0u64;
    while began.elapsed() < Duration::from_secs(2) {
        file.write_all(&block)?;
        file.sync_data()?;
        n += 1;
    }
    report.add(
        "fsyncs/s on the data disk (4 KiB write + fdatasync)",
        format!("{:.0}", n as f64 / began.elapsed().as_secs_f64()),
    );
    drop(file);
    std::fs::remove_file(path)?;
    Ok(())
}
