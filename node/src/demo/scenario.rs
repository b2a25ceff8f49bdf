//! The demo's story, published through the nodes' HTTP API as an agency clerk would: the city
//! allocates to two counties; the first county receives its allocation, enrols households
//! after public notice, pays a cooperative and a household, registers the asset the payment
//! built, exits a household after notice with sign-offs, and corrects a payment; the second
//! county receives its allocation and makes two seeded mistakes for the auditor to find — the
//! same payment twice, and a household enrolled after a five-day notice.
//!
//! Dates are counted back from today, and every fund is younger than the audit's shortest
//! time limit (30 days for a transfer to be received), so the story is always recent, no
//! rule fires while it is still being published, and the seeded mistakes are the only
//! problems.

use std::collections::BTreeMap;

use anyhow::{Context as _, anyhow, bail};
use daylight_verifier::Hash;
use daylight_verifier::record::{HexHash, Money, Opening, Record, Rid, SignedRecord, pseudonym};
use serde_json::{Value, json};

use super::network::{AUDITOR, CITY, COUNTY_A, COUNTY_B, DemoSetup};
use daylight_node::clock::days_ago;

/// The programme every demo record belongs to.
pub const PROGRAM: &str = "rural-revitalisation-2026";

/// What the scenario published: where each record landed, and the household's receipt data.
pub struct Published {
    /// Every published record: rid → (log, index, leaf).
    pub records: BTreeMap<String, Placed>,
    /// How many entries each log holds after the scenario.
    pub sizes: BTreeMap<String, u64>,
    /// The household payment's opening, which only that household receives.
    pub opening: Opening,
    /// The rid of the household payment.
    pub household_payment: String,
    /// The rid of the cooperative payment (whose flow leads back to the city).
    pub cooperative_payment: String,
    /// The rids of the seeded problems: the duplicated payment and the short-notice enrolment.
    pub seeded: Vec<String>,
}

/// Where a record landed.
#[derive(Clone, Debug)]
pub struct Placed {
    /// The member whose log holds it.
    pub log: String,
    /// Its index in the log.
    pub index: u64,
    /// Its leaf hash.
    pub leaf: Hash,
}

/// Posts records to the members' nodes, one at a time, keeping where each landed so later
/// records can pin it.
struct Clerk<'a> {
    setup: &'a DemoSetup,
    urls: &'a BTreeMap<String, String>,
    agent: ureq::Agent,
    placed: BTreeMap<String, Placed>,
}

impl Clerk<'_> {
    /// Signs `fields` (a record without signatures) as `member`'s operator, adds the
    /// attestations of `attest` (roles), publishes it and returns its rid.
    fn publish(&mut self, member: &str, attest: &[&str], fields: Value) -> anyhow::Result<String> {
        let record = Record::from_value(fields)
            .map_err(|e| anyhow!("the demo built an invalid record: {e}"))?;
        let rid = record.rid.as_str().to_string();
        let demo_member = self.setup.member(member);
        let mut signed: SignedRecord = record.sign(&demo_member.operator);
        for role in attest {
            let key = demo_member
                .attestors
                .get(*role)
                .with_context(|| format!("{member} has no {role} attestor"))?;
            signed.attest(key);
        }
        let body = serde_json::to_vec(&signed)?;
        let url = format!("{}/v1/records", self.urls[member]);
        let mut response = self
            .agent
            .post(&url)
            .header("content-type", "application/json")
            .send(&body[..])
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status().as_u16();
        let answer: Value =
            serde_json::from_slice(&response.body_mut().read_to_vec()?).unwrap_or(Value::Null);
        if status != 201 {
            bail!("{member}'s node refused {rid} ({status}): {answer}");
        }
        let index = answer["index"].as_u64().context("no index in the answer")?;
        let leaf = Hash::from_hex(answer["leaf"].as_str().unwrap_or_default())
            .map_err(|e| anyhow!("bad leaf in the answer: {e}"))?;
        self.placed.insert(
            rid.clone(),
            Placed {
                log: member.to_string(),
                index,
                leaf,
            },
        );
        Ok(rid)
    }

    /// `{"log","rid","leaf"}` of a published record.
    fn reference(&self, rid: &str) -> Value {
        let placed = &self.placed[rid];
        json!({"log": placed.log, "rid": rid, "leaf": placed.leaf.to_hex()})
    }

    /// `{"rid","leaf"}` of a published record (same-log pins of corrections).
    fn pin(&self, rid: &str) -> Value {
        json!({"rid": rid, "leaf": self.placed[rid].leaf.to_hex()})
    }
}

fn yuan(amount: u64) -> Value {
    json!({"minor": (amount * 100).to_string(), "currency": "CNY"})
}

fn document(title: &str) -> Value {
    json!({"title": title, "sha256": Hash::digest(title.as_bytes()).to_hex()})
}

fn date(days_before_today: i64) -> String {
    days_ago(days_before_today).to_string()
}

/// A made-up but well-formed resident ID number (valid GB 11643 check character) for the
/// `n`th demo household. It never leaves the agency: only its pseudonym is published.
fn demo_resident_id(n: u32) -> String {
    let body = format!("320681198{}0101{:03}", n % 10, 100 + n);
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    format!("{body}{}", CHECK[(sum % 11) as usize] as char)
}

/// Publishes the story to the nodes at `urls` (member id → base URL).
pub fn publish(setup: &DemoSetup, urls: &BTreeMap<String, String>) -> anyhow::Result<Published> {
    let mut clerk = Clerk {
        setup,
        urls,
        agent: super::agent(),
        placed: BTreeMap::new(),
    };
    let key = &setup.programme_key;
    let household = |n: u32| -> anyhow::Result<String> {
        Ok(pseudonym(key, &demo_resident_id(n))?.to_string())
    };
    let (h1, h2, h3) = (household(1)?, household(2)?, household(3)?);
    let village = "320681101201";
    let cooperative = json!({"org": {"name": "启东市东海镇蔬菜种植专业合作社"}});
    let collective = json!({"org": {"name": "东海村股份经济合作社"}});
    let township = json!({"org": {"name": "汇龙镇人民政府"}});

    // The city allocates to both counties.
    let to_a = clerk.publish(
        CITY,
        &[],
        json!({
            "v": 1, "rid": format!("{CITY}-2026-alloc-0001"), "kind": "allocation",
            "event_date": date(28), "program": PROGRAM,
            "payer": {"member": CITY}, "payee": {"member": COUNTY_A}, "amount": yuan(5_000_000),
            "purpose": "2026年启东市乡村振兴补助资金：产业扶持和村庄基础设施",
            "documents": [document("南通市财政局2026年第11号资金下达通知")],
        }),
    )?;
    let to_b = clerk.publish(
        CITY,
        &[],
        json!({
            "v": 1, "rid": format!("{CITY}-2026-alloc-0002"), "kind": "allocation",
            "event_date": date(28), "program": PROGRAM,
            "payer": {"member": CITY}, "payee": {"member": COUNTY_B}, "amount": yuan(3_000_000),
            "purpose": "2026年如皋市乡村振兴补助资金：产业扶持",
            "documents": [document("南通市财政局2026年第12号资金下达通知")],
        }),
    )?;

    // The first county: receipt, enrolments, payments, an asset, an exit, a correction.
    let receipt_a = clerk.publish(
        COUNTY_A,
        &[],
        json!({
            "v": 1, "rid": format!("{COUNTY_A}-2026-rcpt-0001"), "kind": "receipt",
            "event_date": date(26), "program": PROGRAM,
            "payer": {"member": CITY}, "amount": yuan(5_000_000),
            "funded_by": [{"ref": clerk.reference(&to_a), "amount": yuan(5_000_000)}],
        }),
    )?;
    clerk.publish(
        COUNTY_A,
        &["village_committee", "township"],
        json!({
            "v": 1, "rid": format!("{COUNTY_A}-2026-hh-0001"), "kind": "household",
            "event_date": date(25), "program": PROGRAM,
            "pseudonym": h2, "area": village, "status": "enrolled",
            "notice": {"start": date(37), "end": date(28)}, "basis": "newly_eligible",
        }),
    )?;
    clerk.publish(
        COUNTY_A,
        &["village_committee", "township"],
        json!({
            "v": 1, "rid": format!("{COUNTY_A}-2026-hh-0002"), "kind": "household",
            "event_date": date(24), "program": PROGRAM,
            "pseudonym": h1, "area": village, "status": "enrolled",
            "notice": {"start": date(35), "end": date(26)}, "basis": "newly_eligible",
        }),
    )?;
    let from_receipt_a = clerk.reference(&receipt_a);
    let cooperative_fields = |documents: Value| {
        json!({
            "payee": cooperative, "amount": yuan(1_200_000),
            "funded_by": [{"ref": from_receipt_a, "amount": yuan(1_200_000)}],
            "purpose": "东海村蔬菜冷库建设，合同QD-2026-041",
            "project": format!("{COUNTY_A}-prj-coldstore-2026"),
            "documents": documents,
        })
    };
    let mut fields = cooperative_fields(json!([document("合同QD-2026-041")]));
    let envelope = json!({
        "v": 1, "rid": format!("{COUNTY_A}-2026-pay-0001"), "kind": "payment",
        "event_date": date(20), "program": PROGRAM,
    });
    merge(&mut fields, envelope);
    let cooperative_payment = clerk.publish(COUNTY_A, &["township"], fields)?;

    let household_payment_rid = format!("{COUNTY_A}-2026-pay-0002");
    let amount: Money = serde_json::from_value(yuan(3_000))?;
    let opening = Opening::new(
        HexHash::parse(&h1).map_err(|e| anyhow!("{e}"))?,
        household_payment_rid
            .parse::<Rid>()
            .map_err(|e| anyhow!("{e}"))?,
        amount,
    )?;
    let household_payment = clerk.publish(COUNTY_A, &[], json!({
        "v": 1, "rid": household_payment_rid, "kind": "payment",
        "event_date": date(15), "program": PROGRAM,
        "payee": {"household": {"pseudonym": h1, "area": village, "commitment": opening.commitment().to_string()}},
        "amount": yuan(3_000),
        "funded_by": [{"ref": clerk.reference(&receipt_a), "amount": yuan(3_000)}],
        "purpose": "2026年上半年产业扶持补贴",
    }))?;
    clerk.publish(
        COUNTY_A,
        &["township"],
        json!({
            "v": 1, "rid": format!("{COUNTY_A}-2026-ast-0001"), "kind": "asset",
            "event_date": date(10), "program": PROGRAM,
            "asset": format!("{COUNTY_A}-ast-coldstore-01"), "event": "registered",
            "description": "东海村冷库，600平方米",
            "owner": collective, "operator": cooperative,
            "beneficiaries": [collective, {"household": {"pseudonym": h1, "area": village}}],
            "supervisor": township, "value": yuan(1_200_000),
            "source": clerk.reference(&cooperative_payment),
            "documents": [document("村集体资产登记2026-007")],
        }),
    )?;
    clerk.publish(
        COUNTY_A,
        &["village_committee", "township"],
        json!({
            "v": 1, "rid": format!("{COUNTY_A}-2026-hh-0003"), "kind": "household",
            "event_date": date(8), "program": PROGRAM,
            "pseudonym": h2, "area": village, "status": "exited",
            "notice": {"start": date(20), "end": date(9)}, "basis": "income_stable",
        }),
    )?;
    let mut replacement = cooperative_fields(json!([
        document("合同QD-2026-041"),
        document("发票QD-2026-0388"),
    ]));
    merge(
        &mut replacement,
        json!({"kind": "payment", "event_date": date(20), "program": PROGRAM}),
    );
    clerk.publish(
        COUNTY_A,
        &["township"],
        json!({
            "v": 1, "rid": format!("{COUNTY_A}-2026-corr-0001"), "kind": "correction",
            "event_date": date(5), "program": PROGRAM,
            "corrects": clerk.pin(&cooperative_payment),
            "reason": "原附件漏传发票，现补正",
            "replacement": replacement,
        }),
    )?;

    // The second county: a receipt, then the same payment twice and a five-day notice.
    let receipt_b = clerk.publish(
        COUNTY_B,
        &[],
        json!({
            "v": 1, "rid": format!("{COUNTY_B}-2026-rcpt-0001"), "kind": "receipt",
            "event_date": date(25), "program": PROGRAM,
            "payer": {"member": CITY}, "amount": yuan(3_000_000),
            "funded_by": [{"ref": clerk.reference(&to_b), "amount": yuan(3_000_000)}],
        }),
    )?;
    let from_receipt_b = clerk.reference(&receipt_b);
    let greenhouse = |rid: String, days: i64| {
        json!({
            "v": 1, "rid": rid, "kind": "payment", "event_date": date(days), "program": PROGRAM,
            "payee": {"org": {"name": "如皋市白蒲镇大棚种植专业合作社"}},
            "amount": yuan(800_000),
            "funded_by": [{"ref": from_receipt_b, "amount": yuan(800_000)}],
            "purpose": "蔬菜大棚建设，合同RG-2026-017",
            "documents": [document("合同RG-2026-017")],
        })
    };
    let first = greenhouse(format!("{COUNTY_B}-2026-pay-0001"), 22);
    let again = greenhouse(format!("{COUNTY_B}-2026-pay-0002"), 18);
    clerk.publish(COUNTY_B, &["township"], first)?;
    let duplicate = clerk.publish(COUNTY_B, &["township"], again)?;
    let short_notice = clerk.publish(
        COUNTY_B,
        &["village_committee", "township"],
        json!({
            "v": 1, "rid": format!("{COUNTY_B}-2026-hh-0001"), "kind": "household",
            "event_date": date(7), "program": PROGRAM,
            "pseudonym": h3, "area": "320682105203", "status": "enrolled",
            "notice": {"start": date(12), "end": date(8)}, "basis": "newly_eligible",
        }),
    )?;

    let mut sizes = BTreeMap::from([(AUDITOR.to_string(), 0)]);
    for placed in clerk.placed.values() {
        let size = sizes.entry(placed.log.clone()).or_insert(0);
        *size = (*size).max(placed.index + 1);
    }
    Ok(Published {
        records: clerk.placed,
        sizes,
        opening,
        household_payment,
        cooperative_payment,
        seeded: vec![duplicate, short_notice],
    })
}

/// Adds the members of `extra` (an object) to `fields` (an object).
fn merge(fields: &mut Value, extra: Value) {
    if let (Some(fields), Value::Object(extra)) = (fields.as_object_mut(), extra) {
        fields.extend(extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_resident_ids_are_well_formed() {
        for n in 1..=3 {
            let id = demo_resident_id(n);
            assert!(
                daylight_verifier::record::privacy::is_resident_id(&id),
                "{id}"
            );
        }
    }
}
