//! Revoked operator and attestor keys (DESIGN §6b): a new submission signed by one is refused;
//! an entry logged before the key's `from_index` still verifies; and the audit flags every
//! entry at or after it (`revoked_key_used`) without treating it as an invalid entry.

mod common;

use common::{Net, attestor, date, key, member, of_rule, operator, summary};
use daylight_verifier::audit::{AuditParams, Ledger, Rule};
use daylight_verifier::record::{
    self, AcceptedKeys, Code, Record, Revocation, Severity, prepare_signatures,
};
use serde_json::json;

const COUNTY: &str = "county-320206";

fn village() -> Code {
    Code::parse("village_committee").unwrap()
}

fn allocation(rid: &str) -> Record {
    Record::from_value(json!({
        "v": 1, "rid": format!("{COUNTY}-{rid}"), "kind": "allocation",
        "event_date": "2024-03-05", "program": "r24",
        "payer": {"member": COUNTY}, "payee": {"org": {"name": "Coop"}},
        "amount": {"minor": "100000", "currency": "CNY"}, "purpose": "Relief funds"
    }))
    .unwrap()
}

fn current_operator() -> daylight_verifier::key::SigningKey {
    key(&format!("demo.daylight/{COUNTY}/operator/clerk2"))
}

/// The county's keys: clerk2 current, clerk revoked from index `from`, the village committee
/// attestor current.
fn keys(from: u64) -> AcceptedKeys {
    AcceptedKeys::new()
        .with_operator(current_operator().verifier())
        .with_attestor(attestor(COUNTY).verifier(), village())
        .with_revocation(Revocation {
            key: operator(COUNTY).verifier(),
            role: None,
            from_index: from,
            genesis_version: Some(2),
        })
}

#[test]
fn a_new_submission_signed_by_a_revoked_key_is_refused() {
    let signed = allocation("a1").sign(&operator(COUNTY));
    let e = prepare_signatures(&signed, &keys(5)).unwrap_err();
    assert_eq!(e.path, "signatures[0].signer");
    assert_eq!(
        e.message,
        "operator key demo.daylight/county-320206/operator/clerk was revoked from index 5 (genesis version 2); sign with a current operator key"
    );
    // Without a known version the message leaves it out.
    let plain = AcceptedKeys::new().with_revoked_operator(operator(COUNTY).verifier(), 5);
    let e = prepare_signatures(&signed, &plain).unwrap_err();
    assert!(
        e.message
            .ends_with("was revoked from index 5; sign with a current operator key")
    );
    // A current key still publishes.
    let fresh = allocation("a2").sign(&current_operator());
    assert!(record::verify_signatures(&fresh, &keys(5)).is_ok());
    // Through check_record too, as a node checks a submission.
    let json = serde_json::to_vec(&signed).unwrap();
    let e = record::check_record(&json, &member(COUNTY), &keys(5)).unwrap_err();
    assert!(e.message.contains("was revoked from index 5"), "{e}");
}

#[test]
fn an_entry_before_the_revocation_index_still_verifies() {
    let signed = allocation("a1").sign(&operator(COUNTY));
    let keys = keys(5);
    for index in 0..5 {
        let verified = record::verify_signatures(&signed, &keys.at_index(index)).unwrap();
        assert_eq!(verified.operators, [operator(COUNTY).verifier()]);
    }
    for index in [5, 6, 1_000] {
        let e = record::verify_signatures(&signed, &keys.at_index(index)).unwrap_err();
        assert!(e.message.contains("was revoked from index 5"), "{e}");
    }
    assert!(
        keys.at_index(4)
            .revocation(&operator(COUNTY).verifier())
            .is_none()
    );
    assert!(
        keys.at_index(5)
            .revocation(&operator(COUNTY).verifier())
            .is_some()
    );
}

#[test]
fn a_revoked_attestor_key_is_named_with_its_role() {
    let keys = AcceptedKeys::new()
        .with_operator(operator(COUNTY).verifier())
        .with_revoked_attestor(attestor(COUNTY).verifier(), village(), 3);
    let mut signed = allocation("a1").sign(&operator(COUNTY));
    signed.attest(&attestor(COUNTY));
    let e = prepare_signatures(&signed, &keys).unwrap_err();
    assert_eq!(e.path, "signatures[1].signer");
    assert!(
        e.message.starts_with("village_committee attestor key demo.daylight/county-320206/village_committee/a was revoked from index 3"),
        "{e}"
    );
    assert!(
        e.message
            .ends_with("attest with a current village_committee key"),
        "{e}"
    );
    let roles = record::verify_signatures(&signed, &keys.at_index(2))
        .unwrap()
        .roles();
    assert_eq!(roles.get(&village()), Some(&1));
}

/// A county log of `n` allocations, all signed by the operator key later revoked.
fn county_log(n: usize) -> Net {
    let mut net = Net::new();
    for i in 0..n {
        net.publish_with(
            COUNTY,
            &format!("a{i}"),
            "2024-03-05",
            "r24",
            json!({"kind": "allocation", "payer": {"member": COUNTY},
                   "payee": {"org": {"name": "Coop"}},
                   "amount": {"minor": "100000", "currency": "CNY"}, "purpose": "Relief funds"}),
            false,
        );
    }
    net
}

fn audit(
    net: &Net,
    keys: AcceptedKeys,
    verify: bool,
    extend: bool,
) -> daylight_verifier::AuditReport {
    let mut ledger = Ledger::new();
    ledger.verify_signatures(verify);
    let log = member(COUNTY);
    ledger.set_keys(&log, keys);
    let entries = &net.logs[&log];
    if extend {
        ledger.extend(&log, 0, entries).unwrap();
    } else {
        for (i, e) in entries.iter().enumerate() {
            ledger.append(&log, i as u64, e).unwrap();
        }
    }
    ledger.audit(&AuditParams::default(), date("2024-03-05"))
}

#[test]
fn the_audit_flags_entries_signed_after_the_revocation() {
    let net = county_log(8);
    for (verify, extend) in [(false, false), (false, true), (true, false)] {
        let report = audit(&net, keys(5), verify, extend);
        let rid = |i: usize| format!("{COUNTY}-a{i}");
        assert_eq!(
            summary(&report),
            (5..8)
                .map(|i| (Rule::RevokedKeyUsed, Severity::Red, rid(i)))
                .collect::<Vec<_>>(),
            "verify {verify}, extend {extend}"
        );
        let finding = &report.findings[0];
        assert_eq!(finding.member, member(COUNTY));
        assert_eq!(finding.program.as_ref().map(|p| p.as_str()), Some("r24"));
        assert!(
            finding.summary.contains("operator key demo.daylight/county-320206/operator/clerk, revoked from index 5 (genesis version 2)"),
            "{}",
            finding.summary
        );
        // The entries stay valid records of the log: no integrity finding, all counted.
        assert_eq!(report.logs[0].invalid, 0);
    }
}

#[test]
fn the_audit_finds_the_right_indexes_when_entries_are_checked_in_parallel() {
    // More than two chunks of 512, so `extend` checks on worker threads.
    let net = county_log(1_100);
    let report = audit(&net, keys(1_090), false, true);
    let flagged: Vec<String> = of_rule(&report, Rule::RevokedKeyUsed)
        .into_iter()
        .map(|(_, rid)| rid)
        .collect();
    assert_eq!(flagged.len(), 10);
    for i in 1_090..1_100 {
        assert!(flagged.contains(&format!("{COUNTY}-a{i}")), "a{i}");
    }
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.rule == Rule::RevokedKeyUsed)
    );
}

#[test]
fn a_revoked_attestation_does_not_count_as_a_sign_off() {
    let mut net = Net::new();
    net.household(
        COUNTY,
        "h1",
        "2024-01-25",
        "r24",
        "family-1",
        "enrolled",
        ("2024-01-01", "2024-01-20"),
    );
    let attested = AcceptedKeys::new()
        .with_operator(operator(COUNTY).verifier())
        .with_attestor(attestor(COUNTY).verifier(), village());
    assert!(summary(&audit(&net, attested, false, false)).is_empty());
    let revoked = AcceptedKeys::new()
        .with_operator(operator(COUNTY).verifier())
        .with_revoked_attestor(attestor(COUNTY).verifier(), village(), 0);
    let rid = format!("{COUNTY}-h1");
    assert_eq!(
        summary(&audit(&net, revoked, true, false)),
        vec![
            (Rule::MissingSignoff, Severity::Red, rid.clone()),
            (Rule::RevokedKeyUsed, Severity::Red, rid),
        ]
    );
}
