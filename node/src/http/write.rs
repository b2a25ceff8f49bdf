//! The write endpoints: record submission (the node's own log, through the submit checks and
//! the sequencer) and the tlog-witness `add-checkpoint`.

use crate::publish::sequencer::SequencerError;
use crate::publish::submit::SubmitError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use daylight_verifier::checkpoint::parse_canonical_u64;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::*;

/// `POST /v1/records`. The body is read through the HTTP guards (a memory reservation taken
/// before it is read, and the body, record-count and record-size limits: 413, or 503 when
/// the budget stays full), then checked and logged; the reservation is held until the answer.
pub(super) async fn submit(
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
    // A genesis version rotated this node's log key: what it would sign now no longer counts.
    if let Some(refusal) = super::genesis::rotated_away(&state, publisher) {
        guards.discard_body(request).await;
        return Err(refusal);
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
            let mut acks: Vec<daylight_api::Ack> = accepted
                .iter()
                .map(|(rid, ack)| daylight_api::Ack {
                    rid: rid.clone(),
                    index: ack.index,
                    leaf: ack.leaf,
                    checkpoint: ack.checkpoint.to_string(),
                })
                .collect();
            // One record submitted alone is answered with its acknowledgement alone.
            if single && let Some(ack) = acks.pop() {
                return Ok((StatusCode::CREATED, axum::Json(ack)).into_response());
            }
            Ok((StatusCode::CREATED, axum::Json(acks)).into_response())
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

/// C2SP tlog-witness add-checkpoint: `old <size>`, proof lines, a blank line, the checkpoint.
/// The checkpoint must be of `<member>`'s log (400 otherwise), and a witness never cosigns its
/// own log (403). The body is at most [`crate::witness::MAX_REQUEST_BYTES`].
pub(super) async fn add_checkpoint(
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
