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
    AcceptedKeys, Attestation, PendingSignatures, Revocation, VerifiedSignatures,
    prepare_signatures, verify_signatures,
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
///
/// Every check runs on every record, in the same order with the same first error whatever the
/// path: parsing and shape, the field rules, the entry size, the privacy guard, then the
/// signers. The work per record is done once:
/// * a record submitted in canonical form (what `daylight publish` sends) is parsed once,
///   straight from its bytes by the entry reader (`record::fast`), which also screens it for
///   the privacy guard; its text *is* its entry bytes and its signing bytes are cut from
///   them, so it is never serialized again;
/// * any other text is parsed by the full reader and serialized once (JCS) into its entry
///   bytes, from which the size is measured and the signing bytes are cut.
pub fn prepare_record(
    json: &[u8],
    member: &MemberId,
    keys: &AcceptedKeys,
) -> Result<PreparedRecord, RecordError> {
    if let Some(read) = fast::read_submission(json) {
        // Invariant (record::fast): `read.record` is what the full reader returns for `json`,
        // `json` is its entry bytes, and `read.signing` its signing bytes.
        let fast::FastRead {
            record,
            maybe_personal,
            signing,
        } = read;
        validate::validate_entry(&record, member)?;
        validate::check_size(json.len())?;
        if maybe_personal {
            check_privacy(&record)?;
        }
        let signatures = signing::prepare_signatures_over(&record, keys, || signing)?;
        return Ok(PreparedRecord {
            record,
            entry: json.to_vec(),
            signatures,
        });
    }
    let record = SignedRecord::from_json(json)?;
    let entry = to_entry_bytes(&record);
    // What `validate` does, with the size of the entry bytes already made.
    validate::validate_entry(&record, member)?;
    validate::check_size(entry.len())?;
    check_privacy(&record)?;
    let signatures = signing::prepare_signatures_over(&record, keys, || {
        canonical::signing_bytes_from_entry(&entry).unwrap_or_else(|| signing_bytes(&record.record))
    })?;
    Ok(PreparedRecord {
        record,
        entry,
        signatures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{KeyType, SigningKey};

    fn signed(purpose: &str) -> (serde_json::Value, SigningKey) {
        let key = SigningKey::generate("county-1-clerk", KeyType::Ed25519).unwrap();
        let record = Record::from_value(serde_json::json!({
            "v": 1, "rid": "county-1-a-1", "kind": "allocation",
            "event_date": "2024-03-05", "program": "r24",
            "payer": {"member": "county-1"},
            "payee": {"org": {"name": "Coop"}},
            "amount": {"minor": "100000", "currency": "CNY"},
            "purpose": purpose
        }))
        .unwrap()
        .sign(&key);
        (serde_json::to_value(&record).unwrap(), key)
    }

    /// The single-parse path (canonical text) and the full path (any other text) give the
    /// same record, entry bytes, signing bytes and errors.
    #[test]
    fn canonical_and_other_text_prepare_alike() {
        let member = MemberId::parse("county-1").unwrap();
        for purpose in [
            "Road repair",
            "Road \"repair\", section 2 \\ 3",
            "Call 13812345678",
        ] {
            let (value, key) = signed(purpose);
            let keys = AcceptedKeys::new().with_operator(key.verifier());
            let canonical = serde_json::to_vec(&value).unwrap();
            let pretty = serde_json::to_vec_pretty(&value).unwrap();
            let fast = prepare_record(&canonical, &member, &keys);
            let full = prepare_record(&pretty, &member, &keys);
            match (fast, full) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.record, b.record);
                    assert_eq!(a.entry, b.entry);
                    assert_eq!(a.entry, canonical);
                    assert_eq!(a.signatures.message, b.signatures.message);
                    assert_eq!(a.signatures.message, signing_bytes(&a.record.record));
                    assert!(a.signatures.verify().is_ok());
                }
                (Err(a), Err(b)) => {
                    assert_eq!(a.to_string(), b.to_string());
                    assert!(purpose.contains("138"), "{a}");
                }
                (a, b) => panic!("paths disagree: {a:?} / {b:?}"),
            }
            // Other members and unknown keys are refused alike on both paths.
            let other = MemberId::parse("county-2").unwrap();
            let a = prepare_record(&canonical, &other, &keys).unwrap_err();
            let b = prepare_record(&pretty, &other, &keys).unwrap_err();
            assert_eq!(a.to_string(), b.to_string());
            let none = AcceptedKeys::new();
            if !purpose.contains("138") {
                let a = prepare_record(&canonical, &member, &none).unwrap_err();
                let b = prepare_record(&pretty, &member, &none).unwrap_err();
                assert_eq!(a.to_string(), b.to_string());
            }
        }
    }

    /// A changed record still fails its signature on the single-parse path.
    #[test]
    fn a_changed_canonical_record_fails_its_signature() {
        let member = MemberId::parse("county-1").unwrap();
        let (mut value, key) = signed("Road repair");
        value["purpose"] = "Road repairs".into();
        let keys = AcceptedKeys::new().with_operator(key.verifier());
        let prepared =
            prepare_record(&serde_json::to_vec(&value).unwrap(), &member, &keys).unwrap();
        assert!(prepared.signatures.verify().is_err());
    }
}
