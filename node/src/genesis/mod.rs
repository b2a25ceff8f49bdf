//! The genesis chain of a running node (DESIGN §6b): one live, swappable chain that every part
//! of the node reads, and how a new version gets in and takes effect.
//!
//! * `chain` — [`Chain`]: the verified chain, its JSON form, and offering a version to it;
//! * `file` — [`ChainFile`]: the chain kept in the data directory, replaced atomically;
//! * `apply` — [`Follower`]: what a new version changes in the running node (logs held,
//!   witness keys, accepted submission keys, members dialled);
//! * `gossip` — versions received on the genesis topic, and what to do on a gap;
//! * `keys` — keys a later version replaced, named as such when a node is configured with one.
//!
//! This file holds [`LiveGenesis`], the one holder: [`LiveGenesis::offer`] verifies a version
//! against the chain held, stores the longer chain durably, and only then publishes it to
//! every subscriber. Components read [`LiveGenesis::current`] when they need it, or react to
//! [`LiveGenesis::subscribe`]. The network id (version 1's id) never changes, so data
//! directories and gossip topics stay the same for the network's whole life.

mod apply;
mod chain;
mod file;
pub(crate) mod gossip;
mod keys;

pub use apply::{Follower, RunningKeys, log_keys, member_addresses};
pub use chain::{Chain, ChainError, MAX_CHAIN_BYTES, Offered};
pub use file::{CHAIN_FILE, ChainFile, ChainFileError};
pub use keys::{KeyRole, superseded};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use daylight_genesis::Genesis;
use tokio::sync::watch;

/// The gossip topic of genesis versions: `daylight/<network id>/genesis/1`.
pub fn genesis_topic(network_id: &str) -> String {
    format!("daylight/{network_id}/genesis/1")
}

/// Why an offered version or chain was not applied.
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    /// It does not verify against the chain held, or conflicts with it.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// It verified, but could not be stored; nothing was applied.
    #[error("the new genesis chain could not be stored: {0}")]
    Storage(#[from] ChainFileError),
}

/// The node's genesis chain, shared by every component; cheap to clone.
#[derive(Clone)]
pub struct LiveGenesis {
    inner: Arc<Inner>,
}

struct Inner {
    chain: watch::Sender<Arc<Chain>>,
    /// Where the chain is stored; `None` for a holder that stores nothing (tests, tools).
    file: Option<ChainFile>,
    /// Offers take turns: verify, store, publish.
    offers: Mutex<()>,
    network_id: String,
    /// Set while the chain is being fetched from another node (`gossip`).
    fetching: AtomicBool,
}

impl LiveGenesis {
    /// A holder of `chain`, storing every longer chain it takes in `file`.
    pub fn new(chain: Chain, file: Option<ChainFile>) -> LiveGenesis {
        let network_id = chain.network_id().to_string();
        LiveGenesis {
            inner: Arc::new(Inner {
                chain: watch::Sender::new(Arc::new(chain)),
                file,
                offers: Mutex::new(()),
                network_id,
                fetching: AtomicBool::new(false),
            }),
        }
    }

    /// The chain now.
    pub fn current(&self) -> Arc<Chain> {
        self.inner.chain.borrow().clone()
    }

    /// The newest version now: what the node applies.
    pub fn latest(&self) -> Arc<Genesis> {
        self.inner.chain.borrow().latest_shared()
    }

    /// A receiver that sees every later chain (the current one counts as seen).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Chain>> {
        self.inner.chain.subscribe()
    }

    /// The network id: version 1's id.
    pub fn network_id(&self) -> &str {
        &self.inner.network_id
    }

    /// Marks a fetch of the chain from another node as under way, unless one already is;
    /// the fetch ends when the returned guard is dropped.
    pub(crate) fn start_fetch(&self) -> Option<Fetching> {
        let busy = self.inner.fetching.swap(true, Ordering::AcqRel);
        (!busy).then(|| Fetching(self.inner.clone()))
    }

    /// Offers one version's signed note or a JSON chain. A version that follows the chain
    /// held, verified against it, is stored durably and then published to every subscriber;
    /// what is held already is [`Offered::Known`]. Blocks on the disk: call it off the async
    /// workers.
    pub fn offer(&self, bytes: &[u8]) -> Result<Offered, OfferError> {
        let _turn = self.inner.offers.lock().unwrap_or_else(|e| e.into_inner());
        let offered = self.current().offer(bytes)?;
        if let Offered::Extended { chain, .. } = &offered {
            if let Some(file) = &self.inner.file {
                file.save(chain)?;
            }
            self.inner.chain.send_replace(Arc::new(chain.clone()));
        }
        Ok(offered)
    }
}

/// A fetch of the chain under way ([`LiveGenesis::start_fetch`]); dropping it ends it.
pub(crate) struct Fetching(Arc<Inner>);

impl Drop for Fetching {
    fn drop(&mut self) {
        self.0.fetching.store(false, Ordering::Release);
    }
}

#[cfg(test)]
pub(crate) mod tests;
