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
