//! Issue 15, query and feed, against real node processes: a city and two counties (three
//! processes; each county log gets its quorum of two witness cosignatures from the others).
//!
//! * Query: a few thousand records across both county logs, some corrected and some voided,
//!   read from the city's node (a mirror of both): filters, pagination that yields every
//!   record exactly once and in order while new records arrive, and 400s naming the
//!   parameter.
//! * Feed: `daylight follow` as a real process sees records published after it started; killed
//!   (as Ctrl-C would) and restarted with its last cursor, it sees the ones published
//!   meanwhile, none repeated or lost; and a log that does not extend the checkpoint it saw
//!   before is reported as equivocation (exit 1).
//!
//! The nodes are other processes; the test waits on them with the feed's long-poll (an event)
//! rather than sleeping.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use daylight_api::{Ack, FeedEvent, FeedPage, RecordPage};
use daylight_genesis::Genesis;
use daylight_tests::{NodeProcess, TempDir, TestNetwork, cli_binary, get, post_json};
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::record::Record;
use daylight_verifier::{Hash, SigningKey};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(90);

fn payment(operator: &SigningKey, member: &str, n: u32) -> Value {
    let amount = json!({"minor": (1000 + n).to_string(), "currency": "CNY"});
    let payee = if n.is_multiple_of(3) {
        json!({"org": {"name": format!("Cooperative {}", n % 7)}})
    } else {
        let area = if n.is_multiple_of(2) {
            "320206101201"
        } else {
            "320211002003"
        };
        json!({"household": {"pseudonym": Hash::digest(format!("hh{n}").as_bytes()).to_hex(),
                             "area": area, "commitment": Hash::digest(b"c").to_hex()}})
    };
    let record = Record::from_value(json!({
        "v": 1, "rid": format!("{member}-pay-{n:05}"), "kind": "payment",
        "event_date": format!("2024-{:02}-{:02}", n % 12 + 1, n % 28 + 1),
        "program": format!("prog-{}", n % 5),
        "payee": payee, "amount": amount, "purpose": "support",
        "funded_by": [{"ref": {"log": "city-1", "rid": "city-1-alloc-1",
                               "leaf": Hash::digest(b"alloc").to_hex()}, "amount": amount}],
    }))
    .expect("a valid payment");
    serde_json::to_value(record.sign(operator)).expect("records serialize")
}

fn amend(operator: &SigningKey, member: &str, n: u32, target: &Value, pinned: &Hash) -> Value {
    let rid = target["rid"].as_str().unwrap_or_default();
    let body = if n.is_multiple_of(2) {
        let mut replacement = target.clone();
        let map = replacement.as_object_mut().expect("an object");
        for field in ["v", "rid", "signatures"] {
            map.remove(field);
        }
        map.insert("program".into(), json!("prog-corrected"));
        json!({"kind": "correction", "corrects": {"rid": rid, "leaf": pinned.to_hex()},
               "reason": "wrong programme", "replacement": replacement})
    } else {
        json!({"kind": "void", "voids": {"rid": rid, "leaf": pinned.to_hex()},
               "reason": "published twice"})
    };
    let mut value = json!({"v": 1, "rid": format!("{member}-amend-{n:05}"),
                           "event_date": "2024-12-01", "program": "prog-0"});
    if let (Some(map), Value::Object(fields)) = (value.as_object_mut(), body) {
        map.extend(fields);
    }
    let record = Record::from_value(value).expect("a valid amendment");
    serde_json::to_value(record.sign(operator)).expect("records serialize")
}

/// Publishes `records` at `node` in batches; returns the acks.
fn publish(node: &NodeProcess, records: &[Value]) -> anyhow::Result<Vec<Ack>> {
    let mut acks = Vec::new();
    for chunk in records.chunks(250) {
        let reply = post_json(&node.url("/v1/records"), &serde_json::to_vec(chunk)?)?;
        anyhow::ensure!(reply.status == 201, "{}", reply.text());
        acks.extend(serde_json::from_slice::<Vec<Ack>>(&reply.body)?);
    }
    Ok(acks)
}

/// Waits, by long-polling `node`'s feed from the start, until it has `entries` entries.
fn await_feed(node: &NodeProcess, entries: usize) -> anyhow::Result<usize> {
    let started = Instant::now();
    let mut after = "start".to_string();
    let mut seen = 0;
    while seen < entries {
        anyhow::ensure!(started.elapsed() < DEADLINE, "feed has {seen} of {entries}");
        let page: FeedPage = serde_json::from_slice(
            &get(&node.url(&format!("/v1/feed?after={after}&wait=10&limit=1000")))?.body,
        )?;
        seen += page
            .items
            .iter()
            .filter(|i| matches!(i.event, FeedEvent::Entry(_)))
            .count();
        after = page.next;
    }
    Ok(seen)
}

fn page(node: &NodeProcess, query: &str) -> anyhow::Result<RecordPage> {
    let reply = get(&node.url(&format!("/v1/records?{query}")))?;
    anyhow::ensure!(reply.status == 200, "{query}: {}", reply.text());
    Ok(serde_json::from_slice(&reply.body)?)
}

/// Every record matching `query`, page by page.
fn all(
    node: &NodeProcess,
    query: &str,
    limit: usize,
) -> anyhow::Result<Vec<daylight_api::RecordItem>> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = page(node, &format!("{query}&limit={limit}{cursor}"))?;
        let done = page.end && page.items.is_empty();
        items.extend(page.items);
        cursor = format!("&cursor={}", page.next);
        if done {
            return Ok(items);
        }
    }
}

#[test]
fn query_and_follow_against_real_nodes() -> anyhow::Result<()> {
    let network = TestNetwork::city_with_counties(2)?;
    let genesis = Genesis::open(&std::fs::read(&network.genesis_file)?)?;
    let nodes = network.start_nodes(&["city-1", "county-1", "county-2"])?;
    let (city, counties) = (&nodes[0], [&nodes[1], &nodes[2]]);

    // 1,200 payments at county-1, 800 at county-2; 40 corrected and 40 voided at each.
    let mut published = BTreeMap::new();
    let mut entries = 0;
    for (c, (member, count)) in [("county-1", 1200u32), ("county-2", 800)]
        .into_iter()
        .enumerate()
    {
        let operator = &network.keys[member].operator;
        let records: Vec<Value> = (0..count).map(|n| payment(operator, member, n)).collect();
        let acks = publish(counties[c], &records)?;
        let amendments: Vec<Value> = (0..80u32)
            .map(|k| {
                let n = (k * 7) as usize;
                amend(operator, member, k, &records[n], &acks[n].leaf)
            })
            .collect();
        publish(counties[c], &amendments)?;
        entries += records.len() + amendments.len();
        for (record, ack) in records.iter().zip(&acks) {
            published.insert(ack.rid.clone(), (member, ack.index, record.clone()));
        }
    }
    assert_eq!(await_feed(city, entries)?, entries);

    // Every record once, in order, in pages of 100 — while county-1 publishes 300 more.
    let extra_operator = network.keys["county-1"].operator.clone();
    let county_url = counties[0].url("/v1/records");
    let writer = std::thread::spawn(move || -> anyhow::Result<()> {
        for batch in 0..6u32 {
            let records: Vec<Value> = (0..50)
                .map(|i| payment(&extra_operator, "county-1", 5000 + batch * 50 + i))
                .collect();
            let reply = post_json(&county_url, &serde_json::to_vec(&records)?)?;
            anyhow::ensure!(reply.status == 201, "{}", reply.text());
        }
        Ok(())
    });
    let listed = all(city, "", 100)?;
    writer.join().expect("the writer thread")?;
    let rids: Vec<&str> = listed.iter().map(|i| i.rid.as_str()).collect();
    let unique: HashSet<&str> = rids.iter().copied().collect();
    assert_eq!(unique.len(), rids.len(), "no record twice");
    for rid in published.keys() {
        assert!(unique.contains(rid.as_str()), "{rid} listed");
    }
    let positions = |log: &str| -> Vec<u64> {
        listed
            .iter()
            .filter(|i| i.log == log)
            .map(|i| i.index)
            .collect()
    };
    for log in ["county-1", "county-2"] {
        let indexes = positions(log);
        assert!(
            indexes.windows(2).all(|w| w[0] < w[1]),
            "{log} in log order"
        );
    }
    // Then the ones published meanwhile, once indexed, continue from the last cursor.
    assert_eq!(await_feed(city, entries + 300)?, entries + 300);
    let everything = all(city, "", 1000)?;
    assert_eq!(everything.len(), published.len() + 300);
    assert_eq!(
        everything[..listed.len()]
            .iter()
            .map(|i| &i.rid)
            .collect::<Vec<_>>(),
        listed.iter().map(|i| &i.rid).collect::<Vec<_>>(),
        "new records come after the old ones"
    );

    // Corrections and voids are applied; each item is covered by a checkpoint.
    let corrected = all(city, "program=prog-corrected", 100)?;
    assert_eq!(corrected.len(), 80, "40 corrected in each log");
    for item in &corrected {
        assert_eq!(item.current.amendments, 1);
        assert_eq!(item.current.record["program"], "prog-corrected");
        assert_ne!(
            item.record["program"], "prog-corrected",
            "the entry as logged"
        );
        assert!(item.covered_by > item.current.index);
    }
    let county2 = all(city, "log=county-2&kind=payment", 100)?;
    assert_eq!(county2.len(), 800);
    assert_eq!(county2.iter().filter(|i| i.current.voided).count(), 40);
    let item = &county2[10];
    let proof = get(&city.url(&format!(
        "/log/county-2/proof/inclusion?index={}&size={}",
        item.index, item.covered_by
    )))?;
    assert_eq!(proof.status, 200, "{}", proof.text());

    // Filters agree with what was published (current versions).
    let expected = |f: &dyn Fn(&str, &Value) -> bool| {
        everything
            .iter()
            .filter(|i| f(&i.log, &i.current.record))
            .count()
    };
    let area = all(city, "area=320206&log=county-1", 100)?;
    assert_eq!(
        area.len(),
        expected(&|log, r| log == "county-1" && r["payee"]["household"]["area"] == "320206101201")
    );
    let payee = all(city, "payee=Cooperative+3", 100)?;
    assert_eq!(
        payee.len(),
        expected(&|_, r| r["payee"]["org"]["name"] == "Cooperative 3")
    );
    // Where the city's allocation went: every payment drawing on it, across both logs.
    let drawing = all(city, "funded_by=city-1-alloc-1", 1000)?;
    assert_eq!(
        drawing.len(),
        expected(&|_, r| r["funded_by"][0]["ref"]["rid"] == "city-1-alloc-1")
    );
    assert!(drawing.len() > 1000, "{} records", drawing.len());
    assert!(all(city, "funded_by=city-1-alloc-2", 100)?.is_empty());
    let dated = all(city, "from=2024-03-01&to=2024-03-31&program=prog-2", 50)?;
    assert!(!dated.is_empty());
    assert_eq!(
        dated.len(),
        expected(&|_, r| r["program"] == "prog-2"
            && r["event_date"]
                .as_str()
                .is_some_and(|d| d.starts_with("2024-03")))
    );

    // Bad parameters: 400, naming the parameter.
    for (query, name) in [
        ("bogus=1", "bogus"),
        ("from=2024-13-01", "from"),
        ("to=yesterday", "to"),
        ("limit=5000", "limit"),
        ("limit=0", "limit"),
        ("cursor=xyz", "cursor"),
        ("kind=correction", "kind"),
        ("kind=nonsense", "kind"),
        ("log=county-9", "log"),
        ("area=12", "area"),
        ("funded_by=nobody", "funded_by"),
    ] {
        let reply = get(&city.url(&format!("/v1/records?{query}")))?;
        assert_eq!(reply.status, 400, "{query}: {}", reply.text());
        let body = reply.json();
        assert_eq!(body["error"], "bad_request", "{query}");
        assert!(
            body["detail"].as_str().is_some_and(|d| d.starts_with(name)),
            "{query}: {body}"
        );
    }
    let reply = get(&city.url("/v1/feed?wait=99"))?;
    assert_eq!(reply.status, 400, "{}", reply.text());

    follow(&network, &genesis, &nodes)
}

/// A `daylight follow --json` process and its output lines.
struct Follower {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Follower {
    fn start(
        network: &TestNetwork,
        node: &NodeProcess,
        data: &TempDir,
        after: Option<&str>,
    ) -> anyhow::Result<Follower> {
        let mut command = Command::new(cli_binary()?);
        command
            .args(["--json", "--data-dir"])
            .arg(data.path())
            .args(["follow", "--genesis"])
            .arg(&network.genesis_file)
            .args(["--node", &node.url("")]);
        if let Some(after) = after {
            command.args(["--after", after]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && send.send(value).is_err()
                {
                    break;
                }
            }
        });
        Ok(Follower { child, lines })
    }

    /// The next line of `type`, skipping others.
    fn next(&self, kind: &str) -> anyhow::Result<Value> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left)?;
            if line["type"] == kind {
                return Ok(line);
            }
        }
    }

    /// Kills it at once, as Ctrl-C would.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn follow(network: &TestNetwork, genesis: &Genesis, nodes: &[NodeProcess]) -> anyhow::Result<()> {
    let (city, county) = (&nodes[0], &nodes[1]);
    let operator = &network.keys["county-1"].operator;
    let data = TempDir::new("follow");
    let follower = Follower::start(network, city, &data, None)?;
    follower.next("start")?;

    // Records published after it started reach it, verified.
    let mut rids = Vec::new();
    let mut cursor = None;
    let mut slowest = Duration::ZERO;
    for n in 0..5u32 {
        let record = payment(operator, "county-1", 9000 + n);
        let sent = Instant::now();
        let ack = publish(county, &[record])?.remove(0);
        let line = follower.next("record")?;
        slowest = slowest.max(sent.elapsed());
        assert_eq!(line["rid"], ack.rid.as_str(), "{line}");
        assert_eq!(line["index"], ack.index);
        cursor = line["cursor"].as_str().map(str::to_string);
        rids.push(ack.rid);
    }
    eprintln!("follow: slowest publish-to-follower time {slowest:?} (mirror, quorum included)");
    assert!(slowest < Duration::from_secs(10), "{slowest:?}");
    follower.kill();
    let resume = cursor.ok_or_else(|| anyhow::anyhow!("no cursor printed"))?;

    // Published while it was stopped: all reach the restarted follower, none twice.
    let meanwhile: Vec<Value> = (0..5u32)
        .map(|n| payment(operator, "county-1", 9100 + n))
        .collect();
    let acks = publish(county, &meanwhile)?;
    let follower = Follower::start(network, city, &data, Some(&resume))?;
    follower.next("start")?;
    let mut resume = resume;
    for ack in &acks {
        let line = follower.next("record")?;
        assert_eq!(
            line["rid"],
            ack.rid.as_str(),
            "resumed in order, nothing lost: {line}"
        );
        assert!(!rids.contains(&ack.rid), "nothing repeated");
        resume = line["cursor"].as_str().unwrap_or_default().to_string();
    }
    follower.kill();

    // The checkpoint it saw is replaced by one of another history of the same size, signed
    // by the county's log key (as a log showing a fork would): the next checkpoint does not
    // extend it, and the follower says so and exits 1.
    let origin = genesis.origin("county-1")?;
    let escaped: String = origin
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' => (b as char).to_string(),
            b => format!("_{b:02x}"),
        })
        .collect();
    let seen_file = data.path().join("checkpoints").join(escaped);
    let seen = std::fs::read_to_string(&seen_file)?;
    let size: u64 = seen.lines().nth(1).unwrap_or_default().parse()?;
    let forged = Checkpoint::new(&origin, size, Hash::digest(b"another history"))
        .sign(&network.keys["county-1"].log)?
        .to_text();
    std::fs::write(&seen_file, &forged)?;
    let mut follower = Follower::start(network, city, &data, Some(&resume))?;
    follower.next("start")?;
    publish(county, &[payment(operator, "county-1", 9200)])?;
    let line = follower.next("equivocation")?;
    assert_eq!(line["log"], "county-1", "{line}");
    assert_eq!(line["checkpoints"][0], forged.as_str(), "{line}");
    let status = follower.child.wait()?;
    assert_eq!(status.code(), Some(1));
    Ok(())
}
