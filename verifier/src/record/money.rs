//! Money: an integer number of minor units (as a decimal string) and an ISO 4217 currency.
//!
//! Never a float: `{"minor":"1250000","currency":"CNY"}` is 12,500.00 yuan. The string form
//! keeps amounts exact in every JSON implementation (JCS numbers are IEEE doubles, which lose
//! integers above 2^53).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ISO 4217 currency that daylight knows the exponent (minor unit digits) of.
///
/// Held as its position in [`CURRENCIES`] (one byte, so that a [`Money`] is 16 bytes: a
/// replayed network holds millions of them); ordered by code.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(u8);

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Currency").field(&self.code()).finish()
    }
}

impl PartialOrd for Currency {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Currency {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.code().cmp(other.code())
    }
}

/// The currencies daylight accepts, with their ISO 4217 exponents.
pub const CURRENCIES: &[(&str, u8)] = &[
    ("CNY", 2),
    ("USD", 2),
    ("EUR", 2),
    ("JPY", 0),
    ("HKD", 2),
    ("GBP", 2),
    ("MOP", 2),
    ("TWD", 2),
    ("KRW", 0),
    ("CHF", 2),
    ("SGD", 2),
    ("AUD", 2),
    ("CAD", 2),
];

impl Currency {
    /// The Chinese yuan renminbi (exponent 2: 1 yuan = 100 fen).
    pub const CNY: Currency = Currency(0);

    /// Looks up an ISO 4217 code (three uppercase letters).
    pub fn parse(code: &str) -> Result<Currency, String> {
        CURRENCIES
            .iter()
            .position(|(c, _)| *c == code)
            .map(|position| Currency(position as u8))
            .ok_or_else(|| {
                let known: Vec<&str> = CURRENCIES.iter().map(|(c, _)| *c).collect();
                format!(
                    "unknown currency {code:?}: use an ISO 4217 code daylight knows ({})",
                    known.join(", ")
                )
            })
    }

    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        CURRENCIES[usize::from(self.0)].0
    }

    /// The number of decimal digits of the minor unit (2 for CNY, 0 for JPY).
    pub fn exponent(&self) -> u8 {
        CURRENCIES[usize::from(self.0)].1
    }

    fn as_str(&self) -> &str {
        self.code()
    }
}
crate::record::types::text_type!(
    Currency,
    json_schema!({"type": "string", "enum": CURRENCIES.iter().map(|(c, _)| *c).collect::<Vec<_>>()})
);

/// A non-negative amount in minor units, written as a decimal string of digits without sign or
/// leading zeros (`"0"`, `"1250000"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Minor(pub u64);

impl Minor {
    /// Parses the canonical decimal form.
    pub fn parse(text: &str) -> Result<Minor, String> {
        let canonical = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'));
        if !canonical {
            return Err("must be a non-negative integer string of minor units (digits only, no sign, no decimal point, no leading zeros), e.g. \"1250000\" for 12,500.00 CNY".into());
        }
        text.parse::<u64>()
            .map(Minor)
            .map_err(|_| format!("is too large: at most {} minor units", u64::MAX))
    }
}

impl fmt::Display for Minor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl Serialize for Minor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Minor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `any`, not `str`: a number must reach the visitor to get the float advice.
        deserializer.deserialize_any(MinorVisitor)
    }
}

/// Reads [`Minor`] from its string; a JSON number is the classic float mistake, and the
/// error says so rather than "invalid type".
struct MinorVisitor;

impl MinorVisitor {
    const NOT_A_NUMBER: &'static str = "must be a non-negative integer string of minor units, not a JSON number: write \"1250000\", never 12500.00";
}

impl serde::de::Visitor<'_> for MinorVisitor {
    type Value = Minor;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a non-negative integer string of minor units")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Minor, E> {
        Minor::parse(text).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Minor, E> {
        Err(E::custom(Self::NOT_A_NUMBER))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Minor, E> {
        Err(E::custom(Self::NOT_A_NUMBER))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Minor, E> {
        Err(E::custom(Self::NOT_A_NUMBER))
    }
}
impl JsonSchema for Minor {
    fn schema_name() -> Cow<'static, str> {
        "Minor".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "pattern": "^(0|[1-9][0-9]*)$", "maxLength": 20})
    }
}

/// An amount of money: integer minor units of a known currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// The amount in minor units (fen for CNY), as a decimal string.
    pub minor: Minor,
    /// The ISO 4217 currency code.
    pub currency: Currency,
}

impl Money {
    /// `minor` units of `currency`.
    pub fn new(minor: u64, currency: Currency) -> Money {
        Money {
            minor: Minor(minor),
            currency,
        }
    }

    /// An amount in yuan fen.
    pub fn cny(fen: u64) -> Money {
        Money::new(fen, Currency::CNY)
    }

    /// The amount in major units with the currency's decimals, e.g. `12500.00 CNY`.
    pub fn to_decimal_string(&self) -> String {
        let exp = u32::from(self.currency.exponent());
        if exp == 0 {
            return format!("{} {}", self.minor.0, self.currency.code());
        }
        let unit = 10u64.pow(exp);
        format!(
            "{}.{:0width$} {}",
            self.minor.0 / unit,
            self.minor.0 % unit,
            self.currency.code(),
            width = exp as usize
        )
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_are_canonical_integer_strings() {
        assert_eq!(Minor::parse("0"), Ok(Minor(0)));
        assert_eq!(Minor::parse("1250000"), Ok(Minor(1_250_000)));
        for bad in ["", "-1", "+1", "01", "1.5", "1e3", " 1", "１"] {
            assert!(Minor::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            Minor::parse("18446744073709551616")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn a_currency_is_one_byte_ordered_by_code() {
        assert_eq!(Currency::CNY, Currency::parse("CNY").unwrap());
        assert_eq!(Currency::CNY.code(), "CNY");
        assert_eq!(std::mem::size_of::<Money>(), 16);
        let mut all: Vec<Currency> = CURRENCIES
            .iter()
            .map(|(code, _)| Currency::parse(code).unwrap())
            .collect();
        all.sort();
        let codes: Vec<&str> = all.iter().map(Currency::code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(codes, sorted);
        assert_eq!(format!("{:?}", Currency::CNY), r#"Currency("CNY")"#);
    }

    #[test]
    fn currencies_know_their_exponent() {
        for (code, exp) in [
            ("CNY", 2),
            ("USD", 2),
            ("EUR", 2),
            ("JPY", 0),
            ("HKD", 2),
            ("GBP", 2),
        ] {
            assert_eq!(Currency::parse(code).unwrap().exponent(), exp);
        }
        assert!(Currency::parse("XYZ").is_err());
        assert!(Currency::parse("cny").is_err());
        assert_eq!(Money::cny(1_250_000).to_string(), "12500.00 CNY");
        assert_eq!(
            Money::new(5, Currency::parse("JPY").unwrap()).to_string(),
            "5 JPY"
        );
    }

    #[test]
    fn floats_are_refused_with_advice() {
        let err = serde_json::from_str::<Money>(r#"{"minor":12500.5,"currency":"CNY"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a JSON number"), "{err}");
    }
}
