//! `daylight publish`: sign a record with an operator key and submit it to the member's node.

use std::path::Path;

use daylight_verifier::record::{Record, RecordSignature, SignedRecord, leaf_hash};
use serde_json::{Value, json};

use crate::check::read_signing_key;
use crate::client::Client;
use crate::error::{CliError, input, read_file};
use crate::output::Report;

/// Signs a record read as JSON: the operator's signature over the JCS bytes of the record
/// without `signatures`, first, then any signatures the file already had (attestations).
pub fn sign_record(
    json: &[u8],
    operator: &daylight_verifier::SigningKey,
) -> Result<SignedRecord, CliError> {
    let mut value: Value =
        serde_json::from_slice(json).map_err(|e| input(format!("the record is not JSON: {e}")))?;
    let Value::Object(map) = &mut value else {
        return Err(input("the record must be one JSON object"));
    };
    let existing: Vec<RecordSignature> = match map.remove("signatures") {
        None => Vec::new(),
        Some(list) => {
            serde_json::from_value(list).map_err(|e| input(format!("signatures: {e}")))?
        }
    };
    let record =
        Record::from_value(value).map_err(|e| input(format!("the record is not valid: {e}")))?;
    let mut signed = record.sign(operator);
    let me = operator.verifier();
    signed
        .signatures
        .extend(existing.into_iter().filter(|s| s.signer != me));
    Ok(signed)
}

/// Runs `daylight publish`.
pub fn run(node: &str, key: &Path, record: &Path) -> Result<Report, CliError> {
    let client = Client::new(node)?;
    let operator = read_signing_key(key)?;
    let signed = sign_record(&read_file(record)?, &operator)?;
    let leaf = leaf_hash(&signed);
    let body = serde_json::to_vec(&signed).map_err(|e| input(format!("cannot encode: {e}")))?;
    let reply = client.post_json("/v1/records", &body)?;
    if !reply.is_success() {
        return Err(reply.refusal());
    }
    let ack: daylight_api::Ack = reply.parse("acknowledgement")?;
    let mut report = Report::new(json!({
        "rid": signed.record.rid.as_str(),
        "index": ack.index,
        "leaf": ack.leaf.to_hex(),
        "node": client.base(),
        "checkpoint": ack.checkpoint,
    }));
    report.line(format!(
        "Published {} at {}: index {}, leaf {}.",
        signed.record.rid,
        client.base(),
        ack.index,
        ack.leaf
    ));
    if ack.leaf == leaf {
        report.pass(
            "leaf",
            "the node logged exactly the bytes signed here (same leaf hash)",
        );
    } else {
        report.fail(
            "leaf",
            format!(
                "the node acknowledged leaf {}, but the record signed here hashes to {leaf}",
                ack.leaf
            ),
        );
    }
    report.line(format!(
        "Check it from anywhere with `daylight verify --genesis GENESIS --node {} {}`.",
        client.base(),
        signed.record.rid
    ));
    Ok(report)
}
