//! The record envelope and its JSON form: `v`, `rid`, `kind`, `event_date`, `program`, the
//! kind's fields, and `signatures`.
//!
//! The JSON form is flat (DESIGN §4.1): the envelope fields and the kind's fields share one
//! object, and a field that belongs to neither is refused. Reading goes field by field so that
//! every error names its path; writing produces a `serde_json` object that [`super::canonical`]
//! turns into JCS bytes.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::error::{ROOT, RecordError, from_serde, join};
use super::model::{Body, Correction, Kind, Pin};
use super::types::{Date, Ident, Rid, Text};
use crate::key::VerifierKey;

/// The record format version this crate reads and writes (the `v` field).
pub const VERSION: u64 = 1;

/// A record as its signers see it: everything but the signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record id: `<member id>-<local part>`, unique in the log.
    pub rid: Rid,
    /// The date the stated event happened (payment date, decision date...).
    pub event_date: Date,
    /// The fund or programme the record belongs to.
    pub program: Ident,
    /// The kind and its fields.
    pub body: Body,
}

/// The new content of a corrected record: its event date, programme, kind and fields. The
/// rid stays the corrected record's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// The corrected event date.
    pub event_date: Date,
    /// The corrected programme.
    pub program: Ident,
    /// The corrected kind and fields (same kind as the record corrected).
    pub body: Body,
}

/// A 64-byte Ed25519 signature, written as standard base64 with padding (88 characters).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignatureBytes(pub [u8; 64]);

impl SignatureBytes {
    /// Parses standard base64 of exactly 64 bytes.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = BASE64
            .decode(text)
            .map_err(|_| "must be standard base64 of a 64-byte Ed25519 signature".to_string())?;
        let array: [u8; 64] = bytes.as_slice().try_into().map_err(|_| {
            format!(
                "must be a 64-byte Ed25519 signature, this one is {} bytes",
                bytes.len()
            )
        })?;
        Ok(SignatureBytes(array))
    }
}

impl std::fmt::Debug for SignatureBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignatureBytes({})", BASE64.encode(self.0))
    }
}
impl Serialize for SignatureBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&BASE64.encode(self.0))
    }
}
impl<'de> Deserialize<'de> for SignatureBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::text_serde::from_text(
            deserializer,
            "a base64 signature string",
            SignatureBytes::parse,
        )
    }
}
impl JsonSchema for SignatureBytes {
    fn schema_name() -> Cow<'static, str> {
        "SignatureBytes".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "pattern": "^[A-Za-z0-9+/]{86}==$"})
    }
}

/// One signature on a record: the signer's vkey and an Ed25519 signature over the JCS bytes
/// of the record without its `signatures` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordSignature {
    /// The signer's C2SP vkey, `name+keyid+base64(0x01 ‖ key)`.
    #[schemars(with = "String")]
    pub signer: VerifierKey,
    /// The signature, base64.
    pub sig: SignatureBytes,
}

/// A record with its signatures: what a log entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRecord {
    /// The signed content.
    pub record: Record,
    /// The operator's signature and any attestations, in order.
    pub signatures: Vec<RecordSignature>,
}

fn to_object<T: Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        // The record types are structs of strings, lists and structs: they always serialize
        // to objects. Anything else is a bug in this module.
        other => unreachable!("record part did not serialize to an object: {other:?}"),
    }
}

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl Body {
    /// The kind's fields as a JSON object (without `kind`).
    pub fn to_fields(&self) -> Map<String, Value> {
        match self {
            Body::Allocation(x) => to_object(x),
            Body::Receipt(x) => to_object(x),
            Body::Payment(x) => to_object(x),
            Body::Project(x) => to_object(x),
            Body::Asset(x) => to_object(x),
            Body::Household(x) => to_object(x),
            Body::Finding(x) => to_object(x),
            Body::Rectification(x) => to_object(x),
            Body::Void(x) => to_object(x),
            Body::Correction(c) => {
                let mut map = Map::new();
                map.insert("corrects".into(), to_json(&c.corrects));
                map.insert("reason".into(), to_json(&c.reason));
                map.insert(
                    "replacement".into(),
                    Value::Object(c.replacement.to_object()),
                );
                map
            }
        }
    }

    /// Reads the fields of a `kind` record from `map` (envelope fields already removed);
    /// errors are placed under `prefix`.
    pub(crate) fn from_fields(
        kind: Kind,
        mut map: Map<String, Value>,
        prefix: &str,
    ) -> Result<Body, RecordError> {
        Ok(match kind {
            Kind::Allocation => Body::Allocation(typed(Value::Object(map), prefix)?),
            Kind::Receipt => Body::Receipt(typed(Value::Object(map), prefix)?),
            Kind::Payment => Body::Payment(typed(Value::Object(map), prefix)?),
            Kind::Project => Body::Project(typed(Value::Object(map), prefix)?),
            Kind::Asset => Body::Asset(typed(Value::Object(map), prefix)?),
            Kind::Household => Body::Household(typed(Value::Object(map), prefix)?),
            Kind::Finding => Body::Finding(typed(Value::Object(map), prefix)?),
            Kind::Rectification => Body::Rectification(typed(Value::Object(map), prefix)?),
            Kind::Void => Body::Void(typed(Value::Object(map), prefix)?),
            Kind::Correction => {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Head {
                    corrects: Pin,
                    reason: Text,
                }
                let replacement = map.remove("replacement");
                let head: Head = typed(Value::Object(map), prefix)?;
                let path = join(prefix, "replacement");
                let replacement = replacement
                    .ok_or_else(|| RecordError::new(&path, "is required but missing"))?;
                Body::Correction(Box::new(Correction {
                    corrects: head.corrects,
                    reason: head.reason,
                    replacement: Replacement::from_value(replacement, &path)?,
                }))
            }
        })
    }
}

/// Deserializes a typed part, keeping the path of any error.
pub(crate) fn typed<T: DeserializeOwned>(value: Value, prefix: &str) -> Result<T, RecordError> {
    serde_path_to_error::deserialize(value).map_err(|e| from_serde(prefix, e))
}

/// Removes and deserializes a required field.
fn take<T: DeserializeOwned>(
    map: &mut Map<String, Value>,
    key: &str,
    prefix: &str,
) -> Result<T, RecordError> {
    let path = join(prefix, key);
    let value = map
        .remove(key)
        .ok_or_else(|| RecordError::new(&path, "is required but missing"))?;
    typed(value, &path)
}

fn take_kind(map: &mut Map<String, Value>, prefix: &str) -> Result<Kind, RecordError> {
    let path = join(prefix, "kind");
    let expected = Kind::ALL.map(Kind::as_str).join(", ");
    match map.remove("kind") {
        None => Err(RecordError::new(path, "is required but missing")),
        Some(Value::String(text)) => Kind::parse(&text).ok_or_else(|| {
            RecordError::new(
                path,
                format!("unknown record kind {text:?}: expected one of {expected}"),
            )
        }),
        Some(_) => Err(RecordError::new(
            path,
            format!("must be a string naming the record kind, one of {expected}"),
        )),
    }
}

fn into_object(value: Value, path: &str) -> Result<Map<String, Value>, RecordError> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(RecordError::new(path, "must be a JSON object")),
    }
}

impl Replacement {
    /// The replacement as a JSON object: `event_date`, `program`, `kind` and the kind's fields.
    pub fn to_object(&self) -> Map<String, Value> {
        let mut map = self.body.to_fields();
        map.insert(
            "kind".into(),
            Value::String(self.body.kind().as_str().into()),
        );
        map.insert("event_date".into(), to_json(&self.event_date));
        map.insert("program".into(), to_json(&self.program));
        map
    }

    fn from_value(value: Value, path: &str) -> Result<Replacement, RecordError> {
        let mut map = into_object(value, path)?;
        let kind = take_kind(&mut map, path)?;
        if !kind.is_factual() {
            return Err(RecordError::new(
                join(path, "kind"),
                format!(
                    "a correction cannot replace a record with a {kind}: correct or void the original record instead"
                ),
            ));
        }
        let event_date = take(&mut map, "event_date", path)?;
        let program = take(&mut map, "program", path)?;
        let body = Body::from_fields(kind, map, path)?;
        Ok(Replacement {
            event_date,
            program,
            body,
        })
    }
}

impl Record {
    /// The record's kind.
    pub fn kind(&self) -> Kind {
        self.body.kind()
    }

    /// The record as a JSON object, without signatures: what every signature covers.
    pub fn to_object(&self) -> Map<String, Value> {
        let mut map = self.body.to_fields();
        map.insert("v".into(), Value::from(VERSION));
        map.insert("rid".into(), to_json(&self.rid));
        map.insert("kind".into(), Value::String(self.kind().as_str().into()));
        map.insert("event_date".into(), to_json(&self.event_date));
        map.insert("program".into(), to_json(&self.program));
        map
    }

    /// Reads a record from a JSON object without `signatures`.
    pub fn from_value(value: Value) -> Result<Record, RecordError> {
        let mut map = into_object(value, ROOT)?;
        Record::from_map(&mut map)
    }

    fn from_map(map: &mut Map<String, Value>) -> Result<Record, RecordError> {
        match map.remove("v") {
            None => return Err(RecordError::new("v", "is required but missing")),
            Some(v) if v.as_u64() == Some(VERSION) => {}
            Some(_) => {
                return Err(RecordError::new(
                    "v",
                    format!("must be {VERSION}, the record format version this software reads"),
                ));
            }
        }
        let kind = take_kind(map, ROOT)?;
        let rid = take(map, "rid", ROOT)?;
        let event_date = take(map, "event_date", ROOT)?;
        let program = take(map, "program", ROOT)?;
        let body = Body::from_fields(kind, std::mem::take(map), ROOT)?;
        Ok(Record {
            rid,
            event_date,
            program,
            body,
        })
    }
}

impl SignedRecord {
    /// The signed record as a JSON object.
    pub fn to_object(&self) -> Map<String, Value> {
        let mut map = self.record.to_object();
        map.insert("signatures".into(), to_json(&self.signatures));
        map
    }

    /// Reads a signed record from a JSON value, naming the path of the first problem.
    ///
    /// This checks the shape and every scalar; [`super::validate::validate`] checks the rules
    /// that span fields (sums, prefixes, per-kind requirements).
    pub fn from_value(value: Value) -> Result<SignedRecord, RecordError> {
        let mut map = into_object(value, ROOT)?;
        let signatures = map.remove("signatures");
        let record = Record::from_map(&mut map)?;
        let signatures = signatures.ok_or_else(|| {
            RecordError::new(
                "signatures",
                "is required but missing: a record carries at least its operator's signature",
            )
        })?;
        let signatures = typed(signatures, "signatures")?;
        Ok(SignedRecord { record, signatures })
    }

    /// Reads a signed record from JSON text in any formatting (as submitted). Duplicate keys
    /// are refused.
    pub fn from_json(bytes: &[u8]) -> Result<SignedRecord, RecordError> {
        let value = super::canonical::parse_strict(bytes)?;
        SignedRecord::from_value(value)
    }

    /// Reads a log entry: the bytes must be at most [`super::MAX_ENTRY_SIZE`] long and exactly
    /// the canonical serialization of the record they hold.
    ///
    /// Entries in the common form are read in one pass straight from their bytes (see
    /// `record::fast`); anything else goes through the full reader, which names the problem.
    pub fn from_entry(bytes: &[u8]) -> Result<SignedRecord, RecordError> {
        Self::from_entry_screened(bytes).map(|(record, _)| record)
    }

    /// [`SignedRecord::from_entry`], also saying whether the record may hold a personal
    /// number: `false` means it certainly passes [`super::check_privacy`], found while
    /// reading, so the guard runs only on the few records that need it.
    pub(crate) fn from_entry_screened(bytes: &[u8]) -> Result<(SignedRecord, bool), RecordError> {
        super::validate::check_size(bytes.len())?;
        if let Some(read) = super::fast::read_entry(bytes) {
            return Ok(read);
        }
        let record = SignedRecord::from_json(bytes)?;
        if super::canonical::to_entry_bytes(&record) != bytes {
            let what = if super::canonical::is_canonical(bytes) {
                "is canonical JSON but not in the record's canonical form (an empty optional list or a default written out?)"
            } else {
                "is not the RFC 8785 (JCS) canonical serialization of the record: re-serialize it with daylight before publishing"
            };
            return Err(RecordError::root(format!("entry {what}")));
        }
        Ok((record, true))
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_object().serialize(serializer)
    }
}

impl Serialize for SignedRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_object().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SignedRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        SignedRecord::from_value(value).map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Record::from_value(value).map_err(serde::de::Error::custom)
    }
}
