//! Audit throughput on a synthetic network of 1,000,000 records: a city allocating to 8
//! counties; each county receives, reserves funds for organisations, enrols households and
//! pays them and organisations. Measures `Ledger::extend` + `Ledger::audit` with every rule
//! (records/s), and raw SHA-256 over the same entry bytes as a physical reference.
//!
//! Run with `cargo bench -p daylight-verifier --bench audit`. Set `AUDIT_BENCH_RECORDS` to
//! use fewer records, and `AUDIT_BENCH_QUICK=1` to skip criterion's samples of extend + audit
//! (the timed single runs are still printed; the SHA-256 reference is still sampled).

// The allocator of the `daylight` and `daylight-node` binaries, which run this engine.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use daylight_verifier::audit::{AuditParams, Ledger, LogEntries};
use daylight_verifier::hash::Hash;
use daylight_verifier::record::{
    AcceptedKeys, Code, Date, HexHash, MemberId, Record, Reference, to_entry_bytes,
};
use daylight_verifier::{KeyType, SigningKey};
use serde_json::{Value, json};

const NET: &str = "bench.daylight";
const COUNTIES: usize = 8;

fn operator(log: &str) -> SigningKey {
    let mut seed = [7u8; 32];
    for (s, b) in seed.iter_mut().zip(log.bytes()) {
        *s ^= b;
    }
    SigningKey::from_seed(
        &format!("{NET}/{log}/operator/clerk"),
        KeyType::Ed25519,
        seed,
    )
    .unwrap()
}

fn attestor(log: &str) -> SigningKey {
    let mut seed = [9u8; 32];
    for (s, b) in seed.iter_mut().zip(log.bytes()) {
        *s ^= b;
    }
    SigningKey::from_seed(
        &format!("{NET}/{log}/village_committee/a"),
        KeyType::Ed25519,
        seed,
    )
    .unwrap()
}

fn keys(log: &str) -> AcceptedKeys {
    AcceptedKeys::new()
        .with_operator(operator(log).verifier())
        .with_attestor(
            attestor(log).verifier(),
            Code::parse("village_committee").unwrap(),
        )
}

fn cny(minor: u64) -> Value {
    json!({"minor": minor.to_string(), "currency": "CNY"})
}

fn hex32(a: u64, b: u64) -> String {
    Hash::digest(format!("{a}/{b}").as_bytes()).to_hex()
}

fn date(day: u64) -> String {
    let start = Date::parse("2024-01-01").unwrap().days_since_epoch();
    Date::from_days_since_epoch(start + day as i64)
        .unwrap()
        .to_string()
}

/// One log's entries, signed.
struct LogBuilder {
    log: String,
    op: SigningKey,
    att: SigningKey,
    entries: Vec<Vec<u8>>,
}

impl LogBuilder {
    fn new(log: &str) -> LogBuilder {
        LogBuilder {
            log: log.to_string(),
            op: operator(log),
            att: attestor(log),
            entries: Vec::new(),
        }
    }

    fn push(&mut self, local: &str, day: u64, mut fields: Value, attest: bool) -> Reference {
        let rid = format!("{}-{local}", self.log);
        let m = fields.as_object_mut().unwrap();
        m.insert("v".into(), json!(1));
        m.insert("rid".into(), json!(rid));
        m.insert("event_date".into(), json!(date(day)));
        m.insert("program".into(), json!("relief24"));
        let mut signed = Record::from_value(fields).unwrap().sign(&self.op);
        if attest {
            signed.attest(&self.att);
        }
        let entry = to_entry_bytes(&signed);
        let leaf = daylight_verifier::merkle::leaf_hash(&entry);
        self.entries.push(entry);
        Reference {
            log: MemberId::parse(&self.log).unwrap(),
            rid: signed.record.rid,
            leaf: HexHash(leaf),
        }
    }
}

const ALLOCS_PER_COUNTY: u64 = 50;
const FUND: u64 = 100_000_000_000;

/// The city's log: allocations to each county.
fn city() -> (LogBuilder, Vec<Vec<Reference>>) {
    let mut b = LogBuilder::new("city-1");
    let mut out = vec![Vec::new(); COUNTIES];
    for i in 0..ALLOCS_PER_COUNTY {
        for (c, refs) in out.iter_mut().enumerate() {
            let r = b.push(
                &format!("a{i}-{c}"),
                i,
                json!({"kind": "allocation", "payer": {"member": "city-1"},
                       "payee": {"member": format!("county-{c}")}, "amount": cny(FUND),
                       "purpose": "Relief transfer"}),
                true,
            );
            refs.push(r);
        }
    }
    (b, out)
}

/// One county's log of about `n` records.
fn county(c: usize, allocs: &[Reference], n: u64) -> LogBuilder {
    let log = format!("county-{c}");
    let mut b = LogBuilder::new(&log);
    let receipts: Vec<Reference> = allocs
        .iter()
        .enumerate()
        .map(|(i, a)| {
            b.push(
                &format!("r{i}"),
                i as u64 + 2,
                json!({"kind": "receipt", "payer": {"member": "city-1"}, "amount": cny(FUND),
                       "funded_by": [{"ref": a, "amount": cny(FUND)}]}),
                true,
            )
        })
        .collect();
    let households = (n / 6).max(1);
    for h in 0..households {
        b.push(
            &format!("h{h}"),
            60,
            json!({"kind": "household", "pseudonym": hex32(c as u64, h), "area": "320206101201",
                   "status": "enrolled", "notice": {"start": date(40), "end": date(50)},
                   "basis": "newly_eligible"}),
            true,
        );
    }
    let mut i = 0u64;
    while (b.entries.len() as u64) < n {
        let day = 61 + (i * 300) / n;
        let fund = &receipts[(i as usize) % receipts.len()];
        if i.is_multiple_of(20) {
            b.push(
                &format!("p{i}"),
                day,
                json!({"kind": "payment", "payee": {"org": {"name": format!("Coop {}", i % 97)}},
                       "amount": cny(100_000 + i), "funded_by": [{"ref": fund, "amount": cny(100_000 + i)}],
                       "purpose": "Seeds and tools"}),
                true,
            );
        } else {
            let h = i % households;
            let amount = 20_000 + (i % 1000);
            b.push(
                &format!("p{i}"),
                day,
                json!({"kind": "payment",
                       "payee": {"household": {"pseudonym": hex32(c as u64, h), "area": "320206101201",
                                               "commitment": hex32(i, 7)}},
                       "amount": cny(amount), "funded_by": [{"ref": fund, "amount": cny(amount)}],
                       "purpose": "Monthly allowance"}),
                false,
            );
        }
        i += 1;
    }
    b
}

fn network(total: u64) -> Vec<(MemberId, Vec<Vec<u8>>)> {
    let (city, allocs) = city();
    let per_county = (total - city.entries.len() as u64) / COUNTIES as u64;
    let mut logs: Vec<(MemberId, Vec<Vec<u8>>)> = std::thread::scope(|s| {
        let handles: Vec<_> = allocs
            .iter()
            .enumerate()
            .map(|(c, a)| s.spawn(move || county(c, a, per_county)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .map(|b| (MemberId::parse(&b.log).unwrap(), b.entries))
            .collect()
    });
    logs.push((MemberId::parse("city-1").unwrap(), city.entries));
    logs
}

/// A ledger holding every log, with the logs' keys set, fed as an auditor node catching up
/// feeds it: every log's new entries at once.
fn feed(logs: &[(MemberId, Vec<Vec<u8>>)]) -> Ledger {
    let mut ledger = Ledger::new();
    for (log, _) in logs {
        ledger.set_keys(log, keys(log.as_str()));
    }
    let batches: Vec<LogEntries<'_, Vec<u8>>> = logs
        .iter()
        .map(|(log, entries)| LogEntries {
            log,
            first_index: 0,
            entries,
        })
        .collect();
    ledger.extend_logs(&batches).unwrap();
    ledger
}

fn as_of() -> Date {
    Date::parse("2024-12-31").unwrap()
}

fn audit_all(logs: &[(MemberId, Vec<Vec<u8>>)]) -> usize {
    let report = feed(logs).audit(&AuditParams::default(), as_of());
    report.findings.len()
}

/// Minor page faults of this process so far (first touches of new memory), from
/// `/proc/self/stat`; 0 where that file is not available.
fn page_faults() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = &stat[stat.rfind(')')? + 2..];
            rest.split(' ').nth(7)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Resident memory of this process now, in MiB, from `/proc/self/status`; 0 where that
/// file is not available.
fn resident_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib / 1024)
        })
        .unwrap_or(0)
}

fn bench(c: &mut Criterion) {
    let total: u64 = std::env::var("AUDIT_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let started = Instant::now();
    let logs = network(total);
    let records: usize = logs.iter().map(|(_, e)| e.len()).sum();
    let bytes: usize = logs.iter().flat_map(|(_, e)| e).map(Vec::len).sum();
    eprintln!(
        "generated {records} signed records in {} logs, {bytes} bytes ({} B mean), in {:.1?}",
        logs.len(),
        bytes / records.max(1),
        started.elapsed()
    );
    let (t, faults, before) = (Instant::now(), page_faults(), resident_mib());
    let ledger = feed(&logs);
    let (fed, fed_faults, fed_rss) = (t.elapsed(), page_faults() - faults, resident_mib());
    let report = ledger.audit(&AuditParams::default(), as_of());
    let (audited, audit_faults) = (t.elapsed() - fed, page_faults() - faults - fed_faults);
    eprintln!(
        "resident memory: {before} MiB with the entries, {fed_rss} MiB with the ledger, {} MiB with the report",
        resident_mib()
    );
    let findings = report.findings.len();
    let t = Instant::now();
    drop((ledger, report));
    eprintln!(
        "split: extend {fed:.2?} ({fed_faults} page faults), audit {audited:.2?} ({audit_faults} page faults), \
         freeing the ledger and report {:.2?}; {findings} findings",
        t.elapsed()
    );
    let t = Instant::now();
    let findings = audit_all(&logs);
    eprintln!(
        "one extend + audit run: {:.2?} ({:.0} records/s), {findings} findings",
        t.elapsed(),
        records as f64 / t.elapsed().as_secs_f64()
    );

    let mut group = c.benchmark_group("audit");
    group.sample_size(10);
    group.throughput(Throughput::Elements(records as u64));
    if std::env::var_os("AUDIT_BENCH_QUICK").is_none() {
        group.bench_function(
            format!("extend + audit, {records} records, all rules"),
            |b| b.iter(|| audit_all(black_box(&logs))),
        );
    }
    let ledger = feed(&logs);
    group.bench_function(format!("extend only, {records} records"), |b| {
        b.iter(|| feed(black_box(&logs)))
    });
    group.bench_function(
        format!("audit only, all rules, {records} records already in the ledger"),
        |b| {
            b.iter(|| {
                black_box(&ledger)
                    .audit(&AuditParams::default(), as_of())
                    .findings
                    .len()
            })
        },
    );
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function(
        format!("raw SHA-256 leaf hashes of the same {bytes} bytes, one core"),
        |b| {
            b.iter(|| {
                logs.iter()
                    .flat_map(|(_, e)| e)
                    .map(|e| daylight_verifier::merkle::leaf_hash(black_box(e)).0[0])
                    .fold(0u8, |a, x| a ^ x)
            })
        },
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
