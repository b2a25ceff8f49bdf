//! A city, two counties with households, and an auditor, with seeded problems: an
//! over-spent allocation, a duplicate payment, idle funds, a notice shorter than 10 days and
//! an equivocating log. The audit finds exactly these, deterministically, and links the
//! auditor's published finding and the county's rectification to it.

mod common;

use common::*;
use daylight_verifier::audit::{
    AuditParams, AuditReport, Ledger, Light, LogEntries, Rule, finding_rid,
};
use daylight_verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use daylight_verifier::evidence::Evidence;
use daylight_verifier::hash::Hash;
use daylight_verifier::key::{KeyType, SigningKey};
use daylight_verifier::record::{Instant, RectificationStatus, Reference, Severity};
use serde_json::json;

use Severity::{Red, Yellow};

const CITY: &str = "city-3202";
const A: &str = "county-320206";
const B: &str = "county-320211";
const AUDITOR: &str = "auditor-3202";
const P: &str = "relief24";
const AS_OF: &str = "2024-06-30";

struct Scenario {
    net: Net,
    evidence: Evidence,
}

fn scenario() -> Scenario {
    let mut net = Net::new();
    // The city allocates to both counties; each receives within days.
    let a1 = net.allocation(CITY, "a1", "2024-01-05", P, to_member(A), 2_000_000, &[]);
    let b1 = net.allocation(CITY, "b1", "2024-01-05", P, to_member(B), 3_000_000, &[]);
    let b2 = net.allocation(CITY, "b2", "2024-01-05", P, to_member(B), 1_000_000, &[]);

    // County A: reserves 1,000,000 for road works and pays 1,100,000 against it (over-spent);
    // two households enrolled, the second after an 8-day notice (short notice).
    let ra = net.receipt(A, "r1", "2024-01-10", P, &a1, 2_000_000);
    net.household(
        A,
        "h1",
        "2024-01-12",
        P,
        "hh1",
        "enrolled",
        ("2024-01-01", "2024-01-10"),
    );
    net.household(
        A,
        "h2",
        "2024-01-12",
        P,
        "hh2",
        "enrolled",
        ("2024-01-01", "2024-01-08"),
    );
    let road = net.allocation(
        A,
        "road",
        "2024-01-15",
        P,
        org("Road works fund"),
        1_000_000,
        &[(&ra, 1_000_000)],
    );
    net.payment(
        A,
        "p1",
        "2024-02-01",
        P,
        org("Gravel Co"),
        700_000,
        &[(&road, 700_000)],
    );
    net.payment(
        A,
        "p2",
        "2024-02-10",
        P,
        org("Asphalt Co"),
        400_000,
        &[(&road, 400_000)],
    );
    net.payment(
        A,
        "p3",
        "2024-02-15",
        P,
        household_payee("hh1", "a-n1"),
        500_000,
        &[(&ra, 500_000)],
    );
    net.payment(
        A,
        "p4",
        "2024-02-15",
        P,
        household_payee("hh2", "a-n2"),
        500_000,
        &[(&ra, 500_000)],
    );

    // County B: pays one household twice on one payment order (duplicate) and leaves its
    // second receipt untouched (idle since January: 172 days, yellow).
    let rb1 = net.receipt(B, "r1", "2024-01-10", P, &b1, 3_000_000);
    net.receipt(B, "r2", "2024-01-10", P, &b2, 1_000_000);
    net.household(
        B,
        "h1",
        "2024-01-12",
        P,
        "hh3",
        "enrolled",
        ("2024-01-01", "2024-01-10"),
    );
    net.payment_with_documents(
        B,
        "p1",
        "2024-02-01",
        P,
        household_payee("hh3", "b-n1"),
        500_000,
        &[(&rb1, 500_000)],
        &["Payment order B-7"],
    );
    net.payment_with_documents(
        B,
        "p2",
        "2024-02-03",
        P,
        household_payee("hh3", "b-n2"),
        500_000,
        &[(&rb1, 500_000)],
        &["Payment order B-7"],
    );
    net.payment(
        B,
        "p3",
        "2024-02-05",
        P,
        org("Seed Coop"),
        2_000_000,
        &[(&rb1, 2_000_000)],
    );

    // County B's log key signed two different trees of size 12.
    let origin = format!("{NET}/{B}");
    let log_key = SigningKey::from_seed(&origin, KeyType::Ed25519, [42; 32]).unwrap();
    let signed = |root: &[u8]| {
        let note = Checkpoint::new(&origin, 12, Hash::digest(root))
            .sign(&log_key)
            .unwrap();
        SignedCheckpoint::open(note.to_text().as_bytes(), &log_key.verifier()).unwrap()
    };
    let evidence = Evidence::conflicting_roots(&signed(b"one"), &signed(b"two")).unwrap();
    evidence.verify(&log_key.verifier()).unwrap();
    Scenario { net, evidence }
}

impl Scenario {
    fn ledger(&self) -> Ledger {
        let mut ledger = self.net.ledger();
        ledger.add_evidence(&member(B), &self.evidence);
        ledger
    }

    fn audit(&self, as_of: &str) -> AuditReport {
        self.ledger().audit(&AuditParams::default(), date(as_of))
    }
}

fn expected() -> Vec<(Rule, Severity, String)> {
    let mut v = vec![
        (Rule::LogIntegrity, Red, format!("{B}-r1")),
        (Rule::OverCommitment, Red, format!("{A}-road")),
        (Rule::DuplicatePayment, Red, format!("{B}-p1")),
        (Rule::IdleFunds, Yellow, format!("{B}-r2")),
        (Rule::ShortNotice, Red, format!("{A}-h2")),
    ];
    v.sort();
    v
}

#[test]
fn finds_the_seeded_problems_and_nothing_else() {
    let s = scenario();
    let report = s.audit(AS_OF);
    assert_eq!(summary(&report), expected(), "{}", report.render_text());
    assert_eq!(report.light(&member(A)), Some(Light::Red));
    assert_eq!(report.light(&member(B)), Some(Light::Red));
    assert_eq!(report.light(&member(CITY)), Some(Light::Green));

    let integrity = report
        .findings
        .iter()
        .find(|f| f.rule == Rule::LogIntegrity)
        .unwrap();
    assert_eq!(integrity.evidence[0].sha256.0, s.evidence.id());
    assert!(integrity.publishable());
    let dup = report
        .findings
        .iter()
        .find(|f| f.rule == Rule::DuplicatePayment)
        .unwrap();
    assert_eq!(dup.subjects.len(), 2);
    let over = report
        .findings
        .iter()
        .find(|f| f.rule == Rule::OverCommitment)
        .unwrap();
    assert_eq!(
        over.amounts.iter().map(|m| m.minor.0).collect::<Vec<_>>(),
        vec![1_000_000, 1_100_000]
    );

    let flow = report
        .flows
        .iter()
        .find(|f| f.fund.rid.as_str() == format!("{A}-road"))
        .unwrap();
    assert_eq!(
        (
            flow.drawn.minor.0,
            flow.remaining.minor.0,
            flow.overdrawn.minor.0
        ),
        (1_100_000, 0, 100_000)
    );
    assert_eq!(flow.drawn_by.len(), 2);
    // Without the evidence, the integrity finding goes and nothing else changes.
    let plain = s.net.audit(AS_OF);
    let mut without = expected();
    without.retain(|(r, _, _)| *r != Rule::LogIntegrity);
    assert_eq!(summary(&plain), without);
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    let s = scenario();
    let one = s.audit(AS_OF).to_json();
    assert_eq!(one, s.audit(AS_OF).to_json());
    // Logs fed in reverse order, in batches through `extend`, evidence added first.
    let mut other = Ledger::new();
    other.add_evidence(&member(B), &s.evidence);
    for (log, entries) in s.net.logs.iter().rev() {
        other.set_keys(log, accepted(log.as_str()));
        let (head, tail) = entries.split_at(entries.len() / 2);
        other.extend(log, 0, head).unwrap();
        other.extend(log, head.len() as u64, tail).unwrap();
    }
    other.add_evidence(&member(B), &s.evidence); // twice: kept once
    assert_eq!(
        one,
        other.audit(&AuditParams::default(), date(AS_OF)).to_json()
    );
    // All logs at once through `extend_logs`: first every log's first half, then the rest,
    // and once more with each log's two halves in one call (the same log twice).
    let halves: Vec<_> = s
        .net
        .logs
        .iter()
        .map(|(log, entries)| (log, entries.split_at(entries.len() / 2)))
        .collect();
    let heads: Vec<LogEntries<'_, Vec<u8>>> = (halves.iter())
        .map(|(log, (head, _))| LogEntries {
            log,
            first_index: 0,
            entries: head,
        })
        .collect();
    let tails: Vec<LogEntries<'_, Vec<u8>>> = (halves.iter())
        .map(|(log, (head, tail))| LogEntries {
            log,
            first_index: head.len() as u64,
            entries: tail,
        })
        .collect();
    let mut at_once = Ledger::new();
    let mut twice_in_one_call = Ledger::new();
    for ledger in [&mut at_once, &mut twice_in_one_call] {
        ledger.add_evidence(&member(B), &s.evidence);
        for log in s.net.logs.keys() {
            ledger.set_keys(log, accepted(log.as_str()));
        }
    }
    at_once.extend_logs(&heads).unwrap();
    at_once.extend_logs(&tails).unwrap();
    let both: Vec<_> = heads.iter().chain(&tails).copied().collect();
    twice_in_one_call.extend_logs(&both).unwrap();
    for ledger in [&at_once, &twice_in_one_call] {
        assert_eq!(
            one,
            ledger.audit(&AuditParams::default(), date(AS_OF)).to_json()
        );
    }
    // Without evidence: append in order equals extend in reverse log order.
    let params = AuditParams::default();
    assert_eq!(
        s.net.ledger().audit(&params, date(AS_OF)).to_json(),
        s.net
            .ledger_extended_reversed()
            .audit(&params, date(AS_OF))
            .to_json()
    );
}

#[test]
fn published_and_answered_findings_are_linked() {
    let mut s = scenario();
    let report = s.audit(AS_OF);
    let short = report
        .findings
        .iter()
        .find(|f| f.rule == Rule::ShortNotice)
        .unwrap()
        .clone();
    assert_eq!(short.published, None);
    let auditor = member(AUDITOR);
    let rid = finding_rid(&auditor, &short.key);
    let record = short.to_record(rid, Instant::parse("2024-07-01T09:00:00Z").unwrap());
    let published = s.net.publish_record(AUDITOR, record);

    let report = s.audit("2024-07-02");
    assert_eq!(
        summary(&report),
        expected(),
        "findings and rectifications are not audited"
    );
    let f = report.findings.iter().find(|f| f.key == short.key).unwrap();
    assert_eq!(f.published.as_ref(), Some(&published));
    assert_eq!(f.answer, None);
    assert_eq!(report.light(&auditor), Some(Light::Green));

    let answer = |net: &mut Net, rid: &str, status: &str, finding: &Reference| {
        net.publish(
            A,
            rid,
            "2024-07-03",
            P,
            json!({
                "kind": "rectification", "finding": finding,
                "action": "Notice re-posted <b>for 10 days</b>", "status": status
            }),
        )
    };
    answer(&mut s.net, "rect1", "in_progress", &published);
    let report = s.audit("2024-07-04");
    let f = report.findings.iter().find(|f| f.key == short.key).unwrap();
    assert_eq!(
        f.answer.as_ref().map(|a| a.status),
        Some(RectificationStatus::InProgress)
    );
    assert!(f.is_open());
    let a = report
        .lights
        .iter()
        .find(|l| l.member == member(A))
        .unwrap();
    assert_eq!(
        (a.counts.red, a.counts.answered, a.counts.closed),
        (2, 1, 0)
    );

    let done = answer(&mut s.net, "rect2", "completed", &published);
    let report = s.audit("2024-07-04");
    let f = report.findings.iter().find(|f| f.key == short.key).unwrap();
    let ans = f.answer.as_ref().unwrap();
    assert_eq!(
        (ans.status, &ans.rectification),
        (RectificationStatus::Completed, &done)
    );
    assert!(!f.is_open());
    let a = report
        .lights
        .iter()
        .find(|l| l.member == member(A))
        .unwrap();
    assert_eq!((a.counts.red, a.counts.closed), (1, 1));
    assert_eq!(a.light, Light::Red, "the over-commitment is still open");

    // The HTML page escapes the rectification's text and loads nothing.
    let html = report.render_html();
    assert!(!html.contains("<b>for"));
    assert!(html.contains("&lt;b&gt;for 10 days&lt;/b&gt;"));
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(html.contains("Fund flows"));
    let text = report.render_text();
    assert!(text.contains("short_notice"));
}
