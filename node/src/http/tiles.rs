//! The tlog-tiles read path and what is built from it: the checkpoint with its
//! cosignatures, hash tiles and entry bundles, inclusion and consistency proofs, and receipts.
//! Everything served is first tied to the log's signed checkpoint (crate::integrity); damage
//! is answered 503, never with bytes. Full tiles are read whole from storage (one read, see
//! `crate::store::blobs`) and, once checked, kept in the store's hot-tile cache
//! (`crate::store::cache`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use daylight_verifier::bundle::ProofBundle;
use daylight_verifier::checkpoint::parse_canonical_u64;
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::tile::{TILE_WIDTH, Tile, TileKind, push_bundle_entry, read_bundle};

use super::records::entry_at;
use super::*;
use crate::store::blobs::parse_hash_tile;
use crate::store::cache::TileKey;

pub(super) async fn checkpoint(
    State(state): Shared,
    Path(member): Path<String>,
) -> Result<Response, ApiError> {
    on_blocking_pool(state, move |state| {
        let (_, note) = state.signed_head(state.log(&member)?)?;
        Ok(text_response(note.to_string(), "no-cache, max-age=2"))
    })
    .await
}

/// `GET /log/<member>/tile/<path>`: a hash tile or entry bundle of the latest checkpoint's
/// tree. A full tile comes from the hot-tile cache, else from its stored blob (one read) and
/// is cached once it passed the checks; a partial tile, or a full one of a database written
/// before blobs, is built from the rows. Every byte is checked against the signed root first.
pub(super) async fn tile(
    State(state): Shared,
    Path((member, path)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    // A full tile in the hot-tile cache is answered from memory, on this worker: it passed
    // the checks against a signed root when it was cached, and a full tile never changes as
    // the log grows, so neither storage nor the current checkpoint needs to be read.
    if let Ok(log) = state.log(&member)
        && let Ok(tile) = Tile::parse(&format!("tile/{path}"))
        && tile.width == TILE_WIDTH
    {
        let key = TileKey {
            log: log.number,
            kind: tile.kind,
            index: tile.index,
        };
        if let Some(bytes) = state.store.tile_cache().get(&key) {
            return Ok(tile_response(Bytes::from_owner(bytes)));
        }
    }
    on_blocking_pool(state, move |state| {
        let log = state.log(&member)?;
        let tile = Tile::parse(&format!("tile/{path}"))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let (head, _) = state.signed_head(log)?;
        let size = head.size;
        if tile.min_tree_size().is_none_or(|needed| needed > size) {
            return Err(ApiError::not_found(format!(
                "tile {} is not part of the tree of size {size}",
                tile.path()
            )));
        }
        let full = tile.width == TILE_WIDTH;
        let key = TileKey {
            log: log.number,
            kind: tile.kind,
            index: tile.index,
        };
        let cache = state.store.tile_cache();
        if full && let Some(bytes) = cache.get(&key) {
            return Ok(tile_response(Bytes::from_owner(bytes)));
        }
        let body = match tile.kind {
            TileKind::Hashes { level } => hash_tile(state, log.number, &tile, level, head)?,
            TileKind::Entries => bundle(state, log.number, &tile, head)?,
        };
        if full {
            let bytes: Arc<[u8]> = Arc::from(body);
            cache.insert(key, bytes.clone());
            return Ok(tile_response(Bytes::from_owner(bytes)));
        }
        Ok(tile_response(Bytes::from(body)))
    })
    .await
}

/// The bytes of a hash tile, checked: a full tile from its stored blob when there is one,
/// else (a partial tile, an old database, or a blob that fails the check) from the `hashes`
/// rows. A blob that fails while the rows pass is damage in the blob alone: it is rewritten
/// from the checked rows (and counted as a repair), and the rows are served.
fn hash_tile(
    state: &AppState,
    log: u32,
    tile: &Tile,
    level: u8,
    head: SignedRoot,
) -> Result<Vec<u8>, ApiError> {
    let checks = &state.integrity;
    let mut blob_failed = false;
    if tile.width == TILE_WIDTH {
        let blob = state
            .store
            .hash_tile(log, level, tile.index)
            .map_err(ApiError::internal)?;
        if let Some(blob) = blob {
            let hashes = parse_hash_tile(&blob);
            let checked = hashes
                .as_ref()
                .map(|hashes| checks.check_hash_tile(log, level, tile.index, hashes, head));
            if let Some(Ok(())) = checked {
                return Ok(blob);
            }
            tracing::warn!(
                "log #{log}: stored hash tile {} does not check; reading its hashes",
                tile.path()
            );
            blob_failed = true;
        }
    }
    let ids: Vec<_> = tile.node_ids().into_iter().flatten().collect();
    let reader = state.store.hash_reader(log);
    let hashes =
        daylight_verifier::merkle::HashReader::read_hashes(&reader, &ids).map_err(|e| {
            checks.report(
                log,
                (0, head.size),
                format!("hash tile {} ({e})", tile.path()),
            )
        })?;
    checks.check_hash_tile(log, level, tile.index, &hashes, head)?;
    if blob_failed {
        match state
            .store
            .restore_hash_tile(log, level, tile.index, &hashes)
        {
            Ok(()) => {
                checks.repairs.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    "log #{log}: rewrote stored hash tile {} from its checked hashes",
                    tile.path()
                );
            }
            Err(e) => tracing::warn!("log #{log}: rewriting hash tile {}: {e}", tile.path()),
        }
    }
    Ok(hashes.iter().flat_map(|h| h.0).collect())
}

/// The bytes of an entry bundle, checked: a full bundle from its stored blob when there is
/// one (served as stored once its parsed entries pass the check), else built from
/// [`Store::entries`](crate::store::Store::entries) (the partial right edge, an old
/// database, or a blob that does not parse, which then reads as missing and is reported).
fn bundle(state: &AppState, log: u32, tile: &Tile, head: SignedRoot) -> Result<Vec<u8>, ApiError> {
    let range = tile
        .entry_range()
        .ok_or_else(|| ApiError::bad_request("bad tile"))?;
    let expected = range.end - range.start;
    if tile.width == TILE_WIDTH {
        let blob = state
            .store
            .bundle(log, tile.index)
            .map_err(ApiError::internal)?;
        if let Some(blob) = blob
            && let Ok(entries) = read_bundle(&blob)
            && entries.len() as u64 == expected
        {
            let entries: Vec<Vec<u8>> = entries.into_iter().map(<[u8]>::to_vec).collect();
            state
                .integrity
                .check_entries(log, range.start, &entries, expected, head)?;
            return Ok(blob);
        }
    }
    let entries = state
        .store
        .entries(log, range.clone())
        .map_err(ApiError::internal)?;
    state
        .integrity
        .check_entries(log, range.start, &entries, expected, head)?;
    let mut bundle = Vec::new();
    for entry in &entries {
        push_bundle_entry(&mut bundle, entry).map_err(ApiError::internal)?;
    }
    Ok(bundle)
}

/// A tile answer: immutable, cacheable for a year.
fn tile_response(body: Bytes) -> Response {
    (
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
        .into_response()
}

/// Which proof a proof endpoint serves.
#[derive(Clone, Copy)]
pub(super) enum ProofKind {
    /// `?index=I&size=N`: leaf I in the tree of size N.
    Inclusion,
    /// `?old=M&new=N`: the tree of size M is a prefix of the tree of size N.
    Consistency,
}

/// `GET /log/<member>/proof/inclusion?index=I&size=N`. Answered on this worker when the
/// log's served head is cached and the proof can be built from the verified subtrees in
/// memory (checked before it is sent; no storage read); otherwise built from storage on the
/// blocking pool, which also loads the subtrees it lacked, so the next proof nearby is
/// answered from memory.
pub(super) async fn inclusion(
    State(state): Shared,
    Path(member): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    if let Some(answer) = inclusion_in_memory(&state, &member, &raw) {
        return Ok(answer);
    }
    on_blocking_pool(state, move |state| {
        proof(state, &member, &raw, ProofKind::Inclusion)
    })
    .await
}

pub(super) async fn consistency(
    State(state): Shared,
    Path(member): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    on_blocking_pool(state, move |state| {
        proof(state, &member, &raw, ProofKind::Consistency)
    })
    .await
}

/// The inclusion proof asked for, from memory only (see [`inclusion`]): `None` for anything
/// but a valid request that memory answers, so errors are always the storage path's.
fn inclusion_in_memory(state: &AppState, member: &str, raw: &Option<String>) -> Option<Response> {
    let log = state.logs.by_member(member)?;
    let params = query(raw);
    let index = number(&params, "index").ok()?;
    let size = number(&params, "size").ok()?;
    let head = state.cached_signed_head(log)?;
    let proof = state
        .integrity
        .inclusion_proof_in_memory(log.number, index, size, head)?;
    Some(axum::Json(daylight_api::InclusionProof { index, size, proof }).into_response())
}

impl AppState {
    /// The log's signed head as [`AppState::head`] last cached it, if it is still current,
    /// without reading storage (see [`HeadCache`]'s invariant); `None` when it must be
    /// rebuilt from storage.
    fn cached_signed_head(&self, log: &HeldLog) -> Option<SignedRoot> {
        // Read before the cached head itself, as `head` does.
        let generation = self.store.heads_generation();
        let own_head = self
            .publisher
            .as_ref()
            .filter(|_| log.own)
            .map(|publisher| publisher.sequencer.head());
        let (size, note) = {
            let cached = self.heads.0.lock().unwrap_or_else(|e| e.into_inner());
            let c = cached.get(&log.number)?;
            let current =
                c.generation == generation && own_head.as_ref().is_none_or(|h| h.note == c.base);
            if !current {
                return None;
            }
            (c.size, c.note.clone())
        };
        let head = self.integrity.check_note(log.number, &note).ok()?;
        (head.size == size).then_some(head)
    }
}

/// Serves a proof over sizes no larger than the log's latest checkpoint, as JSON with the two
/// query numbers and the proof hashes in base64.
pub(super) fn proof(
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
            let proof = checks.inclusion_proof(log.number, a, b, None, head);
            if proof.is_ok() {
                checks.remember_subtrees(log.number, a, b, head);
            }
            proof
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
    Ok(match kind {
        ProofKind::Inclusion => axum::Json(daylight_api::InclusionProof {
            index: a,
            size: b,
            proof,
        })
        .into_response(),
        ProofKind::Consistency => axum::Json(daylight_api::ConsistencyProof {
            old: a,
            new: b,
            proof,
        })
        .into_response(),
    })
}

pub(super) async fn receipt(
    State(state): Shared,
    Path((member, index)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    on_blocking_pool(state, move |state| {
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
        let entry = entry_at(state, log, index)?;
        let proof = state.integrity.inclusion_proof(
            log.number,
            index,
            size,
            Some(leaf_hash(&entry)),
            head,
        )?;
        let bundle = ProofBundle {
            extra: Some(entry),
            index,
            proof,
            checkpoint: note.to_string(),
        };
        Ok(text_response(bundle.to_text(), "no-cache"))
    })
    .await
}
