//! The genesis chain (DESIGN §6b): version 1, then each later version verified against the
//! one before it. A citizen who pinned any version follows the chain from there without
//! trusting the server that serves it.

use crate::error::GenesisError;
use crate::link;
use crate::signed::{Genesis, SignedGenesis};

/// The verified versions of one network's genesis, from version 1 to the latest.
///
/// Invariant: `versions[i]` is version `i + 1`; version 1 is verified (every founder signed it,
/// or it was trusted through a pinned id), and each later version was verified against the
/// one before it ([`GenesisChain::extend`]) or is at or before the pinned version
/// ([`GenesisChain::follow`]), linked by `previous` ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisChain {
    versions: Vec<Genesis>,
}

impl GenesisChain {
    /// A chain holding version 1 alone. Fails if `first` is not version 1.
    pub fn new(first: Genesis) -> Result<GenesisChain, GenesisError> {
        match first.sequence() {
            1 => Ok(GenesisChain {
                versions: vec![first],
            }),
            other => Err(GenesisError::NotFirstVersion(other)),
        }
    }

    /// Verifies `next` against the latest version and appends it: it must be the next
    /// version of the same network, name the latest version as `previous`, keep every
    /// continuity rule, carry signatures by at least the latest version's founder threshold
    /// of its founders (with the log keys the latest version lists), and a signature by every
    /// key it introduces.
    ///
    /// Returns `Ok(true)` when the version was added and `Ok(false)` when the chain already
    /// holds it (the same id), so a version received twice is harmless. A different version
    /// with a number the chain holds is [`GenesisError::ConflictingVersion`].
    pub fn extend(&mut self, next: SignedGenesis) -> Result<bool, GenesisError> {
        let sequence = next.definition().sequence();
        let latest = self.latest();
        if sequence <= latest.sequence() {
            let held = &self.versions[(sequence - 1) as usize];
            if held.id() == next.id() {
                return Ok(false);
            }
            return Err(GenesisError::ConflictingVersion {
                sequence,
                held: held.id().to_string(),
                found: next.id().to_string(),
            });
        }
        if sequence > latest.sequence() + 1 {
            return Err(GenesisError::ChainGap {
                latest: latest.sequence(),
                found: sequence,
            });
        }
        let genesis = link::verify_next(latest, next)?;
        self.versions.push(genesis);
        Ok(true)
    }

    /// [`GenesisChain::extend`] with a version given as a signed note (a genesis file).
    pub fn extend_bytes(&mut self, bytes: &[u8]) -> Result<bool, GenesisError> {
        self.extend(SignedGenesis::parse(bytes)?)
    }

    /// Follows a served chain from the version the user pinned, by its id.
    ///
    /// `served` must be versions 1, 2, ... in order, and hold the pinned version. The pinned
    /// version and those before it are trusted through the pin: each must be the version the
    /// next one names as `previous` (a hash chain back to version 1), with no signature
    /// check. Each version after the pin is verified by signatures, as
    /// [`GenesisChain::extend`] does. The result holds every served version.
    pub fn follow(pinned_id: &str, served: &[SignedGenesis]) -> Result<GenesisChain, GenesisError> {
        let Some(pin) = served.iter().position(|v| v.id() == pinned_id) else {
            return Err(GenesisError::PinnedNotServed(pinned_id.to_string()));
        };
        for (i, version) in served.iter().enumerate() {
            let found = version.definition().sequence();
            if found != i as u64 + 1 {
                return Err(GenesisError::WrongSequence {
                    expected: i as u64 + 1,
                    found,
                });
            }
        }
        // Back from the pin: each version is the one its successor names.
        for pair in served[..=pin].windows(2) {
            let (before, after) = (&pair[0], &pair[1]);
            if after.definition().network() != before.definition().network() {
                return Err(GenesisError::WrongNetwork {
                    sequence: after.definition().sequence(),
                    expected: before.definition().network().to_string(),
                    found: after.definition().network().to_string(),
                });
            }
            if after.definition().previous() != Some(before.id()) {
                return Err(GenesisError::WrongPrevious {
                    sequence: after.definition().sequence(),
                    expected: before.id().to_string(),
                    found: after
                        .definition()
                        .previous()
                        .unwrap_or("nothing")
                        .to_string(),
                });
            }
        }
        let mut versions: Vec<Genesis> = Vec::with_capacity(served.len());
        for version in &served[..=pin] {
            let genesis = Genesis::in_chain(version.clone(), versions.last());
            versions.push(genesis);
        }
        let mut chain = GenesisChain { versions };
        for version in &served[pin + 1..] {
            chain.extend(version.clone())?;
        }
        Ok(chain)
    }

    /// The network id: the id of version 1. Gossip topics and data directories use it, so
    /// they do not change when the genesis does.
    pub fn network_id(&self) -> &str {
        self.versions[0].id()
    }

    /// The latest version: the one whose rules apply now.
    pub fn latest(&self) -> &Genesis {
        self.versions
            .last()
            .unwrap_or_else(|| unreachable!("a chain holds at least version 1"))
    }

    /// Every version, from version 1.
    pub fn versions(&self) -> &[Genesis] {
        &self.versions
    }

    /// Version `sequence`, if the chain holds it.
    pub fn version(&self, sequence: u64) -> Option<&Genesis> {
        let index = usize::try_from(sequence.checked_sub(1)?).ok()?;
        self.versions.get(index)
    }

    /// The version with genesis id `id`, if the chain holds it: how a verification accepts a
    /// pinned earlier version.
    pub fn version_by_id(&self, id: &str) -> Option<&Genesis> {
        self.versions.iter().find(|v| v.id() == id)
    }
}
