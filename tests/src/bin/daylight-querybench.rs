//! The query benchmark (issue 15): filtered pages of 100 from a node holding 1,000,000
//! records, over HTTP.
//!
//! An observer's database is filled with 1,000,000 payment records across four county logs
//! (mirrored batches, each log's checkpoint signed by its real log key; one signature reused
//! for every record, since neither the store nor the index checks record signatures — the
//! write path does), then the observer runs in this process: its indexer builds `query.redb`
//! (timed), and seven kinds of filtered page are asked over HTTP, each many times at cursors
//! spread over the result, one request at a time; p50 and p99 are reported.
//!
//! Run: `cargo run --release -p daylight-tests --bin daylight-querybench` (`-- --quick` for
//! 100,000 records).

use std::time::{Duration, Instant};

use daylight_node::config::NodeConfig;
use daylight_node::node::start;
use daylight_node::store::{Batch, NewEntry, Store};
use daylight_tests::{TestNetwork, get};
use daylight_verifier::Hash;
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::merkle::Frontier;
use daylight_verifier::record::{Record, SignedRecord, to_entry_bytes};
use serde_json::json;

const COUNTIES: usize = 4;
const REQUESTS: usize = 400;

fn payment(member: &str, n: u64) -> Record {
    let amount = json!({"minor": (1000 + n % 90_000).to_string(), "currency": "CNY"});
    let payee = if n.is_multiple_of(4) {
        json!({"org": {"name": format!("Cooperative {}", n % 50)}})
    } else {
        let area = format!("3202{:02}1{:02}2{:02}", n % 10, n % 30, n % 17);
        json!({"household": {"pseudonym": Hash::digest(&n.to_le_bytes()).to_hex(),
                             "area": area, "commitment": Hash::digest(b"c").to_hex()}})
    };
    Record::from_value(json!({
        "v": 1, "rid": format!("{member}-pay-{n:08}"), "kind": "payment",
        "event_date": format!("20{:02}-{:02}-{:02}", 20 + n % 5, n % 12 + 1, n % 28 + 1),
        "program": format!("prog-{}", n % 20),
        "payee": payee, "amount": amount, "purpose": "industry support subsidy",
        "funded_by": [{"ref": {"log": "city-1", "rid": format!("city-1-alloc-{}", n % 40),
                               "leaf": Hash::digest(b"alloc").to_hex()}, "amount": amount}],
    }))
    .expect("a valid payment")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let total: u64 = if quick { 100_000 } else { 1_000_000 };
    let network = TestNetwork::city_with_counties(COUNTIES)?;
    let config = network.init_observer("observer")?;
    let data = config.parent().expect("a data directory").to_path_buf();
    let genesis = daylight_genesis::Genesis::open(&std::fs::read(&network.genesis_file)?)?;

    // Fill the observer's database: mirrored batches of signed logs.
    let began = Instant::now();
    {
        let store = Store::open(&data.join("node.redb"))?;
        let signature = payment("county-1", 0)
            .sign(&network.keys["county-1"].operator)
            .signatures;
        for c in 1..=COUNTIES {
            let member = format!("county-{c}");
            let origin = genesis.origin(&member)?;
            let number = store.log_number(&origin)?;
            let per_log = total / COUNTIES as u64;
            let mut frontier = Frontier::empty();
            for start_at in (0..per_log).step_by(4096) {
                let end = (start_at + 4096).min(per_log);
                let mut hashes = Vec::new();
                let entries: Vec<NewEntry> = (start_at..end)
                    .map(|n| {
                        let record = SignedRecord {
                            record: payment(&member, n),
                            signatures: signature.clone(),
                        };
                        NewEntry::plain(
                            to_entry_bytes(&record),
                            Some(format!("{member}-pay-{n:08}")),
                        )
                    })
                    .collect();
                for e in &entries {
                    frontier.append(e.leaf, &mut hashes);
                }
                let checkpoint = (end == per_log).then(|| {
                    Checkpoint::new(&origin, end, frontier.root())
                        .sign(&network.keys[&member].log)
                        .map(|n| n.to_text())
                });
                store.commit_batch(
                    &Batch {
                        log: number,
                        start: start_at,
                        entries,
                        hashes,
                        checkpoint: checkpoint.transpose()?,
                        mirrored: true,
                    },
                    &origin,
                )?;
            }
        }
    }
    println!(
        "filled {total} records in {COUNTIES} logs in {:.1} s",
        began.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Runtime::new()?;
    let began = Instant::now();
    let node = runtime.block_on(start(NodeConfig::load(&config)?))?;
    let base = format!("http://{}", node.http_addr);
    // The index is built by the node's indexer: follow the feed's head until it has them all.
    let mut after = "start".to_string();
    let mut indexed = 0u64;
    while indexed < total {
        let page: daylight_api::FeedPage = serde_json::from_slice(
            &get(&format!("{base}/v1/feed?after={after}&wait=5&limit=1000"))?.body,
        )?;
        indexed += page.items.len() as u64;
        after = page.next;
    }
    let took = began.elapsed();
    println!(
        "indexed {total} records in {:.1} s ({:.0} records/s), query.redb {} MB",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        std::fs::metadata(data.join("query.redb"))?.len() >> 20
    );

    let filters = [
        "program=prog-7",
        "log=county-2&payee=Cooperative+4",
        "area=320203&program=prog-3",
        "log=county-3&from=2022-03-01&to=2022-06-30",
        "kind=payment&area=320201101202",
        "funded_by=city-1-alloc-7",
        "funded_by=city-1-alloc-7&log=county-2",
    ];
    let mut rows = Vec::new();
    for filter in filters {
        // Cursors spread over the result: walk it once, keeping every page's cursor.
        let mut cursors = vec![String::new()];
        loop {
            let last = cursors.last().cloned().unwrap_or_default();
            let page: daylight_api::RecordPage = serde_json::from_slice(
                &get(&format!("{base}/v1/records?{filter}&limit=100{last}"))?.body,
            )?;
            if page.end && page.items.is_empty() || cursors.len() > 2000 {
                break;
            }
            cursors.push(format!("&cursor={}", page.next));
        }
        let mut times = Vec::new();
        let mut items = 0;
        for i in 0..REQUESTS {
            let cursor = &cursors[(i * 7919) % cursors.len()];
            let url = format!("{base}/v1/records?{filter}&limit=100{cursor}");
            let t = Instant::now();
            let reply = get(&url)?;
            times.push(t.elapsed());
            anyhow::ensure!(reply.status == 200, "{url}: {}", reply.text());
            items += serde_json::from_slice::<daylight_api::RecordPage>(&reply.body)?
                .items
                .len();
        }
        times.sort();
        let row = format!(
            "| `{filter}` | {} | {:.1} | {:.2} | {:.2} | {:.2} |",
            cursors.len(),
            items as f64 / REQUESTS as f64,
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
        );
        println!("{row}");
        rows.push(row);
    }
    println!(
        "\n| filter | pages | items/page | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|"
    );
    for row in rows {
        println!("{row}");
    }
    runtime.block_on(node.shutdown())?;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
