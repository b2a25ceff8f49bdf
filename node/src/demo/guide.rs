//! What the demo tells its user once the network is up: the nodes, the files, and the
//! commands a citizen, a journalist or an auditor can run now — as text for people and as
//! JSON (`demo.json`) for scripts and tests.

use std::path::Path;

use serde_json::{Value, json};

use super::network::{AUDITOR, CITY, COUNTY_A, COUNTY_B};
use super::{Demo, OPENING_FILE, RECEIPT_FILE};

/// How to run the `daylight` CLI from a checkout, for the printed commands.
pub const CLI_ALIAS: &str = "alias daylight='cargo run -q --release -p daylight-cli --'";

/// The guide to a running demo.
pub struct Guide {
    summary: Value,
    text: String,
    env: String,
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

impl Guide {
    /// Writes the guide for `demo`.
    pub fn new(demo: &Demo) -> Guide {
        let setup = &demo.setup;
        let dir = &setup.dir;
        let genesis = path(&setup.genesis_file);
        let receipt = path(&dir.join(RECEIPT_FILE));
        let opening = path(&dir.join(OPENING_FILE));
        let published = &demo.published;
        let county_url = &demo.urls[COUNTY_A];
        let auditor_url = &demo.urls[AUDITOR];
        let commands = [
            (
                "verify the household payment against the county's node",
                format!(
                    "daylight verify --genesis {genesis} --node {county_url} {}",
                    published.household_payment
                ),
            ),
            (
                "verify the household's receipt offline, with its opening",
                format!(
                    "daylight receipt verify --genesis {genesis} {receipt} --opening {opening}"
                ),
            ),
            (
                "trace the cooperative payment back to the city's allocation",
                format!(
                    "daylight flow --genesis {genesis} --node {county_url} {}",
                    published.cooperative_payment
                ),
            ),
            (
                "replay and audit every log yourself",
                format!("daylight audit --genesis {genesis} --node {auditor_url}"),
            ),
        ];
        let mut text = String::new();
        text.push_str("\nThe daylight demo network is up.\n\nNodes:\n");
        for (id, url) in &demo.urls {
            let role = match id.as_str() {
                CITY => "city",
                COUNTY_A | COUNTY_B => "county",
                _ => "auditor",
            };
            text.push_str(&format!("  {id:<16} {role:<8} {url}\n"));
        }
        text.push_str(&format!(
            "\nFiles (in {}):\n  genesis      {genesis}\n  receipt      {receipt}\n  \
             opening      {opening}\n  operator keys {}\n",
            dir.display(),
            path(&dir.join("keys")),
        ));
        text.push_str(&format!("\nTry, from the checkout (first: {CLI_ALIAS}):\n"));
        for (what, command) in &commands {
            text.push_str(&format!("  # {what}\n  {command}\n"));
        }
        text.push_str(&format!(
            "\nIn a browser or with curl:\n  {county_url}/   the citizens' portal (中文; English on the switch)\n  \
             {auditor_url}/audit   the auditor's report, in the portal\n  \
             {county_url}/log/{COUNTY_A}/checkpoint   the county's cosigned checkpoint\n  \
             {county_url}/v1/network   members, peers, checkpoints, evidence\n"
        ));
        text.push_str(&format!(
            "\nSeeded problems the auditor should report: {}\n",
            published.seeded.join(", ")
        ));
        let summary = json!({
            "dir": path(dir),
            "genesis": genesis,
            "receipt": receipt,
            "opening": opening,
            "nodes": demo.urls,
            "operator_keys": setup.members.iter()
                .map(|(id, m)| (id.clone(), path(&m.operator_file)))
                .collect::<std::collections::BTreeMap<_, _>>(),
            "household_payment": published.household_payment,
            "cooperative_payment": published.cooperative_payment,
            "seeded": published.seeded,
            "records": published.records.iter()
                .map(|(rid, p)| (rid.clone(), json!({"log": p.log, "index": p.index, "leaf": p.leaf.to_hex()})))
                .collect::<serde_json::Map<_, _>>(),
            "commands": commands.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>(),
        });
        let env = [
            ("DAYLIGHT_DEMO", path(dir)),
            ("GENESIS", genesis.clone()),
            ("CITY_NODE", demo.urls[CITY].clone()),
            ("COUNTY_NODE", county_url.clone()),
            ("COUNTY_B_NODE", demo.urls[COUNTY_B].clone()),
            ("AUDITOR_NODE", auditor_url.clone()),
            ("HOUSEHOLD_PAYMENT", published.household_payment.clone()),
            ("COOPERATIVE_PAYMENT", published.cooperative_payment.clone()),
            ("RECEIPT", receipt.clone()),
            ("OPENING", opening.clone()),
            (
                "COUNTY_OPERATOR_KEY",
                path(&setup.member(COUNTY_A).operator_file),
            ),
        ]
        .iter()
        .map(|(name, value)| format!("{name}='{value}'\n"))
        .collect();
        Guide { summary, text, env }
    }

    /// The guide as shell variables (`demo.env`), so the README's commands run as written:
    /// `. /tmp/daylight-demo/demo.env`.
    pub fn env(&self) -> &str {
        &self.env
    }

    /// The guide as text, for people.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The guide as JSON, for scripts.
    pub fn summary(&self) -> &Value {
        &self.summary
    }
}
