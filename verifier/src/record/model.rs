//! The typed bodies of the ten record kinds of DESIGN §4.2, and the parts they share
//! (parties, references, funding parts, documents).
//!
//! Fields are chosen for the audit rules of DESIGN §8: who paid whom (`payer`, `payee`), how
//! much (`amount`), from which fund (`funded_by`, pinning exact versions), for which project,
//! which household (by pseudonym) with which status and notice period, and which documents
//! back a step (by hash). The envelope (`v`, `rid`, `kind`, `event_date`, `program`,
//! `signatures`) lives in [`super::envelope`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::money::Money;
use super::types::{AreaCode, Code, Date, HexHash, Ident, Instant, MemberId, Rid, Text, Uscc};

/// A pointer to one exact version of a record in any log: `{"log","rid","leaf"}`.
///
/// The leaf hash pins the version, so a later correction cannot silently change what a
/// reference meant; a county receipt pins the city allocation it received.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The member id of the log holding the record.
    pub log: MemberId,
    /// The record id; it starts with `log` followed by `-`.
    pub rid: Rid,
    /// The RFC 6962 leaf hash of the record's entry bytes, 64 lowercase hex digits.
    pub leaf: HexHash,
}

/// A pointer to one exact version of a record in the same log: `{"rid","leaf"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// The record id in this log.
    pub rid: Rid,
    /// The leaf hash of the version being corrected or voided (the current one).
    pub leaf: HexHash,
}

/// One source of the money of a record: a pinned record and the amount drawn from it.
/// The parts of a record's `funded_by` sum to its amount.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FundingPart {
    /// The record the money comes from (an allocation or receipt).
    #[serde(rename = "ref")]
    pub reference: Reference,
    /// How much of the record's amount comes from that source.
    pub amount: Money,
}

/// A document named by its SHA-256, such as an approval, a contract or an acceptance report.
/// The document itself is published elsewhere; its hash ties it to the log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// What the document is, e.g. "County approval No. 2024-17".
    pub title: Text,
    /// SHA-256 of the document's bytes, 64 lowercase hex digits.
    pub sha256: HexHash,
}

/// An organisation outside the network: a cooperative, company, school or village collective.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Org {
    /// The registered name.
    pub name: Text,
    /// Its unified social credit code, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uscc: Option<Uscc>,
}

/// A household, as the public log may show it: never a name (DESIGN §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdRef {
    /// HMAC-SHA256 of the head of household's ID number under the programme key.
    pub pseudonym: HexHash,
    /// The village or township code.
    pub area: AreaCode,
    /// On a payment only: the commitment the household can open with its receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment: Option<HexHash>,
}

/// Who pays, receives, owns, operates, benefits or supervises.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// A member of the network, by member id: `{"member": "county-320206"}`.
    Member(MemberId),
    /// An organisation: `{"org": {"name": "...", "uscc": "..."}}`.
    Org(Org),
    /// A household by pseudonym: `{"household": {"pseudonym": "...", "area": "..."}}`.
    Household(HouseholdRef),
}

impl Party {
    /// The household, if this party is one.
    pub fn household(&self) -> Option<&HouseholdRef> {
        match self {
            Party::Household(h) => Some(h),
            _ => None,
        }
    }
}

/// Funds assigned by one unit to a lower unit or programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    /// Who assigns the funds (usually the publishing member).
    pub payer: Party,
    /// Who receives them: a member (a county) or an organisation.
    pub payee: Party,
    /// How much.
    pub amount: Money,
    /// Where the money comes from; empty for the publisher's own budget.
    #[serde(
        deserialize_with = "super::seq::exact",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub funded_by: Vec<FundingPart>,
    /// What the funds are for.
    pub purpose: Text,
    /// The approving documents, by hash.
    #[serde(
        deserialize_with = "super::seq::exact",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub documents: Vec<Document>,
}

/// Funds received from an upper unit; the payee is the publishing member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The unit that sent the funds.
    pub payer: Party,
    /// How much arrived.
    pub amount: Money,
    /// The upper unit's allocation(s), pinned in their logs; at least one.
    #[serde(deserialize_with = "super::seq::exact")]
    pub funded_by: Vec<FundingPart>,
}

/// Money paid by the publishing member to a final recipient: an organisation or a household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// Who is paid. A household payee carries pseudonym, area and commitment.
    pub payee: Party,
    /// How much.
    pub amount: Money,
    /// The allocations or receipts the money comes from; at least one.
    #[serde(deserialize_with = "super::seq::exact")]
    pub funded_by: Vec<FundingPart>,
    /// What the payment is for.
    pub purpose: Text,
    /// The project the payment belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<Ident>,
    /// Supporting documents (contract, invoice, acceptance), by hash.
    #[serde(
        deserialize_with = "super::seq::exact",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub documents: Vec<Document>,
}

/// The steps of a project's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStage {
    /// Approved, with a budget.
    Approved,
    /// Put out to tender.
    Tendered,
    /// Awarded to a contractor, with a contract value.
    Awarded,
    /// A milestone reached.
    Milestone,
    /// Accepted as complete.
    Accepted,
}

/// One step of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// The project id, shared by all its steps.
    pub project: Ident,
    /// Which step this record states.
    pub stage: ProjectStage,
    /// The project's name.
    pub title: Text,
    /// The budget (approved), ceiling (tendered), contract value (awarded) or amount concerned;
    /// required for `approved` and `awarded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// The contractor; required for `awarded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contractor: Option<Party>,
    /// Where the project is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<AreaCode>,
    /// The funds committed to it, if any.
    #[serde(
        deserialize_with = "super::seq::exact",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub funded_by: Vec<FundingPart>,
    /// Approvals, tender notices, contracts, acceptance reports, by hash; at least one.
    #[serde(deserialize_with = "super::seq::exact")]
    pub documents: Vec<Document>,
}

/// What happened to an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetEvent {
    /// First registered.
    Registered,
    /// Revalued.
    Valued,
    /// Leased to an operator.
    Leased,
    /// Ownership transferred.
    Transferred,
    /// Disposed of.
    Disposed,
}

/// An asset built or bought with public money: who owns, runs, benefits from and supervises it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// The asset id, shared by all its events.
    pub asset: Ident,
    /// What happened.
    pub event: AssetEvent,
    /// What the asset is.
    pub description: Text,
    /// Who owns it (often a village collective).
    pub owner: Party,
    /// Who runs it, if not the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Party>,
    /// Who benefits from its income; at least one.
    #[serde(deserialize_with = "super::seq::exact")]
    pub beneficiaries: Vec<Party>,
    /// Who supervises its use (usually a township).
    pub supervisor: Party,
    /// Its value at this event.
    pub value: Money,
    /// The project or payment that created it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Reference>,
    /// Supporting documents, by hash.
    #[serde(
        deserialize_with = "super::seq::exact",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub documents: Vec<Document>,
}

/// A household's status in a programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HouseholdStatus {
    /// Enrolled for the first time.
    Enrolled,
    /// Exited the programme.
    Exited,
    /// Enrolled again after an exit.
    Reenrolled,
}

/// The period a decision was publicly posted for objections, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticePeriod {
    /// First day of the notice.
    pub start: Date,
    /// Last day of the notice.
    pub end: Date,
}

impl NoticePeriod {
    /// Length in days, both ends included (2024-03-01 to 2024-03-10 is 10 days).
    pub fn days(&self) -> i64 {
        self.start.days_until(&self.end) + 1
    }
}

/// A household enrolled, exited or re-enrolled after public notice. No free text: the basis
/// is a code, and attestations are signatures on the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Household {
    /// The household's pseudonym in this programme.
    pub pseudonym: HexHash,
    /// Its village or township code.
    pub area: AreaCode,
    /// The new status.
    pub status: HouseholdStatus,
    /// The public notice period that preceded the decision.
    pub notice: NoticePeriod,
    /// Why, as a code, e.g. `income_stable`, `newly_eligible`.
    pub basis: Code,
}

/// How serious an auditor's finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Checked, nothing wrong.
    Green,
    /// Needs attention.
    Yellow,
    /// Needs action.
    Red,
}

/// An auditor's finding about records (published in the auditor's log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// The audit rule, e.g. `over_commitment`, `idle_funds`, `short_notice`.
    pub rule: Code,
    /// Green, yellow or red.
    pub severity: Severity,
    /// The records concerned, pinned; at least one.
    #[serde(deserialize_with = "super::seq::exact")]
    pub subjects: Vec<Reference>,
    /// What was found.
    pub summary: Text,
    /// When the check ran.
    pub checked_at: Instant,
    /// Supporting documents, by hash.
    #[serde(
        deserialize_with = "super::seq::exact",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub evidence: Vec<Document>,
}

/// Where a rectification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RectificationStatus {
    /// Action planned.
    Planned,
    /// Action under way.
    InProgress,
    /// Action completed.
    Completed,
    /// The publisher disputes the finding.
    Disputed,
}

/// A publisher's answer to a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rectification {
    /// The finding answered, pinned in the auditor's log.
    pub finding: Reference,
    /// What is being done.
    pub action: Text,
    /// Where it stands.
    pub status: RectificationStatus,
    /// When the action is due, if planned or in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<Date>,
    /// Supporting documents, by hash.
    #[serde(
        deserialize_with = "super::seq::exact",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub documents: Vec<Document>,
}

/// Replaces the current version of an earlier record of this log with a full new content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// The record corrected and the leaf of its current version.
    pub corrects: Pin,
    /// Why.
    pub reason: Text,
    /// The record's new content (same kind, not a correction or void).
    pub replacement: super::envelope::Replacement,
}

/// Withdraws the current version of an earlier record of this log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Void {
    /// The record withdrawn and the leaf of its current version.
    pub voids: Pin,
    /// Why.
    pub reason: Text,
}

/// The kinds of record (DESIGN §4.2); the `kind` field of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// [`Allocation`].
    Allocation,
    /// [`Receipt`].
    Receipt,
    /// [`Payment`].
    Payment,
    /// [`Project`].
    Project,
    /// [`Asset`].
    Asset,
    /// [`Household`].
    Household,
    /// [`Finding`].
    Finding,
    /// [`Rectification`].
    Rectification,
    /// [`Correction`].
    Correction,
    /// [`Void`].
    Void,
}

impl Kind {
    /// Every kind, in the order of DESIGN §4.2.
    pub const ALL: [Kind; 10] = [
        Kind::Allocation,
        Kind::Receipt,
        Kind::Payment,
        Kind::Project,
        Kind::Asset,
        Kind::Household,
        Kind::Finding,
        Kind::Rectification,
        Kind::Correction,
        Kind::Void,
    ];

    /// The `kind` text.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Allocation => "allocation",
            Kind::Receipt => "receipt",
            Kind::Payment => "payment",
            Kind::Project => "project",
            Kind::Asset => "asset",
            Kind::Household => "household",
            Kind::Finding => "finding",
            Kind::Rectification => "rectification",
            Kind::Correction => "correction",
            Kind::Void => "void",
        }
    }

    /// The kind named `text`, if any.
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether records of this kind state facts (rather than correct or void other records).
    pub fn is_factual(self) -> bool {
        !matches!(self, Kind::Correction | Kind::Void)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind-specific content of a record.
///
/// Variants are unboxed (except the recursive correction) so that audit code can match on
/// them directly; records are handled a few at a time, so the size difference is harmless.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    // The larger, rarer kinds are boxed so that every record in memory is the size of a
    // payment (the commonest kind) rather than of an asset: a replayed million-entry network
    // holds a million of these.
    /// An allocation.
    Allocation(Box<Allocation>),
    /// A receipt.
    Receipt(Receipt),
    /// A payment.
    Payment(Payment),
    /// A project step.
    Project(Box<Project>),
    /// An asset event.
    Asset(Box<Asset>),
    /// A household status change.
    Household(Household),
    /// An auditor's finding.
    Finding(Finding),
    /// A rectification.
    Rectification(Rectification),
    /// A correction.
    Correction(Box<Correction>),
    /// A void.
    Void(Void),
}

impl Body {
    /// The record kind of this body.
    pub fn kind(&self) -> Kind {
        match self {
            Body::Allocation(_) => Kind::Allocation,
            Body::Receipt(_) => Kind::Receipt,
            Body::Payment(_) => Kind::Payment,
            Body::Project(_) => Kind::Project,
            Body::Asset(_) => Kind::Asset,
            Body::Household(_) => Kind::Household,
            Body::Finding(_) => Kind::Finding,
            Body::Rectification(_) => Kind::Rectification,
            Body::Correction(_) => Kind::Correction,
            Body::Void(_) => Kind::Void,
        }
    }

    /// The amount the record states, for kinds that have one.
    pub fn amount(&self) -> Option<&Money> {
        match self {
            Body::Allocation(a) => Some(&a.amount),
            Body::Receipt(r) => Some(&r.amount),
            Body::Payment(p) => Some(&p.amount),
            Body::Project(p) => p.amount.as_ref(),
            Body::Asset(a) => Some(&a.value),
            _ => None,
        }
    }

    /// The funding parts of the record (empty for kinds without).
    pub fn funded_by(&self) -> &[FundingPart] {
        match self {
            Body::Allocation(a) => &a.funded_by,
            Body::Receipt(r) => &r.funded_by,
            Body::Payment(p) => &p.funded_by,
            Body::Project(p) => &p.funded_by,
            _ => &[],
        }
    }

    /// Every reference to another record this body holds, with its field path.
    pub fn references(&self) -> Vec<(String, &Reference)> {
        let mut out: Vec<(String, &Reference)> = self
            .funded_by()
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("funded_by[{i}].ref"), &p.reference))
            .collect();
        match self {
            Body::Asset(a) => out.extend(a.source.iter().map(|r| ("source".to_string(), r))),
            Body::Finding(f) => out.extend(
                f.subjects
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (format!("subjects[{i}]"), r)),
            ),
            Body::Rectification(r) => out.push(("finding".to_string(), &r.finding)),
            Body::Correction(c) => out.extend(
                c.replacement
                    .body
                    .references()
                    .into_iter()
                    .map(|(p, r)| (format!("replacement.{p}"), r)),
            ),
            _ => {}
        }
        out
    }
}
