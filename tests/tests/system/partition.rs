//! A network partition and its healing, on real Linux network namespaces.
//!
//! Four members — a city, two counties and an auditor, quorum 2 — each run as a real
//! `daylight-node` process in its own network namespace, joined by veth pairs to a bridge in a
//! hub namespace ([`daylight_tests::netns`]); the genesis lists each member's address there
//! (`10.77.0.<n>:4001`), which is all the nodes dial. The test:
//!
//! 1. publishes at every member and waits until every node holds every log at the same size,
//!    each checkpoint cosigned by its quorum, and every member shows the others connected;
//! 2. takes county-2's link down and publishes on both sides of the cut: at county-2 (cut
//!    off) and at county-1 (still connected), right after the cut and again once the nodes
//!    have noticed it. While cut off, `/v1/network` on every connected node shows county-2
//!    disconnected (and when it was last seen), county-2 shows every other member
//!    disconnected, county-1's new checkpoint still reaches its quorum among the connected
//!    (city and auditor), and neither side holds the other's new records;
//! 3. brings the link back up and waits until all members are connected again and every node
//!    holds the same logs at the same sizes, each checkpoint cosigned by its quorum again,
//!    with every acknowledged record present on every node, found by rid.
//!
//! It prints how long the nodes took to notice the cut, and to reconnect and converge after
//! the link came back. Without root or iproute2 (`ip`) it prints "skipped: ..." and passes.
//! Nodes are observed over HTTP on their namespace's loopback, so the test waits by polling
//! (bounded by deadlines) for the state it expects.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use daylight_genesis::Genesis;
use daylight_tests::netns::{self, Lab};
use daylight_tests::{NodeProcess, Reply, TestNetwork, set_p2p_listen, wait_until};
use daylight_verifier::SigningKey;
use daylight_verifier::policy::LogPolicy;
use daylight_verifier::record::Record;
use serde_json::json;

/// The members, in site order.
const MEMBERS: [&str; 4] = ["city-1", "county-1", "county-2", "auditor-1"];

/// The member whose link is cut.
const CUT: usize = 2;

/// The libp2p port every node listens on in its own namespace.
const P2P_PORT: u16 = 4001;

/// How long the network may take to form, or to converge after the link comes back.
const CONVERGE: Duration = Duration::from_secs(60);

/// How long the nodes may take to notice the cut: a ping that times out, then a second one
/// whose stream negotiation times out (`2 × PING_INTERVAL + PING_TIMEOUT + 10 s`, 30 s at
/// worst; see `daylight_node::network`).
const NOTICE: Duration = Duration::from_secs(60);

/// One member's running node and the namespace it runs in.
struct Running {
    id: &'static str,
    netns: String,
    node: NodeProcess,
}

impl Running {
    fn get(&self, path: &str) -> Result<Reply, String> {
        netns::get(&self.netns, &self.node.url(path)).map_err(|e| format!("{}: {e}", self.id))
    }

    /// Publishes `records`; returns their rids once acknowledged.
    fn publish(&self, records: Vec<serde_json::Value>) -> anyhow::Result<Vec<String>> {
        let rids = records
            .iter()
            .map(|r| r["rid"].as_str().unwrap_or_default().to_string())
            .collect();
        let reply = netns::post_json(
            &self.netns,
            &self.node.url("/v1/records"),
            &serde_json::to_vec(&records)?,
        )?;
        assert_eq!(reply.status, 201, "{}: {}", self.id, reply.text());
        Ok(rids)
    }

    /// Each other member's entry in `/v1/network`'s `members`: (connected, last seen).
    fn links(&self) -> Result<BTreeMap<String, (bool, Option<String>)>, String> {
        let status = self.get("/v1/network")?.json();
        let links = status["members"]
            .as_array()
            .ok_or_else(|| format!("{}: /v1/network has no members: {status}", self.id))?
            .iter()
            .map(|m| {
                (
                    m["member"].as_str().unwrap_or_default().to_string(),
                    (
                        m["connected"].as_bool().unwrap_or(false),
                        m["last_seen"].as_str().map(str::to_string),
                    ),
                )
            })
            .collect();
        Ok(links)
    }

    /// Whether `/v1/network` shows exactly `connected` of the other members as connected.
    fn sees_connected(&self, connected: &[&str]) -> Result<(), String> {
        let links = self.links()?;
        let right = links.len() == MEMBERS.len() - 1
            && links
                .iter()
                .all(|(m, (up, _))| *up == connected.contains(&m.as_str()));
        if right {
            Ok(())
        } else {
            Err(format!("{} sees {links:?}", self.id))
        }
    }

    /// The size and root of the checkpoint this node serves for `log`, if it is trusted under
    /// `policy` (the log's signature and a quorum of cosignatures) and the node holds every
    /// entry it covers.
    fn trusted_head(&self, log: &str, policy: &LogPolicy) -> Result<(u64, String), String> {
        let id = self.id;
        let reply = self.get(&format!("/log/{log}/checkpoint"))?;
        if reply.status != 200 {
            return Err(format!("{id}: {log} checkpoint: {}", reply.text()));
        }
        let trusted = policy
            .verify(&reply.body)
            .map_err(|e| format!("{id}: {log} checkpoint not trusted: {e}"))?;
        let status = self.get("/v1/network")?.json();
        let held = status["logs"]
            .as_array()
            .and_then(|logs| logs.iter().find(|l| l["member"] == log))
            .and_then(|l| l["entries_held"].as_u64())
            .ok_or_else(|| format!("{id}: /v1/network lacks {log}: {status}"))?;
        let size = trusted.checkpoint.size;
        if held != size {
            return Err(format!("{id}: {log} holds {held} of {size} entries"));
        }
        Ok((size, trusted.checkpoint.root.to_hex()))
    }

    /// Whether this node serves the record `rid` in `log`.
    fn holds(&self, log: &str, rid: &str) -> bool {
        self.get(&format!("/v1/records/{rid}"))
            .is_ok_and(|r| r.status == 200 && r.json()["log"] == log)
    }
}

/// `count` allocations paid by `member`, signed by its `operator`, with rids `<prefix>-<n>`.
fn allocations(
    operator: &SigningKey,
    member: &str,
    prefix: &str,
    count: u32,
) -> Vec<serde_json::Value> {
    (0..count)
        .map(|n| {
            let record = Record::from_value(json!({
                "v": 1, "rid": format!("{prefix}-{n:02}"), "kind": "allocation",
                "event_date": "2024-03-05", "program": "partition-2024",
                "payer": {"member": member}, "payee": {"org": {"name": "Coop"}},
                "amount": {"minor": (1_000 + n).to_string(), "currency": "CNY"},
                "purpose": format!("Road {n}"),
            }))
            .expect("a valid allocation");
            serde_json::to_value(record.sign(operator)).expect("records serialize")
        })
        .collect()
}

/// Publishes `count` allocations at member `at` (rids `<member>-<batch>-<n>`), counting them in
/// `sizes` and noting them in `published` once acknowledged.
fn publish(
    nodes: &[Running],
    network: &TestNetwork,
    sizes: &mut BTreeMap<&'static str, u64>,
    published: &mut Vec<(&'static str, String)>,
    at: usize,
    batch: &str,
    count: u32,
) -> anyhow::Result<()> {
    let id = MEMBERS[at];
    let operator = &network.keys[id].operator;
    let records = allocations(operator, id, &format!("{id}-{batch}"), count);
    let rids = nodes[at].publish(records)?;
    *sizes.entry(id).or_default() += u64::from(count);
    published.extend(rids.into_iter().map(|rid| (id, rid)));
    Ok(())
}

/// Every log's trusted head, if every node serves the same ones and each log has at least
/// the size in `sizes`.
fn converged(
    nodes: &[Running],
    policies: &BTreeMap<&str, LogPolicy>,
    sizes: &BTreeMap<&str, u64>,
) -> Result<BTreeMap<&'static str, (u64, String)>, String> {
    let mut agreed: Option<BTreeMap<&'static str, (u64, String)>> = None;
    for node in nodes {
        let mut heads = BTreeMap::new();
        for log in MEMBERS {
            let head = node.trusted_head(log, &policies[log])?;
            let want = sizes.get(log).copied().unwrap_or(0);
            if head.0 < want {
                return Err(format!("{}: {log} at {} of {want}", node.id, head.0));
            }
            heads.insert(log, head);
        }
        match &agreed {
            Some(agreed) if *agreed != heads => {
                return Err(format!("{}: {heads:?} but {agreed:?}", node.id));
            }
            _ => agreed = Some(heads),
        }
    }
    agreed.ok_or_else(|| "no nodes".to_string())
}

#[test]
fn a_member_cut_off_and_reconnected_converges_with_every_record() -> anyhow::Result<()> {
    if let Some(reason) = netns::unavailable() {
        println!("skipped: {reason}");
        return Ok(());
    }
    let began = Instant::now();
    // Declared first, dropped last: the nodes are killed before their namespaces go.
    let lab = Lab::new(MEMBERS.len())?;
    let address = |id: &str| {
        let n = MEMBERS.iter().position(|m| *m == id).expect("a member");
        format!("/ip4/{}/tcp/{P2P_PORT}", lab.sites()[n].address)
    };
    let network = TestNetwork::city_with_counties_at(2, |id| vec![address(id)])?;
    let genesis = Genesis::open(&std::fs::read(&network.genesis_file)?)?;
    let policies: BTreeMap<&str, LogPolicy> = MEMBERS
        .iter()
        .map(|m| Ok((*m, genesis.policy_for(m)?)))
        .collect::<anyhow::Result<_>>()?;
    assert!(policies.values().all(|p| p.quorum() == 2));
    let mut nodes = Vec::new();
    for (n, id) in MEMBERS.into_iter().enumerate() {
        let config = network.init_node(id)?;
        set_p2p_listen(&config, &address(id))?;
        let node = lab.start_node(n, &config)?;
        assert!(
            node.p2p.starts_with(&address(id)),
            "{id} listens on {}",
            node.p2p
        );
        nodes.push(Running {
            id,
            netns: lab.sites()[n].netns.clone(),
            node,
        });
    }
    let mut sizes: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut published: Vec<(&'static str, String)> = Vec::new();

    // 1. All four connected; every member publishes; every quorum is met on every node.
    for at in 0..MEMBERS.len() {
        publish(
            &nodes,
            &network,
            &mut sizes,
            &mut published,
            at,
            "before",
            3,
        )?;
    }
    for node in &nodes {
        let others: Vec<&str> = MEMBERS.into_iter().filter(|m| *m != node.id).collect();
        wait_until(
            CONVERGE,
            &format!("{} to connect to every member", node.id),
            || node.sees_connected(&others),
        );
    }
    let before = wait_until(CONVERGE, "the network to converge", || {
        converged(&nodes, &policies, &sizes)
    });
    println!(
        "formed and converged in {:.1?}: {before:?}",
        began.elapsed()
    );

    // 2. County-2's link goes down; both sides publish, at once and after the cut is noticed.
    lab.cut(CUT)?;
    let cut_at = Instant::now();
    publish(
        &nodes,
        &network,
        &mut sizes,
        &mut published,
        1,
        "cut-early",
        2,
    )?;
    publish(
        &nodes,
        &network,
        &mut sizes,
        &mut published,
        CUT,
        "cut-early",
        2,
    )?;
    for node in &nodes {
        let expected: Vec<&str> = if node.id == MEMBERS[CUT] {
            Vec::new()
        } else {
            MEMBERS
                .into_iter()
                .filter(|m| *m != node.id && *m != MEMBERS[CUT])
                .collect()
        };
        wait_until(NOTICE, &format!("{} to notice the cut", node.id), || {
            node.sees_connected(&expected)
        });
    }
    let noticed = cut_at.elapsed();
    println!("every node noticed the cut after {noticed:.1?}");
    for node in &nodes {
        let links = node.links().expect("/v1/network lists the members");
        for (member, (_, last_seen)) in &links {
            assert!(
                last_seen.is_some(),
                "{} saw {member} before the cut: {links:?}",
                node.id
            );
        }
        println!("{} during the cut: {links:?}", node.id);
    }
    publish(
        &nodes,
        &network,
        &mut sizes,
        &mut published,
        1,
        "cut-late",
        2,
    )?;
    publish(
        &nodes,
        &network,
        &mut sizes,
        &mut published,
        CUT,
        "cut-late",
        2,
    )?;
    // The connected side still reaches county-1's quorum (city and auditor cosign).
    for node in nodes.iter().filter(|n| n.id != MEMBERS[CUT]) {
        wait_until(
            CONVERGE,
            &format!("{} to hold county-1's cosigned checkpoint", node.id),
            || {
                let head = node.trusted_head("county-1", &policies["county-1"])?;
                if head.0 == sizes["county-1"] {
                    Ok(head)
                } else {
                    Err(format!("{}: county-1 at {}", node.id, head.0))
                }
            },
        );
    }
    // Neither side holds the other's records from the cut.
    for (log, rid) in published.iter().filter(|(_, r)| r.contains("-cut-")) {
        for node in &nodes {
            let same_side = (node.id == MEMBERS[CUT]) == (*log == MEMBERS[CUT]);
            assert_eq!(
                node.holds(log, rid),
                same_side,
                "{} during the cut, {rid}",
                node.id
            );
        }
    }

    // 3. The link comes back: everyone reconnects and converges, and no record is lost.
    lab.heal(CUT)?;
    let healed_at = Instant::now();
    for node in &nodes {
        let others: Vec<&str> = MEMBERS.into_iter().filter(|m| *m != node.id).collect();
        wait_until(CONVERGE, &format!("{} to reconnect", node.id), || {
            node.sees_connected(&others)
        });
    }
    let reconnected = healed_at.elapsed();
    let after = wait_until(CONVERGE, "the network to converge after the heal", || {
        converged(&nodes, &policies, &sizes)
    });
    let converged_after = healed_at.elapsed();
    for (log, size) in &sizes {
        assert_eq!(after[log].0, *size, "{log}: {after:?}");
    }
    for (log, rid) in &published {
        for node in &nodes {
            assert!(node.holds(log, rid), "{} holds {rid} of {log}", node.id);
        }
    }
    println!(
        "link up: all reconnected after {reconnected:.1?}, all converged after \
         {converged_after:.1?} ({} records on {} nodes); whole test {:.1?}: {after:?}",
        published.len(),
        nodes.len(),
        began.elapsed()
    );
    Ok(())
}
