//! Records by rid and by leaf hash, with their corrections and voids, each entry checked
//! against the signed checkpoint before it is served.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use daylight_verifier::Hash;
use daylight_verifier::merkle::leaf_hash;

use super::*;

pub(super) async fn record(
    State(state): Shared,
    Path(rid): Path<String>,
) -> Result<Response, ApiError> {
    on_blocking_pool(state, move |state| {
        // A rid starts with its member id and a dash; member ids may hold dashes themselves, so
        // the longest held member id that prefixes the rid names the log.
        let log = state
            .logs
            .iter()
            .filter(|log| {
                rid.strip_prefix(log.member.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
            })
            .max_by_key(|log| log.member.len())
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no held log's member id prefixes the rid {rid:?}; a rid is <member id>-<rest>"
                ))
            })?;
        let member = &log.member;
        let index = state
            .store
            .rid_index(log.number, &rid)
            .map_err(ApiError::internal)?
            .ok_or_else(|| {
                ApiError::not_found(format!("no record {rid:?} in the log of {member}"))
            })?;
        let entry = entry_at(state, log, index)?;
        // The entry is the one the log signed at `index`; the rid index must also be right.
        let logged_rid = serde_json::from_slice::<serde_json::Value>(&entry)
            .ok()
            .and_then(|v| v.get("rid")?.as_str().map(str::to_string));
        if logged_rid.as_deref() != Some(rid.as_str()) {
            tracing::error!(
                "damage in the record index of {member}: {rid:?} points at entry {index}"
            );
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "damaged",
                format!(
                    "this node's record index for {rid:?} is damaged; ask another node for it, or \
                     find it by leaf or in the log's tiles"
                ),
            ));
        }
        record_at(state, member, log, rid, index, entry)
    })
    .await
}

/// `GET /v1/leaf/<hex>`: the entry of this node's own log with that leaf hash, shaped like
/// `GET /v1/records/<rid>` (mirrored logs are found by rid; see `store::tables::LEAF_GROUPS`).
pub(super) async fn record_by_leaf(
    State(state): Shared,
    Path(leaf): Path<String>,
) -> Result<Response, ApiError> {
    on_blocking_pool(state, move |state| {
        let hash = Hash::from_hex(&leaf).map_err(|e| {
            ApiError::bad_request(format!("leaf must be 64 lowercase hex digits: {e}"))
        })?;
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
        let log = state
            .logs
            .by_number(number)
            .ok_or_else(|| ApiError::internal("leaf indexed in a log that is not served"))?;
        let entry = entry_at(state, log, index)?;
        let rid = serde_json::from_slice::<serde_json::Value>(&entry)
            .ok()
            .and_then(|v| v.get("rid")?.as_str().map(str::to_string))
            .unwrap_or_default();
        record_at(state, &log.member, log, rid, index, entry)
    })
    .await
}

/// Entry `index` of `log`, checked against the log's signed root before it is served.
pub(super) fn entry_at(state: &AppState, log: &HeldLog, index: u64) -> Result<Vec<u8>, ApiError> {
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
pub(super) fn record_at(
    state: &AppState,
    member: &str,
    log: &HeldLog,
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
            Ok(daylight_api::Amendment {
                index: i,
                leaf: leaf_hash(&bytes),
                entry: as_json(&bytes),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(axum::Json(daylight_api::RecordAnswer {
        log: member.to_string(),
        rid,
        index,
        leaf: leaf_hash(&entry),
        entry: as_json(&entry),
        corrections: amendments,
    })
    .into_response())
}
