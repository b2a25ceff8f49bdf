//! A real full disk under a member node (DESIGN §5.5, "Faults"): the node's data directory is
//! a small tmpfs, filled to the last byte by another file.
//!
//! While the disk is full the node must refuse new records with a clear 503, keep every
//! record it acknowledged, keep serving reads (checkpoint, tiles, records, receipts), and say
//! what is wrong at `/healthz` and `/metrics`. Once space is freed it must resume
//! acknowledging by itself. The same holds for a node started on a disk that is already full.
//!
//! Three scenarios on one node: the disk fills under the running node; the node is stopped
//! and started on a full disk; the node is killed while writes fail and started again on the
//! full disk. Each time every record acknowledged before is checked (index, leaf, receipt).
//!
//! Mounting needs root; without it the test prints "skipped: ..." and passes.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use daylight_node::publish::sequencer::{FIRST_PROBE, MAX_PROBE_PAUSE};
use daylight_tests::{NodeProcess, Reply, TestNetwork, get, post_json, signed_receipt, wait_for};
use daylight_verifier::checkpoint::SignedCheckpoint;
use daylight_verifier::merkle::{leaf_hash, verify_inclusion};
use daylight_verifier::tile::{TILE_WIDTH, Tile, TileKind};
use daylight_verifier::{Hash, ProofBundle, SigningKey, VerifierKey};

/// The size of the tmpfs holding the data directory.
const DISK: &str = "64m";

/// How long the node may take to notice, or to recover from, a full disk.
const DEADLINE: Duration = Duration::from_secs(60);

/// A tmpfs mounted on a directory, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` on `dir` (created), or says why it cannot.
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// A file that takes every free byte of a file system; removing it frees the space.
struct Filler(PathBuf);

impl Filler {
    /// Writes `path` until the file system refuses with ENOSPC (in large chunks, then in
    /// small ones for the last bytes).
    fn fill(path: &Path) -> anyhow::Result<Filler> {
        let mut file = std::fs::File::create(path)?;
        for chunk in [1 << 20, 4096, 1] {
            let bytes = vec![0xa5u8; chunk];
            loop {
                match file.write(&bytes) {
                    Ok(n) if n == chunk => {}
                    Ok(_) => break,
                    Err(e) if e.raw_os_error() == Some(28) => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let _ = file.sync_all();
        Ok(Filler(path.to_path_buf()))
    }

    /// Deletes the file, freeing the space; returns the moment it did.
    fn remove(self) -> anyhow::Result<Instant> {
        std::fs::remove_file(&self.0)?;
        Ok(Instant::now())
    }
}

/// What the test learned from the node: acknowledged records and checkpoints seen.
struct Log {
    key: VerifierKey,
    operator: SigningKey,
    /// rid → (index, leaf) as acknowledged.
    acked: BTreeMap<String, (u64, Hash)>,
    /// size → root of every checkpoint seen.
    roots: BTreeMap<u64, Hash>,
    next: u64,
}

impl Log {
    /// Checks a checkpoint note against the log key and against every checkpoint seen before
    /// (one root per size); returns its size.
    fn saw_checkpoint(&mut self, note: &[u8]) -> u64 {
        let signed = SignedCheckpoint::open(note, &self.key).expect("checkpoint signed by the log");
        let c = signed.checkpoint;
        if let Some(earlier) = self.roots.insert(c.size, c.root) {
            assert_eq!(earlier, c.root, "two checkpoints of size {}", c.size);
        }
        c.size
    }

    /// Submits `count` new records in one request and returns the reply; on success records
    /// what was acknowledged.
    fn submit(&mut self, node: &NodeProcess, count: u64) -> anyhow::Result<Reply> {
        let records: Vec<_> = (self.next..self.next + count)
            .map(|n| signed_receipt(&self.operator, &format!("county-1-full-{n:06}"), 100 + n))
            .collect();
        self.next += count;
        let reply = post_json(
            &node.url("/v1/records"),
            &serde_json::to_vec(&records).unwrap(),
        )?;
        if reply.status == 201 {
            for ack in reply.json().as_array().expect("an array of acks") {
                let leaf = Hash::from_hex(ack["leaf"].as_str().unwrap()).unwrap();
                self.acked.insert(
                    ack["rid"].as_str().unwrap().to_string(),
                    (ack["index"].as_u64().unwrap(), leaf),
                );
                self.saw_checkpoint(ack["checkpoint"].as_str().unwrap().as_bytes());
            }
        }
        Ok(reply)
    }

    /// Every read a citizen makes works: the checkpoint covers every acknowledged record, the
    /// rightmost tiles are served, and each acknowledged record is there, unchanged, with a
    /// receipt that proves it into a checkpoint signed by the log.
    fn check_reads(&mut self, node: &NodeProcess) -> anyhow::Result<()> {
        let head = get(&node.url("/log/county-1/checkpoint"))?;
        assert_eq!(head.status, 200, "checkpoint: {}", head.text());
        let size = self.saw_checkpoint(&head.body);
        assert!(size >= self.acked.len() as u64);
        let (index, width) = (size.div_ceil(TILE_WIDTH) - 1, (size - 1) % TILE_WIDTH + 1);
        for kind in [TileKind::Hashes { level: 0 }, TileKind::Entries] {
            let path = Tile { kind, index, width }.path();
            let tile = get(&node.url(&format!("/log/county-1/{path}")))?;
            assert_eq!(tile.status, 200, "{path}: {}", tile.text());
            if kind != TileKind::Entries {
                assert_eq!(tile.body.len() as u64, width * 32, "{path}");
            }
        }
        for (rid, (index, leaf)) in self.acked.clone() {
            let record = get(&node.url(&format!("/v1/records/{rid}")))?;
            assert_eq!(record.status, 200, "{rid}: {}", record.text());
            let record = record.json();
            assert_eq!(record["index"].as_u64(), Some(index), "{rid} moved");
            assert_eq!(
                record["leaf"].as_str(),
                Some(leaf.to_hex().as_str()),
                "{rid}"
            );
            let receipt = get(&node.url(&format!("/log/county-1/receipt/{index}")))?;
            assert_eq!(receipt.status, 200, "receipt {index}: {}", receipt.text());
            let bundle = ProofBundle::parse(&receipt.body)?;
            let entry = bundle
                .extra
                .as_deref()
                .expect("the receipt carries the entry");
            assert_eq!(
                leaf_hash(entry),
                leaf,
                "receipt {index} carries another entry"
            );
            assert_eq!(bundle.index, index);
            let signed = SignedCheckpoint::open(bundle.checkpoint.as_bytes(), &self.key)?;
            verify_inclusion(
                index,
                signed.checkpoint.size,
                &leaf,
                &bundle.proof,
                &signed.checkpoint.root,
            )
            .map_err(|e| anyhow::anyhow!("receipt {index} does not verify: {e}"))?;
        }
        Ok(())
    }
}

/// `/healthz` as (status, body).
fn health(node: &NodeProcess) -> (u16, serde_json::Value) {
    let reply = get(&node.url("/healthz")).expect("/healthz answers");
    (reply.status, reply.json())
}

/// The value of the `daylight_problems{kind="writes_failing"}` gauge.
fn writes_failing_gauge(node: &NodeProcess) -> String {
    let metrics = get(&node.url("/metrics")).expect("/metrics answers").text();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("daylight_problems{kind=\"writes_failing\"} "))
        .unwrap_or("absent")
        .to_string()
}

/// Asserts that the node reports the full disk: `/healthz` 503 degraded naming it, the
/// `/metrics` gauge at 1.
fn assert_degraded(node: &NodeProcess) {
    let (status, body) = health(node);
    assert_eq!(status, 503, "/healthz: {body}");
    assert_eq!(body["status"], "degraded", "{body}");
    let problem = &body["problems"][0];
    assert_eq!(problem["kind"], "writes_failing", "{body}");
    assert_cause(problem["detail"].as_str().unwrap_or_default());
    assert_eq!(writes_failing_gauge(node), "1");
}

/// A refusal or problem detail says what cannot be done and why.
fn assert_cause(detail: &str) {
    assert!(detail.contains("cannot write the log"), "{detail}");
    assert!(
        detail.contains("No space left on device") || detail.contains("disk full"),
        "the cause is not named: {detail}"
    );
    assert!(detail.contains("reads continue"), "{detail}");
}

/// Asserts a submission refusal is the clear 503.
fn assert_refused(reply: &Reply) {
    assert_eq!(reply.status, 503, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["error"], "log_unavailable", "{body}");
    assert_cause(body["detail"].as_str().unwrap_or_default());
}

/// Frees the disk and polls with one new record until the node acknowledges it; returns how
/// long that took after the space was freed.
fn free_and_resume(log: &mut Log, node: &NodeProcess, filler: Filler) -> Duration {
    let freed = filler.remove().expect("remove the filler");
    wait_for(DEADLINE, "the node to acknowledge again", || {
        let reply = log.submit(node, 1).expect("the node answers");
        match reply.status {
            201 => Some(()),
            503 => None,
            other => panic!("unexpected answer {other}: {}", reply.text()),
        }
    });
    let recovery = freed.elapsed();
    let (status, body) = health(node);
    assert_eq!(status, 200, "/healthz after recovery: {body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(writes_failing_gauge(node), "0");
    recovery
}

/// Fills the disk, then submits batches until the node refuses one (the database file may
/// hold free pages, so some are acknowledged first), and checks the refusal.
fn fill_until_refused(log: &mut Log, node: &NodeProcess, data: &Path) -> anyhow::Result<Filler> {
    let filler = Filler::fill(&data.join("filler"))?;
    let before = log.acked.len();
    let refused = (0..500)
        .map(|_| log.submit(node, 20).expect("the node answers"))
        .find(|reply| reply.status != 201)
        .expect("a full disk refuses records");
    assert_refused(&refused);
    eprintln!(
        "disk full: {} more records acknowledged, then refused: {}",
        log.acked.len() - before,
        refused.json()["detail"]
    );
    Ok(filler)
}

/// Starts the node on a disk that takes no more writes: it starts and serves every read, then
/// refuses records with the clear 503 and reports the fault. (On a full disk the database file
/// may still hold free pages, which the node rightly fills first.)
fn start_on_broken_disk(log: &mut Log, config: &Path) -> anyhow::Result<NodeProcess> {
    let node = NodeProcess::start(config)?;
    log.check_reads(&node)?;
    let before = log.acked.len();
    let refused = (0..500)
        .map(|_| log.submit(&node, 20).expect("the node answers"))
        .find(|reply| reply.status != 201)
        .expect("the node refuses records");
    assert_refused(&refused);
    eprintln!(
        "restarted: {} records acknowledged, then refused",
        log.acked.len() - before
    );
    assert_degraded(&node);
    log.check_reads(&node)?;
    Ok(node)
}

/// Remounts the tmpfs at `dir` read-only or read-write.
fn remount(dir: &Path, mode: &str) -> anyhow::Result<()> {
    let status = Command::new("mount")
        .args(["-o", &format!("remount,{mode}")])
        .arg(dir)
        .status()?;
    anyhow::ensure!(status.success(), "cannot remount {} {mode}", dir.display());
    Ok(())
}

#[test]
fn a_full_disk_refuses_writes_keeps_reads_and_recovers_by_itself() -> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(1)?;
    let data = network.dir.path().join("county-1-data");
    let disk = match Tmpfs::mount(&data, DISK) {
        Ok(disk) => disk,
        Err(why) => {
            println!("skipped: cannot mount a tmpfs for the data directory ({why})");
            return Ok(());
        }
    };
    let config = network.init_node("county-1")?;
    let keys = &network.keys["county-1"];
    let mut log = Log {
        key: keys.log.verifier(),
        operator: keys.operator.clone(),
        acked: BTreeMap::new(),
        roots: BTreeMap::new(),
        next: 0,
    };

    let node = NodeProcess::start(&config)?;
    for _ in 0..10 {
        let reply = log.submit(&node, 3)?;
        assert_eq!(reply.status, 201, "{}", reply.text());
    }
    assert_eq!(health(&node).0, 200);

    // Scenario 1: the disk fills up under a running node.
    let filler = fill_until_refused(&mut log, &node, &data)?;
    // While faulted a submission is refused at once, not queued until the writer's next
    // probe; the fault is reported; reads work.
    let asked = Instant::now();
    assert_refused(&log.submit(&node, 1)?);
    let refusal = asked.elapsed();
    assert!(refusal < FIRST_PROBE, "refused only after {refusal:?}");
    assert_degraded(&node);
    log.check_reads(&node)?;
    // Across several probes of the writer, /healthz never says ok while records are
    // refused (no flapping). A probe may succeed and a small record then fit in pages the
    // database file already holds: acknowledged, it must be durable (checked below), and
    // only a durable batch ends the fault.
    let watch_until = Instant::now() + 2 * MAX_PROBE_PAUSE;
    let mut refused = 0;
    while Instant::now() < watch_until {
        let reply = log.submit(&node, 1)?;
        if reply.status == 201 {
            assert_eq!(health(&node).0, 200, "a durable batch ends the fault");
        } else {
            assert_refused(&reply);
            assert_degraded(&node);
            refused += 1;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("while full: {refused} of the records submitted refused");
    log.check_reads(&node)?;
    let recovery = free_and_resume(&mut log, &node, filler);
    eprintln!("scenario 1: first record acknowledged {recovery:?} after space was freed");
    log.check_reads(&node)?;

    // Scenario 2: the node is stopped, the disk fills, the node starts on the full disk.
    node.terminate()?;
    let filler = Filler::fill(&data.join("filler"))?;
    let node = start_on_broken_disk(&mut log, &config)?;
    let recovery = free_and_resume(&mut log, &node, filler);
    eprintln!("scenario 2: first record acknowledged {recovery:?} after space was freed");
    log.check_reads(&node)?;

    // Scenario 3: the node is killed (SIGKILL) while writes fail on a full disk, and starts
    // again on it.
    let filler = fill_until_refused(&mut log, &node, &data)?;
    node.kill()?;
    let node = start_on_broken_disk(&mut log, &config)?;
    let recovery = free_and_resume(&mut log, &node, filler);
    eprintln!("scenario 3: first record acknowledged {recovery:?} after space was freed");
    log.check_reads(&node)?;

    // Scenario 4: the node starts on a read-only file system. The database opens read-only,
    // and the writer starts faulted: reported before anything is submitted.
    node.terminate()?;
    remount(&data, "ro")?;
    let node = NodeProcess::start(&config)?;
    wait_for(
        DEADLINE,
        "/healthz to report the read-only database",
        || (health(&node).0 == 503).then_some(()),
    );
    let (_, body) = health(&node);
    assert!(
        body["problems"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("read-only")),
        "{body}"
    );
    assert_degraded(&node);
    log.check_reads(&node)?;
    assert_refused(&log.submit(&node, 1)?);
    remount(&data, "rw")?;
    let resumed = Instant::now();
    wait_for(DEADLINE, "the node to acknowledge again", || {
        (log.submit(&node, 1).expect("the node answers").status == 201).then_some(())
    });
    eprintln!(
        "scenario 4: first record acknowledged {:?} after the file system was made writable",
        resumed.elapsed()
    );
    assert_eq!(health(&node).0, 200);
    log.check_reads(&node)?;

    eprintln!(
        "{} records acknowledged and verified; {} checkpoints seen, one root per size",
        log.acked.len(),
        log.roots.len()
    );
    drop(node);
    drop(disk);
    Ok(())
}
