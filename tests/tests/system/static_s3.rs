//! Static publication to an S3-compatible bucket (DESIGN §5.6, docs/static-publication.md):
//! a member node with `[publish.s3]` keeps a tlog-tiles copy of its logs in a real Garage
//! bucket (tests/src/garage.rs, on loopback); the Go reference checker (tests/interop) verifies
//! the log from Garage's anonymous web endpoint alone, then its consistency after new records.
//! Also: the marker object and the `rid/` objects, the `Cache-Control` of each kind of object,
//! that nothing but the checkpoint is ever overwritten (the bucket listed twice, ETags and
//! modification times compared), the one-shot `daylight-node publish-static --s3`, and the
//! `daylight` CLI's `verify`, `receipt fetch`/`verify` and `audit` against the web endpoint.
//!
//! Garage 2.5's web endpoint answers a keep-alive client (the Go checker) about 40 ms late per
//! request, so the Go checks here take most of the test's time.
//!
//! `.ci/run` installs Garage, nginx and Go. Where Garage or Go is missing the tests fail under
//! CI and print "skipped: ..." elsewhere.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use daylight_node::static_copy::{
    CHECKPOINT_CACHE_CONTROL, IMMUTABLE_CACHE_CONTROL, MARKER_JSON, tiles_covering,
};
use daylight_tests::garage::{BUCKET, Garage, REGION};
use daylight_tests::go_reference;
use daylight_tests::{
    NodeProcess, TempDir, TestNetwork, cli_binary, get, node_binary, post_json, set_bootstrap,
    signed_receipt, wait_until,
};
use daylight_verifier::SigningKey;
use futures::TryStreamExt as _;
use object_store::ObjectStore as _;

const DEADLINE: Duration = Duration::from_secs(90);

/// Garage's binary and Go, or `None` after printing why the test is skipped.
fn tools() -> Option<std::path::PathBuf> {
    let garage = Garage::binary()?;
    go_reference::available().then_some(garage)
}

/// Adds `text` (TOML tables) to a node's configuration.
fn append(config: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new().append(true).open(config)?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// The rid of county-1's record `n`.
fn rid(n: u32) -> String {
    format!("county-1-s3-{n:04}")
}

/// Posts records `range` of county-1 in batches of `batch`.
fn post_records(
    node: &NodeProcess,
    operator: &SigningKey,
    range: std::ops::Range<u32>,
    batch: usize,
) -> anyhow::Result<()> {
    for chunk in range.collect::<Vec<_>>().chunks(batch) {
        let records: Vec<serde_json::Value> = chunk
            .iter()
            .map(|n| signed_receipt(operator, &rid(*n), 100 + u64::from(*n)))
            .collect();
        let reply = post_json(&node.url("/v1/records"), &serde_json::to_vec(&records)?)?;
        anyhow::ensure!(reply.status == 201, "{}", reply.text());
    }
    Ok(())
}

/// The size in a checkpoint note's text (its second line).
fn note_size(note: &str) -> Option<u64> {
    note.lines().nth(1)?.parse().ok()
}

/// Waits until the checkpoint at `url` (the web endpoint) has `size` entries.
fn wait_published(url: &str, size: u64) {
    wait_until(
        DEADLINE,
        &format!("the bucket's checkpoint at size {size}"),
        || {
            let reply = get(url).map_err(|e| e.to_string())?;
            match (reply.status, note_size(&reply.text())) {
                (200, Some(s)) if s == size => Ok(()),
                (status, s) => Err(format!("status {status}, size {s:?}")),
            }
        },
    );
}

/// Every object in the bucket: key → (ETag, last modified), listed over S3 with the test key.
fn list(garage: &Garage) -> anyhow::Result<BTreeMap<String, (Option<String>, String)>> {
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(garage.s3_endpoint())
        .with_allow_http(true)
        .with_region(REGION)
        .with_bucket_name(BUCKET)
        .with_access_key_id(&garage.key_id)
        .with_secret_access_key(&garage.secret)
        .build()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let objects: Vec<_> = runtime.block_on(s3.list(None).try_collect())?;
    Ok(objects
        .into_iter()
        .map(|o| {
            (
                o.location.to_string(),
                (o.e_tag, o.last_modified.to_rfc3339()),
            )
        })
        .collect())
}

/// GET `url`: status, `Cache-Control` and body.
fn get_with_cache_control(url: &str) -> anyhow::Result<(u16, Option<String>, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(url).call()?;
    let cache = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok((
        response.status().as_u16(),
        cache,
        String::from_utf8_lossy(&response.body_mut().read_to_vec()?).into_owned(),
    ))
}

/// Checks that every object of `before` but `checkpoints` is in `after`, unchanged.
fn only_checkpoints_changed(
    before: &BTreeMap<String, (Option<String>, String)>,
    after: &BTreeMap<String, (Option<String>, String)>,
) {
    for (key, version) in before {
        if key.ends_with("/checkpoint") {
            continue;
        }
        assert_eq!(
            after.get(key),
            Some(version),
            "object {key} was overwritten or removed"
        );
    }
}

#[test]
fn go_reference_verifies_the_copy_in_a_garage_bucket() -> anyhow::Result<()> {
    let Some(binary) = tools() else {
        return Ok(());
    };
    let garage = Garage::start(&binary)?;
    let network = TestNetwork::city_with_counties(1)?;
    let county = &network.keys["county-1"];
    let config = network.init_node("county-1")?;
    let credentials = config.with_file_name("s3-credentials.toml");
    garage.write_credentials(&credentials)?;
    append(
        &config,
        &format!(
            "\n[publish]\ninterval_seconds = 1\n{}",
            garage.publish_table(Path::new("s3-credentials.toml"), "")
        ),
    )?;
    let node = NodeProcess::start(&config)?;

    // 300 records: a full level-0 tile, a partial one, and a partial level-1 tile.
    post_records(&node, &county.operator, 0..300, 100)?;
    let checkpoint = garage.web_url("/log/county-1/checkpoint");
    wait_published(&checkpoint, 300);

    // The web endpoint serves the checkpoint exactly as the node does, with a short cache
    // lifetime; the other objects with a long, immutable one.
    let served = get(&node.url("/log/county-1/checkpoint"))?.text();
    let (status, cache, note) = get_with_cache_control(&checkpoint)?;
    assert_eq!((status, note.as_str()), (200, served.as_str()));
    assert_eq!(cache.as_deref(), Some(CHECKPOINT_CACHE_CONTROL));
    let (status, cache, marker) = get_with_cache_control(&garage.web_url("/daylight-static.json"))?;
    assert_eq!((status, marker.as_str()), (200, MARKER_JSON));
    assert_eq!(cache.as_deref(), Some(IMMUTABLE_CACHE_CONTROL));
    let (status, cache, _) = get_with_cache_control(&garage.web_url("/log/county-1/tile/0/000"))?;
    assert_eq!(status, 200);
    assert_eq!(cache.as_deref(), Some(IMMUTABLE_CACHE_CONTROL));

    // A rid/ object gives the index and leaf the node gives for that record.
    for n in [0, 7, 299] {
        let record = get(&node.url(&format!("/v1/records/{}", rid(n))))?.json();
        let url = garage.web_url(&format!("/log/county-1/rid/{}", rid(n)));
        let (status, cache, body) = get_with_cache_control(&url)?;
        assert_eq!(status, 200, "{url}: {body}");
        assert_eq!(cache.as_deref(), Some(IMMUTABLE_CACHE_CONTROL));
        let object: serde_json::Value = serde_json::from_str(&body)?;
        assert_eq!(object["index"], record["index"], "{body}");
        assert_eq!(object["leaf"], record["leaf"], "{body}");
        assert_eq!(object.as_object().map(|o| o.len()), Some(2), "{body}");
    }

    let vkey = county.log.verifier().to_string();
    let log = garage.web_url("/log/county-1");
    let stdout = go_reference::tlogcheck(
        &["-static", "-log", &log, "-vkey", &vkey],
        "the copy in the bucket",
    );
    assert!(
        stdout.contains("OK test.daylight/county-1 size 300"),
        "{stdout}"
    );

    // The bucket holds the copy and nothing else.
    let before = list(&garage)?;
    let mut expected: Vec<String> = tiles_covering(300)
        .iter()
        .map(|t| format!("log/county-1/{}", t.path()))
        .chain((0..300).map(|n| format!("log/county-1/rid/{}", rid(n))))
        .chain([
            "log/county-1/checkpoint".into(),
            "daylight-static.json".into(),
        ])
        .collect();
    expected.sort();
    assert_eq!(before.keys().cloned().collect::<Vec<_>>(), expected);

    // New records: the copy moves on, the Go reference proves from the bucket's tiles alone
    // that the old checkpoint's tree is a prefix of the new one, and nothing but the
    // checkpoint was overwritten.
    let old = TempDir::new("old-checkpoint");
    let old_file = old.path().join("checkpoint");
    std::fs::write(&old_file, &note)?;
    post_records(&node, &county.operator, 300..600, 150)?;
    wait_published(&checkpoint, 600);
    let stdout = go_reference::tlogcheck(
        &[
            "-static",
            "-log",
            &log,
            "-vkey",
            &vkey,
            "-old-checkpoint",
            old_file.to_str().expect("a UTF-8 path"),
        ],
        "the copy in the bucket",
    );
    assert!(
        stdout.contains("OK consistent from size 300 to 600"),
        "{stdout}"
    );
    assert!(
        stdout.contains("OK test.daylight/county-1 size 600"),
        "{stdout}"
    );
    let after = list(&garage)?;
    only_checkpoints_changed(&before, &after);
    assert_ne!(
        before.get("log/county-1/checkpoint"),
        after.get("log/county-1/checkpoint"),
        "the checkpoint object did not change"
    );
    let rids = after.keys().filter(|k| k.contains("/rid/")).count();
    assert_eq!(rids, 600);
    let record = get(&node.url(&format!("/v1/records/{}", rid(599))))?.json();
    let object = get(&garage.web_url(&format!("/log/county-1/rid/{}", rid(599))))?.json();
    assert_eq!(
        (&object["index"], &object["leaf"]),
        (&record["index"], &record["leaf"])
    );
    node.terminate()?;
    Ok(())
}

#[test]
fn publish_static_to_the_bucket_from_a_stopped_node() -> anyhow::Result<()> {
    let Some(binary) = tools() else {
        return Ok(());
    };
    let garage = Garage::start(&binary)?;
    let network = TestNetwork::city_with_counties(1)?;
    let county = &network.keys["county-1"];
    let config = network.init_node("county-1")?;
    let node = NodeProcess::start(&config)?;
    post_records(&node, &county.operator, 0..300, 300)?;
    let served = get(&node.url("/log/county-1/checkpoint"))?.text();
    node.terminate()?;
    let publish = |extra: &[&str]| {
        Command::new(node_binary().expect("the node binary"))
            .arg("publish-static")
            .arg("--config")
            .arg(&config)
            .args(extra)
            .output()
            .expect("daylight-node runs")
    };

    // Without a [publish.s3] table, --s3 says what is missing.
    let refused = publish(&["--s3"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("[publish.s3]"), "{stderr}");

    // Credentials that others may read are refused, saying how to fix them.
    let credentials = config.with_file_name("s3-credentials.toml");
    garage.write_credentials(&credentials)?;
    append(&config, &garage.publish_table(&credentials, "copies/a"))?;
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o644))?;
    let refused = publish(&["--s3"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("chmod 600"), "{stderr}");
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o600))?;

    let mut listings = Vec::new();
    for _ in 0..2 {
        // Twice: a second run finds every object there and rewrites only the checkpoint.
        let out = publish(&["--s3"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("published log county-1 at size 300"),
            "{stdout}"
        );
        listings.push(list(&garage)?);
    }
    only_checkpoints_changed(&listings[0], &listings[1]);
    let objects = &listings[1];
    assert!(
        objects.keys().all(|k| k.starts_with("copies/a/")),
        "{objects:?}"
    );
    assert!(objects.contains_key("copies/a/daylight-static.json"));
    assert_eq!(objects.keys().filter(|k| k.contains("/rid/")).count(), 300);
    for tile in tiles_covering(300) {
        let key = format!("copies/a/log/county-1/{}", tile.path());
        assert!(objects.contains_key(&key), "{key} is missing");
    }
    let copied = get(&garage.web_url("/copies/a/log/county-1/checkpoint"))?.text();
    assert_eq!(copied, served);

    let vkey = county.log.verifier().to_string();
    let log = garage.web_url("/copies/a/log/county-1");
    let stdout = go_reference::tlogcheck(
        &["-static", "-log", &log, "-vkey", &vkey],
        "the copy in the bucket",
    );
    assert!(
        stdout.contains("OK test.daylight/county-1 size 300"),
        "{stdout}"
    );
    Ok(())
}

/// One run of the `daylight` CLI: exit code and everything it printed.
fn daylight(args: &[&str]) -> (i32, String) {
    let out = Command::new(cli_binary().expect("build the CLI: cargo build -p daylight-cli"))
        .args(args)
        .env_remove("DAYLIGHT_HOME")
        .output()
        .expect("run daylight");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Asserts that a CLI run exited 0 and printed every one of `needles`.
#[track_caller]
fn succeeds(run: (i32, String), needles: &[&str]) {
    let (code, all) = run;
    assert_eq!(code, 0, "{all}");
    for needle in needles {
        assert!(all.contains(needle), "no {needle:?} in:\n{all}");
    }
}

fn money(minor: u64) -> serde_json::Value {
    serde_json::json!({"minor": minor.to_string(), "currency": "CNY"})
}

/// Signs and posts one record; returns its leaf.
fn post_one(node: &NodeProcess, operator: &SigningKey, value: serde_json::Value) -> String {
    let record = daylight_verifier::record::Record::from_value(value).expect("a valid record");
    let body = serde_json::to_vec(&record.sign(operator)).expect("records serialize");
    let reply = post_json(&node.url("/v1/records"), &body).expect("the node answers");
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()["leaf"].as_str().expect("a leaf").to_string()
}

#[test]
fn cli_verifies_fetches_receipts_and_audits_from_the_bucket() -> anyhow::Result<()> {
    let Some(binary) = Garage::binary() else {
        return Ok(());
    };
    let garage = Garage::start(&binary)?;
    // A city and a county cosigning each other; the county publishes its own log and the
    // city's (which it mirrors) to the bucket.
    let network = TestNetwork::city_and_county()?;
    let genesis = daylight_genesis::Genesis::open(&std::fs::read(&network.genesis_file)?)?;
    let city_config = network.init_node("city-1")?;
    let county_config = network.init_node("county-1")?;
    let credentials = county_config.with_file_name("s3-credentials.toml");
    garage.write_credentials(&credentials)?;
    append(
        &county_config,
        &format!(
            "\n[publish]\ninterval_seconds = 1\n{}",
            garage.publish_table(&credentials, "")
        ),
    )?;
    let city = NodeProcess::start(&city_config)?;
    set_bootstrap(&county_config, std::slice::from_ref(&city.p2p))?;
    let county = NodeProcess::start(&county_config)?;

    let program = "rural-2024";
    let alloc_leaf = post_one(
        &city,
        &network.keys["city-1"].operator,
        serde_json::json!({
            "v": 1, "rid": "city-1-2024-alloc-0001", "kind": "allocation",
            "event_date": "2024-03-01", "program": program, "payer": {"member": "city-1"},
            "payee": {"member": "county-1"}, "amount": money(3_000_000),
            "purpose": "Rural revitalisation 2024, first tranche",
        }),
    );
    let rid = "county-1-2024-rcpt-0001";
    post_one(
        &county,
        &network.keys["county-1"].operator,
        serde_json::json!({
            "v": 1, "rid": rid, "kind": "receipt", "event_date": "2024-03-05",
            "program": program, "payer": {"member": "city-1"}, "amount": money(1_000_000),
            "funded_by": [{"ref": {"log": "city-1", "rid": "city-1-2024-alloc-0001",
                "leaf": alloc_leaf}, "amount": money(1_000_000)}],
        }),
    );
    // Both logs in the bucket, each at a checkpoint that meets the genesis quorum.
    for member in ["county-1", "city-1"] {
        let policy = genesis.policy_for(member)?;
        let url = garage.web_url(&format!("/log/{member}/checkpoint"));
        wait_until(
            DEADLINE,
            &format!("a cosigned checkpoint of {member} in the bucket"),
            || {
                let reply = get(&url).map_err(|e| e.to_string())?;
                match policy.verify(&reply.body) {
                    Ok(t) if t.checkpoint.size == 1 => Ok(()),
                    Ok(t) => Err(format!("size {}", t.checkpoint.size)),
                    Err(e) => Err(format!("{} {e}", reply.status)),
                }
            },
        );
    }
    let root = garage.web_url("");
    let g = network.genesis_file.to_str().expect("a UTF-8 path");
    let data = TempDir::new("s3-cli-data");
    let data_dir = data.path().to_str().expect("a UTF-8 path");

    succeeds(
        daylight(&[
            "--data-dir",
            data_dir,
            "verify",
            "--genesis",
            g,
            "--node",
            &root,
            rid,
        ]),
        &[
            &format!("source: static copy at {root} (no node API)"),
            "found through the copy's rid index",
            "meets the genesis quorum of 1",
        ],
    );
    let receipt = data.path().join("s3.tlog-proof");
    let receipt = receipt.to_str().expect("a UTF-8 path");
    succeeds(
        daylight(&["receipt", "fetch", "--node", &root, rid, "--out", receipt]),
        &["Assembled from the static copy"],
    );
    succeeds(
        daylight(&["receipt", "verify", "--genesis", g, receipt]),
        &["cosignatures: 1 of 1"],
    );
    succeeds(
        daylight(&[
            "audit",
            "--genesis",
            g,
            "--node",
            &root,
            "--as-of",
            "2024-12-31",
        ]),
        &[
            &format!("static copy at {root} (no node API)"),
            "log county-1",
            "log city-1",
        ],
    );
    county.terminate()?;
    city.terminate()?;
    Ok(())
}
