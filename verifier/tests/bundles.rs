//! A receipt as a citizen checks it: a tlog-proof bundle for a real tree, with a checkpoint
//! cosigned by witnesses, checked against a trust policy.

use daylight_verifier::bundle::{BundleError, ProofBundle};
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::cosignature::cosign;
use daylight_verifier::merkle::{
    MemoryHashStore, append_batch, leaf_hash, prove_inclusion, tree_hash,
};
use daylight_verifier::policy::{LogPolicy, PolicyError};
use daylight_verifier::{Hash, KeyType, SigningKey};

const ORIGIN: &str = "demo.daylight/county-320206";

struct Log {
    key: SigningKey,
    witnesses: Vec<SigningKey>,
    entries: Vec<Vec<u8>>,
    store: MemoryHashStore,
}

fn log(n: usize) -> Log {
    let entries: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("{{\"rid\":\"r-{i}\"}}").into_bytes())
        .collect();
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    let mut store = MemoryHashStore::new();
    store.extend(append_batch(0, &leaves, &store).unwrap());
    Log {
        key: SigningKey::from_seed(ORIGIN, KeyType::Ed25519, [1; 32]).unwrap(),
        witnesses: (0..3)
            .map(|i| {
                let name = format!("demo.daylight/w{i}/witness");
                SigningKey::from_seed(&name, KeyType::Cosignature, [20 + i; 32]).unwrap()
            })
            .collect(),
        entries,
        store,
    }
}

impl Log {
    fn policy(&self, quorum: usize) -> LogPolicy {
        let witnesses = self.witnesses.iter().map(|w| w.verifier()).collect();
        LogPolicy::new(self.key.verifier(), witnesses, quorum).unwrap()
    }

    fn bundle(&self, index: u64, cosigners: &[usize]) -> ProofBundle {
        let size = self.store.size();
        let root = tree_hash(size, &self.store).unwrap();
        let mut note = Checkpoint::new(ORIGIN, size, root).sign(&self.key).unwrap();
        for &w in cosigners {
            let line = cosign(&self.witnesses[w], &note.text, 1_795_000_000).unwrap();
            note.signatures.push(line);
        }
        ProofBundle {
            extra: Some(self.entries[index as usize].clone()),
            index,
            proof: prove_inclusion(index, size, &self.store).unwrap(),
            checkpoint: note.to_text(),
        }
    }
}

#[test]
fn receipt_verifies_offline_after_a_text_round_trip() {
    let log = log(1000);
    for index in [0, 1, 511, 512, 999] {
        let text = log.bundle(index, &[0, 2]).to_text();
        let bundle = ProofBundle::parse(text.as_bytes()).unwrap();
        let leaf = leaf_hash(bundle.extra.as_deref().unwrap());
        let trusted = bundle.verify(&log.policy(2), &leaf).unwrap();
        assert_eq!(trusted.checkpoint.size, 1000);
        assert_eq!(trusted.cosigners.len(), 2);
    }
}

#[test]
fn altered_entry_or_proof_fails_with_a_reason() {
    let log = log(100);
    let bundle = log.bundle(42, &[0, 1, 2]);
    let policy = log.policy(2);
    let altered_entry = leaf_hash(b"{\"rid\":\"r-43\"}");
    let err = bundle.verify(&policy, &altered_entry).unwrap_err();
    assert!(matches!(err, BundleError::Proof { index: 42, .. }), "{err}");
    assert!(err.to_string().contains("not proven included at index 42"));

    let mut moved = bundle.clone();
    moved.index = 41;
    let leaf = leaf_hash(&log.entries[42]);
    assert!(moved.verify(&policy, &leaf).is_err());
}

#[test]
fn checkpoint_without_quorum_is_not_trusted() {
    let log = log(10);
    let bundle = log.bundle(3, &[1]);
    let leaf = leaf_hash(&log.entries[3]);
    let err = bundle.verify(&log.policy(2), &leaf).unwrap_err();
    assert!(
        matches!(err, BundleError::Checkpoint(PolicyError::QuorumNotMet(_))),
        "{err}"
    );
    assert!(bundle.verify(&log.policy(1), &leaf).is_ok());
}
