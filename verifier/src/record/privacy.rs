//! Household privacy (DESIGN §4.3): pseudonyms, commitments, openings, and the guard that
//! keeps ID and phone numbers out of the public log.
//!
//! * pseudonym = HMAC-SHA256(programme key, ID number): stable within a programme (so
//!   duplicate and cap checks work), not linkable across programmes, and not brute-forceable
//!   without the key, unlike a plain or salted hash of an 18-digit ID.
//! * commitment = SHA-256 over a domain tag and the length-prefixed pseudonym, rid, amount
//!   (minor units as decimal text), currency and a random 32-byte nonce. Only the household
//!   gets the nonce (its [`Opening`], on its receipt), so it can prove its own entry and
//!   nobody else can link it.

use std::borrow::Cow;

use hmac::{Hmac, KeyInit, Mac};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::envelope::SignedRecord;
use super::error::{ROOT, RecordError, index, join};
use super::model::{Body, Party};
use super::money::Money;
use super::types::{Date, HexHash, Rid};
use crate::hash::Hash;

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

// ---------------------------------------------------------------------------------------
// The guard.

/// The GB 11643 weights of the first 17 digits of a resident ID number.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each weighted sum modulo 11.
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// Whether `text` is exactly an 18-character PRC resident ID number: an area code starting
/// 1-8, a real birth date from 1900 to 2099, a sequence number, and a valid GB 11643 check
/// character (`0-9` or `X`, lowercase `x` accepted).
pub fn is_resident_id(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) || !(b'1'..=b'8').contains(&b[0]) {
        return false;
    }
    let birth = format!("{}-{}-{}", &text[6..10], &text[10..12], &text[12..14]);
    match Date::parse(&birth) {
        Ok(d) if (1900..=2099).contains(&d.year()) => {}
        _ => return false,
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    ID_CHECK[(sum % 11) as usize] == b[17].to_ascii_uppercase()
}

/// Whether `text` is exactly a PRC mobile number: 11 digits `1[3-9]xxxxxxxxx`, optionally
/// after `+86` or `86`.
pub fn is_mobile_number(text: &str) -> bool {
    let rest = text
        .strip_prefix("+86")
        .or_else(|| text.strip_prefix("86").filter(|r| r.len() == 11))
        .unwrap_or(text);
    let b = rest.as_bytes();
    b.len() == 11
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
}

/// Whether `text` holds at least the 11 digits of the shortest personal number (a mobile
/// number; an ID has 17 or 18). Nearly every value (dates, rids, amounts) has fewer, and this
/// test, run on every string of every entry, spares them the full search.
pub(crate) fn enough_digits(text: &[u8]) -> bool {
    text.iter().filter(|b| b.is_ascii_digit()).count() >= 11
}

/// What kind of personal number a string holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Personal {
    IdNumber,
    Mobile,
}

/// The maximal runs of ASCII digits in `b`, as byte ranges, left to right. An iterator, not a
/// list: it runs on every digit-heavy string of every entry (hashes in hex), and allocating
/// there cost more than the search.
fn digit_runs(b: &[u8]) -> impl Iterator<Item = (usize, usize)> + Clone + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() && !b[i].is_ascii_digit() {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        (start < i).then_some((start, i))
    })
}

/// Finds a resident ID or mobile number anywhere in `text`: maximal runs of digits (an ID
/// may end in `X`), `+86`/`86` prefixes, and the 3-4-4 grouping `138-1234-5678` or
/// `138 1234 5678`. Returns the match.
pub(crate) fn find_personal(text: &str, check_mobile: bool) -> Option<(Personal, String)> {
    let b = text.as_bytes();
    if !enough_digits(b) {
        return None;
    }
    let mut runs = digit_runs(b);
    while let Some((start, end)) = runs.next() {
        let run = &text[start..end];
        // An ID number: 18 digits, or 17 digits and an X, not glued to more letters/digits.
        let with_x =
            (end < b.len() && matches!(b[end], b'X' | b'x')).then(|| &text[start..end + 1]);
        for candidate in [Some(run), with_x].into_iter().flatten() {
            let after = start + candidate.len();
            let glued = after < b.len() && b[after].is_ascii_alphanumeric();
            if !glued && is_resident_id(candidate) {
                return Some((Personal::IdNumber, candidate.to_string()));
            }
        }
        if !check_mobile {
            continue;
        }
        if is_mobile_number(run) {
            return Some((Personal::Mobile, run.to_string()));
        }
        // 3-4-4 grouping with one '-' or ' ' between groups.
        let mut ahead = runs.clone();
        if run.len() == 3
            && let (Some((s2, e2)), Some((s3, e3))) = (ahead.next(), ahead.next())
        {
            let sep = |at: usize| matches!(b[at], b'-' | b' ');
            if s2 == end + 1 && sep(end) && e2 - s2 == 4 && s3 == e2 + 1 && sep(e2) && e3 - s3 == 4
            {
                let joined = format!("{run}{}{}", &text[s2..e2], &text[s3..e3]);
                if is_mobile_number(&joined) {
                    return Some((Personal::Mobile, text[start..e3].to_string()));
                }
            }
        }
    }
    None
}

/// Masks all but the first three and last two characters, so error messages and logs never
/// repeat a personal number in full.
fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 5 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..3].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 5));
    out.extend(&chars[chars.len() - 2..]);
    out
}

/// How the guard treats a field, by its name (the model gives each name one type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldClass {
    /// Free strings (names, purposes, reasons, identifiers): both rules apply.
    Free,
    /// Typed amounts (`minor`): an 11-digit amount is legitimate (138,000,000.00 CNY), so only
    /// the ID rule applies (an 18-digit amount exceeds any public budget).
    Amount,
    /// Fixed formats validated when parsed (hex hashes, check-digit codes): skipped.
    Exempt,
}

pub(crate) fn classify(field: &[u8]) -> FieldClass {
    match field {
        b"minor" => FieldClass::Amount,
        b"leaf" | b"sha256" | b"pseudonym" | b"commitment" | b"uscc" => FieldClass::Exempt,
        _ => FieldClass::Free,
    }
}

/// Refuses a record holding a value shaped like a PRC resident ID number (with a valid check
/// digit) or a mobile phone number, naming the field. See
/// `docs/decisions/0004-privacy-guard.md` for which fields are checked and how.
///
/// Signatures are not checked (vkeys and base64 are checked by signature verification).
pub fn check_privacy(record: &SignedRecord) -> Result<(), RecordError> {
    let mut object = record.record.to_object();
    object.remove("signatures");
    match find_in(&Value::Object(object), ROOT, FieldClass::Free) {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

fn find_in(value: &Value, path: &str, class: FieldClass) -> Option<RecordError> {
    match value {
        Value::String(text) => {
            if class == FieldClass::Exempt {
                return None;
            }
            let (what, found) = find_personal(text, class == FieldClass::Free)?;
            let what = match what {
                Personal::IdNumber => "a resident ID number",
                Personal::Mobile => "a mobile phone number",
            };
            Some(RecordError::new(
                path,
                format!(
                    "holds what looks like {what} ({}): the public log must never hold ID or phone numbers (DESIGN §4.3); identify households by pseudonym only",
                    mask(&found)
                ),
            ))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_in(v, &index(path, i), class)),
        Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| find_in(v, &join(path, k), classify(k.as_bytes()))),
        Value::Number(n) => {
            let text = n.to_string();
            let (_, found) = find_personal(&text, class == FieldClass::Free)?;
            Some(RecordError::new(
                path,
                format!(
                    "holds a number shaped like an ID or phone number ({}): remove it",
                    mask(&found)
                ),
            ))
        }
        Value::Bool(_) | Value::Null => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_ids_need_a_valid_check_digit_and_birth_date() {
        // The GB 11643 example number.
        assert!(is_resident_id("11010519491231002X"));
        assert!(is_resident_id("11010519491231002x"));
        assert!(!is_resident_id("110105194912310021"));
        assert!(!is_resident_id("11010519491331002X")); // month 13
        assert!(!is_resident_id("01010519491231002X")); // area 0
        assert!(!is_resident_id("11010519491231002"));
    }

    #[test]
    fn mobile_numbers() {
        assert!(is_mobile_number("13812345678"));
        assert!(is_mobile_number("+8613812345678"));
        assert!(is_mobile_number("8613812345678"));
        assert!(!is_mobile_number("12812345678"));
        assert!(!is_mobile_number("1381234567"));
    }

    #[test]
    fn finding_numbers_inside_text() {
        let find = |t: &str| find_personal(t, true).map(|(p, _)| p);
        assert_eq!(find("call 138-1234-5678 now"), Some(Personal::Mobile));
        assert_eq!(find("call 138 1234 5678"), Some(Personal::Mobile));
        assert_eq!(find("tel:+8613812345678"), Some(Personal::Mobile));
        assert_eq!(find("id 11010519491231002X."), Some(Personal::IdNumber));
        assert_eq!(find("village 320206101201"), None);
        assert_eq!(find("138123456789"), None); // 12 digits: not a phone
        assert_eq!(find("county-320206-2024-000123"), None);
        assert_eq!(find_personal("13800000000", false), None);
        assert_eq!(mask("13812345678"), "138******78");
    }

    #[test]
    fn the_digit_count_shortcut_keeps_every_personal_number() {
        // The shortest personal numbers have exactly 11 digits; 10 cannot be one.
        assert!(enough_digits(b"138-1234-5678"));
        assert!(!enough_digits(b"138-1234-567"));
        for text in ["13812345678", "138 1234 5678", "11010519491231002X"] {
            assert!(enough_digits(text.as_bytes()), "{text}");
            assert!(find_personal(text, true).is_some(), "{text}");
        }
    }

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
