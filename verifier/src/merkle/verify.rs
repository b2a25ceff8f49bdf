//! Checking proofs from hashes alone (RFC 9162 §2.1.3.2 and §2.1.4.2). No storage needed:
//! this is what a citizen's machine runs.

use super::{ProofError, node_hash};
use crate::hash::Hash;

/// The root that an inclusion proof leads to from `leaf` at `index` in a tree of `size`.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut root = *leaf;
    for sibling in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength(proof.len()));
        }
        if fnode & 1 == 1 || fnode == snode {
            root = node_hash(sibling, &root);
            if fnode & 1 == 0 {
                // Right edge: skip the levels where this node has no right sibling.
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            root = node_hash(&root, sibling);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength(proof.len()));
    }
    Ok(root)
}

/// Checks that `leaf` is at `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(index, size, leaf, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// Checks that the tree of `old` leaves with root `old_root` is a prefix of the tree of `new`
/// leaves with root `new_root`.
///
/// `old == new` needs an empty proof and equal roots. `old == 0` is refused: every tree
/// extends the empty tree, and no proof is needed for that.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old == 0 || old > new {
        return Err(ProofError::BadSizes { old, new });
    }
    if old == new {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength(proof.len()));
        }
        if old_root != new_root {
            return Err(ProofError::RootMismatch {
                computed: *old_root,
                expected: *new_root,
            });
        }
        return Ok(());
    }
    // When the old tree is a complete subtree, the proof omits its root: start from it.
    let seeded;
    let path: &[Hash] = if old.is_power_of_two() {
        seeded = [std::slice::from_ref(old_root), proof].concat();
        &seeded
    } else {
        proof
    };
    let Some((first, rest)) = path.split_first() else {
        return Err(ProofError::WrongLength(proof.len()));
    };
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut old_acc, mut new_acc) = (*first, *first);
    for hash in rest {
        if snode == 0 {
            return Err(ProofError::WrongLength(proof.len()));
        }
        if fnode & 1 == 1 || fnode == snode {
            old_acc = node_hash(hash, &old_acc);
            new_acc = node_hash(hash, &new_acc);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            new_acc = node_hash(&new_acc, hash);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength(proof.len()));
    }
    if old_acc != *old_root {
        return Err(ProofError::OldRootMismatch {
            computed: old_acc,
            expected: *old_root,
        });
    }
    if new_acc != *new_root {
        return Err(ProofError::RootMismatch {
            computed: new_acc,
            expected: *new_root,
        });
    }
    Ok(())
}
