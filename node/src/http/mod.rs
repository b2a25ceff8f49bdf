//! The HTTP API (DESIGN §5.4): the tlog-tiles read path, proofs, receipts, records, metrics.
//!
//! Every error is JSON `{"error": ..., "detail": ...}` with the matching status. Handlers
//! never panic on input: paths and queries are parsed by hand into typed values, bodies are
//! size-limited, and every request has a timeout.
//!
//! * `errors` — the JSON errors;
//! * `tiles` — checkpoint, tiles, proofs, receipts;
//! * `records` — records by rid and by leaf;
//! * `write` — submission and the witness endpoint;
//! * `info` — health, metrics, network, evidence, audit report;
//! * `genesis` — the genesis chain: served, and extended by a posted version;
//! * `query` — filtered pages of records (`GET /v1/records?...`), from the query index;
//! * `feed` — the feed of new entries and evidence (`GET /v1/feed`): long-poll and SSE;
//! * `portal` — the citizens' portal: its pages, assets and service worker, `/v1/members`,
//!   and the redirect from the old `/audit.html`.
//!
//! This file holds the shared state, the router and the helpers every handler uses.

mod errors;
mod feed;
mod genesis;
mod info;
mod portal;
mod query;
mod records;
mod tiles;
mod write;

pub use errors::ApiError;
use genesis::{genesis_chain, post_genesis};
use info::{audit_json, evidence, healthz, metrics, network};
use records::{record, record_by_leaf};
use tiles::{checkpoint, consistency, inclusion, receipt, tile};
use write::{add_checkpoint, submit};

use crate::held::{HeldLog, HeldLogs};
use crate::integrity::SignedRoot;
use crate::publish::sequencer::Sequencer;
use crate::publish::submit::Submitter;
use crate::store::Store;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use daylight_verifier::checkpoint::parse_canonical_u64;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;

/// Largest request body accepted (a batch of records).
pub const MAX_BODY_BYTES: usize = 16 << 20;

/// Longest any request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The log key the node signs with. When a genesis version names another key for the
    /// member, submissions are refused until the operator installs it (`rotate-key`).
    pub log_key: daylight_verifier::VerifierKey,
}

/// What every handler shares.
pub struct AppState {
    /// The database.
    pub store: Arc<Store>,
    /// The node's own log; `None` on an observer.
    pub publisher: Option<Publisher>,
    /// Logs served, by member id.
    pub logs: Arc<HeldLogs>,
    /// Counters.
    pub metrics: Metrics,
    /// The libp2p network.
    pub network: crate::network::Network,
    /// This node's witness; `None` on an observer.
    pub witness: Option<Arc<crate::witness::Witness>>,
    /// Replication (mirrors, evidence).
    pub replication: Arc<crate::mirror::Replication>,
    /// The genesis chain; its newest version is the network definition in force.
    pub genesis: crate::genesis::LiveGenesis,
    /// The audit of every held log, on an auditor member's node.
    pub auditor: Option<Arc<crate::auditor::Auditor>>,
    /// What is wrong right now (damage, failing writes), for `/healthz` and `/metrics`.
    pub health: Arc<crate::health::Health>,
    /// Checks every stored byte against a signed root before it is served.
    pub integrity: Arc<crate::integrity::Integrity>,
    /// The latest head of each log as served, so that every read does not read the
    /// checkpoint and its cosignatures from storage again (see [`HeadCache`]).
    pub heads: HeadCache,
    /// The query index (`GET /v1/records?...`, `GET /v1/feed`), filled by its indexer.
    pub query: Arc<crate::query::QueryIndex>,
    /// The HTTP server's stop signal: feed streams and long-polls end on it, and the feed's
    /// producer tasks are tracked by it.
    pub stopping: crate::shutdown::Shutdown,
}

/// The head of each log as `AppState::head` last built it (checkpoint with every
/// cosignature), with what it was built from.
///
/// Invariant: an entry is used only while the store's heads generation is the one read
/// before the entry was built and, for the node's own log, while the sequencer's head is
/// the same note; any write that changes a head (a batch, a cosignature, a repair) bumps the
/// generation, so a reader never gets a head older than one already acknowledged.
#[derive(Default)]
pub struct HeadCache(std::sync::Mutex<HashMap<u32, CachedHead>>);

/// One log's cached head.
struct CachedHead {
    generation: u64,
    /// The log-signed note it was built from.
    base: Arc<str>,
    size: u64,
    note: Arc<str>,
}

type Shared = State<Arc<AppState>>;

/// The node's HTTP routes.
///
/// `guards` hold the HTTP limits ([`crate::serve`]): the submission handler reads bodies
/// through them, `/metrics` shows their counters, and [`crate::serve::json_errors`] (the
/// outermost layer) refuses over-long targets and makes every framework error JSON.
pub fn router(state: Arc<AppState>, guards: Arc<crate::serve::HttpGuards>) -> Router {
    portal::routes(Router::new())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/records", get(query::list_records).post(submit))
        .route("/v1/feed", get(feed::feed))
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
        .route("/v1/genesis", get(genesis_chain).post(post_genesis))
        .route("/v1/audit", get(audit_json))
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

    fn log(&self, member: &str) -> Result<&HeldLog, ApiError> {
        self.logs.by_member(member).ok_or_else(|| {
            ApiError::not_found(format!("this node does not hold the log of {member:?}"))
        })
    }

    /// The latest signed checkpoint note and its size, for a served log.
    /// The latest checkpoint of a log with every cosignature collected for it.
    fn head(&self, log: &HeldLog) -> Result<(u64, Arc<str>), ApiError> {
        // Read before the head itself (see HeadCache's invariant).
        let generation = self.store.heads_generation();
        let own = self.publisher.as_ref().filter(|_| log.own);
        let own_head = own.map(|publisher| publisher.sequencer.head());
        {
            let cached = self.heads.0.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = cached.get(&log.number)
                && c.generation == generation
                && own_head.as_ref().is_none_or(|h| h.note == c.base)
            {
                return Ok((c.size, c.note.clone()));
            }
        }
        let (size, base): (u64, Arc<str>) = match own_head {
            Some(head) => (head.size, head.note),
            None => {
                let (size, note) = self
                    .store
                    .latest_checkpoint(log.number)
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| {
                        ApiError::not_found("this node holds no checkpoint of that log yet")
                    })?;
                (size, Arc::from(note))
            }
        };
        let note: Arc<str> = Arc::from(crate::mirror::with_cosignatures(
            &self.store,
            log.number,
            &base,
        ));
        let mut cached = self.heads.0.lock().unwrap_or_else(|e| e.into_inner());
        cached.insert(
            log.number,
            CachedHead {
                generation,
                base,
                size,
                note: note.clone(),
            },
        );
        Ok((size, note))
    }

    /// The latest checkpoint of a log as [`head`](Self::head) gives it, with its size and
    /// root: what every read of that log is checked against before it is served.
    fn signed_head(&self, log: &HeldLog) -> Result<(SignedRoot, Arc<str>), ApiError> {
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

/// Runs a handler's storage work (reads that may wait on the disk, integrity checks, proof
/// building) on the blocking pool, so that a slow disk never stalls the async workers that
/// accept connections and answer `/healthz`.
///
/// On the node's multi-threaded runtime this is `block_in_place`: the work runs on this
/// thread after the runtime has handed this worker's other tasks to another thread, which
/// costs less than sending the work to the blocking pool and waiting for it (a proof or a
/// tile is tens of microseconds of work). On a single-threaded runtime the work goes to the
/// blocking pool.
pub(super) async fn on_blocking_pool<T: Send + 'static>(
    state: Arc<AppState>,
    work: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        return tokio::task::block_in_place(move || work(&state));
    }
    tokio::task::spawn_blocking(move || work(&state))
        .await
        .unwrap_or_else(|e| {
            Err(ApiError::internal(format!(
                "the request's task failed: {e}"
            )))
        })
}

pub(super) fn query(raw: &Option<String>) -> HashMap<&str, &str> {
    raw.as_deref()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .collect()
}

pub(super) fn number(params: &HashMap<&str, &str>, name: &str) -> Result<u64, ApiError> {
    let text = params
        .get(name)
        .ok_or_else(|| ApiError::bad_request(format!("missing query parameter {name}")))?;
    parse_canonical_u64(text).ok_or_else(|| {
        ApiError::bad_request(format!("{name} must be a decimal number, got {text:?}"))
    })
}

pub(super) fn text_response(body: String, cache: &'static str) -> Response {
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
