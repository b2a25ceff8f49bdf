//! Holds daylight to the Go reference implementation's own output (`../shared/vectors/`):
//! golang.org/x/mod/sumdb/tlog for roots and proofs, sumdb/note for the signed checkpoint,
//! and a tlog-cosignature computed from the specification.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use daylight_verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use daylight_verifier::cosignature;
use daylight_verifier::merkle::{
    MemoryHashStore, append_batch, leaf_hash, prove_consistency, prove_inclusion, tree_hash,
    verify_consistency, verify_inclusion,
};
use daylight_verifier::note::Note;
use daylight_verifier::{Hash, KeyType, SigningKey, VerifierKey};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}

fn read_vector_file(name: &str) -> String {
    let path = vectors_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; the shared/ folder must sit beside the checkout",
            path.display()
        )
    })
}

/// The value of a `KEY value` line.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("vector file has no {key} line"))
}

fn seed(hex_text: &str) -> [u8; 32] {
    hex::decode(hex_text).unwrap().try_into().unwrap()
}

fn hashes(list: &str) -> Vec<Hash> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(|h| Hash::from_hex(h).unwrap())
        .collect()
}

fn store_of_40() -> MemoryHashStore {
    let leaves: Vec<Hash> = (0..40)
        .map(|i| leaf_hash(format!("leaf-{i}").as_bytes()))
        .collect();
    let mut store = MemoryHashStore::new();
    store.extend(append_batch(0, &leaves, &store).unwrap());
    store
}

#[test]
fn roots_and_proofs_match_the_go_reference() {
    let text = read_vector_file("rfc6962-leaf-i.txt");
    let store = store_of_40();
    let (mut roots, mut inclusions, mut consistencies) = (0, 0, 0);
    let root_of = |n: u64| tree_hash(n, &store).unwrap();
    for line in text.lines() {
        let parts: Vec<&str> = line.splitn(4, ' ').collect();
        match parts[0] {
            "R" => {
                let n: u64 = parts[1].parse().unwrap();
                assert_eq!(root_of(n), Hash::from_hex(parts[2]).unwrap(), "root {n}");
                roots += 1;
            }
            "P" => {
                let (n, i): (u64, u64) = (parts[1].parse().unwrap(), parts[2].parse().unwrap());
                let expected = hashes(parts.get(3).copied().unwrap_or(""));
                let proof = prove_inclusion(i, n, &store).unwrap();
                assert_eq!(proof, expected, "inclusion of {i} in {n}");
                let leaf = leaf_hash(format!("leaf-{i}").as_bytes());
                verify_inclusion(i, n, &leaf, &proof, &root_of(n)).unwrap();
                inclusions += 1;
            }
            "C" => {
                let (n, m): (u64, u64) = (parts[1].parse().unwrap(), parts[2].parse().unwrap());
                let expected = hashes(parts.get(3).copied().unwrap_or(""));
                let proof = prove_consistency(m, n, &store).unwrap();
                assert_eq!(proof, expected, "consistency {m} to {n}");
                verify_consistency(m, n, &root_of(m), &root_of(n), &proof).unwrap();
                consistencies += 1;
            }
            _ => {}
        }
    }
    assert_eq!(roots, 40, "every size 1..=40 has a root vector");
    assert_eq!(inclusions, 820, "every (n, i) pair has an inclusion vector");
    assert!(
        consistencies >= 700,
        "only {consistencies} consistency vectors read"
    );
}

#[test]
fn signed_checkpoint_is_reproduced_byte_for_byte() {
    let text = read_vector_file("rfc6962-leaf-i.txt");
    let vkey = VerifierKey::parse(field(&text, "VKEY")).unwrap();
    let key =
        SigningKey::from_seed(vkey.name(), KeyType::Ed25519, seed(field(&text, "SEED"))).unwrap();
    assert_eq!(key.verifier(), vkey);

    let expected = BASE64.decode(field(&text, "NOTE")).unwrap();
    let root = tree_hash(40, &store_of_40()).unwrap();
    let ours = Checkpoint::new(vkey.name(), 40, root).sign(&key).unwrap();
    assert_eq!(ours.to_text().as_bytes(), expected.as_slice());

    let opened = SignedCheckpoint::open(&expected, &vkey).unwrap();
    assert_eq!(opened.checkpoint.size, 40);
    assert_eq!(opened.checkpoint.root, root);
}

#[test]
fn cosignature_vector_verifies_and_is_reproduced() {
    let tree = read_vector_file("rfc6962-leaf-i.txt");
    let text = read_vector_file("cosignature.txt");
    let log = VerifierKey::parse(field(&tree, "VKEY")).unwrap();
    let witness = VerifierKey::parse(field(&text, "WITNESS_VKEY")).unwrap();
    assert_eq!(witness.key_type(), KeyType::Cosignature);
    let cosigned = BASE64.decode(field(&text, "COSIGNED_NOTE")).unwrap();

    let note = Note::parse(&cosigned).unwrap();
    let verified = note.verify(&[log.clone(), witness.clone()]).unwrap();
    assert_eq!(verified.verified.len(), 2);
    let line = note.signatures.iter().find(|s| s.is_by(&witness)).unwrap();
    assert_eq!(
        cosignature::verify(&witness, &note.text, line),
        Ok(1_795_000_000)
    );

    let witness_key = SigningKey::from_seed(
        witness.name(),
        KeyType::Cosignature,
        seed(field(&text, "WITNESS_SEED")),
    )
    .unwrap();
    assert_eq!(witness_key.verifier(), witness);
    let ours = cosignature::cosign(&witness_key, &note.text, 1_795_000_000).unwrap();
    assert_eq!(&ours, line);
    let log_only = BASE64.decode(field(&tree, "NOTE")).unwrap();
    let mut rebuilt = Note::parse(&log_only).unwrap();
    rebuilt.signatures.push(ours);
    assert_eq!(rebuilt.to_text().as_bytes(), cosigned.as_slice());
}
