//! The HTTP server (DESIGN §5.5 "Abuse"; docs/decisions/0010-http-limits.md): the accept loop,
//! connections, and the limits that keep a public node answering under abuse.
//!
//! [`serve`] replaces `axum::serve`: it accepts connections itself and runs each through
//! hyper's HTTP/1.1 server, so that it can bound and observe them:
//!
//! * **A connection cap**, below the open-file limit ([`HttpGuards::new`] raises the soft limit
//!   to the hard one and keeps [`HttpLimits::fd_reserve`] descriptors for the database, libp2p
//!   and the runtime). At the cap a new connection *sheds* an idle one — a connection with no
//!   request in flight, preferring one that never sent a request, then the one idle longest —
//!   so that clients holding connections open without asking for anything cannot lock out a
//!   real client. Only when every connection has a request in flight is the newcomer refused,
//!   with a 503. A request in flight is never cut short by shedding.
//! * **Timeouts** on the request head (from the connection's start, or from the first byte of
//!   a request on a kept-alive connection) and on idle kept-alive connections, answered with a
//!   408 when part of a request arrived, closed quietly when nothing did.
//! * **Head limits**: request target, head size and header count.
//! * **Submissions** ([`HttpGuards::read_submission`]): a memory budget reserved before a body
//!   is read, the body size, and the number and size of records counted as the bytes arrive,
//!   before anything is parsed.
//! * **JSON errors everywhere** ([`json_errors`]): the framework's own answers (404, 405, 408,
//!   413, an undecodable path) and hyper's answers to a request it cannot parse (400, 414, 431,
//!   written before any router runs; rewritten on their way to the socket) all carry
//!   `{"error": ..., "detail": ...}`.
//!
//! Invariants kept here:
//! * the number of registered connections never exceeds [`HttpGuards::connection_cap`] after
//!   an accept is handled (a connection is registered only once one is shed or there is room);
//! * a connection is shed only when it has no request in flight at the moment it is chosen;
//!   if a request begins in between, that request is finished before the connection closes;
//! * at most `submission_memory_bytes` of submission bodies are held at once: a submission's
//!   reservation is taken before its first byte is read and released only after its answer.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, SemaphorePermit, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

pub use crate::config::HttpLimits;
use crate::http::{ApiError, REQUEST_TIMEOUT};

/// How long requests in flight may take to finish once the node stops, before their
/// connections are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(REQUEST_TIMEOUT.as_secs() + 5);
/// At most one warning of each kind per this interval; the others are counted in the next.
const WARN_INTERVAL: Duration = Duration::from_secs(10);
/// Refused connections that may be answered at once; beyond, they are closed unanswered.
const MAX_LINGERING: usize = 16;
/// How long a refused connection is kept to read its request, so the 503 is not lost to a reset.
const LINGER: Duration = Duration::from_secs(1);
/// The fewest connections the open-file limit may leave; below, half of the limit is used.
const MIN_CAP: usize = 8;
/// Submission reservations are counted in units of this many bytes.
const UNIT: usize = 1024;
/// Submission bodies larger than this are checked off the async workers (see `http::submit`).
pub const OFFLOAD_BYTES: usize = 64 << 10;

/// Counters and gauges of the HTTP server, for `/metrics` ([`ServeMetrics::render`]).
#[derive(Debug, Default)]
pub struct ServeMetrics {
    open: AtomicU64,
    in_flight: AtomicU64,
    accepted: AtomicU64,
    shed: AtomicU64,
    refused: AtomicU64,
    header_timeouts: AtomicU64,
    idle_timeouts: AtomicU64,
    unparsable: AtomicU64,
    fd_exhausted: AtomicU64,
    submissions_active: AtomicU64,
    submission_bytes_reserved: AtomicU64,
    submissions_busy: AtomicU64,
    submissions_too_large: AtomicU64,
    cap: AtomicU64,
    fd_limit: AtomicU64,
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

/// A warning logged at most once per [`WARN_INTERVAL`], saying how many were held back.
#[derive(Debug, Default)]
struct Throttled {
    last: Mutex<Option<Instant>>,
    held_back: AtomicU64,
}

impl Throttled {
    fn warn(&self, message: impl FnOnce() -> String) {
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
    limits: HttpLimits,
    cap: usize,
    /// The server's counters and gauges.
    pub metrics: ServeMetrics,
    /// The submission memory budget, in units of [`UNIT`] bytes.
    submissions: Semaphore,
    budget_units: u32,
    min_units: u32,
    shed_warning: Throttled,
    refuse_warning: Throttled,
    fd_warning: Throttled,
    busy_warning: Throttled,
    lingering: AtomicUsize,
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

    /// Reads a submission's body within the limits: reserves room in the memory budget
    /// (its declared length, or the body limit without one) before reading a byte — waiting
    /// up to `submission_wait_seconds`, then 503 — and counts records as the bytes arrive,
    /// refusing with 413 a body over the limit, more records than allowed, or a record too
    /// large. A body refused for its records, or while the budget stays full, is read to its
    /// end (within the body limit) but not kept, so the client gets the answer rather than a
    /// reset connection.
    pub async fn read_submission(&self, request: Request) -> Result<Submission<'_>, ApiError> {
        let limits = &self.limits;
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if let Some(length) = declared.filter(|l| *l > limits.max_body_bytes as u64) {
            return Err(self.too_large(format!(
                "the body is {length} bytes; a submission may have at most {} \
                 (max_body_bytes): send the records in several submissions",
                limits.max_body_bytes
            )));
        }
        let bytes = declared.map_or(limits.max_body_bytes, |l| l as usize);
        let units = u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .clamp(self.min_units, self.budget_units);
        let wait = Duration::from_secs(limits.submission_wait_seconds);
        let mut body = request.into_body();
        let permit = match tokio::time::timeout(wait, self.submissions.acquire_many(units)).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) | Err(_) => {
                // Read (not keep) what the client sends, so it gets the answer, not a reset.
                drain(body, bytes).await;
                self.metrics
                    .submissions_busy
                    .fetch_add(1, Ordering::Relaxed);
                self.busy_warning.warn(|| {
                    format!(
                        "submissions refused: the {}-byte submission memory budget stayed \
                         full for {}s",
                        limits.submission_memory_bytes, limits.submission_wait_seconds
                    )
                });
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "this node is handling as many submissions as its memory budget allows; \
                     try again in a moment",
                )
                .retry_after(1));
            }
        };
        let reservation = Reservation::new(self, permit, units);
        let mut kept = Vec::with_capacity(declared.map_or(0, |l| l as usize));
        let mut scanner = RecordScanner::new(limits);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(body_error)?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if kept.len() + data.len() > limits.max_body_bytes {
                return Err(self.too_large(format!(
                    "the body is longer than {} bytes (max_body_bytes): send the records in \
                     several submissions",
                    limits.max_body_bytes
                )));
            }
            // One chunk per turn: many large uploads at once must not delay small requests.
            tokio::task::yield_now().await;
            if let Err(refusal) = scanner.feed(&data) {
                let received = kept.len() + data.len();
                drop(kept);
                drop(reservation);
                drain(body, limits.max_body_bytes.saturating_sub(received)).await;
                return Err(self.too_large(refusal.explain(limits)));
            }
            kept.extend_from_slice(&data);
        }
        Ok(Submission {
            body: Bytes::from(kept),
            _reservation: reservation,
        })
    }

    /// Reads and discards a request's body (up to `max_body_bytes`), before refusing it for
    /// another reason, so the client gets the answer rather than a reset connection.
    pub async fn discard_body(&self, request: Request) {
        drain(request.into_body(), self.limits.max_body_bytes).await;
    }

    fn too_large(&self, detail: String) -> ApiError {
        self.metrics
            .submissions_too_large
            .fetch_add(1, Ordering::Relaxed);
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", detail)
    }
}

/// A submission's body, read within the limits; its memory reservation lasts as long as it.
pub struct Submission<'a> {
    /// The body.
    pub body: Bytes,
    _reservation: Reservation<'a>,
}

/// Room in the submission memory budget, counted in the metrics while held.
struct Reservation<'a> {
    guards: &'a HttpGuards,
    _permit: SemaphorePermit<'a>,
    bytes: u64,
}

impl<'a> Reservation<'a> {
    fn new(guards: &'a HttpGuards, permit: SemaphorePermit<'a>, units: u32) -> Self {
        let bytes = u64::from(units) * UNIT as u64;
        let m = &guards.metrics;
        m.submissions_active.fetch_add(1, Ordering::Relaxed);
        m.submission_bytes_reserved
            .fetch_add(bytes, Ordering::Relaxed);
        Reservation {
            guards,
            _permit: permit,
            bytes,
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let m = &self.guards.metrics;
        m.submissions_active.fetch_sub(1, Ordering::Relaxed);
        m.submission_bytes_reserved
            .fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// Reads a small request body whole: a declared length over `limit` is refused at once, and
/// so is a body that turns out longer (413, JSON); a body that cannot be read is a 400.
pub async fn read_body(request: Request, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("this endpoint takes a body of at most {limit} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|l| l > limit as u64) {
        return Err(too_large());
    }
    match http_body_util::Limited::new(request.into_body(), limit)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            format!("the body could not be read: {e}"),
        )),
    }
}

fn body_error(e: axum::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_body",
        format!("the body could not be read: {e}"),
    )
}

/// Reads and discards up to `limit` more bytes of `body`, one chunk per scheduler turn.
async fn drain(mut body: Body, limit: usize) {
    let mut left = limit;
    while let Some(Ok(frame)) = body.frame().await {
        tokio::task::yield_now().await;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        match left.checked_sub(data.len()) {
            Some(rest) => left = rest,
            None => return,
        }
    }
}

/// Why [`RecordScanner`] refused a body.
#[derive(Debug, PartialEq, Eq)]
enum ScanRefusal {
    /// More than `max_records_per_submission` top-level array elements.
    TooManyRecords,
    /// The record at this position is larger than `max_record_bytes`.
    RecordTooLarge(usize),
}

impl ScanRefusal {
    fn explain(&self, limits: &HttpLimits) -> String {
        match self {
            ScanRefusal::TooManyRecords => format!(
                "a submission holds at most {} records (max_records_per_submission): send them \
                 in several submissions",
                limits.max_records_per_submission
            ),
            ScanRefusal::RecordTooLarge(position) => format!(
                "record {position} is larger than {} bytes (max_record_bytes); a log entry is at \
                 most {} bytes",
                limits.max_record_bytes,
                daylight_verifier::record::MAX_ENTRY_SIZE
            ),
        }
    }
}

/// Where a [`RecordScanner`] is in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Only whitespace so far.
    Start,
    /// Inside the top-level array: each element is a record.
    Array,
    /// Inside a top-level object: the body is one record.
    Object,
    /// Past the top-level value, or the body is neither an array nor an object (the submission
    /// check refuses it).
    Done,
}

/// Counts the records of a submission as its bytes arrive, and measures each, without
/// building any JSON value: it follows only strings (with escapes) and bracket depth. It does
/// not validate JSON; the submission check does, on a body the scanner let through.
#[derive(Debug)]
struct RecordScanner {
    max_records: usize,
    max_record_bytes: usize,
    shape: Shape,
    depth: usize,
    in_string: bool,
    escaped: bool,
    records: usize,
    offset: usize,
    /// Offset of the first byte of the record being read, if one is.
    record_start: Option<usize>,
}

impl RecordScanner {
    fn new(limits: &HttpLimits) -> RecordScanner {
        RecordScanner {
            max_records: limits.max_records_per_submission,
            max_record_bytes: limits.max_record_bytes,
            shape: Shape::Start,
            depth: 0,
            in_string: false,
            escaped: false,
            records: 0,
            offset: 0,
            record_start: None,
        }
    }

    /// Takes the next bytes of the body.
    fn feed(&mut self, chunk: &[u8]) -> Result<(), ScanRefusal> {
        let base = self.offset;
        self.offset += chunk.len();
        for (i, &byte) in chunk.iter().enumerate() {
            let at = base + i;
            match self.shape {
                Shape::Done => break,
                Shape::Start => match byte {
                    b' ' | b'\t' | b'\r' | b'\n' => {}
                    b'[' => {
                        self.shape = Shape::Array;
                        self.depth = 1;
                    }
                    b'{' => {
                        self.shape = Shape::Object;
                        self.depth = 1;
                        self.records = 1;
                        self.record_start = Some(at);
                    }
                    _ => self.shape = Shape::Done,
                },
                Shape::Array | Shape::Object => self.step(byte, at)?,
            }
        }
        self.check_size(self.offset)
    }

    fn step(&mut self, byte: u8, at: usize) -> Result<(), ScanRefusal> {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
            }
            return Ok(());
        }
        if self.shape == Shape::Array && self.depth == 1 && self.record_start.is_none() {
            match byte {
                b' ' | b'\t' | b'\r' | b'\n' | b',' => return Ok(()),
                b']' => {
                    self.depth = 0;
                    self.shape = Shape::Done;
                    return Ok(());
                }
                _ => {
                    self.records += 1;
                    if self.records > self.max_records {
                        return Err(ScanRefusal::TooManyRecords);
                    }
                    self.record_start = Some(at);
                }
            }
        }
        match byte {
            b'"' => self.in_string = true,
            b'[' | b'{' => self.depth += 1,
            b']' | b'}' => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    self.check_size(at)?;
                    self.record_start = None;
                    self.shape = Shape::Done;
                }
            }
            b',' if self.depth == 1 => {
                self.check_size(at)?;
                self.record_start = None;
            }
            _ => {}
        }
        Ok(())
    }

    /// Refuses the record being read if it is already longer than allowed at offset `end`.
    fn check_size(&self, end: usize) -> Result<(), ScanRefusal> {
        match self.record_start {
            Some(start) if end - start > self.max_record_bytes => {
                Err(ScanRefusal::RecordTooLarge(self.records.saturating_sub(1)))
            }
            _ => Ok(()),
        }
    }
}

/// Middleware: refuses request targets over `max_uri_bytes` (414), and turns every error the
/// framework answers in plain text or with no body (404, 405, 408 from the request timeout,
/// 413 from a body limit, a path that is not UTF-8, ...) into `{"error", "detail"}` JSON with
/// the same status and headers. Responses that already carry a content type other than plain
/// text (JSON errors, the tlog-witness `text/x.tlog.size` conflict) pass unchanged.
pub async fn json_errors(
    State(guards): State<Arc<HttpGuards>>,
    request: Request,
    next: Next,
) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    let max_uri = guards.limits.max_uri_bytes;
    if target > max_uri {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target is {target} bytes long; at most {max_uri} are accepted"),
        )
        .into_response();
    }
    let response = next.run(request).await;
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|t| t.as_bytes().starts_with(b"text/plain"));
    if response.status().as_u16() < 400 || !plain {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let (error, default) = framework_error(parts.status, &guards.limits);
    let detail = if text.is_empty() { default } else { text };
    let json = serde_json::json!({ "error": error, "detail": detail }).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(json))
}

/// The error code and a default explanation for a status the framework or hyper answers.
fn framework_error(status: StatusCode, limits: &HttpLimits) -> (&'static str, String) {
    let (error, detail) = match status.as_u16() {
        400 => (
            "bad_request",
            "the request is not valid HTTP/1.1".to_string(),
        ),
        404 => ("not_found", "no such endpoint".to_string()),
        405 => (
            "method_not_allowed",
            "this endpoint does not take this method; the Allow header lists those it takes"
                .to_string(),
        ),
        408 => (
            "request_timeout",
            format!(
                "the request was not received and answered in time (head within {}s, whole \
                 request within {}s)",
                limits.header_read_timeout_seconds,
                REQUEST_TIMEOUT.as_secs()
            ),
        ),
        413 => ("too_large", "the request body is too large".to_string()),
        414 => (
            "uri_too_long",
            format!(
                "the request line is longer than this node reads ({} bytes of request head)",
                limits.max_header_bytes
            ),
        ),
        415 => (
            "unsupported_media_type",
            "this endpoint does not take this content type".to_string(),
        ),
        422 => (
            "unprocessable",
            "the request is well-formed but cannot be processed".to_string(),
        ),
        429 => ("too_many_requests", "too many requests".to_string()),
        431 => (
            "headers_too_large",
            format!(
                "the request head is larger than {} bytes or has more than {} header fields",
                limits.max_header_bytes, limits.max_headers
            ),
        ),
        500 => ("internal", "internal error".to_string()),
        503 => ("unavailable", "the service is unavailable".to_string()),
        _ => ("http_error", status.to_string()),
    };
    (error, detail)
}

/// A complete HTTP/1.1 response carrying a JSON error, for hyper-level answers written
/// straight to the socket; the connection closes after it.
fn raw_json_error(status: StatusCode, limits: &HttpLimits) -> Vec<u8> {
    let (error, detail) = framework_error(status, limits);
    let body = serde_json::json!({ "error": error, "detail": detail }).to_string();
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes()
}

/// If `written` is one of hyper's automatic answers to a request it could not parse — a
/// bodiless `400`, `414` or `431` head — the JSON answer to write instead. hyper answers 431
/// for any head that overflows its buffer; when no line of the request ended yet
/// (`line_ended` false), the request line itself was too long, which is a 414.
fn rewrite_automatic(written: &[u8], line_ended: bool, limits: &HttpLimits) -> Option<Vec<u8>> {
    if written.len() > 512 || !written.ends_with(b"\r\n\r\n") {
        return None;
    }
    let text = std::str::from_utf8(written).ok()?;
    let code: u16 = text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    if !matches!(code, 400 | 414 | 431) || !text.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let status = match code {
        431 if !line_ended => StatusCode::URI_TOO_LONG,
        _ => StatusCode::from_u16(code).ok()?,
    };
    Some(raw_json_error(status, limits))
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

/// One connection's state, shared by its task, its I/O and the requests it carries.
#[derive(Debug)]
struct Connection {
    id: u64,
    peer: SocketAddr,
    /// The registry's clock: times below are milliseconds since it.
    clock: Instant,
    in_flight: AtomicU32,
    /// Requests begun (their head was read) and answered (their response body ended).
    started: AtomicU64,
    finished: AtomicU64,
    /// When the connection last became idle: accepted, or its last response ended.
    idle_since_ms: AtomicU64,
    /// Told when the connection is chosen to be shed.
    shed: Notify,
}

impl Connection {
    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    fn idle_since(&self) -> Instant {
        self.clock + Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire))
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Marks a request in flight on its connection until dropped (when its response body ends,
/// or the request is abandoned).
struct InFlight(Arc<Connection>, Arc<HttpGuards>);

impl InFlight {
    fn begin(connection: Arc<Connection>, guards: Arc<HttpGuards>) -> InFlight {
        connection.in_flight.fetch_add(1, Ordering::AcqRel);
        connection.started.fetch_add(1, Ordering::AcqRel);
        guards.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(connection, guards)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let c = &self.0;
        c.idle_since_ms.store(c.now_ms(), Ordering::Release);
        c.finished.fetch_add(1, Ordering::AcqRel);
        c.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.1.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The open connections, for the cap and for choosing which to shed.
#[derive(Debug)]
struct Registry {
    clock: Instant,
    next: AtomicU64,
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
    /// Told whenever a connection closes.
    closed: Notify,
}

impl Registry {
    fn new() -> Registry {
        Registry {
            clock: Instant::now(),
            next: AtomicU64::new(0),
            connections: Mutex::new(HashMap::new()),
            closed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn register(&self, peer: SocketAddr) -> Arc<Connection> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection {
            id,
            peer,
            clock: self.clock,
            in_flight: AtomicU32::new(0),
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            idle_since_ms: AtomicU64::new(0),
            shed: Notify::new(),
        });
        connection
            .idle_since_ms
            .store(connection.now_ms(), Ordering::Release);
        self.lock().insert(id, connection.clone());
        connection
    }

    /// Removes and returns the connection to shed: one with no request in flight, preferring
    /// one that never sent a request, then the one idle longest. `None` if every connection
    /// is busy.
    fn take_idle(&self) -> Option<Arc<Connection>> {
        let mut connections = self.lock();
        let id = connections
            .values()
            .filter(|c| c.idle())
            .min_by_key(|c| {
                (
                    c.started.load(Ordering::Acquire) > 0,
                    c.idle_since_ms.load(Ordering::Acquire),
                )
            })?
            .id;
        connections.remove(&id)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
        self.closed.notify_waiters();
    }
}

/// Removes a connection from the registry and the gauge when its task ends, however it ends.
struct OpenConnection {
    registry: Arc<Registry>,
    guards: Arc<HttpGuards>,
    id: u64,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.registry.remove(self.id);
        self.guards.metrics.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves `router` on `listener` until `stop` completes, then stops accepting, lets every
/// request in flight finish (up to 35 s: the request timeout and 5 s) and closes idle
/// connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    guards: Arc<HttpGuards>,
    stop: impl Future<Output = ()>,
) {
    let limits = guards.limits();
    let mut builder = http1::Builder::new();
    // A backstop only: GuardedIo times heads and idle connections out first, and answers.
    let backstop = Duration::from_secs(
        limits
            .header_read_timeout_seconds
            .max(limits.keep_alive_seconds)
            + 1,
    );
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(backstop)
        .keep_alive(true)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_header_size(limits.max_header_bytes);
    if limits.max_headers != 100 {
        builder.max_headers(limits.max_headers);
    }
    let builder = Arc::new(builder);
    let registry = Arc::new(Registry::new());
    let (shutdown, shutting_down) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            Some(ended) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = ended {
                    tracing::error!("HTTP connection task failed: {e}");
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Some(connection) = admit(&registry, &guards, peer) else {
                        refuse(stream, &guards);
                        continue;
                    };
                    guards.metrics.open.fetch_add(1, Ordering::Relaxed);
                    let open = OpenConnection {
                        registry: registry.clone(),
                        guards: guards.clone(),
                        id: connection.id,
                    };
                    tasks.spawn(run_connection(
                        stream,
                        connection,
                        open,
                        builder.clone(),
                        router.clone(),
                        shutting_down.clone(),
                    ));
                }
                Err(e) => accept_failed(e, &registry, &guards).await,
            }
        }
    }
    drop(listener);
    let _ = shutdown.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "{} HTTP connections still busy {}s after the node began stopping; closing them",
            tasks.len(),
            SHUTDOWN_GRACE.as_secs()
        );
        tasks.shutdown().await;
    }
}

/// Registers a new connection, shedding an idle one first at the cap; `None` when the cap is
/// reached and every connection has a request in flight.
fn admit(registry: &Registry, guards: &HttpGuards, peer: SocketAddr) -> Option<Arc<Connection>> {
    guards.metrics.accepted.fetch_add(1, Ordering::Relaxed);
    if registry.len() >= guards.cap {
        let Some(victim) = registry.take_idle() else {
            guards.metrics.refused.fetch_add(1, Ordering::Relaxed);
            guards.refuse_warning.warn(|| {
                format!(
                    "HTTP connection cap ({}) reached with a request in flight on every \
                     connection: refused {peer} with a 503",
                    guards.cap
                )
            });
            return None;
        };
        victim.shed.notify_one();
        guards.metrics.shed.fetch_add(1, Ordering::Relaxed);
        guards.shed_warning.warn(|| {
            let how = if victim.started.load(Ordering::Acquire) == 0 {
                "which never sent a request"
            } else {
                "idle between requests"
            };
            format!(
                "HTTP connection cap ({}) reached: closed the connection from {} ({how}, idle \
                 {:.1}s) to admit {peer}",
                guards.cap,
                victim.peer,
                victim.idle_since().elapsed().as_secs_f64()
            )
        });
    }
    Some(registry.register(peer))
}

/// Answers a connection refused at the cap with a 503, reading (and discarding) its request
/// briefly so the answer is not lost to a reset; closes it unanswered when too many are
/// already being answered.
fn refuse(mut stream: TcpStream, guards: &Arc<HttpGuards>) {
    if guards.lingering.fetch_add(1, Ordering::AcqRel) >= MAX_LINGERING {
        guards.lingering.fetch_sub(1, Ordering::AcqRel);
        return;
    }
    let guards = guards.clone();
    tokio::spawn(async move {
        let answer = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_connections",
            format!(
                "this node has {} connections open, each with a request in flight; try again \
                 in a moment",
                guards.cap
            ),
        );
        let body = answer.json_text();
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = tokio::time::timeout(LINGER, async {
            stream.write_all(response.as_bytes()).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 4096];
            let mut read = 0;
            while read < 64 << 10 {
                match stream.read(&mut sink).await? {
                    0 => break,
                    n => read += n,
                }
            }
            io::Result::Ok(())
        })
        .await;
        guards.lingering.fetch_sub(1, Ordering::AcqRel);
    });
}

/// After a failed accept: when out of file descriptors, sheds an idle connection and waits
/// (briefly) for one to close; other errors (a connection reset before it was accepted) are
/// the client's and only logged.
async fn accept_failed(e: io::Error, registry: &Registry, guards: &HttpGuards) {
    let errno = rustix::io::Errno::from_io_error(&e);
    if !matches!(
        errno,
        Some(rustix::io::Errno::MFILE | rustix::io::Errno::NFILE | rustix::io::Errno::NOBUFS)
    ) {
        tracing::debug!("accept failed: {e}");
        return;
    }
    guards.metrics.fd_exhausted.fetch_add(1, Ordering::Relaxed);
    let closed = registry.closed.notified();
    let victim = registry.take_idle();
    guards.fd_warning.warn(|| {
        format!(
            "out of file descriptors accepting an HTTP connection ({e}); {}: raise the \
             open-file limit or lower [http] max_connections",
            if victim.is_some() {
                "closing an idle connection"
            } else {
                "every connection is busy, waiting for one to close"
            }
        )
    });
    if let Some(victim) = victim {
        guards.metrics.shed.fetch_add(1, Ordering::Relaxed);
        victim.shed.notify_one();
    }
    // Bounded: a descriptor held elsewhere (the database, libp2p) may free without notice.
    let _ = tokio::time::timeout(Duration::from_millis(100), closed).await;
}

/// Serves one connection until it closes, is shed, or the server stops.
async fn run_connection(
    stream: TcpStream,
    connection: Arc<Connection>,
    open: OpenConnection,
    builder: Arc<http1::Builder>,
    router: Router,
    mut shutting_down: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let guards = open.guards.clone();
    let io = TokioIo::new(GuardedIo::new(stream, connection.clone(), guards.clone()));
    let service = ConnectionService {
        router,
        connection: connection.clone(),
        guards,
    };
    let served = builder.serve_connection(io, service);
    tokio::pin!(served);
    let mut closing = false;
    loop {
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("HTTP connection from {}: {e}", connection.peer);
                }
                return;
            }
            () = connection.shed.notified(), if !closing => {
                if connection.idle() {
                    return;
                }
                // A request began after the connection was chosen: finish it, then close.
                served.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = shutting_down.wait_for(|stop| *stop), if !closing => {
                served.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// The hyper service of one connection: the router, with each request marked in flight on
/// the connection until its response body ends.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    connection: Arc<Connection>,
    guards: Arc<HttpGuards>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for ConnectionService {
    type Response = hyper::Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::begin(self.connection.clone(), self.guards.clone());
        let router = self.router.clone();
        Box::pin(async move {
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            Ok(response.map(|body| TrackedBody {
                body,
                in_flight: Some(in_flight),
            }))
        })
    }
}

/// A response body that ends its request's in-flight mark when it ends (or is dropped).
struct TrackedBody {
    body: Body,
    in_flight: Option<InFlight>,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            this.in_flight.take();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's socket as hyper sees it. While no request is in flight it times out the
/// next request's head (a 408 written here when part of it arrived; a quiet close when
/// nothing did), and it replaces hyper's bodiless 400/414/431 answers to heads it could not
/// parse with JSON ones.
struct GuardedIo {
    inner: TcpStream,
    connection: Arc<Connection>,
    guards: Arc<HttpGuards>,
    timer: Option<Pin<Box<Sleep>>>,
    timer_at: Option<Instant>,
    /// `connection.finished` when the head state below was last reset.
    seen_finished: u64,
    /// When the first byte of the next request arrived, if it did.
    head_started: Option<Instant>,
    /// Whether a line of the next request has ended (its request line is complete).
    line_ended: bool,
    timed_out: bool,
    /// Bytes to write before anything else: a JSON answer standing in for hyper's.
    pending: Vec<u8>,
}

impl GuardedIo {
    fn new(inner: TcpStream, connection: Arc<Connection>, guards: Arc<HttpGuards>) -> GuardedIo {
        GuardedIo {
            inner,
            connection,
            guards,
            timer: None,
            timer_at: None,
            seen_finished: 0,
            head_started: None,
            line_ended: false,
            timed_out: false,
            pending: Vec::new(),
        }
    }

    /// Forgets the previous request's head once a response has ended since.
    fn observe(&mut self) {
        let finished = self.connection.finished.load(Ordering::Acquire);
        if finished != self.seen_finished {
            self.seen_finished = finished;
            self.head_started = None;
            self.line_ended = false;
        }
    }

    /// When the connection, idle now, times out.
    fn deadline(&self) -> Instant {
        let limits = self.guards.limits();
        let header = Duration::from_secs(limits.header_read_timeout_seconds);
        let idle = if self.connection.started.load(Ordering::Acquire) == 0 {
            header
        } else {
            Duration::from_secs(limits.keep_alive_seconds)
        };
        let mut deadline = self.connection.idle_since() + idle;
        if let Some(started) = self.head_started {
            deadline = deadline.min(started + header);
        }
        deadline
    }

    /// Whether the idle connection's deadline has passed; arms the timer for `cx` if not.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let deadline = self.deadline();
        if Instant::now() >= deadline {
            return true;
        }
        match (&mut self.timer, self.timer_at) {
            (Some(timer), Some(at)) if at == deadline => timer.as_mut().poll(cx).is_ready(),
            (Some(timer), _) => {
                timer.as_mut().reset(deadline);
                self.timer_at = Some(deadline);
                timer.as_mut().poll(cx).is_ready()
            }
            (None, _) => {
                let mut timer = Box::pin(tokio::time::sleep_until(deadline));
                let ready = timer.as_mut().poll(cx).is_ready();
                self.timer = Some(timer);
                self.timer_at = Some(deadline);
                ready
            }
        }
    }

    /// Ends the connection on a timeout: a 408 if part of a request arrived, then end of file.
    fn time_out(&mut self, cx: &mut Context<'_>) {
        self.timed_out = true;
        let metrics = &self.guards.metrics;
        if self.head_started.is_some() {
            metrics.header_timeouts.fetch_add(1, Ordering::Relaxed);
            self.pending = raw_json_error(StatusCode::REQUEST_TIMEOUT, self.guards.limits());
            let _ = self.flush_pending(cx);
        } else {
            metrics.idle_timeouts.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Writes the pending bytes; ready once none are left.
    fn flush_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }

    /// If `buf` is hyper's answer to a head it could not parse, queues the JSON answer instead.
    fn replaced(&mut self, buf: &[u8], cx: &mut Context<'_>) -> bool {
        if !self.connection.idle() {
            return false;
        }
        self.observe();
        if self.head_started.is_none() {
            return false;
        }
        let Some(answer) = rewrite_automatic(buf, self.line_ended, self.guards.limits()) else {
            return false;
        };
        self.guards
            .metrics
            .unparsable
            .fetch_add(1, Ordering::Relaxed);
        self.pending = answer;
        let _ = self.flush_pending(cx);
        true
    }
}

impl AsyncRead for GuardedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.timed_out {
            return Poll::Ready(Ok(()));
        }
        let idle = this.connection.idle();
        if idle {
            this.observe();
            if this.expired(cx) {
                this.time_out(cx);
                return Poll::Ready(Ok(()));
            }
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let read = &buf.filled()[before..];
        if idle && !read.is_empty() {
            this.head_started.get_or_insert_with(Instant::now);
            this.line_ended |= read.contains(&b'\n');
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.flush_pending(cx))?;
        if this.replaced(buf, cx) {
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.flush_pending(cx))?;
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next())
            && this.replaced(only, cx)
        {
            return Poll::Ready(Ok(only.len()));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.flush_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.flush_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> HttpLimits {
        HttpLimits {
            max_records_per_submission: 3,
            max_record_bytes: 20,
            ..HttpLimits::default()
        }
    }

    fn scan(chunks: &[&[u8]]) -> Result<usize, ScanRefusal> {
        let mut scanner = RecordScanner::new(&limits());
        for chunk in chunks {
            scanner.feed(chunk)?;
        }
        Ok(scanner.records)
    }

    #[test]
    fn counts_records_across_chunks_and_strings() {
        assert_eq!(
            scan(&[b" [ {\"a\":1}, {\"b\":\"],{,\\\"\"}", b", 3 ]"]),
            Ok(3)
        );
        assert_eq!(scan(&[b"[{\"a\":[1,2", b",3]}]"]), Ok(1));
        assert_eq!(scan(&[b"[]"]), Ok(0));
        assert_eq!(scan(&[b"{\"rid\":\"x\"}"]), Ok(1));
        assert_eq!(scan(&[b"not json"]), Ok(0));
    }

    #[test]
    fn refuses_too_many_records_before_the_end() {
        assert_eq!(
            scan(&[b"[{},{},{},", b"{}"]),
            Err(ScanRefusal::TooManyRecords)
        );
    }

    #[test]
    fn refuses_a_record_too_large_even_unfinished() {
        assert_eq!(
            scan(&[b"[{}, {\"a\":\"0123456789", b"0123456789\"}]"]),
            Err(ScanRefusal::RecordTooLarge(1))
        );
        assert_eq!(
            scan(&[b"[{}, {\"a\":\"0123456789", b"0123456789"]),
            Err(ScanRefusal::RecordTooLarge(1))
        );
        assert_eq!(
            scan(&[b"{\"a\":\"01234567890123456789\"}"]),
            Err(ScanRefusal::RecordTooLarge(0))
        );
    }

    #[test]
    fn rewrites_only_hypers_bodiless_parse_errors() {
        let limits = HttpLimits::default();
        let head =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let answer = rewrite_automatic(head, true, &limits).unwrap();
        let text = String::from_utf8(answer).unwrap();
        assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
        assert!(text.ends_with("}"), "{text}");
        let uri = String::from_utf8(rewrite_automatic(head, false, &limits).unwrap()).unwrap();
        assert!(uri.starts_with("HTTP/1.1 414 "), "{uri}");
        assert!(uri.contains("\"uri_too_long\""), "{uri}");
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 40\r\n\r\n";
        assert!(rewrite_automatic(ours, true, &limits).is_none());
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(rewrite_automatic(ok, true, &limits).is_none());
    }

    /// At the cap with a request in flight on every connection, a newcomer gets a JSON 503;
    /// when the server stops, the requests in flight still get their answers before `serve`
    /// returns.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refuses_when_all_are_busy_and_finishes_requests_in_flight_at_stop() {
        let entered = Arc::new(Semaphore::new(0));
        let gate = Arc::new(Semaphore::new(0));
        let slow = {
            let (entered, gate) = (entered.clone(), gate.clone());
            move || async move {
                entered.add_permits(1);
                gate.acquire().await.map(|p| p.forget()).ok();
                "done"
            }
        };
        let router = Router::new().route("/slow", axum::routing::get(slow));
        let guards = Arc::new(HttpGuards::new(HttpLimits {
            max_connections: 2,
            ..HttpLimits::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, router, guards.clone(), async {
            let _ = stopped.await;
        }));
        let mut busy = Vec::new();
        for _ in 0..2 {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(b"GET /slow HTTP/1.1\r\nhost: t\r\n\r\n")
                .await
                .unwrap();
            busy.push(stream);
        }
        entered.acquire_many(2).await.unwrap().forget();
        assert_eq!(guards.metrics.requests_in_flight(), 2);

        let mut refused = TcpStream::connect(addr).await.unwrap();
        let mut answer = String::new();
        refused.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
        assert!(answer.contains("\"too_many_connections\""), "{answer}");

        stop.send(()).unwrap();
        gate.add_permits(2);
        for mut stream in busy {
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
            assert!(answer.ends_with("done"), "{answer}");
        }
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("serve returns once the requests in flight are answered")
            .unwrap();
        assert_eq!(guards.metrics.refused.load(Ordering::Relaxed), 1);
        assert_eq!(guards.metrics.open_connections(), 0);
    }

    #[test]
    fn the_cap_stays_below_the_open_file_limit() {
        let limits = HttpLimits::default();
        assert_eq!(connection_cap(&limits, None), 1024);
        assert_eq!(connection_cap(&limits, Some(1 << 20)), 1024);
        assert_eq!(connection_cap(&limits, Some(256)), 128);
        assert_eq!(connection_cap(&limits, Some(100)), 50);
    }

    #[test]
    fn the_idle_connection_that_never_asked_goes_first() {
        let registry = Registry::new();
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let served = registry.register(peer);
        served.started.store(1, Ordering::Release);
        let busy = registry.register(peer);
        busy.in_flight.store(1, Ordering::Release);
        let silent = registry.register(peer);
        assert_eq!(registry.take_idle().map(|c| c.id), Some(silent.id));
        assert_eq!(registry.take_idle().map(|c| c.id), Some(served.id));
        assert!(registry.take_idle().is_none());
        assert_eq!(registry.len(), 1);
    }
}
