//! The rules that span fields: rid prefixes, references, funding sums, per-kind requirements
//! and the entry size limit.
//!
//! Parsing ([`SignedRecord::from_value`]) already guarantees every scalar is well formed;
//! these checks say whether the record as a whole makes sense for the member publishing it.

use super::canonical::to_entry_bytes;
use super::envelope::SignedRecord;
use super::error::{ROOT, RecordError, index, join};
use super::model::{Body, FundingPart, Party, ProjectStage, Reference};
use super::money::Money;
use super::types::{Date, MemberId};

/// The largest entry a log accepts, in bytes: 64 KiB − 1, since tile bundles prefix each entry
/// with a big-endian u16 length (DESIGN §3.2).
pub const MAX_ENTRY_SIZE: usize = 65_535;

/// Refuses entries longer than [`MAX_ENTRY_SIZE`].
pub fn check_size(len: usize) -> Result<(), RecordError> {
    if len > MAX_ENTRY_SIZE {
        Err(RecordError::root(format!(
            "entry is {len} bytes, more than the {MAX_ENTRY_SIZE}-byte limit: split the record or move detail into documents referenced by hash"
        )))
    } else {
        Ok(())
    }
}

/// Checks a parsed record against every rule for the log of `member`; returns the first
/// problem found.
pub fn validate(record: &SignedRecord, member: &MemberId) -> Result<(), RecordError> {
    match validate_all(record, member).into_iter().next() {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Checks a parsed record against every rule for the log of `member`; returns all problems, in
/// field order, so a publisher can fix them in one pass.
pub fn validate_all(record: &SignedRecord, member: &MemberId) -> Vec<RecordError> {
    let mut errors = validate_fields(record, member);
    if let Err(e) = check_size(to_entry_bytes(record).len()) {
        errors.push(e);
    }
    errors
}

/// [`validate`] for a record read with [`SignedRecord::from_entry`], whose entry bytes are
/// already known to be canonical and within [`MAX_ENTRY_SIZE`]: skips re-serializing it to
/// measure its size (the audit reads a million entries this way).
pub fn validate_entry(record: &SignedRecord, member: &MemberId) -> Result<(), RecordError> {
    match validate_fields(record, member).into_iter().next() {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Every rule but the entry size.
fn validate_fields(record: &SignedRecord, member: &MemberId) -> Vec<RecordError> {
    let mut c = Checks {
        errors: Vec::new(),
        member,
    };
    let r = &record.record;
    if !r.rid.belongs_to(member) {
        c.fail(
            "rid",
            format!(
                "must start with \"{member}-\": this record is published in the log of \
                 {member}, and a rid names the log it belongs to; if the record is another \
                 member's, send it to that member's node"
            ),
        );
    }
    c.body(&r.body, &At::Root, &r.event_date, r.rid.as_str());
    if record.signatures.is_empty() {
        c.fail(
            "signatures",
            "must hold at least one signature: the operator's",
        );
    }
    c.errors
}

struct Checks<'a> {
    errors: Vec<RecordError>,
    member: &'a MemberId,
}

/// Where a value is in the record, written out only when a check of it fails: a valid record
/// (a million of them in an export) makes no path strings.
enum At<'p> {
    /// The record itself.
    Root,
    /// A field of an object.
    Field(&'p At<'p>, &'static str),
    /// An item of a list.
    Item(&'p At<'p>, usize),
}

impl At<'_> {
    /// The path as errors name it: `funded_by[1].amount`.
    fn path(&self) -> String {
        match self {
            At::Root => ROOT.to_string(),
            At::Field(parent, field) => join(&parent.path(), field),
            At::Item(parent, i) => index(&parent.path(), *i),
        }
    }

    fn field(&self, field: &'static str) -> At<'_> {
        At::Field(self, field)
    }

    fn item(&self, i: usize) -> At<'_> {
        At::Item(self, i)
    }
}

impl Checks<'_> {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(RecordError::new(path, message));
    }

    fn positive(&mut self, amount: &Money, at: &At<'_>) {
        if amount.minor.0 == 0 {
            self.fail(
                at.field("minor").path(),
                "must be greater than zero: a record of no money states nothing",
            );
        }
    }

    fn reference(&mut self, reference: &Reference, at: &At<'_>) {
        if !reference.rid.belongs_to(&reference.log) {
            self.fail(
                at.field("rid").path(),
                format!(
                    "must start with the log's member id followed by '-' (\"{}-...\")",
                    reference.log
                ),
            );
        }
    }

    fn party(&mut self, party: &Party, at: &At<'_>, commitment_allowed: bool) {
        if let Party::Household(h) = party
            && h.commitment.is_some()
            && !commitment_allowed
        {
            self.fail(
                at.field("household").field("commitment").path(),
                "is only for the payee of a payment: remove it here",
            );
        }
    }

    /// Checks the funding parts against the amount: same currency, each positive, no source
    /// cited twice, and the sum equal to the amount.
    fn funding(&mut self, parts: &[FundingPart], amount: &Money, prefix: &At<'_>, required: bool) {
        let list = prefix.field("funded_by");
        if parts.is_empty() {
            if required {
                self.fail(
                    list.path(),
                    "must cite at least one source of the money (the allocation or receipt it comes from)",
                );
            }
            return;
        }
        let mut sum: u128 = 0;
        let mut currencies_match = true;
        for (i, part) in parts.iter().enumerate() {
            let at = list.item(i);
            self.reference(&part.reference, &at.field("ref"));
            let amount_at = at.field("amount");
            if part.amount.currency != amount.currency {
                currencies_match = false;
                self.fail(
                    amount_at.field("currency").path(),
                    format!(
                        "must be {}, the currency of the record's amount",
                        amount.currency
                    ),
                );
            }
            self.positive(&part.amount, &amount_at);
            if let Some(j) = parts[..i]
                .iter()
                .position(|q| q.reference == part.reference)
            {
                self.fail(
                    at.field("ref").path(),
                    format!("cites the same record version as funded_by[{j}]: merge the two parts"),
                );
            }
            sum += u128::from(part.amount.minor.0);
        }
        if currencies_match && sum != u128::from(amount.minor.0) {
            self.fail(
                list.path(),
                format!(
                    "parts sum to {sum} minor units but the amount is {}: the parts must add up to the amount exactly",
                    amount.minor
                ),
            );
        }
    }

    fn body(&mut self, body: &Body, prefix: &At<'_>, event_date: &Date, own_rid: &str) {
        let at = |field: &'static str| prefix.field(field);
        match body {
            Body::Allocation(a) => {
                self.party(&a.payer, &at("payer"), false);
                if a.payee.household().is_some() {
                    self.fail(
                        at("payee").path(),
                        "an allocation goes to a member or an organisation: pay a household with a payment",
                    );
                }
                self.positive(&a.amount, &at("amount"));
                self.funding(&a.funded_by, &a.amount, prefix, false);
            }
            Body::Receipt(r) => {
                self.party(&r.payer, &at("payer"), false);
                self.positive(&r.amount, &at("amount"));
                self.funding(&r.funded_by, &r.amount, prefix, true);
            }
            Body::Payment(p) => {
                match &p.payee {
                    Party::Member(_) => self.fail(
                        at("payee").path(),
                        "a payment goes to a final recipient, an organisation or a household: transfer to a member with an allocation",
                    ),
                    Party::Household(h) if h.commitment.is_none() => self.fail(
                        at("payee.household.commitment").path(),
                        "is required on a payment to a household: compute it from the household's opening (DESIGN §4.3)",
                    ),
                    _ => {}
                }
                self.positive(&p.amount, &at("amount"));
                self.funding(&p.funded_by, &p.amount, prefix, true);
            }
            Body::Project(p) => {
                let needs_amount =
                    matches!(p.stage, ProjectStage::Approved | ProjectStage::Awarded);
                match &p.amount {
                    None if needs_amount => self.fail(
                        at("amount").path(),
                        format!(
                            "is required at stage {:?}: the budget or contract value",
                            stage_name(p.stage)
                        ),
                    ),
                    None if !p.funded_by.is_empty() => {
                        self.fail(at("amount").path(), "is required when funded_by is given")
                    }
                    Some(amount) => {
                        self.positive(amount, &at("amount"));
                        self.funding(&p.funded_by, amount, prefix, false);
                    }
                    None => {}
                }
                match &p.contractor {
                    None if p.stage == ProjectStage::Awarded => self.fail(
                        at("contractor").path(),
                        "is required at stage \"awarded\": who won the contract",
                    ),
                    Some(party) => self.party(party, &at("contractor"), false),
                    None => {}
                }
                if p.documents.is_empty() {
                    self.fail(
                        at("documents").path(),
                        "must list at least one document by hash (approval, tender notice, contract or acceptance report)",
                    );
                }
            }
            Body::Asset(a) => {
                self.party(&a.owner, &at("owner"), false);
                if let Some(op) = &a.operator {
                    self.party(op, &at("operator"), false);
                } else if a.event == super::model::AssetEvent::Leased {
                    self.fail(
                        at("operator").path(),
                        "is required when the asset is leased: who runs it",
                    );
                }
                if a.beneficiaries.is_empty() {
                    self.fail(
                        at("beneficiaries").path(),
                        "must name at least one beneficiary",
                    );
                }
                for (i, b) in a.beneficiaries.iter().enumerate() {
                    self.party(b, &at("beneficiaries").item(i), false);
                }
                self.party(&a.supervisor, &at("supervisor"), false);
                if let Some(source) = &a.source {
                    self.reference(source, &at("source"));
                }
            }
            Body::Household(h) => {
                if h.notice.end < h.notice.start {
                    self.fail(at("notice.end").path(), "must not be before notice.start");
                } else if *event_date <= h.notice.end {
                    self.fail(
                        at("event_date").path(),
                        format!(
                            "the decision must come after the public notice has ended (notice.end is {})",
                            h.notice.end
                        ),
                    );
                }
            }
            Body::Finding(f) => {
                if f.subjects.is_empty() {
                    self.fail(
                        at("subjects").path(),
                        "must cite at least one record the finding is about",
                    );
                }
                for (i, s) in f.subjects.iter().enumerate() {
                    self.reference(s, &at("subjects").item(i));
                }
            }
            Body::Rectification(r) => self.reference(&r.finding, &at("finding")),
            Body::Correction(c) => {
                self.own_pin(&c.corrects.rid, &at("corrects.rid"), own_rid);
                let r = &c.replacement;
                self.body(&r.body, &at("replacement"), &r.event_date, own_rid);
            }
            Body::Void(v) => self.own_pin(&v.voids.rid, &at("voids.rid"), own_rid),
        }
    }

    fn own_pin(&mut self, rid: &super::types::Rid, at: &At<'_>, own_rid: &str) {
        if !rid.belongs_to(self.member) {
            self.fail(
                at.path(),
                format!(
                    "must be a record of this log (\"{}-...\"): a member corrects and voids only its own records",
                    self.member
                ),
            );
        } else if rid.as_str() == own_rid {
            self.fail(at.path(), "must name an earlier record, not this one");
        }
    }
}

fn stage_name(stage: ProjectStage) -> &'static str {
    match stage {
        ProjectStage::Approved => "approved",
        ProjectStage::Tendered => "tendered",
        ProjectStage::Awarded => "awarded",
        ProjectStage::Milestone => "milestone",
        ProjectStage::Accepted => "accepted",
    }
}
