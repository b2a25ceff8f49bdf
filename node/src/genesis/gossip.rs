//! Genesis versions on the gossip topic `daylight/<network id>/genesis/1`: a message is exactly
//! one version's signed note. A version that follows the chain held is verified, stored and
//! applied ([`LiveGenesis::offer`]) and relayed; one held already is relayed too; one that
//! does not verify is rejected (its sender's score drops).
//!
//! A version that does not follow the newest one held (a gap: this node missed one) cannot be
//! verified yet. Then the node fetches the whole chain over HTTP, `GET /v1/genesis`, from the
//! node that forwarded it (its member's `http` URL in the newest version held) and offers that:
//! every version in it is verified from version 1, so the source need not be trusted. The sync
//! protocol is left to log replication; a sender without a URL is ignored, and the gap closes
//! when the version is posted to this node or gossiped again (every node republishes its
//! newest version each [`REPUBLISH`]).
//!
//! A node that was not connected when a version was gossiped (it was down, or its
//! connections were not up yet) would otherwise wait for that republish: gossipsub offers a
//! message to late peers only for a few heartbeats, and drops a repeat of it for a minute. So
//! when a connection comes up, the node also asks the peer for its chain over the sync
//! protocol ([`pull_on_connect`]): one small request per new connection, whose answer is
//! verified from version 1 like any other.

use std::time::Duration;

use libp2p::PeerId;
use libp2p::gossipsub::MessageAcceptance;

use super::{ChainError, LiveGenesis, MAX_CHAIN_BYTES, OfferError, Offered};
use crate::network::{MAX_GOSSIP_BYTES, Network, SyncRequest, SyncResponse, Topic};

/// How often a node gossips its newest version again (when it has more than one), so that a
/// node that was away when a version was gossiped learns it.
pub const REPUBLISH: Duration = Duration::from_secs(60);

/// How long fetching a chain over HTTP may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

/// Handles a gossiped genesis version from `source`; returns the verdict for gossipsub.
pub(crate) async fn received(
    live: &LiveGenesis,
    network: &Network,
    shutdown: &crate::shutdown::Shutdown,
    source: PeerId,
    data: Vec<u8>,
) -> MessageAcceptance {
    if data.len() > MAX_GOSSIP_BYTES {
        return MessageAcceptance::Reject;
    }
    let holder = live.clone();
    let offered = tokio::task::spawn_blocking(move || holder.offer(&data)).await;
    let Ok(offered) = offered else {
        return MessageAcceptance::Ignore;
    };
    match offered {
        Ok(Offered::Known(_)) => MessageAcceptance::Accept,
        Ok(Offered::Extended { added, .. }) => {
            tracing::info!("genesis version(s) {added:?} received from {source}; stored");
            MessageAcceptance::Accept
        }
        Err(OfferError::Chain(ChainError::Gap { held, offered })) => {
            tracing::info!(
                "genesis version {offered} from {source} does not follow version {held}; \
                 fetching the chain from its node"
            );
            // One fetch at a time: a burst of versions this node cannot link yet costs one
            // download (of at most MAX_CHAIN_BYTES), not one each.
            if let Some(fetching) = live.start_fetch() {
                let (live, network) = (live.clone(), network.clone());
                shutdown.spawn_until_cancelled(async move {
                    fetch_from(&live, &network, source).await;
                    drop(fetching);
                });
            }
            MessageAcceptance::Ignore
        }
        Err(OfferError::Chain(ChainError::Conflict(reason))) => {
            tracing::warn!("genesis version from {source} conflicts with the chain held: {reason}");
            MessageAcceptance::Ignore
        }
        Err(OfferError::Chain(ChainError::Invalid(reason))) => {
            tracing::info!("rejected genesis gossip from {source}: {reason}");
            MessageAcceptance::Reject
        }
        Err(OfferError::Storage(e)) => {
            tracing::error!("{e}");
            MessageAcceptance::Ignore
        }
    }
}

/// Asks `peer`, just connected, for its genesis chain over the sync protocol and offers it:
/// versions gossiped while the two were not connected arrive now instead of at the next
/// [`REPUBLISH`]. The answer is verified from version 1, so any peer may be asked. Skipped
/// while another fetch runs (one at a time); a peer that cannot answer (an earlier version)
/// changes nothing.
pub(crate) fn pull_on_connect(
    live: &LiveGenesis,
    network: &Network,
    shutdown: &crate::shutdown::Shutdown,
    peer: PeerId,
) {
    let Some(fetching) = live.start_fetch() else {
        return;
    };
    let (live, network) = (live.clone(), network.clone());
    shutdown.spawn_until_cancelled(async move {
        let answer = network.request(peer, SyncRequest::Genesis).await;
        let chain = match answer {
            Ok(SyncResponse::Genesis(chain)) if chain.len() <= MAX_CHAIN_BYTES => chain,
            Ok(SyncResponse::Genesis(chain)) => {
                tracing::warn!(
                    "{peer} answered a genesis chain of {} bytes; ignored",
                    chain.len()
                );
                return;
            }
            other => {
                tracing::debug!("{peer} did not answer with its genesis chain: {other:?}");
                return;
            }
        };
        let holder = live.clone();
        let offered = tokio::task::spawn_blocking(move || holder.offer(chain.as_bytes())).await;
        match offered {
            Ok(Ok(Offered::Extended { chain, added })) => {
                tracing::info!(
                    "genesis version(s) {added:?} learned from {peer} on connecting; stored"
                );
                publish_versions(&network, &chain, &added).await;
            }
            Ok(Ok(Offered::Known(_))) => {}
            Ok(Err(e)) => tracing::warn!("the genesis chain {peer} holds cannot be taken: {e}"),
            Err(e) => tracing::error!("genesis pull task failed: {e}"),
        }
        drop(fetching);
    });
}

/// Fetches the chain from the node of the member whose peer id is `source` and offers it.
async fn fetch_from(live: &LiveGenesis, network: &Network, source: PeerId) {
    let latest = live.latest();
    let peer = source.to_string();
    let Some(url) = latest
        .members()
        .iter()
        .find(|m| m.peer_id == peer)
        .and_then(|m| m.http.clone())
    else {
        tracing::info!("{source} is not a member with an HTTP URL; waiting for the next version");
        return;
    };
    let url = format!("{}/v1/genesis", url.trim_end_matches('/'));
    let holder = live.clone();
    let fetched = tokio::task::spawn_blocking(move || {
        let body = fetch(&url).map_err(|e| format!("{url}: {e}"))?;
        holder.offer(&body).map_err(|e| format!("{url}: {e}"))
    })
    .await;
    match fetched {
        Ok(Ok(Offered::Extended { chain, added })) => {
            tracing::info!("genesis version(s) {added:?} fetched from {source}; stored");
            publish_versions(network, &chain, &added).await;
        }
        Ok(Ok(Offered::Known(_))) => {}
        Ok(Err(e)) => tracing::warn!("cannot take the genesis chain: {e}"),
        Err(e) => tracing::error!("genesis fetch task failed: {e}"),
    }
}

/// `GET url`, at most [`MAX_CHAIN_BYTES`], within [`FETCH_TIMEOUT`].
fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(FETCH_TIMEOUT))
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_CHAIN_BYTES as u64)
        .read_to_vec()
        .map_err(|e| e.to_string())
}

/// Gossips versions `added` of `chain` (those that fit in a gossip message; a larger one is
/// logged: post it to each node instead).
pub(crate) async fn publish_versions(network: &Network, chain: &super::Chain, added: &[u64]) {
    for &sequence in added {
        let Some(version) = chain.version(sequence) else {
            continue;
        };
        let note = version.to_text();
        if note.len() > MAX_GOSSIP_BYTES {
            tracing::warn!(
                "genesis version {sequence} is {} bytes, too large to gossip (at most \
                 {MAX_GOSSIP_BYTES}); post it to each node's /v1/genesis",
                note.len()
            );
            continue;
        }
        let _ = network.publish(Topic::Genesis, note.into_bytes()).await;
    }
}

/// Republishes the newest version every [`REPUBLISH`] while the chain has more than one,
/// until `stop` is cancelled.
pub(crate) async fn republish(
    live: LiveGenesis,
    network: Network,
    stop: crate::shutdown::Shutdown,
) {
    let mut ticker = tokio::time::interval(REPUBLISH);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let chain = live.current();
        if chain.sequence() > 1 {
            publish_versions(&network, &chain, &[chain.sequence()]).await;
        }
    }
}
