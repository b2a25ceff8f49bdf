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
use daylight_verifier::record::{
    MemberId, Record, SignedRecord, check_privacy, prepare_signatures, to_entry_bytes, validate,
};
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

    // 0. The record checks alone, one thread, now and as before issue 13.
    let bodies: Vec<Vec<u8>> = records
        .iter()
        .take(20_000 / scale as usize)
        .map(|r| serde_json::to_vec(r).expect("serializes"))
        .collect();
    checks_alone(&mut report, &network.genesis_file, &bodies)?;

    // 0b. Side by side with Hypercore, on a log that holds nothing else yet: the same records
    //     appended by both in 4096-entry batches, then caught up by a mirror / replicated.
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
    let ours = append_entries(&runtime, &node, &entries)?;
    let hypercore = run_hypercore(&network.dir.path().join("hypercore"), &entries)?;
    let caught_up = catch_up(&runtime, &network, &node, compared)?;
    compare(&mut report, ours, caught_up, hypercore.as_ref());
    drop(entries);

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

    // 4a. Full tiles served per second over HTTP.
    tiles_served(&mut report, node.http_addr, target, window)?;

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
    let node = runtime.block_on(start(NodeConfig::load(&config_path)?))?;
    report.add(
        &format!("restart time with {held} entries (open, verify root, listen)"),
        format!("{:.0} ms", began.elapsed().as_secs_f64() * 1e3),
    );
    runtime.block_on(node.shutdown())?;

    // 5b. A whole scrub pass, unthrottled, in one thread: every entry hashed, every stored
    //     hash compared, the root checked against the signed checkpoint.
    {
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
    // The node verifies each chunk of a submission (`submit::CHUNK` records) as one batch.
    for batch in [64, 256, 1024] {
        let began = Instant::now();
        for ((m, s), k) in refs
            .chunks(batch)
            .zip(signatures.chunks(batch))
            .zip(keys.chunks(batch))
        {
            ed25519_dalek::verify_batch(m, s, k).expect("batch verifies");
        }
        report.add(
            &format!("Ed25519 verifications/s, batches of {batch}, one core"),
            format!(
                "{:.0}",
                messages.len() as f64 / began.elapsed().as_secs_f64()
            ),
        );
    }

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

/// Records checked per second on one thread: by the node's submission check (each record's
/// checks, then the chunk's signatures in one Ed25519 batch, as `POST /v1/records` does), and
/// by the checks as they ran before issue 13, rebuilt from the verifier's public functions
/// (full parse into a JSON tree, field rules with a JCS pass to measure the size, privacy
/// guard, signers with a JCS pass for the signing bytes, a JCS pass for the entry bytes),
/// with the same batch verification, so the two rows differ only in the preparation.
fn checks_alone(
    report: &mut Report,
    genesis_file: &std::path::Path,
    bodies: &[Vec<u8>],
) -> anyhow::Result<()> {
    let genesis = daylight_genesis::Genesis::open(&std::fs::read(genesis_file)?)?;
    let submitter = daylight_node::publish::submit::Submitter::from_genesis(&genesis, "county-1")?;
    let keys = genesis.accepted_keys("county-1")?;
    let member = MemberId::parse("county-1").map_err(|e| anyhow::anyhow!("{e}"))?;
    let chunk = 256;
    for round in 0..2 {
        let began = Instant::now();
        for (n, records) in bodies.chunks(chunk).enumerate() {
            let entries = submitter
                .check_records(n * chunk, records)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::hint::black_box(entries);
        }
        let now = bodies.len() as f64 / began.elapsed().as_secs_f64();
        let began = Instant::now();
        for records in bodies.chunks(chunk) {
            let mut messages = Vec::with_capacity(records.len());
            let mut signatures = Vec::with_capacity(records.len());
            let mut signers = Vec::with_capacity(records.len());
            let mut kept = Vec::with_capacity(records.len());
            for json in records {
                let record = SignedRecord::from_json(json).map_err(|e| anyhow::anyhow!("{e}"))?;
                validate(&record, &member).map_err(|e| anyhow::anyhow!("{e}"))?;
                check_privacy(&record).map_err(|e| anyhow::anyhow!("{e}"))?;
                let pending =
                    prepare_signatures(&record, &keys).map_err(|e| anyhow::anyhow!("{e}"))?;
                let entry = to_entry_bytes(&record);
                for (key, sig) in &pending.signatures {
                    signers.push(*key.ed25519());
                    signatures.push(ed25519_dalek::Signature::from_bytes(sig));
                }
                messages.push(pending.message);
                kept.push((record, entry));
            }
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            ed25519_dalek::verify_batch(&refs, &signatures, &signers)
                .map_err(|e| anyhow::anyhow!("batch: {e}"))?;
            std::hint::black_box(kept);
        }
        let before = bodies.len() as f64 / began.elapsed().as_secs_f64();
        // The first round warms caches and the per-thread key memory; the second is reported.
        if round == 1 {
            report.add(
                &format!(
                    "record checks alone, one thread, {}-record chunks (schema, JCS form, privacy, signers, batched Ed25519): now / as before issue 13",
                    chunk
                ),
                format!(
                    "{now:.0} / {before:.0} records/s ({:.2}×)",
                    now / before
                ),
            );
        }
    }
    Ok(())
}

/// Appends `entries` (rid, entry bytes) through the sequencer in 4096-entry batches, each
/// batch one fsync'd commit, without validation. Returns appends per second.
fn append_entries(
    runtime: &tokio::runtime::Runtime,
    node: &daylight_node::node::RunningNode,
    entries: &[(String, Vec<u8>)],
) -> anyhow::Result<f64> {
    let sequencer = node.sequencer().context("a member node has a sequencer")?;
    runtime.block_on(async {
        let began = Instant::now();
        for batch in entries.chunks(4096) {
            let batch = batch
                .iter()
                .map(|(rid, entry)| {
                    daylight_node::store::NewEntry::plain(entry.clone(), Some(rid.clone()))
                })
                .collect();
            sequencer.submit(batch).await?;
        }
        anyhow::Ok(entries.len() as f64 / began.elapsed().as_secs_f64())
    })
}

/// What `tests/hypercore/bench.mjs` measured.
struct Hypercore {
    /// Appends/s, 4096-block batches, Hypercore's default durability (no fsync per batch).
    append: f64,
    /// Appends/s with a RocksDB flush (synced) after every batch.
    append_flushed: f64,
    /// Blocks/s replicated to a second process over TCP on loopback.
    replicate: f64,
}

/// Runs the Hypercore peer on the same entry bytes, or says why it cannot and returns `None`.
fn run_hypercore(
    dir: &std::path::Path,
    entries: &[(String, Vec<u8>)],
) -> anyhow::Result<Option<Hypercore>> {
    let script_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("hypercore");
    let skip = |why: String| {
        eprintln!("Hypercore comparison skipped: {why}");
        Ok(None)
    };
    match std::process::Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => eprintln!(
            "Hypercore peer: node {}",
            String::from_utf8_lossy(&out.stdout).trim()
        ),
        _ => return skip("`node` is not on the PATH".into()),
    }
    if !script_dir.join("node_modules/hypercore").is_dir() {
        return skip(format!(
            "Hypercore is not installed: run `npm ci` in {}",
            script_dir.display()
        ));
    }
    std::fs::create_dir_all(dir)?;
    let file = dir.join("records.jsonl");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        for (_, entry) in entries {
            // JCS text holds no raw newline, so one record per line.
            out.write_all(entry)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    let run = |extra: &[&str]| -> anyhow::Result<Vec<serde_json::Value>> {
        let out = std::process::Command::new("node")
            .arg(script_dir.join("bench.mjs"))
            .args(["--records"])
            .arg(&file)
            .args(["--batch", "4096", "--dir"])
            .arg(dir.join("cores"))
            .args(extra)
            .stderr(std::process::Stdio::inherit())
            .output()?;
        anyhow::ensure!(out.status.success(), "the Hypercore bench failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| Ok(serde_json::from_str(l)?))
            .collect()
    };
    let figure = |lines: &[serde_json::Value], what: &str| -> anyhow::Result<f64> {
        lines
            .iter()
            .find(|l| l["what"] == what)
            .and_then(|l| l["per_second"].as_f64())
            .with_context(|| format!("the Hypercore bench printed no {what} figure"))
    };
    let default = run(&[])?;
    let flushed = run(&["--append-only", "--flush"])?;
    std::fs::remove_file(&file)?;
    Ok(Some(Hypercore {
        append: figure(&default, "append")?,
        append_flushed: figure(&flushed, "append")?,
        replicate: figure(&default, "replicate")?,
    }))
}

/// Starts the city's node as a mirror of the county's log (which holds `entries` entries),
/// dialling the county's node, and returns entries/s from its start until it serves the
/// county's checkpoint of that size (every entry fetched over libp2p, verified and stored).
/// The mirror is stopped again, so it does not share the cores with later measurements.
fn catch_up(
    runtime: &tokio::runtime::Runtime,
    network: &TestNetwork,
    source: &daylight_node::node::RunningNode,
    entries: u64,
) -> anyhow::Result<f64> {
    let keys = &network.keys["city-1"];
    let config = init(
        &network.genesis_file,
        Some("city-1"),
        &network.dir.path().join("city-1-data"),
        daylight_node::config::InitKeys {
            log: Some(&keys.log_key_file),
            witness: Some(&keys.witness_key_file),
            p2p: Some(&keys.p2p_key_file),
        },
        Some("127.0.0.1:0".parse()?),
    )?;
    daylight_tests::set_bootstrap(&config, &[source.p2p_addresses[0].to_string()])?;
    let began = Instant::now();
    let mirror = runtime.block_on(start(NodeConfig::load(&config)?))?;
    let url = format!("http://{}/v1/records", mirror.http_addr);
    loop {
        if node_size(&url).is_ok_and(|size| size >= entries) {
            break;
        }
        anyhow::ensure!(
            began.elapsed() < Duration::from_secs(600),
            "the mirror did not catch up within 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let rate = entries as f64 / began.elapsed().as_secs_f64();
    runtime.block_on(mirror.shutdown())?;
    Ok(rate)
}

/// Reports the Hypercore comparison: both figures and their ratio.
fn compare(report: &mut Report, ours: f64, caught_up: f64, hypercore: Option<&Hypercore>) {
    let Some(h) = hypercore else {
        report.add(
            "durable appends/s, the comparison records, 4096-entry batches (Hypercore skipped)",
            format!("{ours:.0}"),
        );
        report.add(
            "mirror catch-up of the same entries (Hypercore skipped)",
            format!("{caught_up:.0} entries/s"),
        );
        return;
    };
    report.add(
        "durable appends/s of the same records, 4096 per batch: daylight sequencer (fsync'd) / Hypercore 11 default (no fsync per batch)",
        format!(
            "{ours:.0} / {:.0} = {:.2}× (goal ≥ 1.5×)",
            h.append,
            ours / h.append
        ),
    );
    report.add(
        "  the same, against Hypercore with a synced RocksDB flush after every batch",
        format!(
            "{ours:.0} / {:.0} = {:.2}×",
            h.append_flushed,
            ours / h.append_flushed
        ),
    );
    report.add(
        "mirror catch-up of the same entries: daylight (libp2p, verified, stored) / Hypercore replication (TCP loopback, two processes)",
        format!(
            "{caught_up:.0} / {:.0} entries/s = {:.1}× (goal ≥ 20×)",
            h.replicate,
            caught_up / h.replicate
        ),
    );
}

/// Full tiles served per second over HTTP (issue 13, item 2): level-0 hash tiles and entry
/// bundles of a tree of `size`, from [`PROOF_CLIENTS`] keep-alive clients. Two figures per
/// kind: the first read of every full tile once (storage read and integrity check), then
/// random re-reads for `window` (what the node's hot-tile cache holds, and storage for the
/// rest). Every answer is checked for status 200 and, for hash tiles, 8,192 bytes.
fn tiles_served(
    report: &mut Report,
    http: std::net::SocketAddr,
    size: u64,
    window: Duration,
) -> anyhow::Result<()> {
    let full = size / 256;
    anyhow::ensure!(full > 0, "no full tile in a tree of {size}");
    for kind in ["0", "entries"] {
        let path = |index: u64| {
            format!(
                "http://{http}/log/county-1/tile/{kind}/{}",
                daylight_verifier::tile::encode_index(index)
            )
        };
        let fetch = |agent: &ureq::Agent, index: u64| -> anyhow::Result<()> {
            let mut response = agent.get(&path(index)).call()?;
            anyhow::ensure!(
                response.status() == 200,
                "tile {kind}/{index}: {}",
                response.status()
            );
            let body = response.body_mut().read_to_vec()?;
            anyhow::ensure!(
                kind != "0" || body.len() == 8192,
                "hash tile {index}: {} bytes",
                body.len()
            );
            Ok(())
        };
        // First reads: every full tile once, shared out between the clients.
        let next = AtomicU64::new(0);
        let began = Instant::now();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let handles: Vec<_> = (0..PROOF_CLIENTS)
                .map(|_| {
                    let (next, fetch) = (&next, &fetch);
                    scope.spawn(move || -> anyhow::Result<()> {
                        let agent = agent();
                        loop {
                            let index = next.fetch_add(1, Ordering::Relaxed);
                            if index >= full {
                                return Ok(());
                            }
                            fetch(&agent, index)?;
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("tile client")?;
            }
            Ok(())
        })?;
        let first = full as f64 / began.elapsed().as_secs_f64();
        // Random re-reads for `window`.
        let served = AtomicU64::new(0);
        let began = Instant::now();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let handles: Vec<_> = (0..PROOF_CLIENTS)
                .map(|t| {
                    let (served, fetch) = (&served, &fetch);
                    scope.spawn(move || -> anyhow::Result<()> {
                        let agent = agent();
                        let mut x = t + 7;
                        while began.elapsed() < window {
                            x = x
                                .wrapping_mul(6364136223846793005)
                                .wrapping_add(1442695040888963407);
                            fetch(&agent, (x >> 20) % full)?;
                            served.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("tile client")?;
            }
            Ok(())
        })?;
        let again = served.load(Ordering::Relaxed) as f64 / began.elapsed().as_secs_f64();
        let what = if kind == "0" {
            "full hash tiles (level 0)"
        } else {
            "full entry bundles"
        };
        report.add(
            &format!(
                "{what} served/s over HTTP, tree of {size}, {PROOF_CLIENTS} keep-alive clients: \
                 first read of each of {full} / random re-reads"
            ),
            format!("{first:.0} / {again:.0}"),
        );
    }
    Ok(())
}
