//! The state of the node's own log that the sequencer thread owns ([`LogWriter`]): the
//! in-memory [`Frontier`] of the tree, the last signed checkpoint, and the checks and commit
//! of one batch. The thread around it, its queue and its handling of storage faults are in
//! [`sequencer`](super::sequencer).
//!
//! # Invariants, kept here
//!
//! * **A checkpoint is released only over durable entries**: [`LogWriter`] signs the new
//!   checkpoint inside the batch, and publishes it (and builds the acknowledgements) only
//!   after the commit holding the batch returned, or after [`LogWriter::reload`] read it back.
//! * **One checkpoint per size**: it signs only sizes beyond the state it last committed or
//!   read from storage; after a failed commit the thread reloads before signing again.
//! * **The tree extended leads to the last signed checkpoint**: [`LogWriter::open`] and
//!   [`LogWriter::reload`] recompute the stored tree's root and refuse to go on, with a clear
//!   message, if it does not match.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use daylight_verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use daylight_verifier::merkle::{Frontier, NodeId, TreeError};
use daylight_verifier::policy::LogPolicy;
use daylight_verifier::{Hash, SigningKey};
use tokio::sync::{oneshot, watch};

use super::sequencer::{PROBE_META, SequencerError};
use crate::store::{Batch, CurrentVersion, NewEntry, StorageError, Store};

/// Why the log could not be opened for writing.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Storage could not be read.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The stored tree could not be read back.
    #[error("cannot read the stored tree: {0}")]
    Tree(#[from] TreeError),
    /// The last checkpoint is missing, not ours, or does not match the stored tree.
    #[error("refusing to start: {0}")]
    Mismatch(String),
}

impl OpenError {
    /// Whether this may be a storage fault that clears by itself (an I/O failure while
    /// reading), as opposed to damage: then a later [`LogWriter::reload`] may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            OpenError::Storage(e) => e.needs_reopen(),
            // The hash reader reports storage failures as text: retrying is safe, and damage
            // that persists keeps the fault raised with this message.
            OpenError::Tree(TreeError::Storage(_)) => true,
            OpenError::Tree(_) | OpenError::Mismatch(_) => false,
        }
    }
}

/// The latest durable checkpoint of the log, as published to readers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHead {
    /// The tree size it signs.
    pub size: u64,
    /// The signed checkpoint note.
    pub note: Arc<str>,
}

/// What a submitter gets back once its entries are durable.
#[derive(Clone, Debug)]
pub struct Ack {
    /// Index of the entry in the log.
    pub index: u64,
    /// RFC 6962 leaf hash of the entry.
    pub leaf: Hash,
    /// The signed checkpoint that first includes it.
    pub checkpoint: Arc<str>,
}

pub(super) struct Submission {
    pub(super) entries: Vec<NewEntry>,
    pub(super) reply: oneshot::Sender<Result<Vec<Ack>, SequencerError>>,
}

/// A commit that failed: the storage error, roughly how many bytes the batch needed (the size
/// of the probe that decides whether writes work again), and the batch's submissions, not
/// answered yet: the sequencer thread first acts on the failure (raising it in `/healthz`,
/// refusing new submissions), so that whoever gets the refusal already sees the fault.
pub(super) struct CommitFailure {
    pub(super) error: StorageError,
    pub(super) bytes: usize,
    pub(super) waiting: Vec<Submission>,
}

/// The acknowledgements of a durable batch, not sent yet.
pub(super) struct Answers(Vec<(Submission, Vec<Ack>)>);

impl Answers {
    /// Sends each submitter its acknowledgements.
    pub(super) fn send(self) {
        for (submission, acks) in self.0 {
            let _ = submission.reply.send(Ok(acks));
        }
    }
}

impl CommitFailure {
    /// Answers the batch's submissions with the error that fits the failure.
    pub(super) fn refuse_waiting(self) {
        let answer = match &self.error {
            e if e.needs_reopen() => SequencerError::Unavailable(e.to_string()),
            // The store retries a commit once after reopening the database; if the first
            // attempt did reach the disk, the retry finds the log already longer.
            e @ StorageError::OutOfOrder { .. } => SequencerError::Unconfirmed(e.to_string()),
            e => SequencerError::Storage(e.to_string()),
        };
        for submission in self.waiting {
            let _ = submission.reply.send(Err(answer.clone()));
        }
    }
}

/// The state of the node's own log that the sequencer thread owns.
pub struct LogWriter {
    /// Where each new durable head is published, before any submitter is answered, so that
    /// whoever holds an acknowledgement can already read a checkpoint that includes it.
    pub(super) publish: Option<watch::Sender<SignedHead>>,
    pub(super) store: Arc<Store>,
    log: u32,
    origin: String,
    key: SigningKey,
    /// The log's trust policy, when known: the stored head may be signed by an earlier log
    /// key (the rotation point of a log-key rotation, DESIGN §6b) and is checked with it.
    policy: Option<LogPolicy>,
    frontier: Frontier,
    checkpoint: Arc<str>,
}

impl LogWriter {
    /// Opens the log for writing, checking the stored tree against the last checkpoint. A
    /// new log gets its size-0 checkpoint; an existing one is only read, so a database open
    /// read-only (a full disk) can be opened.
    pub fn open(store: Arc<Store>, origin: &str, key: SigningKey) -> Result<LogWriter, OpenError> {
        LogWriter::open_inner(store, origin, key, None)
    }

    /// Like [`LogWriter::open`], with the stored head checked against the log's `policy`
    /// rather than `key` alone: after a log-key rotation the head is the rotation point,
    /// signed by the earlier key, and the next checkpoint is the first `key` signs.
    pub fn open_with_policy(
        store: Arc<Store>,
        origin: &str,
        key: SigningKey,
        policy: LogPolicy,
    ) -> Result<LogWriter, OpenError> {
        LogWriter::open_inner(store, origin, key, Some(policy))
    }

    fn open_inner(
        store: Arc<Store>,
        origin: &str,
        key: SigningKey,
        policy: Option<LogPolicy>,
    ) -> Result<LogWriter, OpenError> {
        let log = store.log_number(origin)?;
        let mut writer = LogWriter {
            publish: None,
            store,
            log,
            origin: origin.to_string(),
            key,
            policy,
            frontier: Frontier::empty(),
            checkpoint: Arc::from(""),
        };
        let (frontier, latest) = writer.read_state()?;
        match latest {
            None if frontier.size() == 0 => {
                // A new log, unless the database already holds this log's checkpoints under
                // another number: then the log table was damaged, and signing a new empty
                // tree would start a second history of the log.
                let others = writer.store.other_logs_signed_as(origin, log)?;
                if !others.is_empty() {
                    return Err(OpenError::Mismatch(format!(
                        "the database holds checkpoints of {origin} under log number {others:?}, \
                         but its table of logs does not name it: the database is damaged. \
                         Restore the data directory from a backup; signing a new tree here \
                         would contradict the checkpoints already published"
                    )));
                }
                let note = writer.sign(&frontier);
                let batch = writer.batch(Vec::new(), Vec::new(), note.clone());
                writer.store.commit_batch(&batch, origin)?;
                writer.checkpoint = Arc::from(note);
            }
            latest => writer.adopt(frontier, latest)?,
        }
        Ok(writer)
    }

    /// Reads the writer's state back from storage (size, frontier, latest checkpoint) and
    /// checks it as [`LogWriter::open`] does; on success the writer extends that state.
    /// Returns whether the head moved (a commit reported as failed that did reach the disk),
    /// after publishing it: it is durable and signed by this log.
    ///
    /// On error the writer's state is unchanged, and it must not commit until a reload
    /// succeeds.
    pub fn reload(&mut self) -> Result<bool, OpenError> {
        let before = self.head();
        let (frontier, latest) = self.read_state()?;
        self.adopt(frontier, latest)?;
        let head = self.head();
        if head == before {
            return Ok(false);
        }
        tracing::warn!(
            "log {}: storage holds size {} where the writer had {}; continuing from storage",
            self.origin,
            head.size,
            before.size
        );
        if let Some(publish) = &self.publish {
            publish.send_replace(head);
        }
        Ok(true)
    }

    /// The stored tree's frontier and the latest stored checkpoint.
    fn read_state(&self) -> Result<(Frontier, Option<(u64, String)>), OpenError> {
        let size = self.store.size(self.log)?;
        let frontier = Frontier::load(size, &self.store.hash_reader(self.log))?;
        let latest = self.store.latest_checkpoint(self.log)?;
        Ok((frontier, latest))
    }

    /// Takes `frontier` and the checkpoint `latest` as the writer's state if the checkpoint is
    /// this log's and signs exactly that tree.
    fn adopt(
        &mut self,
        frontier: Frontier,
        latest: Option<(u64, String)>,
    ) -> Result<(), OpenError> {
        let Some((size, note)) = latest else {
            return Err(OpenError::Mismatch(format!(
                "log {} holds {} entries but no signed checkpoint",
                self.origin,
                frontier.size()
            )));
        };
        let signed = match &self.policy {
            Some(policy) if policy.log_key() == &self.key.verifier() => {
                policy.open(note.as_bytes()).map_err(|e| e.to_string())
            }
            _ => SignedCheckpoint::open(note.as_bytes(), &self.key.verifier())
                .map_err(|e| e.to_string()),
        }
        .map_err(|e| {
            OpenError::Mismatch(format!(
                "the last stored checkpoint of {} is not signed by this node's log key: {e}",
                self.origin
            ))
        })?;
        let root = frontier.root();
        if size != frontier.size() || signed.checkpoint.root != root {
            return Err(OpenError::Mismatch(format!(
                "the stored tree of {} has size {} and root {root}, but the last signed \
                 checkpoint says size {size} and root {}; the database is damaged — restore it \
                 from a backup or a mirror",
                self.origin,
                frontier.size(),
                signed.checkpoint.root
            )));
        }
        self.frontier = frontier;
        self.checkpoint = Arc::from(note);
        Ok(())
    }

    fn sign(&self, frontier: &Frontier) -> String {
        Checkpoint::new(&self.origin, frontier.size(), frontier.root())
            .sign(&self.key)
            .expect("a checkpoint body is always a valid note text")
            .to_text()
    }

    fn batch(
        &self,
        entries: Vec<NewEntry>,
        hashes: Vec<(NodeId, Hash)>,
        checkpoint: String,
    ) -> Batch {
        Batch {
            log: self.log,
            start: self.frontier.size(),
            entries,
            hashes,
            checkpoint: Some(checkpoint),
            mirrored: false,
        }
    }

    /// The latest signed checkpoint.
    pub fn checkpoint(&self) -> Arc<str> {
        self.checkpoint.clone()
    }

    /// The latest signed checkpoint with its size.
    pub fn head(&self) -> SignedHead {
        SignedHead {
            size: self.frontier.size(),
            note: self.checkpoint.clone(),
        }
    }

    /// The log's number in storage.
    pub fn log_number(&self) -> u32 {
        self.log
    }

    /// Checks that storage takes a durable write about `bytes` large: writes a scratch value
    /// of that size to the `meta` row [`PROBE_META`] and empties it again, in commits of their
    /// own (the first empties what an earlier, interrupted probe left). Reopens a database
    /// left unusable or read-only by an I/O failure on the way (see [`Store`]).
    pub(super) fn probe_write(&self, bytes: usize) -> Result<(), StorageError> {
        self.store.set_meta(PROBE_META, "")?;
        self.store.set_meta(PROBE_META, &"0".repeat(bytes))?;
        self.store.set_meta(PROBE_META, "")
    }

    /// Logs a group of submissions in one transaction. Submissions with a duplicate rid are
    /// answered with an error and left out; the others share one commit. If the commit
    /// fails, the failure is returned with them, unanswered: the writer's state is then
    /// unchanged, and storage may or may not hold the batch. If it succeeds, the
    /// acknowledgements are returned, to be sent once the caller has acted on the success.
    pub(super) fn commit(
        &mut self,
        submissions: Vec<Submission>,
    ) -> Result<Answers, CommitFailure> {
        let mut pending = Pending::default();
        let mut accepted = Vec::with_capacity(submissions.len());
        for submission in submissions {
            match self.check_submission(&submission.entries, &mut pending) {
                Ok(()) => accepted.push(submission),
                Err(e) => {
                    let _ = submission.reply.send(Err(e));
                }
            }
        }
        if accepted.is_empty() {
            return Ok(Answers(Vec::new()));
        }
        let mut frontier = self.frontier.clone();
        let mut hashes = Vec::new();
        let mut entries = Vec::new();
        let mut placed = Vec::with_capacity(accepted.len());
        for submission in &accepted {
            let mut acks = Vec::with_capacity(submission.entries.len());
            for entry in &submission.entries {
                acks.push((frontier.size(), entry.leaf));
                frontier.append(entry.leaf, &mut hashes);
                entries.push(entry.clone());
            }
            placed.push(acks);
        }
        let note = self.sign(&frontier);
        let batch = self.batch(entries, hashes, note.clone());
        if let Err(error) = self.store.commit_batch(&batch, &self.origin) {
            return Err(CommitFailure {
                error,
                bytes: batch_bytes(&batch),
                waiting: accepted,
            });
        }
        self.frontier = frontier;
        self.checkpoint = Arc::from(note);
        if let Some(publish) = &self.publish {
            publish.send_replace(self.head());
        }
        let answers = accepted
            .into_iter()
            .zip(placed)
            .map(|(submission, acks)| {
                let acks = acks
                    .into_iter()
                    .map(|(index, leaf)| Ack {
                        index,
                        leaf,
                        checkpoint: self.checkpoint.clone(),
                    })
                    .collect();
                (submission, acks)
            })
            .collect();
        Ok(Answers(answers))
    }

    /// Checks one submission against the log and the batch so far (`pending`), and on
    /// success adds its effects to `pending`: rids are new, same-log references name a
    /// version of their record, corrections and voids pin the current, unvoided version.
    fn check_submission(
        &self,
        entries: &[NewEntry],
        pending: &mut Pending,
    ) -> Result<(), SequencerError> {
        let mut mine = pending.clone();
        for (position, entry) in entries.iter().enumerate() {
            if let Some(rid) = &entry.rid {
                let known = self.store.rid_index(self.log, rid).map_err(storage)?;
                if known.is_some() || !mine.rids.insert(rid.clone()) {
                    return Err(SequencerError::DuplicateRid(rid.clone()));
                }
            }
            for reference in &entry.references {
                if !self.is_version(&mine, &reference.rid, &reference.leaf)? {
                    return Err(SequencerError::Unresolved {
                        position,
                        detail: format!(
                            "{}: no version {} of record {:?} in this log",
                            reference.path, reference.leaf, reference.rid
                        ),
                    });
                }
            }
            let unresolved = |detail: String| SequencerError::Unresolved { position, detail };
            let (subject, voided) = match (&entry.amends, &entry.rid) {
                (Some(a), _) => {
                    let current = self.current(&mine, &a.target)?.ok_or_else(|| {
                        unresolved(format!("record {:?} is not in this log", a.target))
                    })?;
                    if current.voided {
                        return Err(unresolved(format!(
                            "record {:?} was voided; it cannot be corrected or voided again",
                            a.target
                        )));
                    }
                    if current.leaf != a.pinned {
                        return Err(unresolved(format!(
                            "pins version {} of {:?}, but its current version is {}",
                            a.pinned, a.target, current.leaf
                        )));
                    }
                    (a.target.clone(), a.void)
                }
                (None, Some(rid)) => (rid.clone(), false),
                (None, None) => continue,
            };
            mine.versions
                .entry(subject.clone())
                .or_default()
                .push(entry.leaf);
            mine.current.insert(
                subject,
                CurrentVersion {
                    leaf: entry.leaf,
                    voided,
                },
            );
        }
        *pending = mine;
        Ok(())
    }

    fn current(
        &self,
        pending: &Pending,
        rid: &str,
    ) -> Result<Option<CurrentVersion>, SequencerError> {
        match pending.current.get(rid) {
            Some(v) => Ok(Some(*v)),
            None => self.store.current_version(self.log, rid).map_err(storage),
        }
    }

    fn is_version(
        &self,
        pending: &Pending,
        rid: &str,
        leaf: &Hash,
    ) -> Result<bool, SequencerError> {
        if pending.versions.get(rid).is_some_and(|v| v.contains(leaf)) {
            return Ok(true);
        }
        self.store.is_version(self.log, rid, leaf).map_err(storage)
    }
}

/// A storage error met while checking a submission, as its answer: a fault is
/// [`SequencerError::Unavailable`].
fn storage(e: StorageError) -> SequencerError {
    if e.needs_reopen() {
        SequencerError::Unavailable(e.to_string())
    } else {
        SequencerError::Storage(e.to_string())
    }
}

/// What the submissions accepted so far into the batch being built change, before it is
/// durable: checks of later submissions in the batch must see it.
#[derive(Clone, Default)]
struct Pending {
    rids: HashSet<String>,
    current: HashMap<String, CurrentVersion>,
    versions: HashMap<String, Vec<Hash>>,
}

/// Roughly how many bytes a batch adds to the database: what a probe must be able to write
/// before the writer tries such a batch again.
pub(super) fn batch_bytes(batch: &Batch) -> usize {
    let entries: usize = batch
        .entries
        .iter()
        .map(|e| e.bytes.len() + e.rid.as_ref().map_or(0, String::len) + 64)
        .sum();
    entries + batch.hashes.len() * 48 + batch.checkpoint.as_ref().map_or(0, String::len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use daylight_verifier::KeyType;

    const ORIGIN: &str = "test.daylight/county-1";

    #[test]
    fn a_log_lost_from_the_table_of_logs_is_not_started_again() {
        let dir = std::env::temp_dir().join(format!("daylight-lost-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Arc::new(Store::open(&dir.join("db.redb")).unwrap());
        let key = || SigningKey::from_seed(ORIGIN, KeyType::Ed25519, [5; 32]).unwrap();
        drop(LogWriter::open(store.clone(), ORIGIN, key()).unwrap());
        assert!(
            LogWriter::open(store.clone(), ORIGIN, key()).is_ok(),
            "reopens as it is"
        );
        // One flipped bit in the log's name: the table of logs no longer finds it.
        store.rename_log(ORIGIN, "test.daylight/gounty-1").unwrap();
        let refused = LogWriter::open(store.clone(), ORIGIN, key()).err();
        assert!(
            matches!(&refused, Some(OpenError::Mismatch(m)) if m.contains("damaged")),
            "{refused:?}"
        );
        drop(store);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
