//! `daylight keygen`: a new Ed25519 key for a log, a witness, an operator or an attestor.

use std::io::Write as _;
use std::path::Path;

use clap::ValueEnum;
use daylight_verifier::{KeyType, SigningKey};
use serde_json::json;

use crate::error::{CliError, input};
use crate::output::Report;

/// The signature type of a new key.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Kind {
    /// Signs notes: log checkpoints, genesis files, records (type 0x01).
    Log,
    /// Cosigns other logs' checkpoints as a witness (type 0x04).
    Witness,
}

/// Runs `daylight keygen`: writes the private key (mode 0600, never over an existing file)
/// and reports the vkey.
pub fn run(name: &str, kind: Kind, out: &Path) -> Result<Report, CliError> {
    let key_type = match kind {
        Kind::Log => KeyType::Ed25519,
        Kind::Witness => KeyType::Cosignature,
    };
    let key = SigningKey::generate(name, key_type).map_err(|e| input(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(out).and_then(|mut file| {
        writeln!(file, "{}", key.to_private_key_string())?;
        file.sync_all()
    });
    written.map_err(|e| {
        input(format!(
            "cannot create {} (it must not exist yet): {e}",
            out.display()
        ))
    })?;
    let vkey = key.verifier().to_string();
    let mut report =
        Report::new(json!({"name": name, "vkey": vkey, "out": out.display().to_string()}));
    report.line(vkey);
    Ok(report)
}
