//! `daylight audit`: replays logs from any node or static copy, checks every entry tile
//! against a quorum-cosigned checkpoint, adds the evidence of equivocation a node holds (each
//! piece verified against the genesis; a static copy carries none, and the report says so),
//! runs the audit engine with the genesis parameters, and reports the lights and findings as
//! text, JSON or a self-contained HTML page.

use std::path::Path;

use daylight_verifier::Evidence;
use daylight_verifier::audit::{AuditReport, Ledger};
use daylight_verifier::record::{Date, MemberId};
use serde_json::{Value, json};

use crate::error::{CliError, input};
use crate::output::Report;
use crate::replay::replay;
use crate::source::Source;

/// How the audit report is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lights and findings as a terminal table.
    Text,
    /// The full report as JSON.
    Json,
    /// One self-contained HTML page.
    Html,
}

/// What to audit and how to report it.
pub struct AuditRequest<'a> {
    /// The genesis to audit against (the latest version the pin led to).
    pub genesis: &'a daylight_genesis::Genesis,
    /// The node or static copy to replay from.
    pub node: &'a str,
    /// The logs to replay; every member's when empty.
    pub members: &'a [String],
    /// The report's format.
    pub format: Format,
    /// Where to write the report instead of standard output.
    pub out: Option<&'a Path>,
    /// The date rules are judged at (default: today, UTC).
    pub as_of: Option<&'a str>,
    /// Only replay and check the logs against their checkpoints; run no rules.
    pub replay_only: bool,
}

/// Runs `daylight audit`.
pub fn run(request: AuditRequest<'_>) -> Result<Report, CliError> {
    let genesis = request.genesis;
    let client = Source::new(request.node)?;
    let as_of = match request.as_of {
        Some(text) => Date::parse(text).map_err(|e| input(format!("--as-of: {e}")))?,
        None => today(),
    };
    let members: Vec<String> = if request.members.is_empty() {
        genesis.members().iter().map(|m| m.id.clone()).collect()
    } else {
        request.members.to_vec()
    };
    let mut ledger = Ledger::new();
    let mut logs = Vec::new();
    let described = client.describe()?;
    let mut report = Report::new(json!({
        "node": client.base(), "source": client.kind()?, "genesis": genesis.id(),
    }));
    report.line(format!(
        "Auditing {} log(s) from {described} against genesis {} ({}).",
        members.len(),
        genesis.id(),
        genesis.network()
    ));
    report.line(format!("source: {described}"));
    let progress = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>16} [{bar:40}] {pos}/{len} entries ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for member in &members {
        let id = MemberId::parse(member)
            .map_err(|e| input(format!("{member:?} is not a member id: {e}")))?;
        let keys = genesis
            .accepted_keys(member)
            .map_err(|e| input(format!("{member}: {e}")))?;
        ledger.set_keys(&id, keys);
        progress.reset();
        let started = std::time::Instant::now();
        let replayed = replay(&client, genesis, member, &progress, |run| {
            if request.replay_only {
                return Ok(());
            }
            ledger
                .extend(&id, run.first, run.entries)
                .map_err(|e| crate::error::failed(format!("log {member}: {e}")))
        })?;
        let size = replayed.checkpoint.checkpoint.size;
        let seconds = started.elapsed().as_secs_f64();
        report.pass(
            &format!("log {member}"),
            format!(
                "{size} entries replayed in {seconds:.2} s; their tree has the root of the \
                 checkpoint cosigned by {} witness(es)",
                replayed.checkpoint.cosigners.len()
            ),
        );
        logs.push(json!({"member": member, "size": size, "seconds": seconds}));
    }
    progress.finish_and_clear();
    report.json["logs"] = Value::Array(logs);
    if request.replay_only {
        return Ok(report);
    }
    let evidence = add_evidence(&client, genesis, &mut ledger, &mut report)?;
    let audit = ledger.audit(genesis.audit(), as_of);
    report.json["evidence_available"] = json!(evidence.is_some());
    report.json["evidence"] = json!(evidence.unwrap_or_default());
    report.json["audit"] = serde_json::from_str(&audit.to_json()).unwrap_or(Value::Null);
    write_report(&audit, request.format, request.out, &mut report)?;
    Ok(report)
}

/// Adds each piece of evidence the node holds that verifies against the genesis; returns
/// their ids, or `None` for a static copy, which has no evidence list (the report says so).
fn add_evidence(
    client: &Source,
    genesis: &daylight_genesis::Genesis,
    ledger: &mut Ledger,
    report: &mut Report,
) -> Result<Option<Vec<String>>, CliError> {
    let Some(listed) = client.evidence()? else {
        report.line(
            "Evidence: a static copy carries no evidence list, so evidence of equivocation that \
             nodes hold is not part of this audit. To include it, audit against a node \
             (`daylight audit --node URL`), or check an evidence file with `daylight evidence \
             verify`.",
        );
        return Ok(None);
    };
    let mut ids = Vec::new();
    for item in &listed {
        let Ok(evidence) = Evidence::from_json(item.to_string().as_bytes()) else {
            report.line("ignored a piece of evidence that is not well formed");
            continue;
        };
        let Some(member) = genesis.definition().member_by_origin(&evidence.origin) else {
            continue;
        };
        let Ok(policy) = genesis.policy_for(&member.id) else {
            continue;
        };
        match evidence.verify_under(&policy) {
            Ok(summary) => {
                if let Ok(id) = MemberId::parse(&member.id) {
                    ledger.add_evidence(&id, &evidence);
                }
                report.pass("evidence", summary.to_string());
                ids.push(evidence.id().to_hex());
            }
            Err(e) => report.line(format!("ignored evidence that does not verify: {e}")),
        }
    }
    Ok(Some(ids))
}

/// Puts the report where it was asked for, in its format.
fn write_report(
    audit: &AuditReport,
    format: Format,
    out: Option<&Path>,
    report: &mut Report,
) -> Result<(), CliError> {
    let rendered = match format {
        Format::Text => audit.render_text(),
        Format::Json => audit.to_json(),
        Format::Html => audit.render_html(),
    };
    match out {
        Some(path) => {
            std::fs::write(path, rendered)
                .map_err(|e| input(format!("cannot write {}: {e}", path.display())))?;
            report.line(format!("Wrote the report to {}.", path.display()));
            if format != Format::Text {
                report.line(audit.render_text());
            }
        }
        None => report.line(rendered),
    }
    Ok(())
}

/// Today's date in UTC.
fn today() -> Date {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    Date::from_days_since_epoch(days).unwrap_or_else(|| Date::new(1970, 1, 1).expect("a date"))
}
