//! The values the genesis edits take, parsed with messages that say what to write: a
//! checkpoint (size and root, or a checkpoint note), a root hash, a time, and audit
//! parameters by name (`--audit idle_days=60`).

use std::path::Path;

use daylight_genesis::{AuditParams, AuditParamsExt as _};
use daylight_verifier::checkpoint::SignedCheckpoint;
use daylight_verifier::{Hash, VerifierKey};

use crate::error::{CliError, input, read_file};

/// A checkpoint named by size and root, or read from a checkpoint note signed by `key` for
/// the log of member `id`.
pub fn point(
    network: &str,
    id: &str,
    key: &VerifierKey,
    size: Option<u64>,
    root: Option<&str>,
    file: Option<&Path>,
    flags: &str,
) -> Result<(u64, Hash), CliError> {
    if let Some(file) = file {
        let signed = SignedCheckpoint::open(&read_file(file)?, key).map_err(|e| {
            input(format!(
                "{}: not a checkpoint of {network}/{id} signed by its log key {key}: {e}",
                file.display()
            ))
        })?;
        return Ok((signed.checkpoint.size, signed.checkpoint.root));
    }
    match (size, root) {
        (Some(size), Some(root)) => Ok((size, parse_root(root)?)),
        _ => Err(input(format!("give the checkpoint with {flags}"))),
    }
}

/// A root hash in base64 (as checkpoints write it) or 64 hex digits.
fn parse_root(text: &str) -> Result<Hash, CliError> {
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Hash::from_hex(&text.to_ascii_lowercase())
            .map_err(|e| input(format!("root {text}: {e}")));
    }
    Hash::from_base64(text).map_err(|e| {
        input(format!(
            "root {text:?} is not a root hash (base64 of 32 bytes, as the checkpoint's third \
             line, or 64 hex digits): {e}"
        ))
    })
}

/// `--until`: Unix seconds, or `now` (also the default).
pub fn parse_until(text: Option<&str>) -> Result<u64, CliError> {
    match text {
        None | Some("now") => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())),
        Some(text) => text.parse().map_err(|_| {
            input(format!(
                "--until {text:?}: give Unix seconds (e.g. 1767225600) or `now`"
            ))
        }),
    }
}

/// The audit parameters `--audit` can set, for messages.
const AUDIT_NAMES: &str = "transfer_receipt_days, idle_days, duplicate_window_days, \
     split_window_days, split_margin_percent, min_notice_days, max_backdate_days, \
     max_future_days, approval_threshold.<CUR>, entitlement_cap.<CUR>";

/// Sets one audit parameter from `NAME=VALUE`; the value must be in range.
pub fn set_audit(params: &mut AuditParams, assignment: &str) -> Result<String, CliError> {
    let (name, value) = assignment.split_once('=').ok_or_else(|| {
        input(format!(
            "--audit {assignment:?}: write it NAME=VALUE, e.g. idle_days=60"
        ))
    })?;
    let (name, value) = (name.trim(), value.trim());
    let said = if let Some((table, currency)) = name.split_once('.') {
        let map = match table {
            "approval_threshold" => &mut params.approval_threshold,
            "entitlement_cap" => &mut params.entitlement_cap,
            _ => return Err(unknown_audit(name)),
        };
        let before = map
            .get(currency)
            .map_or("unset".to_string(), |v| format!("{v} minor units"));
        if value == "none" {
            map.remove(currency);
            format!("audit parameter {name} removed (was {before})")
        } else {
            let amount: u64 = value.parse().map_err(|_| {
                input(format!(
                    "--audit {name}: {value:?} is not an amount in minor units (e.g. 5000000 \
                     for 50,000.00), or `none`"
                ))
            })?;
            map.insert(currency.to_string(), amount);
            format!("audit parameter {name} set to {amount} minor units (was {before})")
        }
    } else {
        let field = match name {
            "transfer_receipt_days" => &mut params.transfer_receipt_days,
            "idle_days" => &mut params.idle_days,
            "duplicate_window_days" => &mut params.duplicate_window_days,
            "split_window_days" => &mut params.split_window_days,
            "split_margin_percent" => &mut params.split_margin_percent,
            "min_notice_days" => &mut params.min_notice_days,
            "max_backdate_days" => &mut params.max_backdate_days,
            "max_future_days" => &mut params.max_future_days,
            _ => return Err(unknown_audit(name)),
        };
        let number: u32 = value
            .parse()
            .map_err(|_| input(format!("--audit {name}: {value:?} is not a whole number")))?;
        let before = std::mem::replace(field, number);
        format!("audit parameter {name} set to {number} (was {before})")
    };
    params
        .validate()
        .map_err(|e| input(format!("--audit {assignment}: {e}")))?;
    Ok(said)
}

fn unknown_audit(name: &str) -> CliError {
    input(format!(
        "--audit: no audit parameter {name:?}; the parameters are {AUDIT_NAMES}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_parameters_are_set_by_name_and_checked() {
        let mut params = AuditParams::default();
        let said = set_audit(&mut params, "idle_days=60").unwrap();
        assert_eq!(params.idle_days, 60);
        assert!(said.contains("idle_days set to 60 (was 90)"), "{said}");
        set_audit(&mut params, "approval_threshold.CNY=5000000").unwrap();
        assert_eq!(params.approval_threshold["CNY"], 5_000_000);
        set_audit(&mut params, "entitlement_cap.USD=100").unwrap();
        set_audit(&mut params, "entitlement_cap.USD=none").unwrap();
        assert!(!params.entitlement_cap.contains_key("USD"));
        for bad in [
            "idle_days",
            "idle=3",
            "idle_days=0",
            "idle_days=x",
            "approval_threshold.cny=5",
            "split_margin_percent=100",
        ] {
            let e = set_audit(&mut AuditParams::default(), bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn roots_are_base64_or_hex() {
        let h = Hash::digest(b"x");
        assert_eq!(parse_root(&h.to_base64()).unwrap(), h);
        assert_eq!(parse_root(&h.to_hex()).unwrap(), h);
        assert!(parse_root("nope").is_err());
        assert_eq!(parse_until(Some("12")).unwrap(), 12);
        assert!(parse_until(Some("soon")).is_err());
        assert!(parse_until(None).unwrap() > 1_700_000_000);
    }
}
