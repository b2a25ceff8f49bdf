//! Producing inclusion and consistency proofs from stored hashes (RFC 9162 §2.1.3, §2.1.4).
//!
//! Both proofs are lists of tree hashes of leaf ranges. Each function first walks the RFC's
//! recursion to list those ranges, then reads every stored hash they need in one call, then
//! folds each range. A range is either one complete subtree or the right edge of the tree.

use super::{HashReader, NodeId, TreeError, fold_right, read_exact, split_point, subtrees};
use crate::hash::Hash;

/// The tree hashes of `ranges`, read in one batch.
fn range_hashes(ranges: &[(u64, u64)], reader: &impl HashReader) -> Result<Vec<Hash>, TreeError> {
    let mut ids: Vec<NodeId> = Vec::with_capacity(ranges.len() * 2);
    let mut bounds = Vec::with_capacity(ranges.len());
    for &(lo, hi) in ranges {
        let start = ids.len();
        subtrees(lo, hi, &mut ids);
        bounds.push(start..ids.len());
    }
    let hashes = read_exact(reader, &ids)?;
    Ok(bounds.into_iter().map(|b| fold_right(&hashes[b])).collect())
}

/// The inclusion proof of leaf `index` in the tree of the first `size` leaves: the sibling
/// tree hashes from the leaf up to the root (RFC 9162 `PATH(m, D[n])`).
pub fn prove_inclusion(
    index: u64,
    size: u64,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, TreeError> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    // Walk from the root down to the leaf; the RFC lists siblings from the leaf up.
    let (mut lo, mut hi) = (0u64, size);
    let mut ranges = Vec::with_capacity(64);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
        }
    }
    ranges.reverse();
    range_hashes(&ranges, reader)
}

/// The consistency proof between the trees of the first `old` and `new` leaves
/// (RFC 9162 `PROOF(m, D[n])`). Empty when `old == new`.
pub fn prove_consistency(
    old: u64,
    new: u64,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, TreeError> {
    if old == 0 || old > new {
        return Err(TreeError::BadSizes { old, new });
    }
    // SUBPROOF(m, D[lo:hi], b), unrolled: each step keeps the half holding the old tree's
    // boundary and records the other half's hash; `whole` is the RFC's flag b, true while the
    // current range starts at leaf 0 and so its old part is the old tree itself.
    let (mut lo, mut hi, mut m, mut whole) = (0u64, new, old, true);
    let mut ranges = Vec::with_capacity(64);
    loop {
        let n = hi - lo;
        if m == n {
            if !whole {
                ranges.push((lo, hi));
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
            m -= k;
            whole = false;
        }
    }
    ranges.reverse();
    range_hashes(&ranges, reader)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::tree::reference_root;
    use crate::merkle::{MemoryHashStore, append_batch, leaf_hash};

    /// RFC 9162 PATH, written as the RFC's recursion over leaf hashes: an independent oracle.
    fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return vec![];
        }
        let k = split_point(n as u64) as usize;
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(reference_root(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(reference_root(&leaves[..k]));
            p
        }
    }

    /// RFC 9162 SUBPROOF, as an oracle.
    fn subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if whole {
                vec![]
            } else {
                vec![reference_root(leaves)]
            };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut p = subproof(m, &leaves[..k], whole);
            p.push(reference_root(&leaves[k..]));
            p
        } else {
            let mut p = subproof(m - k, &leaves[k..], false);
            p.push(reference_root(&leaves[..k]));
            p
        }
    }

    #[test]
    fn proofs_match_the_rfc_recursion() {
        let leaves: Vec<Hash> = (0..70).map(|i| leaf_hash(&[i as u8])).collect();
        let store = {
            let mut s = MemoryHashStore::new();
            s.extend(append_batch(0, &leaves, &s).unwrap());
            s
        };
        for n in 1..=leaves.len() {
            for m in 0..n {
                let got = prove_inclusion(m as u64, n as u64, &store).unwrap();
                assert_eq!(got, path(m, &leaves[..n]), "inclusion {m} in {n}");
            }
            for m in 1..=n {
                let got = prove_consistency(m as u64, n as u64, &store).unwrap();
                assert_eq!(
                    got,
                    subproof(m, &leaves[..n], true),
                    "consistency {m} to {n}"
                );
            }
        }
    }

    #[test]
    fn bad_arguments_are_errors() {
        let store = MemoryHashStore::new();
        assert!(matches!(
            prove_inclusion(3, 3, &store),
            Err(TreeError::IndexOutOfRange { .. })
        ));
        assert!(matches!(
            prove_consistency(0, 3, &store),
            Err(TreeError::BadSizes { .. })
        ));
        assert!(matches!(
            prove_consistency(4, 3, &store),
            Err(TreeError::BadSizes { .. })
        ));
        assert!(matches!(
            prove_inclusion(0, 2, &store),
            Err(TreeError::Missing(_))
        ));
    }
}
