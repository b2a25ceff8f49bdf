//! The sequencer: the one writer of the node's own log.
//!
//! Submissions arrive on a channel, already validated. A dedicated thread takes everything
//! queued (up to `max_batch` entries: group commit, so batches grow exactly when load does,
//! with no added wait), appends it to a copy of the in-memory [`Frontier`], signs the new
//! checkpoint, and makes entries, hashes, indexes and checkpoint durable in one redb
//! transaction (one fsync). Only after that commit returns does it adopt the new frontier,
//! publish the new checkpoint and then answer the submitters.
//!
//! # Invariants, kept here
//!
//! * **Nothing is acknowledged before it is durable**: a submitter is answered `Ok` only after
//!   the commit holding its entries returned.
//! * **A checkpoint is released only over durable entries**: it is signed inside the batch but
//!   leaves the thread (published to readers, or in an acknowledgement) only after its commit
//!   returned, or after [`LogWriter::reload`] read it back from storage.
//! * **One checkpoint per size**: the writer signs only sizes beyond the state it last
//!   committed or read from storage. After a failed commit it signs nothing until it has
//!   reloaded that state from storage, since a commit reported as failed may, rarely, have
//!   reached the disk, and then its checkpoint is the one of that size. Storage also refuses a
//!   second, different checkpoint for a size.
//! * **The tree extended leads to the last signed checkpoint**: [`LogWriter::open`] and
//!   [`LogWriter::reload`] recompute the stored tree's root and refuse to go on, with a clear
//!   message, if it does not match.
//!
//! # Faults (DESIGN §5.5)
//!
//! A storage fault ([`StorageError::needs_reopen`]: a full disk, a failed write or fsync, a
//! database open read-only) does not stop the writer:
//!
//! 1. the failed batch's submitters get [`SequencerError::Unavailable`] (HTTP 503) naming the
//!    cause, and [`Problem::WritesFailing`] is raised, so `/healthz` and `/metrics` show it;
//! 2. while faulted, new submissions are refused at once with that error, never queued; reads
//!    do not go through the sequencer and continue;
//! 3. the writer probes by itself, first after [`FIRST_PROBE`], then at doubling pauses up to
//!    [`MAX_PROBE_PAUSE`]. A probe durably writes a scratch value at least as large as the
//!    batch that failed ([`MIN_PROBE_BYTES`] or more), frees it, and reloads the writer's state
//!    from storage. (A tiny write can succeed in free pages the database file already holds,
//!    ending the fault only for the next batch to fail; this one ends it only once the disk
//!    takes a batch like the one refused, and leaves that room free for it.) After each failed
//!    write the writer reopens the database at once, so that reads are not left failing on
//!    the engine's "previous I/O error" state;
//! 4. once a probe succeeds, submissions are taken again, but the problem stays raised until
//!    a batch is durable (cleared before its submitters are answered) or, on an idle node, a
//!    second probe [`FIRST_PROBE`] later succeeds too. A probe can succeed where the next
//!    batch fails (the engine may not reuse the pages a probe frees at once), and `/healthz`
//!    must not flap to ok in between.
//!
//! The writer also probes once when it starts: a node started on a full disk (its database
//! perhaps open read-only) starts, serves reads, and reports the fault without waiting for a
//! submission to fail.
//!
//! A batch refused because storage holds another size ([`StorageError::OutOfOrder`], as after
//! a commit reported failed that did reach the disk) makes the writer reload and go on; its
//! submitters get [`SequencerError::Unconfirmed`], never an acknowledgement. Any other storage
//! failure (damage, a broken invariant) stops the writer for good and raises
//! [`Problem::WritesFailing`] saying so; the node must then be restarted.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use daylight_verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use daylight_verifier::merkle::{Frontier, NodeId, TreeError};
use daylight_verifier::policy::LogPolicy;
use daylight_verifier::{Hash, SigningKey};
use tokio::sync::{mpsc, oneshot, watch};

use crate::health::{Health, Problem};
use crate::store::{Batch, CurrentVersion, NewEntry, StorageError, Store};

/// How long after a storage fault the writer first probes whether writes work again.
pub const FIRST_PROBE: Duration = Duration::from_secs(1);

/// The longest pause between two probes while writes fail.
pub const MAX_PROBE_PAUSE: Duration = Duration::from_secs(4);

/// The smallest scratch write of a probe.
pub const MIN_PROBE_BYTES: usize = 1 << 20;

/// The largest scratch write of a probe, however large the batch that failed.
pub const MAX_PROBE_BYTES: usize = 32 << 20;

/// The `meta` row a probe writes its scratch value to (and leaves empty).
pub const PROBE_META: &str = "write_probe";

/// Why a submission was not logged.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SequencerError {
    /// A record id already in the log, or twice in one submission.
    #[error("record id {0:?} is already in the log; record ids are never reused")]
    DuplicateRid(String),
    /// A reference to this log that does not name a version of a record in it, or a
    /// correction or void of a version that is not current.
    #[error("record {position}: {detail}")]
    Unresolved {
        /// Position of the record in its submission.
        position: usize,
        /// What does not resolve, naming the field.
        detail: String,
    },
    /// The log cannot be written now (full disk, failed write or fsync, database open
    /// read-only): the submission was not acknowledged. The node retries by itself and
    /// accepts records again once a write succeeds.
    #[error("{}", writes_failing(.0))]
    Unavailable(String),
    /// The sequencer stopped after a storage failure; the node must be restarted.
    #[error("the log writer has stopped after a storage failure; restart the node")]
    Stopped,
    /// Storage failed while committing or checking this batch.
    #[error("storage failure, nothing from this batch was logged: {0}")]
    Storage(String),
    /// Storage turned out to hold more of the log than the writer knew while committing this
    /// batch: most likely the batch itself, from a commit attempt reported as failed.
    #[error(
        "storage failure while logging this submission ({0}); it may have been logged: look \
         its records up by rid before submitting them again"
    )]
    Unconfirmed(String),
}

/// The sentence for a storage fault, given its cause: what is wrong, what is refused, what
/// still works. Shared by the 503 answer and `/healthz`.
fn writes_failing(cause: &str) -> String {
    format!(
        "cannot write the log: {cause}; new records are refused until the disk accepts writes \
         again (the node retries by itself); reads continue"
    )
}

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

struct Submission {
    entries: Vec<NewEntry>,
    reply: oneshot::Sender<Result<Vec<Ack>, SequencerError>>,
}

/// A commit that failed: the storage error, roughly how many bytes the batch needed (the size
/// of the probe that decides whether writes work again), and the batch's submissions, not
/// answered yet: the sequencer thread first acts on the failure (raising it in `/healthz`,
/// refusing new submissions), so that whoever gets the refusal already sees the fault.
struct CommitFailure {
    error: StorageError,
    bytes: usize,
    waiting: Vec<Submission>,
}

/// The acknowledgements of a durable batch, not sent yet.
struct Answers(Vec<(Submission, Vec<Ack>)>);

impl Answers {
    /// Sends each submitter its acknowledgements.
    fn send(self) {
        for (submission, acks) in self.0 {
            let _ = submission.reply.send(Ok(acks));
        }
    }
}

impl CommitFailure {
    /// Answers the batch's submissions with the error that fits the failure.
    fn refuse_waiting(self) {
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
    publish: Option<watch::Sender<SignedHead>>,
    store: Arc<Store>,
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
    fn probe_write(&self, bytes: usize) -> Result<(), StorageError> {
        self.store.set_meta(PROBE_META, "")?;
        self.store.set_meta(PROBE_META, &"0".repeat(bytes))?;
        self.store.set_meta(PROBE_META, "")
    }

    /// Logs a group of submissions in one transaction. Submissions with a duplicate rid are
    /// answered with an error and left out; the others share one commit. If the commit
    /// fails, the failure is returned with them, unanswered: the writer's state is then
    /// unchanged, and storage may or may not hold the batch. If it succeeds, the
    /// acknowledgements are returned, to be sent once the caller has acted on the success.
    fn commit(&mut self, submissions: Vec<Submission>) -> Result<Answers, CommitFailure> {
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
fn batch_bytes(batch: &Batch) -> usize {
    let entries: usize = batch
        .entries
        .iter()
        .map(|e| e.bytes.len() + e.rid.as_ref().map_or(0, String::len) + 64)
        .sum();
    entries + batch.hashes.len() * 48 + batch.checkpoint.as_ref().map_or(0, String::len)
}

/// What the sequencer thread receives.
enum Message {
    Submit(Submission),
    /// Finish what was queued before, then stop.
    Stop,
}

/// A cloneable handle to the sequencer thread.
#[derive(Clone)]
pub struct Sequencer {
    submissions: mpsc::Sender<Message>,
    checkpoints: watch::Receiver<SignedHead>,
    /// The cause of the storage fault the writer is in, if any (see the module doc).
    fault: watch::Receiver<Option<Arc<str>>>,
    /// The sequencer thread, to wake it while it waits for its next probe.
    worker: std::thread::Thread,
    thread: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl Sequencer {
    /// Starts the sequencer thread for `writer`, batching up to `max_batch` entries. Storage
    /// faults are raised in, and cleared from, `health` as [`Problem::WritesFailing`].
    ///
    /// The thread first probes that storage takes writes (see the module doc): until that
    /// probe has run, submissions queue; if it fails, the writer starts faulted.
    pub fn start(mut writer: LogWriter, max_batch: usize, health: Arc<Health>) -> Sequencer {
        let (submissions, queue) = mpsc::channel::<Message>(65_536);
        let (publish, checkpoints) = watch::channel(writer.head());
        let (fault_sender, fault) = watch::channel(None);
        writer.publish = Some(publish);
        let worker = Worker {
            writer,
            queue,
            max_batch: max_batch.max(1),
            health,
            fault: fault_sender,
        };
        let thread = std::thread::Builder::new()
            .name("daylight-sequencer".into())
            .spawn(move || worker.run())
            .expect("the operating system can start a thread");
        Sequencer {
            submissions,
            checkpoints,
            fault,
            worker: thread.thread().clone(),
            thread: Arc::new(std::sync::Mutex::new(Some(thread))),
        }
    }

    /// Lets the thread commit what was submitted before this call, stops it, and waits for it.
    /// Later submissions, through any clone of the handle, fail with `Stopped`. Blocking: call
    /// from a thread that may block.
    pub fn shutdown(self) {
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        let _ = self.submissions.blocking_send(Message::Stop);
        self.worker.unpark();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    /// Logs `entries` (validated records) and returns, once they are durable, their places.
    /// While storage faults, refuses at once with [`SequencerError::Unavailable`].
    pub async fn submit(&self, entries: Vec<NewEntry>) -> Result<Vec<Ack>, SequencerError> {
        if let Some(cause) = self.fault() {
            return Err(SequencerError::Unavailable(cause.to_string()));
        }
        let (reply, answer) = oneshot::channel();
        self.submissions
            .send(Message::Submit(Submission { entries, reply }))
            .await
            .map_err(|_| SequencerError::Stopped)?;
        // The thread may have faulted since the check above and be waiting for its next
        // probe, or be confirming a recovery: wake it to take this submission now. (It marks
        // the fault before it looks at the queue, so either it sees the submission or this
        // sees the fault; waking a thread that is not parked costs one atomic swap.)
        self.worker.unpark();
        answer.await.map_err(|_| SequencerError::Stopped)?
    }

    /// The cause of the storage fault that keeps the writer from acknowledging now, if any.
    pub fn fault(&self) -> Option<Arc<str>> {
        self.fault.borrow().clone()
    }

    /// The latest signed checkpoint, updated after every durable batch.
    pub fn checkpoint(&self) -> Arc<str> {
        self.checkpoints.borrow().note.clone()
    }

    /// The latest signed checkpoint with its size.
    pub fn head(&self) -> SignedHead {
        self.checkpoints.borrow().clone()
    }

    /// A receiver that changes whenever a new checkpoint is durable.
    pub fn watch_checkpoints(&self) -> watch::Receiver<SignedHead> {
        self.checkpoints.clone()
    }
}

/// What the sequencer thread is doing.
enum State {
    /// Taking batches from the queue and committing them.
    Writing,
    /// Storage faulted: refusing submissions, probing until a write succeeds.
    Faulted(Fault),
    /// A probe succeeded after a fault: taking submissions again, with the fault still
    /// raised until a batch is durable or, if none arrives, a second probe at the given
    /// time succeeds.
    Recovering(Instant),
    /// Done: shut down, or stopped by a failure that is not a fault.
    Stopped,
}

/// A storage fault the writer is waiting out.
struct Fault {
    /// What failed, for the 503 answers and `/healthz`.
    cause: Arc<str>,
    /// When to probe next.
    next_probe: Instant,
    /// The pause before the probe after that.
    pause: Duration,
    /// How much the probe writes.
    probe_bytes: usize,
}

/// The sequencer thread.
struct Worker {
    writer: LogWriter,
    queue: mpsc::Receiver<Message>,
    max_batch: usize,
    health: Arc<Health>,
    fault: watch::Sender<Option<Arc<str>>>,
}

impl Worker {
    fn run(mut self) {
        let mut state = if self.writer.store.is_read_only() {
            self.faulted(StorageError::ReadOnly.to_string(), MIN_PROBE_BYTES)
        } else {
            self.probe(MIN_PROBE_BYTES)
        };
        loop {
            state = match state {
                State::Writing => self.write_next(),
                State::Faulted(fault) => self.wait_out(fault),
                State::Recovering(confirm_at) => self.recover(confirm_at),
                State::Stopped => break,
            };
        }
        // Anything still queued is refused, never left waiting.
        self.fault.send_replace(None);
        self.queue.close();
        while let Ok(message) = self.queue.try_recv() {
            if let Message::Submit(rest) = message {
                let _ = rest.reply.send(Err(SequencerError::Stopped));
            }
        }
    }

    /// Waits for submissions and commits everything queued (up to `max_batch` entries) as one
    /// batch.
    fn write_next(&mut self) -> State {
        let Some(Message::Submit(first)) = self.queue.blocking_recv() else {
            return State::Stopped;
        };
        self.commit_from(first)
    }

    /// After a probe succeeded: commits what arrives as [`Self::write_next`] does; if nothing
    /// arrives before `confirm_at`, probes again, and a second success ends the fault.
    fn recover(&mut self, confirm_at: Instant) -> State {
        loop {
            match self.queue.try_recv() {
                Ok(Message::Submit(first)) => return self.commit_from(first),
                Ok(Message::Stop) | Err(mpsc::error::TryRecvError::Disconnected) => {
                    return State::Stopped;
                }
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            let now = Instant::now();
            if now >= confirm_at {
                break;
            }
            // Woken early by a submission or a shutdown (see `Sequencer::submit`).
            std::thread::park_timeout(confirm_at - now);
        }
        match self.probe(MIN_PROBE_BYTES) {
            State::Recovering(_) => {
                self.end_fault();
                State::Writing
            }
            other => other,
        }
    }

    /// Clears the fault raised in `health`, saying so once.
    fn end_fault(&mut self) {
        if self.health.is_raised(&Problem::WritesFailing) {
            tracing::info!("log writer: storage takes writes again; accepting records");
        }
        self.health.clear(&Problem::WritesFailing);
    }

    /// Commits `first` and whatever else is queued (up to `max_batch` entries) as one batch.
    /// A durable batch ends a fault before its submitters are answered, so whoever holds an
    /// acknowledgement sees `/healthz` ok.
    fn commit_from(&mut self, first: Submission) -> State {
        let mut count = first.entries.len();
        let mut group = vec![first];
        let mut stop = false;
        while count < self.max_batch {
            match self.queue.try_recv() {
                Ok(Message::Submit(next)) => {
                    count += next.entries.len();
                    group.push(next);
                }
                Ok(Message::Stop) => {
                    stop = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let next = match self.writer.commit(group) {
            Ok(answers) => {
                self.end_fault();
                answers.send();
                State::Writing
            }
            Err(failure) => {
                let next = self.after_failed_commit(&failure.error, failure.bytes);
                failure.refuse_waiting();
                next
            }
        };
        if stop { State::Stopped } else { next }
    }

    /// Acts on a failed commit of about `bytes`: a storage fault is raised and waited out; a
    /// log longer in storage than the writer knew is reloaded; anything else stops the writer.
    fn after_failed_commit(&mut self, error: &StorageError, bytes: usize) -> State {
        if error.needs_reopen() {
            let state = self.faulted(error.to_string(), probe_size(bytes));
            self.reopen_for_readers();
            return state;
        }
        if !matches!(error, StorageError::OutOfOrder { .. }) {
            return self.fail(&error.to_string());
        }
        // Read storage's state back before anything is signed again.
        tracing::warn!("log writer: {error}; reloading its state from storage");
        match self.writer.reload() {
            Ok(_) => State::Writing,
            Err(e) if e.is_transient() => self.faulted(e.to_string(), probe_size(bytes)),
            Err(e) => self.fail(&reload_failure(&e)),
        }
    }

    /// While faulted: refuses what arrives, and probes when it is time.
    fn wait_out(&mut self, mut fault: Fault) -> State {
        loop {
            match self.queue.try_recv() {
                Ok(Message::Submit(refused)) => {
                    let error = SequencerError::Unavailable(fault.cause.to_string());
                    let _ = refused.reply.send(Err(error));
                    continue;
                }
                Ok(Message::Stop) | Err(mpsc::error::TryRecvError::Disconnected) => {
                    return State::Stopped;
                }
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            let now = Instant::now();
            if now >= fault.next_probe {
                break;
            }
            // Woken early by a submission or a shutdown (see `Sequencer::submit`).
            std::thread::park_timeout(fault.next_probe - now);
        }
        match self.probe(fault.probe_bytes) {
            State::Faulted(again) => {
                fault.cause = again.cause;
                fault.next_probe = Instant::now() + fault.pause;
                fault.pause = (fault.pause * 2).min(MAX_PROBE_PAUSE);
                State::Faulted(fault)
            }
            other => other,
        }
    }

    /// Checks that storage takes a write of `bytes` and reloads the writer's state: on
    /// success the fault (if any) is over; a storage fault keeps or makes it faulted.
    fn probe(&mut self, bytes: usize) -> State {
        if let Err(e) = self.writer.probe_write(bytes) {
            if !e.needs_reopen() {
                return self.fail(&e.to_string());
            }
            let state = self.faulted(e.to_string(), bytes);
            self.reopen_for_readers();
            return state;
        }
        match self.writer.reload() {
            Ok(_) => {
                self.fault.send_replace(None);
                if self.health.is_raised(&Problem::WritesFailing) {
                    State::Recovering(Instant::now() + FIRST_PROBE)
                } else {
                    State::Writing
                }
            }
            Err(e) if e.is_transient() => self.faulted(e.to_string(), bytes),
            Err(e) => self.fail(&reload_failure(&e)),
        }
    }

    /// Enters (or stays in) the faulted state for `cause`: marks the fault, so submissions are
    /// refused at once, and raises it.
    fn faulted(&mut self, cause: String, probe_bytes: usize) -> State {
        let cause: Arc<str> = Arc::from(cause);
        self.health
            .raise(Problem::WritesFailing, writes_failing(&cause));
        self.fault.send_replace(Some(cause.clone()));
        State::Faulted(Fault {
            cause,
            next_probe: Instant::now() + FIRST_PROBE,
            pause: (FIRST_PROBE * 2).min(MAX_PROBE_PAUSE),
            probe_bytes,
        })
    }

    /// Reopens the database after a write failed on it. The engine refuses every call on a
    /// database after an I/O failure, and the store reopens it on the next call only if it
    /// did not reopen it moments before (as it does while retrying the failed write), so
    /// without this, reads could fail for that moment after each failed write.
    fn reopen_for_readers(&self) {
        if let Err(e) = self.writer.store.reopen(true) {
            tracing::warn!("log writer: cannot reopen the database after a failed write: {e}");
        }
    }

    /// Stops the writer for good after a failure that is not a fault, saying so in `health`.
    fn fail(&mut self, reason: &str) -> State {
        tracing::error!("log writer stopped: {reason}");
        self.health.raise(
            Problem::WritesFailing,
            format!(
                "the log writer has stopped: {reason}; new records are refused until the node \
                 is restarted; reads continue"
            ),
        );
        State::Stopped
    }
}

/// The probe size for a batch of `bytes` that failed: twice it, within the probe bounds.
fn probe_size(bytes: usize) -> usize {
    bytes
        .saturating_mul(2)
        .clamp(MIN_PROBE_BYTES, MAX_PROBE_BYTES)
}

/// The reason a reload that found damage gives (without `open`'s "refusing to start").
fn reload_failure(e: &OpenError) -> String {
    match e {
        OpenError::Mismatch(detail) => detail.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daylight_verifier::KeyType;
    use daylight_verifier::merkle::leaf_hash;
    use daylight_verifier::merkle::tree_hash;

    const ORIGIN: &str = "test.daylight/county-1";

    fn key() -> SigningKey {
        SigningKey::from_seed(ORIGIN, KeyType::Ed25519, [5; 32]).unwrap()
    }

    fn entry(i: usize) -> NewEntry {
        NewEntry::plain(
            format!("{{\"rid\":\"county-1-{i}\"}}").into_bytes(),
            Some(format!("county-1-{i}")),
        )
    }

    fn tempdir() -> std::path::PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("daylight-seq-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_submissions_are_batched_and_durable_once_acknowledged() {
        let dir = tempdir();
        let path = dir.join("db.redb");
        let store = Arc::new(Store::open(&path).unwrap());
        let health = Arc::new(Health::default());
        let writer = LogWriter::open(store.clone(), ORIGIN, key()).unwrap();
        let sequencer = Sequencer::start(writer, 64, health.clone());
        let mut tasks = Vec::new();
        for i in 0..200 {
            let s = sequencer.clone();
            tasks.push(tokio::spawn(async move { s.submit(vec![entry(i)]).await }));
        }
        let mut acked = Vec::new();
        for (i, task) in tasks.into_iter().enumerate() {
            let ack = task.await.unwrap().unwrap().remove(0);
            acked.push((i, ack));
        }
        let mut indexes: Vec<u64> = acked.iter().map(|(_, a)| a.index).collect();
        indexes.sort();
        assert_eq!(indexes, (0..200).collect::<Vec<u64>>());

        // Duplicate rids are refused without harming the log.
        let dup = sequencer.submit(vec![entry(5)]).await;
        assert!(matches!(dup, Err(SequencerError::DuplicateRid(_))));

        // Every acknowledged entry survives a close and reopen, at its acknowledged index.
        let still_held = sequencer.clone();
        tokio::task::spawn_blocking(move || sequencer.shutdown())
            .await
            .unwrap();
        // Shutdown does not wait for other handles to go; they just stop working.
        assert!(matches!(
            still_held.submit(vec![entry(999)]).await,
            Err(SequencerError::Stopped)
        ));
        drop(still_held);
        assert!(health.report().is_empty(), "{:?}", health.report());
        drop(store);
        let store = Arc::new(Store::open(&path).unwrap());
        let log = store.find_log(ORIGIN).unwrap().unwrap();
        for (i, ack) in &acked {
            let bytes = store.entries(log, ack.index..ack.index + 1).unwrap();
            assert_eq!(bytes, vec![entry(*i).bytes]);
            assert_eq!(leaf_hash(&bytes[0]), ack.leaf);
        }
        // One checkpoint per size, each signed by the log over the stored tree.
        let checkpoints = store.checkpoints(log).unwrap();
        assert!(
            checkpoints.len() >= 2,
            "the empty checkpoint and at least one batch"
        );
        assert!(checkpoints.len() < 200, "submissions were batched");
        for (size, note) in checkpoints {
            let signed = SignedCheckpoint::open(note.as_bytes(), &key().verifier()).unwrap();
            assert_eq!(signed.checkpoint.size, size);
            assert_eq!(
                signed.checkpoint.root,
                tree_hash(size, &store.hash_reader(log)).unwrap()
            );
        }
        assert!(LogWriter::open(store, ORIGIN, key()).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A commit reported as failed can have reached the disk; the writer must then continue
    /// from what storage holds and never sign a second checkpoint for that size.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_reloads_when_storage_holds_more_than_it_knows() {
        let dir = tempdir();
        let store = Arc::new(Store::open(&dir.join("db.redb")).unwrap());
        let health = Arc::new(Health::default());
        let writer = LogWriter::open(store.clone(), ORIGIN, key()).unwrap();
        let log = writer.log_number();
        let sequencer = Sequencer::start(writer, 64, health.clone());
        let first = sequencer.submit(vec![entry(0)]).await.unwrap();
        assert_eq!(first[0].index, 0);

        // Entry 1 reaches storage behind the writer's back, with its signed checkpoint: what
        // a batch whose commit failed after it was written looks like.
        let mut frontier = Frontier::load(1, &store.hash_reader(log)).unwrap();
        let mut hashes = Vec::new();
        let behind = entry(1);
        frontier.append(behind.leaf, &mut hashes);
        let durable = Checkpoint::new(ORIGIN, 2, frontier.root())
            .sign(&key())
            .unwrap()
            .to_text();
        let batch = Batch {
            log,
            start: 1,
            entries: vec![behind],
            hashes,
            checkpoint: Some(durable.clone()),
            mirrored: false,
        };
        store.commit_batch(&batch, ORIGIN).unwrap();

        // The next batch is refused (it starts at 1), and the writer reloads: the head is the
        // stored checkpoint of size 2, and the batch after lands at index 2.
        let refused = sequencer.submit(vec![entry(2)]).await;
        assert!(
            matches!(refused, Err(SequencerError::Unconfirmed(_))),
            "{refused:?}"
        );
        let head = sequencer.head();
        assert_eq!((head.size, &*head.note), (2, durable.as_str()));
        let next = sequencer.submit(vec![entry(3)]).await.unwrap();
        assert_eq!(next[0].index, 2);
        assert!(health.report().is_empty(), "{:?}", health.report());

        tokio::task::spawn_blocking(move || sequencer.shutdown())
            .await
            .unwrap();
        let checkpoints = store.checkpoints(log).unwrap();
        let sizes: Vec<u64> = checkpoints.iter().map(|(size, _)| *size).collect();
        assert_eq!(sizes, vec![0, 1, 2, 3]);
        assert_eq!(checkpoints[2].1, durable);
        for (size, note) in checkpoints {
            let signed = SignedCheckpoint::open(note.as_bytes(), &key().verifier()).unwrap();
            assert_eq!(
                signed.checkpoint.root,
                tree_hash(size, &store.hash_reader(log)).unwrap()
            );
        }
        assert!(LogWriter::open(store, ORIGIN, key()).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn start_refuses_a_tree_that_does_not_match_its_checkpoint() {
        let dir = tempdir();
        let store = Arc::new(Store::open(&dir.join("db.redb")).unwrap());
        let writer = LogWriter::open(store.clone(), ORIGIN, key()).unwrap();
        // Store an entry with a checkpoint whose root is not the tree's: what a damaged or
        // tampered database looks like.
        let mut frontier = Frontier::empty();
        let mut hashes = Vec::new();
        frontier.append(leaf_hash(b"real"), &mut hashes);
        let lying = Checkpoint::new(ORIGIN, 1, Hash::digest(b"other"))
            .sign(&key())
            .unwrap();
        let batch = Batch {
            log: writer.log_number(),
            start: 0,
            entries: vec![NewEntry::plain(b"real".to_vec(), None)],
            hashes,
            checkpoint: Some(lying.to_text()),
            mirrored: false,
        };
        store.commit_batch(&batch, ORIGIN).unwrap();
        drop(writer);
        let err = LogWriter::open(store.clone(), ORIGIN, key())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("refusing to start"), "{err}");
        assert!(
            err.contains("does not match") || err.contains("but the last signed"),
            "{err}"
        );

        // And a checkpoint signed by another key is refused too.
        let other = SigningKey::from_seed(ORIGIN, KeyType::Ed25519, [6; 32]).unwrap();
        let err = LogWriter::open(store, ORIGIN, other)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("not signed by this node's log key"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
