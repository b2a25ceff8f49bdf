//! JSON Schemas of the record kinds, generated from the Rust types so they cannot drift.
//!
//! The committed files in `docs/schemas/<kind>.schema.json` are this output; a test compares
//! them and `DAYLIGHT_BLESS=1` rewrites them. The schemas describe shape and formats (JSON
//! Schema draft 2020-12); cross-field rules (sums, rid prefixes, per-stage requirements) are
//! in [`super::validate`](mod@super::validate) and `docs/records.md`.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

use super::envelope::RecordSignature;
use super::model::{
    Allocation, Asset, Finding, Household, Kind, Payment, Pin, Project, Receipt, Rectification,
    Void,
};
use super::types::{Date, Ident, Text};

fn object(schema: Schema) -> Map<String, Value> {
    match schema.to_value() {
        Value::Object(map) => map,
        other => {
            let mut map = Map::new();
            map.insert("allOf".into(), Value::Array(vec![other]));
            map
        }
    }
}

fn sub<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    generator.subschema_for::<T>().to_value()
}

/// The schema of a kind's own fields: an object with `properties` and `required`.
fn body_schema(kind: Kind, generator: &mut SchemaGenerator) -> Map<String, Value> {
    match kind {
        Kind::Allocation => object(Allocation::json_schema(generator)),
        Kind::Receipt => object(Receipt::json_schema(generator)),
        Kind::Payment => object(Payment::json_schema(generator)),
        Kind::Project => object(Project::json_schema(generator)),
        Kind::Asset => object(Asset::json_schema(generator)),
        Kind::Household => object(Household::json_schema(generator)),
        Kind::Finding => object(Finding::json_schema(generator)),
        Kind::Rectification => object(Rectification::json_schema(generator)),
        Kind::Void => object(Void::json_schema(generator)),
        Kind::Correction => {
            let mut variants = Vec::new();
            for k in Kind::ALL.into_iter().filter(|k| k.is_factual()) {
                let name = format!("{}Content", capitalized(k.as_str()));
                let content = content_schema(k, generator);
                generator
                    .definitions_mut()
                    .insert(name.clone(), Value::Object(content));
                variants.push(json!({"$ref": format!("#/$defs/{name}")}));
            }
            let mut props = Map::new();
            props.insert("corrects".into(), sub::<Pin>(generator));
            props.insert("reason".into(), sub::<Text>(generator));
            props.insert(
                "replacement".into(),
                json!({
                    "description": "The corrected record's full new content: its event date, programme, kind (the same as the record corrected) and the kind's fields.",
                    "oneOf": variants,
                }),
            );
            let mut map = Map::new();
            map.insert("type".into(), json!("object"));
            map.insert("properties".into(), Value::Object(props));
            map.insert(
                "required".into(),
                json!(["corrects", "reason", "replacement"]),
            );
            map.insert("additionalProperties".into(), json!(false));
            map
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// Merges envelope properties (first) into a body schema.
fn with_envelope(mut body: Map<String, Value>, envelope: Vec<(&str, Value)>) -> Map<String, Value> {
    let mut props = Map::new();
    let mut required = Vec::new();
    for (name, schema) in envelope {
        props.insert(name.into(), schema);
        required.push(Value::String(name.into()));
    }
    if let Some(Value::Object(body_props)) = body.remove("properties") {
        props.extend(body_props);
    }
    if let Some(Value::Array(body_required)) = body.remove("required") {
        required.extend(body_required);
    }
    body.remove("title");
    body.insert("type".into(), json!("object"));
    body.insert("properties".into(), Value::Object(props));
    body.insert("required".into(), Value::Array(required));
    body.insert("additionalProperties".into(), json!(false));
    body
}

/// The schema of a correction's replacement of kind `kind`.
fn content_schema(kind: Kind, generator: &mut SchemaGenerator) -> Map<String, Value> {
    let body = body_schema(kind, generator);
    let envelope = vec![
        ("kind", json!({"const": kind.as_str()})),
        ("event_date", sub::<Date>(generator)),
        ("program", sub::<Ident>(generator)),
    ];
    with_envelope(body, envelope)
}

/// The JSON Schema (draft 2020-12) of a signed record of `kind`.
pub fn kind_schema(kind: Kind) -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let body = body_schema(kind, &mut generator);
    let signatures = json!({
        "description": "The operator's signature first, then any attestations; each over the JCS bytes of the record without `signatures`.",
        "type": "array",
        "minItems": 1,
        "items": sub::<RecordSignature>(&mut generator),
    });
    let envelope = vec![
        (
            "v",
            json!({"description": "Record format version.", "const": 1}),
        ),
        (
            "rid",
            json!({"description": "Record id: `<member id>-<local part>`, unique in the log.", "allOf": [sub::<Ident>(&mut generator)]}),
        ),
        ("kind", json!({"const": kind.as_str()})),
        (
            "event_date",
            json!({"description": "When the stated event happened.", "allOf": [sub::<Date>(&mut generator)]}),
        ),
        (
            "program",
            json!({"description": "The fund or programme.", "allOf": [sub::<Ident>(&mut generator)]}),
        ),
        ("signatures", signatures),
    ];
    let description = body
        .get("description")
        .cloned()
        .unwrap_or_else(|| json!(format!("A {kind} record.")));
    let mut out = Map::new();
    out.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    out.insert(
        "title".into(),
        json!(format!("daylight {kind} record (v1)")),
    );
    out.insert("description".into(), description);
    let mut merged = with_envelope(body, envelope);
    merged.remove("description");
    out.extend(merged);
    let defs = generator.take_definitions(true);
    if !defs.is_empty() {
        out.insert("$defs".into(), Value::Object(defs.into_iter().collect()));
    }
    Value::Object(out)
}
