//! A county's publisher node as a real process: init, run, publish signed records over HTTP,
//! read them back through the tlog-tiles API, proofs and receipts, restart, and refuse bad
//! input and a data directory of another member.

use daylight_tests::{NodeProcess, TestNetwork, get, post_json, signed_receipt};
use daylight_verifier::bundle::ProofBundle;
use daylight_verifier::checkpoint::SignedCheckpoint;
use daylight_verifier::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use daylight_verifier::policy::LogPolicy;
use daylight_verifier::tile::read_bundle;
use daylight_verifier::{Hash, SigningKey};
use serde_json::json;

/// A county receipt of city money, signed by the county's operator.
fn receipt(operator: &SigningKey, n: u32) -> serde_json::Value {
    signed_receipt(
        operator,
        &format!("county-1-2024-rcpt-{n:04}"),
        1_000_000 + u64::from(n),
    )
}

#[test]
fn publish_read_prove_restart() -> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(2)?;
    let county = &network.keys["county-1"];
    let config = network.init_node("county-1")?;
    let node = NodeProcess::start(&config)?;

    // One record, then a batch of three.
    let first = receipt(&county.operator, 0);
    let reply = post_json(&node.url("/v1/records"), &serde_json::to_vec(&first)?)?;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let ack = reply.json();
    assert_eq!(ack["index"], 0);
    assert_eq!(ack["rid"], "county-1-2024-rcpt-0000");
    let batch: Vec<_> = (1..=3).map(|n| receipt(&county.operator, n)).collect();
    let reply = post_json(&node.url("/v1/records"), &serde_json::to_vec(&batch)?)?;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let acks = reply.json();
    assert_eq!(acks.as_array().map(Vec::len), Some(3));
    assert_eq!(acks[2]["index"], 3);

    // Refusals: JSON errors with the right status.
    let duplicate = post_json(&node.url("/v1/records"), &serde_json::to_vec(&first)?)?;
    assert_eq!(duplicate.status, 409, "{}", duplicate.text());
    assert_eq!(duplicate.json()["error"], "duplicate_rid");
    let mut forged = receipt(&county.operator, 9);
    forged["amount"]["minor"] = json!("1");
    let refused = post_json(&node.url("/v1/records"), &serde_json::to_vec(&forged)?)?;
    assert_eq!(refused.status, 422, "{}", refused.text());
    // In a batch, the forged record is named by its position, and nothing of the batch is kept.
    let mut signed_for_another_date = receipt(&county.operator, 9);
    signed_for_another_date["event_date"] = json!("2024-03-06");
    let mixed = vec![
        receipt(&county.operator, 20),
        receipt(&county.operator, 21),
        signed_for_another_date,
    ];
    let refused = post_json(&node.url("/v1/records"), &serde_json::to_vec(&mixed)?)?;
    assert_eq!(refused.status, 422, "{}", refused.text());
    let detail = refused.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        detail.starts_with("record 2 (county-1-2024-rcpt-0009)"),
        "{detail}"
    );
    assert!(detail.contains("signatures[0].sig"), "{detail}");
    assert_eq!(
        get(&node.url("/v1/records/county-1-2024-rcpt-0020"))?.status,
        404
    );
    let stranger = SigningKey::generate(
        "test.daylight/county-1/operator/eve",
        daylight_verifier::KeyType::Ed25519,
    )?;
    let unsigned = post_json(
        &node.url("/v1/records"),
        &serde_json::to_vec(&receipt(&stranger, 10))?,
    )?;
    assert_eq!(unsigned.status, 422, "{}", unsigned.text());
    assert_eq!(
        post_json(&node.url("/v1/records"), b"{not json")?.status,
        422
    );
    assert_eq!(
        get(&node.url("/log/county-1/proof/inclusion?index=x&size=1"))?.status,
        400
    );
    assert_eq!(get(&node.url("/log/county-1/tile/0/1"))?.status, 400);
    assert_eq!(get(&node.url("/log/nobody/checkpoint"))?.status, 404);
    assert!(get(&node.url("/nowhere"))?.json()["detail"].is_string());

    // The checkpoint is signed by the county's log key and covers all four records.
    let note = get(&node.url("/log/county-1/checkpoint"))?;
    assert_eq!(note.status, 200);
    let signed = SignedCheckpoint::open(&note.body, &county.log.verifier())?;
    assert_eq!(signed.checkpoint.size, 4);
    assert_eq!(signed.checkpoint.origin, "test.daylight/county-1");

    // Tiles: the partial level-0 tile holds the leaf hashes of the entry bundle's entries.
    let tile = get(&node.url("/log/county-1/tile/0/000.p/4"))?;
    assert_eq!(tile.status, 200);
    assert_eq!(tile.body.len(), 4 * 32);
    let entries = get(&node.url("/log/county-1/tile/entries/000.p/4"))?;
    let entries = read_bundle(&entries.body)?;
    assert_eq!(entries.len(), 4);
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(&tile.body[i * 32..(i + 1) * 32], &leaf_hash(entry).0);
    }
    assert_eq!(
        get(&node.url("/log/county-1/tile/0/000"))?.status,
        404,
        "no full tile yet"
    );

    // Proofs over HTTP verify against the signed root.
    let proof = get(&node.url("/log/county-1/proof/inclusion?index=2&size=4"))?.json();
    let proof: Vec<Hash> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect();
    verify_inclusion(
        2,
        4,
        &leaf_hash(entries[2]),
        &proof,
        &signed.checkpoint.root,
    )?;

    // The receipt verifies offline with the log's key (witness quorum arrives with issue 5).
    let bundle = ProofBundle::parse(&get(&node.url("/log/county-1/receipt/1"))?.body)?;
    let policy = LogPolicy::new(county.log.verifier(), vec![], 0)?;
    let entry = bundle.extra.clone().unwrap();
    bundle.verify(&policy, &leaf_hash(&entry))?;

    // The record endpoint finds it by rid.
    let record = get(&node.url("/v1/records/county-1-2024-rcpt-0002"))?.json();
    assert_eq!(record["index"], 2);
    assert_eq!(record["leaf"], leaf_hash(entries[2]).to_hex());
    let metrics = get(&node.url("/metrics"))?.text();
    assert!(
        metrics.contains("daylight_log_size{log=\"county-1\"} 4"),
        "{metrics}"
    );

    // A graceful restart keeps everything, and the new tree extends the old one.
    assert!(node.terminate()?.success());
    let node = NodeProcess::start(&config)?;
    let again = SignedCheckpoint::open(
        &get(&node.url("/log/county-1/checkpoint"))?.body,
        &county.log.verifier(),
    )?;
    assert_eq!(again.checkpoint, signed.checkpoint);
    let reply = post_json(
        &node.url("/v1/records"),
        &serde_json::to_vec(&receipt(&county.operator, 4))?,
    )?;
    assert_eq!(reply.json()["index"], 4);
    let newer = SignedCheckpoint::open(
        &get(&node.url("/log/county-1/checkpoint"))?.body,
        &county.log.verifier(),
    )?;
    let consistency = get(&node.url("/log/county-1/proof/consistency?old=4&new=5"))?.json();
    let consistency: Vec<Hash> = consistency["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect();
    verify_consistency(
        4,
        5,
        &signed.checkpoint.root,
        &newer.checkpoint.root,
        &consistency,
    )?;
    node.kill()?;
    Ok(())
}

#[test]
fn config_and_key_mistakes_are_refused_with_clear_messages() -> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(2)?;
    let config = network.init_node("county-1")?;
    let text = std::fs::read_to_string(&config)?;

    // A data directory that belongs to another member.
    let node = NodeProcess::start(&config)?;
    node.kill()?;
    let other = config.with_file_name("other.toml");
    let county2 = &network.keys["county-2"];
    std::fs::write(
        &other,
        text.replace("member = \"county-1\"", "member = \"county-2\"")
            .replace("keys/log.key", &county2.log_key_file.display().to_string())
            .replace(
                "keys/witness.key",
                &county2.witness_key_file.display().to_string(),
            )
            .replace("keys/p2p.key", &county2.p2p_key_file.display().to_string()),
    )?;
    let err = NodeProcess::start(&other).err().unwrap().to_string();
    assert!(err.contains("belongs to member \"county-1\""), "{err}");

    // A key that does not match the member's entry in the genesis.
    let wrong_key = config.with_file_name("wrong.toml");
    std::fs::write(
        &wrong_key,
        text.replace("keys/log.key", &county2.log_key_file.display().to_string()),
    )?;
    let err = NodeProcess::start(&wrong_key).err().unwrap().to_string();
    assert!(
        err.contains("does not match member county-1's entry in the genesis"),
        "{err}"
    );

    // Missing and malformed configuration files.
    let err = NodeProcess::start(&config.with_file_name("absent.toml"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("cannot read the configuration file"), "{err}");
    let broken = config.with_file_name("broken.toml");
    std::fs::write(&broken, "member = 3\n")?;
    let err = NodeProcess::start(&broken).err().unwrap().to_string();
    assert!(
        err.contains("not a valid daylight-node configuration"),
        "{err}"
    );

    // init refuses to overwrite an initialised directory.
    assert!(network.init_node("county-1").is_err());
    Ok(())
}
