//! The genesis chain from the command line (DESIGN §6b), with the real `daylight` binary:
//! `genesis amend` drafts the next version, founders and new keys sign it (`genesis sign`),
//! `genesis verify` names who is still missing — founders against the threshold, proofs of
//! possession by new keys — and passes once they signed. Against real nodes that took the new
//! version (`POST /v1/genesis`), a citizen pinned to version 1 verifies a record signed by an
//! operator key version 2 introduced, and one by the key it revoked, logged before the
//! revocation point; `receipt verify` offline uses the pin as it is until `genesis update`
//! follows the chain, says what changed and moves the pin (old one kept as FILE.1.bak); a
//! static copy serves no chain, so the pin is used as it is and the output says so; a pin of
//! another network is refused and left untouched. A county's log key rotated mid-log (with
//! `daylight-node rotate-key`): records before and after verify from a version-1 pin, and the
//! new key's checkpoint extends the one this machine saw under the old key.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use daylight_genesis::GenesisChain;
use daylight_tests::lifecycle::{
    self, assert_contains, daylight, expect, genesis_amend, genesis_sign, genesis_update, ok, p,
    receipt_fetch, receipt_verify, verify_at_node,
};
use daylight_tests::nginx::{self, Nginx};
use daylight_tests::{
    NodeProcess, TempDir, TestNetwork, get, node_binary, post_json, set_bootstrap, signed_receipt,
    wait_until,
};
use daylight_verifier::SigningKey;

const DEADLINE: Duration = Duration::from_secs(60);

/// Generates a key with `daylight keygen` into the network's directory.
fn keygen(network: &TestNetwork, name: &str, kind: &str, file: &str) -> PathBuf {
    let path = network.dir.path().join(file);
    ok(daylight(&[
        "keygen",
        "--name",
        &format!("{}/{name}", daylight_tests::NETWORK),
        "--kind",
        kind,
        "--out",
        p(&path),
    ]));
    path
}

#[test]
fn amend_sign_and_verify_name_who_is_missing() {
    // city-1, county-1, auditor-1: three founders, a majority of two signs version 2.
    let network = TestNetwork::city_with_counties(1).expect("network");
    let dir = network.dir.path();
    let genesis = network.genesis_file.clone();
    let log = keygen(&network, "county-2", "log", "county-2.log.key");
    let witness = keygen(
        &network,
        "county-2/witness",
        "witness",
        "county-2.witness.key",
    );
    let operator = keygen(
        &network,
        "county-2/operator/clerk",
        "log",
        "county-2.operator.key",
    );
    let (_, peer) = daylight_node::network::generate_identity().expect("identity");
    let draft = dir.join("v2.draft");
    let amended = ok(genesis_amend(
        &genesis,
        &draft,
        &[
            "--add-member",
            "county-2",
            "--role",
            "county",
            "--name",
            "county-2 bureau",
            "--code",
            "320099",
            "--parent",
            "city-1",
            "--log-key",
            p(&log),
            "--witness-key",
            p(&witness),
            "--peer-id",
            &peer.to_string(),
            "--operator",
            p(&operator),
            "--audit",
            "idle_days=60",
            "--audit",
            "approval_threshold.CNY=5000000",
        ],
    ));
    assert_contains(&amended.stdout, "Drafted genesis version 2");
    assert_contains(&amended.stdout, "added member county-2");
    assert_contains(&amended.stdout, "idle_days set to 60 (was 90)");
    assert_contains(&amended.stdout, "2 of the 3 founder(s) of version 1");

    let sign = |key: &Path| genesis_sign(&draft, key, &genesis);
    let verify = || {
        daylight(&[
            "--json",
            "genesis",
            "verify",
            p(&draft),
            "--previous",
            p(&genesis),
        ])
    };
    let signed = ok(sign(&network.keys["city-1"].log_key_file));
    assert_contains(&signed.stdout, "as founder city-1 of version 1");

    // One founder of the two needed, and no proof of possession yet: both named.
    let run = expect(1, verify());
    let report = run.json();
    let signatures = &report["signatures"];
    assert_eq!(signatures["required"], 2, "{report}");
    assert_eq!(signatures["founders_signed"], serde_json::json!(["city-1"]));
    assert_eq!(
        signatures["founders_unsigned"],
        serde_json::json!(["auditor-1", "county-1"])
    );
    let missing: Vec<String> = signatures["proofs_missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            format!(
                "{} {}",
                k["member"].as_str().unwrap(),
                k["field"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        missing,
        [
            "county-2 log_key",
            "county-2 witness_key",
            "county-2 operators[0]"
        ]
    );
    let human = expect(
        1,
        daylight(&["genesis", "verify", p(&draft), "--previous", p(&genesis)]),
    );
    assert_contains(&human.stdout, "[FAIL] founder signatures");
    assert_contains(&human.stdout, "auditor-1, county-1");
    assert_contains(&human.stdout, "[FAIL] proofs of possession");
    assert_contains(&human.stdout, "county-2 witness_key");
    assert_contains(&human.stdout, "member county-2 joins");

    // The new keys prove possession (the witness key with a cosignature line).
    for key in [&log, &witness, &operator] {
        let run = ok(sign(key));
        assert_contains(&run.stdout, "proof of possession of county-2");
    }
    let run = expect(1, verify());
    assert_eq!(
        run.json()["signatures"]["proofs_missing"],
        serde_json::json!([])
    );
    // A key that is neither a founder's nor new is refused.
    let refused = expect(2, sign(&network.keys["county-1"].witness_key_file));
    assert_contains(&refused.stderr, "neither");

    ok(sign(&network.keys["county-1"].log_key_file));
    let run = ok(verify());
    assert_eq!(run.json()["signatures"]["complete"], true);
    let show = ok(daylight(&["genesis", "show", p(&draft)]));
    assert_contains(&show.stdout, "Version 2, following version 1");

    // The chain of both versions verifies from version 1; a version alone needs its previous.
    let first = std::fs::read(&genesis).unwrap();
    let mut chain = GenesisChain::parse_any(&first).unwrap();
    chain
        .extend_bytes(&std::fs::read(&draft).unwrap())
        .expect("the CLI's version 2 extends the chain");
    let chain_file = dir.join("chain.json");
    std::fs::write(&chain_file, chain.to_json()).unwrap();
    let run = ok(daylight(&["genesis", "verify", p(&chain_file)]));
    assert_contains(&run.stdout, "2 version(s) of network");
    let run = expect(2, daylight(&["genesis", "verify", p(&draft)]));
    assert_contains(&run.stderr, "--previous");

    // Version 3 from the chain: retire the auditor; a member of version 2 is never removed.
    let v3 = dir.join("v3.draft");
    let run = ok(genesis_amend(
        &chain_file,
        &v3,
        &[
            "--retire",
            "auditor-1",
            "--at-size",
            "0",
            "--at-root",
            &daylight_verifier::Hash::digest(b"").to_base64(),
        ],
    ));
    assert_contains(&run.stdout, "auditor-1 retired");
    let run = expect(
        2,
        daylight(&[
            "genesis",
            "edit",
            p(&v3),
            "--previous",
            p(&chain_file),
            "--remove-member",
            "county-2",
        ]),
    );
    assert_contains(&run.stderr, "--retire county-2");
}

/// A city and a county (quorum 1) as real nodes that cosign each other.
struct Net {
    network: TestNetwork,
    city: NodeProcess,
    county: NodeProcess,
}

impl Net {
    /// Starts both nodes; the county publishes a static copy of its logs to `publish`.
    fn start(publish: &Path) -> Net {
        let network = TestNetwork::city_and_county().expect("network");
        let city = NodeProcess::start(&network.init_node("city-1").unwrap()).unwrap();
        let county_config = network.init_node("county-1").unwrap();
        let mut config = std::fs::read_to_string(&county_config).unwrap();
        config.push_str(&format!(
            "\n[publish]\ndir = {:?}\ninterval_seconds = 1\n",
            publish.display().to_string()
        ));
        std::fs::write(&county_config, config).unwrap();
        set_bootstrap(&county_config, std::slice::from_ref(&city.p2p)).unwrap();
        let county = NodeProcess::start(&county_config).unwrap();
        Net {
            network,
            city,
            county,
        }
    }
}

/// Posts a county-1 receipt `rid` of `minor` fen, signed by `operator`, to `node`.
fn publish(node: &NodeProcess, operator: &SigningKey, rid: &str, minor: u64) {
    let record = signed_receipt(operator, rid, minor);
    let reply = post_json(
        &node.url("/v1/records"),
        &serde_json::to_vec(&record).unwrap(),
    )
    .unwrap();
    assert!(reply.status < 300, "{}", reply.text());
}

/// Waits until `node` serves a checkpoint of county-1's log of at least `size` entries that
/// the chain's latest version trusts.
fn wait_quorum(node: &NodeProcess, chain: &GenesisChain, size: u64) {
    lifecycle::wait_quorum(node, chain, "county-1", size, DEADLINE);
}

/// Waits until `node` serves a chain of `versions` versions.
fn wait_versions(node: &NodeProcess, versions: usize) {
    lifecycle::wait_versions(node, versions, DEADLINE);
}

#[test]
fn a_pin_of_version_1_follows_the_chain_the_nodes_serve() {
    let published = TempDir::new("cli-genesis-copy");
    let net = Net::start(published.path());
    let dir = net.network.dir.path();
    let genesis = net.network.genesis_file.clone();
    let v1_bytes = std::fs::read(&genesis).unwrap();
    let v1 = GenesisChain::parse_any(&v1_bytes).unwrap();
    let county = net.county.url("");
    let data = dir.join("citizen");

    // Version 1's clerk logs entry 0.
    let old_operator = &net.network.keys["county-1"].operator;
    publish(&net.county, old_operator, "county-1-2024-rcpt-0000", 100);
    wait_quorum(&net.county, &v1, 1);

    // Version 2: a new clerk key, the old one revoked from index 1.
    let new_operator = keygen(
        &net.network,
        "county-1/operator/clerk2",
        "log",
        "county-1.clerk2.key",
    );
    let draft = dir.join("v2.note");
    let run = ok(genesis_amend(
        &genesis,
        &draft,
        &[
            "--set-member",
            "county-1",
            "--operator",
            p(&new_operator),
            "--revoke",
            "county-1",
            "--key",
            &old_operator.verifier().to_string(),
            "--from-index",
            "1",
            "--audit",
            "idle_days=60",
        ],
    ));
    assert_contains(&run.stdout, "revoked");
    for key in [
        net.network.keys["city-1"].log_key_file.clone(),
        net.network.keys["county-1"].log_key_file.clone(),
        new_operator.clone(),
    ] {
        ok(genesis_sign(&draft, &key, &genesis));
    }
    for node in [&net.county, &net.city] {
        let reply = post_json(&node.url("/v1/genesis"), &std::fs::read(&draft).unwrap()).unwrap();
        assert_eq!(reply.status, 200, "{}", reply.text());
        wait_versions(node, 2);
    }
    let mut v2 = v1.clone();
    v2.extend_bytes(&std::fs::read(&draft).unwrap()).unwrap();

    // The new clerk logs entry 1.
    let new_key = daylight_verifier::SigningKey::parse(
        std::fs::read_to_string(&new_operator).unwrap().trim(),
    )
    .unwrap();
    publish(&net.county, &new_key, "county-1-2024-rcpt-0001", 200);
    wait_quorum(&net.county, &v2, 2);

    // A citizen pinned to version 1 verifies both records: the chain is followed from the pin.
    let pinned_v1 = dir.join("citizen-v1.note");
    std::fs::write(&pinned_v1, &v1_bytes).unwrap();
    for rid in ["county-1-2024-rcpt-0001", "county-1-2024-rcpt-0000"] {
        let run = ok(verify_at_node(true, &data, &pinned_v1, &county, rid));
        let report = run.json();
        assert_eq!(report["genesis_chain"]["pinned"]["sequence"], 1, "{report}");
        assert_eq!(report["genesis_chain"]["using"]["sequence"], 2, "{report}");
        assert_eq!(report["genesis_chain"]["followed_from"], county.as_str());
    }
    let run = ok(verify_at_node(
        false,
        &data,
        &pinned_v1,
        &county,
        "county-1-2024-rcpt-0001",
    ));
    assert_contains(&run.stdout, "followed the chain served by");
    assert_contains(&run.stdout, "clerk2");
    let run = ok(daylight(&[
        "audit",
        "--genesis",
        p(&pinned_v1),
        "--node",
        &county,
        "--replay-only",
    ]));
    assert_contains(&run.stdout, "to version 2");

    // A static copy serves no chain: the pin is used as it is, and the output says so.
    if nginx::available() {
        let copy_checkpoint = published.path().join("log/county-1/checkpoint");
        let policy = v2.latest().policy_for("county-1").unwrap();
        wait_until(DEADLINE, "the static copy at size 2", || {
            let bytes = std::fs::read(&copy_checkpoint).map_err(|e| e.to_string())?;
            match policy.verify(&bytes) {
                Ok(t) if t.checkpoint.size == 2 => Ok(()),
                Ok(t) => Err(format!("size {}", t.checkpoint.size)),
                Err(e) => Err(e.to_string()),
            }
        });
        let server = Nginx::start(published.path()).unwrap();
        let copy = server.url("");
        let from_copy = |pin: &Path, rid: &str| verify_at_node(false, &data, pin, &copy, rid);
        let run = ok(from_copy(&pinned_v1, "county-1-2024-rcpt-0000"));
        assert_contains(&run.stdout, "does not serve the genesis chain");
        let run = expect(1, from_copy(&pinned_v1, "county-1-2024-rcpt-0001"));
        assert_contains(&run.stdout, "clerk2 is not an accepted operator");
        let chain_pin = dir.join("citizen-chain.json");
        std::fs::write(&chain_pin, v2.to_json()).unwrap();
        ok(from_copy(&chain_pin, "county-1-2024-rcpt-0001"));
    } else {
        assert!(std::env::var_os("CI").is_none(), "nginx is missing");
        eprintln!("SKIPPED the static copy part outside CI: nginx is missing");
    }

    // Offline, the pin is used as it is: version 1 does not know the new clerk.
    let receipt = dir.join("rcpt-1.tlog-proof");
    let run = ok(receipt_fetch(
        &pinned_v1,
        &county,
        "county-1-2024-rcpt-0001",
        &receipt,
    ));
    assert_contains(&run.stdout, "to version 2");
    let run = expect(1, receipt_verify(&pinned_v1, &receipt));
    assert_contains(&run.stdout, "daylight genesis update");

    // `genesis update` follows the chain, says what changed and moves the pin.
    let run = ok(genesis_update(&pinned_v1, &county));
    assert_contains(&run.stdout, "Version 2");
    assert_contains(&run.stdout, "operator key added");
    assert_contains(&run.stdout, "revoked from index 1");
    assert_contains(&run.stdout, "idle_days changed from 90 to 60");
    let backup = dir.join("citizen-v1.note.1.bak");
    assert_eq!(std::fs::read(&backup).unwrap(), v1_bytes);
    let moved = GenesisChain::parse_any(&std::fs::read(&pinned_v1).unwrap()).unwrap();
    assert_eq!(moved, v2);
    let run = ok(receipt_verify(&pinned_v1, &receipt));
    assert_contains(&run.stdout, "Genesis: pinned version 2");
    let run = ok(genesis_update(&pinned_v1, &net.city.url("")));
    assert_contains(&run.stdout, "up to date");

    // A pin of another network is refused, and stays as it was.
    let other = TestNetwork::city_and_county().expect("network");
    let other_bytes = std::fs::read(&other.genesis_file).unwrap();
    let run = expect(2, genesis_update(&other.genesis_file, &county));
    assert_contains(&run.stderr, "another network");
    assert_eq!(std::fs::read(&other.genesis_file).unwrap(), other_bytes);
}

/// Runs `daylight-node` with `args`; its standard output.
fn node_cli(args: &[&str]) -> String {
    let out = Command::new(node_binary().expect("build the node: cargo build -p daylight-node"))
        .args(args)
        .output()
        .expect("run daylight-node");
    assert!(
        out.status.success(),
        "daylight-node {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_log_key_rotated_mid_log_verifies_before_and_after() {
    let network = TestNetwork::city_and_county().expect("network");
    let dir = network.dir.path();
    let genesis = network.genesis_file.clone();
    let v1 = GenesisChain::parse_any(&std::fs::read(&genesis).unwrap()).unwrap();
    let data = dir.join("citizen");
    let city = NodeProcess::start(&network.init_node("city-1").unwrap()).unwrap();
    let county_config = network.init_node("county-1").unwrap();
    set_bootstrap(&county_config, std::slice::from_ref(&city.p2p)).unwrap();
    let county = NodeProcess::start(&county_config).unwrap();
    let operator = &network.keys["county-1"].operator;
    let verify = |node: &NodeProcess, rid: &str| {
        ok(verify_at_node(true, &data, &genesis, &node.url(""), rid)).json()
    };

    // Entry 0 under the old key; this machine remembers that checkpoint.
    publish(&county, operator, "county-1-2024-rcpt-0000", 100);
    wait_quorum(&county, &v1, 1);
    verify(&county, "county-1-2024-rcpt-0000");
    let checkpoint = dir.join("county-1.checkpoint");
    std::fs::write(
        &checkpoint,
        get(&county.url("/log/county-1/checkpoint")).unwrap().body,
    )
    .unwrap();

    // Stop the county, name its last checkpoint as the rotation point, sign version 2.
    county.terminate().unwrap();
    let point = node_cli(&["rotate-key", "--config", p(&county_config), "--show-point"]);
    assert!(point.starts_with("size 1\n"), "{point}");
    let new_key = keygen(&network, "county-1", "log", "county-1.log2.key");
    let v2_file = dir.join("v2.note");
    let run = ok(genesis_amend(
        &genesis,
        &v2_file,
        &[
            "--rotate-log-key",
            "county-1",
            "--key",
            p(&new_key),
            "--last-checkpoint",
            p(&checkpoint),
        ],
    ));
    assert_contains(&run.stdout, "signs checkpoints up to size 1");
    let root = point.lines().nth(1).unwrap().strip_prefix("root ").unwrap();
    assert_contains(&run.stdout, &format!("(root {root})"));
    for key in [
        network.keys["city-1"].log_key_file.clone(),
        network.keys["county-1"].log_key_file.clone(),
        new_key.clone(),
    ] {
        ok(genesis_sign(&v2_file, &key, &genesis));
    }
    node_cli(&[
        "rotate-key",
        "--config",
        p(&county_config),
        "--log-key",
        p(&new_key),
        "--genesis",
        p(&v2_file),
    ]);
    let reply = post_json(&city.url("/v1/genesis"), &std::fs::read(&v2_file).unwrap()).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let county = NodeProcess::start(&county_config).unwrap();
    wait_versions(&county, 2);
    let mut v2 = v1.clone();
    v2.extend_bytes(&std::fs::read(&v2_file).unwrap()).unwrap();

    // Entry 1 under the new key. A citizen pinned to version 1 verifies both, and the new
    // checkpoint extends the one this machine saw under the old key.
    publish(&county, operator, "county-1-2024-rcpt-0001", 100);
    wait_quorum(&county, &v2, 2);
    let report = verify(&county, "county-1-2024-rcpt-0001");
    assert_eq!(report["genesis_chain"]["using"]["sequence"], 2, "{report}");
    let seen = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "seen before")
        .cloned()
        .unwrap_or_default();
    assert_eq!(seen["ok"], true, "{report}");
    assert!(
        seen["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("size 1 this machine saw before"),
        "{report}"
    );
    verify(&county, "county-1-2024-rcpt-0000");
    verify(&city, "county-1-2024-rcpt-0001");
}
