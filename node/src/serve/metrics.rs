//! The HTTP server's counters and gauges, rendered for `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters and gauges of the HTTP server, for `/metrics` ([`ServeMetrics::render`]).
#[derive(Debug, Default)]
pub struct ServeMetrics {
    pub(super) open: AtomicU64,
    pub(super) in_flight: AtomicU64,
    pub(super) accepted: AtomicU64,
    pub(super) shed: AtomicU64,
    pub(super) refused: AtomicU64,
    pub(super) header_timeouts: AtomicU64,
    pub(super) idle_timeouts: AtomicU64,
    pub(super) unparsable: AtomicU64,
    pub(super) fd_exhausted: AtomicU64,
    pub(super) submissions_active: AtomicU64,
    pub(super) submission_bytes_reserved: AtomicU64,
    pub(super) submissions_busy: AtomicU64,
    pub(super) submissions_too_large: AtomicU64,
    pub(super) cap: AtomicU64,
    pub(super) fd_limit: AtomicU64,
}

impl ServeMetrics {
    /// Connections open now.
    pub fn open_connections(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Requests in flight now (from their head read to the end of their response).
    pub fn requests_in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Idle connections closed to make room for new ones since start.
    pub fn shed_connections(&self) -> u64 {
        self.shed.load(Ordering::Relaxed)
    }

    /// Appends the metrics in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let mut line = |kind: &str, name: &str, help: &str, value: &AtomicU64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}\n",
                value.load(Ordering::Relaxed)
            ));
        };
        line(
            "gauge",
            "daylight_http_connections_open",
            "HTTP connections open now.",
            &self.open,
        );
        line(
            "gauge",
            "daylight_http_requests_in_flight",
            "HTTP requests in flight now (head read, response not yet sent).",
            &self.in_flight,
        );
        line(
            "gauge",
            "daylight_http_connection_cap",
            "Most HTTP connections open at once (max_connections, within the open-file limit).",
            &self.cap,
        );
        line(
            "gauge",
            "daylight_open_file_limit",
            "The process's open-file limit (0: unlimited).",
            &self.fd_limit,
        );
        line(
            "counter",
            "daylight_http_connections_accepted_total",
            "HTTP connections accepted.",
            &self.accepted,
        );
        line(
            "counter",
            "daylight_http_connections_shed_total",
            "Idle HTTP connections closed to make room for new ones at the cap.",
            &self.shed,
        );
        line(
            "counter",
            "daylight_http_connections_refused_total",
            "HTTP connections refused with a 503: at the cap, every connection was busy.",
            &self.refused,
        );
        line(
            "counter",
            "daylight_http_header_timeouts_total",
            "Requests whose head did not arrive in time (answered 408).",
            &self.header_timeouts,
        );
        line(
            "counter",
            "daylight_http_idle_timeouts_total",
            "Connections closed after sending nothing for too long.",
            &self.idle_timeouts,
        );
        line(
            "counter",
            "daylight_http_unparsable_requests_total",
            "Requests hyper could not parse or found too large (answered 400, 414 or 431).",
            &self.unparsable,
        );
        line(
            "counter",
            "daylight_http_fd_exhausted_total",
            "Accepts that failed for want of a file descriptor.",
            &self.fd_exhausted,
        );
        line(
            "gauge",
            "daylight_submissions_active",
            "Submissions holding a memory reservation now.",
            &self.submissions_active,
        );
        line(
            "gauge",
            "daylight_submission_bytes_reserved",
            "Bytes of the submission memory budget reserved now.",
            &self.submission_bytes_reserved,
        );
        line(
            "counter",
            "daylight_submissions_busy_total",
            "Submissions refused with a 503: the memory budget stayed full.",
            &self.submissions_busy,
        );
        line(
            "counter",
            "daylight_submissions_too_large_total",
            "Submissions refused with a 413: body, record count or a record too large.",
            &self.submissions_too_large,
        );
    }
}
