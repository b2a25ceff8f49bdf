//! The genesis the browser pinned (DESIGN §6, §6b): pinning a served chain on a first visit,
//! following the chain from the pinned version later, and opening the pinned chain for every
//! other check. Everything else is verified against the latest version of this chain.

use daylight_genesis::{Genesis, GenesisChain};
use serde_json::{Value, json};

use crate::check::{Check, all_ok};

/// Opens a genesis chain (the JSON `GET /v1/genesis` serves, or a single signed genesis
/// note). With `pinned`, the chain must contain that version and validly extend it (versions
/// up to the pinned one are trusted as pinned); without, version 1 is verified by its
/// founders and every later version by the one before. A failure is the failed `genesis`
/// check.
pub fn open_chain(chain: &[u8], pinned: Option<&str>) -> Result<GenesisChain, Check> {
    match pinned.filter(|p| !p.is_empty()) {
        Some(pinned) => GenesisChain::follow_json(pinned, chain).map_err(|e| {
            Check::fail(
                "genesis",
                "genesis_mismatch",
                format!("the genesis chain does not extend the pinned version {pinned}: {e}"),
            )
        }),
        None => GenesisChain::parse_any(chain).map_err(|e| {
            Check::fail(
                "genesis",
                "bad_genesis",
                format!("the genesis does not verify: {e}"),
            )
        }),
    }
}

/// The members of a genesis version, as the portal lists them.
pub fn members(genesis: &Genesis) -> Value {
    genesis
        .members()
        .iter()
        .map(|m| {
            json!({
                "id": m.id, "name": m.name, "role": m.role.as_str(),
                "parent": m.parent, "retired": m.is_retired(),
            })
        })
        .collect()
}

/// The portal's genesis result: `{ok, firstVisit, networkId, versionId, sequence, network,
/// members, checks}`.
fn result(
    first_visit: bool,
    chain: Result<GenesisChain, Check>,
    pass: impl Fn(&GenesisChain) -> String,
) -> Value {
    match chain {
        Ok(chain) => {
            let latest = chain.latest();
            let checks = vec![Check::pass("genesis", pass(&chain))];
            json!({
                "ok": all_ok(&checks), "firstVisit": first_visit,
                "networkId": chain.network_id(), "versionId": latest.id(),
                "sequence": latest.sequence(), "network": latest.network(),
                "members": members(latest), "checks": checks,
            })
        }
        Err(check) => json!({"ok": false, "firstVisit": first_visit, "checks": [check]}),
    }
}

/// First visit: verifies the served chain from version 1 and describes what to pin.
pub fn pin(served: &[u8]) -> Value {
    result(true, open_chain(served, None), |chain| {
        let latest = chain.latest();
        format!(
            "pinned genesis {} (network {}, version {}, network id {}): compare this id with \
             the one the network's members publish officially",
            latest.id(),
            latest.network(),
            latest.sequence(),
            chain.network_id()
        )
    })
}

/// Later visits: the served chain must extend the pinned version.
pub fn follow(pinned: &str, served: &[u8]) -> Value {
    if pinned.is_empty() {
        return result(
            false,
            Err(Check::fail(
                "genesis",
                "no_pinned_genesis",
                "no genesis was pinned: pin one first",
            )),
            |_| String::new(),
        );
    }
    result(false, open_chain(served, Some(pinned)), |chain| {
        let latest = chain.latest();
        if latest.id() == pinned {
            format!(
                "the node serves the pinned genesis {pinned} (version {})",
                latest.sequence()
            )
        } else {
            format!(
                "followed the chain from the pinned version {pinned} to version {} ({}), each \
                 signed by enough founders of the version before",
                latest.sequence(),
                latest.id()
            )
        }
    })
}
