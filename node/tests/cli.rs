//! The `daylight-node` command line as an operator meets it. (This integration test also makes
//! `cargo test --workspace` build the binary that the multi-node tests in `tests/` start.)

use std::process::Command;

fn node() -> Command {
    Command::new(env!("CARGO_BIN_EXE_daylight-node"))
}

#[test]
fn help_lists_the_commands() {
    let out = node().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("init") && help.contains("run"), "{help}");
}

#[test]
fn missing_files_are_usage_errors_with_the_path() {
    let out = node()
        .args(["run", "--config", "/nonexistent/node.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/node.toml"), "{err}");

    let out = node()
        .args([
            "init",
            "--genesis",
            "/nonexistent/genesis.note",
            "--member",
            "m",
            "--data",
        ])
        .arg(std::env::temp_dir().join("daylight-never-created"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the genesis file"));
}
