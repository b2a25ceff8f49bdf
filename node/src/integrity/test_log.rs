//! A signed log in a fresh store, for the integrity checks' unit tests.

use std::sync::Arc;

use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::merkle::Frontier;
use daylight_verifier::{KeyType, SigningKey};

use crate::held::HeldLog;
use crate::store::{Batch, NewEntry, Store};

const ORIGIN: &str = "test.daylight/county-1";

/// A store holding one signed log of `n` entries, in a fresh temporary directory.
pub(crate) fn signed_log(n: u64) -> (std::path::PathBuf, Arc<Store>, HeldLog) {
    let dir = std::env::temp_dir().join(format!(
        "daylight-scrub-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(Store::open(&dir.join("db.redb")).unwrap());
    let key = SigningKey::from_seed(ORIGIN, KeyType::Ed25519, [7; 32]).unwrap();
    let number = store.log_number(ORIGIN).unwrap();
    let mut frontier = Frontier::empty();
    let mut hashes = Vec::new();
    let entries: Vec<NewEntry> = (0..n)
        .map(|i| NewEntry::plain(format!("entry {i}").into_bytes(), None))
        .collect();
    for entry in &entries {
        frontier.append(entry.leaf, &mut hashes);
    }
    let note = Checkpoint::new(ORIGIN, n, frontier.root())
        .sign(&key)
        .unwrap()
        .to_text();
    let batch = Batch {
        log: number,
        start: 0,
        entries,
        hashes,
        checkpoint: Some(note),
        mirrored: false,
    };
    store.commit_batch(&batch, ORIGIN).unwrap();
    let log = HeldLog {
        member: "county-1".to_string(),
        origin: ORIGIN.to_string(),
        number,
        policy: daylight_verifier::policy::LogPolicy::new(key.verifier(), Vec::new(), 0).unwrap(),
        peer: None,
        own: true,
    };
    (dir, store, log)
}
