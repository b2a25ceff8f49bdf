//! Genesis versions on the gossip topic `daylight/<network id>/genesis/1`: a message is exactly
//! one version's signed note. A version that follows the chain held is verified, stored and
//! applied ([`LiveGenesis::offer`]) and relayed; one held already is relayed too; one that
//! does not verify is rejected (its sender's score drops).
//!
//! A version that does not follow the newest one held (a gap: this node missed one) cannot be
//! verified yet. Then the node asks the peer that forwarded it for its whole chain over the
//! sync protocol (`SyncRequest::Genesis`) and offers that: every version in it is verified
//! from version 1, so the peer need not be trusted.
//!
//! A node that was not connected when a version was gossiped (it was down, or its
//! connections were not up yet) would otherwise wait for the next republish (every node
//! republishes its newest version each [`REPUBLISH`]): gossipsub offers a message to late
//! peers only for a few heartbeats, and drops a repeat of it for a minute. So the node also
//! asks each peer it connects to for its chain, the same way ([`pull`]): one small
//! request per new connection.

use std::time::Duration;

use libp2p::PeerId;
use libp2p::gossipsub::MessageAcceptance;

use super::{ChainError, LiveGenesis, MAX_CHAIN_BYTES, OfferError, Offered};
use crate::network::{MAX_GOSSIP_BYTES, Network, SyncRequest, SyncResponse, Topic};

/// How often a node gossips its newest version again (when it has more than one), so that a
/// node that was away when a version was gossiped learns it.
pub const REPUBLISH: Duration = Duration::from_secs(60);

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
                 asking it for its chain"
            );
            pull(live, network, shutdown, source);
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

/// Asks `peer` for its genesis chain over the sync protocol and offers the answer, in a task
/// of `shutdown`. The answer is verified from version 1, so any peer may be asked. One pull at
/// a time: while one runs, others are skipped, so a burst of versions this node cannot link
/// yet costs one download (of at most [`MAX_CHAIN_BYTES`]), not one each. A peer that cannot
/// answer (a node of an earlier version) changes nothing.
pub(crate) fn pull(
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
        fetch_chain(&live, &network, peer).await;
        drop(fetching);
    });
}

/// Whether the chain held grew, after asking `peer` for its chain (or, while another pull
/// runs, after waiting up to `wait` for that one). For a checkpoint of an origin this node
/// does not know: a member that a genesis version adds can race that version on gossip, and
/// the peer that forwarded its checkpoint took the version already.
pub(crate) async fn pulled_newer(
    live: &LiveGenesis,
    network: &Network,
    peer: PeerId,
    wait: Duration,
) -> bool {
    let before = live.current().sequence();
    let mut changed = live.subscribe();
    match live.start_fetch() {
        Some(fetching) => {
            fetch_chain(live, network, peer).await;
            drop(fetching);
        }
        None => {
            let _ = tokio::time::timeout(wait, changed.changed()).await;
        }
    }
    live.current().sequence() > before
}

/// Asks `peer` for its chain over the sync protocol and offers the answer (the body of
/// [`pull`]; the caller holds the fetch guard).
async fn fetch_chain(live: &LiveGenesis, network: &Network, peer: PeerId) {
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
            tracing::info!("genesis version(s) {added:?} fetched from {peer}; stored");
            publish_versions(network, &chain, &added).await;
        }
        Ok(Ok(Offered::Known(_))) => {}
        Ok(Err(e)) => tracing::warn!("the genesis chain {peer} holds cannot be taken: {e}"),
        Err(e) => tracing::error!("genesis pull task failed: {e}"),
    }
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
