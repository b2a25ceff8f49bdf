//! Request bodies within the limits: a submission's memory reservation, its body read as it
//! arrives with its records counted and measured ([`RecordScanner`]) before anything is
//! parsed, small bodies read whole ([`read_body`]), and refused bodies drained.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use http_body_util::BodyExt as _;
use tokio::sync::SemaphorePermit;

use super::guards::HttpGuards;
use crate::config::HttpLimits;
use crate::http::ApiError;

/// Submission reservations are counted in units of this many bytes.
pub(super) const UNIT: usize = 1024;
/// Submission bodies larger than this are checked off the async workers (see `http::submit`).
pub const OFFLOAD_BYTES: usize = 64 << 10;

impl HttpGuards {
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
}
