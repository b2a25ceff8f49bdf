//! Crash safety of the real node binary: submit continuously, kill it with SIGKILL at random
//! moments (25 times), restart, and check that every acknowledged record is still there at the
//! same index with the same leaf hash, that checkpoints never go backwards, and that no two
//! checkpoints ever share a size with different roots.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use daylight_tests::{NodeProcess, TestNetwork, get, post_json, signed_receipt};
use daylight_verifier::checkpoint::SignedCheckpoint;
use daylight_verifier::{Hash, SigningKey};

const CRASHES: usize = 25;

fn receipt(operator: &SigningKey, n: u64) -> serde_json::Value {
    signed_receipt(operator, &format!("county-1-crash-{n:06}"), 500 + n)
}

/// What the test learned from acknowledgements and checkpoints.
#[derive(Default)]
struct Observed {
    /// rid → (index, leaf hex) as acknowledged.
    acked: BTreeMap<String, (u64, String)>,
    /// size → root of every checkpoint seen.
    roots: BTreeMap<u64, Hash>,
}

impl Observed {
    fn checkpoint(&mut self, note: &[u8], key: &daylight_verifier::VerifierKey) {
        let signed = SignedCheckpoint::open(note, key).expect("checkpoint signed by the log");
        let c = signed.checkpoint;
        if let Some(previous) = self.roots.insert(c.size, c.root) {
            assert_eq!(
                previous, c.root,
                "two checkpoints of size {} with different roots",
                c.size
            );
        }
    }
}

/// A small deterministic generator for crash moments and batch sizes.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

#[test]
fn acknowledged_records_survive_sigkill() -> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(2)?;
    let county = &network.keys["county-1"];
    let log_key = county.log.verifier();
    let config = network.init_node("county-1")?;
    let seed = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64;
    eprintln!("crash moments seed: {seed}");
    let mut random = Lcg(seed);
    let observed = Arc::new(Mutex::new(Observed::default()));
    let mut next_record = 0u64;
    let mut largest_seen = 0u64;

    for round in 0..CRASHES {
        let node = NodeProcess::start(&config)?;
        // After a restart the log must hold at least everything acknowledged before.
        let head = get(&node.url("/log/county-1/checkpoint"))?;
        {
            let mut seen = observed.lock().unwrap();
            seen.checkpoint(&head.body, &log_key);
            let size = SignedCheckpoint::open(&head.body, &log_key)?
                .checkpoint
                .size;
            assert!(
                size >= largest_seen,
                "round {round}: checkpoint went back from {largest_seen} to {size}"
            );
        }

        // Submit continuously from another thread until the node dies.
        let url = node.url("/v1/records");
        let operator = county.operator.clone();
        let first = next_record;
        let batches: Vec<u64> = (0..10_000).map(|_| 1 + random.next(8)).collect();
        let seen = observed.clone();
        let key = log_key.clone();
        let submitter = std::thread::spawn(move || {
            let mut n = first;
            for size in batches {
                let batch: Vec<_> = (n..n + size).map(|i| receipt(&operator, i)).collect();
                n += size;
                let Ok(reply) = post_json(&url, &serde_json::to_vec(&batch).unwrap()) else {
                    break;
                };
                if reply.status != 201 {
                    break;
                }
                let mut seen = seen.lock().unwrap();
                for ack in reply.json().as_array().unwrap() {
                    seen.acked.insert(
                        ack["rid"].as_str().unwrap().to_string(),
                        (
                            ack["index"].as_u64().unwrap(),
                            ack["leaf"].as_str().unwrap().to_string(),
                        ),
                    );
                    seen.checkpoint(ack["checkpoint"].as_str().unwrap().as_bytes(), &key);
                }
            }
            n
        });
        // The crash moment: a random point while submissions are in flight.
        std::thread::sleep(Duration::from_millis(30 + random.next(250)));
        node.kill()?;
        next_record = submitter.join().expect("submitter thread");
        largest_seen = observed
            .lock()
            .unwrap()
            .roots
            .keys()
            .max()
            .copied()
            .unwrap_or(0);
    }

    // Final restart: every acknowledged record is present, unchanged, where it was.
    let node = NodeProcess::start(&config)?;
    let seen = observed.lock().unwrap();
    assert!(
        seen.acked.len() > CRASHES,
        "too few records acknowledged to mean anything"
    );
    for (rid, (index, leaf)) in &seen.acked {
        let record = get(&node.url(&format!("/v1/records/{rid}")))?;
        assert_eq!(
            record.status,
            200,
            "acknowledged {rid} lost: {}",
            record.text()
        );
        let record = record.json();
        assert_eq!(record["index"].as_u64(), Some(*index), "{rid} moved");
        assert_eq!(
            record["leaf"].as_str(),
            Some(leaf.as_str()),
            "{rid} changed"
        );
    }
    let head = SignedCheckpoint::open(&get(&node.url("/log/county-1/checkpoint"))?.body, &log_key)?;
    assert!(head.checkpoint.size >= largest_seen);
    eprintln!(
        "{} records acknowledged across {CRASHES} SIGKILLs; {} distinct checkpoints seen",
        seen.acked.len(),
        seen.roots.len()
    );
    Ok(())
}
