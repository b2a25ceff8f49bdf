//! The genesis chain over HTTP (DESIGN §6b): `GET /v1/genesis` serves the whole chain the node
//! holds, as JSON ([`daylight_api::GenesisChainBody`]); `POST /v1/genesis` takes one version's
//! signed note, or a JSON chain, and applies it.
//!
//! The post needs no authentication: a version is applied only if it verifies against the
//! chain the node already holds — signed by the threshold of the previous version's founders,
//! with proofs of possession of every new key — so anyone may relay one (a founder, an
//! operator, another node), and a forged or altered one changes nothing. Bodies are bounded
//! ([`MAX_POST_BYTES`]) and at most [`CONCURRENT_POSTS`] are read at once.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::{ApiError, Publisher, Shared};
use crate::genesis::{ChainError, OfferError, Offered};

/// Largest body `POST /v1/genesis` reads: a version of a country-sized network, or a short
/// chain of them.
pub const MAX_POST_BYTES: usize = 8 << 20;

/// Most posts read and verified at once (each may hold [`MAX_POST_BYTES`]).
pub const CONCURRENT_POSTS: usize = 2;

static POSTS: Semaphore = Semaphore::const_new(CONCURRENT_POSTS);

/// `GET /v1/genesis`: the chain, as JSON.
pub(super) async fn genesis_chain(State(state): Shared) -> Response {
    let chain = state.genesis.current();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        chain.to_json(),
    )
        .into_response()
}

/// `POST /v1/genesis`: a version note or a JSON chain. 200 with the node's newest sequence
/// (and what the post added, which is then gossiped); 400 when it does not verify; 409 when it
/// conflicts with the chain held or does not follow its newest version.
pub(super) async fn post_genesis(
    State(state): Shared,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let _permit = POSTS.acquire().await.map_err(ApiError::internal)?;
    let body = crate::serve::read_body(request, MAX_POST_BYTES).await?;
    let live = state.genesis.clone();
    let offered = tokio::task::spawn_blocking(move || live.offer(&body))
        .await
        .map_err(ApiError::internal)?;
    let (sequence, added) = match offered {
        Ok(Offered::Known(sequence)) => (sequence, Vec::new()),
        Ok(Offered::Extended { chain, added }) => {
            tracing::info!(
                "genesis version(s) {added:?} posted; now at version {}",
                chain.sequence()
            );
            crate::genesis::gossip::publish_versions(&state.network, &chain, &added).await;
            (chain.sequence(), added)
        }
        Err(OfferError::Chain(e @ ChainError::Invalid(_))) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_genesis",
                e.to_string(),
            ));
        }
        Err(OfferError::Chain(e @ (ChainError::Conflict(_) | ChainError::Gap { .. }))) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "genesis_conflict",
                e.to_string(),
            ));
        }
        Err(e @ OfferError::Storage(_)) => return Err(ApiError::internal(e)),
    };
    let id = state
        .genesis
        .current()
        .version(sequence)
        .map(|g| g.id().to_string())
        .unwrap_or_default();
    Ok(axum::Json(daylight_api::GenesisAccepted {
        sequence,
        id,
        added,
    })
    .into_response())
}

/// The refusal a member node gives submissions once the newest genesis version names another
/// log key for it than the one it signs with (a rotation): checkpoints signed with the old
/// key would no longer count. `None` while the key is current.
pub(super) fn rotated_away(state: &super::AppState, publisher: &Publisher) -> Option<ApiError> {
    let chain = state.genesis.current();
    let listed = chain.latest().member(&publisher.member)?.log_key.clone();
    if listed == publisher.log_key {
        return None;
    }
    Some(
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "log_key_rotated",
            format!(
                "genesis version {} names the log key {listed} for {}, but this node signs with \
                 {}; records are refused until the operator stops the node and installs the new \
                 key with `daylight-node rotate-key`",
                chain.sequence(),
                publisher.member,
                publisher.log_key
            ),
        )
        .retry_after(60),
    )
}
