//! The node's health: what is wrong right now, in words an operator can act on.
//!
//! Parts of the node that notice a problem (the storage scrub finding damage, the sequencer
//! failing to write) *raise* a named problem with a sentence saying what is wrong and what
//! the node is doing about it, and *clear* it when it is over. `/healthz` answers `ok` when
//! nothing is raised and `degraded` with every raised problem otherwise; `/metrics` exports
//! one gauge per problem kind. Raising and clearing never block on I/O, so any thread may
//! call them.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What kind of problem, for `/metrics` labels and to clear the right one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Problem {
    /// The node's own log cannot be written (disk full, failed fsync): new records are
    /// refused with 503 until a write succeeds again.
    WritesFailing,
    /// Stored data of a held log (named by its origin) does not verify; the damaged items
    /// are not served, and the node is repairing them.
    Damaged(String),
    /// The database could not be read at all for some requests.
    StorageUnreadable,
}

impl Problem {
    /// The metric label of the problem kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::WritesFailing => "writes_failing",
            Problem::Damaged(_) => "damaged_log",
            Problem::StorageUnreadable => "storage_unreadable",
        }
    }
}

/// Something an operator should look at that does not stop the node from serving (it stays
/// `ok` at `/healthz`, with the warning beside it): see `crate::liveness`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Warning {
    /// No peer has been connected for a while: the node cannot mirror, witness or be
    /// witnessed.
    Isolated,
    /// The node's own latest checkpoint has had fewer cosignatures than its quorum for a
    /// while: clients cannot trust it yet.
    QuorumMissing,
    /// The newest genesis version names another log, witness or p2p key for this member than
    /// the one the node runs with: it must be stopped and given the new key
    /// (`daylight-node rotate-key`).
    KeysRotated,
}

impl Warning {
    /// The warning's name at `/healthz` and `/v1/network`.
    pub fn kind(&self) -> &'static str {
        match self {
            Warning::Isolated => "isolated",
            Warning::QuorumMissing => "quorum_missing",
            Warning::KeysRotated => "keys_rotated",
        }
    }
}

/// The problems and warnings currently raised, shared by every part of the node.
#[derive(Default)]
pub struct Health {
    problems: Mutex<BTreeMap<Problem, String>>,
    warnings: Mutex<BTreeMap<Warning, String>>,
    /// How many times any problem was raised since start (a counter for `/metrics`).
    raised_total: AtomicU64,
}

/// One raised problem, as `/healthz` reports it.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct Reported {
    /// The problem kind (`writes_failing`, `damaged_log`, `storage_unreadable`).
    pub kind: &'static str,
    /// What is wrong and what the node is doing about it.
    pub detail: String,
}

impl Health {
    /// Raises `problem` with an explanation, replacing an earlier explanation of it. Logs a
    /// warning the first time it is raised (not on every repetition).
    pub fn raise(&self, problem: Problem, detail: impl Into<String>) {
        let detail = detail.into();
        let mut problems = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        if !problems.contains_key(&problem) {
            tracing::warn!("degraded: {detail}");
            self.raised_total.fetch_add(1, Ordering::Relaxed);
        }
        problems.insert(problem, detail);
    }

    /// Clears `problem` if it was raised, logging that it is over.
    pub fn clear(&self, problem: &Problem) {
        let mut problems = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(detail) = problems.remove(problem) {
            tracing::info!("recovered from: {detail}");
        }
    }

    /// Whether `problem` is raised now.
    pub fn is_raised(&self, problem: &Problem) -> bool {
        let problems = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        problems.contains_key(problem)
    }

    /// Every raised problem, in a stable order. Empty means healthy.
    pub fn report(&self) -> Vec<Reported> {
        let problems = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        problems
            .iter()
            .map(|(p, detail)| Reported {
                kind: p.kind(),
                detail: detail.clone(),
            })
            .collect()
    }

    /// Raises (or re-words) a warning, logging it the first time.
    pub fn warn(&self, warning: Warning, detail: impl Into<String>) {
        let detail = detail.into();
        let mut warnings = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        if !warnings.contains_key(&warning) {
            tracing::warn!("{detail}");
        }
        warnings.insert(warning, detail);
    }

    /// Clears a warning if it was raised, logging that it is over.
    pub fn clear_warning(&self, warning: Warning) {
        let mut warnings = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        if warnings.remove(&warning).is_some() {
            tracing::info!("no longer {}", warning.kind().replace('_', " "));
        }
    }

    /// Every warning raised now, in a stable order.
    pub fn warnings(&self) -> Vec<Reported> {
        let warnings = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        warnings
            .iter()
            .map(|(w, detail)| Reported {
                kind: w.kind(),
                detail: detail.clone(),
            })
            .collect()
    }

    /// How many problems of each kind are raised now, for `/metrics`.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let problems = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        let mut counts: BTreeMap<&'static str, usize> = [
            Problem::WritesFailing.kind(),
            Problem::Damaged(String::new()).kind(),
            Problem::StorageUnreadable.kind(),
        ]
        .into_iter()
        .map(|k| (k, 0))
        .collect();
        for p in problems.keys() {
            *counts.entry(p.kind()).or_default() += 1;
        }
        counts
    }

    /// How many times a problem was raised since start.
    pub fn raised_total(&self) -> u64 {
        self.raised_total.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_raised_reported_and_cleared() {
        let health = Health::default();
        assert!(health.report().is_empty());
        health.raise(Problem::WritesFailing, "disk full");
        health.raise(Problem::WritesFailing, "disk still full");
        health.raise(Problem::Damaged("net/a".into()), "entry 3 of net/a");
        let report = health.report();
        assert_eq!(report.len(), 2);
        assert_eq!(report[0].detail, "disk still full");
        assert_eq!(health.raised_total(), 2);
        assert_eq!(health.counts()["damaged_log"], 1);
        health.clear(&Problem::WritesFailing);
        assert!(!health.is_raised(&Problem::WritesFailing));
        assert_eq!(health.report().len(), 1);
        assert_eq!(health.counts()["writes_failing"], 0);
    }
}
