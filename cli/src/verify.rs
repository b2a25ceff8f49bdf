//! `daylight verify`: is this record in its log, unchanged, under a checkpoint the genesis
//! quorum of witnesses cosigned, on every node asked, and consistent with what this machine
//! saw before?

use std::path::Path;

use daylight_genesis::Genesis;
use daylight_verifier::merkle::verify_consistency;
use daylight_verifier::policy::TrustedCheckpoint;
use daylight_verifier::record::{Body, SignedRecord};
use serde_json::{Value, json};

use crate::check::{
    Fetched, Target, check_entry, check_inclusion, check_seen, checkpoint_json,
    describe_checkpoint, describe_record, record_json, trusted_checkpoint,
};
use crate::error::{CliError, input};
use crate::output::Report;
use crate::seen::{SeenStore, data_dir};
use crate::source::Source;

/// What one source (node or static copy) showed, once its part verified.
pub struct NodeView {
    /// The source.
    pub client: Source,
    /// The record it served.
    pub fetched: Fetched,
    /// Its log's checkpoint, trusted under the genesis policy.
    pub trusted: TrustedCheckpoint,
    /// The record, parsed and signature-checked.
    pub record: SignedRecord,
    /// The corrections and voids, parsed (those that verified).
    pub corrections: Vec<(u64, String, SignedRecord)>,
}

/// How long `verify --wait` pauses between attempts.
const WAIT_STEP: std::time::Duration = std::time::Duration::from_millis(250);

/// `verify --wait SECONDS`: runs `attempt` until it verifies (a report with every check
/// passed and every node answering) or `wait` has passed, and returns the last outcome; prints
/// nothing of the earlier attempts. A checkpoint not cosigned yet, a record a mirror does not
/// hold yet, a node not answering yet are all tried again; bad input (a malformed file, a bad
/// argument) is not, since waiting cannot change it. Without `wait`, one attempt.
pub fn waiting(
    wait: Option<std::time::Duration>,
    mut attempt: impl FnMut() -> Result<Report, CliError>,
) -> Result<Report, CliError> {
    let deadline = wait.map(|w| std::time::Instant::now() + w);
    loop {
        let outcome = attempt();
        let done = match &outcome {
            Ok(report) => report.ok(),
            Err(CliError::Input(_)) => true,
            Err(_) => false,
        };
        let now = std::time::Instant::now();
        match deadline {
            Some(deadline) if !done && now < deadline => {
                std::thread::sleep(WAIT_STEP.min(deadline - now));
            }
            _ => return outcome,
        }
    }
}

/// Runs `daylight verify`.
pub fn run(
    genesis: &Genesis,
    nodes: &[String],
    target: &str,
    data_dir_flag: Option<&Path>,
) -> Result<Report, CliError> {
    let target = Target::parse(target)?;
    if nodes.is_empty() {
        return Err(input("name at least one node with --node URL"));
    }
    let clients = nodes
        .iter()
        .map(|n| Source::new(n))
        .collect::<Result<Vec<_>, _>>()?;
    let store = SeenStore::new(&data_dir(data_dir_flag)?);
    let mut report = Report::new(json!({
        "target": match &target { Target::Rid(r) => r.clone(), Target::Leaf(l) => l.to_hex() },
        "genesis": genesis.id(),
        "network": genesis.network(),
    }));
    report.line(format!(
        "Verifying {} against genesis {} ({}, version {}).",
        target.describe(),
        genesis.id(),
        genesis.network(),
        genesis.sequence()
    ));
    let several = clients.len() > 1;
    let mut views = Vec::new();
    let mut node_json = Vec::new();
    let mut unreachable = 0;
    for client in &clients {
        let label = |what: &str| {
            if several {
                format!("{} {what}", client.base())
            } else {
                what.to_string()
            }
        };
        match verify_at(genesis, client, &target, &mut report, &label) {
            Ok(Some(view)) => {
                node_json.push(json!({
                    "url": client.base(), "ok": true,
                    "source": client.kind().unwrap_or("node"),
                    "notes": view.fetched.notes,
                    "index": view.fetched.version.index,
                    "leaf": view.fetched.version.leaf().to_hex(),
                    "checkpoint": checkpoint_json(&view.trusted),
                }));
                views.push(view);
            }
            Ok(None) => node_json.push(json!({"url": client.base(), "ok": false})),
            Err(e @ CliError::Unreachable { .. }) => {
                if !several {
                    return Err(e);
                }
                // Named in the report; exit 3 unless something else failed to verify.
                unreachable += 1;
                if let CliError::Unreachable { reason, .. } = &e {
                    report.node_unreachable(client.base(), reason.clone());
                }
                node_json.push(json!({"url": client.base(), "ok": false, "error": e.to_string()}));
            }
            Err(e) => return Err(e),
        }
    }
    if unreachable == clients.len() {
        return Err(CliError::Unreachable {
            url: nodes.join(", "),
            reason: "no node answered".into(),
        });
    }
    report.json["nodes"] = Value::Array(node_json);
    let Some(first) = views.first() else {
        return Ok(report);
    };

    // Every node must show the same version at the same place.
    if several {
        let same = views.iter().all(|v| {
            v.fetched.log == first.fetched.log
                && v.fetched.version.index == first.fetched.version.index
                && v.fetched.version.leaf() == first.fetched.version.leaf()
        });
        if same && views.len() == clients.len() {
            report.pass(
                "agreement",
                format!(
                    "all {} nodes serve the same entry at the same index",
                    views.len()
                ),
            );
        } else if !same {
            report.fail(
                "agreement",
                "the nodes serve different entries or indexes for this record",
            );
        }
        check_nodes_consistent(&mut report, &views)?;
    }

    // The largest checkpoint seen now must extend the one this machine saw before.
    let largest = views
        .iter()
        .max_by_key(|v| v.trusted.checkpoint.size)
        .unwrap_or(first);
    check_seen(
        &mut report,
        "seen before",
        &store,
        genesis,
        &first.fetched.log,
        &largest.client,
        &largest.trusted,
    )?;

    describe(&mut report, first);
    Ok(report)
}

/// Verifies what one source (node or static copy) serves about `target`; adds its checks to
/// the report. `Ok(None)` when a check failed in a way that stops the rest (no record,
/// untrusted checkpoint).
pub fn verify_at(
    genesis: &Genesis,
    client: &Source,
    target: &Target,
    report: &mut Report,
    label: &dyn Fn(&str) -> String,
) -> Result<Option<NodeView>, CliError> {
    report.line(format!("source: {}", client.describe()?));
    let fetched = match client.record(target, Some(genesis))? {
        Ok(fetched) => fetched,
        Err(reason) => {
            report.fail(&label("record"), reason);
            return Ok(None);
        }
    };
    for note in &fetched.notes {
        report.line(format!("  {note}"));
    }
    let member = fetched.log.clone();
    if genesis.member(&member).is_none() {
        report.fail(
            &label("log"),
            format!(
                "the node says the record is in log {member:?}, which the genesis does not list"
            ),
        );
        return Ok(None);
    }
    let trusted = match trusted_checkpoint(client, genesis, &member)? {
        Ok(t) => {
            report.pass(
                &label("checkpoint"),
                format!(
                    "log {} {}; meets the genesis quorum of {}",
                    t.checkpoint.origin,
                    describe_checkpoint(&t),
                    genesis.quorum()
                ),
            );
            t
        }
        Err(reason) => {
            report.fail(&label("checkpoint"), reason);
            return Ok(None);
        }
    };
    let record = check_version(
        genesis,
        client,
        &member,
        &fetched.version,
        &trusted,
        report,
        &label(""),
    )?;
    if let Target::Leaf(wanted) = target
        && *wanted != fetched.version.leaf()
    {
        report.fail(
            &label("entry"),
            format!(
                "the node served a different version: its entry hashes to {}, not the leaf {wanted} asked for",
                fetched.version.leaf()
            ),
        );
    }
    let mut corrections = Vec::new();
    for c in &fetched.corrections {
        let what = label(&format!("correction at index {} ", c.index));
        if let Some(r) = check_version(genesis, client, &member, c, &trusted, report, &what)? {
            corrections.push((c.index, c.leaf().to_hex(), r));
        }
    }
    Ok(record.map(|record| NodeView {
        client: client.clone(),
        fetched,
        trusted,
        record,
        corrections,
    }))
}

/// Checks one version: entry hashes to the node's leaf, is a canonical signed record, and
/// its inclusion proof leads to the trusted checkpoint's root.
fn check_version(
    genesis: &Genesis,
    client: &Source,
    member: &str,
    version: &crate::check::Version,
    trusted: &TrustedCheckpoint,
    report: &mut Report,
    prefix: &str,
) -> Result<Option<SignedRecord>, CliError> {
    let leaf = version.leaf();
    if leaf.to_hex() != version.claimed_leaf {
        report.fail(
            &format!("{prefix}entry"),
            format!(
                "entry does not hash to the leaf the source names: it hashes to {leaf}, the source says {}",
                version.claimed_leaf
            ),
        );
        return Ok(None);
    }
    let record = match check_entry(genesis, member, version.index, &version.entry) {
        Ok((record, who)) => {
            report.pass(
                &format!("{prefix}entry"),
                format!("canonical record, leaf {leaf}, signed by {who}"),
            );
            record
        }
        Err(reason) => {
            report.fail(&format!("{prefix}entry"), reason);
            return Ok(None);
        }
    };
    let size = trusted.checkpoint.size;
    if version.index >= size {
        report.fail(
            &format!("{prefix}inclusion"),
            format!(
                "the trusted checkpoint (size {size}) does not cover index {}",
                version.index
            ),
        );
        return Ok(None);
    }
    let proof = client.inclusion(member, version.index, size)?;
    match check_inclusion(version.index, &leaf, &proof, &trusted.checkpoint) {
        Ok(()) => report.pass(
            &format!("{prefix}inclusion"),
            format!(
                "index {} is in the tree of size {size}{}",
                version.index,
                client.proof_note()?
            ),
        ),
        Err(reason) => {
            report.fail(&format!("{prefix}inclusion"), reason);
            return Ok(None);
        }
    }
    Ok(Some(record))
}

/// Every node's checkpoint must be the largest one or a prefix of it.
fn check_nodes_consistent(report: &mut Report, views: &[NodeView]) -> Result<(), CliError> {
    let Some(largest) = views.iter().max_by_key(|v| v.trusted.checkpoint.size) else {
        return Ok(());
    };
    let big = &largest.trusted.checkpoint;
    for v in views {
        let c = &v.trusted.checkpoint;
        let result = if c.size == big.size {
            if c.root == big.root {
                Ok(())
            } else {
                Err(format!(
                    "{} and {} show two different trees of size {}: the log equivocated",
                    v.client.base(),
                    largest.client.base(),
                    c.size
                ))
            }
        } else {
            let proof = largest
                .client
                .consistency(&v.fetched.log, c.size, big.size)?;
            verify_consistency(c.size, big.size, &c.root, &big.root, &proof).map_err(|e| {
                format!(
                    "the checkpoint of {} (size {}) is not a prefix of the one of {} (size {}): {e}",
                    v.client.base(),
                    c.size,
                    largest.client.base(),
                    big.size
                )
            })
        };
        let label = format!("{} consistency", v.client.base());
        match result {
            Ok(()) => report.pass(
                &label,
                format!(
                    "its tree of size {} is a prefix of the largest seen (size {})",
                    c.size, big.size
                ),
            ),
            Err(reason) => report.fail(&label, reason),
        }
    }
    Ok(())
}

/// Adds the record's description, its corrections and its current version to the report.
fn describe(report: &mut Report, view: &NodeView) {
    let f = &view.fetched;
    report.line(format!(
        "Record {} in log {} at index {}, leaf {}:",
        f.rid,
        f.log,
        f.version.index,
        f.version.leaf()
    ));
    report.line(format!("  {}", describe_record(&view.record)));
    let mut current =
        json!({"index": f.version.index, "leaf": f.version.leaf().to_hex(), "status": "original"});
    let mut corrections = Vec::new();
    for (index, leaf, record) in &view.corrections {
        let (status, reason) = match &record.record.body {
            Body::Correction(c) => ("corrected", c.reason.as_str().to_string()),
            Body::Void(v) => ("voided", v.reason.as_str().to_string()),
            _ => ("amended", String::new()),
        };
        report.line(format!(
            "  {status} at index {index} by {} ({reason}): {}",
            record.record.rid,
            describe_record(record)
        ));
        corrections.push(json!({"index": index, "leaf": leaf, "status": status, "reason": reason, "record": record_json(record)}));
        current = json!({"index": index, "leaf": leaf, "status": status});
    }
    if view.corrections.is_empty() {
        report.line("  current version: this one (no corrections or voids)");
    } else {
        report.line(format!(
            "  current version: {} at index {}",
            current["status"].as_str().unwrap_or(""),
            current["index"]
        ));
    }
    report.json["log"] = json!(f.log);
    report.json["rid"] = json!(f.rid);
    report.json["index"] = json!(f.version.index);
    report.json["leaf"] = json!(f.version.leaf().to_hex());
    report.json["record"] = record_json(&view.record);
    report.json["corrections"] = Value::Array(corrections);
    report.json["current"] = current;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn failing() -> Report {
        let mut report = Report::new(json!({}));
        report.fail("checkpoint", "cosignatures: 1 of 2 required valid");
        report
    }

    #[test]
    fn waiting_tries_again_until_it_verifies() {
        let mut attempts = 0;
        let outcome = waiting(Some(Duration::from_secs(10)), || {
            attempts += 1;
            match attempts {
                1 => Err(CliError::Unreachable {
                    url: "http://n".into(),
                    reason: "connection refused".into(),
                }),
                2 => Ok(failing()),
                _ => Ok(Report::new(json!({}))),
            }
        });
        assert!(outcome.unwrap().ok());
        assert_eq!(attempts, 3);
    }

    #[test]
    fn waiting_gives_the_last_outcome_when_time_is_up() {
        let mut attempts = 0;
        let outcome = waiting(Some(Duration::from_millis(600)), || {
            attempts += 1;
            Ok(failing())
        });
        assert_eq!(outcome.unwrap().exit_code(), 1);
        assert!(attempts >= 2, "{attempts}");
        // Without --wait: one attempt.
        let mut once = 0;
        let _ = waiting(None, || {
            once += 1;
            Ok(failing())
        });
        assert_eq!(once, 1);
    }

    #[test]
    fn bad_input_is_not_tried_again() {
        let mut attempts = 0;
        let outcome = waiting(Some(Duration::from_secs(10)), || {
            attempts += 1;
            Err(input("genesis.note is not a genesis"))
        });
        assert_eq!(outcome.unwrap_err().exit_code(), 2);
        assert_eq!(attempts, 1);
    }
}
