//! Findings: what a rule found, their stable identity, how they become `finding` records, and
//! the linkage to published findings and to publishers' rectifications.
//!
//! A finding's [`key`](AuditFinding::key) is SHA-256 over a domain tag, the rule code, the
//! severity, the subjects and the evidence hashes (subjects and evidence sorted, so their order
//! in a record does not matter). It is computed the same way from a finding the audit produced
//! and from a `finding` record read from a log, which is how a report knows a finding was
//! already published: publish each key once.

use serde::{Serialize, Serializer};

use crate::hash::Hash;
use crate::record::{
    Body, Code, Date, Document, Finding, Ident, Instant, MemberId, Money, Record,
    RectificationStatus, Reference, Rid, Severity, Text,
};

/// The domain tag that starts every finding key.
pub const FINDING_KEY_TAG: &[u8] = b"daylight/audit-finding/v1\n";

/// The audit rules of DESIGN §8. Each finding names one; the snake_case code is what a
/// `finding` record's `rule` field holds. See `docs/audit.md` for exact semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The log equivocated (evidence), or holds an entry that is not a valid record.
    LogIntegrity,
    /// A correction or void that did not apply: it pins a non-current version, an unknown or
    /// voided record, a correction, or changes the kind; or a reused rid.
    StaleCorrection,
    /// A funding or source reference that does not resolve to a version of a held record.
    UnresolvedReference,
    /// The records drawing on a fund cite more than its amount.
    OverCommitment,
    /// An allocation to a member that the member's log does not show as received in time.
    TransferNotReceived,
    /// Funds received (or reserved for a non-member) and not drawn for too long.
    IdleFunds,
    /// Two payments that look like one paid twice.
    DuplicatePayment,
    /// A household received more than the yearly cap from one programme.
    EntitlementCap,
    /// Payments just under the approval threshold that together reach it.
    SplitPayment,
    /// Public notice shorter than the minimum before a household decision.
    ShortNotice,
    /// A record that needs attestations (a household decision, a payment at or above the
    /// approval threshold) carries only operator signatures.
    MissingSignoff,
    /// A payment to a household never enrolled, or exited, in that programme.
    HouseholdNotEnrolled,
    /// An event date too far after the audit date.
    FutureDated,
    /// An event date too far before the records logged before it.
    Backdated,
    /// A record signed by an operator or attestor key at or after the index from which the
    /// genesis revoked it.
    RevokedKeyUsed,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 15] = [
        Rule::LogIntegrity,
        Rule::StaleCorrection,
        Rule::UnresolvedReference,
        Rule::OverCommitment,
        Rule::TransferNotReceived,
        Rule::IdleFunds,
        Rule::DuplicatePayment,
        Rule::EntitlementCap,
        Rule::SplitPayment,
        Rule::ShortNotice,
        Rule::MissingSignoff,
        Rule::HouseholdNotEnrolled,
        Rule::FutureDated,
        Rule::Backdated,
        Rule::RevokedKeyUsed,
    ];

    /// The snake_case code, e.g. `over_commitment`.
    pub fn code(self) -> &'static str {
        match self {
            Rule::LogIntegrity => "log_integrity",
            Rule::StaleCorrection => "stale_correction",
            Rule::UnresolvedReference => "unresolved_reference",
            Rule::OverCommitment => "over_commitment",
            Rule::TransferNotReceived => "transfer_not_received",
            Rule::IdleFunds => "idle_funds",
            Rule::DuplicatePayment => "duplicate_payment",
            Rule::EntitlementCap => "entitlement_cap",
            Rule::SplitPayment => "split_payment",
            Rule::ShortNotice => "short_notice",
            Rule::MissingSignoff => "missing_signoff",
            Rule::HouseholdNotEnrolled => "household_not_enrolled",
            Rule::FutureDated => "future_dated",
            Rule::Backdated => "backdated",
            Rule::RevokedKeyUsed => "revoked_key_used",
        }
    }

    /// The rule named by `code`, if any.
    pub fn parse(code: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A publisher's answer to a finding: the current `rectification` record pinning the
/// published finding record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// The rectification record.
    pub rectification: Reference,
    /// Where it stands; `completed` closes the finding.
    pub status: RectificationStatus,
    /// What is being done.
    pub action: String,
    /// When it is due, if stated.
    pub due_date: Option<Date>,
}

fn hex_hash<S: Serializer>(hash: &Hash, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hash.to_hex())
}

/// One finding of the audit.
///
/// Invariant: `key` is [`finding_key`] of (`rule`, `severity`, `subjects`, `evidence`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditFinding {
    /// Stable identity (a field): SHA-256 over a domain tag, rule, severity, subjects and
    /// evidence hashes. Written as lowercase hex.
    #[serde(serialize_with = "hex_hash")]
    pub key: Hash,
    /// Which rule.
    pub rule: Rule,
    /// Yellow or red.
    pub severity: Severity,
    /// Whose records the finding is about: the log of the first subject, or the log the
    /// integrity finding concerns.
    pub member: MemberId,
    /// The programme of the first subject, if any.
    pub program: Option<Ident>,
    /// The records concerned, each pinned to the version judged; the first is the main one.
    pub subjects: Vec<Reference>,
    /// Amounts the finding is about (meaning given by the summary, e.g. fund then drawn).
    pub amounts: Vec<Money>,
    /// Dates the finding is about (event dates, deadlines).
    pub dates: Vec<Date>,
    /// One sentence saying what is wrong.
    pub summary: String,
    /// Supporting documents by hash (evidence of equivocation, invalid entries' leaf hashes).
    pub evidence: Vec<Document>,
    /// The `finding` record in the ledger that publishes this finding, if any.
    pub published: Option<Reference>,
    /// The latest rectification answering the published finding, if any.
    pub answer: Option<Answer>,
}

impl AuditFinding {
    /// Whether the finding can be published as a `finding` record: it needs at least one
    /// subject (an integrity finding about an empty log has none).
    pub fn publishable(&self) -> bool {
        !self.subjects.is_empty()
    }

    /// Whether the finding still counts against its member's light: not answered with a
    /// `completed` rectification.
    pub fn is_open(&self) -> bool {
        !matches!(
            &self.answer,
            Some(Answer {
                status: RectificationStatus::Completed,
                ..
            })
        )
    }

    /// The unsigned `finding` record an auditor publishes for this finding, with its rule,
    /// severity, subjects, summary and evidence; its event date is the date of `checked_at`.
    /// The summary is cut to the 1,000 characters a record text may hold. Sign it with the
    /// auditor's operator key ([`Record::sign`]) and submit it; [`finding_rid`] gives a rid
    /// that is the same for every auditor run.
    pub fn to_record(&self, rid: Rid, checked_at: Instant) -> Record {
        let program = self
            .program
            .clone()
            .unwrap_or_else(|| ident_or_audit("audit"));
        Record {
            rid,
            event_date: checked_at.date(),
            program,
            body: Body::Finding(Finding {
                // Every rule code is a valid code; the fallback is never used.
                rule: Code::parse(self.rule.code()).unwrap_or_else(|_| code_audit()),
                severity: self.severity,
                subjects: self.subjects.clone(),
                summary: to_text(&self.summary),
                checked_at,
                evidence: self.evidence.clone(),
            }),
        }
    }
}

fn ident_or_audit(text: &str) -> Ident {
    Ident::parse(text).unwrap_or_else(|_| unreachable!("\"audit\" is a valid identifier"))
}

fn code_audit() -> Code {
    Code::parse("audit").unwrap_or_else(|_| unreachable!("\"audit\" is a valid code"))
}

/// Record-safe text: control characters become spaces, at most 1,000 characters, never empty.
pub(crate) fn to_text(text: &str) -> Text {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(Text::MAX_CHARS)
        .collect();
    Text::parse(&clean).unwrap_or_else(|_| {
        Text::parse("audit finding").unwrap_or_else(|_| unreachable!("a valid text"))
    })
}

/// The stable key of a finding with this rule, severity, subjects and evidence (see the
/// module doc). Subjects and evidence hashes are sorted first, so order does not matter.
pub fn finding_key(
    rule: &str,
    severity: Severity,
    subjects: &[Reference],
    evidence: &[Document],
) -> Hash {
    let mut subjects: Vec<String> = subjects
        .iter()
        .map(|r| format!("subject {} {} {}\n", r.log, r.rid, r.leaf))
        .collect();
    subjects.sort();
    let mut hashes: Vec<String> = evidence
        .iter()
        .map(|d| format!("evidence {}\n", d.sha256))
        .collect();
    hashes.sort();
    let severity = match severity {
        Severity::Green => "green",
        Severity::Yellow => "yellow",
        Severity::Red => "red",
    };
    let mut bytes = FINDING_KEY_TAG.to_vec();
    bytes.extend_from_slice(format!("rule {rule}\nseverity {severity}\n").as_bytes());
    for line in subjects.iter().chain(&hashes) {
        bytes.extend_from_slice(line.as_bytes());
    }
    Hash::digest(&bytes)
}

/// The rid under which `auditor` publishes the finding with `key`:
/// `<auditor>-finding-<16 letters>`, the first 8 bytes of the key written one letter per
/// nibble (`a` for 0 … `p` for 15). Deterministic, so re-running an audit never publishes a
/// finding twice under two rids.
///
/// Letters, not hex digits: a run of hex digits can look like a phone, ID or bank card number
/// (`…14859796454…` is an 11-digit mobile number), which the privacy guard rightly refuses in
/// any record, and the finding would never be published. (Which findings are published is
/// decided from the finding records' contents, not their rids, so the encoding can change.)
pub fn finding_rid(auditor: &MemberId, key: &Hash) -> Rid {
    let letters: String = key.0[..8]
        .iter()
        .flat_map(|byte| [byte >> 4, byte & 0x0f])
        .map(|nibble| char::from(b'a' + nibble))
        .collect();
    let text = format!("{auditor}-finding-{letters}");
    // A member id followed by "-finding-" and lowercase letters is always a valid identifier.
    Ident::parse(&text).unwrap_or_else(|_| unreachable!("{text} is a valid rid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_codes_round_trip_and_are_codes() {
        for rule in Rule::ALL {
            assert_eq!(Rule::parse(rule.code()), Some(rule));
            assert!(Code::parse(rule.code()).is_ok());
            let json = serde_json::to_string(&rule).unwrap();
            assert_eq!(json, format!("\"{}\"", rule.code()));
        }
    }

    #[test]
    fn finding_rids_are_valid_and_stable() {
        let auditor = MemberId::parse("auditor-320200").unwrap();
        let key = Hash::digest(b"x");
        let rid = finding_rid(&auditor, &key);
        assert!(rid.belongs_to(&auditor));
        assert_eq!(rid, finding_rid(&auditor, &key));
        assert_eq!(rid.as_str().len(), "auditor-320200-finding-".len() + 16);
    }

    #[test]
    fn finding_rids_hold_no_digits_the_privacy_guard_could_take_for_a_number() {
        let auditor = MemberId::parse("auditor-320600").unwrap();
        for n in 0..2_000u32 {
            let rid = finding_rid(&auditor, &Hash::digest(&n.to_be_bytes()));
            let tail = rid.as_str().trim_start_matches("auditor-320600-finding-");
            assert!(
                tail.bytes().all(|b| b.is_ascii_lowercase()),
                "{}",
                rid.as_str()
            );
        }
        // The key that once gave `…-finding-e36cc14859796454`, refused as a mobile number.
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&[0xe3, 0x6c, 0xc1, 0x48, 0x59, 0x79, 0x64, 0x54]);
        let rid = finding_rid(&auditor, &Hash(key));
        assert_eq!(rid.as_str(), "auditor-320600-finding-odgmmbeifjhjgefe");
        let free = crate::record::privacy::FieldClass::Free;
        assert!(crate::record::privacy::find_personal(rid.as_str(), free).is_none());
        let old = "auditor-320600-finding-e36cc14859796454";
        assert!(crate::record::privacy::find_personal(old, free).is_some());
    }

    #[test]
    fn keys_ignore_order() {
        let r = |rid: &str| Reference {
            log: MemberId::parse("county-1").unwrap(),
            rid: Ident::parse(rid).unwrap(),
            leaf: crate::record::HexHash(Hash::digest(rid.as_bytes())),
        };
        let a = finding_key("x", Severity::Red, &[r("county-1-a"), r("county-1-b")], &[]);
        let b = finding_key("x", Severity::Red, &[r("county-1-b"), r("county-1-a")], &[]);
        assert_eq!(a, b);
        assert_ne!(
            a,
            finding_key(
                "x",
                Severity::Yellow,
                &[r("county-1-a"), r("county-1-b")],
                &[]
            )
        );
    }

    #[test]
    fn text_is_made_record_safe() {
        assert_eq!(to_text("a\nb").as_str(), "a b");
        assert_eq!(to_text(&"x".repeat(2000)).as_str().len(), 1000);
        assert_eq!(to_text("  ").as_str(), "audit finding");
    }
}
