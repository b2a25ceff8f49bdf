//! Static publication (DESIGN §5.6, docs/static-publication.md): a member node with
//! `[publish] dir` keeps a tlog-tiles copy of its logs in a directory; a real nginx (Debian's
//! `/usr/sbin/nginx`) serves it and the Go reference checker (tests/interop) verifies the log
//! from nginx alone, then its consistency after new records. Also: the write order (no
//! checkpoint is ever visible before a tile it covers; tiles never change) while the node
//! publishes during a burst, and the one-shot `daylight-node publish-static`.
//!
//! `.ci/run` installs nginx and Go. Where either is missing the nginx test fails under CI
//! and is skipped with a message elsewhere.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use daylight_node::static_copy::tiles_covering;
use daylight_tests::go_reference;
use daylight_tests::nginx::{self, Nginx};
use daylight_tests::{
    NodeProcess, TempDir, TestNetwork, get, node_binary, post_json, signed_receipt, wait_until,
};
use daylight_verifier::SigningKey;

const DEADLINE: Duration = Duration::from_secs(60);

/// Fails under CI, or skips with a message elsewhere, when a tool is missing.
fn required(present: bool, hint: &str) -> bool {
    if !present {
        assert!(std::env::var_os("CI").is_none(), "{hint}");
        eprintln!("SKIPPED outside CI: {hint}");
    }
    present
}

/// Adds a `[publish]` table to a node's configuration.
fn set_publish(config: &Path, dir: &Path) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new().append(true).open(config)?;
    write!(
        file,
        "\n[publish]\ndir = {:?}\ninterval_seconds = 1\n",
        dir.display().to_string()
    )?;
    Ok(())
}

/// Posts records `from..to` of county-1 in batches of `batch`.
fn post_records(
    node: &NodeProcess,
    operator: &SigningKey,
    range: std::ops::Range<u32>,
    batch: usize,
) -> anyhow::Result<()> {
    for chunk in range.collect::<Vec<_>>().chunks(batch) {
        let records: Vec<serde_json::Value> = chunk
            .iter()
            .map(|n| {
                signed_receipt(
                    operator,
                    &format!("county-1-static-{n:04}"),
                    100 + u64::from(*n),
                )
            })
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

/// The size of the published checkpoint of `member` in `dir`, if there is one.
fn published_size(dir: &Path, member: &str) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join(format!("log/{member}/checkpoint"))).ok()?;
    note_size(&text)
}

/// Waits until the copy's checkpoint of county-1 has `size` entries.
fn wait_published(dir: &Path, size: u64) {
    wait_until(
        DEADLINE,
        &format!("the static copy at size {size}"),
        || match published_size(dir, "county-1") {
            Some(s) if s == size => Ok(()),
            other => Err(format!("published size {other:?}")),
        },
    );
}

#[test]
fn go_reference_verifies_the_static_copy_through_nginx() -> anyhow::Result<()> {
    if !required(
        nginx::available(),
        "nginx is missing: apt-get install -y --no-install-recommends nginx",
    ) || !required(
        go_reference::available(),
        "Go and the reference packages are missing: apt-get install -y golang-go golang-golang-x-mod-dev",
    ) {
        return Ok(());
    }
    let network = TestNetwork::city_with_counties(1)?;
    let county = &network.keys["county-1"];
    let config = network.init_node("county-1")?;
    let copy = TempDir::new("static-copy");
    set_publish(&config, copy.path())?;
    let node = NodeProcess::start(&config)?;

    // 300 records: a full level-0 tile, a partial one, and a partial level-1 tile.
    post_records(&node, &county.operator, 0..300, 100)?;
    wait_published(copy.path(), 300);
    let nginx = Nginx::start(copy.path())?;

    // nginx serves the checkpoint exactly as the node does (the same cosigned note).
    let served = get(&node.url("/log/county-1/checkpoint"))?.text();
    let static_note = get(&nginx.url("/log/county-1/checkpoint"))?;
    assert_eq!(static_note.status, 200);
    assert_eq!(static_note.text(), served);

    let vkey = county.log.verifier().to_string();
    let log = nginx.url("/log/county-1");
    let stdout = go_reference::tlogcheck(
        &["-static", "-log", &log, "-vkey", &vkey],
        "the static copy",
    );
    assert!(
        stdout.contains("OK test.daylight/county-1 size 300"),
        "{stdout}"
    );

    // New records: the copy moves on, and the Go reference proves from nginx's tiles alone
    // that the old checkpoint's tree is a prefix of the new one.
    let old = TempDir::new("old-checkpoint");
    let old_file = old.path().join("checkpoint");
    std::fs::write(&old_file, static_note.body)?;
    post_records(&node, &county.operator, 300..600, 150)?;
    wait_published(copy.path(), 600);
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
        "the static copy",
    );
    assert!(
        stdout.contains("OK consistent from size 300 to 600"),
        "{stdout}"
    );
    assert!(
        stdout.contains("OK test.daylight/county-1 size 600"),
        "{stdout}"
    );
    node.terminate()?;
    Ok(())
}

/// Every file under `dir`, relative to it.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                out.push(relative.to_path_buf());
            }
        }
    }
    out
}

#[test]
fn no_checkpoint_is_visible_before_its_tiles_and_tiles_never_change() -> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(1)?;
    let county = &network.keys["county-1"];
    let config = network.init_node("county-1")?;
    let copy = TempDir::new("static-order");
    set_publish(&config, copy.path())?;
    let node = NodeProcess::start(&config)?;
    let log_dir = copy.path().join("log/county-1");

    const TOTAL: u32 = 1500;
    let mut seen_sizes = std::collections::BTreeSet::new();
    let mut tiles: HashMap<PathBuf, Vec<u8>> = HashMap::new();
    // The checkpoint first, then its tiles: each must already be there. And a tile's bytes
    // never change once seen (staging files, `name#n`, are not objects yet).
    let mut check = |seen_sizes: &mut std::collections::BTreeSet<u64>| -> anyhow::Result<()> {
        if let Some(size) = published_size(copy.path(), "county-1") {
            seen_sizes.insert(size);
            // Records are sequenced in the order posted: entry `size - 1` is record
            // `size - 1`, whose rid/ object must be there before the checkpoint.
            if let Some(last) = size.checked_sub(1) {
                let last = log_dir.join(format!("rid/county-1-static-{last:04}"));
                assert!(
                    last.is_file(),
                    "checkpoint of size {size} visible before the rid/ object {}",
                    last.display()
                );
            }
            for tile in tiles_covering(size) {
                assert!(
                    log_dir.join(tile.path()).is_file(),
                    "checkpoint of size {size} visible before its tile {}",
                    tile.path()
                );
            }
        }
        for file in files(&log_dir) {
            if file.starts_with("tile") && !file.to_string_lossy().contains('#') {
                let bytes = std::fs::read(log_dir.join(&file))?;
                let first = tiles.entry(file.clone()).or_insert_with(|| bytes.clone());
                assert_eq!(*first, bytes, "tile {} changed", file.display());
            }
        }
        Ok(())
    };
    // In rounds, each published before the next starts, so the copy is watched at several
    // sizes however fast the node sequences a round; within a round the checks race the
    // publisher.
    const ROUNDS: u32 = 5;
    for round in 0..ROUNDS {
        let records = round * TOTAL / ROUNDS..(round + 1) * TOTAL / ROUNDS;
        let end = u64::from(records.end);
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let poster = scope.spawn(|| post_records(&node, &county.operator, records, 37));
            while !poster.is_finished() {
                check(&mut seen_sizes)?;
                std::thread::sleep(Duration::from_millis(2));
            }
            poster.join().expect("the poster thread")
        })?;
        let give_up = std::time::Instant::now() + DEADLINE;
        while published_size(copy.path(), "county-1") != Some(end) {
            anyhow::ensure!(
                std::time::Instant::now() < give_up,
                "the copy did not reach size {end} within {DEADLINE:?}"
            );
            check(&mut seen_sizes)?;
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    wait_published(copy.path(), u64::from(TOTAL));
    check(&mut seen_sizes)?;
    assert!(
        seen_sizes.len() >= 3,
        "the copy was seen at too few sizes to test the order: {seen_sizes:?}"
    );
    // Only the marker, the checkpoint, tiles and rid/ objects are written, with no staging
    // files left behind; every record has its rid/ object.
    for file in files(copy.path()) {
        let name = file.to_string_lossy();
        assert!(
            name == "daylight-static.json"
                || name == "log/county-1/checkpoint"
                || name.starts_with("log/county-1/tile/")
                || (name.starts_with("log/county-1/rid/county-1-static-") && !name.contains('#')),
            "unexpected file {name}"
        );
    }
    for n in 0..TOTAL {
        let path = log_dir.join(format!("rid/county-1-static-{n:04}"));
        let object: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
        assert!(object["index"].is_u64(), "{}: {object}", path.display());
        assert_eq!(object["leaf"].as_str().map(str::len), Some(64), "{object}");
    }
    eprintln!("saw checkpoint sizes {seen_sizes:?}");
    node.terminate()?;
    Ok(())
}

#[test]
fn publish_static_once_needs_the_node_stopped() -> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(1)?;
    let county = &network.keys["county-1"];
    let config = network.init_node("county-1")?;
    let node = NodeProcess::start(&config)?;
    post_records(&node, &county.operator, 0..300, 300)?;
    let copy = TempDir::new("static-once");
    let publish = || {
        Command::new(node_binary().expect("the node binary"))
            .arg("publish-static")
            .arg("--config")
            .arg(&config)
            .arg("--out")
            .arg(copy.path())
            .output()
            .expect("daylight-node runs")
    };

    // While the node runs, its database is locked: refused, saying why.
    let refused = publish();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("needs the node stopped"), "{stderr}");

    let served = get(&node.url("/log/county-1/checkpoint"))?.text();
    node.terminate()?;
    for _ in 0..2 {
        // Twice: a second run finds every tile there and rewrites only the checkpoint.
        let out = publish();
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
    }
    let copied = std::fs::read_to_string(copy.path().join("log/county-1/checkpoint"))?;
    assert_eq!(copied, served);
    for tile in tiles_covering(300) {
        let path = copy.path().join("log/county-1").join(tile.path());
        assert!(path.is_file(), "{} is missing", tile.path());
    }
    Ok(())
}
