//! The OCDS writers against signed records: a project's whole life, key order, and a
//! compiled release longer than one run of the parallel writer.

use super::*;
use crate::export::model::{self, EntryEvent, ExportedLog, HistorySink};
use crate::export::output::OutputFile;
use daylight_verifier::key::{KeyType, SigningKey};
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::record::{Record, to_entry_bytes};
use serde_json::Value;

const LOG: &str = "county-320206";

/// A project's whole life and two payments, with a correction and two voids, signed.
fn entries() -> Vec<Vec<u8>> {
    let key = SigningKey::from_seed(
        "test/county-320206/operator/clerk",
        KeyType::Ed25519,
        [3; 32],
    )
    .expect("a key");
    let yuan = |minor: u64| json!({"minor": minor.to_string(), "currency": "CNY"});
    let doc = json!([{"title": "Notice", "sha256": "e1".repeat(32)}]);
    let base = |rid: &str, kind: &str, date: &str| {
        json!({"v": 1, "rid": format!("{LOG}-{rid}"), "kind": kind, "event_date": date,
            "program": "rr-2026"})
    };
    let project = |rid: &str, stage: &str, date: &str| {
        let mut p = base(rid, "project", date);
        p["project"] = json!(format!("{LOG}-prj-road"));
        p["stage"] = json!(stage);
        p["title"] = json!("村道硬化 \"road\"");
        p["documents"] = doc.clone();
        p
    };
    let mut records = Vec::new();
    let mut receipt = base("rcpt-1", "receipt", "2026-01-02");
    receipt["payer"] = json!({"member": "city-3202"});
    receipt["amount"] = yuan(10_000_000);
    receipt["funded_by"] = json!([{"ref": {"log": "city-3202", "rid": "city-3202-alloc-1",
        "leaf": "ab".repeat(32)}, "amount": yuan(10_000_000)}]);
    records.push(receipt);
    let mut approved = project("prj-1", "approved", "2026-01-05");
    approved["amount"] = yuan(5_000_000);
    records.push(approved);
    records.push(project("prj-2", "tendered", "2026-01-10"));
    let mut awarded = project("prj-3", "awarded", "2026-01-20");
    awarded["amount"] = yuan(4_800_000);
    awarded["contractor"] =
        json!({"org": {"name": "Wuxi Rural Construction", "uscc": "91320206MA1W8K2P0W"}});
    records.push(awarded);
    records.push(project("prj-4", "milestone", "2026-02-01"));
    let mut signed: Vec<Vec<u8>> = Vec::new();
    let sign = |value: Value| {
        to_entry_bytes(
            &Record::from_value(value)
                .expect("a valid record")
                .sign(&key),
        )
    };
    for r in records.drain(..) {
        signed.push(sign(r));
    }
    let receipt_ref = json!({"log": LOG, "rid": format!("{LOG}-rcpt-1"),
        "leaf": leaf_hash(&signed[0]).to_hex()});
    let payment = |rid: &str, payee: Value, minor: u64, project: Option<&str>| {
        let mut p = base(rid, "payment", "2026-02-03");
        p["payee"] = payee;
        p["amount"] = yuan(minor);
        p["funded_by"] = json!([{"ref": receipt_ref, "amount": yuan(minor)}]);
        p["purpose"] = json!("Wages");
        if let Some(project) = project {
            p["project"] = json!(project);
        }
        p
    };
    let household = json!({"household": {"pseudonym": "5a".repeat(32), "area": "320206101201",
            "commitment": "c0".repeat(32)}});
    signed.push(sign(payment(
        "pay-1",
        household,
        300_000,
        Some(&format!("{LOG}-prj-road")),
    )));
    signed.push(sign(payment(
        "pay-2",
        json!({"org": {"name": "Tea Coop"}}),
        1_000,
        None,
    )));
    let leaf = |i: usize| leaf_hash(&signed[i]).to_hex();
    let mut correction = base("corr-1", "correction", "2026-02-05");
    correction["corrects"] = json!({"rid": format!("{LOG}-pay-2"), "leaf": leaf(6)});
    correction["reason"] = json!("Amount typo");
    let mut replacement = payment("x", json!({"org": {"name": "Tea Coop"}}), 1_200, None);
    let replacement_map = replacement.as_object_mut().expect("an object");
    replacement_map.remove("v");
    replacement_map.remove("rid");
    correction["replacement"] = replacement;
    let correction = sign(correction);
    let mut void_award = base("void-1", "void", "2026-02-06");
    void_award["voids"] = json!({"rid": format!("{LOG}-prj-3"), "leaf": leaf(3)});
    void_award["reason"] = json!("Award withdrawn");
    let mut void_milestone = base("void-2", "void", "2026-02-07");
    void_milestone["voids"] = json!({"rid": format!("{LOG}-prj-4"), "leaf": leaf(4)});
    void_milestone["reason"] = json!("Not met after all");
    signed.push(correction);
    signed.push(sign(void_award));
    signed.push(sign(void_milestone));
    signed
}

/// Exports the entries as OCDS; returns the release and record packages.
fn export(name: &str, entries: &[Vec<u8>]) -> (String, String) {
    let dir = std::env::temp_dir().join(format!("daylight-ocds-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let package = Package::new("test.daylight", "ocds-test");
    let mut writer =
        ReleaseWriter::new(package, OutputFile::create(&dir, RELEASES).unwrap()).unwrap();
    let mut reader = model::LogReader::new(LOG).unwrap();
    let mut problems = Problems(Vec::new());
    reader
        .read_batch(0, entries, &mut [&mut writer, &mut problems])
        .unwrap();
    assert_eq!(
        problems.0,
        Vec::<String>::new(),
        "every test record applies"
    );
    let logs = [ExportedLog {
        member: LOG.to_string(),
        state: reader.state,
    }];
    writer
        .finish(&logs, OutputFile::create(&dir, RECORDS).unwrap())
        .unwrap();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let files = (read(RELEASES), read(RECORDS));
    std::fs::remove_dir_all(&dir).unwrap();
    files
}

/// The problems of the entries read.
struct Problems(Vec<String>);

impl HistorySink for Problems {
    fn entry(&mut self, e: &EntryEvent<'_>) -> std::io::Result<()> {
        if let Some(problem) = &e.problem {
            self.0.push(format!("entry {}: {problem}", e.index));
        }
        Ok(())
    }
}

#[test]
fn every_object_has_its_keys_in_order() {
    // A JSON tree writes keys sorted: each release and record written again from its tree
    // gives the same bytes only if every struct of `shapes` declares its fields in that
    // order, optional ones included. (The package's own keys come first, then its list.)
    let (releases, records) = export("order", &entries());
    for (text, list) in [(&releases, "releases"), (&records, "records")] {
        let package: Value = serde_json::from_str(text).expect("JSON");
        let items = package[list].as_array().expect("a list");
        assert_eq!(items.len(), if list == "releases" { 9 } else { 2 });
        for item in items {
            let written = serde_json::to_string(item).unwrap();
            assert!(
                text.contains(&written),
                "{list}: keys out of order near {written}"
            );
        }
    }
}

#[test]
fn a_projects_life_maps_to_releases_and_a_compiled_release() {
    let (releases, records) = export("life", &entries());
    let releases: Value = serde_json::from_str(&releases).unwrap();
    let tags: Vec<&str> = releases["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tag"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        [
            "planning",
            "tender",
            "award",
            "implementation",
            "implementation",
            "implementation",
            "implementationUpdate",
            "awardCancellation",
            "implementationUpdate"
        ]
    );
    // A contract refers to its project's award once there is one: the milestone and the
    // household's payment come after the award, the tea coop's payment has no project.
    let award_of = |n: usize| releases["releases"][n]["contracts"][0]["awardID"].clone();
    assert_eq!(award_of(3), json!(format!("{LOG}-prj-3")), "the milestone");
    assert_eq!(
        award_of(4),
        json!(format!("{LOG}-prj-3")),
        "the household's payment"
    );
    assert_eq!(
        award_of(5),
        json!(format!("{LOG}-programme-rr-2026")),
        "a payment without a project"
    );
    let first = &releases["releases"][0];
    assert_eq!(first["daylight"]["index"], 1);
    assert_eq!(first["planning"]["budget"]["amount"]["amount"], 50000.0);
    assert_eq!(first["parties"][0]["roles"], json!(["buyer"]));

    let records: Value = serde_json::from_str(&records).unwrap();
    let record = |ocid: &str| {
        records["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ocid"] == ocid)
            .unwrap_or_else(|| panic!("no record {ocid}"))
            .clone()
    };
    let road = record(&format!("ocds-test-{LOG}-prj-road"));
    assert_eq!(road["releases"].as_array().unwrap().len(), 7);
    let compiled = &road["compiledRelease"];
    assert_eq!(compiled["tag"], json!(["compiled"]));
    assert_eq!(compiled["date"], "2026-02-03T00:00:00Z");
    assert_eq!(compiled["awards"][0]["status"], "cancelled");
    assert_eq!(compiled["tender"]["status"], "active");
    assert_eq!(
        compiled["awards"][0]["suppliers"][0]["id"],
        "CN-SAIC-91320206MA1W8K2P0W"
    );
    let implementation = &compiled["contracts"][0]["implementation"];
    assert!(
        implementation.get("milestones").is_none(),
        "the voided milestone left"
    );
    let paid = &implementation["transactions"];
    assert_eq!(paid.as_array().unwrap().len(), 1);
    assert_eq!(paid[0]["value"]["amount"], 3000.0);
    assert_eq!(paid[0]["payee"]["name"], "household 5a5a5a5a5a5a");
    assert!(
        paid[0]["source"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{LOG}/{LOG}-rcpt-1/")),
        "{}",
        paid[0]["source"]
    );
    let programme = record(&format!("ocds-test-{LOG}-programme-rr-2026"));
    let paid = &programme["compiledRelease"]["contracts"][0]["implementation"]["transactions"];
    assert_eq!(paid[0]["value"]["amount"], 12.0, "the corrected amount");
    assert_eq!(
        programme["compiledRelease"]["daylight"]["records"][0]["status"],
        "active"
    );
}

#[test]
fn a_long_compiled_release_lists_each_party_once_in_the_order_met() {
    // More transactions, parties and records than one run of the parallel writer holds
    // (records::RUN), paid to 700 payees three times each; one organisation's name is
    // spelt two ways under the same credit code, and the first spelling is kept.
    let key = SigningKey::from_seed(
        "test/county-320206/operator/clerk",
        KeyType::Ed25519,
        [3; 32],
    )
    .expect("a key");
    let sign = |value: Value| {
        to_entry_bytes(
            &Record::from_value(value)
                .expect("a valid record")
                .sign(&key),
        )
    };
    let yuan = |minor: u64| json!({"minor": minor.to_string(), "currency": "CNY"});
    let receipt = sign(
        json!({"v": 1, "rid": format!("{LOG}-rcpt-1"), "kind": "receipt",
        "event_date": "2026-01-02", "program": "rr-2026", "payer": {"member": "city-3202"},
        "amount": yuan(1_000_000_000),
        "funded_by": [{"ref": {"log": "city-3202", "rid": "city-3202-alloc-1",
            "leaf": "ab".repeat(32)}, "amount": yuan(1_000_000_000)}]}),
    );
    let receipt_ref = json!({"log": LOG, "rid": format!("{LOG}-rcpt-1"),
        "leaf": leaf_hash(&receipt).to_hex()});
    let payee = |n: usize, round: usize| match n % 3 {
        0 => json!({"household": {"pseudonym": format!("{n:064x}"), "area": "320206101201",
            "commitment": "c0".repeat(32)}}),
        1 => json!({"org": {"name": format!("Tea Coop {n}")}}),
        _ if n == 2 => json!({"org": {"name": format!("Rice Coop, round {round}"),
            "uscc": "91320206MA1W8K2P0W"}}),
        _ => json!({"org": {"name": format!("Village Shop {n}")}}),
    };
    let mut entries = vec![receipt];
    for round in 0..3 {
        for n in 0..700 {
            entries.push(sign(
                json!({"v": 1, "rid": format!("{LOG}-pay-{round}-{n}"),
                "kind": "payment", "event_date": "2026-02-03", "program": "rr-2026",
                "payee": payee(n, round), "amount": yuan(100 + n as u64),
                "funded_by": [{"ref": receipt_ref, "amount": yuan(100 + n as u64)}],
                "purpose": "Wages"}),
            ));
        }
    }
    let (_, records) = export("long", &entries);
    let records: Value = serde_json::from_str(&records).expect("the package is JSON");
    let record = &records["records"][0];
    assert_eq!(record["releases"].as_array().unwrap().len(), 2_100);
    let compiled = &record["compiledRelease"];
    assert_eq!(
        compiled["daylight"]["records"].as_array().unwrap().len(),
        2_100
    );
    let parties = compiled["parties"].as_array().unwrap();
    assert_eq!(
        parties.len(),
        701,
        "the publisher and 700 payees, each once"
    );
    assert_eq!(parties[0]["roles"], json!(["buyer", "payer"]));
    let id = |n: usize| {
        let party: Party = serde_json::from_value(payee(n, 0)).expect("a party");
        party_id(&party).to_string()
    };
    for (n, party) in parties[1..].iter().enumerate() {
        assert_eq!(party["id"], id(n), "party {n} in the order first met");
        assert_eq!(party["roles"], json!(["payee"]));
    }
    assert_eq!(parties[3]["name"], "Rice Coop, round 0");
    let paid = compiled["contracts"][0]["implementation"]["transactions"]
        .as_array()
        .unwrap();
    assert_eq!(paid.len(), 2_100);
    for (at, transaction) in paid.iter().enumerate() {
        let (round, n) = (at / 700, at % 700);
        assert_eq!(transaction["id"], format!("{LOG}-pay-{round}-{n}"));
        assert_eq!(transaction["payee"]["id"], id(n));
    }
    assert_eq!(
        paid[702]["payee"]["name"], "Rice Coop, round 0",
        "the first spelling"
    );
}
