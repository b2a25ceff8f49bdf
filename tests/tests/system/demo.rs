//! `daylight-node demo`, run as a new user runs it: one command, no setup.

use std::process::Command;

use daylight_genesis::Genesis;
use daylight_tests::demo::{DemoProcess, READY_LINE};
use daylight_tests::{TempDir, get, node_binary};

#[test]
fn the_demo_verifies_its_household_receipt_and_exits() -> anyhow::Result<()> {
    let dir = TempDir::new("demo-exit");
    let network = dir.path().join("network");
    let out = Command::new(node_binary()?)
        .arg("demo")
        .arg("--dir")
        .arg(&network)
        .arg("--exit-after-verify")
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(READY_LINE), "{stdout}");
    assert!(
        stdout.contains("verified: payment county-320681-2026-pay-0002"),
        "{stdout}"
    );
    // The directory keeps what a citizen needs: the genesis, the receipt and the opening.
    for file in [
        "genesis.note",
        "household-receipt.tlog-proof",
        "household-opening.json",
        "demo.json",
    ] {
        assert!(network.join(file).is_file(), "{file} missing");
    }
    Genesis::open(&std::fs::read(network.join("genesis.note"))?)?;
    Ok(())
}

#[test]
fn the_demo_refuses_a_directory_in_use() -> anyhow::Result<()> {
    let dir = TempDir::new("demo-busy");
    std::fs::write(dir.path().join("something"), "mine")?;
    let out = Command::new(node_binary()?)
        .arg("demo")
        .arg("--dir")
        .arg(dir.path())
        .arg("--exit-after-verify")
        .output()?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("something"))?,
        "mine"
    );
    Ok(())
}

#[test]
fn the_demo_network_serves_every_log_cosigned_until_stopped() -> anyhow::Result<()> {
    let demo = DemoProcess::start()?;
    let genesis = Genesis::open(&std::fs::read(demo.file("genesis"))?)?;
    let members = ["city-320600", "county-320681", "county-320682"];
    for node in [
        "city-320600",
        "county-320681",
        "county-320682",
        "auditor-320600",
    ] {
        for member in members {
            let note = get(&format!("{}/log/{member}/checkpoint", demo.url(node)))?;
            assert_eq!(note.status, 200, "{node} serves {member}");
            // The publisher's own node is quorum-cosigned by the time the guide prints;
            // mirrors may still be collecting, but their checkpoint is signed by the log.
            let policy = genesis.policy_for(member)?;
            if node == member {
                policy.verify(&note.body)?;
            } else {
                daylight_verifier::SignedCheckpoint::open(&note.body, policy.log_key())?;
            }
        }
    }
    let summary = &demo.summary;
    assert_eq!(summary["seeded"].as_array().map(Vec::len), Some(2));
    let status = demo.terminate()?;
    assert!(
        status.success(),
        "the demo stops cleanly on SIGTERM: {status}"
    );
    Ok(())
}

/// Runs the `daylight` CLI with `args`; returns (exit code, stdout, stderr).
fn daylight(home: &std::path::Path, args: &[&str]) -> anyhow::Result<(i32, String, String)> {
    let out = Command::new(daylight_tests::cli_binary()?)
        .args(args)
        .env("DAYLIGHT_HOME", home)
        .output()?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// The README's shell blocks from "Trying the commands on the demo network" up to the
/// documentation, minus the first (which starts the demo itself).
fn readme_demo_blocks() -> anyhow::Result<Vec<String>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))?;
    let start = readme
        .find("## Trying the commands on the demo network")
        .ok_or_else(|| anyhow::anyhow!("README has no demo section"))?;
    let end = readme[start..]
        .find("## Documentation")
        .map_or(readme.len(), |e| start + e);
    let blocks: Vec<String> = readme[start..end]
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("```").next().map(str::to_string))
        .collect();
    anyhow::ensure!(blocks.len() > 3, "expected the README's demo blocks");
    Ok(blocks[1..].to_vec())
}

#[test]
fn a_new_user_runs_the_readme_and_the_guide_against_the_demo() -> anyhow::Result<()> {
    let demo = DemoProcess::start()?;
    let work = TempDir::new("demo-user");
    let home = work.path().join("home");
    let network_dir = demo.summary["dir"].as_str().unwrap_or_default().to_string();

    // Every command of the README's citizen and auditor sections, as written, with the
    // demo in the test's directory instead of /tmp/daylight-demo.
    let script = format!(
        "set -euo pipefail\ndaylight() {{ {cli:?} \"$@\"; }}\ncd {dir:?}\n{blocks}",
        cli = daylight_tests::cli_binary()?,
        dir = work.path(),
        blocks = readme_demo_blocks()?
            .join("\n")
            .replace("/tmp/daylight-demo", &network_dir),
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("DAYLIGHT_HOME", &home)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "README commands failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(work.path().join("audit.html").is_file());

    // Every command the demo's guide prints works as printed.
    for command in demo.summary["commands"].as_array().into_iter().flatten() {
        let words: Vec<&str> = command
            .as_str()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(words.first(), Some(&"daylight"), "{command}");
        let (code, stdout, stderr) = daylight(&home, &words[1..])?;
        assert_eq!(code, 0, "{command}\n{stdout}\n{stderr}");
    }

    let genesis = demo.file("genesis");
    let genesis = genesis.to_str().unwrap_or_default();
    let opening = demo.file("opening");
    let opening = opening.to_str().unwrap_or_default();

    // A household receipt whose amount was raised fails, saying what did not match.
    let receipt = std::fs::read(demo.file("receipt"))?;
    let mut bundle = daylight_verifier::bundle::ProofBundle::parse(&receipt)?;
    let entry = String::from_utf8(bundle.extra.clone().unwrap_or_default())?;
    assert!(entry.contains("\"minor\":\"300000\""), "{entry}");
    bundle.extra = Some(
        entry
            .replace("\"minor\":\"300000\"", "\"minor\":\"900000\"")
            .into_bytes(),
    );
    let tampered = work.path().join("tampered.tlog-proof");
    std::fs::write(&tampered, bundle.to_text())?;
    let (code, stdout, _) = daylight(
        &home,
        &[
            "receipt",
            "verify",
            "--genesis",
            genesis,
            tampered.to_str().unwrap_or_default(),
            "--opening",
            opening,
        ],
    )?;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("NOT VERIFIED"), "{stdout}");
    assert!(
        stdout.contains("inclusion proof does not lead to the checkpoint root"),
        "the reason names what did not match: {stdout}"
    );

    // The flow leads from the cooperative payment back to the city's allocation.
    let cooperative = demo.summary["cooperative_payment"]
        .as_str()
        .unwrap_or_default();
    let (code, stdout, stderr) = daylight(
        &home,
        &[
            "flow",
            "--genesis",
            genesis,
            "--node",
            &demo.url("county-320681"),
            cooperative,
        ],
    )?;
    assert_eq!(code, 0, "{stdout}{stderr}");
    for hop in [
        cooperative,
        "county-320681-2026-rcpt-0001",
        "city-320600-2026-alloc-0001",
    ] {
        assert!(
            stdout.contains(hop),
            "{hop} missing from the flow:\n{stdout}"
        );
    }

    // The audit reports the two seeded problems, and nothing else.
    let (code, stdout, stderr) = daylight(
        &home,
        &[
            "--json",
            "audit",
            "--genesis",
            genesis,
            "--node",
            &demo.url("city-320600"),
        ],
    )?;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let audit: serde_json::Value = serde_json::from_str(&stdout)?;
    let mut found: Vec<(String, String)> = audit["audit"]["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["subjects"].to_string(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, "duplicate_payment");
    assert!(
        found[0].1.contains("county-320682-2026-pay-0002"),
        "{found:?}"
    );
    assert_eq!(found[1].0, "short_notice");
    assert!(
        found[1].1.contains("county-320682-2026-hh-0001"),
        "{found:?}"
    );

    // Verification against a node that is not there fails cleanly with exit 3.
    let household = demo.summary["household_payment"]
        .as_str()
        .unwrap_or_default();
    let (code, _, stderr) = daylight(
        &home,
        &[
            "verify",
            "--genesis",
            genesis,
            "--node",
            "http://127.0.0.1:1",
            household,
        ],
    )?;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("cannot reach"), "{stderr}");

    let status = demo.terminate()?;
    assert!(status.success(), "{status}");
    Ok(())
}
