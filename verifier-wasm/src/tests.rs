//! Host tests of the exported functions: their JSON shapes, the Go-reference vectors through
//! the same entry points the page calls, and that garbage never panics.

use super::*;

fn vector_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/vectors")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {key} line"))
}

fn base64(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

#[test]
fn the_go_reference_cosigned_checkpoint_verifies_and_a_changed_one_does_not() {
    let leaf_file = vector_file("rfc6962-leaf-i.txt");
    let cosig_file = vector_file("cosignature.txt");
    let note = base64(field(&cosig_file, "COSIGNED_NOTE"));
    let witnesses = format!("[\"{}\"]", field(&cosig_file, "WITNESS_VKEY"));
    let vkey = field(&leaf_file, "VKEY");
    let r = parsed(&verify_note_with_keys(&note, vkey, &witnesses, 1.0));
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["checkpoint"]["size"], 40);
    assert_eq!(r["cosigners"][0], "demo.daylight/auditor-320200/witness");
    // A witness that did not cosign, required alone: signature fine, quorum not met.
    let other = daylight_verifier::SigningKey::from_seed(
        "demo.daylight/other/witness",
        daylight_verifier::KeyType::Cosignature,
        [9; 32],
    )
    .unwrap()
    .verifier();
    let r = parsed(&verify_note_with_keys(
        &note,
        vkey,
        &format!("[\"{other}\"]"),
        1.0,
    ));
    assert_eq!(r["checks"][0]["ok"], true, "{r}");
    assert_eq!(r["checks"][1]["code"], "no_quorum");
    // One changed byte in the body: the log signature fails.
    let mut changed = note.clone();
    changed[30] ^= 1;
    let r = parsed(&verify_note_with_keys(&changed, vkey, &witnesses, 1.0));
    assert_eq!(r["ok"], false);
    assert_eq!(r["checks"][0]["code"], "bad_signature");
}

#[test]
fn go_reference_proofs_verify_through_the_exported_functions() {
    let text = vector_file("rfc6962-leaf-i.txt");
    let roots: std::collections::HashMap<u64, String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("R "))
        .map(|l| {
            let (n, root) = l.split_once(' ').unwrap();
            (n.parse().unwrap(), root.to_string())
        })
        .collect();
    let list = |csv: &str| {
        serde_json::to_string(&csv.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>())
            .unwrap()
    };
    let mut seen = 0;
    for line in text.lines() {
        let parts: Vec<&str> = line.splitn(4, ' ').collect();
        match parts.as_slice() {
            ["P", n, i, proof] => {
                let (n, i): (u64, u64) = (n.parse().unwrap(), i.parse().unwrap());
                let leaf = leaf_hash_hex(format!("leaf-{i}").as_bytes());
                let r = parsed(&verify_inclusion_proof(
                    i as f64,
                    n as f64,
                    &leaf,
                    &list(proof),
                    &roots[&n],
                ));
                assert_eq!(r["ok"], true, "{line}: {r}");
                let other = leaf_hash_hex(b"not a leaf");
                let r = parsed(&verify_inclusion_proof(
                    i as f64,
                    n as f64,
                    &other,
                    &list(proof),
                    &roots[&n],
                ));
                assert_eq!(r["ok"], false, "{line}");
                seen += 1;
            }
            ["C", n, m, proof] => {
                let (n, m): (u64, u64) = (n.parse().unwrap(), m.parse().unwrap());
                let r = parsed(&verify_consistency_proof(
                    m as f64,
                    n as f64,
                    &roots[&m],
                    &roots[&n],
                    &list(proof),
                ));
                assert_eq!(r["ok"], true, "{line}: {r}");
                seen += 1;
            }
            _ => {}
        }
    }
    assert!(seen > 100, "only {seen} vectors");
}

#[test]
fn garbage_gives_failed_results_never_a_panic() {
    let junk: [&[u8]; 4] = [b"", b"{", b"\xff\xfe", b"c2sp.org/tlog-proof@v1\n"];
    for bytes in junk {
        let text = String::from_utf8_lossy(bytes);
        for result in [
            pin_genesis(bytes),
            follow_genesis("abc", bytes),
            follow_genesis("", bytes),
            verify_checkpoint(bytes, "", "county-1", bytes),
            verify_checkpoint(bytes, "x", "", bytes),
            verify_entry(bytes, "", "county-1", 0.0, bytes),
            verify_entry_in_bundle(bytes, "", "county-1", 3.0, bytes),
            verify_receipt(&text, bytes, ""),
            decode_receipt_code(&text),
            verify_note_with_keys(bytes, &text, &text, 1.0),
            inclusion_tiles(f64::NAN, 3.0),
            inclusion_tiles(3.0, 3.0),
            consistency_tiles(5.0, 3.0),
            prove_inclusion(0.0, 1.0, &text, bytes, &[1]),
            verify_inclusion_from_tiles(0.0, 1.0, &text, &text, "[]", bytes, &[]),
            verify_consistency_from_tiles(1.0, &text, 2.0, &text, "[]", bytes, &[]),
            verify_inclusion_proof(0.0, 1.0, &text, &text, &text),
            verify_consistency_proof(1.0, 2.0, &text, &text, &text),
        ] {
            let r = parsed(&result);
            let failed = r["ok"] == false || r["ok"].is_null() && r["code"].is_string();
            assert!(failed, "{text:?} gave {r}");
        }
    }
}

#[test]
fn tile_lists_name_what_the_proofs_read() {
    let r = parsed(&inclusion_tiles(3.0, 70_000.0));
    assert_eq!(r["entryBundle"], "tile/entries/000");
    let tiles: Vec<String> = serde_json::from_value(r["tiles"].clone()).unwrap();
    assert!(tiles.contains(&"tile/0/000".to_string()), "{tiles:?}");
    assert!(tiles.iter().any(|t| t.starts_with("tile/1/")), "{tiles:?}");
    let r = parsed(&consistency_tiles(300.0, 300.0));
    assert_eq!(r["tiles"], serde_json::json!([]));
}

#[test]
fn receipt_codes_round_trip_through_the_exports() {
    let receipt = r#"{"format":"daylight-household-receipt/v1","bundle":"b","opening":{}}"#;
    let code = parsed(&encode_receipt_code(receipt));
    let code = code["code"].as_str().unwrap();
    let back = parsed(&decode_receipt_code(&format!("https://n/receipt#{code}")));
    assert_eq!(back["ok"], true);
    let a: serde_json::Value = serde_json::from_str(back["receipt"].as_str().unwrap()).unwrap();
    let b: serde_json::Value = serde_json::from_str(receipt).unwrap();
    assert_eq!(a, b);
    // A code that decodes but is not a whole household receipt is a bad receipt.
    let r = parsed(&verify_receipt(code, b"{}", ""));
    assert_eq!(r["checks"][0]["code"], "bad_receipt", "{r}");
}
