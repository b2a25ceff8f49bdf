//! `daylight receipt fetch`.

use std::path::Path;

use daylight_genesis::Genesis;
use daylight_verifier::bundle::ProofBundle;
use daylight_verifier::record::Opening;
use serde_json::json;

use crate::check::Target;
use crate::error::{CliError, input};
use crate::output::Report;
use crate::seen::write_atomic;
use crate::source::Source;

use super::{HOUSEHOLD_FORMAT, HouseholdReceipt, Unusable, Which, parse_bundle, verify_parsed};

/// Runs `daylight receipt fetch`. From a node, the node's receipt; from a static copy, one
/// assembled here from the entry bundle, the hash tiles (each checked against the copy's
/// checkpoint root) and the checkpoint note, byte for byte the bundle a node would serve for
/// the same checkpoint. With `genesis`, the receipt is verified as `receipt verify` would
/// before it is written, and one that does not verify is not written (exit 1).
pub fn fetch(
    node: &str,
    which: Which,
    out: &Path,
    opening: Option<&Opening>,
    genesis: Option<&Genesis>,
) -> Result<Report, CliError> {
    let source = Source::new(node)?;
    let described = source.describe()?;
    let mut notes = Vec::new();
    let (log, index) = match which {
        Which::Index { log, index } => (log, index),
        Which::Rid(rid) => {
            let target = Target::parse(&rid)?;
            let fetched = source
                .record(&target, genesis)?
                .map_err(crate::error::failed)?;
            notes = fetched.notes;
            (fetched.log, fetched.version.index)
        }
    };
    let body = source.receipt(&log, index)?;
    let bundle = ProofBundle::parse(&body).map_err(|e| CliError::Refused {
        url: format!("{}/log/{log}/receipt/{index}", source.base()),
        status: 200,
        detail: format!("the receipt is malformed: {e}"),
    })?;
    let mut report = Report::new(json!({
        "log": log, "index": index, "out": out.display().to_string(),
        "household": opening.is_some(), "source": source.kind()?, "notes": notes,
    }));
    report.line(format!("source: {described}"));
    for note in &notes {
        report.line(format!("  {note}"));
    }
    if let Some(genesis) = genesis {
        let parsed = parse_bundle(&body).map_err(|u| {
            crate::error::failed(format!(
                "the receipt of entry {index} of log {log} from {described} is not a whole \
                 receipt: {}",
                match u {
                    Unusable::Damaged(what) => what,
                    Unusable::NoEntry => "it carries no entry".to_string(),
                    Unusable::Empty | Unusable::NotAReceipt =>
                        "it is not a tlog-proof bundle".to_string(),
                }
            ))
        })?;
        let verified = verify_parsed(genesis, parsed, opening)?;
        report.checks.extend(verified.checks.iter().cloned());
        report.lines.extend(verified.lines.iter().cloned());
        if let Some(failure) = verified.failure {
            report.failure = Some(failure);
            report.line(format!(
                "Did not write {}: the receipt does not verify against genesis {}.",
                out.display(),
                genesis.id()
            ));
            return Ok(report);
        }
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let bytes = match opening {
        None => body.clone(),
        Some(opening) => {
            let receipt = HouseholdReceipt {
                format: HOUSEHOLD_FORMAT.into(),
                bundle: text,
                opening: opening.clone(),
            };
            let mut json = serde_json::to_vec_pretty(&receipt)
                .map_err(|e| input(format!("cannot write the receipt: {e}")))?;
            json.push(b'\n');
            json
        }
    };
    write_atomic(out, &bytes).map_err(|e| input(format!("cannot write {}: {e}", out.display())))?;
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
    if genesis.is_none() {
        if source.is_static()? {
            report.line(
                "Assembled from the static copy: its entry and proof were checked against the \
                 copy's checkpoint root, but the checkpoint's signatures are not checked yet.",
            );
        }
        report.line(format!(
            "Not verified yet: run `daylight receipt verify --genesis GENESIS {}` (offline).",
            out.display()
        ));
    }
    Ok(report)
}
