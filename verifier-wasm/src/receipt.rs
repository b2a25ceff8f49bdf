//! A household receipt verified entirely offline against a genesis chain (DESIGN §3.7, §4.3):
//! the checkpoint's signature and witness quorum, the entry's canonical form and signatures,
//! the entry's inclusion by the bundle's proof, and that the opening matches the payment's
//! commitment. The receipt is the household receipt JSON, a plain tlog-proof bundle, or the
//! compact receipt code of its QR code.

use daylight_verifier::bundle::{BUNDLE_HEADER, ProofBundle};
use daylight_verifier::merkle::verify_inclusion;
use daylight_verifier::receipt_code;
use daylight_verifier::record::Opening;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::check::{Check, all_ok};
use crate::{checkpoint, entry, genesis};

/// The `format` of a household receipt.
pub const HOUSEHOLD_FORMAT: &str = "daylight-household-receipt/v1";

/// A household receipt (the CLI's `daylight receipt fetch` output with an opening).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HouseholdReceipt {
    format: String,
    bundle: String,
    opening: Opening,
}

/// A receipt taken apart: the bundle text and, for a household receipt, the opening.
pub struct Parts {
    /// The tlog-proof bundle text (LF line endings).
    pub bundle: String,
    /// The commitment opening a household receipt carries.
    pub opening: Option<Opening>,
}

/// Reads a receipt given as household receipt JSON, a tlog-proof bundle, a receipt code or a
/// receipt link. The error says what the input was not.
pub fn parse(input: &str) -> Result<Parts, String> {
    let text = input.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err("the receipt is empty".into());
    }
    let (json, from_code) = if text.starts_with('{') {
        (text.to_string(), false)
    } else if text.starts_with(BUNDLE_HEADER) {
        return Ok(Parts {
            bundle: input.trim_start_matches('\u{feff}').replace("\r\n", "\n"),
            opening: None,
        });
    } else {
        (receipt_code::decode(text).map_err(|e| e.to_string())?, true)
    };
    let receipt: HouseholdReceipt = serde_json::from_str(&json).map_err(|e| {
        format!(
            "the {} is not a whole household receipt ({HOUSEHOLD_FORMAT}): {e}",
            if from_code {
                "receipt code"
            } else {
                "receipt JSON"
            }
        )
    })?;
    if receipt.format != HOUSEHOLD_FORMAT {
        return Err(format!(
            "household receipt format {:?} is not {HOUSEHOLD_FORMAT:?}",
            receipt.format
        ));
    }
    Ok(Parts {
        bundle: receipt.bundle.replace("\r\n", "\n"),
        opening: Some(receipt.opening),
    })
}

fn unusable(detail: String) -> Value {
    let check = Check::fail("inclusion", "bad_receipt", detail.clone());
    json!({"ok": false, "checks": [check], "error": {"code": "bad_receipt", "detail": detail}})
}

/// Verifies a receipt against a genesis chain (JSON, or a single genesis note), offline.
/// With `pinned`, the chain must extend that pinned version; without, it is verified from
/// version 1. Returns `{ok, checks, record, entryText, opening, checkpoint, log, index,
/// leaf, genesis}`; a receipt that cannot even be read gives one failed check with code
/// `bad_receipt` and an `error`.
pub fn verify(input: &str, chain: &[u8], pinned: Option<&str>) -> Value {
    let parts = match parse(input) {
        Ok(parts) => parts,
        Err(e) => return unusable(e),
    };
    let bundle = match ProofBundle::parse(parts.bundle.as_bytes()) {
        Ok(bundle) => bundle,
        Err(e) => return unusable(format!("the receipt's proof bundle is damaged: {e}")),
    };
    let Some(entry_bytes) = bundle.extra.clone() else {
        return unusable("the receipt carries no entry (no `extra` line) to verify".into());
    };
    let opening = parts.opening.as_ref().map(|o| json!(o));
    let chain = match genesis::open_chain(chain, pinned) {
        Ok(chain) => chain,
        Err(check) => return json!({"ok": false, "checks": [check], "opening": opening}),
    };
    let latest = chain.latest();
    let mut checks = vec![Check::pass(
        "genesis",
        format!(
            "verified against genesis {} (network {}, version {})",
            latest.id(),
            latest.network(),
            latest.sequence()
        ),
    )];
    let signed = checkpoint::verify(&chain, "", bundle.checkpoint.as_bytes());
    checks.extend(signed.checks.iter().cloned());
    let log = signed.checkpoint.as_ref().and_then(|c| {
        latest
            .definition()
            .member_by_origin(&c.origin)
            .map(|m| m.id.clone())
    });
    let checked = entry::verify(
        &chain,
        log.as_deref().unwrap_or(""),
        bundle.index,
        &entry_bytes,
    );
    checks.extend(checked.checks.iter().cloned());
    checks.push(match &signed.checkpoint {
        Some(c) => {
            match verify_inclusion(bundle.index, c.size, &checked.leaf, &bundle.proof, &c.root) {
                Ok(()) => Check::pass(
                    "inclusion",
                    format!(
                        "leaf {} is at index {} of the tree of size {} (proof of {} hashes)",
                        checked.leaf,
                        bundle.index,
                        c.size,
                        bundle.proof.len()
                    ),
                ),
                Err(e) => Check::fail(
                    "inclusion",
                    "proof_mismatch",
                    format!("the entry and the proof do not lead to the checkpoint's root: {e}"),
                ),
            }
        }
        None => Check::fail(
            "inclusion",
            "bad_receipt",
            "the receipt's checkpoint cannot be read, so there is no root to prove against",
        ),
    });
    if let Some(o) = &parts.opening {
        checks.push(match &checked.record {
            Some(record) => match o.verify(record) {
                Ok(()) => Check::pass(
                    "opening",
                    format!(
                        "payment {} of {} to household {} is the one this opening commits to",
                        o.rid, o.amount, o.pseudonym
                    ),
                ),
                Err(e) => Check::fail(
                    "opening",
                    "opening_mismatch",
                    format!("the opening does not match the payment: {e}"),
                ),
            },
            None => Check::fail(
                "opening",
                "not_checked",
                "not checked: the entry is not a canonical record",
            ),
        });
    }
    json!({
        "ok": all_ok(&checks), "checks": checks, "record": checked.json,
        "entryText": checked.text, "opening": opening,
        "checkpoint": signed.checkpoint.as_ref().map(checkpoint::describe),
        "cosigners": signed.cosigners, "log": log, "index": bundle.index,
        "leaf": checked.leaf.to_hex(),
        "genesis": {"id": latest.id(), "networkId": chain.network_id(), "sequence": latest.sequence()},
    })
}
