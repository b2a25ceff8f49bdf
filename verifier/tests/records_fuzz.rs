//! The record parsers never panic: random bytes, and documented examples with random byte
//! mutations, truncations and random string values, go through every entry point.

use daylight_verifier::key::{KeyType, SigningKey};
use daylight_verifier::record::{
    self, AcceptedKeys, LogState, MemberId, SignedRecord, check_privacy, validate,
};
use proptest::prelude::*;
use serde_json::Value;

fn examples() -> Vec<Vec<u8>> {
    let md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/records.md"))
        .expect("docs/records.md");
    let mut out = Vec::new();
    let mut block: Option<String> = None;
    for line in md.lines() {
        match &mut block {
            None if line.starts_with("```json") => block = Some(String::new()),
            Some(text) if line == "```" => {
                out.push(text.clone().into_bytes());
                block = None;
            }
            Some(text) => text.push_str(line),
            None => {}
        }
    }
    out
}

fn exercise(bytes: &[u8]) {
    let member = MemberId::parse("county-320206").expect("member");
    let keys = AcceptedKeys::new().with_operator(
        SigningKey::from_seed(
            "demo.daylight/county-320206/operator/li",
            KeyType::Ed25519,
            [1; 32],
        )
        .expect("key")
        .verifier(),
    );
    let _ = record::is_canonical(bytes);
    let _ = record::canonicalize(bytes);
    let _ = SignedRecord::from_entry(bytes);
    let _ = record::check_record(bytes, &member, &keys);
    if let Ok(r) = SignedRecord::from_json(bytes) {
        let _ = validate(&r, &member);
        let _ = check_privacy(&r);
        let entry = record::to_entry_bytes(&r);
        // Whatever parses re-serializes to a canonical entry that reads back the same.
        assert!(record::is_canonical(&entry));
        assert_eq!(SignedRecord::from_entry(&entry).ok().as_ref(), Some(&r));
        let _ = LogState::from_entries(&[entry.clone(), entry]);
    }
    let _ = serde_json::from_slice::<record::Opening>(bytes);
}

/// Replaces the `n`th string value of a JSON document with `s`.
fn replace_nth_string(value: &mut Value, n: &mut usize, s: &str) -> bool {
    match value {
        Value::String(text) => {
            if *n == 0 {
                *text = s.to_string();
                return true;
            }
            *n -= 1;
            false
        }
        Value::Array(items) => items.iter_mut().any(|v| replace_nth_string(v, n, s)),
        Value::Object(map) => map.values_mut().any(|v| replace_nth_string(v, n, s)),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn mutated_examples_never_panic(
        which in 0usize..64,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let all = examples();
        let mut bytes = all[which % all.len()].clone();
        for (at, byte) in flips {
            let i = at % bytes.len();
            bytes[i] = byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        exercise(&bytes);
    }

    #[test]
    fn random_string_values_never_panic(
        which in 0usize..64,
        nth in 0usize..64,
        s in "\\PC{0,40}|[0-9+ -]{0,24}|[0-9a-f]{64}",
    ) {
        let all = examples();
        let mut value: Value = serde_json::from_slice(&all[which % all.len()]).expect("json");
        let mut n = nth;
        replace_nth_string(&mut value, &mut n, &s);
        exercise(&serde_json::to_vec(&value).expect("json"));
    }
}
