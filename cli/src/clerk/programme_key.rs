//! `daylight programme-key new|show`: a programme's secret HMAC key for household pseudonyms
//! (docs/records.md, "Households and privacy").
//!
//! The key file is one line of text, readable only by its owner (mode 0600):
//!
//! ```text
//! daylight-programme-key/v1 <programme id> <64 hex digits: the 32 secret bytes>
//! ```
//!
//! The programme id is the `program` of every record the key makes pseudonyms for, so one
//! key cannot be used by mistake for another programme. The fingerprint names a key without
//! revealing it: the first 16 bytes, in hex, of SHA-256 of `daylight/programme-key/v1`, a
//! newline, and the 32 key bytes.

use std::path::Path;

use daylight_verifier::record::{Ident, ProgrammeKey};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::clerk::files::create_private;
use crate::error::{CliError, input, read_text};
use crate::output::Report;

/// The first word of a programme key file.
pub const FORMAT: &str = "daylight-programme-key/v1";

/// A programme key read from its file.
pub struct LoadedKey {
    /// The programme the key belongs to.
    pub program: String,
    /// The secret key.
    pub key: ProgrammeKey,
    /// The key's fingerprint (32 hex digits).
    pub fingerprint: String,
    /// Why the file's permissions are unsafe, if they are.
    pub warning: Option<String>,
}

/// The fingerprint of the key bytes: 32 hex digits that name the key without revealing it.
pub fn fingerprint(bytes: &[u8; 32]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(FORMAT.as_bytes());
    hasher.update(b"\n");
    hasher.update(bytes);
    let digest = hasher.finalize();
    hex::encode(&digest[..16])
}

/// Runs `daylight programme-key new`: a fresh random key for `program`, written to `out`
/// (mode 0600, never over an existing file).
pub fn new(program: &str, out: &Path) -> Result<Report, CliError> {
    Ident::parse(program).map_err(|e| input(format!("--program {program:?}: {e}")))?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        input(format!(
            "cannot read randomness from the operating system ({e}); try again"
        ))
    })?;
    let text = format!("{FORMAT} {program} {}\n", hex::encode(bytes));
    create_private(out, text.as_bytes())?;
    let fingerprint = fingerprint(&bytes);
    let mut report = Report::new(json!({
        "program": program, "fingerprint": fingerprint, "out": out.display().to_string(),
    }));
    report.line(format!(
        "Wrote a new programme key for {program} to {} (readable only by you).",
        out.display()
    ));
    report.line(format!("Fingerprint: {fingerprint}"));
    report.line(
        "Keep it secret and keep a copy in a safe place: whoever holds it can test ID numbers \
         against the programme's pseudonyms, and without it no new record can name the same \
         households.",
    );
    Ok(report)
}

/// Reads a programme key file.
pub fn load(path: &Path) -> Result<LoadedKey, CliError> {
    let text = read_text(path)?;
    let bad = |what: &str| {
        input(format!(
            "{} is not a programme key file ({what}); it should be one line \
             `{FORMAT} PROGRAMME HEX`, as `daylight programme-key new` writes it",
            path.display()
        ))
    };
    let mut words = text.split_ascii_whitespace();
    if words.next() != Some(FORMAT) {
        return Err(bad("it does not start with the format name"));
    }
    let program = words.next().ok_or_else(|| bad("no programme id"))?;
    Ident::parse(program).map_err(|e| bad(&format!("programme id: {e}")))?;
    let hex_key = words.next().ok_or_else(|| bad("no key"))?;
    if words.next().is_some() {
        return Err(bad("more than three words"));
    }
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex_key, &mut bytes).map_err(|_| bad("the key must be 64 hex digits"))?;
    Ok(LoadedKey {
        program: program.to_string(),
        key: ProgrammeKey::from_bytes(bytes),
        fingerprint: fingerprint(&bytes),
        warning: permission_warning(path),
    })
}

#[cfg(unix)]
fn permission_warning(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "warning: {} can be read by other users of this machine (mode {:o}); run \
             `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )
    })
}

#[cfg(not(unix))]
fn permission_warning(_: &Path) -> Option<String> {
    None
}

/// Runs `daylight programme-key show`: the programme and the fingerprint, never the key.
pub fn show(path: &Path) -> Result<Report, CliError> {
    let loaded = load(path)?;
    let mut report = Report::new(json!({
        "program": loaded.program, "fingerprint": loaded.fingerprint,
        "file": path.display().to_string(), "warning": loaded.warning,
    }));
    report.line(format!("Programme: {}", loaded.program));
    report.line(format!("Fingerprint: {}", loaded.fingerprint));
    if let Some(warning) = loaded.warning {
        report.line(warning);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_reads_back_with_its_fingerprint() {
        let dir = std::env::temp_dir().join(format!("daylight-pk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("programme.key");
        let made = new("rural-2024", &path).unwrap();
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.program, "rural-2024");
        assert_eq!(made.json["fingerprint"], loaded.fingerprint.as_str());
        assert!(loaded.warning.is_none());
        assert!(new("rural-2024", &path).is_err(), "never overwritten");
        std::fs::write(dir.join("bad.key"), "daylight-programme-key/v1 p 12\n").unwrap();
        let error = load(&dir.join("bad.key")).err().unwrap().to_string();
        assert!(error.contains("64 hex digits"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
