//! Every parser and verifier in the crate reads bytes from networks and files. Each is fed
//! random bytes and mutations of valid inputs; each must return (an error or a value) and
//! never panic. A panic fails the test.

use daylight_verifier::bundle::ProofBundle;
use daylight_verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use daylight_verifier::cosignature;
use daylight_verifier::evidence::Evidence;
use daylight_verifier::merkle::{
    MemoryHashStore, append_batch, leaf_hash, prove_consistency, prove_inclusion, tree_hash,
    verify_consistency, verify_inclusion,
};
use daylight_verifier::note::Note;
use daylight_verifier::policy::LogPolicy;
use daylight_verifier::{Hash, KeyType, SigningKey, VerifierKey};
use proptest::prelude::*;
use std::sync::OnceLock;

const ORIGIN: &str = "demo.daylight/county-1";

fn log_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_seed(ORIGIN, KeyType::Ed25519, [3; 32]).unwrap())
}

fn witness() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        SigningKey::from_seed("demo.daylight/a/witness", KeyType::Cosignature, [4; 32]).unwrap()
    })
}

fn policy() -> &'static LogPolicy {
    static POLICY: OnceLock<LogPolicy> = OnceLock::new();
    POLICY.get_or_init(|| {
        LogPolicy::new(log_key().verifier(), vec![witness().verifier()], 1).unwrap()
    })
}

/// Valid samples of every format, to mutate.
fn samples() -> &'static [Vec<u8>] {
    static SAMPLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SAMPLES.get_or_init(make_samples)
}

fn make_samples() -> Vec<Vec<u8>> {
    let leaves: Vec<Hash> = (0..20u8).map(|i| leaf_hash(&[i])).collect();
    let mut store = MemoryHashStore::new();
    store.extend(append_batch(0, &leaves, &store).unwrap());
    let root = tree_hash(20, &store).unwrap();
    let mut note = Checkpoint::new(ORIGIN, 20, root).sign(log_key()).unwrap();
    note.signatures
        .push(cosignature::cosign(witness(), &note.text, 1_800_000_000).unwrap());
    let bundle = ProofBundle {
        extra: Some(b"entry".to_vec()),
        index: 5,
        proof: prove_inclusion(5, 20, &store).unwrap(),
        checkpoint: note.to_text(),
    };
    let other = Checkpoint::new(ORIGIN, 20, Hash::digest(b"x"))
        .sign(log_key())
        .unwrap();
    let open =
        |n: &Note| SignedCheckpoint::open(n.to_text().as_bytes(), &log_key().verifier()).unwrap();
    let evidence = Evidence::conflicting_roots(&open(&note), &open(&other)).unwrap();
    vec![
        note.to_text().into_bytes(),
        bundle.to_text().into_bytes(),
        evidence.to_json().into_bytes(),
        log_key().verifier().to_string().into_bytes(),
        log_key().to_private_key_string().into_bytes(),
        root.to_base64().into_bytes(),
        root.to_hex().into_bytes(),
    ]
}

/// Runs every parser and verifier on `bytes`; the assertion is that none panics.
fn exercise(bytes: &[u8]) {
    let policy = policy();
    let text = String::from_utf8_lossy(bytes);
    let _ = Hash::from_hex(&text);
    let _ = Hash::from_base64(&text);
    let _ = VerifierKey::parse(&text);
    let _ = SigningKey::parse(&text);
    let _ = Checkpoint::parse(&text);
    if let Ok(note) = Note::parse(bytes) {
        let _ = note.verify(&[log_key().verifier(), witness().verifier()]);
        for line in &note.signatures {
            let _ = cosignature::verify(&witness().verifier(), &note.text, line);
        }
    }
    let _ = SignedCheckpoint::open(bytes, &log_key().verifier());
    let _ = policy.verify(bytes);
    if let Ok(bundle) = ProofBundle::parse(bytes) {
        let _ = bundle.verify(policy, &leaf_hash(b"entry"));
        let _ = bundle.to_text();
    }
    if let Ok(evidence) = Evidence::from_json(bytes) {
        let _ = evidence.verify(&log_key().verifier());
    }
}

/// Interprets random numbers as proof arguments; verification must never panic either.
fn exercise_proofs(a: u64, b: u64, hashes: &[Hash]) {
    let (x, y) = (
        Hash::digest(&a.to_le_bytes()),
        Hash::digest(&b.to_le_bytes()),
    );
    let _ = verify_inclusion(a, b, &x, hashes, &y);
    let _ = verify_consistency(a, b, &x, &y, hashes);
    let store = MemoryHashStore::new();
    let _ = prove_inclusion(a, b, &store);
    let _ = prove_consistency(a, b, &store);
    let _ = tree_hash(b, &store);
}

fn mutate(mut data: Vec<u8>, ops: &[(u8, usize, u8)]) -> Vec<u8> {
    for &(op, at, byte) in ops {
        let at = if data.is_empty() {
            0
        } else {
            at % (data.len() + 1)
        };
        match op % 6 {
            0 if at < data.len() => data[at] ^= byte | 1,
            1 => data.insert(at, byte),
            2 if at < data.len() => {
                data.remove(at);
            }
            3 => data.truncate(at),
            4 => {
                let tail = data[at..].to_vec();
                data.extend_from_slice(&tail);
            }
            _ => {
                const TRICKY: &[u8] = b"\n-+= \x00\xe2\x80\x94";
                data.insert(at, TRICKY[byte as usize % TRICKY.len()]);
            }
        }
    }
    data
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&bytes);
    }

    #[test]
    fn mutated_valid_inputs_never_panic(
        which in any::<usize>(),
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6),
    ) {
        let all = samples();
        let data = mutate(all[which % all.len()].clone(), &ops);
        exercise(&data);
    }

    #[test]
    fn random_proof_arguments_never_panic(
        a in prop_oneof![any::<u64>(), 0u64..70],
        b in prop_oneof![any::<u64>(), 0u64..70, Just(u64::MAX)],
        seeds in proptest::collection::vec(any::<u64>(), 0..70),
    ) {
        let hashes: Vec<Hash> = seeds.iter().map(|s| Hash::digest(&s.to_le_bytes())).collect();
        exercise_proofs(a, b, &hashes);
    }
}

#[test]
fn samples_are_valid_before_mutation() {
    let all = samples();
    assert!(Note::parse(&all[0]).is_ok());
    assert!(ProofBundle::parse(&all[1]).is_ok());
    assert!(
        Evidence::from_json(&all[2])
            .unwrap()
            .verify(&log_key().verifier())
            .is_ok()
    );
    assert!(VerifierKey::parse(std::str::from_utf8(&all[3]).unwrap()).is_ok());
    assert!(SigningKey::parse(std::str::from_utf8(&all[4]).unwrap()).is_ok());
}
