//! `daylight follow --genesis G --node URL [--after CURSOR] [--log M ...] [--count N]`:
//! prints new records as they arrive on a node's feed (`GET /v1/feed`, long-poll), verifying
//! as it goes, trusting nothing but the pinned genesis:
//!
//! * each new checkpoint of a log: its log signature and witness quorum (the genesis policy,
//!   followed along the genesis chain), and that it extends the previous checkpoint of that
//!   log this machine saw (kept in the same store as `daylight verify`'s, so across runs);
//! * each new entry: the record's canonical form and signatures, and its inclusion in a
//!   verified checkpoint.
//!
//! A log whose new checkpoint does not extend the one seen before is *equivocation*: both
//! checkpoints are printed and the command exits 1. Every printed item carries the cursor to
//! resume after it, so after Ctrl-C the last line says where to start again (`--after`); a
//! run that ends by itself (`--count`, an error) prints the resume cursor last. With
//! `--json`, one JSON object per line.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use daylight_api::{FeedEntry, FeedEvent, FeedItem, FeedPage};
use daylight_genesis::Genesis;
use daylight_verifier::Hash;
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::evidence::Evidence;
use daylight_verifier::merkle::verify_consistency;
use daylight_verifier::policy::TrustedCheckpoint;
use daylight_verifier::tile::{TILE_WIDTH, Tile, TileKind, read_bundle};
use serde_json::{Value, json};

use crate::check::{
    check_entry, check_inclusion, describe_record, record_json, trusted_checkpoint,
};
use crate::client::Client;
use crate::error::{CliError, failed, input};
use crate::seen::SeenStore;
use crate::source::Source;

/// Seconds each long-poll waits on the node.
const WAIT: u64 = 20;
/// How long to wait for a checkpoint that covers a new entry to gather its witness quorum.
const QUORUM_PATIENCE: Duration = Duration::from_secs(60);
/// Pause between looks at a checkpoint still gathering its quorum.
const QUORUM_STEP: Duration = Duration::from_millis(100);

/// What `daylight follow` was asked.
pub struct Request<'a> {
    /// The genesis to verify with (latest of the followed chain).
    pub genesis: &'a Genesis,
    /// The node.
    pub node: &'a str,
    /// Resume after this cursor (default: from now on).
    pub after: Option<String>,
    /// Only these logs (default all).
    pub logs: Vec<String>,
    /// Stop after this many records.
    pub count: Option<u64>,
    /// One JSON object per line.
    pub json: bool,
    /// Where this machine keeps the checkpoints it saw.
    pub seen: SeenStore,
}

/// How a new checkpoint relates to the one seen before.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// No earlier checkpoint of this log was seen.
    First,
    /// The same checkpoint (size and root).
    Same,
    /// A larger tree that extends the earlier one (consistency proof verified).
    Extends,
    /// A smaller tree than one seen before: the node is behind; nothing to check.
    Behind,
    /// Not an extension: the log equivocated. Why, in words.
    Fork(String),
}

/// Compares `new` with `old`, asking `proof` for a consistency proof when the sizes differ.
pub fn compare(
    old: Option<&Checkpoint>,
    new: &Checkpoint,
    proof: impl FnOnce(u64, u64) -> Result<Vec<Hash>, CliError>,
) -> Result<Step, CliError> {
    let Some(old) = old else {
        return Ok(Step::First);
    };
    if old.size > new.size {
        return Ok(Step::Behind);
    }
    if old.size == new.size {
        return Ok(if old.root == new.root {
            Step::Same
        } else {
            Step::Fork(format!(
                "two different trees of size {}: root {} seen before, {} now",
                new.size, old.root, new.root
            ))
        });
    }
    if old.size == 0 {
        return Ok(Step::Extends);
    }
    let proof = proof(old.size, new.size)?;
    Ok(
        match verify_consistency(old.size, new.size, &old.root, &new.root, &proof) {
            Ok(()) => Step::Extends,
            Err(e) => Step::Fork(format!(
                "the tree of size {} does not extend the tree of size {} seen before ({e})",
                new.size, old.size
            )),
        },
    )
}

/// One log's verified state: the latest checkpoint seen (its body and note).
struct LogView {
    checkpoint: Option<(Checkpoint, String)>,
}

/// The follower.
struct Follower<'a> {
    req: &'a Request<'a>,
    source: Source,
    client: Client,
    logs: HashMap<String, LogView>,
    cursor: String,
    records: u64,
}

/// Runs `daylight follow`; returns the exit code once it stops by itself.
pub fn run(req: &Request<'_>) -> Result<u8, CliError> {
    for log in &req.logs {
        if req.genesis.member(log).is_none() {
            return Err(input(format!(
                "--log {log}: the genesis has no member {log:?}"
            )));
        }
    }
    let client = Client::new(req.node)?;
    let source = Source::from_client(client.clone());
    let cursor = match &req.after {
        Some(c) => c.clone(),
        None => {
            let page: FeedPage = client
                .get_ok("/v1/feed?after=now&wait=0")?
                .parse("feed page")?;
            page.next
        }
    };
    let mut follower = Follower {
        req,
        source,
        client,
        logs: HashMap::new(),
        cursor,
        records: 0,
    };
    follower.say(
        json!({"type": "start", "cursor": follower.cursor, "node": req.node}),
        format!(
            "Following {} from cursor {} (genesis {}, version {}).",
            req.node,
            follower.cursor,
            req.genesis.id(),
            req.genesis.sequence()
        ),
    );
    let outcome = follower.follow();
    let code = match &outcome {
        Ok(code) => *code,
        Err(e) => e.exit_code(),
    };
    follower.say(
        json!({"type": "stopped", "cursor": follower.cursor, "exit_code": code}),
        format!("Stopped; resume with --after {}", follower.cursor),
    );
    outcome
}

impl Follower<'_> {
    /// Prints one item: a JSON line, or the text.
    fn say(&self, json: Value, text: String) {
        if self.req.json {
            println!("{json}");
        } else {
            println!("{text}");
        }
    }

    fn follow(&mut self) -> Result<u8, CliError> {
        loop {
            let path = format!("/v1/feed?after={}&wait={WAIT}&limit=100", self.cursor);
            let page: FeedPage = self.client.get_ok(&path)?.parse("feed page")?;
            for item in page.items {
                if let Some(code) = self.item(item)? {
                    return Ok(code);
                }
                if self.req.count.is_some_and(|n| self.records >= n) {
                    return Ok(0);
                }
            }
        }
    }

    /// Handles one feed item; `Some(exit code)` to stop.
    fn item(&mut self, item: FeedItem) -> Result<Option<u8>, CliError> {
        let FeedItem { cursor, event } = item;
        let stop = match event {
            FeedEvent::Entry(entry) => {
                let wanted = self.req.logs.is_empty() || self.req.logs.contains(&entry.log);
                if wanted {
                    self.entry(&cursor, &entry)?
                } else {
                    None
                }
            }
            FeedEvent::Evidence(e) => {
                self.evidence(&cursor, &e.origin, e.log.as_deref(), &e.evidence);
                None
            }
        };
        if stop.is_none() {
            self.cursor = cursor;
        }
        Ok(stop)
    }

    fn entry(&mut self, cursor: &str, entry: &FeedEntry) -> Result<Option<u8>, CliError> {
        let member = entry.log.as_str();
        if self.req.genesis.member(member).is_none() {
            return Err(failed(format!(
                "the node's feed names log {member:?}, which the genesis does not list"
            )));
        }
        let checkpoint = match self.covering(member, entry.index)? {
            Ok(c) => c,
            Err(code) => return Ok(Some(code)),
        };
        let proof = self
            .source
            .inclusion(member, entry.index, checkpoint.size)?;
        check_inclusion(entry.index, &entry.leaf, &proof, &checkpoint)
            .map_err(|e| failed(format!("{member} entry {}: {e}", entry.index)))?;
        let record = self.record(member, entry, checkpoint.size)?;
        self.records += 1;
        let (what, record_json) = match &record {
            Some(r) => (describe_record(r), record_json(r)),
            None => ("an entry that is not a record".to_string(), Value::Null),
        };
        let finding = if entry.finding { "FINDING: " } else { "" };
        self.say(
            json!({
                "type": "record", "cursor": cursor, "log": member, "index": entry.index,
                "leaf": entry.leaf.to_hex(), "kind": entry.kind, "rid": entry.rid,
                "finding": entry.finding, "amends": entry.amends, "record": record_json,
                "checkpoint": checkpoint.size,
            }),
            format!(
                "{member} #{}: {finding}{what}; signed and included in the verified \
                 checkpoint of size {} [cursor {cursor}]",
                entry.index, checkpoint.size
            ),
        );
        Ok(None)
    }

    /// The record at `entry`: its bytes read from the log's entry bundle at the covering
    /// checkpoint's size (so a rid reused by a later entry never shows the later content),
    /// hashing to the leaf the feed named (whose inclusion the caller verified), its
    /// canonical form and signatures verified. `None` for an entry that is not a record.
    fn record(
        &self,
        member: &str,
        entry: &FeedEntry,
        size: u64,
    ) -> Result<Option<daylight_verifier::record::SignedRecord>, CliError> {
        let bundle_index = entry.index / TILE_WIDTH;
        let tile = Tile {
            kind: TileKind::Entries,
            index: bundle_index,
            width: (size - bundle_index * TILE_WIDTH).min(TILE_WIDTH),
        };
        let bytes = self.source.tile(member, &tile)?;
        let damaged = |why: String| {
            failed(format!(
                "{member} entry {}: the node's entry bundle {} {why}",
                entry.index,
                tile.path()
            ))
        };
        let entries = read_bundle(&bytes).map_err(|e| damaged(format!("is damaged: {e}")))?;
        let offset = (entry.index % TILE_WIDTH) as usize;
        let bytes = entries
            .get(offset)
            .ok_or_else(|| damaged(format!("holds only {} entries", entries.len())))?;
        if daylight_verifier::merkle::leaf_hash(bytes) != entry.leaf {
            return Err(damaged(
                "holds an entry that does not hash to the leaf in the feed".to_string(),
            ));
        }
        if entry.rid.is_none() {
            return Ok(None);
        }
        check_entry(self.req.genesis, member, entry.index, bytes)
            .map(|(r, _)| Some(r))
            .map_err(|e| failed(format!("{member} entry {}: {e}", entry.index)))
    }

    /// A verified checkpoint of `member` covering `index`: the one seen, or the node's
    /// latest once it has its quorum and extends the one seen. `Err(1)` after reporting
    /// equivocation.
    fn covering(&mut self, member: &str, index: u64) -> Result<Result<Checkpoint, u8>, CliError> {
        if let Some((c, _)) = self.view(member)?.checkpoint.as_ref()
            && c.size > index
        {
            return Ok(Ok(c.clone()));
        }
        let started = Instant::now();
        let trusted = loop {
            match trusted_checkpoint(&self.source, self.req.genesis, member)? {
                Ok(t) if t.checkpoint.size > index => break t,
                Ok(_) | Err(_) if started.elapsed() < QUORUM_PATIENCE => {
                    std::thread::sleep(QUORUM_STEP)
                }
                Ok(t) => {
                    return Err(failed(format!(
                        "log {member}: its latest verified checkpoint (size {}) still does not \
                         cover entry {index} after {}s",
                        t.checkpoint.size,
                        QUORUM_PATIENCE.as_secs()
                    )));
                }
                Err(reason) => return Err(failed(format!("log {member}: {reason}"))),
            }
        };
        self.accept(member, trusted)
    }

    /// The view of `member`, loading what this machine saw before on first use.
    fn view(&mut self, member: &str) -> Result<&mut LogView, CliError> {
        if !self.logs.contains_key(member) {
            let policy = self
                .req
                .genesis
                .policy_for(member)
                .map_err(|e| failed(format!("log {member:?}: {e}")))?;
            let checkpoint = match self.req.seen.load(policy.origin())? {
                Some(note) => {
                    let signed = policy.open(note.as_bytes()).map_err(|e| {
                        input(format!(
                            "the checkpoint stored in {} is not signed by the log key of {} \
                             ({e}); remove the file",
                            self.req.seen.path(policy.origin()).display(),
                            policy.origin()
                        ))
                    })?;
                    Some((signed.checkpoint, note))
                }
                None => None,
            };
            self.logs.insert(member.to_string(), LogView { checkpoint });
        }
        Ok(self.logs.get_mut(member).expect("inserted above"))
    }

    /// Checks a newly verified checkpoint against the one seen; remembers it if it extends.
    fn accept(
        &mut self,
        member: &str,
        trusted: TrustedCheckpoint,
    ) -> Result<Result<Checkpoint, u8>, CliError> {
        let new = trusted.checkpoint.clone();
        let note = trusted.note.to_text();
        let old = self.view(member)?.checkpoint.clone();
        let source = self.source.clone();
        let step = compare(old.as_ref().map(|(c, _)| c), &new, |a, b| {
            source.consistency(member, a, b)
        })?;
        match step {
            Step::Fork(reason) => {
                let before = old.map(|(_, n)| n).unwrap_or_default();
                self.say(
                    json!({"type": "equivocation", "log": member, "reason": reason,
                           "checkpoints": [before, note]}),
                    format!(
                        "EQUIVOCATION: log {member} does not extend what this machine saw: \
                         {reason}.\nSeen before:\n{before}\nServed now:\n{note}"
                    ),
                );
                return Ok(Err(1));
            }
            Step::Behind => {
                // Keep the larger one seen; it still covers what the node's feed names only
                // if it is large enough, which the caller checks.
                let (c, _) = old.expect("behind means one was seen");
                return Ok(Ok(c));
            }
            Step::First | Step::Same | Step::Extends => {}
        }
        self.req
            .seen
            .store(trusted.checkpoint.origin.as_str(), &note)?;
        self.say(
            json!({"type": "checkpoint", "log": member, "size": new.size,
                   "root": new.root.to_hex(),
                   "cosigners": trusted.cosigners.iter().map(|c| c.name.clone()).collect::<Vec<_>>()}),
            format!(
                "checkpoint: log {member} size {} verified (log signature and {} witness \
                 cosignatures){}",
                new.size,
                trusted.cosigners.len(),
                match &old {
                    Some((c, _)) if c.size < new.size => {
                        format!(", consistent with size {} seen before", c.size)
                    }
                    _ => String::new(),
                }
            ),
        );
        self.view(member)?.checkpoint = Some((new.clone(), note));
        Ok(Ok(new))
    }

    fn evidence(&self, cursor: &str, origin: &str, member: Option<&str>, evidence: &Value) {
        let checked = Evidence::from_json(evidence.to_string().as_bytes())
            .map_err(|e| e.to_string())
            .and_then(|e| {
                let member = member.ok_or("the node holds no log of that origin")?;
                let policy = self
                    .req
                    .genesis
                    .policy_for(member)
                    .map_err(|e| e.to_string())?;
                e.verify_under(&policy).map_err(|e| e.to_string())
            });
        let (ok, what) = match checked {
            Ok(summary) => (true, format!("verified: {summary}")),
            Err(e) => (false, format!("does not verify: {e}")),
        };
        self.say(
            json!({"type": "evidence", "cursor": cursor, "origin": origin, "log": member,
                   "verified": ok, "detail": what, "evidence": evidence}),
            format!("EVIDENCE about log {origin}: {what} [cursor {cursor}]"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daylight_verifier::merkle::{Frontier, MemoryHashStore, leaf_hash, prove_consistency};
    use daylight_verifier::{KeyType, SigningKey};

    /// A tree of `entries`, its signed checkpoint and its hashes.
    fn tree(entries: &[&[u8]], key: &SigningKey) -> (Checkpoint, MemoryHashStore) {
        let mut frontier = Frontier::empty();
        let mut hashes = Vec::new();
        for e in entries {
            frontier.append(leaf_hash(e), &mut hashes);
        }
        let mut store = MemoryHashStore::new();
        store.extend(hashes);
        let note = Checkpoint::new("t/county-1", entries.len() as u64, frontier.root())
            .sign(key)
            .unwrap();
        // The checkpoint as a follower reads it: opened under the log key.
        let signed = daylight_verifier::policy::LogPolicy::new(key.verifier(), Vec::new(), 0)
            .unwrap()
            .open(note.to_text().as_bytes())
            .unwrap();
        (signed.checkpoint, store)
    }

    /// Two forks of one log, both validly signed: the follower calls the second equivocation
    /// whether it is the same size or larger; a true extension passes.
    #[test]
    fn a_fork_is_equivocation_and_an_extension_is_not() {
        let key = SigningKey::from_seed("t/county-1", KeyType::Ed25519, [5; 32]).unwrap();
        let a: Vec<&[u8]> = vec![b"a0", b"a1", b"a2", b"a3", b"a4", b"a5"];
        let mut b = a[..3].to_vec();
        b.extend([&b"b3"[..], b"b4", b"b5", b"b6", b"b7"]);
        let (seen, _) = tree(&a, &key);
        let (fork, fork_hashes) = tree(&b, &key);
        let (fork_same_size, _) = tree(&b[..6], &key);
        let mut extended = a.clone();
        extended.extend([&b"a6"[..], b"a7"]);
        let (next, next_hashes) = tree(&extended, &key);

        fn proof_of(
            store: &MemoryHashStore,
        ) -> impl FnOnce(u64, u64) -> Result<Vec<Hash>, CliError> + '_ {
            move |old, new| Ok(prove_consistency(old, new, store).unwrap())
        }
        assert_eq!(
            compare(Some(&seen), &next, proof_of(&next_hashes)).unwrap(),
            Step::Extends
        );
        assert!(matches!(
            compare(Some(&seen), &fork, proof_of(&fork_hashes)).unwrap(),
            Step::Fork(reason) if reason.contains("does not extend")
        ));
        assert!(matches!(
            compare(Some(&seen), &fork_same_size, |_, _| unreachable!()).unwrap(),
            Step::Fork(reason) if reason.contains("two different trees of size 6")
        ));
        assert_eq!(
            compare(Some(&seen), &seen, |_, _| unreachable!()).unwrap(),
            Step::Same
        );
        assert_eq!(
            compare(Some(&next), &seen, |_, _| unreachable!()).unwrap(),
            Step::Behind
        );
        assert_eq!(
            compare(None, &seen, |_, _| unreachable!()).unwrap(),
            Step::First
        );
    }
}
