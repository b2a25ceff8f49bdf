//! Records: what agencies publish, how it is encoded so anyone can recompute its hash, who
//! signs it, how households stay private, and what a log's records currently say.
//!
//! * [`model`] and [`envelope`] — the ten record kinds of DESIGN §4.2 in one flat JSON object
//!   (`v`, `rid`, `kind`, `event_date`, `program`, kind fields, `signatures`); unknown fields
//!   are refused. Scalars are validated types ([`types`], [`money`]).
//! * [`canonical`] — RFC 8785 (JCS) entry bytes and [`is_canonical`].
//! * [`validate`](mod@validate) — cross-field rules with errors that name the field path.
//! * [`signing`] — the operator's signature and attestations, verified against accepted keys.
//! * [`privacy`] — pseudonyms, commitments, openings and the ID/phone-number guard.
//! * [`state`] — the current state of each rid after corrections and voids.
//! * [`schema`] — JSON Schemas generated from the types.
//!
//! [`check_record`] runs all the checks a node applies to a submitted record.
//! See `docs/records.md` for the format with examples.

pub mod canonical;
pub mod envelope;
pub mod error;
mod fast;
pub mod model;
pub mod money;
pub mod privacy;
pub mod schema;
mod seq;
pub mod signing;
pub mod state;
pub mod types;
pub mod validate;

pub use canonical::{canonicalize, is_canonical, leaf_hash, signing_bytes, to_entry_bytes};
pub use envelope::{Record, RecordSignature, Replacement, SignatureBytes, SignedRecord, VERSION};
pub use error::RecordError;
pub use model::{
    Allocation, Asset, AssetEvent, Body, Correction, Document, Finding, FundingPart, Household,
    HouseholdRef, HouseholdStatus, Kind, NoticePeriod, Org, Party, Payment, Pin, Project,
    ProjectStage, Receipt, Rectification, RectificationStatus, Reference, Severity, Void,
};
pub use money::{Currency, Minor, Money};
pub use privacy::{Opening, ProgrammeKey, check_privacy, pseudonym};
pub use signing::{
    AcceptedKeys, Attestation, PendingSignatures, VerifiedSignatures, prepare_signatures,
    verify_signatures,
};
pub use state::{LogState, RidState, StateIssue, StateProblem, Status};
pub use types::{AreaCode, Code, Date, HexHash, Ident, Instant, MemberId, Rid, Text, Uscc};
pub use validate::{MAX_ENTRY_SIZE, validate, validate_all, validate_entry};

/// A record that passed every check a node applies before logging it.
#[derive(Debug, Clone)]
pub struct CheckedRecord {
    /// The parsed record.
    pub record: SignedRecord,
    /// Its canonical entry bytes (what the log stores and hashes).
    pub entry: Vec<u8>,
    /// Who signed it, in which roles.
    pub signatures: VerifiedSignatures,
}

/// Runs every check on a submitted record for the log of `member`, in order: JSON and shape,
/// cross-field rules and size, the privacy guard, then signatures against `keys`. Returns the
/// first problem, with its field path.
///
/// References to other records are only checked for form here; whether they resolve is for
/// the node, which holds the logs.
pub fn check_record(
    json: &[u8],
    member: &MemberId,
    keys: &AcceptedKeys,
) -> Result<CheckedRecord, RecordError> {
    let prepared = prepare_record(json, member, keys)?;
    Ok(CheckedRecord {
        signatures: prepared.signatures.verify()?,
        record: prepared.record,
        entry: prepared.entry,
    })
}

/// A record that passed every check of [`check_record`] except the Ed25519 arithmetic of its
/// signatures, which the caller does — typically in a batch over many records.
#[derive(Debug, Clone)]
pub struct PreparedRecord {
    /// The parsed record.
    pub record: SignedRecord,
    /// Its canonical entry bytes.
    pub entry: Vec<u8>,
    /// Its signatures, still to verify.
    pub signatures: PendingSignatures,
}

/// Runs [`check_record`]'s checks except signature verification.
pub fn prepare_record(
    json: &[u8],
    member: &MemberId,
    keys: &AcceptedKeys,
) -> Result<PreparedRecord, RecordError> {
    let record = SignedRecord::from_json(json)?;
    validate(&record, member)?;
    check_privacy(&record)?;
    let signatures = prepare_signatures(&record, keys)?;
    let entry = to_entry_bytes(&record);
    Ok(PreparedRecord {
        record,
        entry,
        signatures,
    })
}
