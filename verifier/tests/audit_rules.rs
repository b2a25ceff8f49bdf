//! Each audit rule fires with the right severity on a minimal case, and stays silent on the
//! near miss next to it. Records are real signed records (see `common`).

mod common;

use common::*;
use daylight_verifier::audit::{AuditParams, Ledger, LogEntries, Rule};
use daylight_verifier::record::{Reference, Severity};
use serde_json::json;

use Severity::{Red, Yellow};

const CITY: &str = "city-1";
const COUNTY: &str = "county-1";
const P: &str = "relief24";

/// A city allocation of 1,000,000 fen to the county on 2024-01-05, received on 2024-01-10.
fn base() -> (Net, Reference, Reference) {
    base_amount(1_000_000)
}

fn base_amount(minor: u64) -> (Net, Reference, Reference) {
    let mut net = Net::new();
    let alloc = net.allocation(CITY, "a1", "2024-01-05", P, to_member(COUNTY), minor, &[]);
    let rcpt = net.receipt(COUNTY, "r1", "2024-01-10", P, &alloc, minor);
    (net, alloc, rcpt)
}

fn rid(log: &str, local: &str) -> String {
    format!("{log}-{local}")
}

#[test]
fn clean_network_has_no_findings_and_green_lights() {
    let (mut net, _, rcpt) = base();
    net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        org("Coop"),
        1_000_000,
        &[(&rcpt, 1_000_000)],
    );
    let report = net.audit("2024-12-31");
    assert_eq!(summary(&report), vec![]);
    for l in &report.lights {
        assert_eq!(l.light, daylight_verifier::audit::Light::Green);
    }
}

#[test]
fn log_integrity_invalid_entry() {
    let (mut net, _, _) = base();
    net.raw(COUNTY, b"{\"v\":1}");
    let report = net.audit("2024-03-01");
    assert_eq!(
        summary(&report),
        vec![(Rule::LogIntegrity, Red, rid(COUNTY, "r1"))]
    );
    let f = &report.findings[0];
    assert_eq!(f.evidence.len(), 1);
    assert!(f.publishable());
    // Near miss: the same network without the bad entry.
    let (net, _, _) = base();
    assert!(net.audit("2024-03-01").findings.is_empty());
}

#[test]
fn log_integrity_unknown_signer_when_keys_are_set() {
    let (mut net, _, _) = base();
    // Signed by another log's operator: not accepted for the county.
    let bytes = {
        let mut other = Net::new();
        other.publish(
            CITY,
            "x",
            "2024-01-11",
            P,
            household_fields("h", "enrolled", ("2024-01-01", "2024-01-10")),
        );
        other.logs.values().next().unwrap()[0].clone()
    };
    net.raw(COUNTY, &bytes);
    let report = net.audit("2024-03-01");
    assert_eq!(
        summary(&report),
        vec![(Rule::LogIntegrity, Red, rid(COUNTY, "r1"))]
    );
}

#[test]
fn log_integrity_personal_number_in_a_mirrored_entry() {
    let (mut net, _, rcpt) = base();
    let mut payment = |purpose: &str| {
        net.publish(
            COUNTY,
            "p1",
            "2024-01-20",
            P,
            json!({"kind": "payment", "payee": {"org": {"name": "Coop"}},
                   "amount": {"minor": "1000", "currency": "CNY"},
                   "funded_by": [{"ref": rcpt, "amount": {"minor": "1000", "currency": "CNY"}}],
                   "purpose": purpose}),
        );
    };
    // A phone number written into a free-text field: the entry is not a valid record.
    payment("Call 138-1234-5678 for the invoice");
    let report = net.audit("2024-03-01");
    assert_eq!(
        summary(&report),
        vec![(Rule::LogIntegrity, Red, rid(COUNTY, "r1"))]
    );
    assert!(
        report.findings[0].summary.contains("mobile phone number"),
        "{}",
        report.findings[0].summary
    );
    // Near miss: 10 digits, and an 11-digit amount of money, are not personal numbers.
    let (mut net, _, rcpt) = base_amount(20_000_000_000);
    net.publish(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        json!({"kind": "payment", "payee": {"org": {"name": "Coop"}},
               "amount": {"minor": "13812345678", "currency": "CNY"},
               "funded_by": [{"ref": rcpt, "amount": {"minor": "13812345678", "currency": "CNY"}}],
               "purpose": "Order 138-1234-567"}),
    );
    let report = net.audit("2024-03-01");
    assert!(
        !summary(&report)
            .iter()
            .any(|(rule, _, _)| *rule == Rule::LogIntegrity),
        "{:?}",
        summary(&report)
    );
}

#[test]
fn log_integrity_of_an_empty_log_is_not_publishable() {
    let mut ledger = Ledger::new();
    ledger.append(&member(COUNTY), 0, b"garbage").unwrap();
    let report = ledger.audit(&AuditParams::default(), date("2024-03-01"));
    assert_eq!(report.findings.len(), 1);
    assert!(report.findings[0].subjects.is_empty());
    assert!(!report.findings[0].publishable());
}

#[test]
fn out_of_order_entries_are_errors() {
    let (net, _, _) = base();
    let mut ledger = Ledger::new();
    let entries = &net.logs[&member(CITY)];
    assert!(ledger.append(&member(CITY), 1, &entries[0]).is_err());
    ledger.append(&member(CITY), 0, &entries[0]).unwrap();
    let err = ledger.append(&member(CITY), 0, &entries[0]).unwrap_err();
    assert!(err.to_string().contains("must have index 1"), "{err}");
    assert!(ledger.extend(&member(CITY), 5, &entries[..]).is_err());
    assert_eq!(ledger.size(&member(CITY)), 1);
    // A batch of several logs is all or nothing: one batch out of order, nothing appended.
    let county = &net.logs[&member(COUNTY)];
    let batches = [
        LogEntries {
            log: &member(COUNTY),
            first_index: 0,
            entries: &county[..],
        },
        LogEntries {
            log: &member(CITY),
            first_index: 0,
            entries: &entries[..],
        },
    ];
    let err = ledger.extend_logs(&batches).unwrap_err();
    assert!(err.to_string().contains("must have index 1"), "{err}");
    assert_eq!(ledger.size(&member(COUNTY)), 0);
    assert_eq!(ledger.size(&member(CITY)), 1);
}

fn correction(pin: &Reference, minor: u64, rcpt: &Reference) -> serde_json::Value {
    json!({
        "kind": "correction",
        "corrects": {"rid": pin.rid, "leaf": pin.leaf},
        "reason": "Amount corrected",
        "replacement": {
            "kind": "payment", "event_date": "2024-01-20", "program": P,
            "payee": org("Coop"), "amount": cny(minor),
            "funded_by": [part(rcpt, minor)], "purpose": "Relief payment"
        }
    })
}

#[test]
fn stale_correction_fires_on_a_non_current_pin() {
    let (mut net, _, rcpt) = base();
    let pay = net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        org("Coop"),
        900_000,
        &[(&rcpt, 900_000)],
    );
    net.publish(
        COUNTY,
        "c1",
        "2024-01-21",
        P,
        correction(&pay, 800_000, &rcpt),
    );
    // Pins the original again, which is no longer current.
    net.publish(
        COUNTY,
        "c2",
        "2024-01-22",
        P,
        correction(&pay, 700_000, &rcpt),
    );
    let report = net.audit("2024-03-01");
    assert_eq!(
        summary(&report),
        vec![(Rule::StaleCorrection, Red, rid(COUNTY, "c2"))]
    );
}

#[test]
fn stale_correction_near_miss_pins_the_current_version() {
    let (mut net, _, rcpt) = base();
    let pay = net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        org("Coop"),
        900_000,
        &[(&rcpt, 900_000)],
    );
    let c1 = net.publish(
        COUNTY,
        "c1",
        "2024-01-21",
        P,
        correction(&pay, 800_000, &rcpt),
    );
    let current = Reference {
        rid: pay.rid.clone(),
        ..c1
    };
    net.publish(
        COUNTY,
        "c2",
        "2024-01-22",
        P,
        correction(&current, 700_000, &rcpt),
    );
    let report = net.audit("2024-03-01");
    assert_eq!(summary(&report), vec![]);
    // The current version counts: 700,000 drawn of 1,000,000.
    let flow = report
        .flows
        .iter()
        .find(|f| f.fund.rid == rcpt.rid)
        .unwrap();
    assert_eq!(flow.drawn.minor.0, 700_000);
}

#[test]
fn unresolved_reference_red_when_held_yellow_when_not() {
    let (mut net, _, rcpt) = base();
    let ghost = Reference {
        rid: daylight_verifier::record::Ident::parse("county-1-nope").unwrap(),
        ..rcpt.clone()
    };
    let foreign = Reference {
        log: member("province-1"),
        rid: daylight_verifier::record::Ident::parse("province-1-a9").unwrap(),
        leaf: rcpt.leaf,
    };
    net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        org("Coop"),
        1_000,
        &[(&ghost, 1_000)],
    );
    net.payment(
        COUNTY,
        "p2",
        "2024-01-20",
        P,
        org("Farm"),
        2_000,
        &[(&foreign, 2_000)],
    );
    let report = net.audit("2024-03-01");
    assert_eq!(
        of_rule(&report, Rule::UnresolvedReference),
        vec![(Yellow, rid(COUNTY, "p2")), (Red, rid(COUNTY, "p1"))]
    );
    assert_eq!(summary(&report).len(), 2);
    // Near miss: a reference that resolves.
    let (mut net, _, rcpt) = base();
    net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        org("Coop"),
        1_000,
        &[(&rcpt, 1_000)],
    );
    assert_eq!(summary(&net.audit("2024-03-01")), vec![]);
}

#[test]
fn unresolved_reference_wrong_leaf() {
    let (mut net, alloc, _) = base();
    let bad = Reference {
        leaf: HexHashOf::of("x"),
        ..alloc
    };
    net.receipt(COUNTY, "r2", "2024-01-11", P, &bad, 5);
    let report = net.audit("2024-03-01");
    assert_eq!(
        of_rule(&report, Rule::UnresolvedReference),
        vec![(Red, rid(COUNTY, "r2"))]
    );
}

struct HexHashOf;
impl HexHashOf {
    fn of(seed: &str) -> daylight_verifier::record::HexHash {
        daylight_verifier::record::HexHash::parse(&hex(seed)).unwrap()
    }
}

#[test]
fn over_commitment_fires_when_draws_exceed_the_fund() {
    let (mut net, _, rcpt) = base();
    net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        org("Coop"),
        600_000,
        &[(&rcpt, 600_000)],
    );
    net.payment(
        COUNTY,
        "p2",
        "2024-01-21",
        P,
        org("Farm"),
        500_000,
        &[(&rcpt, 500_000)],
    );
    let report = net.audit("2024-03-01");
    assert_eq!(
        summary(&report),
        vec![(Rule::OverCommitment, Red, rid(COUNTY, "r1"))]
    );
    let f = &report.findings[0];
    assert_eq!(f.subjects.len(), 3);
    assert_eq!(f.amounts[1].minor.0, 1_100_000);
    // Near miss: exactly the fund.
    let (mut net, _, rcpt) = base();
    net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        org("Coop"),
        600_000,
        &[(&rcpt, 600_000)],
    );
    net.payment(
        COUNTY,
        "p2",
        "2024-01-21",
        P,
        org("Farm"),
        400_000,
        &[(&rcpt, 400_000)],
    );
    assert_eq!(summary(&net.audit("2024-03-01")), vec![]);
}

#[test]
fn over_commitment_ignores_voided_draws() {
    let (mut net, _, rcpt) = base();
    net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        org("Coop"),
        600_000,
        &[(&rcpt, 600_000)],
    );
    let p2 = net.payment(
        COUNTY,
        "p2",
        "2024-01-21",
        P,
        org("Farm"),
        500_000,
        &[(&rcpt, 500_000)],
    );
    net.publish(COUNTY, "v1", "2024-01-22", P, json!({"kind": "void", "voids": {"rid": p2.rid, "leaf": p2.leaf}, "reason": "Entered twice"}));
    assert_eq!(summary(&net.audit("2024-03-01")), vec![]);
}

#[test]
fn transfer_not_received() {
    let mut net = Net::new();
    net.allocation(CITY, "a1", "2024-01-05", P, to_member(COUNTY), 1_000, &[]);
    net.household(
        COUNTY,
        "h1",
        "2024-01-20",
        P,
        "hh",
        "enrolled",
        ("2024-01-01", "2024-01-10"),
    );
    assert_eq!(
        of_rule(&net.audit("2024-02-20"), Rule::TransferNotReceived),
        vec![(Yellow, rid(CITY, "a1"))]
    );
    assert_eq!(
        of_rule(&net.audit("2024-03-20"), Rule::TransferNotReceived),
        vec![(Red, rid(CITY, "a1"))]
    );
    // Not yet due.
    assert_eq!(summary(&net.audit("2024-02-04")), vec![]);
    // Received late: yellow; received in time: nothing.
    let mut late = net.clone();
    let alloc = Reference {
        log: member(CITY),
        rid: daylight_verifier::record::Ident::parse("city-1-a1").unwrap(),
        leaf: daylight_verifier::record::HexHash(daylight_verifier::merkle::leaf_hash(
            &net.logs[&member(CITY)][0],
        )),
    };
    late.receipt(COUNTY, "r1", "2024-02-10", P, &alloc, 1_000);
    assert_eq!(
        of_rule(&late.audit("2024-03-20"), Rule::TransferNotReceived),
        vec![(Yellow, rid(CITY, "a1"))]
    );
    let mut on_time = net.clone();
    on_time.receipt(COUNTY, "r1", "2024-02-04", P, &alloc, 1_000);
    assert_eq!(summary(&on_time.audit("2024-03-20")), vec![]);
}

#[test]
fn idle_funds_yellow_then_red() {
    let (net, _, _) = base(); // receipt dated 2024-01-10, nothing drawn
    assert_eq!(summary(&net.audit("2024-04-09")), vec![]); // 90 days: not yet
    assert_eq!(
        summary(&net.audit("2024-04-10")),
        vec![(Rule::IdleFunds, Yellow, rid(COUNTY, "r1"))]
    );
    assert_eq!(
        summary(&net.audit("2024-07-09")),
        vec![(Rule::IdleFunds, Red, rid(COUNTY, "r1"))]
    );
    // Near miss: fully drawn.
    let (mut net, _, rcpt) = base();
    net.payment(
        COUNTY,
        "p1",
        "2024-04-01",
        P,
        org("Coop"),
        1_000_000,
        &[(&rcpt, 1_000_000)],
    );
    assert_eq!(summary(&net.audit("2024-07-09")), vec![]);
}

#[test]
fn idle_funds_of_an_allocation_to_an_organisation() {
    let mut net = Net::new();
    net.allocation(CITY, "a1", "2024-01-05", P, org("Road fund"), 1_000, &[]);
    assert_eq!(
        summary(&net.audit("2024-04-05")),
        vec![(Rule::IdleFunds, Yellow, rid(CITY, "a1"))]
    );
}

fn two_funds() -> (Net, Reference, Reference) {
    let mut net = Net::new();
    let a1 = net.allocation(
        CITY,
        "a1",
        "2024-01-05",
        P,
        to_member(COUNTY),
        1_000_000,
        &[],
    );
    let a2 = net.allocation(
        CITY,
        "a2",
        "2024-01-05",
        P,
        to_member(COUNTY),
        1_000_000,
        &[],
    );
    let r1 = net.receipt(COUNTY, "r1", "2024-01-10", P, &a1, 1_000_000);
    let r2 = net.receipt(COUNTY, "r2", "2024-01-10", P, &a2, 1_000_000);
    (net, r1, r2)
}

#[test]
fn duplicate_payment_same_document_is_red() {
    // The same invoice paid twice, from two different funds, two months apart.
    let (mut net, r1, r2) = two_funds();
    net.payment_with_documents(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        org("Coop"),
        300_000,
        &[(&r1, 300_000)],
        &["Invoice 17", "Contract 4"],
    );
    net.payment(
        COUNTY,
        "p3",
        "2024-01-20",
        P,
        org("Coop"),
        700_000,
        &[(&r2, 700_000)],
    );
    net.payment_with_documents(
        COUNTY,
        "p2",
        "2024-03-20",
        P,
        org("Coop"),
        300_000,
        &[(&r2, 300_000)],
        &["Invoice 17"],
    );
    let report = net.audit("2024-03-25");
    assert_eq!(
        summary(&report),
        vec![(Rule::DuplicatePayment, Red, rid(COUNTY, "p1"))]
    );
    assert_eq!(report.findings[0].subjects.len(), 2);
}

#[test]
fn duplicate_payment_same_fund_without_shared_document_is_not_red() {
    // Recurring payments: same fund, payee and amount, different invoices, two months
    // apart: not a duplicate.
    let (mut net, r1, _) = two_funds();
    for (rid, date, doc) in [
        ("p1", "2024-01-20", "Invoice 17"),
        ("p2", "2024-03-20", "Invoice 18"),
    ] {
        net.payment_with_documents(
            COUNTY,
            rid,
            date,
            P,
            org("Coop"),
            300_000,
            &[(&r1, 300_000)],
            &[doc],
        );
    }
    assert_eq!(summary(&net.audit("2024-03-25")), vec![]);
    // The same without documents, within the window: yellow only.
    let (mut net, r1, _) = two_funds();
    for (rid, date) in [("p1", "2024-01-20"), ("p2", "2024-02-10")] {
        net.payment(
            COUNTY,
            rid,
            date,
            P,
            org("Coop"),
            300_000,
            &[(&r1, 300_000)],
        );
    }
    assert_eq!(
        summary(&net.audit("2024-03-25")),
        vec![(Rule::DuplicatePayment, Yellow, rid(COUNTY, "p1"))]
    );
}

#[test]
fn duplicate_payment_shared_document_different_amount_is_not_red() {
    let (mut net, r1, _) = two_funds();
    for (rid, date, minor) in [("p1", "2024-01-20", 300_000), ("p2", "2024-03-20", 200_000)] {
        net.payment_with_documents(
            COUNTY,
            rid,
            date,
            P,
            org("Coop"),
            minor,
            &[(&r1, minor)],
            &["Contract 4"],
        );
    }
    assert_eq!(summary(&net.audit("2024-03-25")), vec![]);
    // Same document and amount but another payee: not red either.
    let (mut net, r1, _) = two_funds();
    for (rid, date, payee) in [("p1", "2024-01-20", "Coop"), ("p2", "2024-03-20", "Mill")] {
        net.payment_with_documents(
            COUNTY,
            rid,
            date,
            P,
            org(payee),
            300_000,
            &[(&r1, 300_000)],
            &["Contract 4"],
        );
    }
    assert_eq!(summary(&net.audit("2024-03-25")), vec![]);
}

#[test]
fn duplicate_payment_within_window_is_yellow() {
    let (mut net, r1, r2) = two_funds();
    net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        org("Coop"),
        300_000,
        &[(&r1, 300_000)],
    );
    net.payment(
        COUNTY,
        "p2",
        "2024-02-18",
        P,
        org("Coop"),
        300_000,
        &[(&r2, 300_000)],
    );
    assert_eq!(
        summary(&net.audit("2024-03-25")),
        vec![(Rule::DuplicatePayment, Yellow, rid(COUNTY, "p1"))]
    );
    // Near miss: 30 days apart (the window is 30).
    let (mut net, r1, r2) = two_funds();
    net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        org("Coop"),
        300_000,
        &[(&r1, 300_000)],
    );
    net.payment(
        COUNTY,
        "p2",
        "2024-02-19",
        P,
        org("Coop"),
        300_000,
        &[(&r2, 300_000)],
    );
    assert_eq!(summary(&net.audit("2024-03-25")), vec![]);
}

fn enrolled(net: &mut Net, who: &str) {
    net.household(
        COUNTY,
        &format!("h-{who}"),
        "2024-01-12",
        P,
        who,
        "enrolled",
        ("2024-01-01", "2024-01-10"),
    );
}

#[test]
fn entitlement_cap() {
    let (mut net, _, rcpt) = base_amount(4_000_000);
    enrolled(&mut net, "hh");
    net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        household_payee("hh", "n1"),
        2_000_000,
        &[(&rcpt, 2_000_000)],
    );
    net.payment(
        COUNTY,
        "p2",
        "2024-03-20",
        P,
        household_payee("hh", "n2"),
        1_500_000,
        &[(&rcpt, 1_500_000)],
    );
    assert_eq!(
        summary(&net.audit("2024-03-25")),
        vec![(Rule::EntitlementCap, Red, rid(COUNTY, "p1"))]
    );
    // Near miss: exactly the cap.
    let (mut net, _, rcpt) = base_amount(4_000_000);
    enrolled(&mut net, "hh");
    net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        household_payee("hh", "n1"),
        2_000_000,
        &[(&rcpt, 2_000_000)],
    );
    net.payment(
        COUNTY,
        "p2",
        "2024-03-20",
        P,
        household_payee("hh", "n2"),
        1_000_000,
        &[(&rcpt, 1_000_000)],
    );
    assert_eq!(summary(&net.audit("2024-03-25")), vec![]);
}

#[test]
fn split_payment() {
    let (mut net, _, rcpt) = base_amount(20_000_000);
    net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        org("Builder"),
        9_500_000,
        &[(&rcpt, 9_500_000)],
    );
    net.payment(
        COUNTY,
        "p2",
        "2024-02-01",
        P,
        org("Builder"),
        9_600_000,
        &[(&rcpt, 9_600_000)],
    );
    assert_eq!(
        summary(&net.audit("2024-03-25")),
        vec![(Rule::SplitPayment, Yellow, rid(COUNTY, "p1"))]
    );
    // Near miss: the second is not "just under" the threshold (below 9,000,000).
    let (mut net, _, rcpt) = base_amount(20_000_000);
    net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        org("Builder"),
        9_500_000,
        &[(&rcpt, 9_500_000)],
    );
    net.payment(
        COUNTY,
        "p2",
        "2024-02-01",
        P,
        org("Builder"),
        8_900_000,
        &[(&rcpt, 8_900_000)],
    );
    assert_eq!(summary(&net.audit("2024-03-25")), vec![]);
}

#[test]
fn missing_signoff_on_a_large_payment() {
    let (mut net, _, rcpt) = base_amount(10_000_000);
    let fields = json!({
        "kind": "payment", "payee": org("Builder"), "amount": cny(10_000_000),
        "funded_by": [part(&rcpt, 10_000_000)], "purpose": "Bridge"
    });
    net.publish_with(COUNTY, "p1", "2024-01-20", P, fields.clone(), false);
    assert_eq!(
        summary(&net.audit("2024-03-25")),
        vec![(Rule::MissingSignoff, Red, rid(COUNTY, "p1"))]
    );
    // Near miss: attested.
    let (mut net, _, rcpt2) = base_amount(10_000_000);
    assert_eq!(rcpt, rcpt2);
    net.publish_with(COUNTY, "p1", "2024-01-20", P, fields, true);
    assert_eq!(summary(&net.audit("2024-03-25")), vec![]);
}

#[test]
fn missing_signoff_on_a_household_decision() {
    let mut net = Net::new();
    net.publish_with(
        COUNTY,
        "h1",
        "2024-01-12",
        P,
        household_fields("hh", "enrolled", ("2024-01-01", "2024-01-10")),
        false,
    );
    assert_eq!(
        summary(&net.audit("2024-03-25")),
        vec![(Rule::MissingSignoff, Red, rid(COUNTY, "h1"))]
    );
    // Without keys the roles are unknown: not judged.
    let mut ledger = Ledger::new();
    ledger
        .extend(&member(COUNTY), 0, &net.logs[&member(COUNTY)])
        .unwrap();
    assert!(
        ledger
            .audit(&AuditParams::default(), date("2024-03-25"))
            .findings
            .is_empty()
    );
}

#[test]
fn short_notice() {
    let mut net = Net::new();
    net.household(
        COUNTY,
        "h1",
        "2024-01-12",
        P,
        "hh",
        "exited",
        ("2024-01-01", "2024-01-09"),
    );
    assert_eq!(
        summary(&net.audit("2024-03-25")),
        vec![(Rule::ShortNotice, Red, rid(COUNTY, "h1"))]
    );
    let mut net = Net::new();
    net.household(
        COUNTY,
        "h1",
        "2024-01-12",
        P,
        "hh",
        "exited",
        ("2024-01-01", "2024-01-10"),
    );
    assert_eq!(summary(&net.audit("2024-03-25")), vec![]);
}

#[test]
fn household_not_enrolled_or_exited() {
    let (mut net, _, rcpt) = base();
    enrolled(&mut net, "gone");
    // Enrolled in another programme only: still not enrolled in this one.
    net.household(
        COUNTY,
        "h-other",
        "2024-01-12",
        "other24",
        "elsewhere",
        "enrolled",
        ("2024-01-01", "2024-01-10"),
    );
    net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        household_payee("stranger", "n1"),
        1_000,
        &[(&rcpt, 1_000)],
    );
    net.payment(
        COUNTY,
        "p3",
        "2024-01-20",
        P,
        household_payee("elsewhere", "n3"),
        3_000,
        &[(&rcpt, 3_000)],
    );
    net.household(
        COUNTY,
        "x-gone",
        "2024-02-12",
        P,
        "gone",
        "exited",
        ("2024-02-01", "2024-02-10"),
    );
    net.payment(
        COUNTY,
        "p2",
        "2024-02-20",
        P,
        household_payee("gone", "n2"),
        2_000,
        &[(&rcpt, 2_000)],
    );
    let report = net.audit("2024-03-25");
    assert_eq!(
        summary(&report),
        vec![
            (Rule::HouseholdNotEnrolled, Red, rid(COUNTY, "p1")),
            (Rule::HouseholdNotEnrolled, Red, rid(COUNTY, "p2")),
            (Rule::HouseholdNotEnrolled, Red, rid(COUNTY, "p3")),
        ]
    );
    // Near miss: enrolled before the payment (paid before its exit).
    let (mut net, _, rcpt) = base();
    enrolled(&mut net, "hh");
    net.payment(
        COUNTY,
        "p1",
        "2024-01-20",
        P,
        household_payee("hh", "n1"),
        1_000,
        &[(&rcpt, 1_000)],
    );
    net.household(
        COUNTY,
        "x-hh",
        "2024-02-12",
        P,
        "hh",
        "exited",
        ("2024-02-01", "2024-02-10"),
    );
    assert_eq!(summary(&net.audit("2024-03-25")), vec![]);
}

#[test]
fn future_dated() {
    let mut net = Net::new();
    net.household(
        COUNTY,
        "h1",
        "2024-03-03",
        P,
        "hh",
        "enrolled",
        ("2024-02-01", "2024-02-10"),
    );
    assert_eq!(
        summary(&net.audit("2024-03-01")),
        vec![(Rule::FutureDated, Yellow, rid(COUNTY, "h1"))]
    );
    assert_eq!(summary(&net.audit("2024-03-02")), vec![]);
}

#[test]
fn backdated() {
    let mut net = Net::new();
    net.household(
        COUNTY,
        "h1",
        "2024-03-01",
        P,
        "a",
        "enrolled",
        ("2024-02-01", "2024-02-10"),
    );
    net.household(
        COUNTY,
        "h2",
        "2024-01-30",
        P,
        "b",
        "enrolled",
        ("2024-01-01", "2024-01-10"),
    );
    net.household(
        COUNTY,
        "h3",
        "2024-01-31",
        P,
        "c",
        "enrolled",
        ("2024-01-01", "2024-01-10"),
    );
    assert_eq!(
        summary(&net.audit("2024-03-25")),
        vec![(Rule::Backdated, Yellow, rid(COUNTY, "h2"))]
    );
}

#[test]
fn signatures_are_verified_only_when_asked() {
    let (mut net, _, _) = base();
    // Changed after signing: still canonical, but the signatures no longer cover it.
    let entry = String::from_utf8(net.logs[&member(CITY)][0].clone()).unwrap();
    let forged = entry.replace("Relief funds", "Relief fundz");
    assert_ne!(entry, forged);
    net.logs.get_mut(&member(CITY)).unwrap()[0] = forged.into_bytes();
    // Default: not verified (the publishing node did), so the entry itself passes; only the
    // county's pin of the original version no longer resolves (so the transfer is unseen)...
    assert_eq!(
        summary(&net.audit("2024-03-01")),
        vec![
            (Rule::UnresolvedReference, Red, rid(COUNTY, "r1")),
            (Rule::TransferNotReceived, Yellow, rid(CITY, "a1")),
        ]
    );
    // ...but with verification on it is an invalid entry.
    let mut ledger = Ledger::new();
    ledger.verify_signatures(true);
    for (log, entries) in &net.logs {
        ledger.set_keys(log, accepted(log.as_str()));
        ledger.extend(log, 0, entries).unwrap();
    }
    let report = ledger.audit(&AuditParams::default(), date("2024-03-01"));
    assert_eq!(
        summary(&report)
            .into_iter()
            .map(|(r, s, _)| (r, s))
            .collect::<Vec<_>>(),
        vec![(Rule::LogIntegrity, Red), (Rule::UnresolvedReference, Red)]
    );
}
