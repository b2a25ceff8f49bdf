//! `daylight genesis show`: everything a genesis version says, in plain words — network,
//! version and the version before it, signing status, quorum, founders and how many must sign
//! the next version, each member with its keys, witnesses and history (retirement, earlier
//! keys, revoked keys), and the audit parameters. Reads a draft, a signed version, or a JSON
//! chain (whose latest version it shows).

use std::path::Path;

use daylight_genesis::{Definition, GenesisChain, GenesisError, Member, SignedGenesis};
use serde_json::{Value, json};

use crate::error::{CliError, input, read_file};
use crate::genesis_changes::{threshold_words, unix_time};
use crate::genesis_cmd::read_draft;
use crate::output::Report;

/// Runs `genesis show`.
pub fn show(file: &Path) -> Result<Report, CliError> {
    let bytes = read_file(file)?;
    let (definition, id, status) = if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
    {
        let chain = GenesisChain::from_json(&bytes)
            .map_err(|e| input(format!("{}: {e}", file.display())))?;
        let latest = chain.latest();
        let status = format!(
            "verified: the latest of a chain of {} version(s), network id {}",
            chain.versions().len(),
            chain.network_id()
        );
        (
            latest.definition().clone(),
            Some(latest.id().to_string()),
            status,
        )
    } else {
        match SignedGenesis::parse(&bytes) {
            Ok(signed) => {
                let status = match signed.definition().sequence() {
                    1 => match signed.clone().verify() {
                        Ok(_) => "verified: every founder signed".to_string(),
                        Err(e) => format!("NOT verified: {e}"),
                    },
                    n => format!(
                        "{} signature line(s); a later version is checked against version {}: \
                         `daylight genesis verify {} --previous FILE`",
                        signed.note().signatures.len(),
                        n - 1,
                        file.display()
                    ),
                };
                (
                    signed.definition().clone(),
                    Some(signed.id().to_string()),
                    status,
                )
            }
            Err(GenesisError::NotANote(_)) => {
                let draft = read_draft(file)?;
                let definition = draft
                    .build()
                    .map_err(|e| input(format!("draft {}: {e}", file.display())))?;
                (definition, None, "unsigned draft".to_string())
            }
            Err(e) => return Err(input(format!("{}: {e}", file.display()))),
        }
    };
    Ok(describe(&definition, id, status))
}

fn describe(definition: &Definition, id: Option<String>, status: String) -> Report {
    let mut report = Report::new(Value::Null);
    report.line(format!("Network {}", definition.network()));
    match definition.previous() {
        None => report.line(format!("Version {} (the first)", definition.sequence())),
        Some(previous) => report.line(format!(
            "Version {}, following version {} with id {previous}",
            definition.sequence(),
            definition.sequence() - 1
        )),
    }
    match &id {
        Some(id) => report.line(format!("Genesis id {id} ({status})")),
        None => report.line(format!("No id yet ({status})")),
    }
    report.line(format!(
        "Witness quorum: {} valid cosignature(s) per checkpoint",
        definition.quorum()
    ));
    let founders: Vec<String> = definition.founders().iter().map(|m| m.id.clone()).collect();
    report.line(format!("Founders: {}", founders.join(", ")));
    report.line(format!(
        "Founders needed to sign the next version: {}",
        threshold_words(definition)
    ));
    let mut members = Vec::new();
    for m in definition.members() {
        members.push(describe_member(definition, m, &mut report));
    }
    let a = definition.audit();
    let audit = json!({
        "transfer_receipt_days": a.transfer_receipt_days, "idle_days": a.idle_days,
        "duplicate_window_days": a.duplicate_window_days, "split_window_days": a.split_window_days,
        "split_margin_percent": a.split_margin_percent, "min_notice_days": a.min_notice_days,
        "max_backdate_days": a.max_backdate_days, "max_future_days": a.max_future_days,
        "approval_threshold": a.approval_threshold, "entitlement_cap": a.entitlement_cap,
    });
    report.line(format!(
        "Audit: transfer receipt {} d, idle {} d, duplicate window {} d, split window {} d / {}%, notice {} d, backdate {} d, future {} d, approval threshold {:?}, entitlement cap {:?}",
        a.transfer_receipt_days, a.idle_days, a.duplicate_window_days, a.split_window_days,
        a.split_margin_percent, a.min_notice_days, a.max_backdate_days, a.max_future_days,
        a.approval_threshold, a.entitlement_cap
    ));
    report.json = json!({
        "network": definition.network(), "id": id, "status": status,
        "sequence": definition.sequence(), "previous": definition.previous(),
        "founder_threshold": definition.founder_threshold(),
        "quorum": definition.quorum(), "founders": founders, "members": members, "audit": audit,
    });
    report
}

/// Adds a member's lines to the report; returns its JSON.
fn describe_member(definition: &Definition, m: &Member, report: &mut Report) -> Value {
    let witnesses: Vec<String> = definition
        .witnesses_of(&m.id)
        .unwrap_or_default()
        .iter()
        .map(|w| w.id.clone())
        .collect();
    report.line(format!("Member {} ({}): {}", m.id, m.role, m.name));
    if let Some(r) = &m.retired {
        report.line(format!(
            "  RETIRED: its log ends at its checkpoint of size {} (root {})",
            r.size,
            r.root.to_base64()
        ));
    }
    report.line(format!(
        "  division {}{}",
        m.division,
        m.parent
            .as_ref()
            .map(|p| format!(", parent {p}"))
            .unwrap_or_default()
    ));
    report.line(format!("  log key      {}", m.log_key));
    for p in &m.previous_log_keys {
        report.line(format!(
            "  earlier log key {} signed checkpoints up to size {} (root {})",
            p.key,
            p.last_size,
            p.last_root.to_base64()
        ));
    }
    report.line(format!("  witness key  {}", m.witness_key));
    for p in &m.previous_witness_keys {
        report.line(format!(
            "  earlier witness key {} counts on cosignatures made before {}",
            p.key,
            unix_time(p.until)
        ));
    }
    report.line(format!("  peer id      {}", m.peer_id));
    for a in &m.addresses {
        report.line(format!("  address      {a}"));
    }
    if let Some(h) = &m.http {
        report.line(format!("  http         {h}"));
    }
    for k in &m.operators {
        report.line(format!("  operator     {k}"));
    }
    for a in &m.attestors {
        report.line(format!("  attestor     {} {}", a.role, a.key));
    }
    for r in &m.revoked {
        report.line(format!(
            "  revoked      {} (counts only on entries before index {})",
            r.key, r.from_index
        ));
    }
    report.line(format!(
        "  witnessed by {}",
        if witnesses.is_empty() {
            "nobody".to_string()
        } else {
            witnesses.join(", ")
        }
    ));
    json!({
        "id": m.id, "role": m.role.as_str(), "name": m.name, "division": m.division,
        "parent": m.parent, "log_key": m.log_key.to_string(), "witness_key": m.witness_key.to_string(),
        "peer_id": m.peer_id, "addresses": m.addresses, "http": m.http,
        "operators": m.operators.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        "attestors": m.attestors.iter().map(|a| json!({"role": a.role, "key": a.key.to_string()})).collect::<Vec<_>>(),
        "witnesses": witnesses,
        "retired": m.retired.map(|r| json!({"size": r.size, "root": r.root.to_base64()})),
        "previous_log_keys": m.previous_log_keys.iter().map(|p| json!({
            "key": p.key.to_string(), "last_size": p.last_size, "last_root": p.last_root.to_base64(),
        })).collect::<Vec<_>>(),
        "previous_witness_keys": m.previous_witness_keys.iter().map(|p| json!({
            "key": p.key.to_string(), "until": p.until,
        })).collect::<Vec<_>>(),
        "revoked": m.revoked.iter().map(|r| json!({
            "key": r.key.to_string(), "from_index": r.from_index,
        })).collect::<Vec<_>>(),
    })
}
