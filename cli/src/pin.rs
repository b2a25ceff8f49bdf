//! The pinned genesis, in one place for every verifying command (DESIGN §6b).
//!
//! A citizen pins a file: version 1 of the genesis (a signed note), or a JSON chain as
//! `daylight genesis update` writes it (version 1 and every later version, verified from
//! version 1 here). The latest version of that file is the *pinned version*. A command that
//! talks to nodes asks each for the chain it serves (`GET /v1/genesis`) and follows it from
//! the pinned version ([`GenesisChain::follow_json`]): versions after the pin are verified by
//! the founders' signatures and proofs of possession, so no server is trusted. The command
//! then verifies with the latest version's rules, which cover every log's key history.
//!
//! What can happen at each node, and what the command does:
//! * it serves the pinned version and later ones that verify: follow them;
//! * it serves the pinned version as its latest, or only earlier versions (it is behind): use
//!   what this machine has, and say so;
//! * it serves no chain (a static copy, an older node): use the pin, and say so in one line;
//! * it cannot be reached: go on without it (the command itself reports the node);
//! * it serves a chain that does not verify from the pin (a forgery, a fork, a wrong
//!   `previous`): stop, exit 1, naming the node and what is wrong;
//! * it runs another network: stop, exit 2.
//!
//! Offline commands (`receipt verify`, `evidence verify`) use the pin as it is.

use std::path::Path;

use daylight_genesis::{Genesis, GenesisChain, GenesisError};
use serde_json::{Value, json};

use crate::client::Client;
use crate::error::{CliError, failed, input, read_file};
use crate::output::Report;
use crate::source::Source;

/// The genesis a command verifies with, and how it was reached from the pin.
pub struct Pinned {
    /// The verified chain: from version 1 to the latest version known to this run.
    pub chain: GenesisChain,
    /// The pinned version (the latest of the pinned file): sequence and id.
    pub pinned: (u64, String),
    /// The node whose chain brought the latest version, if it is later than the pin.
    pub followed_from: Option<String>,
    /// One sentence per node that served no chain or was behind, for the report.
    pub notes: Vec<String>,
}

/// What one node said about the chain.
pub enum Served {
    /// The chain, as JSON (not verified yet).
    Chain(Vec<u8>),
    /// No chain: why, in one sentence.
    None(String),
}

/// How a served chain relates to the one this machine holds.
pub enum Followed {
    /// It verified from our latest version and goes further.
    Ahead(GenesisChain),
    /// Its latest version is our latest version.
    Same,
    /// It ends at this earlier version of our chain: the node has not caught up.
    Behind(u64),
}

impl Pinned {
    /// The version whose rules apply now: the latest of the chain.
    pub fn genesis(&self) -> &Genesis {
        self.chain.latest()
    }

    /// One line saying which version is used and why.
    pub fn summary(&self, file: &Path) -> String {
        let latest = self.genesis();
        let (seq, id) = &self.pinned;
        match &self.followed_from {
            Some(url) => format!(
                "Genesis: pinned version {seq} ({}); followed the chain served by {url} to \
                 version {} ({}), each later version verified by its founders' signatures; \
                 verifying with version {}. Move your pin with `daylight genesis update \
                 --pinned {} --node {url}`.",
                short(id),
                latest.sequence(),
                short(latest.id()),
                latest.sequence(),
                file.display()
            ),
            None => format!("Genesis: pinned version {seq} ({}).", short(id)),
        }
    }

    /// Puts the summary and notes at the top of a command's report, and the chain in its
    /// JSON as `genesis_chain`.
    pub fn annotate(
        &self,
        file: &Path,
        result: Result<Report, CliError>,
    ) -> Result<Report, CliError> {
        let mut report = self.annotate_json(result)?;
        let mut lines = vec![self.summary(file)];
        lines.extend(self.notes.iter().cloned());
        lines.append(&mut report.lines);
        report.lines = lines;
        Ok(report)
    }

    /// Puts the chain in the report's JSON only: for a command whose standard output is a
    /// document of its own (`audit --format json|html` without `--out`).
    pub fn annotate_json(&self, result: Result<Report, CliError>) -> Result<Report, CliError> {
        let mut report = result?;
        if let Value::Object(map) = &mut report.json {
            let latest = self.genesis();
            map.insert(
                "genesis_chain".to_string(),
                json!({
                    "network_id": self.chain.network_id(),
                    "pinned": {"sequence": self.pinned.0, "id": self.pinned.1},
                    "using": {"sequence": latest.sequence(), "id": latest.id()},
                    "followed_from": self.followed_from,
                    "notes": self.notes,
                }),
            );
        }
        Ok(report)
    }
}

/// Reads and verifies the pinned file: a version-1 genesis file or a JSON chain. Any problem
/// is bad input (exit 2).
pub fn read(path: &Path) -> Result<GenesisChain, CliError> {
    let bytes = read_file(path)?;
    GenesisChain::parse_any(&bytes).map_err(|e| match e {
        GenesisError::NeedsPreviousVersion { sequence, .. } => input(format!(
            "genesis {}: this is version {sequence} of a genesis alone, which cannot be verified \
             without the versions before it; pin version 1 or the whole chain (JSON, as \
             `daylight genesis update` writes it, or as a node serves at /v1/genesis)",
            path.display()
        )),
        other => input(format!("genesis {}: {other}", path.display())),
    })
}

/// The pinned file used as it is, for commands that ask no node.
pub fn offline(path: &Path) -> Result<Pinned, CliError> {
    let chain = read(path)?;
    let latest = chain.latest();
    let pinned = (latest.sequence(), latest.id().to_string());
    Ok(Pinned {
        chain,
        pinned,
        followed_from: None,
        notes: vec![
            "Used as pinned: this command asks no node; if the network changed since, run \
             `daylight genesis update` to follow its later versions."
                .to_string(),
        ],
    })
}

/// Reads the pinned file and follows the chain each of `urls` serves from it, in turn: the
/// genesis a command that talks to these nodes verifies with.
pub fn load(path: &Path, urls: &[String]) -> Result<Pinned, CliError> {
    let chain = read(path)?;
    let latest = chain.latest();
    let mut pinned = Pinned {
        pinned: (latest.sequence(), latest.id().to_string()),
        chain,
        followed_from: None,
        notes: Vec::new(),
    };
    for url in urls {
        let client = Client::new(url)?;
        let served = match fetch(&client) {
            Ok(served) => served,
            // The command itself reports a node it cannot reach.
            Err(CliError::Unreachable { .. }) => continue,
            Err(e) => return Err(e),
        };
        let bytes = match served {
            Served::Chain(bytes) => bytes,
            Served::None(why) => {
                pinned.notes.push(format!(
                    "{why}; verifying with version {} as this machine has it.",
                    pinned.chain.latest().sequence()
                ));
                continue;
            }
        };
        match follow(&pinned.chain, client.base(), &bytes)? {
            Followed::Ahead(chain) => {
                pinned.chain = chain;
                pinned.followed_from = Some(client.base().to_string());
            }
            Followed::Same => {}
            Followed::Behind(sequence) => pinned.notes.push(format!(
                "{} serves the genesis only up to version {sequence}; it has not caught up with \
                 version {} yet.",
                client.base(),
                pinned.chain.latest().sequence()
            )),
        }
    }
    Ok(pinned)
}

/// Asks a node for its chain (`GET /v1/genesis`). A 404 means it serves none: a static copy,
/// or a node older than the genesis chain.
pub fn fetch(client: &Client) -> Result<Served, CliError> {
    let reply = client.get("/v1/genesis")?;
    if reply.is_success() {
        return Ok(Served::Chain(reply.body));
    }
    if reply.status != 404 {
        return Err(reply.refusal());
    }
    let is_static = Source::from_client(client.clone())
        .is_static()
        .unwrap_or(false);
    Ok(Served::None(if is_static {
        format!(
            "The static copy at {} does not serve the genesis chain",
            client.base()
        )
    } else {
        format!(
            "{} does not serve the genesis chain (GET /v1/genesis: 404; a node older than \
             genesis versions)",
            client.base()
        )
    }))
}

/// Follows the chain `url` served (`bytes`, JSON) from the latest version of `ours`.
///
/// A chain of another network is bad input (exit 2); one that does not verify from our
/// latest version, or contradicts our chain, is a verification failure (exit 1).
pub fn follow(ours: &GenesisChain, url: &str, bytes: &[u8]) -> Result<Followed, CliError> {
    let latest = ours.latest();
    let body: daylight_api::GenesisChainBody = serde_json::from_slice(bytes).map_err(|e| {
        failed(format!(
            "{url} serves a genesis chain that is not valid JSON of the chain form ({e}); \
             nothing from it was trusted"
        ))
    })?;
    if body.network_id != ours.network_id() {
        return Err(input(format!(
            "{url} runs the network with id {}, but your pinned genesis is of network {}; \
             it is a node of another network: check the URL",
            body.network_id,
            ours.network_id()
        )));
    }
    match GenesisChain::follow_json(latest.id(), bytes) {
        Ok(chain) if chain.latest().sequence() > latest.sequence() => Ok(Followed::Ahead(chain)),
        Ok(_) => Ok(Followed::Same),
        Err(GenesisError::PinnedNotServed(_)) if is_prefix(ours, &body) => {
            Ok(Followed::Behind(body.versions.len() as u64))
        }
        Err(GenesisError::PinnedNotServed(_)) => Err(failed(format!(
            "{url} serves a genesis chain without version {} ({}) that this machine holds: it \
             is another history of this network (a fork or a forgery); nothing from it was \
             trusted",
            latest.sequence(),
            latest.id()
        ))),
        Err(e) => Err(failed(format!(
            "{url} serves a genesis chain that does not verify from version {} ({}): {e}; \
             nothing from it was trusted",
            latest.sequence(),
            short(latest.id())
        ))),
    }
}

/// Whether every version `body` lists is the version of that number in `ours`.
fn is_prefix(ours: &GenesisChain, body: &daylight_api::GenesisChainBody) -> bool {
    !body.versions.is_empty()
        && body.versions.iter().enumerate().all(|(i, v)| {
            v.sequence == i as u64 + 1 && ours.version(v.sequence).is_some_and(|g| g.id() == v.id)
        })
}

/// The first 16 hex digits of an id, enough for people to tell versions apart.
pub fn short(id: &str) -> String {
    let end = id.len().min(16);
    format!("id {}...", &id[..end])
}

#[cfg(test)]
mod tests {
    use daylight_genesis::{GenesisBuilder, Role, SignedGenesis};
    use daylight_verifier::SigningKey;

    use super::*;
    use crate::genesis_changes::tests::member;

    const NETWORK: &str = "pin.daylight";

    /// Two members, both founders; their log keys.
    fn first_version(network: &str) -> (GenesisChain, Vec<SigningKey>) {
        let mut draft = GenesisBuilder::new(network);
        draft.set_quorum(1);
        let mut keys = Vec::new();
        for (n, (id, role)) in [("city-1", Role::City), ("county-1", Role::County)]
            .into_iter()
            .enumerate()
        {
            let (member, log) = member(network, n, id, role);
            draft.add_member(member);
            keys.push(log);
        }
        let mut signed = draft.sign(&keys[0]).unwrap();
        signed.sign(&keys[1]).unwrap();
        (GenesisChain::new(signed.verify().unwrap()).unwrap(), keys)
    }

    /// The version after the chain's latest with `idle_days` set, signed by `signers`.
    fn next(chain: &GenesisChain, idle_days: u32, signers: &[&SigningKey]) -> SignedGenesis {
        let previous = chain.latest();
        let mut draft = GenesisBuilder::next_version(previous);
        draft.audit_mut().idle_days = idle_days;
        let mut signed = draft.sign_next(previous, signers[0]).unwrap();
        for key in &signers[1..] {
            signed.sign_next(previous, key).unwrap();
        }
        signed
    }

    /// A chain's JSON with `extra` appended unverified.
    fn served(chain: &GenesisChain, extra: Option<&SignedGenesis>) -> Vec<u8> {
        let mut body: daylight_api::GenesisChainBody =
            serde_json::from_str(&chain.to_json()).unwrap();
        if let Some(v) = extra {
            body.versions.push(daylight_api::GenesisVersionBody {
                sequence: v.definition().sequence(),
                id: v.id().to_string(),
                note: v.to_text(),
            });
        }
        serde_json::to_vec(&body).unwrap()
    }

    #[test]
    fn a_served_chain_is_followed_from_the_pin() {
        let (v1, keys) = first_version(NETWORK);
        let mut v2 = v1.clone();
        v2.extend(next(&v1, 60, &[&keys[0], &keys[1]])).unwrap();
        match follow(&v1, "http://n", v2.to_json().as_bytes()).unwrap() {
            Followed::Ahead(chain) => assert_eq!(chain.latest().audit().idle_days, 60),
            _ => panic!("expected to follow to version 2"),
        }
        assert!(matches!(
            follow(&v2, "http://n", v2.to_json().as_bytes()).unwrap(),
            Followed::Same
        ));
        assert!(matches!(
            follow(&v2, "http://n", v1.to_json().as_bytes()).unwrap(),
            Followed::Behind(1)
        ));
    }

    #[test]
    fn forged_and_forked_chains_fail_verification() {
        let (v1, keys) = first_version(NETWORK);
        // Version 2 signed by one founder of two: below the majority.
        let forged = next(&v1, 60, &[&keys[0]]);
        let error = follow(&v1, "http://n", &served(&v1, Some(&forged)))
            .err()
            .expect("a forged version is refused");
        assert_eq!(error.exit_code(), 1, "{error}");
        assert!(error.to_string().contains("http://n"), "{error}");
        assert!(error.to_string().contains("county-1"), "{error}");
        // Another version 2 than the one this machine holds: a fork.
        let mut ours = v1.clone();
        ours.extend(next(&v1, 60, &[&keys[0], &keys[1]])).unwrap();
        let mut theirs = v1.clone();
        theirs.extend(next(&v1, 45, &[&keys[0], &keys[1]])).unwrap();
        let error = follow(&ours, "http://n", theirs.to_json().as_bytes())
            .err()
            .expect("a fork is refused");
        assert_eq!(error.exit_code(), 1, "{error}");
        assert!(error.to_string().contains("fork"), "{error}");
        // Garbage is a failure too, not a crash.
        assert_eq!(
            follow(&v1, "http://n", b"{\"x\":1}")
                .err()
                .unwrap()
                .exit_code(),
            1
        );
    }

    #[test]
    fn a_chain_of_another_network_is_bad_input() {
        let (ours, _) = first_version(NETWORK);
        let (other, _) = first_version("other.daylight");
        let error = follow(&ours, "http://n", other.to_json().as_bytes())
            .err()
            .expect("another network is refused");
        assert_eq!(error.exit_code(), 2, "{error}");
        assert!(error.to_string().contains("another network"), "{error}");
    }

    #[test]
    fn a_later_version_alone_cannot_be_pinned() {
        let (v1, keys) = first_version(NETWORK);
        let v2 = next(&v1, 60, &[&keys[0], &keys[1]]);
        let dir = std::env::temp_dir().join(format!("daylight-pin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("v2.note");
        std::fs::write(&file, v2.to_text()).unwrap();
        let error = read(&file).expect_err("refused");
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("version 2"), "{error}");
        let chain_file = dir.join("chain.json");
        let mut chain = v1.clone();
        chain.extend(v2).unwrap();
        std::fs::write(&chain_file, chain.to_json()).unwrap();
        assert_eq!(read(&chain_file).unwrap().latest().sequence(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
