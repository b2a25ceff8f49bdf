//! Every example in `docs/records.md` parses, validates, passes the privacy guard, is signed by
//! the documented test keys and verifies; references between examples pin the right leaves;
//! the household's opening matches its payment; and the county's examples replay into the
//! expected current state.
//!
//! The examples' signatures, pinned leaves and commitment are computed here: with
//! `DAYLIGHT_BLESS=1` this test rewrites them in `docs/records.md`, otherwise it fails if the
//! file is not what it would write.

use std::collections::BTreeMap;
use std::path::PathBuf;

use daylight_verifier::key::{KeyType, SigningKey, VerifierKey};
use daylight_verifier::record::{
    self, AcceptedKeys, Body, Code, Kind, LogState, MemberId, Opening, Record, SignedRecord, Status,
};
use sha2::{Digest, Sha256};

fn docs_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/records.md")
}

/// The test key named `name`: seed = SHA-256("daylight records.md example key\n" ‖ name).
fn key(name: &str) -> SigningKey {
    let mut h = Sha256::new();
    h.update(b"daylight records.md example key\n");
    h.update(name.as_bytes());
    let seed: [u8; 32] = h.finalize().into();
    SigningKey::from_seed(name, KeyType::Ed25519, seed).expect("valid key name")
}

/// `(member, role)` from a key name `<network>/<member>/<role>/<name>`.
fn member_and_role(name: &str) -> (String, String) {
    let parts: Vec<&str> = name.split('/').collect();
    assert_eq!(
        parts.len(),
        4,
        "key name {name} is not network/member/role/name"
    );
    (parts[1].to_string(), parts[2].to_string())
}

struct Block {
    info: String,
    /// Byte range of the block's content in the file.
    start: usize,
    end: usize,
}

fn blocks(md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut open: Option<(String, usize)> = None;
    for line in md.split_inclusive('\n') {
        let trimmed = line.trim_end();
        match &open {
            None if trimmed.starts_with("```json") => {
                open = Some((
                    trimmed.trim_start_matches("```").to_string(),
                    pos + line.len(),
                ));
            }
            Some((info, start)) if trimmed == "```" => {
                out.push(Block {
                    info: info.clone(),
                    start: *start,
                    end: pos,
                });
                open = None;
            }
            _ => {}
        }
        pos += line.len();
    }
    assert!(open.is_none(), "unterminated code block in records.md");
    out
}

/// Replaces the 64 characters after each occurrence of `marker`.
fn replace_after(text: &str, marker: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(marker) {
        let cut = i + marker.len();
        out.push_str(&rest[..cut]);
        out.push_str(value);
        rest = &rest[cut + 64..];
    }
    out.push_str(rest);
    out
}

/// Recomputes the examples: pinned leaves, commitments, signatures. Returns the new file text
/// and the signed records in order.
fn bless(md: &str) -> (String, Vec<SignedRecord>, Vec<Opening>) {
    let blocks = blocks(md);
    let openings: Vec<Opening> = blocks
        .iter()
        .filter(|b| b.info == "json opening")
        .map(|b| serde_json::from_str(&md[b.start..b.end]).expect("opening parses"))
        .collect();
    let mut leaves: Vec<(String, String)> = Vec::new();
    let mut out = String::new();
    let mut records = Vec::new();
    let mut last = 0;
    for b in blocks.iter().filter(|b| b.info == "json") {
        out.push_str(&md[last..b.start]);
        let mut text = md[b.start..b.end].to_string();
        for (rid, leaf) in &leaves {
            text = replace_after(&text, &format!("\"rid\": \"{rid}\", \"leaf\": \""), leaf);
        }
        // The household payment's commitment comes from its opening.
        let value: serde_json::Value = serde_json::from_str(&text).expect("example is JSON");
        let rid = value["rid"].as_str().expect("rid").to_string();
        if let Some(opening) = openings.iter().find(|o| o.rid.as_str() == rid) {
            text = replace_after(
                &text,
                "\"commitment\": \"",
                &opening.commitment().to_string(),
            );
        }
        let mut value: serde_json::Value = serde_json::from_str(&text).expect("example is JSON");
        let signers: Vec<String> = value["signatures"]
            .as_array()
            .expect("signatures")
            .iter()
            .map(|s| {
                let signer = s["signer"].as_str().expect("signer");
                VerifierKey::parse(signer)
                    .map(|k| k.name().to_string())
                    .unwrap_or_else(|_| signer.to_string())
            })
            .collect();
        value.as_object_mut().expect("object").remove("signatures");
        let unsigned = Record::from_value(value).unwrap_or_else(|e| panic!("{rid}: {e}"));
        let mut signed = unsigned.sign(&key(&signers[0]));
        for name in &signers[1..] {
            signed.attest(&key(name));
        }
        // Rewrite each signature line in place, keeping the layout.
        let mut rewritten = String::new();
        let mut rest = text.as_str();
        for sig in &signed.signatures {
            let i = rest.find("{\"signer\": \"").expect("signature object");
            let j = i + rest[i..].find("\"}").expect("end of signature") + 2;
            rewritten.push_str(&rest[..i]);
            rewritten.push_str(
                &serde_json::to_string(sig)
                    .expect("json")
                    .replace("\",\"", "\", \"")
                    .replace("{\"signer\":", "{\"signer\": ")
                    .replace("\"sig\":", "\"sig\": "),
            );
            rest = &rest[j..];
        }
        rewritten.push_str(rest);
        leaves.push((rid, record::leaf_hash(&signed).to_hex()));
        out.push_str(&rewritten);
        records.push(signed);
        last = b.end;
    }
    out.push_str(&md[last..]);
    (out, records, openings)
}

fn accepted_keys(records: &[SignedRecord]) -> BTreeMap<String, AcceptedKeys> {
    let mut keys: BTreeMap<String, AcceptedKeys> = BTreeMap::new();
    let mut seen = Vec::new();
    for s in records.iter().flat_map(|r| &r.signatures) {
        if seen.contains(&s.signer) {
            continue;
        }
        seen.push(s.signer.clone());
        let (member, role) = member_and_role(s.signer.name());
        let entry = keys.remove(&member).unwrap_or_default();
        let entry = if role == "operator" {
            entry.with_operator(s.signer.clone())
        } else {
            entry.with_attestor(s.signer.clone(), Code::parse(&role).expect("role code"))
        };
        keys.insert(member, entry);
    }
    keys
}

#[test]
fn documented_examples_are_signed_and_up_to_date() {
    let md = std::fs::read_to_string(docs_path()).expect("docs/records.md");
    let (blessed, _, _) = bless(&md);
    if std::env::var_os("DAYLIGHT_BLESS").is_some() {
        std::fs::write(docs_path(), &blessed).expect("write docs/records.md");
        return;
    }
    assert!(
        blessed == md,
        "docs/records.md examples are stale (signatures, leaves or commitment): run with DAYLIGHT_BLESS=1"
    );
}

#[test]
fn every_documented_example_parses_validates_and_verifies() {
    let md = std::fs::read_to_string(docs_path()).expect("docs/records.md");
    let (_, signed, openings) = bless(&md);
    let keys = accepted_keys(&signed);
    let all_blocks = blocks(&md);
    let record_blocks: Vec<&Block> = all_blocks.iter().filter(|b| b.info == "json").collect();
    assert_eq!(record_blocks.len(), signed.len());
    let mut kinds = Vec::new();
    for (block, expected) in record_blocks.iter().zip(&signed) {
        let text = &md[block.start..block.end];
        let record = SignedRecord::from_json(text.as_bytes()).expect("example parses");
        let rid = record.record.rid.clone();
        assert_eq!(&record, expected, "{rid}: signatures as documented");
        let (member, _) = member_and_role(record.signatures[0].signer.name());
        let member = MemberId::parse(&member).expect("member id");
        record::validate(&record, &member).unwrap_or_else(|e| panic!("{rid}: {e}"));
        record::check_privacy(&record).unwrap_or_else(|e| panic!("{rid}: {e}"));
        let verified = record::verify_signatures(&record, &keys[member.as_str()])
            .unwrap_or_else(|e| panic!("{rid}: {e}"));
        let checked = record::check_record(text.as_bytes(), &member, &keys[member.as_str()])
            .unwrap_or_else(|e| panic!("{rid}: {e}"));
        let entry = record::to_entry_bytes(&record);
        assert_eq!(checked.entry, entry);
        assert!(record::is_canonical(&entry), "{rid}: entry is canonical");
        assert!(entry.len() <= record::MAX_ENTRY_SIZE);
        assert_eq!(SignedRecord::from_entry(&entry).expect("entry"), record);
        if record.record.kind() == Kind::Household {
            assert_eq!(
                verified.attestation_count(),
                5,
                "household exit has five sign-offs"
            );
            assert_eq!(verified.roles().len(), 5);
        }
        kinds.push(record.record.kind());
    }
    for kind in Kind::ALL {
        assert!(kinds.contains(&kind), "records.md has no {kind} example");
    }

    // References between examples pin the documented versions.
    let leaves: BTreeMap<String, String> = signed
        .iter()
        .map(|r| (r.record.rid.to_string(), record::leaf_hash(r).to_hex()))
        .collect();
    for r in &signed {
        for (path, reference) in r.record.body.references() {
            if let Some(leaf) = leaves.get(reference.rid.as_str()) {
                assert_eq!(&reference.leaf.to_string(), leaf, "{} {path}", r.record.rid);
            }
        }
    }

    // The household's opening proves its payment.
    assert_eq!(openings.len(), 1);
    let payment = signed
        .iter()
        .find(|r| r.record.rid == openings[0].rid)
        .expect("the opened payment is documented");
    openings[0].verify(payment).expect("opening verifies");

    // Replaying the county's examples: the cooperative payment is corrected, the project voided.
    let county: Vec<Vec<u8>> = signed
        .iter()
        .filter(|r| r.record.rid.as_str().starts_with("county-320206-"))
        .map(record::to_entry_bytes)
        .collect();
    let state = LogState::from_entries(&county).expect("county log replays");
    assert!(state.issues().is_empty(), "{:?}", state.issues());
    let pay = state
        .get(&"county-320206-2024-pay-0101".parse().expect("rid"))
        .expect("payment");
    assert_eq!(pay.versions.len(), 2);
    match &pay.content.body {
        Body::Payment(p) => assert_eq!(p.documents.len(), 2, "the correction added the invoice"),
        other => panic!("unexpected {other:?}"),
    }
    let project = state
        .get(&"county-320206-2024-prj-0004".parse().expect("rid"))
        .expect("project");
    assert!(matches!(project.status, Status::Voided { .. }));
}
