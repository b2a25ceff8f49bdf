//! The committed JSON Schemas in `docs/schemas/` are exactly what the types generate, so a
//! field added to a type but not to its schema fails here. `DAYLIGHT_BLESS=1` rewrites them.

use std::path::PathBuf;

use daylight_verifier::record::Kind;
use daylight_verifier::record::schema::kind_schema;

fn schema_path(kind: Kind) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/schemas")
        .join(format!("{}.schema.json", kind.as_str()))
}

#[test]
fn committed_schemas_match_the_types() {
    let bless = std::env::var_os("DAYLIGHT_BLESS").is_some();
    let mut stale = Vec::new();
    for kind in Kind::ALL {
        let generated = serde_json::to_string_pretty(&kind_schema(kind)).expect("json") + "\n";
        let path = schema_path(kind);
        if bless {
            std::fs::write(&path, &generated).expect("write schema");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(generated.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "schemas out of step with the types: {stale:?}; run with DAYLIGHT_BLESS=1 and review the diff"
    );
}

#[test]
fn schemas_list_every_documented_field() {
    // Spot checks that the merged schema holds the envelope and the kind's own fields.
    let payment = kind_schema(Kind::Payment);
    let props = payment["properties"].as_object().expect("properties");
    for field in [
        "v",
        "rid",
        "kind",
        "event_date",
        "program",
        "signatures",
        "payee",
        "amount",
        "funded_by",
        "purpose",
        "project",
        "documents",
    ] {
        assert!(props.contains_key(field), "payment schema lacks {field}");
    }
    assert_eq!(payment["additionalProperties"], false);
    assert_eq!(payment["properties"]["kind"]["const"], "payment");
    let required: Vec<&str> = payment["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(required.contains(&"funded_by") && !required.contains(&"project"));
    let correction = kind_schema(Kind::Correction);
    assert_eq!(
        correction["properties"]["replacement"]["oneOf"]
            .as_array()
            .expect("variants")
            .len(),
        8
    );
}
