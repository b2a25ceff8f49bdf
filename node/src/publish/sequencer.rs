//! The sequencer: the one writer of the node's own log.
//!
//! Submissions arrive on a channel, already validated. A dedicated thread takes everything
//! queued (up to `max_batch` entries: group commit, so batches grow exactly when load does,
//! with no added wait) and hands it to its [`LogWriter`], which appends it to a copy of the
//! in-memory frontier, signs the new checkpoint, and makes entries, hashes, indexes and
//! checkpoint durable in one redb transaction (one fsync). Only after that commit returns
//! does the writer adopt the new frontier and publish the new checkpoint, and only then does
//! this thread answer the submitters.
//!
//! # Invariants
//!
//! * **Nothing is acknowledged before it is durable** (kept here): a submitter is answered
//!   `Ok` only with the acknowledgements [`LogWriter`]'s commit returned once the transaction
//!   holding its entries was durable.
//! * A checkpoint is released only over durable entries, one checkpoint per size, and the tree
//!   extended leads to the last signed checkpoint: kept by [`LogWriter`]
//!   ([`log_writer`](super::log_writer) says how). After a failed commit this thread has it
//!   reload its state from storage before it signs anything again.
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

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::log_writer::{Ack, LogWriter, OpenError, SignedHead, Submission};
use crate::health::{Health, Problem};
use crate::store::{NewEntry, StorageError};

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
    use crate::store::{Batch, Store};
    use daylight_verifier::checkpoint::{Checkpoint, SignedCheckpoint};
    use daylight_verifier::merkle::Frontier;
    use daylight_verifier::merkle::leaf_hash;
    use daylight_verifier::merkle::tree_hash;
    use daylight_verifier::{Hash, KeyType, SigningKey};

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
