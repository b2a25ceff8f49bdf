//! The indexer: the one tracked task that keeps [`QueryIndex`] up to date with every held
//! log (own and mirrored, including logs a new genesis version adds while the node runs).
//!
//! Each pass reads, for every held log, the entries between its indexed position and its
//! latest signed checkpoint through the store's public read API, checks them against that
//! checkpoint (damage is reported by [`Integrity`] and the log skipped until repaired), and
//! commits them with any new evidence in one transaction ([`QueryIndex::apply`]). A pass takes
//! at most [`PASS_ENTRIES`] entries, so a large backlog (a rebuild, a mirror catching up) is
//! worked through in bounded transactions while new entries keep arriving.
//!
//! **Waking.** The store exposes no notification to subscribe to, so the indexer is woken by
//! the sequencer's checkpoint watch (the node's own log, at once) and otherwise looks at the
//! store's `heads_generation()` — an atomic counter bumped by every commit, mirrored ones
//! included — every [`POLL`]: a bounded, cheap poll (one atomic load), so a mirrored record
//! reaches the feed within about [`POLL`] of its commit. Evidence is looked for every
//! [`EVIDENCE_POLL`]. It never delays an acknowledgement: the write path does not know it.
//!
//! **Priority.** Passes run on the indexer's own thread (`daylight-index`), at a lower
//! scheduling priority (nice +[`NICE`]) than the rest of the node: indexing is derived work
//! and may lag while records arrive faster than both fit on the machine's cores, then catches
//! up (with fewer, larger transactions); submissions, sequencing and serving come first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use daylight_verifier::evidence::Evidence;
use tokio::sync::watch;

use super::{LogWork, QueryError, QueryIndex, Work};
use crate::held::HeldLogs;
use crate::integrity::{Integrity, SignedRoot};
use crate::publish::log_writer::SignedHead;
use crate::shutdown::Shutdown;
use crate::store::{StorageError, Store};

/// How often the store's heads generation is looked at for mirrored commits.
pub const POLL: Duration = Duration::from_millis(50);

/// How often stored evidence is looked at.
pub const EVIDENCE_POLL: Duration = Duration::from_secs(1);

/// Most entries one pass (one transaction) indexes.
pub const PASS_ENTRIES: u64 = 4096;

/// How long to wait after a failed pass before the next.
const RETRY: Duration = Duration::from_secs(1);

/// How much lower than the node's the indexing thread's priority is (a nice increment).
pub const NICE: i32 = 10;

/// Why a pass failed.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// Reading the logs failed.
    #[error("reading the logs: {0}")]
    Store(#[from] StorageError),
    /// Writing the index failed.
    #[error(transparent)]
    Index(#[from] QueryError),
}

/// The indexer task's inputs.
pub struct Indexer {
    /// The node's database, read through its public API.
    pub store: Arc<Store>,
    /// The logs held (it can grow while the node runs).
    pub logs: Arc<HeldLogs>,
    /// Checks entries against their signed checkpoint before they are indexed.
    pub integrity: Arc<Integrity>,
    /// The index written.
    pub index: Arc<QueryIndex>,
    /// The own log's new checkpoints, on a member's node.
    pub own_heads: Option<watch::Receiver<SignedHead>>,
}

impl Indexer {
    /// Runs until `shutdown` is cancelled (spawn it tracked).
    pub async fn run(mut self, shutdown: Shutdown) {
        let worker = match Worker::start() {
            Ok(worker) => worker,
            Err(e) => {
                tracing::error!("query index: cannot start the indexing thread: {e}");
                return;
            }
        };
        let mut evidence_at = Instant::now();
        loop {
            let generation = self.store.heads_generation();
            let with_evidence = evidence_at.elapsed() >= EVIDENCE_POLL;
            if with_evidence {
                evidence_at = Instant::now();
            }
            let (store, logs, integrity, index) = (
                self.store.clone(),
                self.logs.clone(),
                self.integrity.clone(),
                self.index.clone(),
            );
            let outcome = worker
                .run(move || pass(&store, &logs, &integrity, &index, with_evidence))
                .await;
            let more = match outcome {
                Ok(Ok(more)) => more,
                Ok(Err(e)) => {
                    tracing::warn!("query index: {e}; trying again");
                    if sleep_or_stop(&shutdown, RETRY).await {
                        return;
                    }
                    continue;
                }
                Err(e) => {
                    tracing::error!("query index: the indexing task failed: {e}");
                    if sleep_or_stop(&shutdown, RETRY).await {
                        return;
                    }
                    continue;
                }
            };
            if shutdown.is_cancelled() {
                return;
            }
            if more {
                continue;
            }
            // Wait for something new: the own log's next checkpoint, a commit of any log
            // (heads generation), or the evidence timer.
            loop {
                let own = async {
                    match self.own_heads.as_mut() {
                        Some(heads) => heads.changed().await.is_ok(),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    changed = own => {
                        if !changed {
                            self.own_heads = None;
                        }
                        break;
                    }
                    _ = tokio::time::sleep(POLL) => {
                        if self.store.heads_generation() != generation
                            || evidence_at.elapsed() >= EVIDENCE_POLL
                        {
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// Sleeps `pause`; true if the node is stopping.
async fn sleep_or_stop(shutdown: &Shutdown, pause: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(pause) => false,
    }
}

/// A pass to run on the indexing thread.
type Job = Box<dyn FnOnce() + Send>;

/// The indexing thread: runs one pass at a time at the lower priority ([`NICE`]); it ends
/// when its [`Worker`] is dropped.
struct Worker {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Worker {
    fn start() -> std::io::Result<Worker> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("daylight-index".to_string())
            .spawn(move || {
                // Per thread on Linux: only this thread's priority changes.
                let tid = rustix::thread::gettid();
                if let Err(e) = rustix::process::setpriority_process(Some(tid), NICE) {
                    tracing::debug!("query index: running at the node's priority ({e})");
                }
                for job in queue {
                    job();
                }
            })?;
        Ok(Worker { jobs })
    }

    /// Runs `f` on the indexing thread; `Err` with the reason if it panicked or the thread
    /// is gone.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .map_err(|_| "the indexing pass panicked".to_string());
            let _ = reply.send(outcome);
        });
        self.jobs
            .send(job)
            .map_err(|_| "the indexing thread has stopped".to_string())?;
        answer
            .await
            .map_err(|_| "the indexing thread has stopped".to_string())?
    }
}

/// One pass: indexes up to [`PASS_ENTRIES`] new entries (and, with `with_evidence`, new
/// evidence) in one transaction. Returns whether entries covered by a checkpoint remain.
pub fn pass(
    store: &Store,
    logs: &HeldLogs,
    integrity: &Integrity,
    index: &QueryIndex,
    with_evidence: bool,
) -> Result<bool, PassError> {
    let positions = index.positions()?;
    let mut work = Work::default();
    let mut budget = PASS_ENTRIES;
    let mut more = false;
    for log in logs.iter() {
        let position = positions.get(&log.number).map_or(0, |p| p.0);
        let Some((size, note)) = store.latest_checkpoint(log.number)? else {
            continue;
        };
        if size <= position {
            continue;
        }
        if budget == 0 {
            more = true;
            break;
        }
        let Ok(signed) = log.policy.open(note.as_bytes()) else {
            tracing::warn!(
                "query index: the stored checkpoint of {} does not verify; not indexing it",
                log.member
            );
            continue;
        };
        if signed.checkpoint.size != size {
            continue;
        }
        let head = SignedRoot {
            size,
            root: signed.checkpoint.root,
        };
        let mut entries = Vec::new();
        let mut at = position;
        while at < size && budget > 0 {
            // Whole entry bundles where possible: one stored read each.
            let end = size.min((at / 256 + 1) * 256).min(at + budget);
            let chunk = store.entries(log.number, at..end)?;
            if let Err(e) = integrity.check_entries(log.number, at, &chunk, end - at, head) {
                tracing::warn!("query index: not indexing {} from {at}: {e}", log.member);
                break;
            }
            budget -= end - at;
            at = end;
            entries.extend(chunk);
        }
        if at < size && budget == 0 {
            more = true;
        }
        if !entries.is_empty() {
            work.logs.push(LogWork {
                number: log.number,
                member: log.member.clone(),
                start: position,
                entries,
                covered_by: size,
            });
        }
    }
    if with_evidence {
        let seen = index.evidence_seen()?;
        for text in store.evidence()? {
            let Ok(evidence) = Evidence::from_json(text.as_bytes()) else {
                continue;
            };
            let id = evidence.id().to_hex();
            if seen.contains(&id) {
                continue;
            }
            let member = logs.by_origin(&evidence.origin).map(|l| l.member.clone());
            work.evidence
                .push((id, evidence.origin.clone(), member, text));
        }
    }
    if !work.logs.is_empty() || !work.evidence.is_empty() {
        index.apply(&work)?;
    }
    Ok(more)
}
