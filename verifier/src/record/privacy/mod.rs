//! Household privacy (DESIGN §4.3): pseudonyms, commitments, openings, and the guard that
//! keeps resident ID, mobile phone and bank card numbers out of the public log, however their
//! digits are written.
//!
//! This file holds the household cryptography:
//!
//! * pseudonym = HMAC-SHA256(programme key, ID number): stable within a programme (so
//!   duplicate and cap checks work), not linkable across programmes, and not brute-forceable
//!   without the key, unlike a plain or salted hash of an 18-digit ID.
//! * commitment = SHA-256 over a domain tag and the length-prefixed pseudonym, rid, amount
//!   (minor units as decimal text), currency and a random 32-byte nonce. Only the household
//!   gets the nonce (its [`Opening`], on its receipt), so it can prove its own entry and
//!   nobody else can link it.
//!
//! The submodule `guard` holds the privacy guard: digit folding, invisible characters and
//! separators, the resident ID, mobile and card number rules, masking, field classes and the
//! search itself. Its public items ([`check_privacy`], [`is_resident_id`],
//! [`is_mobile_number`]) are re-exported here, and the parts the single-pass entry reader
//! (`record::fast`) uses are re-exported to the crate.

mod guard;

use std::borrow::Cow;

use hmac::{Hmac, KeyInit, Mac};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::envelope::SignedRecord;
use super::error::RecordError;
use super::model::{Body, Party};
use super::money::Money;
use super::types::{HexHash, Rid};
use crate::hash::Hash;

pub(crate) use guard::{FieldClass, classify, find_personal, may_hold_personal};
pub use guard::{check_privacy, is_mobile_number, is_resident_id};

/// The domain tag that starts every household commitment.
pub const COMMITMENT_TAG: &[u8] = b"daylight/household-commitment/v1";

/// Why a pseudonym or opening could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivacyError {
    /// The ID number is not an 18-character PRC resident ID with a valid check digit.
    #[error(
        "not a valid 18-character resident ID number (GB 11643 check digit): check the number as written on the ID card"
    )]
    InvalidIdNumber,
    /// The system random number generator failed.
    #[error("could not read randomness from the operating system: {0}")]
    Randomness(String),
}

/// A programme's secret pseudonym key. Only the agency (and, under agreement, its auditors)
/// holds it. `Debug` never shows it.
#[derive(Clone)]
pub struct ProgrammeKey([u8; 32]);

impl ProgrammeKey {
    /// A key from its 32 secret bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ProgrammeKey(bytes)
    }

    /// A fresh random key.
    pub fn generate() -> Result<Self, PrivacyError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| PrivacyError::Randomness(e.to_string()))?;
        Ok(ProgrammeKey(bytes))
    }
}

impl std::fmt::Debug for ProgrammeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgrammeKey(<secret>)")
    }
}

/// The pseudonym of a household in a programme: HMAC-SHA256 under the programme key of the
/// 18-character ID number (a final `x` is taken as `X`). Refuses invalid ID numbers, so a
/// typo cannot create a second pseudonym for one household.
pub fn pseudonym(key: &ProgrammeKey, id_number: &str) -> Result<HexHash, PrivacyError> {
    let normalized = id_number.trim().to_ascii_uppercase();
    if !is_resident_id(&normalized) {
        return Err(PrivacyError::InvalidIdNumber);
    }
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&key.0) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(normalized.as_bytes());
    let out: [u8; 32] = mac.finalize().into_bytes().into();
    Ok(HexHash(Hash(out)))
}

/// The 32 random bytes of a commitment, written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Nonce(pub [u8; 32]);

impl Nonce {
    /// A fresh random nonce.
    pub fn generate() -> Result<Self, PrivacyError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| PrivacyError::Randomness(e.to_string()))?;
        Ok(Nonce(bytes))
    }
}

impl std::fmt::Debug for Nonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Nonce({})", hex::encode(self.0))
    }
}
impl Serialize for Nonce {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}
impl<'de> Deserialize<'de> for Nonce {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::text_serde::from_text(deserializer, "a string of 64 hex digits", |text| {
            HexHash::parse(text).map(|h| Nonce(h.0.0))
        })
    }
}
impl JsonSchema for Nonce {
    fn schema_name() -> Cow<'static, str> {
        "Nonce".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "pattern": "^[0-9a-f]{64}$"})
    }
}

/// What a household's receipt carries besides the proof bundle: everything needed to
/// recompute the commitment in its payment record. Private to the household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Opening {
    /// The household's pseudonym in the programme.
    pub pseudonym: HexHash,
    /// The rid of the payment record.
    pub rid: Rid,
    /// The amount paid.
    pub amount: Money,
    /// The random nonce only the household knows.
    pub nonce: Nonce,
}

fn length_prefixed(hasher: &mut Sha256, bytes: &[u8]) {
    // Fields are far below 4 GiB; a longer one would be a bug, and saturating keeps it
    // deterministic.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    hasher.update(len.to_be_bytes());
    hasher.update(bytes);
}

impl Opening {
    /// An opening with a fresh random nonce, for a payment about to be published.
    pub fn new(pseudonym: HexHash, rid: Rid, amount: Money) -> Result<Self, PrivacyError> {
        Ok(Opening {
            pseudonym,
            rid,
            amount,
            nonce: Nonce::generate()?,
        })
    }

    /// The commitment: SHA-256 of `len‖tag`, `len‖pseudonym (32 bytes)`, `len‖rid`,
    /// `len‖minor units as decimal text`, `len‖currency code`, `len‖nonce (32 bytes)`, each
    /// `len` a 4-byte big-endian byte count.
    pub fn commitment(&self) -> HexHash {
        let mut hasher = Sha256::new();
        length_prefixed(&mut hasher, COMMITMENT_TAG);
        length_prefixed(&mut hasher, &self.pseudonym.0.0);
        length_prefixed(&mut hasher, self.rid.as_str().as_bytes());
        length_prefixed(&mut hasher, self.amount.minor.to_string().as_bytes());
        length_prefixed(&mut hasher, self.amount.currency.code().as_bytes());
        length_prefixed(&mut hasher, &self.nonce.0);
        HexHash(Hash(hasher.finalize().into()))
    }

    /// Checks this opening against a logged payment: same rid, a household payee with this
    /// pseudonym, the same amount, and a commitment equal to the recomputed one.
    pub fn verify(&self, record: &SignedRecord) -> Result<(), RecordError> {
        let r = &record.record;
        if r.rid != self.rid {
            return Err(RecordError::new(
                "rid",
                format!("is {}, but the opening is for {}", r.rid, self.rid),
            ));
        }
        let Body::Payment(payment) = &r.body else {
            return Err(RecordError::new(
                "kind",
                format!("is {}: an opening is for a payment", r.kind()),
            ));
        };
        let Party::Household(h) = &payment.payee else {
            return Err(RecordError::new(
                "payee",
                "is not a household: an opening is for a payment to a household",
            ));
        };
        if h.pseudonym != self.pseudonym {
            return Err(RecordError::new(
                "payee.household.pseudonym",
                "differs from the opening's: this payment is not to this household",
            ));
        }
        if payment.amount != self.amount {
            return Err(RecordError::new(
                "amount",
                format!(
                    "is {}, but the opening says {}",
                    payment.amount, self.amount
                ),
            ));
        }
        if h.commitment != Some(self.commitment()) {
            return Err(RecordError::new(
                "payee.household.commitment",
                "does not match the opening: the receipt's nonce or the logged record is wrong",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_depend_on_the_key_and_normalize_x() {
        let k1 = ProgrammeKey::from_bytes([1; 32]);
        let k2 = ProgrammeKey::from_bytes([2; 32]);
        let a = pseudonym(&k1, "11010519491231002X").unwrap();
        assert_eq!(a, pseudonym(&k1, "11010519491231002x").unwrap());
        assert_ne!(a, pseudonym(&k2, "11010519491231002X").unwrap());
        assert_eq!(
            pseudonym(&k1, "110105194912310021"),
            Err(PrivacyError::InvalidIdNumber)
        );
        assert_eq!(format!("{k1:?}"), "ProgrammeKey(<secret>)");
    }
}
