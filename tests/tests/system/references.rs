//! The node resolves references within its own log at submission: a payment must pin a real
//! version of the receipt that funds it, and a correction or void must pin the current,
//! unvoided version of its target — checked in log order, also within one batch.

use daylight_tests::{NodeProcess, Reply, TestNetwork, post_json, signed_receipt};
use daylight_verifier::record::Record;
use daylight_verifier::{Hash, SigningKey};
use serde_json::{Value, json};

const PROGRAM: &str = "rural-revitalisation-2024";

fn signed(operator: &SigningKey, value: Value) -> Value {
    let record = Record::from_value(value).expect("valid record");
    serde_json::to_value(record.sign(operator)).expect("serializes")
}

fn money(minor: u64) -> Value {
    json!({"minor": minor.to_string(), "currency": "CNY"})
}

fn receipt(operator: &SigningKey, rid: &str) -> Value {
    signed_receipt(operator, rid, 1_000_000)
}

fn payment_body(source_rid: &str, source_leaf: &str, purpose: &str) -> Value {
    json!({
        "kind": "payment", "event_date": "2024-04-15", "program": PROGRAM,
        "payee": {"org": {"name": "Zhangjia Tea Growers' Cooperative"}},
        "amount": money(300_000),
        "funded_by": [{"ref": {"log": "county-1", "rid": source_rid, "leaf": source_leaf}, "amount": money(300_000)}],
        "purpose": purpose
    })
}

fn payment(operator: &SigningKey, rid: &str, source_rid: &str, source_leaf: &str) -> Value {
    let mut body = payment_body(source_rid, source_leaf, "First instalment");
    body["v"] = json!(1);
    body["rid"] = json!(rid);
    signed(operator, body)
}

fn correction(
    operator: &SigningKey,
    rid: &str,
    target: &str,
    pinned: &str,
    source_leaf: &str,
) -> Value {
    signed(
        operator,
        json!({
            "v": 1, "rid": rid, "kind": "correction", "event_date": "2024-04-18", "program": PROGRAM,
            "corrects": {"rid": target, "leaf": pinned},
            "reason": "The contract number was wrong",
            "replacement": payment_body("county-1-rcpt-1", source_leaf, "First instalment, contract HS-2024-088")
        }),
    )
}

fn void(operator: &SigningKey, rid: &str, target: &str, pinned: &str) -> Value {
    signed(
        operator,
        json!({
            "v": 1, "rid": rid, "kind": "void", "event_date": "2024-04-25", "program": PROGRAM,
            "voids": {"rid": target, "leaf": pinned},
            "reason": "Paid from the wrong programme"
        }),
    )
}

fn post(node: &NodeProcess, body: &Value) -> Reply {
    post_json(&node.url("/v1/records"), &serde_json::to_vec(body).unwrap()).unwrap()
}

fn leaf_of(reply: &Reply) -> String {
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()["leaf"].as_str().unwrap().to_string()
}

fn refused(reply: &Reply, needle: &str) {
    assert_eq!(reply.status, 422, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["error"], "unresolved_reference", "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(needle), "{detail:?} lacks {needle:?}");
}

#[test]
fn same_log_references_and_pins_must_resolve() -> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(1)?;
    let op = &network.keys["county-1"].operator;
    let node = NodeProcess::start(&network.init_node("county-1")?)?;

    let receipt_leaf = leaf_of(&post(&node, &receipt(op, "county-1-rcpt-1")));

    // A payment must cite a real version of the receipt.
    let unknown = Hash::digest(b"nothing").to_hex();
    refused(
        &post(
            &node,
            &payment(op, "county-1-pay-0", "county-1-rcpt-1", &unknown),
        ),
        "funded_by[0].ref",
    );
    refused(
        &post(
            &node,
            &payment(op, "county-1-pay-0", "county-1-rcpt-9", &receipt_leaf),
        ),
        "county-1-rcpt-9",
    );
    let paid = leaf_of(&post(
        &node,
        &payment(op, "county-1-pay-1", "county-1-rcpt-1", &receipt_leaf),
    ));

    // A correction pins the current version; a second one pinning the same, now stale,
    // version is refused.
    let corrected = leaf_of(&post(
        &node,
        &correction(
            op,
            "county-1-corr-1",
            "county-1-pay-1",
            &paid,
            &receipt_leaf,
        ),
    ));
    refused(
        &post(
            &node,
            &correction(
                op,
                "county-1-corr-2",
                "county-1-pay-1",
                &paid,
                &receipt_leaf,
            ),
        ),
        "current version is",
    );
    // A void of the current version works; nothing can amend a voided record.
    leaf_of(&post(
        &node,
        &void(op, "county-1-void-1", "county-1-pay-1", &corrected),
    ));
    refused(
        &post(
            &node,
            &void(op, "county-1-void-2", "county-1-pay-1", &corrected),
        ),
        "was voided",
    );
    refused(
        &post(
            &node,
            &void(op, "county-1-void-3", "county-1-pay-404", &corrected),
        ),
        "not in this log",
    );

    // Within one batch, later records see earlier ones.
    let second = receipt(op, "county-1-rcpt-2");
    let second_leaf = daylight_verifier::merkle::leaf_hash(
        &daylight_verifier::record::to_entry_bytes(&serde_json::from_value(second.clone())?),
    )
    .to_hex();
    let batch = json!([
        second,
        payment(op, "county-1-pay-2", "county-1-rcpt-2", &second_leaf)
    ]);
    let reply = post(&node, &batch);
    assert_eq!(reply.status, 201, "{}", reply.text());

    // The record endpoint lists the corrections and voids of a record.
    let record = daylight_tests::get(&node.url("/v1/records/county-1-pay-1"))?.json();
    assert_eq!(record["corrections"].as_array().map(Vec::len), Some(2));
    Ok(())
}
