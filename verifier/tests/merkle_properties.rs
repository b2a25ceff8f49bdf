//! Property tests of the Merkle engine over random sizes up to 100,000 leaves: every proof
//! verifies, and any flipped bit, wrong index or wrong size makes it fail.

use std::sync::OnceLock;

use daylight_verifier::Hash;
use daylight_verifier::merkle::{
    MemoryHashStore, ProofError, append_batch, leaf_hash, prove_consistency, prove_inclusion,
    reference_root, tree_hash, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

const MAX: u64 = 100_000;

/// One tree of 100,000 random-looking leaves; every smaller tree is a prefix of it, and its
/// store holds every hash those smaller trees need.
fn tree() -> &'static (Vec<Hash>, MemoryHashStore) {
    static TREE: OnceLock<(Vec<Hash>, MemoryHashStore)> = OnceLock::new();
    TREE.get_or_init(|| {
        let leaves: Vec<Hash> = (0..MAX)
            .map(|i| leaf_hash(&(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_le_bytes()))
            .collect();
        let mut store = MemoryHashStore::new();
        for chunk in leaves.chunks(4096) {
            let size = store.size();
            store.extend(append_batch(size, chunk, &store).unwrap());
        }
        (leaves, store)
    })
}

fn root(size: u64) -> Hash {
    tree_hash(size, &tree().1).unwrap()
}

fn flip(hashes: &mut [Hash], bit: usize) {
    let which = bit / 256 % hashes.len();
    hashes[which].0[bit % 256 / 8] ^= 1 << (bit % 8);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn inclusion_proofs_verify_and_tampering_fails(
        size in 1..=MAX,
        index_seed in any::<u64>(),
        bit in any::<usize>(),
        other in any::<u64>(),
    ) {
        let (leaves, store) = tree();
        let index = index_seed % size;
        let leaf = leaves[index as usize];
        let proof = prove_inclusion(index, size, store).unwrap();
        prop_assert!(proof.len() <= 64 - (size - 1).leading_zeros() as usize);
        prop_assert_eq!(verify_inclusion(index, size, &leaf, &proof, &root(size)), Ok(()));

        if !proof.is_empty() {
            let mut bad = proof.clone();
            flip(&mut bad, bit);
            prop_assert!(verify_inclusion(index, size, &leaf, &bad, &root(size)).is_err());
        }
        let mut bad_leaf = leaf;
        bad_leaf.0[bit % 32] ^= 1 << (bit % 8);
        prop_assert!(verify_inclusion(index, size, &bad_leaf, &proof, &root(size)).is_err());

        let wrong_index = other % size;
        if wrong_index != index {
            prop_assert!(verify_inclusion(wrong_index, size, &leaf, &proof, &root(size)).is_err());
        }
        let wrong_size = 1 + other % MAX;
        if wrong_size != size {
            let result = verify_inclusion(index, wrong_size, &leaf, &proof, &root(wrong_size));
            prop_assert!(result.is_err(), "size {} accepted as {}", size, wrong_size);
        }
        let past_end = verify_inclusion(size, size, &leaf, &proof, &root(size));
        let refused = matches!(past_end, Err(ProofError::IndexOutOfRange { .. }));
        prop_assert!(refused);
    }

    #[test]
    fn consistency_proofs_verify_and_tampering_fails(
        new in 1..=MAX,
        old_seed in any::<u64>(),
        bit in any::<usize>(),
        other in any::<u64>(),
    ) {
        let store = &tree().1;
        let old = 1 + old_seed % new;
        let proof = prove_consistency(old, new, store).unwrap();
        prop_assert_eq!(verify_consistency(old, new, &root(old), &root(new), &proof), Ok(()));

        if !proof.is_empty() {
            let mut bad = proof.clone();
            flip(&mut bad, bit);
            prop_assert!(verify_consistency(old, new, &root(old), &root(new), &bad).is_err());
        }
        let mut bad_old = root(old);
        bad_old.0[bit % 32] ^= 1 << (bit % 8);
        prop_assert!(verify_consistency(old, new, &bad_old, &root(new), &proof).is_err());

        let wrong_old = 1 + other % new;
        if wrong_old != old {
            let result = verify_consistency(wrong_old, new, &root(wrong_old), &root(new), &proof);
            prop_assert!(result.is_err(), "old {} accepted as {}", old, wrong_old);
        }
        let wrong_new = old + other % (MAX - old + 1);
        if wrong_new != new {
            let result = verify_consistency(old, wrong_new, &root(old), &root(wrong_new), &proof);
            prop_assert!(result.is_err(), "new {} accepted as {}", new, wrong_new);
        }
    }

    #[test]
    fn roots_match_the_rfc_recursion(size in 0usize..2_000) {
        let leaves = &tree().0;
        prop_assert_eq!(root(size as u64), reference_root(&leaves[..size]));
    }
}
