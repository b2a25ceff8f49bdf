//! The `daylight` command line as citizens run it: the real binary against real
//! `daylight-node` processes. Publish, verify (one node and several, by rid and by leaf),
//! receipts fetched and verified offline (and refused, with the reason, when a byte of the
//! entry or proof is changed or a cosignature dropped), the seen-checkpoint store, the fund
//! flow from a city allocation to a county payment, a household's own receipt, genesis
//! assembly, evidence, and the exit codes for bad input and unreachable nodes: a receipt cut
//! short or garbled is bad input (exit 2), one with CRLF line endings is read as LF and says
//! so, `flow` names a node it could not reach (exit 3), evidence proves equivocation with its
//! checkpoints in either order, and a node names both places of a rid submitted twice.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use daylight_genesis::Genesis;
use daylight_tests::lifecycle::{daylight, ok, p};
use daylight_tests::{
    NodeProcess, TempDir, TestNetwork, get, post_json, set_bootstrap, signed_receipt,
};
use daylight_verifier::bundle::ProofBundle;
use daylight_verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use daylight_verifier::evidence::Evidence;
use daylight_verifier::record::{HexHash, Money, Opening, Rid};
use daylight_verifier::{Hash, KeyType, SigningKey};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(60);

/// A city and a county (quorum 1) running as real nodes that cosign each other, with each
/// member's operator key on disk.
struct Net {
    network: TestNetwork,
    city: NodeProcess,
    county: NodeProcess,
    genesis: PathBuf,
}

impl Net {
    fn start() -> Net {
        let network = TestNetwork::city_and_county().expect("network");
        for (id, keys) in &network.keys {
            let file = network.dir.path().join(format!("{id}.operator.key"));
            std::fs::write(&file, keys.operator.to_private_key_string()).unwrap();
        }
        let city_config = network.init_node("city-1").unwrap();
        let county_config = network.init_node("county-1").unwrap();
        let city = NodeProcess::start(&city_config).unwrap();
        set_bootstrap(&county_config, std::slice::from_ref(&city.p2p)).unwrap();
        let county = NodeProcess::start(&county_config).unwrap();
        let genesis = network.genesis_file.clone();
        Net {
            network,
            city,
            county,
            genesis,
        }
    }

    fn operator_key(&self, member: &str) -> PathBuf {
        self.network
            .dir
            .path()
            .join(format!("{member}.operator.key"))
    }

    fn file(&self, name: &str, value: &Value) -> PathBuf {
        let path = self.network.dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
        path
    }

    /// Publishes an unsigned record through the CLI; returns its leaf hash.
    fn publish(&self, node: &NodeProcess, member: &str, record: &Value) -> String {
        let rid = record["rid"].as_str().unwrap();
        let file = self.file(&format!("{rid}.json"), record);
        let run = ok(daylight(&[
            "--json",
            "publish",
            "--node",
            &node.url(""),
            "--key",
            p(&self.operator_key(member)),
            p(&file),
        ]));
        let ack = run.json();
        assert_eq!(ack["rid"], rid);
        ack["leaf"].as_str().expect("leaf").to_string()
    }

    /// Waits until `node` serves a checkpoint of `member`'s log of at least `size` entries
    /// that meets the genesis quorum.
    fn wait_quorum(&self, node: &NodeProcess, member: &str, size: u64) {
        let genesis = Genesis::open(&std::fs::read(&self.genesis).unwrap()).unwrap();
        let policy = genesis.policy_for(member).unwrap();
        let start = Instant::now();
        loop {
            if let Ok(reply) = get(&node.url(&format!("/log/{member}/checkpoint")))
                && let Ok(t) = policy.verify(&reply.body)
                && t.checkpoint.size >= size
            {
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "no quorum-cosigned {member} checkpoint of size {size}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn money(minor: u64) -> Value {
    json!({"minor": minor.to_string(), "currency": "CNY"})
}

fn county_receipt(n: u32, alloc_leaf: &str) -> Value {
    json!({
        "v": 1, "rid": format!("county-1-2024-rcpt-{n:04}"), "kind": "receipt",
        "event_date": "2024-03-05", "program": "rural-2024",
        "payer": {"member": "city-1"}, "amount": money(1_000_000),
        "funded_by": [{"ref": {"log": "city-1", "rid": "city-1-2024-alloc-0001", "leaf": alloc_leaf}, "amount": money(1_000_000)}],
    })
}

fn verify_args<'a>(
    net: &'a Net,
    data: &'a str,
    nodes: &'a [String],
    target: &'a str,
) -> Vec<&'a str> {
    let mut args = vec!["--data-dir", data, "verify", "--genesis", p(&net.genesis)];
    for n in nodes {
        args.extend(["--node", n.as_str()]);
    }
    args.push(target);
    args
}

#[test]
fn publish_verify_receipts_tampering_and_the_seen_store() {
    let net = Net::start();
    let data = TempDir::new("cli-data");
    let data_dir = p(data.path()).to_string();
    let county = vec![net.county.url("")];
    let made_up = Hash::digest(b"city allocation").to_hex();

    // One rid twice in one submission: the node names both places and logs none of it (the
    // receipts below then start at index 0).
    let operator = &net.network.keys["county-1"].operator;
    let batch = json!([
        signed_receipt(operator, "county-1-2024-rcpt-0100", 100),
        signed_receipt(operator, "county-1-2024-rcpt-0101", 101),
        signed_receipt(operator, "county-1-2024-rcpt-0100", 102),
    ]);
    let reply = post_json(
        &net.county.url("/v1/records"),
        &serde_json::to_vec(&batch).unwrap(),
    )
    .unwrap();
    let answer = reply.json();
    assert_eq!(reply.status, 422, "{answer}");
    assert_eq!(answer["error"], "duplicate_rid_in_submission", "{answer}");
    let detail = answer["detail"].as_str().unwrap();
    assert!(
        detail.contains(
            "\"county-1-2024-rcpt-0100\" appears twice in this submission, as records 0 and 2"
        ),
        "{detail}"
    );
    assert!(!detail.contains("already in the log"), "{detail}");
    for rid in ["county-1-2024-rcpt-0100", "county-1-2024-rcpt-0101"] {
        let reply = get(&net.county.url(&format!("/v1/records/{rid}"))).unwrap();
        assert_eq!(reply.status, 404, "{rid} was logged: {}", reply.text());
    }

    let mut leaves = Vec::new();
    for n in 0..3 {
        leaves.push(net.publish(&net.county, "county-1", &county_receipt(n, &made_up)));
    }
    net.wait_quorum(&net.county, "county-1", 3);

    // Verify by rid and by leaf; JSON says what was checked.
    let run = ok(daylight(&{
        let mut a = vec!["--json"];
        a.extend(verify_args(
            &net,
            &data_dir,
            &county,
            "county-1-2024-rcpt-0001",
        ));
        a
    }));
    let report = run.json();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["index"], 1);
    assert_eq!(report["leaf"], leaves[1].as_str());
    assert_eq!(report["log"], "county-1");
    assert_eq!(report["current"]["status"], "original");
    let human = ok(daylight(&verify_args(&net, &data_dir, &county, &leaves[2])));
    assert!(human.stdout.contains("index 2"), "{}", human.stdout);
    assert!(
        human.stdout.contains("meets the genesis quorum of 1"),
        "{}",
        human.stdout
    );
    let missing = daylight(&verify_args(
        &net,
        &data_dir,
        &county,
        "county-1-2024-rcpt-9999",
    ));
    assert_eq!(missing.code, 1, "{}", missing.stdout);
    assert!(
        missing.stdout.contains("does not have"),
        "{}",
        missing.stdout
    );

    // Receipts: fetched, verified offline, refused with the reason when tampered with.
    let dir = net.network.dir.path();
    let receipt = dir.join("rcpt-1.tlog-proof");
    ok(daylight(&[
        "receipt",
        "fetch",
        "--node",
        &net.county.url(""),
        "county-1-2024-rcpt-0001",
        "--out",
        p(&receipt),
    ]));
    let by_index = dir.join("rcpt-2.tlog-proof");
    ok(daylight(&[
        "receipt",
        "fetch",
        "--node",
        &net.county.url(""),
        "--log",
        "county-1",
        "--index",
        "2",
        "--out",
        p(&by_index),
    ]));
    let verify_receipt =
        |file: &Path| daylight(&["receipt", "verify", "--genesis", p(&net.genesis), p(file)]);
    let good = ok(verify_receipt(&receipt));
    assert!(
        good.stdout.contains("cosignatures: 1 of 1"),
        "{}",
        good.stdout
    );
    ok(verify_receipt(&by_index));
    let bundle = ProofBundle::parse(&std::fs::read(&receipt).unwrap()).unwrap();
    assert!(!bundle.proof.is_empty());

    let tampered = |name: &str, text: String| {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        verify_receipt(&file)
    };
    // The first `len` bytes of `text` (possibly inside a character).
    let cut_short = |name: &str, text: &str, len: usize| {
        let file = dir.join(name);
        std::fs::write(&file, &text.as_bytes()[..len]).unwrap();
        verify_receipt(&file)
    };
    // A byte of the entry: the amount.
    let mut entry_changed = bundle.clone();
    let entry = String::from_utf8(bundle.extra.clone().unwrap()).unwrap();
    entry_changed.extra = Some(entry.replacen("1000000", "9000000", 1).into_bytes());
    let run = tampered("entry.tlog-proof", entry_changed.to_text());
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("NOT VERIFIED: entry: the entry was altered"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("inclusion proof does not lead to the checkpoint root"),
        "{}",
        run.stdout
    );
    // A byte of the proof.
    let mut proof_changed = bundle.clone();
    proof_changed.proof[0].0[0] ^= 1;
    let run = tampered("proof.tlog-proof", proof_changed.to_text());
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "NOT VERIFIED: inclusion: inclusion proof does not lead to the checkpoint root"
        ),
        "{}",
        run.stdout
    );
    // A dropped cosignature.
    let text = std::fs::read_to_string(&receipt).unwrap();
    let dropped: String = text
        .lines()
        .filter(|l| !l.contains("city-1/witness"))
        .map(|l| format!("{l}\n"))
        .collect();
    let run = tampered("cosig.tlog-proof", dropped);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("cosignatures: 0 of 1 required valid"),
        "{}",
        run.stdout
    );
    // A receipt cut short anywhere is damaged input (exit 2) that says what to do. Cut at
    // the start, middle and end of every line; only a cut right after a signature line leaves
    // a whole (if less cosigned) receipt, which fails verification instead.
    let signatures_start = text.rfind("\n\n").unwrap() + 2;
    let mut cuts = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let end = line_start + line.len();
        cuts.extend([line_start + 1, line_start + line.len() / 2]);
        if end < text.len() && end <= signatures_start {
            cuts.push(end);
        }
        line_start = end;
    }
    cuts.dedup();
    for cut in cuts {
        let run = cut_short("cut.tlog-proof", &text, cut);
        assert_eq!(
            run.code,
            2,
            "cut at {cut} of {}:\nstdout:\n{}\nstderr:\n{}",
            text.len(),
            run.stdout,
            run.stderr
        );
        assert!(
            run.stderr.contains("is damaged")
                && run.stderr.contains("ask the publisher for it again"),
            "cut at {cut}: {}",
            run.stderr
        );
    }
    // Cut after the log's own signature line: whole, but missing its cosignature.
    let first_signature_end = signatures_start + text[signatures_start..].find('\n').unwrap() + 1;
    assert!(
        first_signature_end < text.len(),
        "the receipt has a cosignature"
    );
    let run = cut_short("cut-sig.tlog-proof", &text, first_signature_end);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("fetch it again"), "{}", run.stdout);
    // CRLF line endings (a mail client's doing) are read as LF, and the report says so.
    let crlf = text.replace('\n', "\r\n");
    let run = tampered("crlf.tlog-proof", crlf.clone());
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("had Windows (CRLF) line endings"),
        "{}",
        run.stdout
    );
    let json_run = {
        let file = dir.join("crlf.tlog-proof");
        daylight(&[
            "--json",
            "receipt",
            "verify",
            "--genesis",
            p(&net.genesis),
            p(&file),
        ])
    };
    assert_eq!(json_run.json()["line_endings_converted"], true);
    // ... but a CRLF receipt cut short is still damaged, and a changed one still fails.
    let run = cut_short("crlf-cut.tlog-proof", &crlf, crlf.len() - 30);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = tampered(
        "crlf-entry.tlog-proof",
        entry_changed.to_text().replace('\n', "\r\n"),
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    // Not a receipt at all, garbage after the first line, a missing genesis: bad input.
    let run = tampered("garbage", "hello".into());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("is not a receipt"), "{}", run.stderr);
    let run = tampered(
        "garbage.tlog-proof",
        "c2sp.org/tlog-proof@v1\n\x00\x01garbage\n".into(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("is damaged"), "{}", run.stderr);
    let run = daylight(&[
        "receipt",
        "verify",
        "--genesis",
        "/nonexistent/genesis",
        p(&receipt),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    // An unreachable node: exit 3, also in JSON.
    let closed = vec!["http://127.0.0.1:1".to_string()];
    let run = daylight(&{
        let mut a = vec!["--json"];
        a.extend(verify_args(
            &net,
            &data_dir,
            &closed,
            "county-1-2024-rcpt-0001",
        ));
        a
    });
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.json()["error"], "unreachable");
    // One of several nodes unreachable: the others verify, the report names it, exit 3.
    let some_closed = vec![closed[0].clone(), net.county.url("")];
    let run = daylight(&verify_args(
        &net,
        &data_dir,
        &some_closed,
        "county-1-2024-rcpt-0001",
    ));
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("INCOMPLETE: could not reach node http://127.0.0.1:1"),
        "{}",
        run.stdout
    );

    // The log grows: the next verify checks consistency with the stored checkpoint.
    net.publish(&net.county, "county-1", &county_receipt(3, &made_up));
    net.wait_quorum(&net.county, "county-1", 4);
    let run = ok(daylight(&verify_args(
        &net,
        &data_dir,
        &county,
        "county-1-2024-rcpt-0003",
    )));
    assert!(
        run.stdout
            .contains("consistent with the checkpoint of size 3 this machine saw before"),
        "{}",
        run.stdout
    );
    // A stored checkpoint the log does not extend (signed by the log key, wrong root).
    let county_key = &net.network.keys["county-1"].log;
    let forged = Checkpoint::new(
        "test.daylight/county-1",
        2,
        Hash::digest(b"another history"),
    )
    .sign(county_key)
    .unwrap()
    .to_text();
    let stored = data.path().join("checkpoints/test.daylight_2fcounty-1");
    assert!(stored.exists());
    std::fs::write(&stored, forged).unwrap();
    let run = daylight(&verify_args(
        &net,
        &data_dir,
        &county,
        "county-1-2024-rcpt-0003",
    ));
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("does not extend the checkpoint of size 2 this machine saw before"),
        "{}",
        run.stdout
    );
}

#[test]
fn flow_from_city_allocation_to_county_payment_and_a_household_receipt() {
    let net = Net::start();
    let data = TempDir::new("cli-flow");
    let alloc_leaf = net.publish(
        &net.city,
        "city-1",
        &json!({
            "v": 1, "rid": "city-1-2024-alloc-0001", "kind": "allocation", "event_date": "2024-03-01",
            "program": "rural-2024", "payer": {"member": "city-1"}, "payee": {"member": "county-1"},
            "amount": money(1_000_000), "purpose": "Rural revitalisation 2024, first tranche",
        }),
    );
    let receipt_leaf = net.publish(&net.county, "county-1", &county_receipt(1, &alloc_leaf));
    // A household payment drawn from the receipt, with a commitment only the household can open.
    let rid = "county-1-2024-pay-0001";
    let opening = Opening::new(
        HexHash(Hash::digest(b"household pseudonym")),
        Rid::parse(rid).unwrap(),
        Money::cny(250_000),
    )
    .unwrap();
    net.publish(
        &net.county,
        "county-1",
        &json!({
            "v": 1, "rid": rid, "kind": "payment", "event_date": "2024-04-15", "program": "rural-2024",
            "payee": {"household": {"pseudonym": opening.pseudonym, "area": "320206001", "commitment": opening.commitment()}},
            "amount": money(250_000),
            "funded_by": [{"ref": {"log": "county-1", "rid": "county-1-2024-rcpt-0001", "leaf": receipt_leaf}, "amount": money(250_000)}],
            "purpose": "Housing repair subsidy",
        }),
    );
    net.wait_quorum(&net.county, "county-1", 2);
    net.wait_quorum(&net.city, "city-1", 1);

    let args = [
        "--data-dir",
        p(data.path()),
        "flow",
        "--genesis",
        p(&net.genesis),
        "--node",
        &net.county.url(""),
        "--node",
        &net.city.url(""),
        rid,
    ];
    let human = ok(daylight(&args));
    assert!(
        human.stdout.contains("payment county-1-2024-pay-0001"),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains("    <- 2500.00 CNY from receipt county-1-2024-rcpt-0001"),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains("        <- 10000.00 CNY from allocation city-1-2024-alloc-0001 (log city-1"),
        "{}",
        human.stdout
    );
    let mut json_args = vec!["--json"];
    json_args.extend(args);
    let flow = ok(daylight(&json_args)).json()["flow"].clone();
    assert_eq!(flow["kind"], "payment");
    assert_eq!(flow["verified"], true);
    let receipt = &flow["funded_by"][0];
    assert_eq!(receipt["kind"], "receipt");
    assert_eq!(receipt["leaf"], receipt_leaf.as_str());
    let allocation = &receipt["funded_by"][0];
    assert_eq!(allocation["kind"], "allocation");
    assert_eq!(allocation["log"], "city-1");
    assert_eq!(allocation["leaf"], alloc_leaf.as_str());
    assert_eq!(allocation["amount"]["minor"], "1000000");

    // A node named with --node that cannot be reached is named, and the run exits 3 even
    // though the other nodes gave every hop.
    let closed = "http://127.0.0.1:1";
    let mut with_closed: Vec<&str> = args.to_vec();
    with_closed.splice(5..5, ["--node", closed]);
    let run = daylight(&with_closed);
    assert_eq!(
        run.code, 3,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout
            .contains(&format!("[FAIL] node {closed}: could not be reached")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("INCOMPLETE: could not reach node {closed}")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("payment county-1-2024-pay-0001"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains(closed), "{}", run.stderr);
    let mut json_closed = vec!["--json"];
    json_closed.extend(with_closed);
    let run = daylight(&json_closed);
    assert_eq!(run.code, 3, "{}", run.stdout);
    let report = run.json();
    assert_eq!(report["ok"], false);
    assert_eq!(report["unreachable"][0]["url"], closed);
    assert_eq!(report["flow"]["verified"], true);
    // Only an unreachable node: nothing to trace, exit 3 naming it.
    let run = daylight(&[
        "--data-dir",
        p(data.path()),
        "flow",
        "--genesis",
        p(&net.genesis),
        "--node",
        closed,
        rid,
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains(closed), "{}", run.stderr);

    // The household's receipt: bundle and opening in one file, verified offline.
    let dir = net.network.dir.path();
    let opening_file = net.file("opening.json", &serde_json::to_value(&opening).unwrap());
    let household = dir.join("household.receipt.json");
    ok(daylight(&[
        "receipt",
        "fetch",
        "--node",
        &net.county.url(""),
        rid,
        "--out",
        p(&household),
        "--opening",
        p(&opening_file),
    ]));
    let run = ok(daylight(&[
        "receipt",
        "verify",
        "--genesis",
        p(&net.genesis),
        p(&household),
    ]));
    assert!(run.stdout.contains("[ok  ] opening"), "{}", run.stdout);
    // Someone else's opening (another nonce) does not open it.
    let mut other = serde_json::to_value(&opening).unwrap();
    other["nonce"] = json!("11".repeat(32));
    let other_file = net.file("other-opening.json", &other);
    let run = daylight(&[
        "receipt",
        "verify",
        "--genesis",
        p(&net.genesis),
        p(&household),
        "--opening",
        p(&other_file),
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("commitment"), "{}", run.stdout);
}

#[test]
fn genesis_assembled_with_the_cli_opens() {
    let dir = TempDir::new("cli-genesis");
    let d = |name: &str| dir.path().join(name);
    let mut vkeys = std::collections::BTreeMap::new();
    for (file, name, kind) in [
        ("city.key", "net.example/city-1", "log"),
        ("city-w.key", "net.example/city-1/witness", "witness"),
        ("county.key", "net.example/county-1", "log"),
        ("county-w.key", "net.example/county-1/witness", "witness"),
        ("op.key", "net.example/county-1/operator/clerk", "log"),
        ("att.key", "net.example/county-1/township/office", "log"),
    ] {
        let run = ok(daylight(&[
            "keygen",
            "--name",
            name,
            "--kind",
            kind,
            "--out",
            p(&d(file)),
        ]));
        vkeys.insert(file, run.stdout.trim().to_string());
    }
    let draft = d("genesis.toml");
    ok(daylight(&[
        "genesis",
        "init",
        "--network",
        "net.example",
        "--quorum",
        "1",
        "--out",
        p(&draft),
    ]));
    ok(daylight(&[
        "genesis",
        "add-member",
        p(&draft),
        "--id",
        "city-1",
        "--role",
        "city",
        "--name",
        "无锡市财政局",
        "--code",
        "320200",
        "--log-key",
        &vkeys["city.key"],
        "--witness-key",
        p(&d("city-w.key")),
        "--peer-id",
        "12D3KooWNCwatBu2dqidu1ZLToByLrgGSDJFyfimRY6nt2WDki5x",
        "--addr",
        "/ip4/127.0.0.1/tcp/4001",
    ]));
    ok(daylight(&[
        "genesis",
        "add-member",
        p(&draft),
        "--id",
        "county-1",
        "--role",
        "county",
        "--name",
        "惠山区财政局",
        "--code",
        "320206",
        "--parent",
        "city-1",
        "--log-key",
        p(&d("county.key")),
        "--witness-key",
        &vkeys["county-w.key"],
        "--peer-id",
        "12D3KooWR8Q7vNvhjEv9SVSV59gAn3bcBKMzwUUECdgyP9k83s5K",
        "--operator",
        &vkeys["op.key"],
        "--attestor",
        &format!("township={}", vkeys["att.key"]),
        "--http",
        "http://127.0.0.1:8082",
    ]));
    let signed = d("genesis.note");
    ok(daylight(&[
        "genesis",
        "sign",
        p(&draft),
        "--key",
        p(&d("city.key")),
        "--out",
        p(&signed),
    ]));
    let partial = daylight(&["genesis", "verify", p(&signed)]);
    assert_eq!(partial.code, 1, "{}", partial.stdout);
    assert!(partial.stdout.contains("county-1"), "{}", partial.stdout);
    ok(daylight(&[
        "genesis",
        "sign",
        p(&signed),
        "--key",
        p(&d("county.key")),
    ]));
    let verified = ok(daylight(&["--json", "genesis", "verify", p(&signed)])).json();
    let genesis =
        Genesis::open(&std::fs::read(&signed).unwrap()).expect("Genesis::open accepts it");
    assert_eq!(verified["id"], genesis.id());
    assert_eq!(genesis.quorum(), 1);
    assert_eq!(genesis.operator_keys("county-1").unwrap().len(), 1);
    assert_eq!(
        genesis.attestor_keys("county-1").unwrap()[0].role,
        "township"
    );
    let show = ok(daylight(&["--json", "genesis", "show", p(&signed)])).json();
    assert_eq!(show["id"], genesis.id());
    assert_eq!(show["members"][1]["parent"], "city-1");
    assert_eq!(show["members"][1]["witnesses"][0], "city-1");
    assert_eq!(show["members"][0]["name"], "无锡市财政局");
    let human = ok(daylight(&["genesis", "show", p(&signed)]));
    assert!(
        human.stdout.contains("verified: every founder signed"),
        "{}",
        human.stdout
    );
    // A key that is no founder's cannot sign.
    let run = daylight(&["genesis", "sign", p(&signed), "--key", p(&d("op.key"))]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn evidence_is_checked_against_the_genesis() {
    let network = TestNetwork::city_and_county().unwrap();
    let key = &network.keys["county-1"].log;
    let origin = "test.daylight/county-1";
    let sign = |root: &[u8]| {
        let note = Checkpoint::new(origin, 5, Hash::digest(root))
            .sign(key)
            .unwrap()
            .to_text();
        SignedCheckpoint::open(note.as_bytes(), &key.verifier()).unwrap()
    };
    let evidence = Evidence::conflicting_roots(&sign(b"one"), &sign(b"two")).unwrap();
    let file = network.dir.path().join("evidence.json");
    std::fs::write(&file, evidence.to_json()).unwrap();
    let genesis = p(&network.genesis_file);
    let run = ok(daylight(&[
        "evidence",
        "verify",
        "--genesis",
        genesis,
        p(&file),
    ]));
    assert!(
        run.stdout.contains("two different trees of size 5"),
        "{}",
        run.stdout
    );
    let json = ok(daylight(&[
        "--json",
        "evidence",
        "verify",
        "--genesis",
        genesis,
        p(&file),
    ]))
    .json();
    assert_eq!(json["member"], "county-1");
    // The same two checkpoints in the other order prove the same.
    let mut swapped = evidence.clone();
    swapped.checkpoints.swap(0, 1);
    std::fs::write(&file, swapped.to_json()).unwrap();
    let run = ok(daylight(&[
        "evidence",
        "verify",
        "--genesis",
        genesis,
        p(&file),
    ]));
    assert!(
        run.stdout.contains(
            "MISBEHAVIOUR PROVEN: log test.daylight/county-1 signed two different trees of size 5"
        ),
        "{}",
        run.stdout
    );

    // The same statements signed by a key that is not the log's prove nothing.
    let impostor = SigningKey::generate(origin, KeyType::Ed25519).unwrap();
    let forge = |root: &[u8]| {
        let note = Checkpoint::new(origin, 5, Hash::digest(root))
            .sign(&impostor)
            .unwrap()
            .to_text();
        SignedCheckpoint::open(note.as_bytes(), &impostor.verifier()).unwrap()
    };
    let forged = Evidence::conflicting_roots(&forge(b"one"), &forge(b"two")).unwrap();
    std::fs::write(&file, forged.to_json()).unwrap();
    let run = daylight(&["evidence", "verify", "--genesis", genesis, p(&file)]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    std::fs::write(&file, "{}").unwrap();
    assert_eq!(
        daylight(&["evidence", "verify", "--genesis", genesis, p(&file)]).code,
        2
    );
}

#[test]
fn usage_completions_and_man_pages() {
    assert_eq!(daylight(&["verify"]).code, 2);
    assert_eq!(daylight(&["no-such-command"]).code, 2);
    let bash = ok(daylight(&["completions", "bash"]));
    assert!(bash.stdout.contains("daylight"), "{}", bash.stdout);
    let dir = TempDir::new("cli-man");
    ok(daylight(&["man", "--out", p(dir.path())]));
    for page in [
        "daylight.1",
        "daylight-verify.1",
        "daylight-receipt-verify.1",
        "daylight-genesis-add-member.1",
    ] {
        assert!(dir.path().join(page).exists(), "{page} missing");
    }
}
