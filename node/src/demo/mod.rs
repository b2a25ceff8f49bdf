//! `daylight-node demo`: a whole network on one machine, with nothing to set up.
//!
//! It creates the keys and a signed genesis for a city, two counties and an auditor
//! ([`network`]), starts their four nodes in this process (real libp2p and HTTP on loopback,
//! redb under a temporary or given directory), publishes a realistic story through the HTTP
//! API ([`scenario`]), waits until every log's checkpoint carries the genesis quorum of
//! cosignatures and the auditor has published its findings, writes a household's receipt,
//! and prints what a citizen can run now ([`guide`]). It then serves until Ctrl-C, or with
//! `--exit-after-verify` verifies the household receipt offline and exits.

pub mod guide;
pub mod network;
pub mod scenario;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use daylight_verifier::bundle::ProofBundle;
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::record::SignedRecord;

use daylight_node::node::RunningNode;
use network::{AUDITOR, COUNTY_A, DemoSetup};
use scenario::Published;

/// How long the demo waits for cosignatures and findings before giving up.
const PATIENCE: Duration = Duration::from_secs(120);
/// How often it looks again while waiting.
const POLL: Duration = Duration::from_millis(100);

/// The file name of the household's receipt (the proof bundle) in the demo directory.
pub const RECEIPT_FILE: &str = "household-receipt.tlog-proof";
/// The file name of the household's opening of its payment commitment.
pub const OPENING_FILE: &str = "household-opening.json";
/// The file name of the machine-readable summary (URLs, rids, files) for scripts and tests.
pub const SUMMARY_FILE: &str = "demo.json";
/// The file name of the same as shell variables, which the README's commands use.
pub const ENV_FILE: &str = "demo.env";

/// What `daylight-node demo` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct DemoOptions {
    /// Where to put the network (must be empty or absent); a temporary directory, removed at
    /// the end, when absent.
    pub dir: Option<PathBuf>,
    /// Verify the household receipt offline and exit, instead of serving until Ctrl-C.
    pub exit_after_verify: bool,
}

/// The running demo network.
pub struct Demo {
    /// The keys, genesis and configurations.
    pub setup: Arc<DemoSetup>,
    /// The running nodes, by member id.
    pub nodes: BTreeMap<String, RunningNode>,
    /// Each node's HTTP base URL, by member id.
    pub urls: BTreeMap<String, String>,
    /// What the story published.
    pub published: Published,
}

/// Runs the demo as `options` says, until Ctrl-C or, with `exit_after_verify`, until the
/// receipt is verified.
pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    let temporary = options.dir.is_none();
    let dir = match options.dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("daylight-demo-{}", std::process::id())),
    };
    let outcome = run_in(&dir, options.exit_after_verify).await;
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    outcome
}

async fn run_in(dir: &Path, exit_after_verify: bool) -> anyhow::Result<()> {
    eprintln!(
        "creating a city, two counties and an auditor in {}",
        dir.display()
    );
    let demo = Demo::start(dir).await?;
    let guide = guide::Guide::new(&demo);
    std::fs::write(
        dir.join(SUMMARY_FILE),
        serde_json::to_string_pretty(&guide.summary())?,
    )
    .context("cannot write the demo summary")?;
    std::fs::write(dir.join(ENV_FILE), guide.env()).context("cannot write demo.env")?;
    println!("{}", guide.text());
    let outcome = if exit_after_verify {
        let verified = verify_household_receipt(dir, &demo.setup);
        match &verified {
            Ok(what) => println!("verified: {what}"),
            Err(e) => println!("verification FAILED: {e:#}"),
        }
        verified.map(drop)
    } else {
        println!("the network runs until Ctrl-C");
        daylight_node::shutdown::signal().await;
        eprintln!("shutting down");
        Ok(())
    };
    demo.shutdown().await?;
    outcome
}

impl Demo {
    /// Creates the network in `dir`, starts it, publishes the story, and waits until every
    /// log is quorum-cosigned, the auditor has published its findings, and the household's
    /// receipt is written.
    pub async fn start(dir: &Path) -> anyhow::Result<Demo> {
        let began = Instant::now();
        let setup = Arc::new(DemoSetup::create(dir)?);
        let nodes = setup.start().await?;
        eprintln!("four nodes started in {:.1?}", began.elapsed());
        let urls: BTreeMap<String, String> = nodes
            .iter()
            .map(|(id, node)| (id.clone(), format!("http://{}", node.http_addr)))
            .collect();
        let published = {
            let (setup, urls) = (setup.clone(), urls.clone());
            tokio::task::spawn_blocking(move || scenario::publish(&setup, &urls)).await??
        };
        eprintln!(
            "published {} records in {:.1?}",
            published.records.len(),
            began.elapsed()
        );
        let demo = Demo {
            setup,
            nodes,
            urls,
            published,
        };
        let (setup, urls) = (demo.setup.clone(), demo.urls.clone());
        let sizes = demo.published.sizes.clone();
        let household = demo.published.records[&demo.published.household_payment].clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            wait_for_quorum(&setup, &urls, &sizes)?;
            let findings = wait_for_findings(&urls, &sizes)?;
            let auditor_log = BTreeMap::from([(AUDITOR.to_string(), findings)]);
            wait_for_quorum(&setup, &urls, &auditor_log)?;
            let receipt = fetch(
                &agent(),
                &format!(
                    "{}/log/{COUNTY_A}/receipt/{}",
                    urls[COUNTY_A], household.index
                ),
            )?;
            std::fs::write(setup.dir.join(RECEIPT_FILE), receipt)
                .context("cannot write the household receipt")?;
            Ok(())
        })
        .await??;
        eprintln!("every log quorum-cosigned after {:.1?}", began.elapsed());
        std::fs::write(
            dir.join(OPENING_FILE),
            serde_json::to_string_pretty(&demo.published.opening)?,
        )
        .context("cannot write the household opening")?;
        Ok(demo)
    }

    /// Stops every node gracefully.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        for (id, node) in self.nodes {
            node.shutdown()
                .await
                .with_context(|| format!("stopping the node of {id}"))?;
        }
        Ok(())
    }
}

/// The HTTP client the demo's clerk and its waits use.
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn fetch(agent: &ureq::Agent, url: &str) -> anyhow::Result<Vec<u8>> {
    let mut response = agent
        .get(url)
        .call()
        .with_context(|| format!("cannot reach {url}"))?;
    let body = response.body_mut().read_to_vec()?;
    if response.status() != 200 {
        bail!(
            "{url} answered {}: {}",
            response.status(),
            String::from_utf8_lossy(&body)
        );
    }
    Ok(body)
}

/// Asks `check` every [`POLL`] until it answers `Some`, or fails with `why()` after
/// `deadline`. The nodes announce nothing to a client, so waiting means asking again.
fn poll<T>(
    deadline: Instant,
    mut check: impl FnMut() -> Option<T>,
    why: impl FnOnce() -> String,
) -> anyhow::Result<T> {
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("{} within {PATIENCE:?}", why());
        }
        std::thread::sleep(POLL);
    }
}

/// Waits until each log with entries serves, from its own node, a checkpoint of at least its
/// published size that satisfies the genesis policy (log signature and quorum of witnesses).
fn wait_for_quorum(
    setup: &DemoSetup,
    urls: &BTreeMap<String, String>,
    sizes: &BTreeMap<String, u64>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + PATIENCE;
    let agent = agent();
    for (member, &size) in sizes.iter().filter(|(_, size)| **size > 0) {
        let policy = setup.genesis.policy_for(member)?;
        let url = format!("{}/log/{member}/checkpoint", urls[member]);
        poll(
            deadline,
            || {
                let note = fetch(&agent, &url).ok()?;
                let trusted = policy.verify(&note).ok()?;
                (trusted.checkpoint.size >= size).then_some(())
            },
            || {
                format!(
                    "the log of {member} did not reach the genesis quorum of {} cosignatures",
                    policy.quorum()
                )
            },
        )?;
    }
    Ok(())
}

/// Waits until the auditor's report covers every log at its published size and every
/// finding in it is published in the auditor's log. Returns how many findings it published.
fn wait_for_findings(
    urls: &BTreeMap<String, String>,
    sizes: &BTreeMap<String, u64>,
) -> anyhow::Result<u64> {
    let agent = agent();
    let url = format!("{}/v1/audit", urls[AUDITOR]);
    let published = |report: serde_json::Value| -> Option<u64> {
        let logs = report["logs"].as_array()?;
        let covered = sizes
            .iter()
            .filter(|(m, _)| m.as_str() != AUDITOR)
            .all(|(m, size)| {
                logs.iter()
                    .any(|l| l["member"] == m.as_str() && l["size"].as_u64() >= Some(*size))
            });
        let findings = report["findings"].as_array()?;
        let all_published = findings.iter().all(|f| !f["published"].is_null());
        (covered && !findings.is_empty() && all_published).then_some(findings.len() as u64)
    };
    poll(
        Instant::now() + PATIENCE,
        || published(serde_json::from_slice(&fetch(&agent, &url).ok()?).ok()?),
        || "the auditor did not publish its findings".to_string(),
    )
}

/// Verifies the household's receipt as a citizen would, offline: the genesis file, the
/// receipt and the opening, nothing else. Returns what was verified.
pub fn verify_household_receipt(dir: &Path, setup: &DemoSetup) -> anyhow::Result<String> {
    let bundle = ProofBundle::parse(&std::fs::read(dir.join(RECEIPT_FILE))?)
        .map_err(|e| anyhow!("the receipt is malformed: {e}"))?;
    let entry = bundle
        .extra
        .as_deref()
        .context("the receipt carries no entry")?;
    let policy = setup.genesis.policy_for(COUNTY_A)?;
    let trusted = bundle
        .verify(&policy, &leaf_hash(entry))
        .map_err(|e| anyhow!("the receipt does not verify: {e}"))?;
    let record =
        SignedRecord::from_entry(entry).map_err(|e| anyhow!("the entry is not a record: {e}"))?;
    let opening: daylight_verifier::record::Opening =
        serde_json::from_slice(&std::fs::read(dir.join(OPENING_FILE))?)
            .context("the opening is malformed")?;
    opening
        .verify(&record)
        .map_err(|e| anyhow!("the opening does not match the payment: {e}"))?;
    Ok(format!(
        "payment {} of {} is entry {} of the log of {COUNTY_A}, whose checkpoint of size {} \
         is signed by its log key and cosigned by {} witnesses; the household's opening \
         matches its commitment",
        record.record.rid.as_str(),
        opening.amount,
        bundle.index,
        trusted.checkpoint.size,
        trusted.cosigners.len(),
    ))
}
