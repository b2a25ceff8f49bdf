//! `daylight receipt fetch` and `daylight receipt verify`: a tlog-proof bundle that proves,
//! offline and against the genesis alone, that an entry is in its log; for a household, with
//! the opening of its payment's commitment.
//!
//! A receipt file is either the plain `.tlog-proof` bundle (C2SP tlog-proof, the entry bytes
//! in `extra`), or a household receipt: one JSON object
//! `{"format": "daylight-household-receipt/v1", "bundle": "<bundle text>", "opening": {...}}`
//! whose `opening` is the commitment opening (pseudonym, rid, amount, nonce).

use std::path::Path;

use daylight_genesis::Genesis;
use daylight_verifier::bundle::{BUNDLE_HEADER, ProofBundle};
use daylight_verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::note::Note;
use daylight_verifier::policy::PolicyError;
use daylight_verifier::record::Opening;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::check::{
    Target, check_entry, check_inclusion, describe_record, fetch_record, open_genesis, record_json,
};
use crate::client::Client;
use crate::error::{CliError, input, read_file};
use crate::output::Report;
use crate::seen::write_atomic;

/// The `format` of a household receipt.
pub const HOUSEHOLD_FORMAT: &str = "daylight-household-receipt/v1";

/// A household receipt: the bundle and the opening of its payment's commitment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdReceipt {
    /// Always [`HOUSEHOLD_FORMAT`].
    pub format: String,
    /// The tlog-proof bundle text.
    pub bundle: String,
    /// The opening.
    pub opening: Opening,
}

/// Which record to fetch a receipt for.
pub enum Which {
    /// By record id (looked up on the node).
    Rid(String),
    /// By log and index.
    Index {
        /// The member id of the log.
        log: String,
        /// The entry index.
        index: u64,
    },
}

fn read_opening(path: &Path) -> Result<Opening, CliError> {
    serde_json::from_slice(&read_file(path)?).map_err(|e| {
        input(format!(
            "{} is not a commitment opening (pseudonym, rid, amount, nonce): {e}",
            path.display()
        ))
    })
}

/// Runs `daylight receipt fetch`.
pub fn fetch(
    node: &str,
    which: Which,
    out: &Path,
    opening: Option<&Path>,
) -> Result<Report, CliError> {
    let client = Client::new(node)?;
    let (log, index) = match which {
        Which::Index { log, index } => (log, index),
        Which::Rid(rid) => {
            let target = Target::parse(&rid)?;
            let fetched = fetch_record(&client, &target)?.ok_or_else(|| {
                crate::error::failed(format!(
                    "{} does not have {}",
                    client.base(),
                    target.describe()
                ))
            })?;
            (fetched.log, fetched.version.index)
        }
    };
    let reply = client.get_ok(&format!("/log/{log}/receipt/{index}"))?;
    let bundle = ProofBundle::parse(&reply.body).map_err(|e| CliError::Refused {
        url: reply.url.clone(),
        status: reply.status,
        detail: format!("the node's receipt is malformed: {e}"),
    })?;
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    let bytes = match opening {
        None => reply.body.clone(),
        Some(path) => {
            let receipt = HouseholdReceipt {
                format: HOUSEHOLD_FORMAT.into(),
                bundle: text,
                opening: read_opening(path)?,
            };
            let mut json = serde_json::to_vec_pretty(&receipt)
                .map_err(|e| input(format!("cannot write the receipt: {e}")))?;
            json.push(b'\n');
            json
        }
    };
    write_atomic(out, &bytes).map_err(|e| input(format!("cannot write {}: {e}", out.display())))?;
    let mut report = Report::new(json!({
        "log": log, "index": index, "out": out.display().to_string(),
        "household": opening.is_some(),
    }));
    report.line(format!(
        "Wrote the receipt of entry {index} of log {log} ({} proof hashes{}) to {}.",
        bundle.proof.len(),
        if opening.is_some() {
            ", with the household's opening"
        } else {
            ""
        },
        out.display()
    ));
    report.line(format!(
        "Not verified yet: run `daylight receipt verify --genesis GENESIS {}` (offline).",
        out.display()
    ));
    Ok(report)
}

/// Splits a receipt file into its bundle text and, for a household receipt, its opening.
pub fn read_receipt(bytes: &[u8]) -> Result<(Vec<u8>, Option<Opening>), CliError> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    if bytes.get(start) == Some(&b'{') {
        let receipt: HouseholdReceipt = serde_json::from_slice(bytes)
            .map_err(|e| input(format!("not a household receipt: {e}")))?;
        if receipt.format != HOUSEHOLD_FORMAT {
            return Err(input(format!(
                "household receipt format {:?} is not {HOUSEHOLD_FORMAT:?}",
                receipt.format
            )));
        }
        return Ok((receipt.bundle.into_bytes(), Some(receipt.opening)));
    }
    if !bytes.starts_with(BUNDLE_HEADER.as_bytes()) {
        return Err(input(format!(
            "not a receipt: a receipt starts with {BUNDLE_HEADER:?} or is a household receipt JSON object"
        )));
    }
    Ok((bytes.to_vec(), None))
}

/// Runs `daylight receipt verify`, offline.
pub fn verify(
    genesis: &Path,
    receipt: &Path,
    opening_file: Option<&Path>,
) -> Result<Report, CliError> {
    let genesis = open_genesis(genesis)?;
    let (bundle_bytes, embedded) = read_receipt(&read_file(receipt)?)?;
    let opening = match opening_file {
        Some(path) => Some(read_opening(path)?),
        None => embedded,
    };
    verify_bytes(&genesis, &bundle_bytes, opening.as_ref())
}

/// Verifies a bundle (and an opening) against a genesis: the checks of `receipt verify`.
pub fn verify_bytes(
    genesis: &Genesis,
    bundle_bytes: &[u8],
    opening: Option<&Opening>,
) -> Result<Report, CliError> {
    let mut report = Report::new(json!({"genesis": genesis.id(), "household": opening.is_some()}));
    report.line(format!(
        "Verifying a receipt offline against genesis {} ({}).",
        genesis.id(),
        genesis.network()
    ));
    let bundle = match ProofBundle::parse(bundle_bytes) {
        Ok(b) => b,
        Err(e) => {
            report.fail("receipt", format!("the receipt is damaged: {e}"));
            return Ok(report);
        }
    };
    let Some(entry) = bundle.extra.clone() else {
        report.fail(
            "receipt",
            "the receipt carries no entry (no extra line): it cannot show what was logged",
        );
        return Ok(report);
    };
    // The checkpoint body, even before its signatures are checked, says which log it is.
    let checkpoint = match Note::parse(bundle.checkpoint.as_bytes())
        .map_err(|e| e.to_string())
        .and_then(|n| Checkpoint::parse(&n.text).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => {
            report.fail(
                "checkpoint",
                format!("the receipt's checkpoint is malformed: {e}"),
            );
            return Ok(report);
        }
    };
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
    match SignedCheckpoint::open(bundle.checkpoint.as_bytes(), policy.log_key()) {
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
                        "{} of {} required valid (cosigned by: {}; missing: {}{})",
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
    let record = match check_entry(genesis, &member, &entry) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_files_are_recognised() {
        assert_eq!(read_receipt(b"hello").unwrap_err().exit_code(), 2);
        assert_eq!(read_receipt(b"{\"x\":1}").unwrap_err().exit_code(), 2);
        let (bytes, opening) = read_receipt(b"c2sp.org/tlog-proof@v1\nindex 0\n\nx\n").unwrap();
        assert!(opening.is_none());
        assert!(bytes.starts_with(b"c2sp.org"));
    }
}
