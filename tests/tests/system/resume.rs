//! A mirror killed in the middle of catching up on a long log resumes from the verified
//! entries it already stored, without fetching them again.

use std::time::{Duration, Instant};

use daylight_tests::{NodeProcess, TestNetwork, get, post_json, set_bootstrap};
use daylight_verifier::checkpoint::SignedCheckpoint;
use daylight_verifier::record::Record;
use daylight_verifier::{Hash, SigningKey};
use serde_json::json;

/// Four of the chunks a mirror fetches at once (`MAX_ENTRIES_PER_REQUEST`), so that it can
/// be stopped between two of them.
const RECORDS: u64 = 4 * daylight_node::network::protocol::MAX_ENTRIES_PER_REQUEST;
const DEADLINE: Duration = Duration::from_secs(120);

fn batch(operator: &SigningKey, from: u64, n: u64) -> Vec<serde_json::Value> {
    (from..from + n)
        .map(|i| {
            let record = Record::from_value(json!({
                "v": 1, "rid": format!("county-1-r-{i}"), "kind": "allocation",
                "event_date": "2024-03-05", "program": "r24",
                "payer": {"member": "county-1"}, "payee": {"org": {"name": "Coop"}},
                "amount": {"minor": format!("{}", 100 + i), "currency": "CNY"},
                "purpose": format!("Road {i}")
            }))
            .expect("valid record");
            serde_json::to_value(record.sign(operator)).expect("serializes")
        })
        .collect()
}

/// How many county-1 entries a node holds, from `/v1/network`.
fn held(node: &NodeProcess) -> Option<u64> {
    let status = get(&node.url("/v1/network")).ok()?.json();
    status["logs"]
        .as_array()?
        .iter()
        .find(|l| l["member"] == "county-1")?["entries_held"]
        .as_u64()
}

fn fetched(node: &NodeProcess) -> u64 {
    let metrics = get(&node.url("/metrics")).expect("metrics").text();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("daylight_mirror_entries_fetched_total "))
        .and_then(|v| v.parse().ok())
        .expect("fetch counter")
}

#[test]
fn interrupted_catch_up_resumes_without_refetching() -> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(2)?;
    let county = &network.keys["county-1"];
    let publisher = NodeProcess::start(&network.init_node("county-1")?)?;
    for from in (0..RECORDS).step_by(2_048) {
        let body = serde_json::to_vec(&batch(&county.operator, from, 2_048))?;
        let reply = post_json(&publisher.url("/v1/records"), &body)?;
        assert_eq!(reply.status, 201, "{}", reply.text());
    }

    let config = network.init_node("county-2")?;
    set_bootstrap(&config, std::slice::from_ref(&publisher.p2p))?;
    let mirror = NodeProcess::start(&config)?;
    // Kill it as soon as it holds some, but not all, of the log.
    let start = Instant::now();
    let partial = loop {
        match held(&mirror) {
            Some(n) if n > 0 && n < RECORDS => break n,
            Some(n) if n == RECORDS => panic!("caught up before it could be interrupted"),
            _ => {}
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the mirror never started catching up"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    mirror.kill()?;

    let mirror = NodeProcess::start(&config)?;
    let start = Instant::now();
    loop {
        let reply = get(&mirror.url("/log/county-1/checkpoint"))?;
        if reply.status == 200 {
            let signed = SignedCheckpoint::open(&reply.body, &county.log.verifier())?;
            if signed.checkpoint.size == RECORDS {
                break;
            }
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the mirror never finished catching up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The restarted process fetched at most what the killed one had not stored.
    let refetched = fetched(&mirror);
    assert!(
        refetched + partial <= RECORDS,
        "fetched {refetched} after holding {partial} of {RECORDS}"
    );
    // The last full entry bundle is identical on both nodes.
    let path = format!(
        "/log/county-1/tile/entries/{}",
        daylight_verifier::tile::encode_index(RECORDS / 256 - 1)
    );
    let published = get(&publisher.url(&path))?;
    let mirrored = get(&mirror.url(&path))?;
    assert_eq!((published.status, mirrored.status), (200, 200));
    assert_eq!(Hash::digest(&published.body), Hash::digest(&mirrored.body));
    Ok(())
}
