//! Malformed records are refused with the path of the offending field (table-driven), and
//! the signature, privacy and current-state rules behave as documented.
//!
//! The valid starting points are the examples of `docs/records.md`.

use std::collections::BTreeMap;

use daylight_verifier::key::{KeyType, SigningKey};
use daylight_verifier::record::{
    self, AcceptedKeys, Code, Kind, LogState, MemberId, Record, RecordError, SignedRecord,
    StateProblem, Status,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn key(name: &str) -> SigningKey {
    let mut h = Sha256::new();
    h.update(b"daylight records.md example key\n");
    h.update(name.as_bytes());
    SigningKey::from_seed(name, KeyType::Ed25519, h.finalize().into()).expect("key")
}

/// The documented examples, by rid.
fn examples() -> BTreeMap<String, Value> {
    let md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/records.md"))
        .expect("docs/records.md");
    let mut out = BTreeMap::new();
    let mut block: Option<String> = None;
    for line in md.lines() {
        match &mut block {
            None if line == "```json" => block = Some(String::new()),
            Some(text) if line == "```" => {
                let value: Value = serde_json::from_str(text).expect("example JSON");
                out.insert(value["rid"].as_str().expect("rid").to_string(), value);
                block = None;
            }
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    out
}

fn member_of(value: &Value) -> MemberId {
    let name = value["signatures"][0]["signer"].as_str().expect("signer");
    MemberId::parse(name.split('/').nth(1).expect("member")).expect("member id")
}

fn keys_for(member: &MemberId) -> AcceptedKeys {
    let n = |rest: &str| format!("demo.daylight/{member}/{rest}");
    let mut keys = AcceptedKeys::new()
        .with_operator(key(&n("operator/li")).verifier())
        .with_operator(key(&n("operator/wang")).verifier())
        .with_operator(key(&n("operator/zhao")).verifier());
    for role in [
        "village_committee/zhangjia",
        "village_supervision/zhangjia",
        "work_team/zhangjia",
        "township/yangshan",
        "county_bureau/relief",
    ] {
        let code = Code::parse(role.split('/').next().expect("role")).expect("code");
        keys = keys.with_attestor(key(&n(role)).verifier(), code);
    }
    keys
}

/// Every check a node runs, in its order.
fn check(bytes: &[u8], member: &MemberId) -> Result<(), RecordError> {
    record::check_record(bytes, member, &keys_for(member)).map(|_| ())
}

/// Re-signs a record value with its documented signers (after a mutation that must pass the
/// signature check and fail elsewhere, or to build valid variants).
fn resign(value: &Value) -> Value {
    let mut unsigned = value.clone();
    let sigs = unsigned
        .as_object_mut()
        .expect("object")
        .remove("signatures")
        .expect("signatures");
    let names: Vec<String> = sigs
        .as_array()
        .expect("array")
        .iter()
        .map(|s| {
            let vkey = s["signer"].as_str().expect("signer");
            vkey.split('+').next().expect("name").to_string()
        })
        .collect();
    let record = Record::from_value(unsigned).expect("record");
    let mut signed = record.sign(&key(&names[0]));
    for n in &names[1..] {
        signed.attest(&key(n));
    }
    Value::Object(signed.to_object())
}

enum Op {
    Set(&'static str, Value),
    Remove(&'static str),
    Raw(&'static [u8]),
    /// Replace the whole record by a function of it.
    With(fn(Value) -> Value),
}

fn apply(mut value: Value, op: &Op) -> Vec<u8> {
    match op {
        Op::Set(pointer, new) => {
            let (parent, key) = pointer.rsplit_once('/').expect("pointer");
            let parent = if parent.is_empty() {
                &mut value
            } else {
                value
                    .pointer_mut(parent)
                    .unwrap_or_else(|| panic!("no {pointer}"))
            };
            match parent {
                Value::Object(map) => {
                    map.insert(key.to_string(), new.clone());
                }
                Value::Array(items) => items[key.parse::<usize>().expect("index")] = new.clone(),
                _ => panic!("{pointer}: parent is not a container"),
            }
        }
        Op::Remove(pointer) => {
            let (parent, key) = pointer.rsplit_once('/').expect("pointer");
            let parent = if parent.is_empty() {
                &mut value
            } else {
                value.pointer_mut(parent).expect("parent")
            };
            parent
                .as_object_mut()
                .expect("object")
                .remove(key)
                .expect("present");
        }
        Op::Raw(bytes) => return bytes.to_vec(),
        Op::With(f) => value = f(value),
    }
    serde_json::to_vec(&value).expect("json")
}

const ALLOC: &str = "city-3202-2024-alloc-0007";
const RCPT: &str = "county-320206-2024-rcpt-0003";
const COOP: &str = "county-320206-2024-pay-0101";
const HHPAY: &str = "county-320206-2024-pay-0102";
const PRJ: &str = "county-320206-2024-prj-0004";
const ASSET: &str = "county-320206-2024-ast-0002";
const HH: &str = "county-320206-2024-hh-0031";
const FND: &str = "audit-3202-2024-fnd-0012";
const RECT: &str = "county-320206-2024-rect-0001";
const CORR: &str = "county-320206-2024-corr-0001";
const VOID: &str = "county-320206-2024-void-0001";

fn hex64(c: char) -> Value {
    json!(c.to_string().repeat(64))
}

#[test]
fn malformed_records_are_refused_with_the_field_path() {
    let examples = examples();
    let cases: Vec<(&str, Op, &str)> = vec![
        // Whole record.
        (ALLOC, Op::Raw(b"{\"v\":1,"), "$"),
        (ALLOC, Op::Raw(b"[1,2]"), "$"),
        (ALLOC, Op::Raw(br#"{"v":1,"v":1}"#), "$"),
        (ALLOC, Op::Raw(b"\xff\xfe"), "$"),
        (
            ALLOC,
            Op::With(|mut v| {
                let doc = v["documents"][0].clone();
                v["documents"] = Value::Array(vec![doc; 600]);
                resign(&v)
            }),
            "$",
        ),
        // Envelope.
        (ALLOC, Op::Remove("/v"), "v"),
        (ALLOC, Op::Set("/v", json!(2)), "v"),
        (ALLOC, Op::Set("/v", json!("1")), "v"),
        (ALLOC, Op::Remove("/kind"), "kind"),
        (ALLOC, Op::Set("/kind", json!("grant")), "kind"),
        (ALLOC, Op::Set("/kind", json!(5)), "kind"),
        (ALLOC, Op::Remove("/rid"), "rid"),
        (ALLOC, Op::Set("/rid", json!("city 3202 0007")), "rid"),
        (
            ALLOC,
            Op::Set("/rid", json!("county-320206-2024-0007")),
            "rid",
        ),
        (ALLOC, Op::Set("/rid", json!("city-3202")), "rid"),
        (
            ALLOC,
            Op::Set("/event_date", json!("2024-02-30")),
            "event_date",
        ),
        (
            ALLOC,
            Op::Set("/event_date", json!("2024/03/01")),
            "event_date",
        ),
        (ALLOC, Op::Remove("/event_date"), "event_date"),
        (ALLOC, Op::Set("/program", json!("")), "program"),
        (ALLOC, Op::Set("/note", json!("extra")), "note"),
        (ALLOC, Op::Remove("/signatures"), "signatures"),
        (ALLOC, Op::Set("/signatures", json!([])), "signatures"),
        (
            ALLOC,
            Op::Set("/signatures/0/sig", json!("AAAA")),
            "signatures[0].sig",
        ),
        (
            ALLOC,
            Op::Set("/signatures/0/signer", json!("bogus")),
            "signatures[0].signer",
        ),
        // Money.
        (
            ALLOC,
            Op::Set("/amount/minor", json!("1250000.00")),
            "amount.minor",
        ),
        (
            ALLOC,
            Op::Set("/amount/minor", json!(125000000)),
            "amount.minor",
        ),
        (ALLOC, Op::Set("/amount/minor", json!("-5")), "amount.minor"),
        (
            ALLOC,
            Op::Set("/amount/minor", json!("007")),
            "amount.minor",
        ),
        (
            ALLOC,
            Op::Set("/amount/minor", json!("99999999999999999999")),
            "amount.minor",
        ),
        (
            ALLOC,
            Op::Set("/amount/currency", json!("RMB")),
            "amount.currency",
        ),
        (
            ALLOC,
            Op::Set("/amount/currency", json!("cny")),
            "amount.currency",
        ),
        (
            ALLOC,
            Op::Set(
                "/amount",
                json!({"minor": "1", "currency": "CNY", "exponent": 2}),
            ),
            "amount.exponent",
        ),
        (ALLOC, Op::Remove("/amount/currency"), "amount.currency"),
        // Parties and text.
        (
            ALLOC,
            Op::Set(
                "/payee",
                json!({"household": {"pseudonym": "a".repeat(64), "area": "320206101201"}}),
            ),
            "payee",
        ),
        (
            ALLOC,
            Op::Set("/payer", json!({"member": "City"})),
            "payer.member",
        ),
        (
            ALLOC,
            Op::Set("/payer", json!({"org": {}})),
            "payer.org.name",
        ),
        (ALLOC, Op::Set("/purpose", json!("")), "purpose"),
        (
            ALLOC,
            Op::Set("/purpose", json!("line one\nline two")),
            "purpose",
        ),
        (
            ALLOC,
            Op::Set("/documents/0/sha256", json!("AB".repeat(32))),
            "documents[0].sha256",
        ),
        // Funding.
        (RCPT, Op::Remove("/funded_by"), "funded_by"),
        (RCPT, Op::Set("/funded_by", json!([])), "funded_by"),
        (
            RCPT,
            Op::Set("/funded_by/0/ref/leaf", json!("abc")),
            "funded_by[0].ref.leaf",
        ),
        (
            RCPT,
            Op::Set("/funded_by/0/ref/rid", json!("county-320206-2024-x")),
            "funded_by[0].ref.rid",
        ),
        (
            RCPT,
            Op::Set("/funded_by/0/ref/log", json!("City_3202")),
            "funded_by[0].ref.log",
        ),
        (RCPT, Op::Remove("/funded_by/0/ref"), "funded_by[0].ref"),
        (
            RCPT,
            Op::Set("/funded_by/0/amount/currency", json!("USD")),
            "funded_by[0].amount.currency",
        ),
        (
            RCPT,
            Op::Set("/amount/minor", json!("125000001")),
            "funded_by",
        ),
        (
            RCPT,
            Op::With(|mut v| {
                let mut part = v["funded_by"][0].clone();
                part["amount"]["minor"] = json!("62500000");
                v["funded_by"] = json!([part.clone(), part]);
                v
            }),
            "funded_by[1].ref",
        ),
        (
            RCPT,
            Op::With(|mut v| {
                let mut part = v["funded_by"][0].clone();
                part["amount"]["minor"] = json!("0");
                let mut rest = v["funded_by"][0].clone();
                rest["ref"]["rid"] = json!("city-3202-2024-alloc-0008");
                v["funded_by"] = json!([part, rest]);
                v
            }),
            "funded_by[0].amount.minor",
        ),
        // Payments.
        (
            HHPAY,
            Op::Remove("/payee/household/commitment"),
            "payee.household.commitment",
        ),
        (
            HHPAY,
            Op::Set("/payee/household/area", json!("32020610")),
            "payee.household.area",
        ),
        (
            HHPAY,
            Op::Set("/payee/household/pseudonym", json!("zz")),
            "payee.household.pseudonym",
        ),
        (
            HHPAY,
            Op::With(|mut v| {
                v["payee"]["household"]["name"] = json!("Zhang San");
                v
            }),
            "payee.household.name",
        ),
        (
            HHPAY,
            Op::Set("/payee", json!({"member": "county-320206"})),
            "payee",
        ),
        (
            HHPAY,
            Op::Set("/payee", json!({"person": {"name": "Zhang San"}})),
            "payee",
        ),
        (
            COOP,
            Op::Set("/payee/org/uscc", json!("93320206MA1XKQ8Y36")),
            "payee.org.uscc",
        ),
        (COOP, Op::Set("/project", json!("prj tea")), "project"),
        // Privacy guard (records re-signed so only the guard can refuse them).
        (
            COOP,
            Op::With(|mut v| {
                v["payee"]["org"]["name"] = json!("Zhangjia Tea Cooperative, contact 13812345678");
                resign(&v)
            }),
            "payee.org.name",
        ),
        (
            COOP,
            Op::With(|mut v| {
                v["purpose"] = json!("Subsidy for 11010519491231002X");
                resign(&v)
            }),
            "purpose",
        ),
        (
            VOID,
            Op::With(|mut v| {
                v["reason"] = json!("Requested by phone, 138-1234-5678");
                resign(&v)
            }),
            "reason",
        ),
        (
            COOP,
            Op::With(|mut v| {
                // An 18-digit amount shaped like a resident ID number (valid check digit).
                v["amount"]["minor"] = json!("110105194912310038");
                v["funded_by"][0]["amount"]["minor"] = json!("110105194912310038");
                resign(&v)
            }),
            "amount.minor",
        ),
        // Projects.
        (PRJ, Op::Remove("/amount"), "amount"),
        (PRJ, Op::Remove("/contractor"), "contractor"),
        (PRJ, Op::Set("/documents", json!([])), "documents"),
        (PRJ, Op::Set("/stage", json!("finished")), "stage"),
        // Assets.
        (ASSET, Op::Set("/beneficiaries", json!([])), "beneficiaries"),
        (
            ASSET,
            Op::Set("/beneficiaries/1/household/commitment", hex64('c')),
            "beneficiaries[1].household.commitment",
        ),
        (ASSET, Op::Remove("/operator"), "operator"),
        (
            ASSET,
            Op::Set("/source/leaf", json!("F".repeat(64))),
            "source.leaf",
        ),
        (ASSET, Op::Set("/event", json!("sold")), "event"),
        // Households.
        (
            HH,
            Op::Set("/notice/end", json!("2024-03-30")),
            "notice.end",
        ),
        (
            HH,
            Op::Set("/event_date", json!("2024-04-10")),
            "event_date",
        ),
        (HH, Op::Set("/basis", json!("Income stable")), "basis"),
        (HH, Op::Set("/status", json!("left")), "status"),
        (
            HH,
            Op::With(|mut v| {
                v["name"] = json!("Zhang San");
                v
            }),
            "name",
        ),
        // Findings and rectifications.
        (
            FND,
            Op::Set("/checked_at", json!("2024-06-30T09:00:00+08:00")),
            "checked_at",
        ),
        (FND, Op::Set("/severity", json!("orange")), "severity"),
        (FND, Op::Set("/subjects", json!([])), "subjects"),
        (FND, Op::Set("/rule", json!("idle-funds")), "rule"),
        (
            RECT,
            Op::Set("/finding/rid", json!("county-320206-2024-fnd-0012")),
            "finding.rid",
        ),
        (RECT, Op::Set("/due_date", json!("2024-09-31")), "due_date"),
        (RECT, Op::Set("/status", json!("done")), "status"),
        // Corrections and voids.
        (CORR, Op::Set("/corrects/rid", json!(ALLOC)), "corrects.rid"),
        (
            CORR,
            Op::Set("/replacement/kind", json!("void")),
            "replacement.kind",
        ),
        (
            CORR,
            Op::Set("/replacement/amount/minor", json!("x")),
            "replacement.amount.minor",
        ),
        (CORR, Op::Remove("/replacement"), "replacement"),
        (
            CORR,
            Op::Remove("/replacement/event_date"),
            "replacement.event_date",
        ),
        (
            CORR,
            Op::Set("/replacement/amount/minor", json!("30000001")),
            "replacement.funded_by",
        ),
        (
            CORR,
            Op::Set("/replacement/signatures", json!([])),
            "replacement.signatures",
        ),
        (VOID, Op::Set("/voids/rid", json!(VOID)), "voids.rid"),
        (VOID, Op::Remove("/reason"), "reason"),
        // Signatures over changed content.
        (
            COOP,
            Op::Set("/purpose", json!("Second instalment")),
            "signatures[0].sig",
        ),
        (
            HH,
            Op::Set("/basis", json!("relocated")),
            "signatures[0].sig",
        ),
    ];
    assert!(cases.len() >= 40);
    let mut failures = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, (rid, op, path)) in cases.iter().enumerate() {
        let base = examples[*rid].clone();
        let member = member_of(&base);
        let bytes = apply(base, op);
        seen.insert(bytes.clone());
        match check(&bytes, &member) {
            Ok(()) => failures.push(format!("case {i} ({rid}, want {path}): accepted")),
            Err(e) if e.path != *path => {
                failures.push(format!("case {i} ({rid}): want path {path}, got {e}"))
            }
            Err(e) => assert!(!e.message.is_empty() && e.to_string().starts_with(path)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        seen.len(),
        cases.len(),
        "every malformed record is distinct"
    );
}

#[test]
fn error_messages_say_what_to_do() {
    let examples = examples();
    let member = member_of(&examples[ALLOC]);
    let mut v = examples[ALLOC].clone();
    v["amount"]["minor"] = json!("12.5");
    let e = check(&serde_json::to_vec(&v).expect("json"), &member).expect_err("refused");
    assert_eq!(e.path, "amount.minor");
    assert!(
        e.to_string()
            .starts_with("amount.minor: must be a non-negative integer string"),
        "{e}"
    );
    let mut v = examples[RCPT].clone();
    v["funded_by"][0]["ref"]["leaf"] = json!("00");
    let e = check(&serde_json::to_vec(&v).expect("json"), &member_of(&v)).expect_err("refused");
    assert_eq!(
        e.to_string(),
        "funded_by[0].ref.leaf: must be 64 lowercase hex digits"
    );
    let mut v = examples[ALLOC].clone();
    v["colour"] = json!("red");
    let e = check(&serde_json::to_vec(&v).expect("json"), &member).expect_err("refused");
    assert!(e.to_string().starts_with("colour: is not a field"), "{e}");
}

#[test]
fn operator_signature_is_required_and_attestations_are_checked() {
    let examples = examples();
    let hh = examples[HH].clone();
    let member = member_of(&hh);
    let keys = keys_for(&member);
    let signed = SignedRecord::from_value(hh).expect("parses");
    let verified = record::verify_signatures(&signed, &keys).expect("verifies");
    let roles = verified.roles();
    assert_eq!(roles.len(), 5);
    assert!(roles.values().all(|&n| n == 1));
    assert_eq!(verified.operators.len(), 1);

    // Without the operator's signature: refused.
    let mut no_operator = signed.clone();
    no_operator.signatures.remove(0);
    let e = record::verify_signatures(&no_operator, &keys).expect_err("refused");
    assert_eq!(e.path, "signatures");
    assert!(e.message.contains("operator"));

    // A bad attestation: refused, naming it.
    let mut bad = signed.clone();
    bad.signatures[3].sig.0[0] ^= 1;
    let e = record::verify_signatures(&bad, &keys).expect_err("refused");
    assert_eq!(e.path, "signatures[3].sig");
    assert!(e.message.contains("work_team attestor"), "{e}");

    // A bad operator signature.
    let mut bad = signed.clone();
    bad.signatures[0].sig.0[10] ^= 1;
    let e = record::verify_signatures(&bad, &keys).expect_err("refused");
    assert_eq!(e.path, "signatures[0].sig");
    assert!(e.message.contains("operator"));

    // An unknown signer, even with a valid signature.
    let mut unknown = signed.clone();
    unknown.attest(&key("demo.daylight/county-320206/township/stranger"));
    let e = record::verify_signatures(&unknown, &keys).expect_err("refused");
    assert_eq!(e.path, "signatures[6].signer");

    // The same key twice.
    let mut twice = signed.clone();
    twice.attest(&key("demo.daylight/county-320206/township/yangshan"));
    let e = record::verify_signatures(&twice, &keys).expect_err("refused");
    assert_eq!(e.path, "signatures[6].signer");
    assert!(e.message.contains("already signed"));

    // A witness (cosignature) key cannot sign records.
    let witness = SigningKey::from_seed(
        "demo.daylight/county-320206/witness",
        KeyType::Cosignature,
        [9; 32],
    )
    .expect("key");
    let mut cosigned = signed.clone();
    cosigned.signatures.push(record::RecordSignature {
        signer: witness.verifier(),
        sig: record::SignatureBytes([0; 64]),
    });
    let e = record::verify_signatures(&cosigned, &keys).expect_err("refused");
    assert_eq!(e.path, "signatures[6].signer");

    // Attestations in any order keep every signature valid.
    let mut reordered = signed.clone();
    reordered.signatures.swap(1, 5);
    assert!(record::verify_signatures(&reordered, &keys).is_ok());
}

#[test]
fn privacy_guard_allows_large_amounts_and_hashes() {
    let examples = examples();
    // 138,000,000.00 CNY is written "13800000000": an amount, not a phone number.
    let mut v = examples[ALLOC].clone();
    v["amount"]["minor"] = json!("13800000000");
    let v = resign(&v);
    let member = member_of(&v);
    check(&serde_json::to_vec(&v).expect("json"), &member).expect("a large amount is fine");
    // Hex hashes with digit runs are not mistaken for numbers.
    let mut v = examples[ALLOC].clone();
    v["documents"][0]["sha256"] = json!(format!("13812345678{}", "a".repeat(53)));
    let v = resign(&v);
    check(&serde_json::to_vec(&v).expect("json"), &member).expect("a hash is fine");
    // But the same digits in free text are refused, masked in the message.
    let mut v = examples[ALLOC].clone();
    v["documents"][0]["title"] = json!("Notice 13812345678");
    let v = resign(&v);
    let e = check(&serde_json::to_vec(&v).expect("json"), &member).expect_err("refused");
    assert_eq!(e.path, "documents[0].title");
    assert!(e.message.contains("138******78") && !e.message.contains("13812345678"));
}

#[test]
fn openings_verify_only_their_own_payment() {
    let examples = examples();
    let payment = SignedRecord::from_value(examples[HHPAY].clone()).expect("payment");
    let opening: record::Opening = serde_json::from_value(json!({
        "pseudonym": "7c52627c1035457515d406d2ebdfee5f9943aa5d9975effe6fdbb293d783b0d0",
        "rid": HHPAY,
        "amount": {"minor": "500000", "currency": "CNY"},
        "nonce": "47bda54fef34d99dab44a72118cb7269b688ead9f24adc42f53146bd0b7fd59c"
    }))
    .expect("opening");
    opening.verify(&payment).expect("verifies");
    let mut wrong_nonce = opening.clone();
    wrong_nonce.nonce.0[0] ^= 1;
    assert_eq!(
        wrong_nonce.verify(&payment).expect_err("refused").path,
        "payee.household.commitment"
    );
    let mut wrong_amount = opening.clone();
    wrong_amount.amount = record::Money::cny(500_001);
    assert_eq!(
        wrong_amount.verify(&payment).expect_err("refused").path,
        "amount"
    );
    let coop = SignedRecord::from_value(examples[COOP].clone()).expect("payment");
    assert_eq!(opening.verify(&coop).expect_err("refused").path, "rid");
    // A fresh opening commits to a fresh nonce.
    let a =
        record::Opening::new(opening.pseudonym, opening.rid.clone(), opening.amount).expect("rng");
    let b =
        record::Opening::new(opening.pseudonym, opening.rid.clone(), opening.amount).expect("rng");
    assert_ne!(a.commitment(), b.commitment());
}

fn corrected(value: &Value, rid: &str, pin: &str, field: &str, to: Value) -> Value {
    let mut v = value.clone();
    v["rid"] = json!(rid);
    v["corrects"]["leaf"] = json!(pin);
    v["replacement"][field] = to;
    resign(&v)
}

fn leaf_of(v: &Value) -> String {
    let r = SignedRecord::from_value(v.clone()).expect("record");
    record::leaf_hash(&r).to_hex()
}

#[test]
fn state_follows_current_versions_and_reports_stale_pins() {
    let ex = examples();
    let coop = ex[COOP].clone();
    let l0 = leaf_of(&coop);
    let c1 = corrected(
        &ex[CORR],
        "county-320206-2024-corr-0001",
        &l0,
        "purpose",
        json!("First instalment, corrected"),
    );
    let l1 = leaf_of(&c1);
    // Pins the original again: not current any more.
    let stale = corrected(
        &ex[CORR],
        "county-320206-2024-corr-0002",
        &l0,
        "purpose",
        json!("Stale"),
    );
    // Pins the current version: applies.
    let c3 = corrected(
        &ex[CORR],
        "county-320206-2024-corr-0003",
        &l1,
        "purpose",
        json!("Final wording"),
    );
    let l3 = leaf_of(&c3);
    // Changes the kind: refused.
    let mut kind_change = ex[CORR].clone();
    kind_change["rid"] = json!("county-320206-2024-corr-0004");
    kind_change["corrects"]["leaf"] = json!(l3);
    kind_change["replacement"] = {
        let mut r = ex[ALLOC].clone();
        let o = r.as_object_mut().expect("object");
        for k in ["v", "rid", "signatures"] {
            o.remove(k);
        }
        o.insert("payer".into(), json!({"member": "county-320206"}));
        r
    };
    let kind_change = resign(&kind_change);
    // Void pinning the current version, then a correction of the voided record.
    let mut void = ex[VOID].clone();
    void["voids"] = json!({"rid": COOP, "leaf": l3});
    let void = resign(&void);
    let late = corrected(
        &ex[CORR],
        "county-320206-2024-corr-0005",
        &leaf_of(&void),
        "purpose",
        json!("Too late"),
    );
    // Unknown target, and a correction of a correction.
    let mut unknown = ex[VOID].clone();
    unknown["rid"] = json!("county-320206-2024-void-0009");
    unknown["voids"] = json!({"rid": "county-320206-2024-pay-9999", "leaf": l0});
    let unknown = resign(&unknown);
    let mut of_correction = ex[VOID].clone();
    of_correction["rid"] = json!("county-320206-2024-void-0010");
    of_correction["voids"] = json!({"rid": "county-320206-2024-corr-0001", "leaf": l1});
    let of_correction = resign(&of_correction);
    let duplicate = coop.clone();

    let log = [
        coop,
        c1,
        stale,
        c3,
        kind_change,
        void,
        late,
        unknown,
        of_correction,
        duplicate,
    ];
    let entries: Vec<Vec<u8>> = log
        .iter()
        .map(|v| record::to_entry_bytes(&SignedRecord::from_value(v.clone()).expect("record")))
        .collect();
    let state = LogState::from_entries(&entries).expect("replays");
    let problems: Vec<(u64, &StateProblem)> = state
        .issues()
        .iter()
        .map(|i| (i.index, &i.problem))
        .collect();
    assert_eq!(problems.len(), 6, "{problems:#?}");
    assert!(matches!(problems[0], (2, StateProblem::NotCurrent { .. })));
    assert!(matches!(problems[1], (4, StateProblem::KindChange { .. })));
    assert!(matches!(
        problems[2],
        (6, StateProblem::AlreadyVoided { .. })
    ));
    assert!(matches!(
        problems[3],
        (7, StateProblem::UnknownTarget { .. })
    ));
    assert!(matches!(
        problems[4],
        (
            8,
            StateProblem::NotFactual {
                kind: Kind::Correction,
                ..
            }
        )
    ));
    assert!(matches!(
        problems[5],
        (9, StateProblem::DuplicateRid { first_index: 0 })
    ));
    let pay = state.get(&COOP.parse().expect("rid")).expect("state");
    assert!(matches!(pay.status, Status::Voided { .. }));
    let indices: Vec<u64> = pay.versions.iter().map(|v| v.index).collect();
    assert_eq!(indices, [0, 1, 3, 5]);
    match &pay.content.body {
        record::Body::Payment(p) => assert_eq!(p.purpose.as_str(), "Final wording"),
        other => panic!("{other:?}"),
    }
    assert!(state.issues()[0].to_string().contains("not applied"));
    assert_eq!(state.active().count(), 0);
}

#[test]
fn entries_must_be_canonical() {
    let ex = examples();
    let r = SignedRecord::from_value(ex[HH].clone()).expect("record");
    let entry = record::to_entry_bytes(&r);
    assert_eq!(SignedRecord::from_entry(&entry).expect("canonical"), r);
    let pretty = serde_json::to_vec_pretty(&ex[HH]).expect("json");
    assert_eq!(
        SignedRecord::from_entry(&pretty)
            .expect_err("not canonical")
            .path,
        "$"
    );
    assert!(SignedRecord::from_json(&pretty).is_ok());
    // The signed bytes are the entry without signatures.
    let unsigned = record::signing_bytes(&r.record);
    assert!(record::is_canonical(&unsigned));
    assert!(
        !String::from_utf8(unsigned)
            .expect("utf8")
            .contains("signatures")
    );
}
