//! Unit tests of the query index: cursors, the correction and void rules against the
//! verifier's own `LogState`, filters and pagination, and the rebuild of a deleted index from
//! a real store.

use std::sync::Arc;

use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::merkle::{Frontier, leaf_hash};
use daylight_verifier::record::{LogState, Record, SignedRecord, Status, to_entry_bytes};
use daylight_verifier::{Hash, KeyType, SigningKey};
use serde_json::{Value, json};

use super::indexer::pass;
use super::*;
use crate::health::Health;
use crate::held::{HeldLog, HeldLogs};
use crate::integrity::Integrity;
use crate::store::{Batch, NewEntry, Store};

fn tempdir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "daylight-query-{label}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn operator() -> SigningKey {
    SigningKey::from_seed("t/county-1/operator/a", KeyType::Ed25519, [3; 32]).unwrap()
}

fn entry(value: Value) -> Vec<u8> {
    let record = Record::from_value(value).expect("a valid record");
    to_entry_bytes(&record.sign(&operator()))
}

fn payment(rid: &str, program: &str, date: &str, payee: Value) -> Value {
    json!({
        "v": 1, "rid": rid, "kind": "payment", "event_date": date, "program": program,
        "payee": payee, "amount": {"minor": "500", "currency": "CNY"},
        "funded_by": [{"ref": {"log": "county-1", "rid": "county-1-rcpt", "leaf": Hash([1; 32]).to_hex()},
                       "amount": {"minor": "500", "currency": "CNY"}}],
        "purpose": "support",
    })
}

fn household(pseudonym: u8, area: &str) -> Value {
    json!({"household": {"pseudonym": Hash([pseudonym; 32]).to_hex(), "area": area,
                         "commitment": Hash([9; 32]).to_hex()}})
}

fn correction(rid: &str, target: &str, pinned: &Hash, replacement: Value) -> Value {
    let mut replacement = replacement;
    if let Value::Object(map) = &mut replacement {
        map.remove("v");
        map.remove("rid");
    }
    json!({
        "v": 1, "rid": rid, "kind": "correction", "event_date": "2024-05-01", "program": "p-a",
        "corrects": {"rid": target, "leaf": pinned.to_hex()}, "reason": "typo",
        "replacement": replacement,
    })
}

fn void(rid: &str, target: &str, pinned: &Hash) -> Value {
    json!({
        "v": 1, "rid": rid, "kind": "void", "event_date": "2024-05-02", "program": "p-a",
        "voids": {"rid": target, "leaf": pinned.to_hex()}, "reason": "published twice",
    })
}

/// A log of payments with corrections and voids (some not applicable), as entries.
fn sample_entries() -> Vec<Vec<u8>> {
    let org = json!({"org": {"name": "Tea Growers", "uscc": "93320206MA1XKQ8Y35"}});
    let p0 = payment("county-1-p0", "p-a", "2024-04-01", org.clone());
    let p1 = payment(
        "county-1-p1",
        "p-a",
        "2024-04-02",
        household(1, "320206101201"),
    );
    let p2 = payment(
        "county-1-p2",
        "p-b",
        "2024-04-03",
        household(2, "320206102001"),
    );
    let mut entries = vec![entry(p0.clone()), entry(p1), entry(p2)];
    let l0 = leaf_hash(&entries[0]);
    let l2 = leaf_hash(&entries[2]);
    // p0 corrected into programme p-c; then a stale correction (pins the original again).
    let c1 = entry(correction(
        "county-1-c1",
        "county-1-p0",
        &l0,
        payment("x", "p-c", "2024-06-01", org.clone()),
    ));
    let lc1 = leaf_hash(&c1);
    entries.push(c1);
    entries.push(entry(correction(
        "county-1-c2",
        "county-1-p0",
        &l0,
        payment("x", "p-d", "2024-06-01", org),
    )));
    // p2 voided; then a void of a voided record; a void of an unknown rid; a duplicate rid.
    entries.push(entry(void("county-1-v1", "county-1-p2", &l2)));
    entries.push(entry(void("county-1-v2", "county-1-p2", &l2)));
    entries.push(entry(void("county-1-v3", "county-1-nope", &l2)));
    entries.push(entry(payment(
        "county-1-p1",
        "p-z",
        "2024-04-09",
        household(3, "110000"),
    )));
    // A second correction of p0, pinning the first correction: applies, and pays from
    // another receipt.
    let mut paid_from_rcpt2 = payment(
        "x",
        "p-c",
        "2024-06-02",
        json!({"org": {"name": "Tea Growers Co"}}),
    );
    paid_from_rcpt2["funded_by"][0]["ref"]["rid"] = json!("county-1-rcpt2");
    entries.push(entry(correction(
        "county-1-c4",
        "county-1-p0",
        &lc1,
        paid_from_rcpt2,
    )));
    entries.push(b"not a record".to_vec());
    entries
}

fn work(entries: &[Vec<u8>], start: u64, covered_by: u64) -> Work {
    Work {
        logs: vec![LogWork {
            number: 0,
            member: "county-1".into(),
            start,
            entries: entries.to_vec(),
            covered_by,
        }],
        evidence: Vec::new(),
    }
}

fn query(limit: usize) -> Query {
    Query {
        limit,
        budget: 10_000,
        ..Query::default()
    }
}

#[test]
fn cursors_read_back_and_refuse_others() {
    let c = Cursor { epoch: 7, seq: 42 };
    assert_eq!(Cursor::decode(&c.encode(), 7).unwrap(), c);
    assert!(matches!(
        Cursor::decode(&c.encode(), 8),
        Err(QueryError::Expired)
    ));
    for bad in [
        "",
        "zz",
        "0000000700000000000000zz",
        "00000007000000000000002a0",
    ] {
        assert!(
            matches!(Cursor::decode(bad, 7), Err(QueryError::BadCursor(_))),
            "{bad:?}"
        );
    }
}

/// The index's current state is the verifier's: same content, same voids, for every rid.
#[test]
fn corrections_and_voids_apply_as_the_verifier_says() {
    let dir = tempdir("state");
    let index = QueryIndex::open(&dir.join(QUERY_FILE)).unwrap();
    let entries = sample_entries();
    // In two batches, to cross a transaction boundary.
    index.apply(&work(&entries[..4], 0, 4)).unwrap();
    index
        .apply(&work(&entries[4..], 4, entries.len() as u64))
        .unwrap();
    assert_eq!(
        index.head(),
        entries.len() as u64,
        "one feed item per entry"
    );

    let mut state = LogState::new();
    for (i, e) in entries.iter().enumerate() {
        if let Ok(r) = SignedRecord::from_entry(e) {
            state.apply(i as u64, &r, leaf_hash(e));
        }
    }
    let page = index.page(&query(100)).unwrap();
    assert!(page.end);
    let rids: Vec<&str> = page.items.iter().map(|(_, r, _)| r.rid.as_str()).collect();
    assert_eq!(rids, ["county-1-p0", "county-1-p1", "county-1-p2"]);
    for (_, row, covered) in &page.items {
        assert_eq!(*covered, entries.len() as u64);
        let rid: daylight_verifier::record::Rid = row.rid.parse().unwrap();
        let expected = state.get(&rid).unwrap();
        assert_eq!(
            row.current_leaf,
            expected.current_leaf().to_hex(),
            "{}",
            row.rid
        );
        assert_eq!(
            row.voided,
            matches!(expected.status, Status::Voided { .. }),
            "{}",
            row.rid
        );
        assert_eq!(row.keys.program, expected.content.program.as_str());
    }
    let p0 = &page.items[0].1;
    assert_eq!((p0.amendments, p0.current_index), (2, 9));
    assert_eq!(p0.keys.date, 20_240_602);
    assert!(p0.current.contains("Tea Growers Co"), "{}", p0.current);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn filters_follow_the_current_version_and_pages_continue() {
    let dir = tempdir("filters");
    let index = QueryIndex::open(&dir.join(QUERY_FILE)).unwrap();
    let entries = sample_entries();
    index
        .apply(&work(&entries, 0, entries.len() as u64))
        .unwrap();
    let rids = |q: Query| -> Vec<String> {
        index
            .page(&q)
            .unwrap()
            .items
            .into_iter()
            .map(|(_, r, _)| r.rid)
            .collect()
    };
    let with = |f: &dyn Fn(&mut Query)| {
        let mut q = query(100);
        f(&mut q);
        rids(q)
    };
    // p0 moved from p-a to p-c: found under p-c only.
    assert_eq!(with(&|q| q.program = Some("p-a".into())), ["county-1-p1"]);
    assert_eq!(with(&|q| q.program = Some("p-c".into())), ["county-1-p0"]);
    // Areas: a village, its township, its county.
    assert_eq!(
        with(&|q| q.area = Some("320206".into())),
        ["county-1-p1", "county-1-p2"]
    );
    assert_eq!(
        with(&|q| q.area = Some("320206101".into())),
        ["county-1-p1"]
    );
    // Payee by the corrected name; the USCC went with the correction.
    assert_eq!(
        with(&|q| q.payee = Some("Tea Growers Co".into())),
        ["county-1-p0"]
    );
    assert!(with(&|q| q.payee = Some("93320206MA1XKQ8Y35".into())).is_empty());
    // Where a receipt's money went: by the corrected `funded_by`, voided records included.
    assert_eq!(
        with(&|q| q.funded_by = Some("county-1-rcpt".into())),
        ["county-1-p1", "county-1-p2"]
    );
    assert_eq!(
        with(&|q| q.funded_by = Some("county-1-rcpt2".into())),
        ["county-1-p0"]
    );
    assert!(with(&|q| q.funded_by = Some("county-1-p0".into())).is_empty());
    // Dates and combined filters.
    assert_eq!(
        with(&|q| {
            q.from = Some(20_240_402);
            q.to = Some(20_240_403);
        }),
        ["county-1-p1", "county-1-p2"]
    );
    assert_eq!(
        with(&|q| {
            q.log = Some("county-1".into());
            q.kind = Some("payment".into());
            q.area = Some("320206".into());
            q.program = Some("p-b".into());
        }),
        ["county-1-p2"]
    );
    assert!(with(&|q| q.log = Some("county-2".into())).is_empty());
    // Pages of one, then a budget of one candidate: every record once, in order.
    let mut seen = Vec::new();
    let mut q = query(1);
    q.budget = 1;
    loop {
        let page = index.page(&q).unwrap();
        seen.extend(page.items.iter().map(|(_, r, _)| r.rid.clone()));
        q.after = page.last;
        if page.end && page.items.is_empty() {
            break;
        }
    }
    assert_eq!(seen, ["county-1-p0", "county-1-p1", "county-1-p2"]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A store holding one signed log of the sample entries, committed in two batches.
fn signed_store(dir: &Path) -> (Arc<Store>, HeldLog) {
    const ORIGIN: &str = "t/county-1";
    let store = Arc::new(Store::open(&dir.join("node.redb")).unwrap());
    let key = SigningKey::from_seed(ORIGIN, KeyType::Ed25519, [7; 32]).unwrap();
    let number = store.log_number(ORIGIN).unwrap();
    let mut frontier = Frontier::empty();
    let entries = sample_entries();
    for (start, end) in [(0usize, 4usize), (4, entries.len())] {
        let mut hashes = Vec::new();
        let batch: Vec<NewEntry> = entries[start..end]
            .iter()
            .map(|e| NewEntry::plain(e.clone(), None))
            .collect();
        for e in &batch {
            frontier.append(e.leaf, &mut hashes);
        }
        let note = Checkpoint::new(ORIGIN, end as u64, frontier.root())
            .sign(&key)
            .unwrap()
            .to_text();
        store
            .commit_batch(
                &Batch {
                    log: number,
                    start: start as u64,
                    entries: batch,
                    hashes,
                    checkpoint: Some(note),
                    mirrored: true,
                },
                ORIGIN,
            )
            .unwrap();
    }
    let log = HeldLog {
        member: "county-1".into(),
        origin: ORIGIN.into(),
        number,
        policy: daylight_verifier::policy::LogPolicy::new(key.verifier(), Vec::new(), 0).unwrap(),
        peer: None,
        own: false,
    };
    (store, log)
}

/// The indexer fills an index from the store; deleted (or of another format), the index is
/// rebuilt to the same state with a new epoch, and old cursors are refused as expired.
#[test]
fn a_deleted_index_is_rebuilt_from_the_logs() {
    let dir = tempdir("rebuild");
    let (store, log) = signed_store(&dir);
    let logs = HeldLogs::from_logs(vec![log]);
    let integrity = Integrity::new(
        store.clone(),
        Arc::new(Health::default()),
        Arc::new(HeldLogs::from_logs(logs.iter().cloned().collect())),
        None,
    );
    let path = dir.join(QUERY_FILE);
    let first = {
        let index = QueryIndex::open(&path).unwrap();
        assert!(!pass(&store, &logs, &integrity, &index, true).unwrap());
        assert_eq!(index.head(), sample_entries().len() as u64);
        let page = index.page(&query(100)).unwrap();
        (index.epoch(), index.cursor(2), page)
    };
    // Reopened as it is: kept.
    {
        let index = QueryIndex::open(&path).unwrap();
        assert_eq!(index.epoch(), first.0);
        assert_eq!(index.head(), sample_entries().len() as u64);
    }
    // Deleted: rebuilt, same answers.
    std::fs::remove_file(&path).unwrap();
    let index = QueryIndex::open(&path).unwrap();
    assert_eq!(index.head(), 0);
    assert_ne!(index.epoch(), first.0);
    assert!(matches!(index.decode(&first.1), Err(QueryError::Expired)));
    assert!(!pass(&store, &logs, &integrity, &index, true).unwrap());
    assert_eq!(index.page(&query(100)).unwrap(), first.2);
    drop(index);
    // Garbage in the file: rebuilt, not a failure to start.
    std::fs::write(&path, b"not a database").unwrap();
    let index = QueryIndex::open(&path).unwrap();
    assert_eq!(index.head(), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The feed numbers entries without gaps, and a range continues where the last ended.
#[test]
fn the_feed_is_gap_free_and_resumable() {
    let dir = tempdir("feed");
    let index = QueryIndex::open(&dir.join(QUERY_FILE)).unwrap();
    let entries = sample_entries();
    index.apply(&work(&entries[..5], 0, 5)).unwrap();
    let mut w = work(&entries[5..], 5, entries.len() as u64);
    w.evidence.push((
        "e1".into(),
        "t/county-2".into(),
        None,
        r#"{"format":"x"}"#.into(),
    ));
    index.apply(&w).unwrap();
    // The same evidence again is not a new item.
    index
        .apply(&Work {
            logs: Vec::new(),
            evidence: w.evidence.clone(),
        })
        .unwrap();
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let items = index.feed(after, 3).unwrap();
        let Some((last, _)) = items.last() else { break };
        after = *last;
        all.extend(items);
    }
    let seqs: Vec<u64> = all.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=entries.len() as u64 + 1).collect::<Vec<_>>());
    match &all[3].1 {
        daylight_api::FeedEvent::Entry(e) => {
            assert_eq!((e.kind.as_str(), e.index), ("correction", 3));
            assert_eq!(e.amends.as_deref(), Some("county-1-p0"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        all.last().unwrap().1,
        daylight_api::FeedEvent::Evidence(_)
    ));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Several filters are an intersection of index ranges: every budget and page size gives the
/// same records, each once, in order.
#[test]
fn intersections_page_alike_under_any_budget() {
    let dir = tempdir("intersect");
    let index = QueryIndex::open(&dir.join(QUERY_FILE)).unwrap();
    let entries = sample_entries();
    index
        .apply(&work(&entries, 0, entries.len() as u64))
        .unwrap();
    let filtered = |limit: usize, budget: usize| {
        let mut q = query(limit);
        q.budget = budget;
        q.kind = Some("payment".into());
        q.log = Some("county-1".into());
        q.area = Some("320206".into());
        let mut seen = Vec::new();
        for _ in 0..100 {
            let page = index.page(&q).unwrap();
            assert!(page.last >= q.after, "a cursor never goes back");
            seen.extend(page.items.iter().map(|(_, r, _)| r.rid.clone()));
            q.after = page.last;
            if page.end && page.items.is_empty() {
                return seen;
            }
        }
        panic!("no end");
    };
    for (limit, budget) in [(100, 10_000), (1, 1), (1, 2), (2, 1), (1, 3)] {
        assert_eq!(
            filtered(limit, budget),
            ["county-1-p1", "county-1-p2"],
            "limit {limit}, budget {budget}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// An index that could not be opened is stood in for, empty, saying why, so the node starts
/// and its queries answer 503 with the reason instead of an empty list.
#[test]
fn a_stand_in_index_says_why_it_is_unavailable() {
    let path = std::env::temp_dir().join("daylight-query-stand-in-never-created.redb");
    let index = QueryIndex::stand_in(&path, "disk read-only".into()).unwrap();
    assert_eq!(index.unavailable(), Some("disk read-only"));
    assert!(!path.exists(), "a stand-in writes nothing");
}
