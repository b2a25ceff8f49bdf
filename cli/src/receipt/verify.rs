//! `daylight receipt verify`: a receipt against the genesis alone.

use std::path::Path;

use daylight_genesis::Genesis;
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::policy::PolicyError;
use daylight_verifier::record::Opening;
use serde_json::json;

use crate::check::{check_entry, check_inclusion, describe_record, record_json};
use crate::error::{CliError, input, read_file};
use crate::output::Report;

use super::{ParsedBundle, parse_bundle, read_opening, read_receipt};

/// Runs `daylight receipt verify`, offline. A file that is not a whole receipt is bad input
/// (exit 2); a whole receipt that does not verify is a failed report (exit 1).
pub fn verify(
    genesis: &Genesis,
    receipt: &Path,
    opening_file: Option<&Path>,
) -> Result<Report, CliError> {
    let file = read_receipt(&read_file(receipt)?).map_err(|u| u.error(receipt))?;
    let parsed = parse_bundle(&file.bundle).map_err(|u| u.error(receipt))?;
    let opening = match opening_file {
        Some(path) => Some(read_opening(path)?),
        None => file.opening,
    };
    let mut report = verify_parsed(genesis, parsed, opening.as_ref())?;
    report.json["line_endings_converted"] = json!(file.crlf);
    report.json["byte_order_mark_removed"] = json!(file.bom);
    if file.crlf {
        report.lines.insert(
            1,
            "Note: this receipt file had Windows (CRLF) line endings, as some mail clients and \
             editors write them. The tlog-proof format uses LF only, so they were turned back \
             into LF before checking; the signatures below show whether anything else changed."
                .to_string(),
        );
    }
    if file.bom {
        report.lines.insert(
            1,
            "Note: this receipt file started with a byte order mark (U+FEFF), as some editors \
             add; it is not part of the receipt and was dropped before checking."
                .to_string(),
        );
    }
    Ok(report)
}

/// Verifies a well-formed bundle (and an opening) against a genesis: the checks of
/// `receipt verify`.
pub fn verify_parsed(
    genesis: &Genesis,
    parsed: ParsedBundle,
    opening: Option<&Opening>,
) -> Result<Report, CliError> {
    let ParsedBundle {
        bundle,
        entry,
        checkpoint,
    } = parsed;
    let mut report = Report::new(json!({"genesis": genesis.id(), "household": opening.is_some()}));
    report.line(format!(
        "Verifying a receipt offline against genesis {} ({}).",
        genesis.id(),
        genesis.network()
    ));
    let Some(member) = genesis.definition().member_by_origin(&checkpoint.origin) else {
        report.fail(
            "checkpoint",
            format!(
                "the checkpoint is for log {:?}, which the genesis does not list",
                checkpoint.origin
            ),
        );
        return Ok(report);
    };
    let member = member.id.clone();
    let policy = genesis
        .policy_for(&member)
        .map_err(|e| input(format!("genesis policy for {member}: {e}")))?;
    let leaf = leaf_hash(&entry);
    report.json["log"] = json!(member);
    report.json["origin"] = json!(checkpoint.origin);
    report.json["index"] = json!(bundle.index);
    report.json["leaf"] = json!(leaf.to_hex());
    report.json["checkpoint"] = json!({"size": checkpoint.size, "root": checkpoint.root.to_hex()});

    // 1. The log signed the checkpoint; 2. a quorum of its witnesses cosigned it.
    match policy.open(bundle.checkpoint.as_bytes()) {
        Ok(signed) => {
            report.pass(
                "log signature",
                format!(
                    "checkpoint of {} (size {}) is signed by the log key in the genesis",
                    checkpoint.origin, checkpoint.size
                ),
            );
            match policy.verify_cosignatures(signed) {
                Ok(t) => {
                    let names: Vec<&str> = t.cosigners.iter().map(|c| c.name.as_str()).collect();
                    report.pass(
                        "cosignatures",
                        format!(
                            "{} of {} required valid: {}",
                            names.len(),
                            policy.quorum(),
                            names.join(", ")
                        ),
                    );
                }
                Err(PolicyError::QuorumNotMet(s)) => report.fail(
                    "cosignatures",
                    format!(
                        "{} of {} required valid (cosigned by: {}; missing: {}{}); a receipt \
                         fetched before its witnesses cosigned, or cut short after a signature \
                         line, lacks cosignatures: fetch it again",
                        s.cosigned_by.len(),
                        s.required,
                        join(&s.cosigned_by),
                        join(&s.missing),
                        if s.invalid.is_empty() {
                            String::new()
                        } else {
                            format!("; invalid: {}", join(&s.invalid))
                        }
                    ),
                ),
                Err(e) => report.fail("cosignatures", e.to_string()),
            }
        }
        Err(e) => report.fail(
            "log signature",
            format!(
                "checkpoint is not validly signed by the log key of {}: {e}",
                checkpoint.origin
            ),
        ),
    }
    // 3. The entry is the canonical record its signers signed.
    let record = match check_entry(genesis, &member, bundle.index, &entry) {
        Ok((record, who)) => {
            report.pass(
                "entry",
                format!("canonical record, leaf {leaf}, signed by {who}"),
            );
            Some(record)
        }
        Err(reason) => {
            report.fail(
                "entry",
                format!("the entry was altered or is not a record of {member}: {reason}"),
            );
            None
        }
    };
    // 4. The entry's leaf is at `index` in the checkpoint's tree.
    match check_inclusion(bundle.index, &leaf, &bundle.proof, &checkpoint) {
        Ok(()) => report.pass(
            "inclusion",
            format!(
                "the entry's leaf is at index {} of the tree of size {}",
                bundle.index, checkpoint.size
            ),
        ),
        Err(reason) => report.fail(
            "inclusion",
            format!("{reason} (the entry or the proof was altered)"),
        ),
    }
    // 5. For a household: its opening matches the payment's commitment.
    if let Some(opening) = opening {
        match &record {
            Some(r) => match opening.verify(r) {
                Ok(()) => report.pass(
                    "opening",
                    format!(
                        "the payment {} of {} to household {} is the one this opening commits to",
                        opening.rid, opening.amount, opening.pseudonym
                    ),
                ),
                Err(e) => report.fail(
                    "opening",
                    format!("the opening does not match the payment: {e}"),
                ),
            },
            None => report.fail("opening", "not checked: the entry did not verify"),
        }
    }
    if let Some(r) = &record {
        report.line(format!(
            "Entry {} of log {member}: {}",
            bundle.index,
            describe_record(r)
        ));
        report.json["record"] = record_json(r);
    }
    Ok(report)
}

fn join(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
