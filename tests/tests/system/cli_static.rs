//! The `daylight` command line against a **static copy** (DESIGN §5.6, docs/cli.md "Reading
//! a static copy"): a real county node publishes its logs to a directory (`[publish] dir`), a
//! real nginx serves copies of that directory on a loopback port, and the real binary runs
//! `verify`, `receipt fetch`/`verify`, `audit` and `flow` against nginx alone — no node API —
//! with the same results as against the node: corrections and voids found, receipts that
//! verify offline, every log replayed. A copy without rid objects is searched by scanning. A
//! damaged hash tile or entry bundle is refused naming the file; a copy whose checkpoint lacks
//! its witnesses' cosignatures is refused; a directory without the `daylight-static.json`
//! marker is said to be neither a node nor a copy.
//!
//! `.ci/run` installs nginx; where it is missing the test fails under CI and is skipped with a
//! message elsewhere.

use std::path::Path;
use std::time::Duration;

use daylight_genesis::Genesis;
use daylight_tests::lifecycle::{self, Run, daylight, p};
use daylight_tests::nginx::{self, Nginx};
use daylight_tests::{
    NodeProcess, TempDir, TestNetwork, get, post_json, set_bootstrap, wait_until,
};
use daylight_verifier::SigningKey;
use daylight_verifier::bundle::ProofBundle;
use daylight_verifier::record::Record;
use daylight_verifier::tile::{Tile, TileKind};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(90);
const PROGRAM: &str = "rural-2024";

/// Asserts that `run` exited with `code`; returns it.
#[track_caller]
fn expect(run: Run, code: i32) -> Run {
    lifecycle::expect(code, run)
}

#[track_caller]
fn contains(run: &Run, needle: &str) {
    assert!(
        run.all().contains(needle),
        "no {needle:?} in:\n{}",
        run.all()
    );
}

fn money(minor: u64) -> Value {
    json!({"minor": minor.to_string(), "currency": "CNY"})
}

fn signed(operator: &SigningKey, value: Value) -> Value {
    let record = Record::from_value(value).expect("valid record");
    serde_json::to_value(record.sign(operator)).expect("records serialize")
}

/// Posts one signed record; returns its leaf.
fn post(node: &NodeProcess, record: &Value) -> String {
    let reply = post_json(
        &node.url("/v1/records"),
        &serde_json::to_vec(record).unwrap(),
    )
    .unwrap();
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()["leaf"].as_str().expect("a leaf").to_string()
}

/// The body of a county receipt of `minor` fen drawn from the city allocation.
fn receipt_body(alloc_leaf: &str, minor: u64) -> Value {
    json!({
        "kind": "receipt", "event_date": "2024-03-05", "program": PROGRAM,
        "payer": {"member": "city-1"}, "amount": money(minor),
        "funded_by": [{"ref": {"log": "city-1", "rid": "city-1-2024-alloc-0001", "leaf": alloc_leaf}, "amount": money(minor)}],
    })
}

/// Adds a `[publish]` table to a node's configuration.
fn set_publish(config: &Path, dir: &Path) {
    let mut text = std::fs::read_to_string(config).unwrap();
    text.push_str(&format!(
        "\n[publish]\ndir = {:?}\ninterval_seconds = 1\n",
        dir.display().to_string()
    ));
    std::fs::write(config, text).unwrap();
}

/// Waits until the copy in `dir` has a checkpoint of `member` of `size` entries that meets
/// the genesis quorum.
fn wait_published(dir: &Path, genesis: &Genesis, member: &str, size: u64) {
    let policy = genesis.policy_for(member).unwrap();
    let file = dir.join(format!("log/{member}/checkpoint"));
    wait_until(
        DEADLINE,
        &format!("a cosigned static checkpoint of {member} at size {size}"),
        || {
            let bytes = std::fs::read(&file).map_err(|e| e.to_string())?;
            match policy.verify(&bytes) {
                Ok(t) if t.checkpoint.size == size => Ok(()),
                Ok(t) => Err(format!("size {}", t.checkpoint.size)),
                Err(e) => Err(e.to_string()),
            }
        },
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Flips one bit of byte `at` of a file (byte 12 of an entry bundle is inside its first
/// entry, past the 2-byte length prefix).
fn damage(file: &Path, at: usize) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[at] ^= 0x20;
    std::fs::write(file, bytes).unwrap();
}

/// The path of the rightmost tile of county-1's tree of `size` (< 256) entries.
fn tile_path(kind: TileKind, size: u64) -> String {
    Tile {
        kind,
        index: 0,
        width: size,
    }
    .path()
}

const COUNTY_SIZE: u64 = 5;

#[test]
fn verify_receipt_audit_and_flow_read_a_static_copy_through_nginx() {
    if !nginx::available() {
        let hint = "nginx is missing: apt-get install -y --no-install-recommends nginx";
        assert!(std::env::var_os("CI").is_none(), "{hint}");
        eprintln!("SKIPPED outside CI: {hint}");
        return;
    }
    // A city and a county (quorum 1) cosigning each other; the county publishes a copy.
    let network = TestNetwork::city_and_county().unwrap();
    let genesis = Genesis::open(&std::fs::read(&network.genesis_file).unwrap()).unwrap();
    let g = p(&network.genesis_file).to_string();
    let published = TempDir::new("cli-static-published");
    let city_config = network.init_node("city-1").unwrap();
    let county_config = network.init_node("county-1").unwrap();
    set_publish(&county_config, published.path());
    let city = NodeProcess::start(&city_config).unwrap();
    set_bootstrap(&county_config, std::slice::from_ref(&city.p2p)).unwrap();
    let county = NodeProcess::start(&county_config).unwrap();

    // A city allocation; three county receipts drawn from it; a correction of the second and
    // a void of the third (county-1 entries 0 to 4).
    let city_op = &network.keys["city-1"].operator;
    let county_op = &network.keys["county-1"].operator;
    let alloc_leaf = post(
        &city,
        &signed(
            city_op,
            json!({
                "v": 1, "rid": "city-1-2024-alloc-0001", "kind": "allocation",
                "event_date": "2024-03-01", "program": PROGRAM, "payer": {"member": "city-1"},
                "payee": {"member": "county-1"}, "amount": money(3_000_000),
                "purpose": "Rural revitalisation 2024, first tranche",
            }),
        ),
    );
    let rid = |n: u32| format!("county-1-2024-rcpt-{n:04}");
    let mut leaves = Vec::new();
    for n in 0..3 {
        let mut body = receipt_body(&alloc_leaf, 1_000_000);
        body["v"] = json!(1);
        body["rid"] = json!(rid(n));
        leaves.push(post(&county, &signed(county_op, body)));
    }
    let correction = post(
        &county,
        &signed(
            county_op,
            json!({
                "v": 1, "rid": "county-1-2024-corr-0001", "kind": "correction",
                "event_date": "2024-03-09", "program": PROGRAM,
                "corrects": {"rid": rid(1), "leaf": leaves[1]},
                "reason": "The amount was mistyped",
                "replacement": receipt_body(&alloc_leaf, 900_000),
            }),
        ),
    );
    post(
        &county,
        &signed(
            county_op,
            json!({
                "v": 1, "rid": "county-1-2024-void-0002", "kind": "void",
                "event_date": "2024-03-10", "program": PROGRAM,
                "voids": {"rid": rid(2), "leaf": leaves[2]},
                "reason": "Entered twice",
            }),
        ),
    );
    wait_published(published.path(), &genesis, "county-1", COUNTY_SIZE);
    wait_published(published.path(), &genesis, "city-1", 1);

    // Copies of what was published, served side by side by one nginx. The marker and rid
    // objects are written here when the publisher did not write them.
    let root = TempDir::new("cli-static-root");
    let copy = |name: &str| {
        let dir = root.path().join(name);
        copy_dir(published.path(), &dir);
        std::fs::write(
            dir.join("daylight-static.json"),
            "{\"format\":\"daylight-static\",\"version\":1}\n",
        )
        .unwrap();
        dir
    };
    let indexed = copy("indexed");
    let rids = [
        ("county-1", rid(0)),
        ("county-1", rid(1)),
        ("county-1", rid(2)),
        ("county-1", "county-1-2024-corr-0001".to_string()),
        ("county-1", "county-1-2024-void-0002".to_string()),
        ("city-1", "city-1-2024-alloc-0001".to_string()),
    ];
    for (member, r) in rids {
        let node = if member == "city-1" { &city } else { &county };
        let record = get(&node.url(&format!("/v1/records/{r}"))).unwrap().json();
        let file = indexed.join(format!("log/{member}/rid/{r}"));
        if !file.exists() {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            let object = json!({"index": record["index"], "leaf": record["leaf"]});
            std::fs::write(&file, object.to_string()).unwrap();
        }
    }
    let scan = copy("scan");
    for member in ["county-1", "city-1"] {
        let _ = std::fs::remove_dir_all(scan.join(format!("log/{member}/rid")));
    }
    let damaged_hashes = copy("damaged-hashes");
    let hash_tile = tile_path(TileKind::Hashes { level: 0 }, COUNTY_SIZE);
    damage(&damaged_hashes.join("log/county-1").join(&hash_tile), 40);
    let damaged_entries = copy("damaged-entries");
    let bundle = tile_path(TileKind::Entries, COUNTY_SIZE);
    damage(&damaged_entries.join("log/county-1").join(&bundle), 12);
    let uncosigned = copy("uncosigned");
    let note_file = uncosigned.join("log/county-1/checkpoint");
    let note = std::fs::read_to_string(&note_file).unwrap();
    let stripped: String = note
        .split_inclusive('\n')
        .filter(|l| !l.contains("/witness"))
        .collect();
    assert_ne!(stripped, note, "the checkpoint had a cosignature to drop");
    std::fs::write(&note_file, stripped).unwrap();
    let unmarked = root.path().join("unmarked");
    copy_dir(published.path(), &unmarked);
    let _ = std::fs::remove_file(unmarked.join("daylight-static.json"));
    let server = Nginx::start(root.path()).unwrap();
    let url = |name: &str| server.url(&format!("/{name}"));
    let data = TempDir::new("cli-static-data");
    let data_dir = p(data.path()).to_string();
    let verify = |source: &str, target: &str, json: bool| {
        let mut args = vec!["--data-dir", &data_dir];
        if json {
            args.push("--json");
        }
        args.extend(["verify", "--genesis", &g, "--node", source, target]);
        daylight(&args)
    };

    // verify by rid through the rid index: the same answer as the node's, said to come from
    // a static copy, with the correction found by a scan.
    let human = expect(verify(&url("indexed"), &rid(1), false), 0);
    contains(
        &human,
        &format!("source: static copy at {} (no node API)", url("indexed")),
    );
    contains(&human, "found through the copy's rid index");
    contains(&human, "proof built here from the copy's hash tiles");
    contains(&human, "meets the genesis quorum of 1");
    contains(&human, "corrected at index 3 by county-1-2024-corr-0001");
    contains(&human, "current version: corrected at index 3");
    let from_copy = expect(verify(&url("indexed"), &rid(1), true), 0).json();
    let from_node = expect(verify(&county.url(""), &rid(1), true), 0).json();
    for field in [
        "log",
        "rid",
        "index",
        "leaf",
        "current",
        "corrections",
        "record",
    ] {
        assert_eq!(from_copy[field], from_node[field], "{field}");
    }
    assert_eq!(from_copy["nodes"][0]["source"], "static copy");
    assert_eq!(from_node["nodes"][0]["source"], "node");
    assert_eq!(from_copy["current"]["leaf"], correction.as_str());
    // A node and a copy asked together agree.
    let both = expect(
        daylight(&[
            "--data-dir",
            &data_dir,
            "verify",
            "--genesis",
            &g,
            "--node",
            &county.url(""),
            "--node",
            &url("indexed"),
            &rid(2),
        ]),
        0,
    );
    contains(&both, "all 2 nodes serve the same entry at the same index");
    contains(&both, "voided at index 4");

    // Without rid objects: found by scanning, and said so.
    let scanned = expect(verify(&url("scan"), &rid(2), false), 0);
    contains(
        &scanned,
        &format!("this copy has no rid index; scanned {COUNTY_SIZE} entries of log county-1"),
    );
    contains(&scanned, "voided at index 4 by county-1-2024-void-0002");
    let by_leaf = expect(verify(&url("scan"), &leaves[0], false), 0);
    contains(&by_leaf, "this copy has no leaf index");
    contains(&by_leaf, "no corrections or voids");
    let missing = expect(verify(&url("scan"), "county-1-2024-rcpt-0099", false), 1);
    contains(&missing, "does not have record county-1-2024-rcpt-0099");
    contains(&missing, "scanned all 5 entries of log county-1");

    // Receipts assembled from the copy: the node's entry and proof, verified offline.
    let dir = network.dir.path();
    let receipt = dir.join("static.tlog-proof");
    let fetched = expect(
        daylight(&[
            "receipt",
            "fetch",
            "--node",
            &url("indexed"),
            &rid(1),
            "--out",
            p(&receipt),
        ]),
        0,
    );
    contains(&fetched, "Assembled from the static copy");
    let ours = ProofBundle::parse(&std::fs::read(&receipt).unwrap()).unwrap();
    let theirs =
        ProofBundle::parse(&get(&county.url("/log/county-1/receipt/1")).unwrap().body).unwrap();
    assert_eq!(
        (ours.index, &ours.proof, &ours.extra),
        (theirs.index, &theirs.proof, &theirs.extra)
    );
    let checked = expect(
        daylight(&["receipt", "verify", "--genesis", &g, p(&receipt)]),
        0,
    );
    contains(&checked, "cosignatures: 1 of 1");
    let by_index = dir.join("static-index.tlog-proof");
    let run = expect(
        daylight(&[
            "receipt",
            "fetch",
            "--node",
            &url("scan"),
            "--genesis",
            &g,
            "--log",
            "county-1",
            "--index",
            "4",
            "--out",
            p(&by_index),
        ]),
        0,
    );
    contains(&run, "inclusion");
    assert!(by_index.exists());

    // audit replays every log from the copy and says there is no evidence list.
    let audit = expect(
        daylight(&[
            "audit",
            "--genesis",
            &g,
            "--node",
            &url("indexed"),
            "--as-of",
            "2024-12-31",
        ]),
        0,
    );
    contains(
        &audit,
        &format!("static copy at {} (no node API)", url("indexed")),
    );
    contains(&audit, "a static copy carries no evidence list");
    contains(&audit, "log county-1");
    contains(&audit, "log city-1");

    // flow follows the receipt's money to the city's log, in the same copy.
    let flow = expect(
        daylight(&[
            "--data-dir",
            &data_dir,
            "flow",
            "--genesis",
            &g,
            "--node",
            &url("scan"),
            &rid(0),
        ]),
        0,
    );
    contains(&flow, "allocation city-1-2024-alloc-0001");

    // A damaged hash tile: refused, naming it.
    let run = expect(verify(&url("damaged-hashes"), &rid(1), false), 1);
    contains(&run, &format!("log/county-1/{hash_tile} is damaged"));
    let run = expect(
        daylight(&[
            "receipt",
            "fetch",
            "--node",
            &url("damaged-hashes"),
            "--log",
            "county-1",
            "--index",
            "0",
            "--out",
            p(&dir.join("never.tlog-proof")),
        ]),
        1,
    );
    contains(&run, &format!("log/county-1/{hash_tile} is damaged"));
    assert!(!dir.join("never.tlog-proof").exists());
    // A damaged entry bundle: verify and audit refuse, naming it.
    let run = expect(verify(&url("damaged-entries"), &rid(1), false), 1);
    contains(&run, &format!("log/county-1/{bundle} is damaged"));
    let run = expect(
        daylight(&[
            "audit",
            "--genesis",
            &g,
            "--node",
            &url("damaged-entries"),
            "county-1",
        ]),
        1,
    );
    contains(&run, "log county-1: the 5 entries served build the root");
    contains(&run, &format!("log/county-1/{bundle} is damaged"));

    // A checkpoint without its witness cosignature: refused by every command.
    let run = expect(verify(&url("uncosigned"), &rid(1), false), 1);
    contains(&run, "cosignatures: 0 of 1 required valid");
    let run = expect(
        daylight(&[
            "audit",
            "--genesis",
            &g,
            "--node",
            &url("uncosigned"),
            "county-1",
        ]),
        1,
    );
    contains(&run, "cosignatures: 0 of 1 required valid");
    let never = dir.join("uncosigned.tlog-proof");
    let run = expect(
        daylight(&[
            "receipt",
            "fetch",
            "--node",
            &url("uncosigned"),
            "--genesis",
            &g,
            &rid(1),
            "--out",
            p(&never),
        ]),
        1,
    );
    contains(&run, "cosignatures: 0 of 1");
    assert!(
        !never.exists(),
        "a receipt that does not verify was written"
    );

    // Without the marker, the directory is neither a node nor a copy, and the CLI says so.
    let run = expect(verify(&url("unmarked"), &rid(1), false), 2);
    contains(&run, "neither a daylight node nor a static copy");
    contains(&run, "daylight-static.json");

    drop(server);
    county.terminate().unwrap();
    city.terminate().unwrap();
}
