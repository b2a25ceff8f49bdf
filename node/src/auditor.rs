//! The auditor role: an auditor node replays every log it mirrors through the audit engine
//! (`daylight_verifier::audit`) as they grow, publishes each new finding once as a signed
//! `finding` record in its own log, and serves the latest report.
//!
//! Invariants:
//! * A finding is published at most once, also across restarts. Its rid is derived from the
//!   finding's key ([`finding_rid`]), and the ledger replays the auditor's own log, so a
//!   finding already logged shows as published; a rid the log already holds is refused by
//!   the sequencer, which catches the window between publishing and replaying.
//! * The ledger only ever appends: entries are read from storage in index order from the
//!   size the ledger already holds, so nothing is parsed twice.
//! * Whether a finding is answered comes from the logs alone: a `rectification` record that
//!   pins the finding record (the engine links them).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use daylight_verifier::Hash;
use daylight_verifier::audit::{AuditFinding, AuditReport, Ledger, LogEntries, finding_rid};
use daylight_verifier::record::{Date, MemberId};
use daylight_verifier::{Evidence, SigningKey};
use tokio::sync::RwLock;

use crate::genesis::LiveGenesis;
use crate::held::HeldLogs;
use crate::publish::sequencer::{Sequencer, SequencerError};
use crate::publish::submit::{SubmitError, Submitter};
use crate::store::Store;

/// How often the auditor looks for grown logs and new evidence.
const CHECK_EVERY: Duration = Duration::from_millis(500);
/// Most entries read from storage at a time while catching up.
const READ_CHUNK: u64 = 8192;

/// Where the auditor publishes its findings: its own log's checks and writer, and the
/// operator key it signs with.
pub struct FindingPublisher {
    /// The auditor's member id (the prefix of its finding rids).
    pub member: MemberId,
    /// The checks of the auditor's own log.
    pub submitter: Submitter,
    /// The auditor's own log writer.
    pub sequencer: Sequencer,
    /// The operator key the genesis accepts for the auditor's log.
    pub operator: SigningKey,
}

/// The auditor: a ledger of every held log, the latest report, and where findings go.
pub struct Auditor {
    store: Arc<Store>,
    /// The genesis chain: the newest version's audit parameters and accepted keys apply.
    genesis: LiveGenesis,
    /// The logs the node holds (a new genesis version may add some).
    held: Arc<HeldLogs>,
    /// Audited logs: member id → storage number, with the genesis sequence they and the
    /// ledger's keys were last brought up to.
    logs: std::sync::Mutex<(BTreeMap<MemberId, u32>, u64)>,
    ledger: std::sync::Mutex<Ledger>,
    evidence_seen: std::sync::Mutex<HashSet<String>>,
    report: RwLock<Option<Arc<AuditReport>>>,
    publisher: Option<FindingPublisher>,
    settle: Duration,
}

impl Auditor {
    /// An auditor over the logs `held` of `store`, publishing with `publisher` when given
    /// (otherwise it only reports) each finding that has held for `settle`. It follows the
    /// genesis chain: logs a new version adds are audited, and the newest version's keys and
    /// audit parameters apply.
    pub fn new(
        store: Arc<Store>,
        genesis: LiveGenesis,
        held: Arc<HeldLogs>,
        publisher: Option<FindingPublisher>,
        settle: Duration,
    ) -> anyhow::Result<Auditor> {
        let auditor = Auditor {
            store,
            genesis,
            held,
            logs: std::sync::Mutex::new((BTreeMap::new(), 0)),
            ledger: std::sync::Mutex::new(Ledger::new()),
            evidence_seen: std::sync::Mutex::new(HashSet::new()),
            report: RwLock::new(None),
            publisher,
            settle,
        };
        {
            let mut ledger = auditor.ledger.lock().unwrap_or_else(|p| p.into_inner());
            auditor.follow_genesis(&mut ledger)?;
        }
        Ok(auditor)
    }

    /// Brings the audited logs and the ledger's accepted keys up to the newest genesis
    /// version, if it changed since the last call; returns the audited logs.
    fn follow_genesis(&self, ledger: &mut Ledger) -> anyhow::Result<BTreeMap<MemberId, u32>> {
        let chain = self.genesis.current();
        let mut logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
        if logs.1 != chain.sequence() {
            let latest = chain.latest();
            let mut audited = BTreeMap::new();
            for log in self.held.iter() {
                let member = log
                    .member
                    .parse::<MemberId>()
                    .map_err(|e| anyhow::anyhow!("member id {:?}: {e}", log.member))?;
                if latest.member(&log.member).is_some() {
                    ledger.set_keys(&member, latest.accepted_keys(&log.member)?);
                }
                audited.insert(member, log.number);
            }
            *logs = (audited, chain.sequence());
        }
        Ok(logs.0.clone())
    }

    /// The latest report, once the first audit ran.
    pub async fn report(&self) -> Option<Arc<AuditReport>> {
        self.report.read().await.clone()
    }

    /// Audits until `stop` is cancelled: catches the ledger up with storage, audits as of today,
    /// keeps the report, and publishes the findings that have held for the settle period.
    /// The engine runs again only when a log grew, new evidence arrived, a finding was just
    /// published, or the date changed.
    pub async fn run(self: Arc<Self>, stop: crate::shutdown::Shutdown) {
        let mut last: Option<(u64, Date)> = None;
        let mut current: Option<Arc<AuditReport>> = None;
        let mut first_seen: HashMap<Hash, std::time::Instant> = HashMap::new();
        // Findings the node refused to log, and when to try each again (the refusal may be
        // one that passes, like a full disk, or one that never will).
        let mut refused: HashMap<Hash, Retry> = HashMap::new();
        let mut ticker = tokio::time::interval(CHECK_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.cancelled() => return,
            }
            let auditor = self.clone();
            let step = tokio::task::spawn_blocking(move || auditor.catch_up()).await;
            let grown = match step {
                Ok(Ok(grown)) => grown,
                Ok(Err(e)) => {
                    tracing::warn!("audit: cannot read the logs: {e:#}");
                    continue;
                }
                Err(e) => {
                    tracing::error!("audit: catch-up task failed: {e}");
                    continue;
                }
            };
            let today = crate::clock::today();
            let report = match &current {
                Some(report) if last == Some((grown, today)) => report.clone(),
                _ => {
                    let auditor = self.clone();
                    let Ok(report) =
                        tokio::task::spawn_blocking(move || auditor.audit(today)).await
                    else {
                        continue;
                    };
                    let report = Arc::new(report);
                    *self.report.write().await = Some(report.clone());
                    last = Some((grown, today));
                    current = Some(report.clone());
                    report
                }
            };
            // A finding must hold for the settle period before it is published, so that a
            // log caught mid-sync (a receipt whose allocation is not mirrored yet) does not
            // leave a permanent, wrong finding.
            let now = std::time::Instant::now();
            let current: HashSet<Hash> = report.findings.iter().map(|f| f.key).collect();
            first_seen.retain(|key, _| current.contains(key));
            refused.retain(|key, _| current.contains(key));
            let due: Vec<&AuditFinding> = report
                .findings
                .iter()
                .filter(|f| f.published.is_none() && f.publishable())
                .filter(|f| {
                    now.duration_since(*first_seen.entry(f.key).or_insert(now)) >= self.settle
                })
                .filter(|f| refused.get(&f.key).is_none_or(|r| now >= r.at))
                .collect();
            let (published, failed) = self.publish(&due).await;
            for key in failed {
                refused
                    .entry(key)
                    .and_modify(|r| *r = r.after_another_refusal(now))
                    .or_insert_with(|| Retry::first(now));
            }
            if published > 0 {
                // Audit again next tick, so the report shows them as published.
                last = None;
            }
        }
    }

    /// Feeds the ledger what storage holds beyond it, and new evidence. Returns a number that
    /// changes whenever anything was added (the total of entries and evidence).
    fn catch_up(&self) -> anyhow::Result<u64> {
        let mut ledger = self
            .ledger
            .lock()
            .map_err(|_| anyhow::anyhow!("ledger poisoned"))?;
        let audited = self.follow_genesis(&mut ledger)?;
        // Rounds of up to READ_CHUNK entries of every log that has more, fed together so
        // that the ledger parses different logs on different cores.
        loop {
            let mut read = Vec::new();
            for (member, &number) in &audited {
                let next = ledger.size(member);
                let end = self.store.size(number)?.min(next + READ_CHUNK);
                if next < end {
                    read.push((member, next, self.store.entries(number, next..end)?));
                }
            }
            let batches: Vec<LogEntries<'_, _>> = read
                .iter()
                .filter(|(_, _, entries)| !entries.is_empty())
                .map(|(member, next, entries)| LogEntries {
                    log: member,
                    first_index: *next,
                    entries,
                })
                .collect();
            if batches.is_empty() {
                break;
            }
            ledger.extend_logs(&batches)?;
        }
        let total: u64 = audited.keys().map(|member| ledger.size(member)).sum();
        let mut seen = self
            .evidence_seen
            .lock()
            .map_err(|_| anyhow::anyhow!("evidence set poisoned"))?;
        for json in self.store.evidence()? {
            if seen.contains(&json) {
                continue;
            }
            let Ok(evidence) = Evidence::from_json(json.as_bytes()) else {
                continue;
            };
            if let Some(member) = self
                .genesis
                .latest()
                .definition()
                .member_by_origin(&evidence.origin)
                && let Ok(id) = member.id.parse::<MemberId>()
            {
                ledger.add_evidence(&id, &evidence);
            }
            seen.insert(json);
        }
        Ok(total + seen.len() as u64)
    }

    fn audit(&self, today: Date) -> AuditReport {
        let ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        ledger.audit(self.genesis.latest().audit(), today)
    }

    /// Publishes `findings` in the auditor's log. Returns how many were published, and the
    /// keys of those the node refused.
    async fn publish(&self, findings: &[&AuditFinding]) -> (usize, Vec<Hash>) {
        let Some(publisher) = &self.publisher else {
            return (0, Vec::new());
        };
        let mut published = 0;
        let mut failed = Vec::new();
        for finding in findings {
            let rid = finding_rid(&publisher.member, &finding.key);
            let record = finding.to_record(rid.clone(), crate::clock::now());
            let signed = record.sign(&publisher.operator);
            let Ok(body) = serde_json::to_vec(&signed) else {
                continue;
            };
            match publisher
                .submitter
                .submit(&publisher.sequencer, &body)
                .await
            {
                Ok(_) => {
                    published += 1;
                    tracing::info!(
                        "published finding {} ({} {:?})",
                        rid.as_str(),
                        finding.rule,
                        finding.severity
                    );
                }
                Err(SubmitError::Sequencer(SequencerError::DuplicateRid(_))) => {}
                Err(e) => {
                    tracing::warn!("could not publish finding {}: {e}", rid.as_str());
                    failed.push(finding.key);
                }
            }
        }
        (published, failed)
    }
}

/// When to try again to publish a finding the node refused: after a pause that doubles with
/// each refusal, from [`Retry::FIRST_PAUSE`] up to [`Retry::MAX_PAUSE`], so that a finding
/// that can never be logged is not retried (and warned about) on every audit tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Retry {
    /// Not before then.
    at: std::time::Instant,
    /// The pause that led to `at`.
    pause: Duration,
}

impl Retry {
    /// The pause after a first refusal.
    const FIRST_PAUSE: Duration = Duration::from_secs(5);
    /// The longest pause between two attempts.
    const MAX_PAUSE: Duration = Duration::from_secs(600);

    /// The retry after a first refusal at `now`.
    fn first(now: std::time::Instant) -> Retry {
        Retry {
            at: now + Retry::FIRST_PAUSE,
            pause: Retry::FIRST_PAUSE,
        }
    }

    /// The retry after one more refusal at `now`.
    fn after_another_refusal(self, now: std::time::Instant) -> Retry {
        let pause = (self.pause * 2).min(Retry::MAX_PAUSE);
        Retry {
            at: now + pause,
            pause,
        }
    }
}

#[cfg(test)]
mod retry_tests {
    use super::*;

    #[test]
    fn refused_findings_are_retried_less_and_less_often_up_to_a_limit() {
        let now = std::time::Instant::now();
        let mut retry = Retry::first(now);
        assert_eq!(retry.at, now + Retry::FIRST_PAUSE);
        let mut pauses = vec![retry.pause];
        for _ in 0..10 {
            retry = retry.after_another_refusal(now);
            pauses.push(retry.pause);
        }
        assert_eq!(&pauses[..4], &[5, 10, 20, 40].map(Duration::from_secs));
        assert_eq!(*pauses.last().unwrap(), Retry::MAX_PAUSE);
        assert_eq!(retry.at, now + Retry::MAX_PAUSE);
    }
}
