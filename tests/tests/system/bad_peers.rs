//! Misbehaving peers. A real libp2p peer in this test process (not a genesis member, as any
//! observer may be) connects to a county node and gossips bad messages: malformed notes,
//! checkpoints of unknown origins, checkpoints with forged signatures, oversize messages and
//! floods. Each is rejected, the peer's gossipsub score at the node drops below zero (read from
//! `/v1/network`), and the node keeps serving.

use std::time::{Duration, Instant};

use daylight_genesis::Genesis;
use daylight_node::network::{Network, NetworkConfig, Topic, generate_identity, parse_identity};
use daylight_tests::{NodeProcess, TestNetwork, get};
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::{Hash, KeyType, SigningKey};

const DEADLINE: Duration = Duration::from_secs(30);

struct Attack {
    _network: TestNetwork,
    node: NodeProcess,
    attacker: Network,
    runtime: tokio::runtime::Runtime,
}

fn attack() -> anyhow::Result<Attack> {
    let network = TestNetwork::city_with_counties(1)?;
    let genesis = Genesis::open(&std::fs::read(&network.genesis_file)?)?;
    let node = NodeProcess::start(&network.init_node("county-1")?)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let (identity, _) = generate_identity()?;
    let (attacker, _events) = runtime.block_on(Network::start(NetworkConfig {
        keypair: parse_identity(&identity)?,
        listen: "/ip4/127.0.0.1/tcp/0".parse()?,
        bootstrap: vec![node.p2p.parse()?],
        members: Vec::new(),
        checkpoint_topic: genesis.checkpoint_topic(),
        evidence_topic: genesis.evidence_topic(),
        max_message_bytes: 1 << 20,
    }))?;
    Ok(Attack {
        _network: network,
        node,
        attacker,
        runtime,
    })
}

impl Attack {
    /// The attacker's score at the node, if the node lists it as a peer.
    fn score(&self) -> Option<f64> {
        let status = get(&self.node.url("/v1/network")).ok()?.json();
        let me = self.attacker.local_peer.to_string();
        status["peers"]
            .as_array()?
            .iter()
            .find(|p| p["peer_id"] == me.as_str())?["score"]
            .as_f64()
    }

    /// Publishes messages made by `message(n)` (each different, so gossip does not drop them
    /// as duplicates) until the node scores the attacker below zero.
    fn publish_until_penalised(&self, topic: Topic, message: impl Fn(u32) -> Vec<u8>) -> f64 {
        let start = Instant::now();
        for n in 0.. {
            self.runtime
                .block_on(self.attacker.publish(topic, message(n)))
                .expect("network task running");
            if let Some(score) = self.score().filter(|s| *s < 0.0) {
                return score;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "the node never penalised the peer"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        unreachable!()
    }

    /// The node still answers, and its own log is intact.
    fn node_keeps_serving(&self) {
        assert_eq!(get(&self.node.url("/healthz")).unwrap().status, 200);
        assert_eq!(
            get(&self.node.url("/log/county-1/checkpoint"))
                .unwrap()
                .status,
            200
        );
        let evidence = get(&self.node.url("/v1/evidence")).unwrap().json();
        assert_eq!(
            evidence.as_array().map(Vec::len),
            Some(0),
            "no false evidence"
        );
    }
}

#[test]
fn malformed_gossip_is_rejected_and_penalised() -> anyhow::Result<()> {
    let attack = attack()?;
    let score = attack.publish_until_penalised(Topic::Checkpoints, |n| {
        format!("not a checkpoint {n}\n").into_bytes()
    });
    assert!(score < 0.0);
    attack.node_keeps_serving();
    let evidence_score = attack.publish_until_penalised(Topic::Evidence, |n| {
        format!("{{\"junk\":{n}}}").into_bytes()
    });
    assert!(evidence_score < 0.0);
    attack.node_keeps_serving();
    Ok(())
}

#[test]
fn unknown_origins_are_rejected_and_penalised() -> anyhow::Result<()> {
    let attack = attack()?;
    let stranger = SigningKey::generate("test.daylight/nobody", KeyType::Ed25519)?;
    attack.publish_until_penalised(Topic::Checkpoints, |n| {
        let checkpoint =
            Checkpoint::new("test.daylight/nobody", u64::from(n) + 1, Hash::digest(b"x"));
        checkpoint.sign(&stranger).unwrap().to_text().into_bytes()
    });
    attack.node_keeps_serving();
    Ok(())
}

#[test]
fn forged_signatures_are_rejected_and_penalised() -> anyhow::Result<()> {
    let attack = attack()?;
    // Same name as the county's log key, different key: the signature does not verify.
    let forger = SigningKey::generate("test.daylight/county-1", KeyType::Ed25519)?;
    attack.publish_until_penalised(Topic::Checkpoints, |n| {
        let checkpoint = Checkpoint::new(
            "test.daylight/county-1",
            u64::from(n) + 1,
            Hash::digest(b"y"),
        );
        checkpoint.sign(&forger).unwrap().to_text().into_bytes()
    });
    let size = Checkpoint::parse(
        &get(&attack.node.url("/log/county-1/checkpoint"))?
            .text()
            .split("\n\n")
            .next()
            .map(|t| format!("{t}\n"))
            .unwrap_or_default(),
    )?
    .size;
    assert_eq!(size, 0, "the forged checkpoints changed nothing");
    attack.node_keeps_serving();
    Ok(())
}

#[test]
fn floods_lower_the_score_and_oversize_messages_are_dropped() -> anyhow::Result<()> {
    let attack = attack()?;
    // First get penalised once, so the peer is known to be connected and scored.
    let first =
        attack.publish_until_penalised(Topic::Checkpoints, |n| format!("bad {n}\n").into_bytes());
    // Flood: 2,000 invalid messages as fast as the attacker can send them.
    for n in 0..2_000u32 {
        let junk = format!("flood {n}\n").into_bytes();
        attack
            .runtime
            .block_on(attack.attacker.publish(Topic::Checkpoints, junk))?;
    }
    let started = Instant::now();
    attack.node_keeps_serving();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the node stalled under the flood"
    );
    // The flood must leave the attacker penalised: its score lower than after the first
    // penalty, or still under gossipsub's graylist threshold (-80 by default), below which
    // the node ignores everything the peer sends — which is why a flood that follows a
    // heavy penalty cannot push the score lower still — or the peer dropped altogether.
    const GRAYLIST_THRESHOLD: f64 = -80.0;
    let start = Instant::now();
    loop {
        match attack.score() {
            Some(score) if score < first || score <= GRAYLIST_THRESHOLD => break,
            None => break,
            _ => {
                assert!(
                    start.elapsed() < DEADLINE,
                    "the flood did not keep the score below {first} or the graylist"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    // Oversize: 200 KiB, over the node's 64 KiB limit. The node refuses the frame (and stops
    // reading gossip from a peer that sends one) and keeps serving.
    for n in 0..5u8 {
        let mut big = vec![b'a' + n; 200 * 1024];
        big.push(b'\n');
        attack
            .runtime
            .block_on(attack.attacker.publish(Topic::Checkpoints, big))?;
    }
    attack.node_keeps_serving();
    Ok(())
}
