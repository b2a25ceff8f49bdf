//! What the server and its handlers share ([`HttpGuards`]): the limits, the connection cap
//! (from the open-file limit, raised at start), the submission memory budget, the metrics
//! and throttled warnings.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::metrics::ServeMetrics;
use super::submission::UNIT;
use crate::config::HttpLimits;

/// At most one warning of each kind per this interval; the others are counted in the next.
const WARN_INTERVAL: Duration = Duration::from_secs(10);
/// The fewest connections the open-file limit may leave; below, half of the limit is used.
const MIN_CAP: usize = 8;

/// A warning logged at most once per [`WARN_INTERVAL`], saying how many were held back.
#[derive(Debug, Default)]
pub(super) struct Throttled {
    last: Mutex<Option<Instant>>,
    held_back: AtomicU64,
}

impl Throttled {
    pub(super) fn warn(&self, message: impl FnOnce() -> String) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < WARN_INTERVAL) {
            self.held_back.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(Instant::now());
        let held_back = self.held_back.swap(0, Ordering::Relaxed);
        if held_back > 0 {
            tracing::warn!(
                "{} ({held_back} more like it in the last {}s)",
                message(),
                WARN_INTERVAL.as_secs()
            );
        } else {
            tracing::warn!("{}", message());
        }
    }
}

/// What the HTTP server and its handlers share: the limits, the connection cap, the
/// submission memory budget and the metrics.
#[derive(Debug)]
pub struct HttpGuards {
    pub(super) limits: HttpLimits,
    pub(super) cap: usize,
    /// The server's counters and gauges.
    pub metrics: ServeMetrics,
    /// The submission memory budget, in units of [`UNIT`] bytes.
    pub(super) submissions: Semaphore,
    pub(super) budget_units: u32,
    pub(super) min_units: u32,
    pub(super) shed_warning: Throttled,
    pub(super) refuse_warning: Throttled,
    pub(super) fd_warning: Throttled,
    pub(super) busy_warning: Throttled,
    pub(super) lingering: AtomicUsize,
}

impl HttpGuards {
    /// The guards for `limits`. Raises the process's soft open-file limit to its hard limit,
    /// and sets the connection cap to `max_connections`, or the open-file limit less
    /// `fd_reserve` if that is lower.
    pub fn new(limits: HttpLimits) -> HttpGuards {
        let fd_limit = raise_fd_limit();
        let cap = connection_cap(&limits, fd_limit);
        let budget_units = u32::try_from(limits.submission_memory_bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, Semaphore::MAX_PERMITS as u32);
        let min_units =
            (budget_units / limits.max_concurrent_submissions.max(1) as u32).clamp(1, budget_units);
        tracing::info!(
            "HTTP: at most {cap} connections (max_connections {}, open-file limit {}, {} kept \
             in reserve)",
            limits.max_connections,
            fd_limit.map_or("unlimited".to_string(), |l| l.to_string()),
            limits.fd_reserve
        );
        let metrics = ServeMetrics::default();
        metrics.cap.store(cap as u64, Ordering::Relaxed);
        metrics
            .fd_limit
            .store(fd_limit.unwrap_or(0), Ordering::Relaxed);
        HttpGuards {
            cap,
            metrics,
            submissions: Semaphore::new(budget_units as usize),
            budget_units,
            min_units,
            limits,
            shed_warning: Throttled::default(),
            refuse_warning: Throttled::default(),
            fd_warning: Throttled::default(),
            busy_warning: Throttled::default(),
            lingering: AtomicUsize::new(0),
        }
    }

    /// The configured limits.
    pub fn limits(&self) -> &HttpLimits {
        &self.limits
    }

    /// Most connections open at once.
    pub fn connection_cap(&self) -> usize {
        self.cap
    }
}

/// Raises the soft open-file limit to the hard limit; returns the soft limit then in force
/// (`None`: unlimited).
fn raise_fd_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(
                "could not raise the open-file limit from {:?} to {:?}: {e}",
                limit.current,
                limit.maximum
            );
        }
    }
    getrlimit(Resource::Nofile).current
}

/// `max_connections`, or the open-file limit less the reserve if lower (half the limit when
/// the reserve leaves fewer than [`MIN_CAP`]).
fn connection_cap(limits: &HttpLimits, fd_limit: Option<u64>) -> usize {
    let by_files = match fd_limit {
        None => usize::MAX,
        Some(limit) => {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            match limit.checked_sub(limits.fd_reserve) {
                Some(room) if room >= MIN_CAP => room,
                _ => {
                    tracing::warn!(
                        "the open-file limit {limit} leaves fewer than {MIN_CAP} descriptors \
                         beside the reserve of {}; allowing {} HTTP connections: raise the \
                         limit (ulimit -n, LimitNOFILE=)",
                        limits.fd_reserve,
                        (limit / 2).max(1)
                    );
                    (limit / 2).max(1)
                }
            }
        }
    };
    limits.max_connections.min(by_files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_below_the_open_file_limit() {
        let limits = HttpLimits::default();
        assert_eq!(connection_cap(&limits, None), 1024);
        assert_eq!(connection_cap(&limits, Some(1 << 20)), 1024);
        assert_eq!(connection_cap(&limits, Some(256)), 128);
        assert_eq!(connection_cap(&limits, Some(100)), 50);
    }
}
