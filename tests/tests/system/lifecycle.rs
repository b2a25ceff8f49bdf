//! A network's lifecycle on real node processes (issue 14, item 6; DESIGN §6b):
//!
//! * a network of four members grows to five while a county keeps publishing: the version
//!   posted to one node reaches every node by gossip, the new county set up from the chain a
//!   node serves is mirrored and cosigned, and every record acknowledged before, during and
//!   after the change is served by every node at the index and leaf acknowledged, with an
//!   inclusion proof to a quorum-cosigned checkpoint;
//! * a leaked operator key is revoked: the county's node refuses it from then on, also after
//!   a restart, naming the key and the version; a key the same version adds is accepted;
//!   records the old key signed before still verify from a version-1 pin;
//! * a citizen pinned to version 1 verifies a record logged under version 3, with `verify`
//!   and with `receipt fetch` / `receipt verify` once `genesis update` moved the pin;
//! * forged versions (too few founder signatures, a missing proof of possession, a wrong
//!   `previous`) are refused by every node and by `daylight genesis verify`, each naming what
//!   is wrong, and no node holds any of them once a real version 2 has spread.
//!
//! Also covered elsewhere: a 3-member network taking a new member (`genesis_chain.rs`); a log
//! key rotated mid-log (`genesis_chain.rs`, and from the command line in `cli_genesis.rs`); a
//! version-1 pin following a 2-version chain that revokes a key (`cli_genesis.rs`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use daylight_api::{Ack, ErrorBody, RecordAnswer};
use daylight_genesis::{Genesis, GenesisBuilder, names};
use daylight_tests::lifecycle::{
    NewMember, assert_contains, chain_of, daylight, expect, genesis_update, ok, p, receipt,
    receipt_fetch, receipt_verify, sign_version, verify_at_node, version_adding, versions_served,
    wait_quorum, wait_versions,
};
use daylight_tests::{NodeProcess, TestNetwork, get, post_json, wait_until};
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::note::Note;
use daylight_verifier::{Hash, KeyType, ProofBundle, SigningKey, cosignature};

/// How long gossip, dialling, mirroring and cosigning may take.
const DEADLINE: Duration = Duration::from_secs(45);

/// Posts one record to `node`; the acknowledgement, or the refusal's status and body.
fn publish(node: &NodeProcess, record: &serde_json::Value) -> Result<Ack, (u16, String)> {
    let reply = post_json(&node.url("/v1/records"), record.to_string().as_bytes())
        .map_err(|e| (0, e.to_string()))?;
    if reply.status != 201 {
        return Err((reply.status, reply.text()));
    }
    serde_json::from_slice(&reply.body).map_err(|e| (reply.status, e.to_string()))
}

/// Posts a genesis version (or chain) to `node`; the status and body.
fn post_version(node: &NodeProcess, note: &str) -> (u16, String) {
    let reply = post_json(&node.url("/v1/genesis"), note.as_bytes()).expect("post a version");
    (reply.status, reply.text())
}

/// A member whose node was down while a version was gossiped learns it when it comes back,
/// from the first member it connects to: well before versions are gossiped again (once a
/// minute, `genesis::gossip::REPUBLISH`; gossipsub offers a message to late peers only for a
/// few heartbeats).
#[test]
fn a_node_that_was_down_when_a_version_was_gossiped_learns_it_on_connecting() -> anyhow::Result<()>
{
    let network = TestNetwork::city_with_counties(2)?;
    let v1 = Genesis::open(&std::fs::read(&network.genesis_file)?)?;
    let configs = network.init_nodes(&["city-1", "county-1", "county-2", "auditor-1"])?;
    // auditor-1's node stays down until version 2 has gone round the others.
    let nodes = daylight_tests::start_nodes(&configs[..3])?;
    let (_, v2) = post_version_adding_county_3(&network, &v1, &nodes[2])?;
    for node in &nodes {
        wait_versions(node, 2, DEADLINE);
    }
    daylight_tests::set_bootstrap(&configs[3], std::slice::from_ref(&nodes[0].p2p))?;
    let late = NodeProcess::start(&configs[3])?;
    let ids = wait_versions(&late, 2, Duration::from_secs(20));
    assert_eq!(ids, [v1.id(), v2.id()]);
    Ok(())
}

/// Version 2, adding county-3, signed by three founders of four (the majority) and posted to
/// `node` alone; the new member and the version.
fn post_version_adding_county_3(
    network: &TestNetwork,
    v1: &Genesis,
    node: &NodeProcess,
) -> anyhow::Result<(NewMember, daylight_genesis::SignedGenesis)> {
    let county = NewMember::county(network, "county-3")?;
    let founders: Vec<&SigningKey> = ["city-1", "county-1", "county-2"]
        .iter()
        .map(|id| &network.keys[*id].log)
        .collect();
    let v2 = version_adding(v1, &county, &founders)?;
    let (status, body) = post_version(node, &v2.to_text());
    assert_eq!(status, 200, "{body}");
    Ok((county, v2))
}

#[test]
fn a_four_member_network_grows_to_five_while_records_flow() -> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(2)?;
    let v1 = Genesis::open(&std::fs::read(&network.genesis_file)?)?;
    let members = ["city-1", "county-1", "county-2", "auditor-1"];
    let mut nodes = network.start_nodes(&members)?;

    // A clerk of county-1 publishes a record every 50 ms until told to stop.
    let acked: Arc<Mutex<Vec<Ack>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (acked, stop) = (acked.clone(), stop.clone());
        let operator = network.keys["county-1"].operator.clone();
        let url = nodes[1].url("/v1/records");
        std::thread::spawn(move || -> Result<(), String> {
            for n in 0.. {
                if stop.load(Ordering::Acquire) {
                    return Ok(());
                }
                let record = receipt("county-1", &operator, n).map_err(|e| e.to_string())?;
                let reply = post_json(&url, record.to_string().as_bytes())
                    .map_err(|e| format!("record {n}: {e}"))?;
                if reply.status != 201 {
                    return Err(format!("record {n}: {} {}", reply.status, reply.text()));
                }
                let ack: Ack = serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?;
                acked.lock().unwrap().push(ack);
                // A clerk's pace, not a wait for an event.
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(())
        })
    };
    let acked_count = || acked.lock().unwrap().len();
    wait_until(DEADLINE, "records acknowledged before version 2", || {
        (acked_count() >= 5)
            .then_some(())
            .ok_or(format!("{} acknowledged", acked_count()))
    });

    // Version 2 adds county-3, signed by three founders of four (the majority), posted to
    // county-2's node alone.
    let (county, v2) = post_version_adding_county_3(&network, &v1, &nodes[2])?;
    let during = acked_count();

    // The new county's node, set up from the chain county-2's node serves, started at once:
    // its first checkpoints race version 2 on gossip to the other nodes. No bootstrap list:
    // the others dial the address version 2 lists.
    let chain_file = network.dir.path().join("chain.json");
    std::fs::write(&chain_file, get(&nodes[2].url("/v1/genesis"))?.body)?;
    let config = county.init(&chain_file, &network.dir.path().join("county-3-data"))?;
    let new_node = NodeProcess::start(&config)?;
    let mut county_acks = vec![];
    for n in 0..3 {
        let ack = publish(&new_node, &receipt("county-3", &county.keys.operator, n)?)
            .map_err(|(s, b)| anyhow::anyhow!("county-3 record {n}: {s} {b}"))?;
        county_acks.push(ack);
    }
    for node in &nodes {
        let ids = wait_versions(node, 2, DEADLINE);
        assert_eq!(ids, [v1.id(), v2.id()]);
    }
    let chain = chain_of(&v1, &[&v2])?;
    for node in &nodes {
        wait_quorum(node, &chain, "county-3", 3, DEADLINE);
    }
    nodes.push(new_node);

    // A few more records after the new member is in; then the clerk stops.
    let after = acked_count();
    wait_until(
        DEADLINE,
        "records acknowledged after county-3 joined",
        || {
            (acked_count() >= after + 5)
                .then_some(())
                .ok_or(format!("{} acknowledged", acked_count()))
        },
    );
    stop.store(true, Ordering::Release);
    publisher
        .join()
        .expect("the publisher thread")
        .map_err(anyhow::Error::msg)?;
    let acked = acked.lock().unwrap().clone();
    assert!(
        during > 0 && after > during && acked.len() > after,
        "records before ({during}), during and after ({after}) the change, {} in all",
        acked.len()
    );
    let indices: Vec<u64> = acked.iter().map(|a| a.index).collect();
    assert_eq!(
        indices,
        (0..acked.len() as u64).collect::<Vec<_>>(),
        "one index per acknowledged record, nothing lost"
    );

    // Every node holds every log cosigned to its quorum, and serves every record acknowledged
    // at its index and leaf, with an inclusion proof to a cosigned checkpoint.
    let total = acked.len() as u64;
    let all = ["city-1", "county-1", "county-2", "auditor-1", "county-3"];
    for node in &nodes {
        for member in all {
            let size = match member {
                "county-1" => total,
                "county-3" => 3,
                _ => 0,
            };
            wait_quorum(node, &chain, member, size, DEADLINE);
        }
        for (member, acks) in [("county-1", &acked), ("county-3", &county_acks)] {
            let policy = chain.latest().policy_for(member)?;
            for ack in acks.iter() {
                let answer: RecordAnswer = serde_json::from_slice(
                    &get(&node.url(&format!("/v1/records/{}", ack.rid)))?.body,
                )?;
                assert_eq!(
                    (answer.index, answer.leaf),
                    (ack.index, ack.leaf),
                    "{} on {}",
                    ack.rid,
                    node.http
                );
                let bundle = ProofBundle::parse(
                    &get(&node.url(&format!("/log/{member}/receipt/{}", ack.index)))?.body,
                )?;
                assert_eq!(bundle.index, ack.index);
                assert_eq!(bundle.extra.as_deref().map(leaf_hash), Some(ack.leaf));
                bundle.verify(&policy, &ack.leaf)?;
            }
        }
    }
    Ok(())
}

#[test]
fn a_leaked_operator_key_is_revoked_and_refused_while_earlier_records_verify() -> anyhow::Result<()>
{
    let network = TestNetwork::city_and_county()?;
    let v1 = Genesis::open(&std::fs::read(&network.genesis_file)?)?;
    let mut nodes = network.start_nodes(&["city-1", "county-1"])?;
    let leaked = &network.keys["county-1"].operator;
    for n in 0..2 {
        publish(&nodes[1], &receipt("county-1", leaked, n)?)
            .map_err(|(s, b)| anyhow::anyhow!("{s} {b}"))?;
    }
    let size = wait_quorum(&nodes[1], &chain_of(&v1, &[])?, "county-1", 2, DEADLINE);

    // Version 2 revokes the leaked key from the log's current size and adds a new clerk.
    let clerk2 = SigningKey::generate(
        &names::operator_key_name(daylight_tests::NETWORK, "county-1", "clerk2"),
        KeyType::Ed25519,
    )?;
    let mut draft = GenesisBuilder::next_version(&v1);
    draft.revoke_key("county-1", &leaked.verifier(), size)?;
    draft
        .member_mut("county-1")
        .expect("county-1")
        .operators
        .push(clerk2.verifier());
    let founders = [&network.keys["city-1"].log, &network.keys["county-1"].log];
    let v2 = sign_version(&draft, &v1, &[&clerk2], &founders)?;
    // Posted to the city; the county takes it by gossip.
    let (status, body) = post_version(&nodes[0], &v2.to_text());
    assert_eq!(status, 200, "{body}");
    wait_versions(&nodes[1], 2, DEADLINE);

    // The leaked key is refused, naming the key and the version; the new clerk is accepted.
    let refused = |node: &NodeProcess, n: u32| {
        let (status, body) = publish(node, &receipt("county-1", leaked, n).unwrap())
            .expect_err("a record signed by the revoked key is refused");
        assert!((400..500).contains(&status), "{status} {body}");
        let error: ErrorBody = serde_json::from_str(&body).expect("a JSON error");
        assert_contains(&error.detail, leaked.name());
        assert_contains(&error.detail, "revoked");
        assert_contains(&error.detail, "genesis version 2");
    };
    refused(&nodes[1], 2);
    let ack = publish(&nodes[1], &receipt("county-1", &clerk2, 3)?)
        .map_err(|(s, b)| anyhow::anyhow!("{s} {b}"))?;
    assert_eq!(ack.index, size, "the refused record took no index");

    // Still refused after a restart: the node keeps the chain it took.
    nodes.pop().expect("the county's node").terminate()?;
    let config = network.dir.path().join("county-1-data/node.toml");
    let county = NodeProcess::start(&config)?;
    refused(&county, 4);
    publish(&county, &receipt("county-1", &clerk2, 5)?)
        .map_err(|(s, b)| anyhow::anyhow!("{s} {b}"))?;

    // The leaked key's earlier records, and the new clerk's, verify from a version-1 pin.
    let chain = chain_of(&v1, &[&v2])?;
    wait_quorum(&county, &chain, "county-1", size + 2, DEADLINE);
    let citizen = network.dir.path().join("citizen");
    for (node, rid) in [
        (&county, "county-1-chain-0000"),
        (&nodes[0], "county-1-chain-0001"),
        (&county, "county-1-chain-0003"),
    ] {
        let run = ok(verify_at_node(
            true,
            &citizen,
            &network.genesis_file,
            &node.url(""),
            rid,
        ));
        let report = run.json();
        assert_eq!(report["genesis_chain"]["using"]["sequence"], 2, "{report}");
    }
    Ok(())
}

#[test]
fn a_citizen_pinned_to_version_1_verifies_a_record_logged_under_version_3() -> anyhow::Result<()> {
    let network = TestNetwork::city_and_county()?;
    let v1 = Genesis::open(&std::fs::read(&network.genesis_file)?)?;
    let nodes = network.start_nodes(&["city-1", "county-1"])?;
    let (city, county) = (&nodes[0], &nodes[1]);
    let operator = &network.keys["county-1"].operator;
    publish(county, &receipt("county-1", operator, 0)?)
        .map_err(|(s, b)| anyhow::anyhow!("{s} {b}"))?;

    // Version 2 adds county-2 (whose node never starts: county-1 keeps the city's
    // cosignature, quorum 1); version 3 adds a clerk to county-1 and names its witnesses.
    let founders = [&network.keys["city-1"].log, &network.keys["county-1"].log];
    let county2 = NewMember::county(&network, "county-2")?;
    let v2 = version_adding(&v1, &county2, &founders)?;
    let (status, body) = post_version(county, &v2.to_text());
    assert_eq!(status, 200, "{body}");
    let v2_genesis = chain_of(&v1, &[&v2])?.latest().clone();
    let clerk2 = SigningKey::generate(
        &names::operator_key_name(daylight_tests::NETWORK, "county-1", "clerk2"),
        KeyType::Ed25519,
    )?;
    let mut draft = GenesisBuilder::next_version(&v2_genesis);
    draft
        .member_mut("county-1")
        .expect("county-1")
        .operators
        .push(clerk2.verifier());
    draft.set_witnesses("county-1", Some(vec!["city-1".to_string()]))?;
    let v3 = sign_version(&draft, &v2_genesis, &[&clerk2], &founders)?;
    // Version 3 to the city, which got version 2 by gossip.
    wait_versions(city, 2, DEADLINE);
    let (status, body) = post_version(city, &v3.to_text());
    assert_eq!(status, 200, "{body}");
    wait_versions(county, 3, DEADLINE);

    // The new clerk's record, which only version 3 accepts.
    let rid = "county-1-chain-0001";
    publish(county, &receipt("county-1", &clerk2, 1)?)
        .map_err(|(s, b)| anyhow::anyhow!("{s} {b}"))?;
    let chain = chain_of(&v1, &[&v2, &v3])?;
    wait_quorum(county, &chain, "county-1", 2, DEADLINE);

    let dir = network.dir.path();
    let pin = dir.join("citizen-v1.note");
    std::fs::copy(&network.genesis_file, &pin)?;
    let citizen = dir.join("citizen");
    for node in [county, city] {
        let run = ok(verify_at_node(true, &citizen, &pin, &node.url(""), rid));
        let report = run.json();
        assert_eq!(report["genesis_chain"]["pinned"]["sequence"], 1, "{report}");
        assert_eq!(report["genesis_chain"]["using"]["sequence"], 3, "{report}");
    }

    // A receipt fetched with the version-1 pin verifies offline once the pin follows the
    // chain to version 3.
    let receipt_file = dir.join("rcpt-1.tlog-proof");
    ok(receipt_fetch(&pin, &county.url(""), rid, &receipt_file));
    let run = expect(1, receipt_verify(&pin, &receipt_file));
    assert_contains(&run.stdout, "daylight genesis update");
    let run = ok(genesis_update(&pin, &city.url("")));
    assert_contains(&run.stdout, "Version 2");
    assert_contains(&run.stdout, "Version 3");
    let run = ok(receipt_verify(&pin, &receipt_file));
    assert_contains(&run.stdout, "pinned version 3");
    Ok(())
}

/// `version` with its `previous` replaced by `previous`, signed anew by `keys` (founders and
/// new keys, of type 0x01) and `witness_keys` (cosignatures): a version drafted from another
/// version, signed by everyone it needs.
fn with_previous(
    version: &str,
    previous: (&str, &str),
    keys: &[&SigningKey],
    witness_keys: &[&SigningKey],
) -> anyhow::Result<String> {
    let text = Note::parse(version.as_bytes())?
        .text
        .replace(previous.0, previous.1);
    let mut note = Note::sign(&text, keys)?;
    for key in witness_keys {
        note.signatures.push(cosignature::cosign(key, &text, 0)?);
    }
    Ok(note.to_text())
}

#[test]
fn forged_versions_are_refused_everywhere_with_a_clear_message() -> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(1)?;
    let v1 = Genesis::open(&std::fs::read(&network.genesis_file)?)?;
    let nodes = network.start_nodes(&["city-1", "county-1", "auditor-1"])?;
    let county = NewMember::county(&network, "county-2")?;
    let founders = [&network.keys["city-1"].log, &network.keys["county-1"].log];
    let valid = version_adding(&v1, &county, &founders)?;

    // (a) one founder of three, below the majority; (b) the new operator key never signed;
    // (c) drafted from a version that is not version 1, signed by everyone it needs.
    let too_few = version_adding(&v1, &county, &founders[..1])?.to_text();
    let mut draft = GenesisBuilder::next_version(&v1);
    draft.add_member(county.member.clone());
    let no_proof = sign_version(
        &draft,
        &v1,
        &[&county.keys.log, &county.keys.witness],
        &founders,
    )?;
    let other = Hash::digest(b"another version 1").to_hex();
    let wrong_previous = with_previous(
        &valid.to_text(),
        (v1.id(), &other),
        &[
            founders[0],
            founders[1],
            &county.keys.log,
            &county.keys.operator,
        ],
        &[&county.keys.witness],
    )?;
    // What the node's refusal and `daylight genesis verify` each say.
    let wrong = format!("names previous {other}");
    let forged = [
        (
            "too few founders",
            too_few,
            vec!["signed by 1 founder(s) of version 1", "2 required"],
            vec!["[FAIL] founder signatures", "1 of 2 required", "county-1"],
        ),
        (
            "no proof of possession",
            no_proof.to_text(),
            vec!["proof of possession", "member \"county-2\"", "operators[0]"],
            vec!["[FAIL] proofs of possession", "county-2 operators[0]"],
        ),
        (
            "wrong previous",
            wrong_previous,
            vec![wrong.as_str(), v1.id()],
            vec!["[FAIL] version 2", wrong.as_str(), v1.id()],
        ),
    ];

    let dir = network.dir.path();
    for (n, (what, note, from_node, from_cli)) in forged.iter().enumerate() {
        // Each to another node: 400, and the message names the problem.
        let (status, body) = post_version(&nodes[n], note);
        assert_eq!(status, 400, "{what}: {body}");
        let error: ErrorBody = serde_json::from_str(&body)?;
        assert_eq!(error.error, "invalid_genesis", "{what}");
        for wanted in from_node {
            assert_contains(&error.detail, wanted);
        }
        // The command line names it too, and fails.
        let file = dir.join(format!("forged-{n}.note"));
        std::fs::write(&file, note)?;
        let run = expect(
            1,
            daylight(&[
                "genesis",
                "verify",
                p(&file),
                "--previous",
                p(&network.genesis_file),
            ]),
        );
        for wanted in from_cli {
            assert_contains(&run.stdout, wanted);
        }
    }

    // The real version 2, posted to one node, spreads by gossip; once every node holds it,
    // none holds anything forged.
    let (status, body) = post_version(&nodes[1], &valid.to_text());
    assert_eq!(status, 200, "{body}");
    for node in &nodes {
        wait_versions(node, 2, DEADLINE);
        assert_eq!(
            versions_served(node).map_err(anyhow::Error::msg)?,
            [v1.id(), valid.id()]
        );
    }
    Ok(())
}
