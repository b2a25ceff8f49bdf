//! A log's trust policy with history (DESIGN §6b): rotated log keys with their rotation
//! points, rotated witness keys with their `until`, and a retirement point.

use daylight_verifier::checkpoint::{Checkpoint, CheckpointError};
use daylight_verifier::cosignature::cosign;
use daylight_verifier::hash::Hash;
use daylight_verifier::key::{KeyType, SigningKey};
use daylight_verifier::policy::{LogPolicy, PolicyError, Retirement};

const ORIGIN: &str = "net/county-1";

fn log_key(seed: u8) -> SigningKey {
    SigningKey::from_seed(ORIGIN, KeyType::Ed25519, [seed; 32]).unwrap()
}

fn witness_key(name: &str, seed: u8) -> SigningKey {
    SigningKey::from_seed(
        &format!("net/{name}/witness"),
        KeyType::Cosignature,
        [seed; 32],
    )
    .unwrap()
}

struct Keys {
    old: SigningKey,
    middle: SigningKey,
    new: SigningKey,
    witnesses: Vec<SigningKey>,
}

fn keys() -> Keys {
    Keys {
        old: log_key(1),
        middle: log_key(2),
        new: log_key(3),
        witnesses: vec![witness_key("w0", 10), witness_key("w1", 11)],
    }
}

fn root(size: u64) -> Hash {
    Hash::digest(format!("root {size}").as_bytes())
}

/// A policy whose log used `old` up to size 10, `middle` up to 20, and `new` since.
fn rotated(k: &Keys) -> LogPolicy {
    LogPolicy::new(
        k.new.verifier(),
        k.witnesses.iter().map(|w| w.verifier()).collect(),
        2,
    )
    .unwrap()
    .with_previous_log_key(k.old.verifier(), 10, root(10))
    .unwrap()
    .with_previous_log_key(k.middle.verifier(), 20, root(20))
    .unwrap()
}

/// A checkpoint of `size` with root `root`, signed by `log`, cosigned by every witness at `at`.
fn checkpoint(
    log: &SigningKey,
    witnesses: &[&SigningKey],
    size: u64,
    root: Hash,
    at: u64,
) -> String {
    let mut note = Checkpoint::new(ORIGIN, size, root).sign(log).unwrap();
    for w in witnesses {
        note.signatures.push(cosign(w, &note.text, at).unwrap());
    }
    note.to_text()
}

fn signed(k: &Keys, log: &SigningKey, size: u64, root: Hash) -> String {
    let witnesses: Vec<&SigningKey> = k.witnesses.iter().collect();
    checkpoint(log, &witnesses, size, root, 1_700_000_000)
}

#[test]
fn each_key_verifies_its_own_stretch_of_the_log() {
    let k = keys();
    let policy = rotated(&k);
    for (key, size) in [
        (&k.old, 0),
        (&k.old, 7),
        (&k.middle, 11),
        (&k.middle, 19),
        (&k.new, 21),
    ] {
        let trusted = policy
            .verify(signed(&k, key, size, root(size)).as_bytes())
            .unwrap_or_else(|e| panic!("size {size}: {e}"));
        assert_eq!(trusted.checkpoint.size, size);
    }
    // At a rotation point, the root named.
    assert!(
        policy
            .verify(signed(&k, &k.old, 10, root(10)).as_bytes())
            .is_ok()
    );
    assert!(
        policy
            .verify(signed(&k, &k.middle, 20, root(20)).as_bytes())
            .is_ok()
    );
    assert_eq!(policy.log_key_for(10), &k.old.verifier());
    assert_eq!(policy.log_key_for(11), &k.middle.verifier());
    assert_eq!(policy.log_key_for(21), &k.new.verifier());
}

#[test]
fn an_old_key_after_its_rotation_point_is_refused() {
    let k = keys();
    let policy = rotated(&k);
    let e = policy
        .verify(signed(&k, &k.old, 11, root(11)).as_bytes())
        .unwrap_err();
    // Size 11 lies in the middle key's stretch.
    assert!(
        matches!(
            &e,
            PolicyError::EarlierKey {
                last_size: 20,
                size: 11,
                ..
            }
        ),
        "{e}"
    );
    let e = policy
        .verify(signed(&k, &k.middle, 21, root(21)).as_bytes())
        .unwrap_err();
    assert!(
        matches!(
            &e,
            PolicyError::SignedAfterRotation {
                last_size: 20,
                size: 21,
                ..
            }
        ),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("must be signed by the current log key"),
        "{text}"
    );
    // A new key cannot sign what the old key signed.
    let e = policy
        .verify(signed(&k, &k.new, 5, root(5)).as_bytes())
        .unwrap_err();
    assert!(
        matches!(
            &e,
            PolicyError::EarlierKey {
                source: CheckpointError::Note(_),
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_rotation_point_with_another_root_is_refused() {
    let k = keys();
    let e = rotated(&k)
        .verify(signed(&k, &k.old, 10, root(99)).as_bytes())
        .unwrap_err();
    assert!(
        matches!(e, PolicyError::RotationRootMismatch { size: 10, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("two histories"), "{e}");
}

#[test]
fn rotation_points_before_a_size() {
    let k = keys();
    let policy = rotated(&k);
    assert_eq!(policy.rotation_point_before(5), None);
    assert_eq!(policy.rotation_point_before(10), None);
    assert_eq!(policy.rotation_point_before(11), Some((10, root(10))));
    assert_eq!(policy.rotation_point_before(20), Some((10, root(10))));
    assert_eq!(policy.rotation_point_before(21), Some((20, root(20))));
    assert_eq!(policy.previous_log_keys().len(), 2);
}

#[test]
fn a_policy_without_history_is_unchanged() {
    let k = keys();
    let plain = LogPolicy::new(
        k.new.verifier(),
        k.witnesses.iter().map(|w| w.verifier()).collect(),
        2,
    )
    .unwrap();
    assert!(
        plain
            .verify(signed(&k, &k.new, 3, root(3)).as_bytes())
            .is_ok()
    );
    assert!(matches!(
        plain.verify(signed(&k, &k.old, 3, root(3)).as_bytes()),
        Err(PolicyError::Checkpoint(_))
    ));
    assert_eq!(plain.rotation_point_before(100), None);
    assert_eq!(plain.retirement(), None);
    let opened = plain
        .open(signed(&k, &k.new, 3, root(3)).as_bytes())
        .unwrap();
    assert_eq!(opened.checkpoint.size, 3);
}

#[test]
fn an_earlier_witness_key_counts_before_its_until() {
    let k = keys();
    let old_w1 = witness_key("w1", 21);
    let until = 1_800_000_000;
    let policy = rotated(&k)
        .with_previous_witness_key(old_w1.verifier(), until)
        .unwrap();
    let cp = |at| checkpoint(&k.new, &[&k.witnesses[0], &old_w1], 30, root(30), at);
    let trusted = policy.verify(cp(until - 1).as_bytes()).unwrap();
    assert_eq!(trusted.cosigners.len(), 2);
    assert_eq!(trusted.cosigners[1].name, "net/w1/witness");
    let e = policy.verify(cp(until).as_bytes()).unwrap_err();
    let PolicyError::QuorumNotMet(shortfall) = &e else {
        panic!("{e}")
    };
    assert_eq!(shortfall.cosigned_by, ["net/w0/witness"]);
    assert_eq!(
        shortfall.invalid,
        ["net/w1/witness (earlier witness key, cosigned after its rotation)"]
    );
    // The witness counts once, whichever key cosigned.
    let both = checkpoint(&k.new, &[&k.witnesses[1], &old_w1], 30, root(30), 1);
    let e = policy.verify(both.as_bytes()).unwrap_err();
    assert!(matches!(e, PolicyError::QuorumNotMet(s) if s.cosigned_by == ["net/w1/witness"]));
}

#[test]
fn a_retired_log_ends_at_its_point() {
    let k = keys();
    let policy = rotated(&k).with_retirement(25, root(25)).unwrap();
    assert_eq!(
        policy.retirement(),
        Some(Retirement {
            size: 25,
            root: root(25)
        })
    );
    assert!(
        policy
            .verify(signed(&k, &k.new, 25, root(25)).as_bytes())
            .is_ok()
    );
    assert!(
        policy
            .verify(signed(&k, &k.old, 4, root(4)).as_bytes())
            .is_ok()
    );
    let e = policy
        .verify(signed(&k, &k.new, 26, root(26)).as_bytes())
        .unwrap_err();
    assert!(
        matches!(
            e,
            PolicyError::BeyondRetirement {
                retired_size: 25,
                size: 26,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("retired at size 25"), "{e}");
    let e = policy
        .verify(signed(&k, &k.new, 25, root(99)).as_bytes())
        .unwrap_err();
    assert!(
        matches!(e, PolicyError::RetirementRootMismatch { .. }),
        "{e}"
    );
}

#[test]
fn inconsistent_history_is_refused() {
    let k = keys();
    let base = || {
        LogPolicy::new(
            k.new.verifier(),
            k.witnesses.iter().map(|w| w.verifier()).collect(),
            1,
        )
        .unwrap()
    };
    // Out of order, the current key again, another log's key, a witness key as log key.
    let once = base()
        .with_previous_log_key(k.old.verifier(), 10, root(10))
        .unwrap();
    assert!(
        once.clone()
            .with_previous_log_key(k.middle.verifier(), 10, root(10))
            .is_err()
    );
    assert!(
        once.clone()
            .with_previous_log_key(k.old.verifier(), 20, root(20))
            .is_err()
    );
    assert!(
        base()
            .with_previous_log_key(k.new.verifier(), 1, root(1))
            .is_err()
    );
    let other = SigningKey::from_seed("net/county-2", KeyType::Ed25519, [5; 32]).unwrap();
    assert!(
        base()
            .with_previous_log_key(other.verifier(), 1, root(1))
            .is_err()
    );
    // A witness key for no witness, or of the wrong type, or not increasing.
    let stranger = witness_key("w9", 30);
    assert!(
        base()
            .with_previous_witness_key(stranger.verifier(), 5)
            .is_err()
    );
    assert!(
        base()
            .with_previous_witness_key(k.old.verifier(), 5)
            .is_err()
    );
    let old = witness_key("w0", 31);
    let older = witness_key("w0", 32);
    let p = base().with_previous_witness_key(old.verifier(), 5).unwrap();
    assert!(
        p.clone()
            .with_previous_witness_key(older.verifier(), 5)
            .is_err()
    );
    assert!(p.with_previous_witness_key(older.verifier(), 6).is_ok());
    // A retirement before the last rotation point.
    assert!(once.clone().with_retirement(9, root(9)).is_err());
    assert!(once.clone().with_retirement(10, root(11)).is_err());
    assert!(once.with_retirement(10, root(10)).is_ok());
    let retired = base().with_retirement(5, root(5)).unwrap();
    assert!(
        retired
            .with_previous_log_key(k.old.verifier(), 6, root(6))
            .is_err()
    );
}
