//! Builders for the audit tests: a small network whose members publish real signed records
//! (operator signature, optional village-committee attestation), as a node would log them.

#![allow(dead_code)]

use std::collections::BTreeMap;

use daylight_verifier::audit::{AuditParams, AuditReport, Ledger, Rule};
use daylight_verifier::key::{KeyType, SigningKey};
use daylight_verifier::record::{
    AcceptedKeys, Code, Date, HexHash, MemberId, Record, Reference, Severity, to_entry_bytes,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const NET: &str = "demo.daylight";

pub fn key(name: &str) -> SigningKey {
    let mut h = Sha256::new();
    h.update(b"daylight audit test key\n");
    h.update(name.as_bytes());
    SigningKey::from_seed(name, KeyType::Ed25519, h.finalize().into()).expect("key")
}

pub fn member(id: &str) -> MemberId {
    MemberId::parse(id).expect("member id")
}

pub fn date(text: &str) -> Date {
    Date::parse(text).expect("date")
}

pub fn hex(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))
}

pub fn cny(minor: u64) -> Value {
    json!({"minor": minor.to_string(), "currency": "CNY"})
}

pub fn part(r: &Reference, minor: u64) -> Value {
    json!({"ref": r, "amount": cny(minor)})
}

pub fn org(name: &str) -> Value {
    json!({"org": {"name": name}})
}

pub fn to_member(id: &str) -> Value {
    json!({"member": id})
}

pub fn household_payee(pseudonym: &str, nonce: &str) -> Value {
    json!({"household": {"pseudonym": hex(pseudonym), "area": "320206101201", "commitment": hex(nonce)}})
}

/// A network: every member's log as entry bytes.
#[derive(Default, Clone)]
pub struct Net {
    pub logs: BTreeMap<MemberId, Vec<Vec<u8>>>,
}

pub fn operator(log: &str) -> SigningKey {
    key(&format!("{NET}/{log}/operator/clerk"))
}

pub fn attestor(log: &str) -> SigningKey {
    key(&format!("{NET}/{log}/village_committee/a"))
}

pub fn accepted(log: &str) -> AcceptedKeys {
    AcceptedKeys::new()
        .with_operator(operator(log).verifier())
        .with_attestor(
            attestor(log).verifier(),
            Code::parse("village_committee").unwrap(),
        )
}

impl Net {
    pub fn new() -> Net {
        Net::default()
    }

    /// Publishes `fields` (kind fields plus `kind`) as record `rid` of `log`; signed by the
    /// log's operator, and attested by its village committee if `attest`.
    pub fn publish_with(
        &mut self,
        log: &str,
        rid: &str,
        event_date: &str,
        program: &str,
        mut fields: Value,
        attest: bool,
    ) -> Reference {
        let map = fields.as_object_mut().expect("object");
        map.insert("v".into(), json!(1));
        map.insert("rid".into(), json!(format!("{log}-{rid}")));
        map.insert("event_date".into(), json!(event_date));
        map.insert("program".into(), json!(program));
        let record = Record::from_value(fields).expect("record");
        let mut signed = record.sign(&operator(log));
        if attest {
            signed.attest(&attestor(log));
        }
        let entry = to_entry_bytes(&signed);
        let leaf = daylight_verifier::merkle::leaf_hash(&entry);
        self.logs.entry(member(log)).or_default().push(entry);
        Reference {
            log: member(log),
            rid: signed.record.rid.clone(),
            leaf: HexHash(leaf),
        }
    }

    /// Publishes a ready-made record (e.g. from `AuditFinding::to_record`) in its log.
    pub fn publish_record(&mut self, log: &str, record: Record) -> Reference {
        let signed = record.sign(&operator(log));
        let entry = to_entry_bytes(&signed);
        let leaf = daylight_verifier::merkle::leaf_hash(&entry);
        self.logs.entry(member(log)).or_default().push(entry);
        Reference {
            log: member(log),
            rid: signed.record.rid.clone(),
            leaf: HexHash(leaf),
        }
    }

    /// Publishes with an attestation.
    pub fn publish(
        &mut self,
        log: &str,
        rid: &str,
        event_date: &str,
        program: &str,
        fields: Value,
    ) -> Reference {
        self.publish_with(log, rid, event_date, program, fields, true)
    }

    pub fn raw(&mut self, log: &str, bytes: &[u8]) {
        self.logs
            .entry(member(log))
            .or_default()
            .push(bytes.to_vec());
    }

    #[allow(clippy::too_many_arguments)]
    pub fn allocation(
        &mut self,
        log: &str,
        rid: &str,
        date: &str,
        program: &str,
        payee: Value,
        minor: u64,
        funded_by: &[(&Reference, u64)],
    ) -> Reference {
        let mut fields = json!({
            "kind": "allocation", "payer": to_member(log), "payee": payee,
            "amount": cny(minor), "purpose": "Relief funds"
        });
        if !funded_by.is_empty() {
            fields["funded_by"] = funded_by.iter().map(|(r, m)| part(r, *m)).collect();
        }
        self.publish(log, rid, date, program, fields)
    }

    pub fn receipt(
        &mut self,
        log: &str,
        rid: &str,
        date: &str,
        program: &str,
        from: &Reference,
        minor: u64,
    ) -> Reference {
        let fields = json!({
            "kind": "receipt", "payer": to_member(from.log.as_str()),
            "amount": cny(minor), "funded_by": [part(from, minor)]
        });
        self.publish(log, rid, date, program, fields)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn payment(
        &mut self,
        log: &str,
        rid: &str,
        date: &str,
        program: &str,
        payee: Value,
        minor: u64,
        funded_by: &[(&Reference, u64)],
    ) -> Reference {
        let fields = json!({
            "kind": "payment", "payee": payee, "amount": cny(minor),
            "funded_by": funded_by.iter().map(|(r, m)| part(r, *m)).collect::<Vec<_>>(),
            "purpose": "Relief payment"
        });
        self.publish(log, rid, date, program, fields)
    }

    /// A payment listing supporting documents, given by title (hashed to their SHA-256).
    #[allow(clippy::too_many_arguments, dead_code)]
    pub fn payment_with_documents(
        &mut self,
        log: &str,
        rid: &str,
        date: &str,
        program: &str,
        payee: Value,
        minor: u64,
        funded_by: &[(&Reference, u64)],
        documents: &[&str],
    ) -> Reference {
        let fields = json!({
            "kind": "payment", "payee": payee, "amount": cny(minor),
            "funded_by": funded_by.iter().map(|(r, m)| part(r, *m)).collect::<Vec<_>>(),
            "purpose": "Relief payment",
            "documents": documents.iter().map(|t| json!({
                "title": t,
                "sha256": daylight_verifier::hash::Hash::digest(t.as_bytes()).to_hex(),
            })).collect::<Vec<_>>(),
        });
        self.publish(log, rid, date, program, fields)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn household(
        &mut self,
        log: &str,
        rid: &str,
        date: &str,
        program: &str,
        pseudonym: &str,
        status: &str,
        notice: (&str, &str),
    ) -> Reference {
        let fields = household_fields(pseudonym, status, notice);
        self.publish(log, rid, date, program, fields)
    }

    /// A ledger with every log's keys set, fed entry by entry.
    pub fn ledger(&self) -> Ledger {
        let mut ledger = Ledger::new();
        for (log, entries) in &self.logs {
            ledger.set_keys(log, accepted(log.as_str()));
            for (i, e) in entries.iter().enumerate() {
                ledger.append(log, i as u64, e).expect("in order");
            }
        }
        ledger
    }

    /// A ledger fed with `extend`, logs in reverse order.
    pub fn ledger_extended_reversed(&self) -> Ledger {
        let mut ledger = Ledger::new();
        for (log, entries) in self.logs.iter().rev() {
            ledger.set_keys(log, accepted(log.as_str()));
            ledger.extend(log, 0, entries).expect("in order");
        }
        ledger
    }

    pub fn audit(&self, as_of: &str) -> AuditReport {
        self.ledger().audit(&AuditParams::default(), date(as_of))
    }
}

pub fn household_fields(pseudonym: &str, status: &str, notice: (&str, &str)) -> Value {
    json!({
        "kind": "household", "pseudonym": hex(pseudonym), "area": "320206101201",
        "status": status, "notice": {"start": notice.0, "end": notice.1},
        "basis": "newly_eligible"
    })
}

/// The (rule, severity, first subject rid) of every finding, sorted.
pub fn summary(report: &AuditReport) -> Vec<(Rule, Severity, String)> {
    let mut out: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.rule,
                f.severity,
                f.subjects
                    .first()
                    .map(|s| s.rid.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The findings of one rule, as (severity, first subject rid).
pub fn of_rule(report: &AuditReport, rule: Rule) -> Vec<(Severity, String)> {
    summary(report)
        .into_iter()
        .filter(|(r, _, _)| *r == rule)
        .map(|(_, s, rid)| (s, rid))
        .collect()
}
