//! RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes of a log entry.
//!
//! An entry is the JCS serialization of a signed record (DESIGN §3.2), and every signature
//! covers the JCS serialization of the record without `signatures`. JCS sorts object members
//! by the UTF-16 code units of their names, writes strings with the minimal escapes (`"`, `\`
//! and control characters; `\u00xx` in lowercase hex), writes numbers as ECMAScript's
//! `Number.prototype.toString` does, and adds no white space. Serialization is delegated to
//! the `serde_json_canonicalizer` crate (see `docs/decisions/0003-jcs-crate.md`); parsing is
//! strict here: duplicate object names are refused, as I-JSON (RFC 7493) requires.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::envelope::{Record, SignedRecord};
use super::error::RecordError;

/// The JCS bytes of a JSON value.
fn jcs(value: &Value) -> Vec<u8> {
    // A serde_json::Value holds no NaN or infinity and only string keys, which are the only
    // inputs the canonicalizer refuses.
    serde_json_canonicalizer::to_vec(value)
        .unwrap_or_else(|e| unreachable!("a JSON value always canonicalizes: {e}"))
}

/// The entry bytes of a signed record: its JCS serialization, the bytes whose RFC 6962 leaf
/// hash identifies it in the log.
pub fn to_entry_bytes(record: &SignedRecord) -> Vec<u8> {
    jcs(&Value::Object(record.to_object()))
}

/// The bytes every signature on a record covers: the JCS serialization of the record without
/// its `signatures` field.
pub fn signing_bytes(record: &Record) -> Vec<u8> {
    jcs(&Value::Object(record.to_object()))
}

/// The signing bytes of a record whose entry bytes are `entry` (the JCS form of the signed
/// record, e.g. from [`to_entry_bytes`]): the top-level members other than `signatures`, cut
/// from `entry` in their order. That is [`signing_bytes`] without serializing the record
/// again, since JCS orders members by name and writes each value on its own. `None` if
/// `entry` is not a JSON object without white space (then [`signing_bytes`] is the way).
pub(crate) fn signing_bytes_from_entry(entry: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(entry.len());
    out.push(b'{');
    let mut i = 1;
    if entry.first() != Some(&b'{') {
        return None;
    }
    loop {
        let name_start = i;
        i = skip_string(entry, i)?;
        let name = &entry[name_start..i];
        if entry.get(i) != Some(&b':') {
            return None;
        }
        i = skip_value(entry, i + 1)?;
        if name != b"\"signatures\"" {
            if out.len() > 1 {
                out.push(b',');
            }
            out.extend_from_slice(&entry[name_start..i]);
        }
        match entry.get(i)? {
            b',' => i += 1,
            b'}' if i + 1 == entry.len() => break,
            _ => return None,
        }
    }
    out.push(b'}');
    Some(out)
}

/// The index just past the JSON string starting at `i` (escapes skipped whole).
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    loop {
        match b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// The index just past the JSON value starting at `i`, for text without white space: a
/// string, or anything else up to the `,` `]` or `}` that ends it at its own depth.
fn skip_value(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match b.get(i)? {
            b'"' => i = skip_string(b, i)?,
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' if depth == 0 => return Some(i),
            b'}' | b']' => {
                depth -= 1;
                i += 1;
            }
            b',' if depth == 0 => return Some(i),
            _ => i += 1,
        }
        if depth == 0 && matches!(b.get(i), Some(b',' | b'}' | b']')) {
            return Some(i);
        }
    }
}

/// The leaf hash of a signed record: RFC 6962 `SHA-256(0x00 ‖ entry bytes)`.
pub fn leaf_hash(record: &SignedRecord) -> crate::hash::Hash {
    crate::merkle::leaf_hash(&to_entry_bytes(record))
}

/// Canonicalizes any JSON text (RFC 8785). Refuses invalid JSON, invalid UTF-8, lone
/// surrogates, duplicate object names and numbers out of the IEEE double range.
pub fn canonicalize(json: &[u8]) -> Result<Vec<u8>, RecordError> {
    parse_strict(json).map(|value| jcs(&value))
}

/// Whether `bytes` are exactly the RFC 8785 canonical form of the JSON value they hold.
pub fn is_canonical(bytes: &[u8]) -> bool {
    canonicalize(bytes).is_ok_and(|c| c == bytes)
}

/// Parses JSON, refusing duplicate object names (which different parsers resolve
/// differently, so they could make two readers see two records in one entry).
pub(crate) fn parse_strict(bytes: &[u8]) -> Result<Value, RecordError> {
    serde_json::from_slice::<Strict>(bytes)
        .map(|s| s.0)
        .map_err(|e| RecordError::root(format!("not valid JSON: {e}")))
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let Strict(value) = access.next_value()?;
            if map.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate object name {key:?}: each name may appear once per object"
                )));
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(json: &str) -> String {
        String::from_utf8(canonicalize(json.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn duplicate_names_are_refused() {
        let err = canonicalize(br#"{"a":1,"a":2}"#).unwrap_err();
        assert!(err.message.contains("duplicate object name"), "{err}");
        assert!(canonicalize(br#"{"a":{"b":1},"c":{"b":1}}"#).is_ok());
    }

    #[test]
    fn signing_bytes_are_cut_from_entry_bytes() {
        let cut = |json: &str| {
            signing_bytes_from_entry(json.as_bytes()).map(|b| String::from_utf8(b).unwrap())
        };
        assert_eq!(
            cut(r#"{"a":"x\"}","signatures":[{"s":"q\"]"}],"v":1}"#).as_deref(),
            Some(r#"{"a":"x\"}","v":1}"#)
        );
        assert_eq!(
            cut(r#"{"b":{"c":[1,{"d":2}]},"signatures":[],"z":true}"#).as_deref(),
            Some(r#"{"b":{"c":[1,{"d":2}]},"z":true}"#)
        );
        assert_eq!(cut(r#"{"signatures":[1]}"#).as_deref(), Some("{}"));
        assert_eq!(
            cut(r#"{"a":1,"signatures":"x"}"#).as_deref(),
            Some(r#"{"a":1}"#)
        );
        assert_eq!(cut("[1]"), None);
        assert_eq!(cut(r#"{"a":1"#), None);
        assert_eq!(cut(r#"{"a":1} "#), None);
        assert_eq!(cut(r#"{"a":"#), None);
    }

    #[test]
    fn whitespace_is_removed() {
        assert_eq!(
            c(" { \"b\" : [ 1 , 2 ] ,\n\"a\":true } "),
            r#"{"a":true,"b":[1,2]}"#
        );
        assert!(!is_canonical(b"{\"a\":1} "));
        assert!(is_canonical(br#"{"a":1}"#));
    }
}
