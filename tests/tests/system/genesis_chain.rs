//! The genesis chain on real node processes (issue 14, item 3; DESIGN §6b): a running network
//! of three members takes version 2 of its genesis, which adds a county, from a `POST
//! /v1/genesis` to one node; every node learns it by gossip and serves the two-version chain;
//! the new county's node, set up from the chain one of them serves, is dialled, mirrored and
//! witnessed. A forged version (too few founder signatures) is refused and changes nothing.
//! A county's log key is rotated on its stopped node (`rotate-key --show-point`, a version
//! naming that point, `rotate-key --log-key`): it signs on with the new key and its earlier
//! records still verify.

use std::time::Duration;

use anyhow::Context as _;
use daylight_genesis::{Genesis, GenesisBuilder, GenesisChain, names};
use daylight_tests::lifecycle::{NewMember, receipt, version_adding, versions_served};
use daylight_tests::{
    NETWORK, NodeProcess, TestNetwork, get, node_binary, post_json, start_bootstrap, wait_for,
};
use daylight_verifier::{KeyType, SigningKey};

/// How long gossip, dialling, mirroring and cosigning may take.
const DEADLINE: Duration = Duration::from_secs(90);

/// The number of versions of the chain a node serves at `GET /v1/genesis`.
fn versions_count(node: &NodeProcess) -> Option<usize> {
    versions_served(node).ok().map(|ids| ids.len())
}

#[test]
fn a_version_adding_a_member_spreads_and_the_new_member_is_mirrored_and_witnessed()
-> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(1)?;
    let v1 = Genesis::open(&std::fs::read(&network.genesis_file)?)?;
    let members = ["city-1", "county-1", "auditor-1"];
    let nodes = network.start_nodes(&members)?;
    for node in &nodes {
        assert_eq!(
            versions_count(node),
            Some(1),
            "a new network has one version"
        );
    }

    let county = NewMember::county(&network, "county-2")?;
    let founders = |ids: &[&str]| -> Vec<&SigningKey> {
        ids.iter().map(|id| &network.keys[*id].log).collect()
    };

    // A forged version 2: one founder of three, below the majority threshold.
    let forged = version_adding(&v1, &county, &founders(&["city-1"]))?;
    let reply = post_json(&nodes[0].url("/v1/genesis"), forged.to_text().as_bytes())?;
    assert_eq!(reply.status, 400, "{}", reply.text());
    let error: daylight_api::ErrorBody = serde_json::from_slice(&reply.body)?;
    assert_eq!(error.error, "invalid_genesis");
    assert!(error.detail.contains("founder"), "{}", error.detail);
    assert_eq!(
        versions_count(&nodes[0]),
        Some(1),
        "a forged version changes nothing"
    );

    // The real version 2, signed by two founders of three, posted to the city's node alone.
    let v2 = version_adding(&v1, &county, &founders(&["city-1", "county-1"]))?;
    let reply = post_json(&nodes[0].url("/v1/genesis"), v2.to_text().as_bytes())?;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let accepted: daylight_api::GenesisAccepted = serde_json::from_slice(&reply.body)?;
    assert_eq!(
        (accepted.sequence, accepted.added.as_slice()),
        (2, &[2][..])
    );
    assert_eq!(accepted.id, v2.id());
    // Posting it again is harmless.
    let again = post_json(&nodes[0].url("/v1/genesis"), v2.to_text().as_bytes())?;
    assert_eq!(again.status, 200, "{}", again.text());

    // Every node learns it by gossip and serves the two-version chain.
    for (member, node) in members.iter().zip(&nodes) {
        wait_for(DEADLINE, &format!("{member} serving version 2"), || {
            (versions_count(node)? == 2).then_some(())
        });
        let info = get(&node.url("/v1/network"))?.json();
        assert_eq!(info["genesis"], v1.id(), "the network id stays version 1's");
        assert_eq!(info["genesis_sequence"], 2);
    }
    let reply = get(&nodes[1].url("/v1/genesis"))?;
    assert_eq!(reply.status, 200);
    let chain_file = network.dir.path().join("chain.json");
    std::fs::write(&chain_file, &reply.body)?;

    // The new county's node, set up from the chain a node serves.
    let config = county.init(&chain_file, &network.dir.path().join("county-2-data"))?;
    // No bootstrap list: the others dial it at the address version 2 lists.
    let new_node = NodeProcess::start(&config)?;
    let reply = post_json(
        &new_node.url("/v1/records"),
        &serde_json::to_vec(&receipt(&county.id, &county.keys.operator, 1)?)?,
    )?;
    assert_eq!(reply.status, 201, "{}", reply.text());

    // Its log is mirrored by every other node and cosigned to the quorum version 2 sets.
    let mut chain = GenesisChain::new(v1.clone())?;
    chain.extend(v2.clone()).context("version 2 verifies")?;
    let policy = chain.latest().policy_for(&county.id)?;
    for (member, node) in members.iter().zip(&nodes) {
        wait_for(
            DEADLINE,
            &format!("{member} mirroring county-2, cosigned"),
            || {
                let reply = get(&node.url("/log/county-2/checkpoint")).ok()?;
                let trusted = policy.verify(&reply.body).ok()?;
                (trusted.checkpoint.size >= 1).then_some(())
            },
        );
    }
    Ok(())
}

/// Runs `daylight-node` with `args`; its standard output, or the error it printed.
fn node_command(args: &[&std::ffi::OsStr]) -> anyhow::Result<String> {
    let out = std::process::Command::new(node_binary()?)
        .args(args)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "daylight-node {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

#[test]
fn a_rotated_log_key_signs_on_after_its_rotation_point_and_earlier_records_still_verify()
-> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(1)?;
    let v1 = Genesis::open(&std::fs::read(&network.genesis_file)?)?;
    let members = ["city-1", "county-1", "auditor-1"];
    let configs = network.init_nodes(&members)?;
    let city = start_bootstrap(&configs)?;
    let auditor = NodeProcess::start(&configs[2])?;
    let county = NodeProcess::start(&configs[1])?;
    let operator = &network.keys["county-1"].operator;
    for n in 0..2 {
        let reply = post_json(
            &county.url("/v1/records"),
            &serde_json::to_vec(&receipt("county-1", operator, n)?)?,
        )?;
        assert_eq!(reply.status, 201, "{}", reply.text());
    }
    let v1_policy = v1.policy_for("county-1")?;
    wait_for(DEADLINE, "the city mirroring county-1 at size 2", || {
        let reply = get(&city.url("/log/county-1/checkpoint")).ok()?;
        (v1_policy.verify(&reply.body).ok()?.checkpoint.size == 2).then_some(())
    });

    // The county's node stops; its last checkpoint is the rotation point.
    county.terminate()?;
    let config = configs[1].as_os_str();
    let shown = node_command(&[
        "rotate-key".as_ref(),
        "--config".as_ref(),
        config,
        "--show-point".as_ref(),
    ])?;
    let size: u64 = shown
        .lines()
        .find_map(|l| l.strip_prefix("size "))
        .context("size line")?
        .parse()?;
    let root = shown
        .lines()
        .find_map(|l| l.strip_prefix("root "))
        .context("root line")?;
    assert_eq!(size, 2);
    let root = daylight_verifier::Hash::from_base64(root)?;

    // Version 2 rotates the key at that point; the running nodes take it.
    let new = SigningKey::generate(&names::log_key_name(NETWORK, "county-1"), KeyType::Ed25519)?;
    let new_file = network.dir.path().join("county-1.new-log.key");
    std::fs::write(&new_file, new.to_private_key_string())?;
    let mut draft = GenesisBuilder::next_version(&v1);
    draft.rotate_log_key("county-1", new.verifier(), size, root)?;
    let mut v2 = draft.sign_next(&v1, &new)?;
    for id in ["city-1", "auditor-1"] {
        v2.sign_next(&v1, &network.keys[id].log)?;
    }
    let v2_file = network.dir.path().join("v2.note");
    std::fs::write(&v2_file, v2.to_text())?;
    let reply = post_json(&city.url("/v1/genesis"), v2.to_text().as_bytes())?;
    assert_eq!(reply.status, 200, "{}", reply.text());

    let installed = node_command(&[
        "rotate-key".as_ref(),
        "--config".as_ref(),
        config,
        "--log-key".as_ref(),
        new_file.as_os_str(),
        "--genesis".as_ref(),
        v2_file.as_os_str(),
    ])?;
    assert!(
        installed.contains("installed the new log key"),
        "{installed}"
    );

    // Restarted, the county signs its next checkpoint with the new key.
    let county = NodeProcess::start(&configs[1])?;
    let reply = post_json(
        &county.url("/v1/records"),
        &serde_json::to_vec(&receipt("county-1", operator, 2)?)?,
    )?;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let mut chain = GenesisChain::new(v1.clone())?;
    chain.extend(v2.clone())?;
    let v2_policy = chain.latest().policy_for("county-1")?;
    for (member, node) in [
        ("city-1", &city),
        ("auditor-1", &auditor),
        ("county-1", &county),
    ] {
        wait_for(
            DEADLINE,
            &format!("{member} serving county-1 at size 3, cosigned"),
            || {
                let reply = get(&node.url("/log/county-1/checkpoint")).ok()?;
                (v2_policy.verify(&reply.body).ok()?.checkpoint.size == 3).then_some(())
            },
        );
        // Records before the rotation are still served and verify.
        let reply = get(&node.url("/v1/records/county-1-chain-0000"))?;
        assert_eq!(reply.status, 200, "{member}: {}", reply.text());
        let health = get(&node.url("/healthz"))?;
        assert_eq!(health.status, 200, "{member}: {}", health.text());
    }
    Ok(())
}
