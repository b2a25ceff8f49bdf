//! The JSON form of a genesis chain: what nodes serve at `GET /v1/genesis` and what the CLI
//! stores.
//!
//! ```json
//! {"network_id": "<hex>", "versions": [{"sequence": 1, "id": "<hex>", "note": "<signed note>"}, ...]}
//! ```
//!
//! The ids and numbers in the JSON are never trusted: reading recomputes each from its note
//! and refuses any difference, then verifies the chain from version 1
//! ([`GenesisChain::from_json`]) or from a pinned version ([`GenesisChain::follow_json`]).

use serde::{Deserialize, Serialize};

use crate::chain::GenesisChain;
use crate::error::GenesisError;
use crate::signed::{Genesis, MAX_GENESIS_BYTES, SignedGenesis};

/// Largest JSON chain read (128 MiB): four largest-possible versions, or many ordinary ones.
pub const MAX_CHAIN_BYTES: usize = 4 * MAX_GENESIS_BYTES;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainJson {
    network_id: String,
    versions: Vec<VersionJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionJson {
    sequence: u64,
    id: String,
    note: String,
}

impl GenesisChain {
    /// The chain as JSON (pretty-printed): the network id, and per version its number, id
    /// and whole signed note.
    pub fn to_json(&self) -> String {
        let json = ChainJson {
            network_id: self.network_id().to_string(),
            versions: self
                .versions()
                .iter()
                .map(|v| VersionJson {
                    sequence: v.sequence(),
                    id: v.id().to_string(),
                    note: v.to_text(),
                })
                .collect(),
        };
        serde_json::to_string_pretty(&json).unwrap_or_else(|_| unreachable!("strings and numbers"))
    }

    /// Reads a JSON chain and verifies all of it: version 1 must be signed by every founder,
    /// and each later version is checked as [`GenesisChain::extend`] does.
    pub fn from_json(bytes: &[u8]) -> Result<GenesisChain, GenesisError> {
        let mut versions = served_versions(bytes)?.into_iter();
        let first = versions.next().ok_or(GenesisError::EmptyChain)?;
        if first.definition().sequence() != 1 {
            return Err(GenesisError::NotFirstVersion(first.definition().sequence()));
        }
        let first = first.verify()?;
        let mut chain = GenesisChain::new(first)?;
        for next in versions {
            chain.extend(next)?;
        }
        Ok(chain)
    }

    /// Reads a JSON chain served by anyone and follows it from the version pinned by its id
    /// ([`GenesisChain::follow`]).
    pub fn follow_json(pinned_id: &str, bytes: &[u8]) -> Result<GenesisChain, GenesisError> {
        GenesisChain::follow(pinned_id, &served_versions(bytes)?)
    }

    /// Reads either a single version-1 genesis file (a signed note) or a JSON chain,
    /// verifying either completely. A single note of a later version is refused: it can only
    /// be verified with the versions before it.
    pub fn parse_any(bytes: &[u8]) -> Result<GenesisChain, GenesisError> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'{') {
            GenesisChain::from_json(bytes)
        } else {
            GenesisChain::new(Genesis::open(bytes)?)
        }
    }
}

/// The versions of a JSON chain, parsed and validated, with the stated ids, numbers and
/// network id checked against the notes; signatures are not checked.
fn served_versions(bytes: &[u8]) -> Result<Vec<SignedGenesis>, GenesisError> {
    if bytes.len() > MAX_CHAIN_BYTES {
        return Err(GenesisError::ChainTooLarge(bytes.len()));
    }
    let json: ChainJson =
        serde_json::from_slice(bytes).map_err(|e| GenesisError::ChainJson(e.to_string()))?;
    let mut versions = Vec::with_capacity(json.versions.len());
    for (i, version) in json.versions.iter().enumerate() {
        let position = i + 1;
        let signed = SignedGenesis::parse(version.note.as_bytes())?;
        let mismatch = |field, stated: String, computed: String| GenesisError::ChainMismatch {
            position,
            field,
            stated,
            computed,
        };
        if version.id != signed.id() {
            return Err(mismatch("id", version.id.clone(), signed.id().to_string()));
        }
        let sequence = signed.definition().sequence();
        if version.sequence != sequence {
            return Err(mismatch(
                "sequence",
                version.sequence.to_string(),
                sequence.to_string(),
            ));
        }
        versions.push(signed);
    }
    let first = versions.first().ok_or(GenesisError::EmptyChain)?;
    if json.network_id != first.id() {
        return Err(GenesisError::ChainMismatch {
            position: 1,
            field: "network_id",
            stated: json.network_id,
            computed: first.id().to_string(),
        });
    }
    Ok(versions)
}
