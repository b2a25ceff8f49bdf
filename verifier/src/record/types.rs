//! Validated scalar types of the record model: identifiers, codes, text, dates, instants and
//! hex hashes.
//!
//! Each type can only hold a valid value: its parser (also used by serde) refuses anything
//! else with a message that says what a valid value looks like. A record that deserializes
//! therefore has well-formed scalars everywhere, and the error names the field that is not.

use std::borrow::Cow;
use std::fmt;

use compact_str::CompactString;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::hash::Hash;

/// Implements `Display`, `Serialize`, `Deserialize` (through `parse`), `FromStr` and
/// `JsonSchema` for a validated type whose text form is `as_str()`.
macro_rules! text_type {
    ($ty:ident, $schema:expr) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $ty::parse(s)
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::text_serde::from_text(deserializer, "a string", $ty::parse)
            }
        }
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                stringify!($ty).into()
            }
            fn inline_schema() -> bool {
                true
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}
pub(crate) use text_type;

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// The id of a network member (a publisher or auditor), e.g. `county-320206`.
///
/// 1 to 63 characters of `a-z`, `0-9` and `-`, starting and ending with a letter or digit.
/// It names the member's log: the log origin is `<network>/<member id>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberId(CompactString);

impl MemberId {
    /// Parses a member id.
    pub fn parse(text: &str) -> Result<Self, String> {
        let b = text.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 63
            && b.iter().all(|&c| is_alnum(c) || c == b'-')
            && is_alnum(b[0])
            && is_alnum(b[b.len() - 1]);
        if ok {
            Ok(MemberId(CompactString::new(text)))
        } else {
            Err("must be a member id: 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit (e.g. \"county-320206\")".into())
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
text_type!(
    MemberId,
    json_schema!({"type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"})
);

/// An identifier: a record id, a programme, a project or an asset id.
///
/// 1 to 128 characters of ASCII letters, digits, `.`, `_` and `-`, starting with a letter or
/// digit. Identifiers are never reused or changed (DESIGN §4.1).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ident(CompactString);

impl Ident {
    /// Parses an identifier.
    pub fn parse(text: &str) -> Result<Self, String> {
        let b = text.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 128
            && b[0].is_ascii_alphanumeric()
            && b.iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
        if ok {
            Ok(Ident(CompactString::new(text)))
        } else {
            Err("must be an identifier: 1-128 characters of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit".into())
        }
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this identifier, as a record id, belongs to `member`: it is `<member id>-<rest>`
    /// with a non-empty rest.
    pub fn belongs_to(&self, member: &MemberId) -> bool {
        self.0
            .strip_prefix(member.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|rest| !rest.is_empty())
    }
}
text_type!(
    Ident,
    json_schema!({"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"})
);

/// A record id: an [`Ident`] written `<member id>-<local part>`, unique in its log.
pub type Rid = Ident;

/// A machine-readable code in snake case, e.g. a finding rule `over_commitment`, an exit basis
/// `income_stable`, an attestor role `village_committee`.
///
/// 1 to 64 characters of `a-z`, `0-9` and `_`, starting with a letter. Codes instead of free
/// text keep personal details out of household records (DESIGN §4.3).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code(CompactString);

impl Code {
    /// Parses a code.
    pub fn parse(text: &str) -> Result<Self, String> {
        let b = text.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 64
            && b[0].is_ascii_lowercase()
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_');
        if ok {
            Ok(Code(CompactString::new(text)))
        } else {
            Err("must be a code: 1-64 characters of a-z, 0-9 and '_', starting with a letter (e.g. \"income_stable\")".into())
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
text_type!(
    Code,
    json_schema!({"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"})
);

/// A PRC administrative division code (GB/T 2260 and its extensions): 6 digits for a county,
/// 9 for a township, 12 for a village, e.g. `320206101201`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AreaCode(CompactString);

impl AreaCode {
    /// Parses an area code.
    pub fn parse(text: &str) -> Result<Self, String> {
        if matches!(text.len(), 6 | 9 | 12) && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AreaCode(CompactString::new(text)))
        } else {
            Err("must be an administrative division code of 6 (county), 9 (township) or 12 (village) digits".into())
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this area is `other` or lies inside it (its code starts with `other`'s).
    pub fn within(&self, other: &AreaCode) -> bool {
        self.0.starts_with(other.0.as_str())
    }
}
text_type!(
    AreaCode,
    json_schema!({"type": "string", "pattern": "^([0-9]{6}|[0-9]{9}|[0-9]{12})$"})
);

/// An organisation's unified social credit code (GB 32100-2015): 18 characters with a check
/// character, e.g. `93320206MA1XKQ8Y3H`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uscc(CompactString);

/// The 31 characters of GB 32100, in the order of their values 0 to 30.
const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

impl Uscc {
    /// Parses a unified social credit code, checking its check character.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            "must be an 18-character unified social credit code (digits and A-Y without I, O, S, V, Z) with a valid GB 32100 check character".to_string()
        };
        let b = text.as_bytes();
        if b.len() != 18 {
            return Err(bad());
        }
        let mut values = [0u32; 18];
        for (v, c) in values.iter_mut().zip(b) {
            *v = USCC_CHARS.iter().position(|x| x == c).ok_or_else(bad)? as u32;
        }
        let sum: u32 = values[..17]
            .iter()
            .zip(USCC_WEIGHTS)
            .map(|(v, w)| v * w)
            .sum();
        let check = (31 - sum % 31) % 31;
        if check == values[17] {
            Ok(Uscc(CompactString::new(text)))
        } else {
            Err(bad())
        }
    }

    /// Computes the check character for the first 17 characters, for building test data.
    pub fn check_char(first17: &str) -> Option<char> {
        let b = first17.as_bytes();
        if b.len() != 17 {
            return None;
        }
        let mut sum = 0u32;
        for (c, w) in b.iter().zip(USCC_WEIGHTS) {
            sum += USCC_CHARS.iter().position(|x| x == c)? as u32 * w;
        }
        Some(USCC_CHARS[((31 - sum % 31) % 31) as usize] as char)
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
text_type!(
    Uscc,
    json_schema!({"type": "string", "pattern": "^[0-9A-HJ-NPQRTUWXY]{18}$"})
);

/// A short free text: a purpose, a title, a reason, a finding summary.
///
/// 1 to 1,000 characters, not only white space, without control characters. Never text about
/// a person: the privacy guard refuses ID and phone numbers in it, and household records
/// have no free text at all.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(CompactString);

impl Text {
    /// Maximum length in characters.
    pub const MAX_CHARS: usize = 1000;

    /// Parses a free text.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err("must be a non-empty text".into());
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(format!(
                "is too long: at most {} characters",
                Self::MAX_CHARS
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(
                "must not contain control characters (line breaks, tabs and the like)".into(),
            );
        }
        Ok(Text(CompactString::new(text)))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
text_type!(
    Text,
    json_schema!({"type": "string", "minLength": 1, "maxLength": 1000})
);

/// A SHA-256 hash written as 64 lowercase hex digits, as records write leaf hashes, document
/// hashes, pseudonyms and commitments. (Base64 is only for the C2SP text formats.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HexHash(pub Hash);

impl HexHash {
    /// Parses exactly 64 lowercase hex digits.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() == 64
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Hash::from_hex(text)
                .map(HexHash)
                .map_err(|e| format!("must be 64 lowercase hex digits ({e})"))
        } else {
            Err("must be 64 lowercase hex digits".into())
        }
    }

    /// The hash.
    pub fn hash(&self) -> Hash {
        self.0
    }
}

impl From<Hash> for HexHash {
    fn from(hash: Hash) -> Self {
        HexHash(hash)
    }
}

impl fmt::Display for HexHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.hex_digits(&mut [0u8; 64]))
    }
}
impl Serialize for HexHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.hex_digits(&mut [0u8; 64]))
    }
}
impl<'de> Deserialize<'de> for HexHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::text_serde::from_text(deserializer, "a string of 64 hex digits", HexHash::parse)
    }
}
impl JsonSchema for HexHash {
    fn schema_name() -> Cow<'static, str> {
        "HexHash".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "pattern": "^[0-9a-f]{64}$"})
    }
}

/// A calendar date, `YYYY-MM-DD` (years 0001 to 9999, real dates only: no 2023-02-29).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
}

impl Date {
    /// A date from its parts, if it exists.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        ((1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month))
        .then_some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Date, String> {
        let b = text.as_bytes();
        let shape = b.len() == 10 && b[4] == b'-' && b[7] == b'-';
        let parts = shape
            .then(|| Some((digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?)))
            .flatten();
        match parts {
            Some((y, m, d)) => Date::new(y as u16, m as u8, d as u8).ok_or_else(|| {
                format!("{text:?} is not a calendar date (check the month and the day)")
            }),
            None => Err("must be a date written YYYY-MM-DD".into()),
        }
    }

    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month.
    pub fn day(&self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before), for date arithmetic in audit rules.
    pub fn days_since_epoch(&self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01 (Howard Hinnant's civil_from_days), or `None`
    /// outside the years 1 to 9999; the inverse of [`Date::days_since_epoch`].
    pub fn from_days_since_epoch(days: i64) -> Option<Date> {
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date::new(
            u16::try_from(year).ok()?,
            u8::try_from(month).ok()?,
            u8::try_from(day).ok()?,
        )
    }

    /// Days from `self` to `later` (negative if `later` is earlier).
    pub fn days_until(&self, later: &Date) -> i64 {
        later.days_since_epoch() - self.days_since_epoch()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}
impl std::str::FromStr for Date {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Date::parse(s)
    }
}
impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::text_serde::from_text(deserializer, "a date string, YYYY-MM-DD", Date::parse)
    }
}
impl JsonSchema for Date {
    fn schema_name() -> Cow<'static, str> {
        "Date".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"})
    }
}

/// An instant, RFC 3339 in UTC: `YYYY-MM-DDTHH:MM:SSZ` with an optional fraction of 1 to 9
/// digits, e.g. `2024-05-06T08:30:00Z`. Offsets other than `Z` and leap seconds are refused,
/// so every instant has one spelling per precision and sorts as text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    text: String,
    date: Date,
    seconds_of_day: u32,
}

impl Instant {
    /// Parses an RFC 3339 UTC instant.
    pub fn parse(text: &str) -> Result<Instant, String> {
        let bad = || {
            "must be an RFC 3339 UTC instant written YYYY-MM-DDTHH:MM:SSZ (optionally with a fraction of a second, e.g. 2024-05-06T08:30:00.5Z)".to_string()
        };
        let b = text.as_bytes();
        if b.len() < 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(bad());
        }
        let date = Date::parse(&text[..10]).map_err(|_| bad())?;
        let (h, m, s) = (
            digits(&b[11..13]).ok_or_else(bad)?,
            digits(&b[14..16]).ok_or_else(bad)?,
            digits(&b[17..19]).ok_or_else(bad)?,
        );
        let rest = &b[19..];
        let ok_tail = match rest {
            [b'Z'] => true,
            [b'.', frac @ .., b'Z'] => {
                (1..=9).contains(&frac.len()) && frac.iter().all(u8::is_ascii_digit)
            }
            _ => false,
        };
        if !ok_tail {
            return Err(bad());
        }
        if h > 23 || m > 59 || s > 59 {
            return Err(format!(
                "{text:?} is not a valid time of day (hours 00-23, minutes and seconds 00-59)"
            ));
        }
        Ok(Instant {
            text: text.to_string(),
            date,
            seconds_of_day: h * 3600 + m * 60 + s,
        })
    }

    /// The instant as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The UTC calendar date of the instant.
    pub fn date(&self) -> Date {
        self.date
    }

    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub fn unix_seconds(&self) -> i64 {
        self.date.days_since_epoch() * 86_400 + i64::from(self.seconds_of_day)
    }
}
text_type!(
    Instant,
    json_schema!({"type": "string", "format": "date-time", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$"})
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dates_round_trip() {
        for days in [-719_162, -1, 0, 1, 59, 60, 365, 11_016, 20_000, 2_932_896] {
            let date = Date::from_days_since_epoch(days).unwrap();
            assert_eq!(date.days_since_epoch(), days, "{date}");
        }
        assert_eq!(
            Date::from_days_since_epoch(0).unwrap().to_string(),
            "1970-01-01"
        );
        assert_eq!(
            Date::from_days_since_epoch(11_016).unwrap().to_string(),
            "2000-02-29"
        );
        assert!(
            Date::from_days_since_epoch(2_932_897).is_none(),
            "year 10000"
        );
    }

    #[test]
    fn dates_must_exist() {
        assert!(Date::parse("2024-02-29").is_ok());
        assert!(Date::parse("2023-02-29").is_err());
        assert!(Date::parse("1900-02-29").is_err());
        assert!(Date::parse("2000-02-29").is_ok());
        assert!(Date::parse("2024-13-01").is_err());
        assert!(Date::parse("2024-04-31").is_err());
        assert!(Date::parse("2024-4-01").is_err());
        assert!(Date::parse("0000-01-01").is_err());
        assert!(Date::parse("+024-01-01").is_err());
        assert_eq!(Date::parse("1970-01-01").unwrap().days_since_epoch(), 0);
        assert_eq!(
            Date::parse("2000-03-01").unwrap().days_since_epoch(),
            11_017
        );
        let a = Date::parse("2024-03-01").unwrap();
        let b = Date::parse("2024-03-11").unwrap();
        assert_eq!(a.days_until(&b), 10);
    }

    #[test]
    fn instants_are_utc_rfc3339() {
        let i = Instant::parse("2024-05-06T08:30:00Z").unwrap();
        assert_eq!(i.unix_seconds(), 1_714_984_200);
        assert!(Instant::parse("2024-05-06T08:30:00.123456789Z").is_ok());
        assert!(Instant::parse("2024-05-06T08:30:00+08:00").is_err());
        assert!(Instant::parse("2024-05-06 08:30:00Z").is_err());
        assert!(Instant::parse("2024-05-06T24:00:00Z").is_err());
        assert!(Instant::parse("2024-05-06T08:30:60Z").is_err());
        assert!(Instant::parse("2024-05-06T08:30:00.Z").is_err());
        assert!(Instant::parse("2024-05-06t08:30:00z").is_err());
    }

    #[test]
    fn identifiers_and_codes() {
        assert!(MemberId::parse("county-320206").is_ok());
        assert!(MemberId::parse("County").is_err());
        assert!(MemberId::parse("-a").is_err());
        assert!(MemberId::parse("a-").is_err());
        let rid = Ident::parse("county-320206-2024-0001").unwrap();
        assert!(rid.belongs_to(&MemberId::parse("county-320206").unwrap()));
        assert!(!rid.belongs_to(&MemberId::parse("county-32020").unwrap()));
        assert!(
            !Ident::parse("county-320206")
                .unwrap()
                .belongs_to(&MemberId::parse("county-320206").unwrap())
        );
        assert!(Code::parse("village_committee").is_ok());
        assert!(Code::parse("Village").is_err());
        assert!(AreaCode::parse("320206101201").is_ok());
        assert!(AreaCode::parse("3202061").is_err());
        assert!(Text::parse("  ").is_err());
        assert!(Text::parse("a\nb").is_err());
    }

    #[test]
    fn uscc_check_character() {
        let body = "91350100M000100Y4";
        let c = Uscc::check_char(body).unwrap();
        assert_eq!(c, '3');
        assert!(Uscc::parse(&format!("{body}{c}")).is_ok());
        assert!(Uscc::parse(&format!("{body}0")).is_err());
        assert!(Uscc::parse("91350100M000100YI3").is_err());
    }

    #[test]
    fn hex_hashes_are_lowercase_only() {
        let h = "ab".repeat(32);
        assert!(HexHash::parse(&h).is_ok());
        assert!(HexHash::parse(&h.to_uppercase()).is_err());
        assert!(HexHash::parse(&h[..62]).is_err());
    }
}
