//! `daylight evidence verify`: check, offline, that a log signed two incompatible views.

use std::path::Path;

use daylight_verifier::Evidence;
use serde_json::json;

use crate::error::{CliError, input, read_file};
use crate::output::Report;
use daylight_genesis::Genesis;

/// Runs `daylight evidence verify`: exit 0 when the evidence proves misbehaviour.
pub fn verify(genesis: &Genesis, evidence: &Path) -> Result<Report, CliError> {
    let evidence = Evidence::from_json(&read_file(evidence)?)
        .map_err(|e| input(format!("{}: {e}", evidence.display())))?;
    let mut report = Report::new(json!({
        "genesis": genesis.id(),
        "origin": evidence.origin,
        "kind": evidence.kind,
        "id": evidence.id().to_hex(),
    }));
    let Some(member) = genesis.definition().member_by_origin(&evidence.origin) else {
        report.fail(
            "log",
            format!(
                "the evidence is about log {:?}, which genesis {} does not list",
                evidence.origin,
                genesis.id()
            ),
        );
        return Ok(report);
    };
    report.json["member"] = json!(member.id);
    let policy = genesis
        .policy_for(&member.id)
        .map_err(|e| input(format!("genesis policy for {}: {e}", member.id)))?;
    match evidence.verify_under(&policy) {
        Ok(summary) => {
            report.pass(
                "evidence",
                format!(
                    "both checkpoints are signed by the log key of {} ({}) for their size and \
                     cannot both be true",
                    member.id, member.name
                ),
            );
            report.line(format!("MISBEHAVIOUR PROVEN: {summary}"));
            report.json["summary"] = json!(summary.to_string());
            report.json["signed"] = json!(
                summary
                    .signed
                    .iter()
                    .map(|(size, root)| json!({"size": size, "root": root.to_hex()}))
                    .collect::<Vec<_>>()
            );
        }
        Err(e) => report.fail("evidence", format!("proves nothing: {e}")),
    }
    Ok(report)
}
