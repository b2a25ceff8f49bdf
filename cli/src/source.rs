//! Where the logs come from: a daylight node's HTTP API, or a static copy of its logs
//! ([`crate::static_copy`]) behind any web server or S3 bucket. `verify`, `receipt`, `flow`
//! and `audit` read through a [`Source`] and check what they read the same way whichever it
//! is; only how a proof, a record or a receipt is obtained differs.
//!
//! # Telling them apart
//!
//! Once per source, lazily at its first read, the CLI asks for `/daylight-static.json`: a
//! static copy serves that marker (`{"format":"daylight-static","version":1}`), a node answers
//! 404. One small request settles it before anything else is read, which guessing from error
//! pages could not: a node answers 404 for a record it lacks too, and static hosts answer 404
//! with HTML or XML that a proxy in front of a node might also produce. Probing at the first
//! read rather than when the source is made keeps a source that cannot be reached an error of
//! the read that needed it (exit 3), named in the report like any other unreachable node.

use std::sync::{Arc, OnceLock};

use daylight_genesis::Genesis;
use daylight_verifier::Hash;
use daylight_verifier::record::canonicalize;
use daylight_verifier::tile::Tile;
use serde_json::Value;

use crate::check::{Fetched, Target, Version};
use crate::client::{Client, Reply};
use crate::error::CliError;
use crate::static_copy::{self, StaticCopy};

/// A source of logs: a node or a static copy, by its base URL. Cheap to clone.
#[derive(Clone)]
pub struct Source(Arc<Inner>);

struct Inner {
    client: Client,
    mode: OnceLock<Mode>,
}

enum Mode {
    /// A daylight node's API.
    Node,
    /// A static copy: tiles, checkpoints and rid objects only.
    Static(StaticCopy),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Source").field(&self.base()).finish()
    }
}

impl Source {
    /// The source at `url` (a node's base URL or a static copy's root URL).
    pub fn new(url: &str) -> Result<Source, CliError> {
        Ok(Source::from_client(Client::new(url)?))
    }

    /// The source behind `client`.
    pub fn from_client(client: Client) -> Source {
        Source(Arc::new(Inner {
            client,
            mode: OnceLock::new(),
        }))
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        self.0.client.base()
    }

    fn mode(&self) -> Result<&Mode, CliError> {
        if let Some(mode) = self.0.mode.get() {
            return Ok(mode);
        }
        let mode = if static_copy::probe(&self.0.client)? {
            Mode::Static(StaticCopy::new(self.0.client.clone()))
        } else {
            Mode::Node
        };
        Ok(self.0.mode.get_or_init(|| mode))
    }

    /// Whether this is a static copy (asks the server once).
    pub fn is_static(&self) -> Result<bool, CliError> {
        Ok(matches!(self.mode()?, Mode::Static(_)))
    }

    /// What the source is, for people: `node URL` or `static copy at URL (no node API)`.
    pub fn describe(&self) -> Result<String, CliError> {
        Ok(match self.mode()? {
            Mode::Node => format!("node {}", self.base()),
            Mode::Static(_) => format!("static copy at {} (no node API)", self.base()),
        })
    }

    /// `"node"` or `"static copy"`, for JSON.
    pub fn kind(&self) -> Result<&'static str, CliError> {
        Ok(match self.mode()? {
            Mode::Node => "node",
            Mode::Static(_) => "static copy",
        })
    }

    /// How proofs from this source were obtained, to append to a check's description: empty
    /// for a node, which serves them.
    pub fn proof_note(&self) -> Result<&'static str, CliError> {
        Ok(match self.mode()? {
            Mode::Node => "",
            Mode::Static(_) => {
                " (proof built here from the copy's hash tiles, each checked against the \
                 checkpoint root)"
            }
        })
    }

    /// The checkpoint note of `member`'s log. A static copy's is read once per run.
    pub fn checkpoint(&self, member: &str) -> Result<Vec<u8>, CliError> {
        match self.mode()? {
            Mode::Node => Ok(self
                .0
                .client
                .get_ok(&format!("/log/{member}/checkpoint"))?
                .body),
            Mode::Static(copy) => Ok(copy.checkpoint(member)?.to_vec()),
        }
    }

    /// Finds a record by rid or leaf. `Ok(Err(why))` when the source does not have it. A
    /// static copy needs the genesis to know its logs for a leaf; for a rid it guesses the
    /// log from the rid without one.
    pub fn record(
        &self,
        target: &Target,
        genesis: Option<&Genesis>,
    ) -> Result<Result<Fetched, String>, CliError> {
        match self.mode()? {
            Mode::Node => node_record(&self.0.client, target),
            Mode::Static(copy) => copy.record(target, genesis),
        }
    }

    /// The inclusion proof of entry `index` in the tree of `size`: from the node, or built
    /// from the copy's hash tiles.
    pub fn inclusion(&self, member: &str, index: u64, size: u64) -> Result<Vec<Hash>, CliError> {
        match self.mode()? {
            Mode::Node => {
                let path = format!("/log/{member}/proof/inclusion?index={index}&size={size}");
                let reply = self.0.client.get_ok(&path)?;
                let answer: daylight_api::InclusionProof = parse(&reply, "inclusion proof")?;
                Ok(answer.proof)
            }
            Mode::Static(copy) => copy.inclusion(member, index, size),
        }
    }

    /// The consistency proof from the tree of `old` entries to that of `new`.
    pub fn consistency(&self, member: &str, old: u64, new: u64) -> Result<Vec<Hash>, CliError> {
        match self.mode()? {
            Mode::Node => {
                let path = format!("/log/{member}/proof/consistency?old={old}&new={new}");
                let reply = self.0.client.get_ok(&path)?;
                let answer: daylight_api::ConsistencyProof = parse(&reply, "consistency proof")?;
                Ok(answer.proof)
            }
            Mode::Static(copy) => copy.consistency(member, old, new),
        }
    }

    /// The receipt (tlog-proof bundle text) of entry `index` of `member`'s log: the node's,
    /// or assembled from the copy's entry bundle, hash tiles and checkpoint.
    pub fn receipt(&self, member: &str, index: u64) -> Result<Vec<u8>, CliError> {
        match self.mode()? {
            Mode::Node => Ok(self
                .0
                .client
                .get_ok(&format!("/log/{member}/receipt/{index}"))?
                .body),
            Mode::Static(copy) => copy.receipt(member, index),
        }
    }

    /// The evidence of equivocation the node holds (each item unverified); `None` for a
    /// static copy, which carries no evidence list.
    pub fn evidence(&self) -> Result<Option<Vec<Value>>, CliError> {
        match self.mode()? {
            Mode::Node => {
                let reply = self.0.client.get_ok("/v1/evidence")?;
                Ok(Some(parse(&reply, "evidence list")?))
            }
            Mode::Static(_) => Ok(None),
        }
    }

    /// The node's view of its network (`/v1/network`: which members it hears from, and
    /// when); `None` for a static copy, or when the node does not answer it.
    pub fn network_info(&self) -> Option<daylight_api::NetworkInfo> {
        match self.mode().ok()? {
            Mode::Node => {
                let reply = self.0.client.get_ok("/v1/network").ok()?;
                parse(&reply, "network information").ok()
            }
            Mode::Static(_) => None,
        }
    }

    /// The bytes of a tile of `member`'s log (the same path on a node and in a copy).
    pub fn tile(&self, member: &str, tile: &Tile) -> Result<Vec<u8>, CliError> {
        let path = format!("/log/{member}/{}", tile.path());
        let reply = self.0.client.get(&path)?;
        if reply.is_success() {
            return Ok(reply.body);
        }
        if reply.status == 404 && self.is_static()? {
            return Err(crate::error::failed(format!(
                "{} is missing, but the copy's checkpoint needs it: the static copy is \
                 incomplete; ask its publisher to republish it, or use a node",
                reply.url
            )));
        }
        Err(reply.refusal())
    }

    /// For a static copy whose entries did not rebuild the checkpoint's root: the first entry
    /// bundle that does not match the copy's hash tiles, or the hash tile that does not match
    /// the root, as a sentence. `None` for a node, or when nothing more specific is found.
    pub fn explain_damage(&self, member: &str) -> Option<String> {
        let Ok(Mode::Static(copy)) = self.mode() else {
            return None;
        };
        let log = copy.log(member).ok()?;
        match log.scan(0, |_, _| Ok(())) {
            Err(e) => Some(e.to_string()),
            Ok(_) => None,
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(reply: &Reply, what: &str) -> Result<T, CliError> {
    serde_json::from_slice(&reply.body)
        .map_err(|e| malformed(reply, format!("malformed {what}: {e}")))
}

fn malformed(reply: &Reply, detail: String) -> CliError {
    CliError::Refused {
        url: reply.url.clone(),
        status: reply.status,
        detail,
    }
}

/// A version as a node serves it: the entry as JSON, turned back into its exact bytes (JCS).
fn version(index: u64, leaf: Hash, entry: &Value, what: &str) -> Result<Version, String> {
    let bytes = serde_json::to_vec(entry).map_err(|e| e.to_string())?;
    let entry = canonicalize(&bytes).map_err(|e| format!("{what} entry: {e}"))?;
    Ok(Version {
        index,
        claimed_leaf: leaf.to_hex(),
        entry,
    })
}

/// Asks a node for a record.
fn node_record(client: &Client, target: &Target) -> Result<Result<Fetched, String>, CliError> {
    let reply = client.get(&target.path())?;
    if reply.status == 404 {
        if serde_json::from_slice::<daylight_api::ErrorBody>(&reply.body).is_err() {
            // Not a node's JSON error: a web server that is neither a node nor a copy.
            return Err(malformed(
                &reply,
                format!(
                    "not found, and not a daylight node's answer; {} is neither a daylight node \
                     nor a static copy (which has {} at its root): check the URL",
                    client.base(),
                    static_copy::MARKER_PATH
                ),
            ));
        }
        return Ok(Err(format!(
            "the node {} does not have {}",
            client.base(),
            target.describe()
        )));
    }
    if !reply.is_success() {
        return Err(reply.refusal());
    }
    let answer: daylight_api::RecordAnswer = parse(&reply, "record answer")?;
    let bad = |e: String| malformed(&reply, format!("malformed record answer: {e}"));
    let main = version(answer.index, answer.leaf, &answer.entry, "record").map_err(bad)?;
    let mut corrections = Vec::new();
    for (i, c) in answer.corrections.into_iter().enumerate() {
        corrections.push(
            version(c.index, c.leaf, &c.entry, &format!("correction {i}"))
                .map_err(|e| malformed(&reply, format!("malformed record answer: {e}")))?,
        );
    }
    Ok(Ok(Fetched {
        log: answer.log,
        rid: answer.rid,
        version: main,
        corrections,
        notes: Vec::new(),
    }))
}
