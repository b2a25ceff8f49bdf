//! The WebAssembly verifier the portal runs (`portal/assets/wasm/`, built by
//! `verifier-wasm/build.sh`) and `portal/assets/js/verify.js`, driven by Node.js:
//!
//! * the Go reference's vectors (`../shared/vectors/`) through the WebAssembly build: proofs
//!   built from tiles equal the reference's byte for byte, every proof verifies, changed ones
//!   fail, and the reference's signed and cosigned checkpoints verify
//!   (`verifier-wasm/tests/vectors.mjs`);
//! * a household receipt made by the CLI (`daylight receipt fetch --opening`) from the demo
//!   network verifies in verify.js with the network off (as JSON, object and QR code; changed
//!   ones fail with the reason), and the record path verifies a record from the live demo node
//!   (`verifier-wasm/tests/receipt.mjs`).
//!
//! Needs Node.js 20 or later (`node` on PATH, or `DAYLIGHT_NODEJS`); no npm packages.

use std::path::{Path, PathBuf};
use std::process::Command;

use daylight_tests::demo::DemoProcess;
use daylight_tests::{TempDir, cli_binary, get};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A directory laid out like `portal/assets` (`js/verify.js`, `wasm/…`) with the Node scripts
/// in `test/` and a `package.json` that makes its `.js` files ES modules.
fn stage() -> TempDir {
    let dir = TempDir::new("wasm-js");
    let root = repo();
    for (from, to) in [
        (
            "portal/assets/wasm/daylight_verifier_wasm.js",
            "wasm/daylight_verifier_wasm.js",
        ),
        (
            "portal/assets/wasm/daylight_verifier_wasm_bg.wasm",
            "wasm/daylight_verifier_wasm_bg.wasm",
        ),
        ("portal/assets/js/verify.js", "js/verify.js"),
        ("verifier-wasm/tests/vectors.mjs", "test/vectors.mjs"),
        ("verifier-wasm/tests/receipt.mjs", "test/receipt.mjs"),
    ] {
        let to = dir.path().join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join(from), &to).unwrap_or_else(|e| {
            panic!(
                "cannot copy {from}: {e}; build the WebAssembly verifier with verifier-wasm/build.sh"
            )
        });
    }
    std::fs::write(dir.path().join("package.json"), r#"{"type":"module"}"#).unwrap();
    dir
}

/// Runs a staged Node script; returns its one-line JSON report, failing the test (with the
/// script's output) if it exited non-zero.
fn run_node(dir: &TempDir, script: &str, args: &[&str]) -> serde_json::Value {
    let node = std::env::var("DAYLIGHT_NODEJS").unwrap_or_else(|_| "node".into());
    let out = Command::new(&node)
        .arg(dir.path().join("test").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {node}: {e}; these tests need Node.js 20 or later on PATH")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{script} printed {stdout:?}: {e}"))
}

#[test]
fn the_go_reference_vectors_hold_through_the_webassembly_build() {
    let dir = stage();
    let vectors = repo().join("../shared/vectors");
    let report = run_node(&dir, "vectors.mjs", &[vectors.to_str().unwrap()]);
    assert_eq!(report["failures"], serde_json::json!([]), "{report}");
    let checked = report["checked"].as_u64().unwrap_or(0);
    assert!(checked > 1000, "only {checked} vector checks ran: {report}");
}

#[test]
fn a_cli_household_receipt_verifies_in_verify_js_offline() -> anyhow::Result<()> {
    let dir = stage();
    let demo = DemoProcess::start()?;
    let county = demo.url("county-320681");
    let rid = demo.summary["household_payment"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let index = demo.summary["records"][&rid]["index"].as_u64().unwrap_or(0);
    let receipt = dir.path().join("household-receipt.json");
    let out = Command::new(cli_binary()?)
        .args(["receipt", "fetch", "--node", &county, "--out"])
        .arg(&receipt)
        .arg("--opening")
        .arg(demo.file("opening"))
        .arg(&rid)
        .env("DAYLIGHT_HOME", dir.path().join("home"))
        .output()?;
    assert!(
        out.status.success(),
        "receipt fetch: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let chain = dir.path().join("genesis-chain.json");
    let served = get(&format!("{county}/v1/genesis"))?;
    assert_eq!(served.status, 200);
    std::fs::write(&chain, &served.body)?;
    let report = run_node(
        &dir,
        "receipt.mjs",
        &[
            receipt.to_str().unwrap(),
            chain.to_str().unwrap(),
            &county,
            "county-320681",
            &index.to_string(),
        ],
    );
    assert_eq!(report["failures"], serde_json::json!([]), "{report}");
    assert!(report["checked"].as_u64().unwrap_or(0) >= 20, "{report}");
    eprintln!(
        "receipt code of the demo household: {} characters",
        report["codeLength"]
    );
    Ok(())
}
