//! A network of real node processes on loopback: a city, two counties, an auditor and a
//! read-only observer (five processes). A record published at a county appears, verified, on
//! every node; its checkpoint gathers the genesis
//! quorum of witness cosignatures on every node; a node that was down catches up after a
//! restart; and a county that signs two different trees of one size is caught, with evidence
//! that every node holds and anyone can check with the county's public key.
//!
//! Nodes run in separate processes and are observed over HTTP, so the test waits by polling
//! their endpoints (bounded by a deadline) for the state it expects.

use std::time::Duration;

use daylight_genesis::Genesis;
use daylight_tests::{
    NodeProcess, TestNetwork, get, post_json, signed_receipt, start_nodes, wait_for,
};
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::evidence::Evidence;
use daylight_verifier::policy::LogPolicy;
use daylight_verifier::{Hash, SigningKey};

const DEADLINE: Duration = Duration::from_secs(60);

fn receipts(operator: &SigningKey, from: u32, to: u32) -> Vec<serde_json::Value> {
    (from..to)
        .map(|n| {
            signed_receipt(
                operator,
                &format!("county-1-net-{n:04}"),
                10_000 + u64::from(n),
            )
        })
        .collect()
}

/// The county-1 checkpoint a node serves, if it is trusted under the genesis policy and has
/// at least `size` entries.
fn trusted_checkpoint(node: &NodeProcess, policy: &LogPolicy, size: u64) -> Option<Checkpoint> {
    let reply = get(&node.url("/log/county-1/checkpoint")).ok()?;
    if reply.status != 200 {
        return None;
    }
    let trusted = policy.verify(&reply.body).ok()?;
    (trusted.checkpoint.size >= size).then_some(trusted.checkpoint)
}

#[test]
fn records_replicate_gather_cosignatures_and_equivocation_is_caught() -> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(2)?;
    let genesis = Genesis::open(&std::fs::read(&network.genesis_file)?)?;
    let policy = genesis.policy_for("county-1")?;
    assert_eq!(policy.quorum(), 2);
    let members = ["city-1", "county-1", "county-2", "auditor-1", "observer"];
    let mut configs = network.init_nodes(&members[..4])?;
    configs.push(network.init_observer("observer")?);

    // The city starts first; the others bootstrap from it and find each other by identify.
    let mut nodes = start_nodes(&configs)?;
    let county = &network.keys["county-1"];

    // Publish at county-1; every node serves the log with a quorum-cosigned checkpoint.
    let reply = post_json(
        &nodes[1].url("/v1/records"),
        &serde_json::to_vec(&receipts(&county.operator, 0, 5))?,
    )?;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let published = Hash::digest(&get(&nodes[1].url("/log/county-1/tile/entries/000.p/5"))?.body);
    for (member, node) in members.iter().zip(&nodes) {
        let checkpoint = wait_for(
            DEADLINE,
            &format!("{member} to hold a quorum-cosigned county-1 log"),
            || trusted_checkpoint(node, &policy, 5),
        );
        assert_eq!(checkpoint.size, 5, "{member}");
        let mirrored = get(&node.url("/log/county-1/tile/entries/000.p/5"))?;
        assert_eq!(mirrored.status, 200, "{member}: {}", mirrored.text());
        assert_eq!(
            Hash::digest(&mirrored.body),
            published,
            "{member} serves the same entries"
        );
        // Every node finds the county's records by rid; the county's own node also by leaf
        // hash (mirrors keep no leaf index: its random inserts would slow catch-up).
        let by_rid = get(&node.url("/v1/records/county-1-net-0003"))?;
        assert_eq!(by_rid.status, 200, "{member}: {}", by_rid.text());
        let by_rid = by_rid.json();
        assert_eq!(by_rid["log"], "county-1", "{member}");
        assert_eq!(by_rid["index"], 3, "{member}");
        if *member == "county-1" {
            let leaf = by_rid["leaf"].as_str().unwrap_or_default();
            let by_leaf = get(&node.url(&format!("/v1/leaf/{leaf}")))?;
            assert_eq!(by_leaf.status, 200, "{member}: {}", by_leaf.text());
            assert_eq!(by_leaf.json(), by_rid, "{member}");
        }
    }

    // A node that was down catches up after a restart.
    nodes.remove(2).kill()?;
    let reply = post_json(
        &nodes[1].url("/v1/records"),
        &serde_json::to_vec(&receipts(&county.operator, 5, 12))?,
    )?;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let restarted = NodeProcess::start(&configs[2])?;
    let caught_up = wait_for(DEADLINE, "county-2 to catch up after a restart", || {
        trusted_checkpoint(&restarted, &policy, 12)
    });
    assert_eq!(caught_up.size, 12);
    nodes.insert(2, restarted);

    // The observer serves the log read-only: it publishes nothing and witnesses nothing.
    let refused = post_json(
        &nodes[4].url("/v1/records"),
        &serde_json::to_vec(&receipts(&county.operator, 12, 13))?,
    )?;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(refused.json()["error"], "observer");

    // County-1's key signs a second, different tree of size 12 and shows it to the auditor
    // as a witness request. The auditor has cosigned the real one: it refuses, builds the
    // evidence and gossips it; every node then holds it.
    let real = wait_for(DEADLINE, "the auditor to hold the log at size 12", || {
        trusted_checkpoint(&nodes[3], &policy, 12)
    });
    let forged = Checkpoint::new(&real.origin, real.size, Hash::digest(b"another history"));
    let forged_note = forged.sign(&county.log)?.to_text();
    let body = format!("old {}\n\n{forged_note}", real.size);
    let answer = post_json(
        &nodes[3].url("/log/county-1/add-checkpoint"),
        body.as_bytes(),
    )?;
    assert_eq!(answer.status, 409, "{}", answer.text());
    for (member, node) in members.iter().zip(&nodes) {
        let evidence = wait_for(DEADLINE, &format!("{member} to hold the evidence"), || {
            let list = get(&node.url("/v1/evidence")).ok()?.json();
            list.as_array()?.first().cloned()
        });
        let evidence = Evidence::from_json(evidence.to_string().as_bytes())?;
        let summary = evidence.verify(&county.log.verifier())?;
        assert!(
            summary
                .to_string()
                .contains("two different trees of size 12"),
            "{summary}"
        );
        let status = get(&node.url("/v1/network"))?.json();
        let county_log = status["logs"]
            .as_array()
            .and_then(|logs| logs.iter().find(|l| l["member"] == "county-1"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(county_log["equivocating"], true, "{member}: {status}");
    }
    Ok(())
}
