//! `daylight keygen` as a user runs it: the real binary, a real file.

use std::process::Command;

use daylight_verifier::{KeyType, SigningKey, VerifierKey};

fn daylight() -> Command {
    Command::new(env!("CARGO_BIN_EXE_daylight"))
}

#[test]
fn keygen_writes_a_private_key_only_its_owner_can_read() {
    let dir = std::env::temp_dir().join(format!("daylight-keygen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("witness.key");
    let out = daylight()
        .args([
            "keygen",
            "--name",
            "demo.daylight/auditor-1/witness",
            "--kind",
            "witness",
        ])
        .arg("--out")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vkey = VerifierKey::parse(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(vkey.key_type(), KeyType::Cosignature);
    let private = SigningKey::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(private.verifier(), vkey);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let again = daylight()
        .args(["keygen", "--name", "demo.daylight/x"])
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

#[test]
fn bad_names_are_usage_errors() {
    let out = daylight()
        .args(["keygen", "--name", "has space", "--out", "/nonexistent/x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid key name"));
}
