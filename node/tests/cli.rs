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

#[test]
fn p2p_key_prints_a_peer_id_and_writes_a_private_file() {
    let dir = std::env::temp_dir().join(format!("daylight-p2p-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("p2p.key");
    let out = node()
        .arg("p2p-key")
        .arg("--out")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peer = String::from_utf8(out.stdout).unwrap();
    let key =
        daylight_node::network::parse_identity(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(peer.trim(), key.public().to_peer_id().to_string());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = node()
        .arg("p2p-key")
        .arg("--out")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(2),
        "overwriting a key must be refused"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
