//! The parsers never panic, on random bytes or on mutations of a valid genesis file, and no
//! mutation of the signed text is ever accepted.

mod common;

use std::sync::OnceLock;

use daylight_genesis::{Genesis, GenesisBuilder, GenesisChain, SignedGenesis};
use proptest::prelude::*;

fn valid_file() -> &'static str {
    static FILE: OnceLock<String> = OnceLock::new();
    FILE.get_or_init(|| {
        let (draft, keys) = common::network_with(Some(1));
        common::sign_all(&draft, &keys).to_text()
    })
}

fn definition_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        Genesis::open(valid_file().as_bytes())
            .expect("valid")
            .text()
            .to_string()
    })
}

/// A JSON chain of three versions, and the ids of its versions.
fn chain_json() -> &'static (String, Vec<String>) {
    static CHAIN: OnceLock<(String, Vec<String>)> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let chain = common::versions::versions().chain();
        let ids = chain
            .versions()
            .iter()
            .map(|v| v.id().to_string())
            .collect();
        (chain.to_json(), ids)
    })
}

/// Reads mutated chain bytes; whatever happens, a success holds only versions of the original.
fn check_chain(bytes: &[u8]) {
    let (_, ids) = chain_json();
    let results = [
        GenesisChain::from_json(bytes),
        GenesisChain::parse_any(bytes),
        GenesisChain::follow_json(&ids[0], bytes),
    ];
    for chain in results.into_iter().flatten() {
        let got: Vec<&str> = chain.versions().iter().map(|v| v.id()).collect();
        assert!(got.len() <= ids.len() && got.iter().zip(ids).all(|(a, b)| *a == b));
    }
}

/// Opens mutated bytes; whatever happens, a success must carry exactly the signed text.
fn check_open(bytes: &[u8]) {
    let _ = SignedGenesis::parse(bytes);
    if let Ok(genesis) = Genesis::open(bytes) {
        assert_eq!(genesis.text(), definition_text());
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
    DuplicateLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (
            any::<usize>(),
            prop::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'='), Just(b'"'), Just(b'['), any::<u8>()],
                1..16
            )
        )
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::DuplicateLine),
    ]
}

fn apply(original: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Flip(i, b) => {
                if !bytes.is_empty() {
                    let i = i % bytes.len();
                    bytes[i] ^= b;
                }
            }
            Mutation::Delete(i, n) => {
                let start = i % len;
                let end = (start + n).min(bytes.len());
                if start < end {
                    bytes.drain(start..end);
                }
            }
            Mutation::Insert(i, v) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, v.iter().copied());
            }
            Mutation::Truncate(i) => bytes.truncate(i % len),
            Mutation::DuplicateLine(i) => {
                let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
                if !lines.is_empty() {
                    let k = i % lines.len();
                    let mut out = Vec::with_capacity(bytes.len() * 2);
                    for (j, line) in lines.iter().enumerate() {
                        out.extend_from_slice(line);
                        if j == k {
                            out.extend_from_slice(line);
                        }
                    }
                    bytes = out;
                }
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_open(&bytes);
        check_chain(&bytes);
        let _ = GenesisBuilder::from_text(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_text_never_panics(text in "[a-z_=\\[\\]\"{},. \n0-9+/]{0,512}") {
        let _ = GenesisBuilder::from_text(&text).and_then(|d| d.build());
        check_open(format!("{text}\n\n\u{2014} x AAAA\n").as_bytes());
    }

    #[test]
    fn mutated_files_never_panic_and_never_verify_altered_text(
        mutations in prop::collection::vec(mutation(), 1..4)
    ) {
        let bytes = apply(valid_file().as_bytes(), &mutations);
        check_open(&bytes);
    }

    #[test]
    fn mutated_chains_never_panic_and_never_verify_altered_versions(
        mutations in prop::collection::vec(mutation(), 1..4)
    ) {
        let bytes = apply(chain_json().0.as_bytes(), &mutations);
        check_chain(&bytes);
    }

    #[test]
    fn mutated_definitions_never_panic(
        mutations in prop::collection::vec(mutation(), 1..4)
    ) {
        let bytes = apply(definition_text().as_bytes(), &mutations);
        if let Ok(text) = std::str::from_utf8(&bytes)
            && let Ok(draft) = GenesisBuilder::from_text(text)
        {
            let _ = draft.build();
            let _ = draft.to_text();
        }
    }
}
