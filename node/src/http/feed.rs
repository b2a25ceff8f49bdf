//! `GET /v1/feed?after=CURSOR&wait=SECONDS&limit=N`: one ordered stream of every new entry
//! (log, index, leaf, kind, rid; findings marked) and every new piece of evidence across the
//! held logs, from the query index ([`crate::query`]).
//!
//! * **Long-poll** (the default): answers at once when items follow the cursor, otherwise
//!   waits up to `wait` seconds (default [`DEFAULT_WAIT`], at most [`MAX_WAIT`]) for one.
//! * **Server-sent events** (`Accept: text/event-stream`): each item is one event whose `id`
//!   is its cursor, so a reconnecting client's `Last-Event-ID` resumes after it.
//!
//! `after` is a cursor, `start` (the default: from the first item) or `now` (only items
//! committed from now on).
//!
//! Bounded buffers: each stream has one producer task (tracked, stopped with the HTTP server)
//! that reads the index in pages and queues at most [`SSE_BUFFER`] events. A reader that
//! leaves the queue full for [`SLOW_READER`] is dropped: the queued events, then a last
//! `dropped` event carrying the cursor to resume from. Nothing waits on a reader but its own
//! producer, so a slow reader never slows the node.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use daylight_api::{FeedDropped, FeedEvent, FeedItem, FeedPage};
use futures::Stream;
use tokio::sync::mpsc;

use super::query::{cursor, limit, params};
use super::*;
use crate::query::QueryIndex;

/// Seconds a long-poll waits when `wait` is not given.
pub const DEFAULT_WAIT: u64 = 20;
/// Longest `wait`, below the request timeout.
pub const MAX_WAIT: u64 = 25;
/// Items per long-poll answer when `limit` is not given, and most per answer.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest `limit`.
pub const MAX_LIMIT: usize = 1000;
/// Events queued per stream.
pub const SSE_BUFFER: usize = 256;
/// How long a stream's queue may stay full before its reader is dropped.
pub const SLOW_READER: Duration = Duration::from_secs(5);
/// Items the producer reads per page.
const SSE_PAGE: usize = 256;

/// `GET /v1/feed`.
pub(super) async fn feed(
    State(state): Shared,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = params(raw.as_deref(), &["after", "wait", "limit"])?;
    state.query.check_available()?;
    let index = state.query.clone();
    let sse = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    let last_event = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let after = match (params.get("after"), &last_event) {
        (Some(a), _) => start(&index, "after", a)?,
        (None, Some(id)) if sse => start(&index, "Last-Event-ID", id)?,
        (None, _) => 0,
    };
    let limit = limit(&params, DEFAULT_LIMIT, MAX_LIMIT)?;
    if sse {
        if params.contains_key("wait") {
            return Err(ApiError::bad_request(
                "wait: a stream of server-sent events does not wait; leave wait out",
            ));
        }
        return Ok(stream(&state, after).into_response());
    }
    let wait = match params.get("wait") {
        None => DEFAULT_WAIT,
        Some(w) => match w.parse::<u64>() {
            Ok(w) if w <= MAX_WAIT => w,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "wait: {w:?} must be a whole number of seconds from 0 to {MAX_WAIT}"
                )));
            }
        },
    };
    long_poll(&state, after, limit, Duration::from_secs(wait)).await
}

/// Where a feed starts: a cursor, `start` or `now`.
fn start(index: &QueryIndex, name: &str, value: &str) -> Result<u64, ApiError> {
    match value {
        "start" => Ok(0),
        "now" => Ok(index.head()),
        c => cursor(index, name, c),
    }
}

/// Reads up to `limit` items after `after`, on the blocking pool.
async fn read(
    index: Arc<QueryIndex>,
    after: u64,
    limit: usize,
) -> Result<Vec<(u64, FeedEvent)>, ApiError> {
    tokio::task::spawn_blocking(move || index.feed(after, limit))
        .await
        .map_err(|e| ApiError::internal(format!("the feed task failed: {e}")))?
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "index_unavailable",
                e.to_string(),
            )
        })
}

async fn long_poll(
    state: &AppState,
    after: u64,
    limit: usize,
    wait: Duration,
) -> Result<Response, ApiError> {
    let index = state.query.clone();
    // Subscribed before the read, so an item committed between the two wakes the wait.
    let mut head = index.watch();
    let mut items = read(index.clone(), after, limit).await?;
    if items.is_empty() && !wait.is_zero() {
        tokio::select! {
            _ = head.wait_for(|h| *h > after) => {}
            _ = tokio::time::sleep(wait) => {}
            _ = state.stopping.cancelled() => {}
        }
        items = read(index.clone(), after, limit).await?;
    }
    let next = items.last().map_or(after, |(seq, _)| *seq);
    let items = items
        .into_iter()
        .map(|(seq, event)| FeedItem {
            cursor: index.cursor(seq),
            event,
        })
        .collect();
    Ok(axum::Json(FeedPage {
        items,
        next: index.cursor(next),
    })
    .into_response())
}

/// The server-sent event of a feed item.
fn event(index: &QueryIndex, seq: u64, event: FeedEvent) -> Event {
    let name = match &event {
        FeedEvent::Entry(_) => "entry",
        FeedEvent::Evidence(_) => "evidence",
    };
    let cursor = index.cursor(seq);
    let item = FeedItem {
        cursor: cursor.clone(),
        event,
    };
    Event::default()
        .id(cursor)
        .event(name)
        .data(serde_json::to_string(&item).unwrap_or_default())
}

/// The last event of a stream the node ends.
fn dropped(index: &QueryIndex, after: u64, reason: &str) -> Event {
    let body = FeedDropped {
        cursor: index.cursor(after),
        reason: reason.to_string(),
    };
    Event::default()
        .event("dropped")
        .data(serde_json::to_string(&body).unwrap_or_default())
}

type Final = Arc<Mutex<Option<Event>>>;

/// A stream of server-sent events after `after`, fed by a tracked producer task.
fn stream(
    state: &AppState,
    after: u64,
) -> Sse<impl Stream<Item = Result<Event, std::convert::Infallible>> + use<>> {
    let (sender, receiver) = mpsc::channel::<Event>(SSE_BUFFER);
    let last: Final = Arc::new(Mutex::new(None));
    drop(state.stopping.spawn(produce(
        state.query.clone(),
        state.stopping.clone(),
        after,
        sender,
        last.clone(),
    )));
    let events = futures::stream::unfold((receiver, last), |(mut receiver, last)| async move {
        match receiver.recv().await {
            Some(event) => Some((Ok(event), (receiver, last))),
            // The producer ended: its last word, if any, then the end of the stream.
            None => {
                let final_event = last.lock().unwrap_or_else(|e| e.into_inner()).take()?;
                Some((Ok(final_event), (receiver, last)))
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// Reads the feed after `after` and queues its events until the reader goes away, is too
/// slow, or the node stops.
async fn produce(
    index: Arc<QueryIndex>,
    stop: crate::shutdown::Shutdown,
    mut after: u64,
    sender: mpsc::Sender<Event>,
    last: Final,
) {
    let mut head = index.watch();
    let end = |after: u64, reason: &str| {
        *last.lock().unwrap_or_else(|e| e.into_inner()) = Some(dropped(&index, after, reason));
    };
    loop {
        let Ok(items) = read(index.clone(), after, SSE_PAGE).await else {
            end(after, "the node's index cannot be read now; resume later");
            return;
        };
        if items.is_empty() {
            tokio::select! {
                changed = head.changed() => if changed.is_err() { return },
                _ = stop.cancelled() => {
                    end(after, "the node is stopping");
                    return;
                }
                _ = sender.closed() => return,
            }
            continue;
        }
        for (seq, item) in items {
            match sender
                .send_timeout(event(&index, seq, item), SLOW_READER)
                .await
            {
                Ok(()) => after = seq,
                Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                    end(
                        after,
                        "this reader did not keep up with the feed; resume from the cursor",
                    );
                    return;
                }
                Err(mpsc::error::SendTimeoutError::Closed(_)) => return,
            }
        }
        if stop.is_cancelled() {
            end(after, "the node is stopping");
            return;
        }
    }
}
