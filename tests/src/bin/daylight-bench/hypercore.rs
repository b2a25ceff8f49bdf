//! Side by side with Hypercore 11 (issue 13, item 4): durable appends of the same records,
//! and a mirror's catch-up against Hypercore's replication of the same blocks.

use super::*;

/// Appends `entries` (rid, entry bytes) through the sequencer in 4096-entry batches, each
/// batch one fsync'd commit, without validation. Returns appends per second.
pub(super) fn append_entries(
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

/// Writes back every dirty page of every file (`sync`) before the measurement named `next`,
/// and says how long that took. Not part of any figure: it keeps one side's deferred writes
/// out of the other side's time.
pub(super) fn flush_disk(next: &str) -> anyhow::Result<()> {
    let began = Instant::now();
    let status = std::process::Command::new("sync").status()?;
    anyhow::ensure!(status.success(), "`sync` failed: {status}");
    eprintln!(
        "wrote back the disk's dirty pages before {next}: {:.0} ms",
        began.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// What `tests/hypercore/bench.mjs` measured.
pub(super) struct Hypercore {
    /// Appends/s, 4096-block batches, Hypercore's default durability (no fsync per batch).
    append: f64,
    /// Appends/s with a RocksDB flush (synced) after every batch.
    append_flushed: f64,
    /// Blocks/s replicated to a second process over TCP on loopback.
    replicate: f64,
}

/// Runs the Hypercore peer on the same entry bytes, or says why it cannot and returns `None`.
pub(super) fn run_hypercore(
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
///
/// The county's node first finishes indexing what was just appended (its query index, built
/// in the background at a lower priority): a mirror joining a network meets settled nodes,
/// not one still busy with a burst appended a second ago on the same two cores.
pub(super) fn catch_up(
    runtime: &tokio::runtime::Runtime,
    network: &TestNetwork,
    source: &daylight_node::node::RunningNode,
    entries: u64,
) -> anyhow::Result<f64> {
    let settling = Instant::now();
    runtime.block_on(async {
        let index = source.query();
        let mut indexed = index.watch();
        loop {
            let positions = index.positions()?;
            let settled = positions.values().all(|(at, covered)| at >= covered)
                && positions.values().any(|(at, _)| *at >= entries);
            if settled {
                break;
            }
            tokio::time::timeout(Duration::from_secs(600), indexed.changed())
                .await
                .context("the county's query index did not catch up within 10 minutes")??;
        }
        anyhow::Ok(())
    })?;
    eprintln!(
        "waited {:.0} ms for the county's query index to take in the appended entries",
        settling.elapsed().as_secs_f64() * 1e3
    );
    flush_disk("the mirror's catch-up")?;
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
    let started = began.elapsed();
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
    eprintln!(
        "catch-up of {entries} entries: {:.0} ms, of which {:.0} ms starting the mirror",
        began.elapsed().as_secs_f64() * 1e3,
        started.as_secs_f64() * 1e3
    );
    runtime.block_on(mirror.shutdown())?;
    Ok(rate)
}

/// Reports the Hypercore comparison: both figures and their ratio.
pub(super) fn compare(
    report: &mut Report,
    ours: f64,
    caught_up: f64,
    hypercore: Option<&Hypercore>,
) {
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
