//! Export throughput (issue 15): generated records in memory, through the same reader and
//! writers `daylight export` uses (parse and check each entry, apply corrections and voids,
//! write history and current state), into a temporary directory. Prints records/s per
//! format and for all formats at once.
//!
//! `cargo bench -p daylight-cli --bench export` (default 1,000,000 records; set
//! `EXPORT_BENCH_RECORDS` to change). `EXPORT_BENCH_PASSES=csv,ocds` runs only the passes
//! named (`read`, `csv`, `jsonl`, `ocds`, `all`); `EXPORT_BENCH_PHASES=1` also prints the time of
//! streaming the history vs writing the current state; `EXPORT_BENCH_KEEP=DIR` keeps each
//! pass's files in `DIR/<pass>` (the entries are the same every run: compare outputs of two
//! builds with `cmp`). Figures: docs/PERFORMANCE.md, "Export (issue 15)".

#![allow(dead_code, unused_imports)]

#[path = "../src/export"]
mod export {
    pub mod columns;
    pub mod csv;
    pub mod disk;
    pub mod json;
    pub mod jsonl;
    pub mod manifest;
    pub mod memory;
    pub mod model;
    pub mod ocds;
    pub mod ordered;
    pub mod output;
    pub mod sorted;
}

use std::time::Instant;

use daylight_verifier::key::{KeyType, SigningKey};
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::record::{Record, SignedRecord, to_entry_bytes};
use export::model::{ExportedLog, HistorySink, LogReader};
use export::output::OutputFile;
use serde_json::{Value, json};

/// The allocator `daylight` itself uses (cli/src/main.rs), so that the figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LOG: &str = "county-320206";

fn record(value: Value, template: &SignedRecord) -> Vec<u8> {
    let record = Record::from_value(value).expect("a valid generated record");
    to_entry_bytes(&SignedRecord {
        record,
        signatures: template.signatures.clone(),
    })
}

/// `n` entries of one log: a receipt, then payments (one in ten for a project, a quarter to
/// households), with a project step every 1,000, a correction every 200 and a void every 500.
fn generate(n: usize) -> Vec<Vec<u8>> {
    // A fixed key: the same entries every run, so that outputs can be compared byte for byte.
    let key = SigningKey::from_seed(
        "bench/county-320206/operator/clerk",
        KeyType::Ed25519,
        [7; 32],
    )
    .expect("a key");
    let yuan = |minor: u64| json!({"minor": minor.to_string(), "currency": "CNY"});
    let receipt = json!({"v": 1, "rid": format!("{LOG}-rcpt-0"), "kind": "receipt",
        "event_date": "2026-01-02", "program": "rr-2026", "payer": {"member": "city-3202"},
        "amount": yuan(u64::MAX / 4),
        "funded_by": [{"ref": {"log": "city-3202", "rid": "city-3202-alloc-1", "leaf": "ab".repeat(32)},
                       "amount": yuan(u64::MAX / 4)}]});
    let template = Record::from_value(receipt.clone())
        .expect("receipt")
        .sign(&key);
    let receipt_entry = to_entry_bytes(&template);
    let receipt_ref = json!({"log": LOG, "rid": format!("{LOG}-rcpt-0"),
        "leaf": leaf_hash(&receipt_entry).to_hex()});
    let mut entries = vec![receipt_entry];
    let mut leaves: Vec<(String, String)> = Vec::new();
    for i in 1..n {
        let value = if i % 1000 == 0 {
            json!({"v": 1, "rid": format!("{LOG}-prj-{i}"), "kind": "project", "event_date": "2026-02-01",
                "program": "rr-2026", "project": format!("{LOG}-p{}", i / 1000 % 100), "stage": "awarded",
                "title": "村道硬化工程 village road", "amount": yuan(5_000_000),
                "contractor": {"org": {"name": "如皋市建设工程有限公司"}},
                "documents": [{"title": "Award", "sha256": "cd".repeat(32)}]})
        } else if i % 200 == 0 && !leaves.is_empty() {
            let (rid, leaf) = leaves.remove(0);
            json!({"v": 1, "rid": format!("{LOG}-corr-{i}"), "kind": "correction", "event_date": "2026-03-01",
                "program": "rr-2026", "corrects": {"rid": rid, "leaf": leaf}, "reason": "Amount typo",
                "replacement": {"kind": "payment", "event_date": "2026-02-03", "program": "rr-2026",
                    "payee": {"org": {"name": "Coop"}}, "amount": yuan(1234),
                    "funded_by": [{"ref": receipt_ref, "amount": yuan(1234)}], "purpose": "Corrected"}})
        } else if i % 500 == 1 && !leaves.is_empty() {
            let (rid, leaf) = leaves.remove(0);
            json!({"v": 1, "rid": format!("{LOG}-void-{i}"), "kind": "void", "event_date": "2026-03-02",
                "program": "rr-2026", "voids": {"rid": rid, "leaf": leaf}, "reason": "Paid twice"})
        } else {
            let payee = if i % 4 == 0 {
                json!({"household": {"pseudonym": format!("{:064x}", i), "area": "320206101201",
                    "commitment": format!("{:064x}", i * 7)}})
            } else {
                json!({"org": {"name": format!("张家茶叶专业合作社 {}", i % 5000)}})
            };
            let mut p = json!({"v": 1, "rid": format!("{LOG}-pay-{i}"), "kind": "payment",
                "event_date": "2026-02-03", "program": "rr-2026", "payee": payee,
                "amount": yuan(10_000 + i as u64), "funded_by": [{"ref": receipt_ref, "amount": yuan(10_000 + i as u64)}],
                "purpose": "Industry support, contract HS-2026, first instalment"});
            if i % 10 == 0 {
                p["project"] = json!(format!("{LOG}-p{}", i / 1000 % 100));
            }
            p
        };
        let entry = record(value, &template);
        if i % 97 == 0 && i % 1000 != 0 && i % 200 != 0 {
            leaves.push((format!("{LOG}-pay-{i}"), leaf_hash(&entry).to_hex()));
        }
        entries.push(entry);
    }
    entries
}

fn run(entries: &[Vec<u8>], name: &str, csv: bool, jsonl: bool, ocds: bool) -> f64 {
    // EXPORT_BENCH_KEEP=DIR keeps each pass's files in DIR/<pass> (to compare outputs).
    let keep = std::env::var_os("EXPORT_BENCH_KEEP").map(std::path::PathBuf::from);
    let dir = match &keep {
        Some(k) => k.join(name.replace([' ', '+', '(', ')', ','], "")),
        None => std::env::temp_dir().join(format!("daylight-export-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).expect("temp dir");
    let create = |name: &str| OutputFile::create(&dir, name);
    let started = Instant::now();
    let mut hc = csv.then(|| export::csv::HistoryCsv::new(create("history.csv").unwrap()).unwrap());
    let mut hj = jsonl.then(|| export::jsonl::HistoryJsonl::new(create("history.jsonl").unwrap()));
    let mut ro = ocds.then(|| {
        export::ocds::ReleaseWriter::new(
            export::ocds::Package::new("bench.daylight", "ocds-bench"),
            create("ocds-releases.json").unwrap(),
        )
        .unwrap()
    });
    let mut reader = LogReader::new(LOG).expect("member id");
    // As `daylight export` does with the checkpoint's size.
    reader.expect(entries.len() as u64);
    {
        let mut sinks: Vec<&mut dyn HistorySink> = Vec::new();
        if let Some(s) = hc.as_mut() {
            sinks.push(s);
        }
        if let Some(s) = hj.as_mut() {
            sinks.push(s);
        }
        if let Some(s) = ro.as_mut() {
            sinks.push(s);
        }
        // In batches of 64 tiles, as the replay hands them over.
        for (b, batch) in entries.chunks(64 * 256).enumerate() {
            reader
                .read_batch((b * 64 * 256) as u64, batch, &mut sinks)
                .expect("write");
        }
    }
    assert_eq!(reader.invalid, 0);
    let streamed = started.elapsed().as_secs_f64();
    let logs = vec![ExportedLog {
        member: LOG.to_string(),
        state: reader.state,
    }];
    export::manifest::finish(&logs, hc, hj, ro, &create).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    if std::env::var_os("EXPORT_BENCH_PHASES").is_some() {
        println!(
            "  {name}: {streamed:.2} s reading and streaming the history, {:.2} s writing the current state",
            seconds - streamed
        );
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    seconds
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("export: bench");
        return;
    }
    let n: usize = std::env::var("EXPORT_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // As `daylight export` does before it reads.
    export::memory::use_small_pages();
    let started = Instant::now();
    let entries = generate(n);
    let bytes: usize = entries.iter().map(Vec::len).sum();
    println!(
        "generated {n} entries ({:.0} MB) in {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    // EXPORT_BENCH_PASSES=csv,ocds runs only these passes (read, csv, jsonl, ocds, all).
    let passes: Option<Vec<String>> = std::env::var("EXPORT_BENCH_PASSES")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    for (key, name, csv, jsonl, ocds) in [
        (
            "read",
            "read only (parse, check, apply)",
            false,
            false,
            false,
        ),
        ("csv", "csv", true, false, false),
        ("jsonl", "jsonl", false, true, false),
        ("ocds", "ocds", false, false, true),
        ("all", "csv + jsonl + ocds", true, true, true),
    ] {
        if let Some(p) = &passes
            && !p.iter().any(|p| p == key)
        {
            continue;
        }
        let seconds = run(&entries, name, csv, jsonl, ocds);
        println!(
            "{name:<34} {seconds:>7.2} s  {:>9.0} records/s",
            n as f64 / seconds
        );
    }
}
