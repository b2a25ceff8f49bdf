//! The genesis chain as the node holds it (DESIGN §6b): `daylight_genesis::GenesisChain`
//! (version 1, then each later version verified against the one before), with what the node
//! adds: its newest version shared without copying, and offering a version or a chain to it.
//!
//! Formats: a single version is its signed note; the whole chain is the JSON of
//! [`daylight_api::GenesisChainBody`] (`{"network_id", "versions": [{"sequence", "id",
//! "note"}]}`), which `GET /v1/genesis` serves and `POST /v1/genesis` and the configuration's
//! `genesis = <file>` accept, as well as a single version-1 note.

use std::sync::Arc;

use daylight_genesis::{Genesis, GenesisChain, GenesisError, MAX_GENESIS_BYTES, SignedGenesis};

pub use daylight_genesis::MAX_CHAIN_BYTES;

/// Why a genesis version or chain was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// Not a genesis note or chain, or a version that does not verify (too few founder
    /// signatures, a wrong `previous`, a missing proof of possession...). HTTP 400.
    #[error("{0}")]
    Invalid(String),
    /// A different version where the held chain already has one, or another network. HTTP 409.
    #[error("{0}")]
    Conflict(String),
    /// A version that does not follow the newest one held: the versions between are missing.
    /// HTTP 409.
    #[error(
        "genesis version {offered} does not follow version {held}, the newest this node holds; \
         post the versions between first, or the whole chain as JSON (GET /v1/genesis of a node \
         that holds it)"
    )]
    Gap {
        /// The newest sequence held.
        held: u64,
        /// The sequence offered.
        offered: u64,
    },
}

impl From<GenesisError> for ChainError {
    fn from(e: GenesisError) -> ChainError {
        match e {
            GenesisError::ConflictingVersion { .. } => ChainError::Conflict(e.to_string()),
            GenesisError::ChainGap { latest, found } => ChainError::Gap {
                held: latest,
                offered: found,
            },
            e => ChainError::Invalid(e.to_string()),
        }
    }
}

/// A verified genesis chain. Cheap to share: the node holds it in an `Arc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    inner: GenesisChain,
    /// The newest version, shared with every reader without copying.
    latest: Arc<Genesis>,
}

/// What offering a version or chain to a held chain gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offered {
    /// Everything offered is held already; the newest held sequence.
    Known(u64),
    /// The chain grew: the new chain and the sequences added, in order.
    Extended {
        /// The held chain with the new versions.
        chain: Chain,
        /// The sequence numbers added.
        added: Vec<u64>,
    },
}

/// Whether `bytes` are JSON (a chain) rather than a signed note.
fn is_json(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

impl Chain {
    fn wrap(inner: GenesisChain) -> Chain {
        Chain {
            latest: Arc::new(inner.latest().clone()),
            inner,
        }
    }

    /// The chain of one version: the first genesis of a network.
    pub fn new(first: Genesis) -> Result<Chain, ChainError> {
        Ok(Chain::wrap(GenesisChain::new(first)?))
    }

    /// Reads a single version-1 genesis note or a JSON chain, verifying every version.
    pub fn parse_any(bytes: &[u8]) -> Result<Chain, ChainError> {
        Ok(Chain::wrap(GenesisChain::parse_any(bytes)?))
    }

    /// Reads a JSON chain, verifying version 1 and every later version against the one
    /// before; the `network_id`, `sequence` and `id` fields must agree with the notes.
    pub fn from_json(bytes: &[u8]) -> Result<Chain, ChainError> {
        Ok(Chain::wrap(GenesisChain::from_json(bytes)?))
    }

    /// The chain as JSON (the body of `GET /v1/genesis`).
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// The network id: version 1's id, which names the data directories and gossip topics for
    /// the network's whole life.
    pub fn network_id(&self) -> &str {
        self.inner.network_id()
    }

    /// The newest version: what the node applies.
    pub fn latest(&self) -> &Genesis {
        &self.latest
    }

    /// The newest version, shared.
    pub fn latest_shared(&self) -> Arc<Genesis> {
        self.latest.clone()
    }

    /// The newest sequence number (1 for a chain of one version).
    pub fn sequence(&self) -> u64 {
        self.latest.sequence()
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> impl DoubleEndedIterator<Item = &Genesis> {
        self.inner.versions().iter()
    }

    /// Version `sequence` (1-based), if held.
    pub fn version(&self, sequence: u64) -> Option<&Genesis> {
        self.inner.version(sequence)
    }

    /// Offers `bytes` — one version's note or a JSON chain — to this chain: what is held
    /// already is [`Offered::Known`]; versions that follow the newest held one, verified
    /// (the previous version's founder threshold, proofs of possession, continuity), make
    /// [`Offered::Extended`]; anything else is refused with what is wrong.
    pub fn offer(&self, bytes: &[u8]) -> Result<Offered, ChainError> {
        if is_json(bytes) {
            let offered = Chain::from_json(bytes)?;
            return self.merge(&offered);
        }
        if bytes.len() > MAX_GENESIS_BYTES {
            return Err(ChainError::Invalid(format!(
                "a genesis version is at most {MAX_GENESIS_BYTES} bytes; this one is {}",
                bytes.len()
            )));
        }
        let version = SignedGenesis::parse(bytes)?;
        let sequence = version.definition().sequence();
        let mut inner = self.inner.clone();
        if !inner.extend(version)? {
            return Ok(Offered::Known(self.sequence()));
        }
        Ok(Offered::Extended {
            chain: Chain::wrap(inner),
            added: vec![sequence],
        })
    }

    /// Compares this chain with `other`: the longer one if one extends the other, otherwise
    /// the first version where they differ.
    pub fn merge(&self, other: &Chain) -> Result<Offered, ChainError> {
        if other.network_id() != self.network_id() {
            return Err(ChainError::Conflict(format!(
                "this genesis chain is of the network {}, but this node runs the network {}",
                other.network_id(),
                self.network_id()
            )));
        }
        for (mine, theirs) in self.versions().zip(other.versions()) {
            if mine.id() != theirs.id() {
                let sequence = mine.sequence();
                return Err(ChainError::Conflict(format!(
                    "the two genesis chains differ at version {sequence}: {} here, {} offered; a \
                     network has one version {sequence}",
                    mine.id(),
                    theirs.id()
                )));
            }
        }
        if other.sequence() <= self.sequence() {
            return Ok(Offered::Known(self.sequence()));
        }
        Ok(Offered::Extended {
            chain: other.clone(),
            added: (self.sequence() + 1..=other.sequence()).collect(),
        })
    }
}
