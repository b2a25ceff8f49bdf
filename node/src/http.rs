//! The HTTP API (DESIGN §5.4): the tlog-tiles read path, proofs, receipts, records, metrics.
//!
//! Every error is JSON `{"error": ..., "detail": ...}` with the matching status. Handlers
//! never panic on input: paths and queries are parsed by hand into typed values, bodies are
//! size-limited, and every request has a timeout.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use daylight_verifier::Hash;
use daylight_verifier::bundle::ProofBundle;
use daylight_verifier::checkpoint::parse_canonical_u64;
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::tile::{Tile, TileKind, push_bundle_entry};
use serde_json::json;
use tower_http::timeout::TimeoutLayer;

use crate::integrity::{Damage, SignedRoot};
use crate::sequencer::{Sequencer, SequencerError};
use crate::storage::Store;
use crate::submit::{SubmitError, Submitter};

/// Largest request body accepted (a batch of records).
pub const MAX_BODY_BYTES: usize = 16 << 20;
/// Longest any request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A JSON error response: `{"error": <code>, "detail": <explanation>}` with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: &'static str,
    detail: String,
    /// Seconds for a `Retry-After` header, when trying again later can succeed.
    retry_after: Option<u32>,
}

impl ApiError {
    /// An error with a status, a short machine-readable code and a human explanation.
    pub fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// The same error, telling the client to try again after `seconds` (`Retry-After`).
    pub fn retry_after(mut self, seconds: u32) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    /// The JSON body's text.
    pub fn json_text(&self) -> String {
        json!({ "error": self.error, "detail": self.detail }).to_string()
    }

    fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {detail}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            detail.to_string(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "detail": self.detail });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> ApiError {
        match e {
            SubmitError::Invalid { .. } | SubmitError::Malformed(_) | SubmitError::Empty => {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_record",
                    e.to_string(),
                )
            }
            SubmitError::DuplicateInSubmission { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "duplicate_rid_in_submission",
                e.to_string(),
            ),
            SubmitError::Sequencer(SequencerError::DuplicateRid(_)) => {
                ApiError::new(StatusCode::CONFLICT, "duplicate_rid", e.to_string())
            }
            SubmitError::Sequencer(SequencerError::Unresolved { .. }) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unresolved_reference",
                e.to_string(),
            ),
            SubmitError::Sequencer(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "log_unavailable",
                e.to_string(),
            ),
        }
    }
}

/// Counters exported at `/metrics`.
#[derive(Default)]
pub struct Metrics {
    /// HTTP requests answered.
    pub requests: AtomicU64,
    /// Records accepted into the log.
    pub records_logged: AtomicU64,
    /// Records refused at submission.
    pub records_refused: AtomicU64,
}

/// One log this node serves.
#[derive(Clone, Debug)]
pub struct ServedLog {
    /// The storage number of the log.
    pub number: u32,
    /// The log's origin.
    pub origin: String,
}

/// What a member node has and an observer lacks: its own log.
pub struct Publisher {
    /// The member id (its log is `/log/<member>`).
    pub member: String,
    /// Its log's origin.
    pub origin: String,
    /// Its log writer.
    pub sequencer: Sequencer,
    /// Record checks for submissions.
    pub submitter: Submitter,
}

/// What every handler shares.
pub struct AppState {
    /// The database.
    pub store: Arc<Store>,
    /// The node's own log; `None` on an observer.
    pub publisher: Option<Publisher>,
    /// Logs served, by member id.
    pub logs: HashMap<String, ServedLog>,
    /// Counters.
    pub metrics: Metrics,
    /// The libp2p network.
    pub network: crate::p2p::Network,
    /// This node's witness; `None` on an observer.
    pub witness: Option<Arc<crate::witness::Witness>>,
    /// Replication (mirrors, evidence).
    pub replication: Arc<crate::replication::Replication>,
    /// The network definition.
    pub genesis: Arc<daylight_genesis::Genesis>,
    /// The audit of every held log, on an auditor member's node.
    pub auditor: Option<Arc<crate::auditor::Auditor>>,
    /// What is wrong right now (damage, failing writes), for `/healthz` and `/metrics`.
    pub health: Arc<crate::health::Health>,
    /// Checks every stored byte against a signed root before it is served.
    pub integrity: Arc<crate::integrity::Integrity>,
}

type Shared = State<Arc<AppState>>;

/// The node's HTTP routes.
///
/// `guards` hold the HTTP limits ([`crate::serve`]): the submission handler reads bodies
/// through them, `/metrics` shows their counters, and [`crate::serve::json_errors`] (the
/// outermost layer) refuses over-long targets and makes every framework error JSON.
pub fn router(state: Arc<AppState>, guards: Arc<crate::serve::HttpGuards>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/records", post(submit))
        .route("/v1/records/{rid}", get(record))
        .route("/v1/leaf/{leaf}", get(record_by_leaf))
        .route("/log/{member}/checkpoint", get(checkpoint))
        .route("/log/{member}/tile/{*path}", get(tile))
        .route("/log/{member}/proof/inclusion", get(inclusion))
        .route("/log/{member}/proof/consistency", get(consistency))
        .route("/log/{member}/receipt/{index}", get(receipt))
        .route("/log/{member}/add-checkpoint", post(add_checkpoint))
        .route("/v1/evidence", get(evidence))
        .route("/v1/network", get(network))
        .route("/v1/audit", get(audit_json))
        .route("/audit.html", get(audit_html))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_request,
        ))
        .layer(axum::middleware::from_fn_with_state(
            guards.clone(),
            crate::serve::json_errors,
        ))
        .layer(axum::Extension(guards))
        .with_state(state)
}

async fn count_request(
    State(state): Shared,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    state.metrics.requests.fetch_add(1, Ordering::Relaxed);
    next.run(request).await
}

impl AppState {
    /// The node's own log, or the refusal an observer gives.
    fn observer_refusal(&self) -> Result<&Publisher, ApiError> {
        self.publisher.as_ref().ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "observer",
                "this node is an observer: it mirrors and serves the logs but publishes none; \
                 use the member's own node",
            )
        })
    }

    fn log(&self, member: &str) -> Result<&ServedLog, ApiError> {
        self.logs.get(member).ok_or_else(|| {
            ApiError::not_found(format!("this node does not hold the log of {member:?}"))
        })
    }

    /// The latest signed checkpoint note and its size, for a served log.
    /// The latest checkpoint of a log with every cosignature collected for it.
    fn head(&self, log: &ServedLog) -> Result<(u64, Arc<str>), ApiError> {
        let own = self.publisher.as_ref().filter(|p| p.origin == log.origin);
        let (size, note) = if let Some(publisher) = own {
            let head = publisher.sequencer.head();
            (head.size, head.note.to_string())
        } else {
            self.store
                .latest_checkpoint(log.number)
                .map_err(ApiError::internal)?
                .ok_or_else(|| {
                    ApiError::not_found("this node holds no checkpoint of that log yet")
                })?
        };
        let note = crate::replication::with_cosignatures(&self.store, log.number, &note);
        Ok((size, Arc::from(note)))
    }

    /// The latest checkpoint of a log as [`head`](Self::head) gives it, with its size and
    /// root: what every read of that log is checked against before it is served.
    fn signed_head(&self, log: &ServedLog) -> Result<(SignedRoot, Arc<str>), ApiError> {
        let (size, note) = self.head(log)?;
        let head = self.integrity.check_note(log.number, &note)?;
        if head.size != size {
            return Err(ApiError::internal(
                "the stored checkpoint's size disagrees with its note",
            ));
        }
        Ok((head, note))
    }
}

impl From<Damage> for ApiError {
    fn from(e: Damage) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "damaged", e.to_string())
    }
}

fn query(raw: &Option<String>) -> HashMap<&str, &str> {
    raw.as_deref()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .collect()
}

fn number(params: &HashMap<&str, &str>, name: &str) -> Result<u64, ApiError> {
    let text = params
        .get(name)
        .ok_or_else(|| ApiError::bad_request(format!("missing query parameter {name}")))?;
    parse_canonical_u64(text).ok_or_else(|| {
        ApiError::bad_request(format!("{name} must be a decimal number, got {text:?}"))
    })
}

fn text_response(body: String, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

async fn checkpoint(
    State(state): Shared,
    Path(member): Path<String>,
) -> Result<Response, ApiError> {
    let (_, note) = state.signed_head(state.log(&member)?)?;
    Ok(text_response(note.to_string(), "no-cache, max-age=2"))
}

async fn tile(
    State(state): Shared,
    Path((member, path)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let log = state.log(&member)?;
    let tile =
        Tile::parse(&format!("tile/{path}")).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let (head, _) = state.signed_head(log)?;
    let size = head.size;
    if tile.min_tree_size().is_none_or(|needed| needed > size) {
        return Err(ApiError::not_found(format!(
            "tile {} is not part of the tree of size {size}",
            tile.path()
        )));
    }
    let body = match tile.kind {
        TileKind::Hashes { level } => {
            let ids: Vec<_> = tile.node_ids().into_iter().flatten().collect();
            let reader = state.store.hash_reader(log.number);
            let hashes = daylight_verifier::merkle::HashReader::read_hashes(&reader, &ids)
                .map_err(|e| {
                    state.integrity.report(
                        log.number,
                        (0, size),
                        format!("hash tile {} ({e})", tile.path()),
                    )
                })?;
            state
                .integrity
                .check_hash_tile(log.number, level, tile.index, &hashes, head)?;
            hashes.iter().flat_map(|h| h.0).collect::<Vec<u8>>()
        }
        TileKind::Entries => {
            let range = tile
                .entry_range()
                .ok_or_else(|| ApiError::bad_request("bad tile"))?;
            let entries = state
                .store
                .entries(log.number, range.clone())
                .map_err(ApiError::internal)?;
            state.integrity.check_entries(
                log.number,
                range.start,
                &entries,
                range.end - range.start,
                head,
            )?;
            let mut bundle = Vec::new();
            for entry in &entries {
                push_bundle_entry(&mut bundle, entry).map_err(ApiError::internal)?;
            }
            bundle
        }
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        body,
    )
        .into_response())
}

/// Which proof a proof endpoint serves.
#[derive(Clone, Copy)]
enum ProofKind {
    /// `?index=I&size=N`: leaf I in the tree of size N.
    Inclusion,
    /// `?old=M&new=N`: the tree of size M is a prefix of the tree of size N.
    Consistency,
}

async fn inclusion(
    State(state): Shared,
    Path(member): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    proof(&state, &member, &raw, ProofKind::Inclusion)
}

async fn consistency(
    State(state): Shared,
    Path(member): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    proof(&state, &member, &raw, ProofKind::Consistency)
}

/// Serves a proof over sizes no larger than the log's latest checkpoint, as JSON with the two
/// query numbers and the proof hashes in base64.
fn proof(
    state: &AppState,
    member: &str,
    raw: &Option<String>,
    kind: ProofKind,
) -> Result<Response, ApiError> {
    let log = state.log(member)?;
    let params = query(raw);
    let (first, second) = match kind {
        ProofKind::Inclusion => ("index", "size"),
        ProofKind::Consistency => ("old", "new"),
    };
    let (a, b) = (number(&params, first)?, number(&params, second)?);
    let (head, _) = state.signed_head(log)?;
    let current = head.size;
    let checks = &state.integrity;
    let proof = match kind {
        ProofKind::Inclusion if a < b && b <= current => {
            checks.inclusion_proof(log.number, a, b, None, head)
        }
        ProofKind::Consistency if 0 < a && a <= b && b <= current => {
            checks.consistency_proof(log.number, a, b, head)
        }
        ProofKind::Inclusion => {
            return Err(ApiError::bad_request(format!(
                "need index < size <= {current} (the latest checkpoint), got index {a}, size {b}"
            )));
        }
        ProofKind::Consistency => {
            return Err(ApiError::bad_request(format!(
                "need 0 < old <= new <= {current} (the latest checkpoint), got old {a}, new {b}"
            )));
        }
    }?;
    Ok(axum::Json(json!({
        first: a,
        second: b,
        "proof": proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
    }))
    .into_response())
}

async fn receipt(
    State(state): Shared,
    Path((member, index)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let log = state.log(&member)?;
    let index = parse_canonical_u64(&index).ok_or_else(|| {
        ApiError::bad_request(format!("index must be a decimal number, got {index:?}"))
    })?;
    let (head, note) = state.signed_head(log)?;
    let size = head.size;
    if index >= size {
        return Err(ApiError::not_found(format!(
            "no entry {index} in the log's latest checkpoint (size {size})"
        )));
    }
    let entry = entry_at(&state, log, index)?;
    let proof =
        state
            .integrity
            .inclusion_proof(log.number, index, size, Some(leaf_hash(&entry)), head)?;
    let bundle = ProofBundle {
        extra: Some(entry),
        index,
        proof,
        checkpoint: note.to_string(),
    };
    Ok(text_response(bundle.to_text(), "no-cache"))
}

async fn record(State(state): Shared, Path(rid): Path<String>) -> Result<Response, ApiError> {
    // A rid starts with its member id and a dash; member ids may hold dashes themselves, so
    // the longest held member id that prefixes the rid names the log.
    let (member, log) = state
        .logs
        .iter()
        .filter(|(member, _)| {
            rid.strip_prefix(member.as_str())
                .is_some_and(|rest| rest.starts_with('-'))
        })
        .max_by_key(|(member, _)| member.len())
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no held log's member id prefixes the rid {rid:?}; a rid is <member id>-<rest>"
            ))
        })?;
    let index = state
        .store
        .rid_index(log.number, &rid)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("no record {rid:?} in the log of {member}")))?;
    let entry = entry_at(&state, log, index)?;
    // The entry is the one the log signed at `index`; the rid index must also be right.
    let logged_rid = serde_json::from_slice::<serde_json::Value>(&entry)
        .ok()
        .and_then(|v| v.get("rid")?.as_str().map(str::to_string));
    if logged_rid.as_deref() != Some(rid.as_str()) {
        tracing::error!("damage in the record index of {member}: {rid:?} points at entry {index}");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "damaged",
            format!(
                "this node's record index for {rid:?} is damaged; ask another node for it, or \
                 find it by leaf or in the log's tiles"
            ),
        ));
    }
    record_at(&state, member, log, rid, index, entry)
}

/// `GET /v1/leaf/<hex>`: the entry of this node's own log with that leaf hash, shaped like
/// `GET /v1/records/<rid>` (mirrored logs are found by rid; see `storage::LEAVES`).
async fn record_by_leaf(
    State(state): Shared,
    Path(leaf): Path<String>,
) -> Result<Response, ApiError> {
    let hash = Hash::from_hex(&leaf)
        .map_err(|e| ApiError::bad_request(format!("leaf must be 64 lowercase hex digits: {e}")))?;
    let (number, index) = state
        .store
        .find_leaf(&hash)
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no entry with leaf {leaf} in this node's own log; ask the publisher's node, \
                 or look the record up by rid"
            ))
        })?;
    let (member, log) = state
        .logs
        .iter()
        .find(|(_, log)| log.number == number)
        .ok_or_else(|| ApiError::internal("leaf indexed in a log that is not served"))?;
    let entry = entry_at(&state, log, index)?;
    let rid = serde_json::from_slice::<serde_json::Value>(&entry)
        .ok()
        .and_then(|v| v.get("rid")?.as_str().map(str::to_string))
        .unwrap_or_default();
    record_at(&state, member, log, rid, index, entry)
}

/// Entry `index` of `log`, checked against the log's signed root before it is served.
fn entry_at(state: &AppState, log: &ServedLog, index: u64) -> Result<Vec<u8>, ApiError> {
    let (head, _) = state.signed_head(log)?;
    if index >= head.size {
        return Err(ApiError::not_found(format!(
            "entry {index} is not yet covered by the log's latest checkpoint (size {})",
            head.size
        )));
    }
    let entries = state
        .store
        .entries(log.number, index..index + 1)
        .map_err(ApiError::internal)?;
    state
        .integrity
        .check_entries(log.number, index, &entries, 1, head)?;
    Ok(entries.into_iter().next().unwrap_or_default())
}

/// The JSON answer for the record `entry` at `index` of `log`: its entry, leaf, and every
/// correction or void of its rid, in log order.
fn record_at(
    state: &AppState,
    member: &str,
    log: &ServedLog,
    rid: String,
    index: u64,
    entry: Vec<u8>,
) -> Result<Response, ApiError> {
    let as_json = |bytes: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(bytes).unwrap_or(serde_json::Value::Null)
    };
    let amendments = state
        .store
        .amendments(log.number, &rid)
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|i| {
            let bytes = entry_at(state, log, i)?;
            Ok(json!({
                "index": i,
                "leaf": leaf_hash(&bytes).to_hex(),
                "entry": as_json(&bytes),
            }))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(axum::Json(json!({
        "log": member,
        "rid": rid,
        "index": index,
        "leaf": leaf_hash(&entry).to_hex(),
        "entry": as_json(&entry),
        "corrections": amendments,
    }))
    .into_response())
}

/// The latest audit report, or why there is none.
async fn audit_report(
    state: &AppState,
) -> Result<Arc<daylight_verifier::audit::AuditReport>, ApiError> {
    let auditor = state.auditor.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_an_auditor",
            "this node is not an auditor; ask an auditor member's node, or run `daylight audit`",
        )
    })?;
    auditor.report().await.ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_pending",
            "the first audit has not finished yet; try again in a moment",
        )
    })
}

/// `GET /v1/audit`: the auditor's report as JSON.
async fn audit_json(State(state): Shared) -> Result<Response, ApiError> {
    let report = audit_report(&state).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        report.to_json(),
    )
        .into_response())
}

/// `GET /audit.html`: the auditor's report as one self-contained page.
async fn audit_html(State(state): Shared) -> Result<Response, ApiError> {
    let report = audit_report(&state).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        report.render_html(),
    )
        .into_response())
}

/// `POST /v1/records`. The body is read through the HTTP guards (a memory reservation taken
/// before it is read, and the body, record-count and record-size limits: 413, or 503 when
/// the budget stays full), then checked and logged; the reservation is held until the answer.
async fn submit(
    State(state): Shared,
    axum::Extension(guards): axum::Extension<Arc<crate::serve::HttpGuards>>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let publisher = match state.observer_refusal() {
        Ok(publisher) => publisher,
        Err(refusal) => {
            guards.discard_body(request).await;
            return Err(refusal);
        }
    };
    // While the log cannot be written, refuse before reading and checking the body.
    if let Some(cause) = publisher.sequencer.fault() {
        guards.discard_body(request).await;
        return Err(SubmitError::Sequencer(SequencerError::Unavailable(cause.to_string())).into());
    }
    let submission = guards.read_submission(request).await.inspect_err(|_| {
        state
            .metrics
            .records_refused
            .fetch_add(1, Ordering::Relaxed);
    })?;
    let body = &submission.body;
    let outcome = if body.len() > crate::serve::OFFLOAD_BYTES {
        // A large body is split and checked on a blocking thread: parsing megabytes on an
        // async worker would hold up every other request on it (/healthz, reads).
        let (submitter, sequencer) = (publisher.submitter.clone(), publisher.sequencer.clone());
        let (runtime, owned) = (tokio::runtime::Handle::current(), body.clone());
        tokio::task::spawn_blocking(move || runtime.block_on(submitter.submit(&sequencer, &owned)))
            .await
            .map_err(ApiError::internal)?
    } else {
        publisher.submitter.submit(&publisher.sequencer, body).await
    };
    match outcome {
        Ok(accepted) => {
            state
                .metrics
                .records_logged
                .fetch_add(accepted.len() as u64, Ordering::Relaxed);
            let single = body
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_none_or(|b| *b != b'[');
            let items: Vec<serde_json::Value> = accepted
                .iter()
                .map(|(rid, ack)| {
                    json!({
                        "rid": rid,
                        "index": ack.index,
                        "leaf": ack.leaf.to_hex(),
                        "checkpoint": &*ack.checkpoint,
                    })
                })
                .collect();
            let body = if single {
                items.into_iter().next().unwrap_or_default()
            } else {
                json!(items)
            };
            Ok((StatusCode::CREATED, axum::Json(body)).into_response())
        }
        Err(e) => {
            state
                .metrics
                .records_refused
                .fetch_add(1, Ordering::Relaxed);
            Err(e.into())
        }
    }
}

/// `GET /healthz`: `{"status":"ok"}` (200), or `{"status":"degraded","problems":[...]}` (503)
/// naming each problem and what the node does about it. Answers from memory only, so it
/// stays fast whatever the disk or the database is doing.
async fn healthz(State(state): Shared) -> Response {
    let problems = state.health.report();
    if problems.is_empty() {
        axum::Json(json!({ "status": "ok" })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "degraded", "problems": problems })),
        )
            .into_response()
    }
}

async fn metrics(
    State(state): Shared,
    axum::Extension(guards): axum::Extension<Arc<crate::serve::HttpGuards>>,
) -> Result<Response, ApiError> {
    let mut out = String::new();
    guards.metrics.render(&mut out);
    let (m, integrity) = (&state.metrics, &state.integrity);
    let counters: [(&str, &str, u64); 8] = [
        (
            "daylight_http_requests_total",
            "HTTP requests received.",
            m.requests.load(Ordering::Relaxed),
        ),
        (
            "daylight_records_logged_total",
            "Records made durable in the log.",
            m.records_logged.load(Ordering::Relaxed),
        ),
        (
            "daylight_mirror_entries_fetched_total",
            "Entries fetched from peers, verified and stored since start.",
            state.replication.entries_fetched(),
        ),
        (
            "daylight_records_refused_total",
            "Submissions refused.",
            m.records_refused.load(Ordering::Relaxed),
        ),
        (
            "daylight_problems_raised_total",
            "Problems (damage, failing writes) raised since start.",
            state.health.raised_total(),
        ),
        (
            "daylight_damage_found_total",
            "Damaged stored items found (on read or by the scrub) since start.",
            integrity.damage_found.load(Ordering::Relaxed),
        ),
        (
            "daylight_repairs_total",
            "Repairs of damaged stored items written since start.",
            integrity.repairs.load(Ordering::Relaxed),
        ),
        (
            "daylight_scrubbed_entries_total",
            "Stored entries checked by the background scrub since start.",
            integrity.scrubbed.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, value) in counters {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
        ));
    }
    out.push_str(
        "# HELP daylight_problems Problems raised now, by kind (0 when healthy).\n\
         # TYPE daylight_problems gauge\n",
    );
    for (kind, count) in state.health.counts() {
        out.push_str(&format!("daylight_problems{{kind=\"{kind}\"}} {count}\n"));
    }
    out.push_str(
        "# HELP daylight_log_size Entries in each log held.\n# TYPE daylight_log_size gauge\n",
    );
    let mut members: Vec<&String> = state.logs.keys().collect();
    members.sort();
    for member in members {
        if let Ok((size, _)) = state.head(&state.logs[member]) {
            out.push_str(&format!("daylight_log_size{{log=\"{member}\"}} {size}\n"));
        }
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        out,
    )
        .into_response())
}

/// C2SP tlog-witness add-checkpoint: `old <size>`, proof lines, a blank line, the checkpoint.
/// The checkpoint must be of `<member>`'s log (400 otherwise), and a witness never cosigns its
/// own log (403). The body is at most [`crate::witness::MAX_REQUEST_BYTES`].
async fn add_checkpoint(
    State(state): Shared,
    Path(member): Path<String>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let origin = state.log(&member)?.origin.clone();
    let body: Bytes = crate::serve::read_body(request, crate::witness::MAX_REQUEST_BYTES).await?;
    let text =
        std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
    let (head, checkpoint) = text.split_once("\n\n").ok_or_else(|| {
        ApiError::bad_request(
            "expected old size and proof lines, a blank line, then the checkpoint",
        )
    })?;
    let mut lines = head.split('\n');
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .and_then(parse_canonical_u64)
        .ok_or_else(|| ApiError::bad_request("the first line must be `old <size>`"))?;
    let proof = lines
        .map(|l| {
            daylight_verifier::Hash::from_base64(l).map_err(|_| {
                ApiError::bad_request(format!("proof line {l:?} is not a base64 hash"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if proof.len() > 63 {
        return Err(ApiError::bad_request("more than 63 proof lines"));
    }
    let witness = state.witness.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_a_witness",
            "this node is an observer, not a witness",
        )
    })?;
    let note = checkpoint.as_bytes().to_vec();
    let outcome = tokio::task::spawn_blocking(move || {
        witness.add_checkpoint_for(&origin, old, &proof, &note)
    })
    .await
    .map_err(ApiError::internal)?;
    use crate::witness::AddOutcome;
    match outcome {
        AddOutcome::Cosigned(lines) => {
            let body: String = lines.iter().map(|l| format!("{}\n", l.to_line())).collect();
            Ok(text_response(body, "no-store"))
        }
        AddOutcome::Conflict { latest, evidence } => {
            if let Some(evidence) = evidence {
                state.replication.record_evidence(*evidence).await;
            }
            Ok((
                StatusCode::CONFLICT,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/x.tlog.size"),
                )],
                format!("{latest}\n"),
            )
                .into_response())
        }
        AddOutcome::BadRequest(detail) => Err(ApiError::bad_request(detail)),
        AddOutcome::NotSignedByLog(detail) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_signed_by_log",
            detail,
        )),
        AddOutcome::Equivocating => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "equivocating_log",
            "this witness holds evidence that the log equivocated and no longer cosigns it",
        )),
        AddOutcome::UnknownOrigin(origin) => Err(ApiError::not_found(format!(
            "unknown log origin {origin:?}"
        ))),
        AddOutcome::BadProof(detail) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_proof",
            detail,
        )),
        AddOutcome::WrongLog { expected, found } => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "origin_mismatch",
            format!(
                "this endpoint witnesses the log {expected:?} (/log/{member}), but the \
                 checkpoint is of {found:?}; post it to that log's add-checkpoint endpoint"
            ),
        )),
        AddOutcome::OwnLog(origin) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "own_log",
            format!(
                "{origin:?} is this node's own log: a witness does not cosign its own log, \
                 since a cosignature vouches that someone other than the log saw the \
                 checkpoint; ask another member's witness"
            ),
        )),
    }
}

async fn evidence(State(state): Shared) -> Result<Response, ApiError> {
    let documents = state.store.evidence().map_err(ApiError::internal)?;
    let values: Vec<serde_json::Value> = documents
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    Ok(axum::Json(values).into_response())
}

async fn network(State(state): Shared) -> Result<Response, ApiError> {
    let peers = state.network.peers().await.unwrap_or_default();
    // Every genesis member but this node, connected or not, and when it was last heard from.
    let links = state.network.members().await.unwrap_or_default();
    let own_id = state.publisher.as_ref().map(|p| p.member.as_str());
    let member_links: Vec<serde_json::Value> = state
        .genesis
        .members()
        .iter()
        .filter(|m| Some(m.id.as_str()) != own_id)
        .map(|m| {
            let link = links.iter().find(|l| l.peer_id == m.peer_id);
            json!({
                "member": m.id,
                "peer_id": m.peer_id,
                "connected": link.is_some_and(|l| l.connected),
                "last_seen": link.and_then(|l| l.last_seen.clone()),
            })
        })
        .collect();
    let mut logs = Vec::new();
    let mut members: Vec<&String> = state.logs.keys().collect();
    members.sort();
    for member in members {
        let log = &state.logs[member];
        let head = state.head(log).ok();
        logs.push(json!({
            "member": member,
            "origin": log.origin,
            "size": head.as_ref().map(|h| h.0),
            "entries_held": state.store.size(log.number).unwrap_or(0),
            "checkpoint": head.as_ref().map(|h| h.1.to_string()),
            "equivocating": state.store.is_equivocating(&log.origin).unwrap_or(false),
        }));
    }
    let evidence: Vec<serde_json::Value> = state
        .store
        .evidence()
        .map_err(ApiError::internal)?
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    Ok(axum::Json(json!({
        "genesis": state.genesis.id(),
        "network": state.genesis.network(),
        "member": state.publisher.as_ref().map(|p| p.member.as_str()),
        "peer_id": state.network.local_peer.to_string(),
        "peers": peers,
        "members": member_links,
        "logs": logs,
        "evidence": evidence,
    }))
    .into_response())
}
