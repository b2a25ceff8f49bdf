//! Damage to a stopped node's database (DESIGN §5.5 *Damage*), tried the way a failing disk or
//! a careless operator would do it: random bytes of the database file are flipped while the
//! node is down — inside stored entries, inside stored hashes, and anywhere at all (B-tree
//! pages, headers, free space) — and the node is started again, 50 times.
//!
//! In every trial the node either refuses to start with a clear message and a non-zero exit
//! (never a panic's exit code), or it starts and then:
//! * never serves a checkpoint, entry tile, hash tile, receipt or record that does not match
//!   the log the county signed (the test knows every acknowledged leaf hash);
//! * answers what it cannot serve with a JSON error;
//! * repairs itself from the city, which mirrors the county's log, until every tile and
//!   receipt is served again and `/healthz` is ok;
//! * never dies while doing so, and stops cleanly.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use daylight_tests::{
    NodeProcess, TempDir, TestNetwork, get, node_binary, post_json, set_bootstrap, signed_receipt,
    wait_for,
};
use daylight_verifier::bundle::ProofBundle;
use daylight_verifier::checkpoint::SignedCheckpoint;
use daylight_verifier::merkle::{leaf_hash, verify_inclusion};
use daylight_verifier::tile::read_bundle;
use daylight_verifier::{Hash, VerifierKey};

const TRIALS: u64 = 50;
const RECORDS: u64 = 300;
const REPAIR_DEADLINE: Duration = Duration::from_secs(30);

/// A small deterministic generator (xorshift64*), seeded per run and printed, so a failing
/// trial can be replayed with `DAMAGE_SEED`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What the county signed: its log key and every acknowledged leaf, by index.
struct Truth {
    key: VerifierKey,
    leaves: Vec<Hash>,
    rids: Vec<String>,
}

/// A node process whose stderr goes to a file (a damaged node may log a lot; a pipe nobody
/// reads would block it).
struct Started {
    child: Child,
    http: std::net::SocketAddr,
    log: PathBuf,
}

impl Started {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    fn alive(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().expect("node exits");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Starts a node; `Err` carries the exit status and what it printed when it refused.
fn start(config: &Path, log: &Path) -> Result<Started, (std::process::ExitStatus, String)> {
    let mut child = Command::new(node_binary().expect("node binary"))
        .arg("run")
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("spawn node");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    loop {
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        if line.starts_with("p2p listening on ") {
            continue;
        }
        if let Some(addr) = line.trim().strip_prefix("listening on http://") {
            let http = addr.parse().expect("address");
            std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
            return Ok(Started {
                child,
                http,
                log: log.to_path_buf(),
            });
        }
        let status = child.wait().expect("node exits");
        return Err((status, std::fs::read_to_string(log).unwrap_or_default()));
    }
}

/// Flips bytes of `file`: one to four flips, each inside a stored entry, inside a stored
/// hash, or anywhere.
fn damage(file: &Path, truth: &Truth, rng: &mut Rng) -> String {
    let mut bytes = std::fs::read(file).expect("database");
    let mut done = Vec::new();
    for _ in 0..=rng.below(4) {
        let (what, at) = match rng.below(3) {
            0 => {
                let i = rng.below(truth.rids.len() as u64) as usize;
                match find(&bytes, truth.rids[i].as_bytes()) {
                    Some(at) => ("entry", at + rng.below(40) as usize),
                    None => ("anywhere", rng.below(bytes.len() as u64) as usize),
                }
            }
            1 => {
                let i = rng.below(truth.leaves.len() as u64) as usize;
                match find(&bytes, &truth.leaves[i].0) {
                    Some(at) => ("hash", at + rng.below(32) as usize),
                    None => ("anywhere", rng.below(bytes.len() as u64) as usize),
                }
            }
            _ => ("anywhere", rng.below(bytes.len() as u64) as usize),
        };
        let at = at.min(bytes.len() - 1);
        bytes[at] ^= 1 << rng.below(8);
        done.push(format!("{what}@{at}"));
    }
    std::fs::write(file, bytes).expect("write database");
    done.join(" ")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What a read of the damaged node found.
#[derive(Default, Debug)]
struct Served {
    /// Items served and checked correct.
    good: usize,
    /// Items refused with a JSON error.
    refused: usize,
}

/// Reads everything the node serves of the county's log and checks each answer against the
/// truth. Panics on anything served wrong; counts what was refused.
fn read_everything(node: &Started, truth: &Truth, trial: u64) -> Served {
    let mut served = Served::default();
    // A 200 answer to check, or None: unreachable, or refused with a JSON error (counted).
    let refusals = std::cell::Cell::new(0);
    let fetch = |path: &str| -> Option<daylight_tests::Reply> {
        let reply = get(&node.url(path)).ok()?;
        if reply.status == 200 {
            return Some(reply);
        }
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_else(|_| {
            panic!(
                "trial {trial}: {path} answered {} with a body that is not JSON: {}",
                reply.status,
                reply.text()
            )
        });
        assert!(
            body["error"].is_string(),
            "trial {trial}: {path}: error JSON without `error`: {body}"
        );
        refusals.set(refusals.get() + 1);
        None
    };
    let Some(reply) = fetch("/log/county-1/checkpoint") else {
        served.refused = refusals.get();
        return served;
    };
    let checkpoint = SignedCheckpoint::open(&reply.body, &truth.key)
        .unwrap_or_else(|e| panic!("trial {trial}: served checkpoint does not verify: {e}"));
    let size = checkpoint.checkpoint.size;
    assert_eq!(size, RECORDS, "trial {trial}: checkpoint size");
    let root = checkpoint.checkpoint.root;
    let full = size / 256;
    let partial = size % 256;
    let tiles: Vec<(u64, u64)> = (0..full)
        .map(|i| (i, 256))
        .chain((partial > 0).then_some((full, partial)))
        .collect();
    for (index, width) in tiles {
        let suffix = if width == 256 {
            format!("{index:03}")
        } else {
            format!("{index:03}.p/{width}")
        };
        for kind in ["entries", "0"] {
            let path = format!("/log/county-1/tile/{kind}/{suffix}");
            let Some(reply) = fetch(&path) else {
                continue;
            };
            let first = (index * 256) as usize;
            let expected = &truth.leaves[first..first + width as usize];
            let leaves: Vec<Hash> = if kind == "entries" {
                read_bundle(&reply.body)
                    .unwrap_or_else(|e| panic!("trial {trial}: {path}: bad bundle: {e}"))
                    .iter()
                    .map(|e| leaf_hash(e))
                    .collect()
            } else {
                reply
                    .body
                    .chunks(32)
                    .map(|c| Hash(c.try_into().unwrap_or([0; 32])))
                    .collect()
            };
            assert_eq!(leaves, expected, "trial {trial}: {path} served wrong bytes");
            served.good += 1;
        }
    }
    for i in [0, 1, 77, 255, 256, 299] {
        let path = format!("/log/county-1/receipt/{i}");
        let Some(reply) = fetch(&path) else {
            continue;
        };
        let bundle = ProofBundle::parse(&reply.body)
            .unwrap_or_else(|e| panic!("trial {trial}: {path}: bad bundle: {e}"));
        let entry = bundle.extra.clone().unwrap_or_default();
        assert_eq!(
            leaf_hash(&entry),
            truth.leaves[i as usize],
            "trial {trial}: {path}"
        );
        verify_inclusion(
            bundle.index,
            size,
            &truth.leaves[i as usize],
            &bundle.proof,
            &root,
        )
        .unwrap_or_else(|e| panic!("trial {trial}: {path}: proof does not verify: {e}"));
        served.good += 1;
    }
    for i in [3, 150, 298] {
        let path = format!("/v1/records/{}", truth.rids[i]);
        let Some(reply) = fetch(&path) else {
            continue;
        };
        let body = reply.json();
        assert_eq!(body["index"], i, "trial {trial}: {path}");
        assert_eq!(
            body["leaf"],
            truth.leaves[i].to_hex(),
            "trial {trial}: {path}"
        );
        let entry = serde_json::to_vec(&body["entry"]).unwrap_or_default();
        assert_eq!(body["entry"]["rid"], truth.rids[i], "trial {trial}: {path}");
        assert!(!entry.is_empty());
        served.good += 1;
    }
    served.refused = refusals.get();
    served
}

#[test]
fn random_damage_is_never_served_and_is_repaired_from_a_peer() -> anyhow::Result<()> {
    let network = TestNetwork::city_and_county()?;
    let city_config = network.init_node("city-1")?;
    let county_config = network.init_node("county-1")?;
    let city = NodeProcess::start(&city_config)?;
    set_bootstrap(&county_config, std::slice::from_ref(&city.p2p))?;
    let county = NodeProcess::start(&county_config)?;
    let keys = &network.keys["county-1"];

    // Publish, and let the city mirror all of it.
    let records: Vec<serde_json::Value> = (0..RECORDS)
        .map(|n| signed_receipt(&keys.operator, &format!("county-1-dmg-{n:05}"), 100 + n))
        .collect();
    let mut truth = Truth {
        key: keys.log.verifier(),
        leaves: Vec::new(),
        rids: Vec::new(),
    };
    for chunk in records.chunks(100) {
        let reply = post_json(&county.url("/v1/records"), &serde_json::to_vec(chunk)?)?;
        assert_eq!(reply.status, 201, "{}", reply.text());
        for ack in reply.json().as_array().cloned().unwrap_or_default() {
            truth
                .leaves
                .push(Hash::from_hex(ack["leaf"].as_str().unwrap_or_default())?);
            truth
                .rids
                .push(ack["rid"].as_str().unwrap_or_default().to_string());
        }
    }
    assert_eq!(truth.leaves.len() as u64, RECORDS);
    wait_for(
        Duration::from_secs(60),
        "the city to mirror the county",
        || {
            let reply = get(&city.url("/log/county-1/checkpoint")).ok()?;
            let signed = SignedCheckpoint::open(&reply.body, &truth.key).ok()?;
            (signed.checkpoint.size == RECORDS).then_some(())
        },
    );
    county.terminate()?;

    let data = county_config.parent().expect("data dir").to_path_buf();
    let database = data.join("node.redb");
    let pristine = std::fs::read(&database)?;
    let logs = TempDir::new("damage-logs");
    let seed = std::env::var("DAMAGE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    println!("DAMAGE_SEED={seed}");
    let mut rng = Rng(seed);
    let mut outcomes: BTreeMap<&str, u64> = BTreeMap::new();
    for trial in 0..TRIALS {
        std::fs::write(&database, &pristine)?;
        let flips = damage(&database, &truth, &mut rng);
        let log = logs.path().join(format!("trial-{trial}.log"));
        let mut node = match start(&county_config, &log) {
            Ok(node) => node,
            Err((status, printed)) => {
                assert_ne!(
                    status.code(),
                    Some(101),
                    "trial {trial} ({flips}): the node panicked at start:\n{printed}"
                );
                assert!(
                    status.code().is_some_and(|c| c != 0),
                    "trial {trial} ({flips}): refused to start without an error exit: {status}"
                );
                assert!(
                    printed.contains("daylight-node:"),
                    "trial {trial} ({flips}): no clear message:\n{printed}"
                );
                *outcomes.entry("refused to start, clearly").or_default() += 1;
                continue;
            }
        };
        let first = read_everything(&node, &truth, trial);
        let repaired = {
            let start = Instant::now();
            loop {
                if let Some(status) = node.alive() {
                    panic!(
                        "trial {trial} ({flips}): the node died ({status}):\n{}",
                        std::fs::read_to_string(&node.log).unwrap_or_default()
                    );
                }
                let served = read_everything(&node, &truth, trial);
                let healthy = get(&node.url("/healthz")).is_ok_and(|r| r.status == 200);
                if served.refused == 0 && healthy {
                    break true;
                }
                if start.elapsed() > REPAIR_DEADLINE {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        };
        if first.refused > 0 && repaired {
            // What was refused was reported and repaired, and /metrics says so.
            let metrics = get(&node.url("/metrics"))
                .map(|r| r.text())
                .unwrap_or_default();
            let counter = |name: &str| {
                metrics
                    .lines()
                    .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
                    .unwrap_or(0)
            };
            assert!(
                counter("daylight_damage_found_total ") > 0,
                "trial {trial}: damage served as refused but not counted:\n{metrics}"
            );
            assert!(
                counter("daylight_repairs_total ") > 0,
                "trial {trial}: repaired without a repair counted:\n{metrics}"
            );
        }
        let printed = std::fs::read_to_string(&node.log).unwrap_or_default();
        let status = node.stop();
        assert_ne!(
            status.code(),
            Some(101),
            "trial {trial} ({flips}): panic at shutdown:\n{printed}"
        );
        let outcome = match (first.refused > 0, repaired) {
            (false, true) => "served everything correctly from the start",
            (true, true) => "refused damaged items, then repaired them",
            (_, false) => "refused damaged items, could not repair",
        };
        println!("trial {trial}: {flips}: {outcome}");
        if !repaired || std::env::var_os("DAMAGE_VERBOSE").is_some() {
            let tail: Vec<&str> = printed.lines().rev().take(12).collect();
            println!(
                "  node log (last lines, newest first):\n    {}",
                tail.join("\n    ")
            );
        }
        if !repaired {
            // Damage outside entries and hashes (B-tree pages, index rows) is beyond repair
            // from a peer; it must still never be served, which read_everything checked.
            assert!(
                !printed.is_empty(),
                "trial {trial}: unrepaired damage must be reported in the log"
            );
        }
        *outcomes.entry(outcome).or_default() += 1;
    }
    println!("outcomes over {TRIALS} trials: {outcomes:?}");
    let repaired = outcomes
        .get("refused damaged items, then repaired them")
        .copied()
        .unwrap_or(0);
    assert!(
        repaired > 0,
        "no trial exercised a repair from the peer: {outcomes:?}"
    );
    drop(city);
    Ok(())
}
