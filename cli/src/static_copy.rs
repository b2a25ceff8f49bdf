//! Reading a **static copy** of a network's logs (DESIGN §5.6, docs/static-publication.md):
//! what a node publishes to a directory behind nginx or to an S3 bucket, under one root URL:
//!
//! ```text
//! daylight-static.json                      {"format":"daylight-static","version":1}
//! log/<member>/checkpoint                   the cosigned checkpoint note
//! log/<member>/tile/<L>/<N>[.p/<W>]         hash tiles
//! log/<member>/tile/entries/<N>[.p/<W>]     entry bundles
//! log/<member>/rid/<rid>                    {"index":N,"leaf":"<64 hex>"} (may be absent)
//! ```
//!
//! There is no API: proofs are built here from the hash tiles, receipts are assembled from an
//! entry bundle and a proof, and a record is found through its `rid` object or, on a copy
//! without them, by scanning its log's entry bundles. Every tile is checked against the
//! checkpoint's root before use ([`crate::tiles`]); the checkpoint itself is checked against
//! the genesis by the commands, exactly as a node's, so the web server needs no trust.
//!
//! One checkpoint per log is read per run and kept, so that every proof, entry and scan of a
//! run is about the same tree.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use daylight_genesis::Genesis;
use daylight_verifier::Hash;
use daylight_verifier::bundle::ProofBundle;
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::note::Note;
use serde::Deserialize;

use crate::check::{Fetched, Target, Version, member_of_rid};
use crate::client::Client;
use crate::error::{CliError, failed, input};
use crate::tiles::{TileFetch, TileLog};

/// Where the marker of a static copy is, under the copy's root URL.
pub const MARKER_PATH: &str = "/daylight-static.json";
/// The marker's `format`.
pub const MARKER_FORMAT: &str = "daylight-static";
/// The marker `version` this build reads.
pub const MARKER_VERSION: u64 = 1;

/// The marker file `daylight-static.json` at a static copy's root.
#[derive(Clone, Debug, Deserialize)]
pub struct Marker {
    /// Always [`MARKER_FORMAT`].
    pub format: String,
    /// The layout version; this build reads [`MARKER_VERSION`].
    pub version: u64,
}

/// A `log/<member>/rid/<rid>` object: where a record id was first logged.
#[derive(Clone, Debug, Deserialize)]
pub struct RidObject {
    /// The entry index.
    pub index: u64,
    /// The entry's leaf hash, 64 lowercase hex digits.
    pub leaf: String,
}

/// The fields of an entry a lookup needs: its rid, and the record it corrects or voids.
/// Anything else (or an entry that is not a record) is ignored here; the commands check the
/// entries they show in full.
#[derive(Clone, Debug, Default, Deserialize)]
struct EntryFields {
    rid: Option<String>,
    corrects: Option<Pinned>,
    voids: Option<Pinned>,
}

/// The `{"rid", "leaf"}` a correction or void names.
#[derive(Clone, Debug, Deserialize)]
struct Pinned {
    rid: String,
}

impl EntryFields {
    fn of(entry: &[u8]) -> EntryFields {
        serde_json::from_slice(entry).unwrap_or_default()
    }

    /// The rid this entry corrects or voids, if it is a correction or void.
    fn amends(&self) -> Option<&str> {
        self.corrects
            .as_ref()
            .or(self.voids.as_ref())
            .map(|p| p.rid.as_str())
    }
}

/// Whether the server at `client` holds a static copy: `GET /daylight-static.json` answers
/// the marker. Anything else (a node's JSON 404, an HTML page, another JSON file) means it
/// does not; a marker of another version is refused, since its layout may differ.
pub fn probe(client: &Client) -> Result<bool, CliError> {
    let reply = client.get(MARKER_PATH)?;
    if !reply.is_success() {
        return Ok(false);
    }
    match serde_json::from_slice::<Marker>(&reply.body) {
        Ok(marker) if marker.format == MARKER_FORMAT => {
            if marker.version != MARKER_VERSION {
                return Err(input(format!(
                    "{} is a static copy of layout version {}, but this daylight reads version \
                     {MARKER_VERSION}; upgrade daylight",
                    reply.url, marker.version
                )));
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Whether an answer means "no such object": 404, or 403 as S3 answers for a missing key
/// when listing is not allowed.
fn absent(status: u16) -> bool {
    matches!(status, 403 | 404 | 410)
}

/// One log's objects in a static copy, over HTTP.
pub struct CopyTiles {
    client: Client,
    member: String,
}

impl TileFetch for CopyTiles {
    fn fetch(&self, path: &str) -> Result<Option<Vec<u8>>, CliError> {
        let reply = self.client.get(&format!("/log/{}/{path}", self.member))?;
        if absent(reply.status) {
            return Ok(None);
        }
        if !reply.is_success() {
            return Err(refused(&reply.url, reply.status, "cannot read this tile"));
        }
        Ok(Some(reply.body))
    }

    fn location(&self, path: &str) -> String {
        format!("{}/log/{}/{path}", self.client.base(), self.member)
    }
}

fn refused(url: &str, status: u16, detail: &str) -> CliError {
    CliError::Refused {
        url: url.to_string(),
        status,
        detail: detail.to_string(),
    }
}

/// A static copy at one root URL, with the checkpoint of each log read once per run.
pub struct StaticCopy {
    client: Client,
    notes: Mutex<HashMap<String, Arc<Vec<u8>>>>,
    logs: Mutex<HashMap<String, Arc<TileLog<CopyTiles>>>>,
}

impl StaticCopy {
    /// The copy at `client`'s base URL (already probed).
    pub fn new(client: Client) -> StaticCopy {
        StaticCopy {
            client,
            notes: Mutex::new(HashMap::new()),
            logs: Mutex::new(HashMap::new()),
        }
    }

    /// The checkpoint note of `member`'s log, as read first in this run.
    pub fn checkpoint(&self, member: &str) -> Result<Arc<Vec<u8>>, CliError> {
        if let Some(note) = lock(&self.notes).get(member) {
            return Ok(note.clone());
        }
        let reply = self.client.get(&format!("/log/{member}/checkpoint"))?;
        if absent(reply.status) {
            return Err(refused(
                &reply.url,
                reply.status,
                &format!(
                    "the static copy has no checkpoint of log {member}: it does not hold this \
                     log, or {} is not the copy's root URL",
                    self.client.base()
                ),
            ));
        }
        if !reply.is_success() {
            return Err(refused(
                &reply.url,
                reply.status,
                "cannot read the checkpoint",
            ));
        }
        let note = Arc::new(reply.body);
        lock(&self.notes).insert(member.to_string(), note.clone());
        Ok(note)
    }

    /// The tiles of `member`'s log at the copy's checkpoint. The checkpoint is only parsed
    /// here, not trusted: every command checks it against the genesis.
    pub fn log(&self, member: &str) -> Result<Arc<TileLog<CopyTiles>>, CliError> {
        if let Some(log) = lock(&self.logs).get(member) {
            return Ok(log.clone());
        }
        let note = self.checkpoint(member)?;
        let checkpoint = parse_checkpoint(&note).map_err(|e| {
            failed(format!(
                "the static copy's checkpoint of log {member} ({}/log/{member}/checkpoint) is \
                 not a checkpoint note: {e}",
                self.client.base()
            ))
        })?;
        let tiles = CopyTiles {
            client: self.client.clone(),
            member: member.to_string(),
        };
        let log = Arc::new(TileLog::new(tiles, checkpoint.size, checkpoint.root));
        lock(&self.logs).insert(member.to_string(), log.clone());
        Ok(log)
    }

    /// The inclusion proof of entry `index` in the tree of `size`, built from the tiles.
    pub fn inclusion(&self, member: &str, index: u64, size: u64) -> Result<Vec<Hash>, CliError> {
        self.log(member)?.inclusion_proof(index, size)
    }

    /// The consistency proof from `old` to `new` entries, built from the tiles.
    pub fn consistency(&self, member: &str, old: u64, new: u64) -> Result<Vec<Hash>, CliError> {
        self.log(member)?.consistency_proof(old, new)
    }

    /// The receipt (tlog-proof bundle) of entry `index`: the entry from its bundle and its
    /// inclusion proof to the copy's checkpoint, which the bundle carries verbatim.
    pub fn receipt(&self, member: &str, index: u64) -> Result<Vec<u8>, CliError> {
        let log = self.log(member)?;
        let note = self.checkpoint(member)?;
        let size = log.size();
        if index >= size {
            return Err(failed(format!(
                "the static copy's checkpoint of log {member} has {size} entries; there is no \
                 entry {index} in it yet"
            )));
        }
        let entry = log.entry(index)?;
        let proof = log.inclusion_proof(index, size)?;
        let bundle = ProofBundle {
            extra: Some(entry),
            index,
            proof,
            checkpoint: String::from_utf8_lossy(&note).into_owned(),
        };
        Ok(bundle.to_text().into_bytes())
    }

    /// The `rid` object of `rid` in `member`'s log, if the copy has one.
    fn rid_object(&self, member: &str, rid: &str) -> Result<Option<RidObject>, CliError> {
        let reply = self.client.get(&format!("/log/{member}/rid/{rid}"))?;
        if absent(reply.status) {
            return Ok(None);
        }
        if !reply.is_success() {
            return Err(refused(
                &reply.url,
                reply.status,
                "cannot read the rid index",
            ));
        }
        // A garbled object is treated as absent: the scan below still finds the record.
        Ok(serde_json::from_slice(&reply.body).ok())
    }

    /// Finds a record the way a node's `/v1/records/<rid>` or `/v1/leaf/<hash>` would, from
    /// the copy alone: `Ok(Err(why))` when the copy does not have it. With no genesis, the
    /// rid's log is the longest dash-separated prefix of it that the copy holds.
    pub fn record(
        &self,
        target: &Target,
        genesis: Option<&Genesis>,
    ) -> Result<Result<Fetched, String>, CliError> {
        match target {
            Target::Rid(rid) => self.record_by_rid(rid, genesis),
            Target::Leaf(leaf) => match genesis {
                Some(genesis) => self.record_by_leaf(leaf, genesis),
                None => Err(input(
                    "finding a leaf in a static copy needs the genesis (to know its logs)",
                )),
            },
        }
    }

    fn record_by_rid(
        &self,
        rid: &str,
        genesis: Option<&Genesis>,
    ) -> Result<Result<Fetched, String>, CliError> {
        let member = match genesis {
            Some(g) => member_of_rid(rid, g.members().iter().map(|m| m.id.as_str())),
            None => self.member_holding(rid)?,
        };
        let Some(member) = member else {
            return Ok(Err(format!(
                "the static copy at {} holds no log whose member id prefixes {rid}",
                self.client.base()
            )));
        };
        let log = self.log(&member)?;
        let mut notes = Vec::new();
        let index = match self.rid_object(&member, rid)? {
            Some(object) => match self.check_rid_object(&log, rid, &object)? {
                Ok(()) => {
                    notes.push(format!(
                        "found through the copy's rid index (log/{member}/rid/{rid})"
                    ));
                    Some(object.index)
                }
                Err(why) => {
                    notes.push(format!(
                        "the copy's rid index for {rid} is wrong ({why}); searched the log instead"
                    ));
                    None
                }
            },
            None => None,
        };
        // From the record on (or from the start, to find it), every later entry: the copy has
        // no index of corrections and voids.
        let mut first = index;
        let mut amendments = Vec::new();
        let scanned = log.scan(index.map_or(0, |i| i + 1), |i, entry| {
            let fields = EntryFields::of(entry);
            if first.is_none() {
                if fields.rid.as_deref() == Some(rid) {
                    first = Some(i);
                }
            } else if fields.amends() == Some(rid) {
                amendments.push((i, entry.to_vec()));
            }
            Ok(())
        })?;
        let Some(index) = first else {
            return Ok(Err(format!(
                "the static copy at {} does not have record {rid}: this copy has no rid index \
                 for it; scanned all {scanned} entries of log {member} (size {})",
                self.client.base(),
                log.size()
            )));
        };
        if notes.is_empty() {
            notes.push(format!(
                "this copy has no rid index; scanned {scanned} entries of log {member} to find \
                 the record and its corrections"
            ));
        } else {
            notes.push(corrections_note(scanned, log.size()));
        }
        let entry = log.entry(index)?;
        Ok(Ok(fetched(&member, rid, index, entry, amendments, notes)))
    }

    /// Checks a rid object against the entry it points at.
    fn check_rid_object(
        &self,
        log: &TileLog<CopyTiles>,
        rid: &str,
        object: &RidObject,
    ) -> Result<Result<(), String>, CliError> {
        if object.index >= log.size() {
            return Ok(Err(format!(
                "it points at entry {}, past the checkpoint of size {}",
                object.index,
                log.size()
            )));
        }
        let entry = log.entry(object.index)?;
        let leaf = leaf_hash(&entry).to_hex();
        if leaf != object.leaf {
            return Ok(Err(format!(
                "it names leaf {}, entry {} has leaf {leaf}",
                object.leaf, object.index
            )));
        }
        if EntryFields::of(&entry).rid.as_deref() != Some(rid) {
            return Ok(Err(format!("entry {} is another record", object.index)));
        }
        Ok(Ok(()))
    }

    /// Without a genesis: the longest dash-separated prefix of `rid` whose log the copy holds.
    fn member_holding(&self, rid: &str) -> Result<Option<String>, CliError> {
        let mut prefixes: Vec<&str> = rid.match_indices('-').map(|(i, _)| &rid[..i]).collect();
        prefixes.reverse();
        for prefix in prefixes {
            match self.checkpoint(prefix) {
                Ok(_) => return Ok(Some(prefix.to_string())),
                Err(CliError::Refused { status, .. }) if absent(status) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    fn record_by_leaf(
        &self,
        leaf: &Hash,
        genesis: &Genesis,
    ) -> Result<Result<Fetched, String>, CliError> {
        let mut searched = Vec::new();
        let mut entries = 0;
        for member in genesis.members() {
            let log = match self.log(&member.id) {
                Ok(log) => log,
                Err(CliError::Refused { status, .. }) if absent(status) => continue,
                Err(e) => return Err(e),
            };
            searched.push(member.id.clone());
            entries += log.size();
            let Some(index) = log.find_leaf(leaf)? else {
                continue;
            };
            let entry = log.entry(index)?;
            let rid = EntryFields::of(&entry).rid.unwrap_or_default();
            let mut amendments = Vec::new();
            let scanned = log.scan(index + 1, |i, e| {
                if !rid.is_empty() && EntryFields::of(e).amends() == Some(rid.as_str()) {
                    amendments.push((i, e.to_vec()));
                }
                Ok(())
            })?;
            let notes = vec![
                format!(
                    "this copy has no leaf index; found the leaf in the hash tiles of log {} \
                     (searched {} log(s))",
                    member.id,
                    searched.len()
                ),
                corrections_note(scanned, log.size()),
            ];
            return Ok(Ok(fetched(
                &member.id, &rid, index, entry, amendments, notes,
            )));
        }
        Ok(Err(format!(
            "the static copy at {} does not have leaf {leaf}: this copy has no leaf index; \
             searched the {entries} leaf hashes of {} log(s) ({})",
            self.client.base(),
            searched.len(),
            searched.join(", ")
        )))
    }
}

fn corrections_note(scanned: u64, size: u64) -> String {
    format!(
        "corrections and voids: a static copy has no index of them, so the {scanned} later \
         entries up to its checkpoint (size {size}) were scanned; any logged after that \
         checkpoint are not in this copy yet"
    )
}

fn fetched(
    member: &str,
    rid: &str,
    index: u64,
    entry: Vec<u8>,
    amendments: Vec<(u64, Vec<u8>)>,
    notes: Vec<String>,
) -> Fetched {
    let version = |index: u64, entry: Vec<u8>| Version {
        index,
        claimed_leaf: leaf_hash(&entry).to_hex(),
        entry,
    };
    Fetched {
        log: member.to_string(),
        rid: rid.to_string(),
        version: version(index, entry),
        corrections: amendments.into_iter().map(|(i, e)| version(i, e)).collect(),
        notes,
    }
}

/// Parses a checkpoint note's body without checking any signature.
fn parse_checkpoint(note: &[u8]) -> Result<Checkpoint, String> {
    let note = Note::parse(note).map_err(|e| e.to_string())?;
    Checkpoint::parse(&note.text).map_err(|e| e.to_string())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
