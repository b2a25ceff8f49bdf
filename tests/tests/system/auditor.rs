//! The auditor role between real node processes: findings published once (also across a
//! restart), answered by a rectification, and served as JSON and HTML.

use std::time::Duration;

use daylight_node::clock::days_ago;
use daylight_tests::{NodeProcess, TestNetwork, get, post_json, set_bootstrap, wait_for};
use daylight_verifier::SigningKey;
use daylight_verifier::record::Record;
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(90);

fn yuan(amount: u64) -> Value {
    json!({"minor": (amount * 100).to_string(), "currency": "CNY"})
}

fn publish(node: &NodeProcess, operator: &SigningKey, fields: Value) -> anyhow::Result<Value> {
    let record = Record::from_value(fields).map_err(|e| anyhow::anyhow!("{e}"))?;
    let reply = post_json(
        &node.url("/v1/records"),
        &serde_json::to_vec(&record.sign(operator))?,
    )?;
    anyhow::ensure!(reply.status == 201, "{}", reply.text());
    Ok(reply.json())
}

/// The auditor's report, once it covers every log at least at the given sizes.
fn report_covering(auditor: &NodeProcess, sizes: &[(&str, u64)]) -> Option<Value> {
    let report = get(&auditor.url("/v1/audit")).ok()?;
    if report.status != 200 {
        return None;
    }
    let report = report.json();
    let logs = report["logs"].as_array()?;
    let covered = sizes.iter().all(|(member, size)| {
        logs.iter()
            .any(|l| l["member"] == *member && l["size"].as_u64() >= Some(*size))
    });
    covered.then_some(report)
}

fn findings_of(report: &Value, rule: &str) -> Vec<Value> {
    report["findings"]
        .as_array()
        .map(|all| all.iter().filter(|f| f["rule"] == rule).cloned().collect())
        .unwrap_or_default()
}

#[test]
fn the_auditor_publishes_each_finding_once_and_sees_it_answered() -> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(2)?;
    let members = ["city-1", "county-1", "county-2", "auditor-1"];
    let configs: Vec<_> = members
        .iter()
        .map(|m| network.init_node(m))
        .collect::<anyhow::Result<_>>()?;
    let operator_file = network.dir.path().join("auditor-1.operator.key");
    std::fs::write(
        &operator_file,
        network.keys["auditor-1"].operator.to_private_key_string(),
    )?;
    daylight_node::config::edit_config(&configs[3], |c| {
        c.operator_key = Some(operator_file.clone());
        c.audit_settle_seconds = 2;
    })?;
    let city = NodeProcess::start(&configs[0])?;
    for config in &configs[1..] {
        set_bootstrap(config, std::slice::from_ref(&city.p2p))?;
    }
    let county = NodeProcess::start(&configs[1])?;
    let _county_2 = NodeProcess::start(&configs[2])?;
    let mut auditor = NodeProcess::start(&configs[3])?;

    // The city allocates, the county receives, then pays the same invoice twice.
    let city_operator = &network.keys["city-1"].operator;
    let county_operator = &network.keys["county-1"].operator;
    let allocation = publish(
        &city,
        city_operator,
        json!({
            "v": 1, "rid": "city-1-alloc-1", "kind": "allocation",
            "event_date": days_ago(20).to_string(), "program": "roads-2026",
            "payer": {"member": "city-1"}, "payee": {"member": "county-1"}, "amount": yuan(10_000),
            "purpose": "Village road maintenance grant",
        }),
    )?;
    let receipt = publish(
        &county,
        county_operator,
        json!({
            "v": 1, "rid": "county-1-rcpt-1", "kind": "receipt",
            "event_date": days_ago(18).to_string(), "program": "roads-2026",
            "payer": {"member": "city-1"}, "amount": yuan(10_000),
            "funded_by": [{"ref": {"log": "city-1", "rid": "city-1-alloc-1", "leaf": allocation["leaf"]}, "amount": yuan(10_000)}],
        }),
    )?;
    let invoice = json!([{"title": "Invoice RD-17", "sha256": "5a".repeat(32)}]);
    for (n, days) in [(1, 10), (2, 9)] {
        publish(
            &county,
            county_operator,
            json!({
                "v": 1, "rid": format!("county-1-pay-{n}"), "kind": "payment",
                "event_date": days_ago(days).to_string(), "program": "roads-2026",
                "payee": {"org": {"name": "Dongshan Road Works Cooperative"}}, "amount": yuan(1_000),
                "funded_by": [{"ref": {"log": "county-1", "rid": "county-1-rcpt-1", "leaf": receipt["leaf"]}, "amount": yuan(1_000)}],
                "purpose": "Resurfacing of the Dongshan village road", "documents": invoice,
            }),
        )?;
    }

    // The auditor finds the duplicate and publishes it in its own log, once.
    let published = wait_for(
        DEADLINE,
        "the duplicate payment to be published as a finding",
        || {
            let report = report_covering(&auditor, &[("city-1", 1), ("county-1", 3)])?;
            let found = findings_of(&report, "duplicate_payment");
            (found.len() == 1 && !found[0]["published"].is_null()).then_some(report)
        },
    );
    assert_eq!(
        published["findings"].as_array().map(Vec::len),
        Some(1),
        "only the seeded problem is found: {published:#}"
    );
    let finding = findings_of(&published, "duplicate_payment").remove(0);
    let finding_ref = finding["published"].clone();
    assert_eq!(finding_ref["log"], "auditor-1");
    let record = get(&auditor.url(&format!(
        "/v1/records/{}",
        finding_ref["rid"].as_str().unwrap_or_default()
    )))?
    .json();
    assert_eq!(record["entry"]["kind"], "finding");
    assert_eq!(record["entry"]["rule"], "duplicate_payment");
    assert_eq!(record["leaf"], finding_ref["leaf"]);
    let auditor_size = |auditor: &NodeProcess| -> Option<u64> {
        let text = get(&auditor.url("/log/auditor-1/checkpoint")).ok()?.text();
        text.lines().nth(1)?.parse().ok()
    };
    let size_before = auditor_size(&auditor).expect("the auditor's log");
    assert_eq!(size_before, 1, "one finding, one entry");

    // After a restart the auditor replays its own log and publishes nothing again.
    auditor.terminate()?;
    auditor = NodeProcess::start(&configs[3])?;
    let again = wait_for(DEADLINE, "the restarted auditor to report", || {
        report_covering(
            &auditor,
            &[("city-1", 1), ("county-1", 3), ("auditor-1", 1)],
        )
    });
    assert_eq!(
        findings_of(&again, "duplicate_payment")[0]["published"],
        finding_ref
    );
    assert_eq!(auditor_size(&auditor), Some(1), "nothing published twice");

    // The county answers with a rectification; the auditor shows the finding answered.
    publish(
        &county,
        county_operator,
        json!({
            "v": 1, "rid": "county-1-rect-1", "kind": "rectification",
            "event_date": days_ago(1).to_string(), "program": "roads-2026",
            "finding": finding_ref, "action": "The second payment is being recovered from the cooperative",
            "status": "in_progress",
        }),
    )?;
    let answered = wait_for(DEADLINE, "the finding to show as answered", || {
        let report = report_covering(&auditor, &[("county-1", 4)])?;
        let found = findings_of(&report, "duplicate_payment");
        (!found.first()?["answer"].is_null()).then_some(found[0].clone())
    });
    assert_eq!(answered["answer"]["status"], "in_progress");
    assert_eq!(
        answered["answer"]["rectification"]["rid"],
        "county-1-rect-1"
    );

    // The report's old page moved into the portal: its URL redirects there, permanently.
    let moved = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent()
        .get(&auditor.url("/audit.html"))
        .call()?;
    assert_eq!(moved.status().as_u16(), 301);
    assert_eq!(moved.headers()["location"], "/audit");
    let report = get(&auditor.url("/v1/audit"))?;
    assert_eq!(report.status, 200);
    assert!(report.text().contains("duplicate_payment"));
    // A node that is not an auditor says so, as JSON.
    let refused = get(&county.url("/v1/audit"))?;
    assert_eq!(refused.status, 404);
    assert_eq!(refused.json()["error"], "not_an_auditor");
    Ok(())
}
