//! Cost of each stage of checking a submitted record, for one ~450-byte allocation signed by
//! one operator. Run with `cargo bench -p daylight-verifier --bench records`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use daylight_verifier::record::{
    AcceptedKeys, MemberId, Record, SignedRecord, check_privacy, prepare_record,
    prepare_signatures, to_entry_bytes, validate,
};
use daylight_verifier::{KeyType, SigningKey};
use serde_json::json;

fn stages(c: &mut Criterion) {
    let operator = SigningKey::from_seed(
        "bench.daylight/county-1/operator/clerk",
        KeyType::Ed25519,
        [9; 32],
    )
    .unwrap();
    let record = Record::from_value(json!({
        "v": 1, "rid": "county-1-a-123456", "kind": "allocation",
        "event_date": "2024-03-05", "program": "r24",
        "payer": {"member": "county-1"},
        "payee": {"org": {"name": "Coop"}},
        "amount": {"minor": "123456", "currency": "CNY"},
        "purpose": "Road 123456 and drains"
    }))
    .unwrap()
    .sign(&operator);
    let json = serde_json::to_vec(&record).unwrap();
    let member = MemberId::parse("county-1").unwrap();
    let keys = AcceptedKeys::new().with_operator(operator.verifier());
    let parsed = SignedRecord::from_json(&json).unwrap();

    let mut group = c.benchmark_group("record");
    group.bench_function("whole check (prepare + strict verify)", |b| {
        b.iter(|| {
            let prepared = prepare_record(black_box(&json), &member, &keys).unwrap();
            prepared.signatures.verify().unwrap()
        })
    });
    group.bench_function("prepare (all but signature arithmetic)", |b| {
        b.iter(|| prepare_record(black_box(&json), &member, &keys).unwrap())
    });
    group.bench_function("parse from JSON", |b| {
        b.iter(|| SignedRecord::from_json(black_box(&json)).unwrap())
    });
    group.bench_function("validate", |b| {
        b.iter(|| validate(black_box(&parsed), &member))
    });
    group.bench_function("privacy guard", |b| {
        b.iter(|| check_privacy(black_box(&parsed)))
    });
    group.bench_function("prepare signatures (signing bytes)", |b| {
        b.iter(|| prepare_signatures(black_box(&parsed), &keys).unwrap())
    });
    group.bench_function("entry bytes (JCS)", |b| {
        b.iter(|| to_entry_bytes(black_box(&parsed)))
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
