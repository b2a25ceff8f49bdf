//! The sequencer: the one writer of the node's own log.
//!
//! Submissions arrive on a channel, already validated. A dedicated thread takes everything
//! queued (up to `max_batch` entries: group commit, so batches grow exactly when load does,
//! with no added wait), appends it to the in-memory [`Frontier`], signs the new checkpoint,
//! and makes entries, hashes, indexes and checkpoint durable in one redb transaction (one
//! fsync). Only after that commit returns does it publish the new checkpoint and then answer
//! the submitters. So:
//!
//! * nothing is acknowledged before it is durable;
//! * a checkpoint is released only over durable entries; it is signed inside the batch but
//!   leaves the thread only after the commit. If a commit fails the sequencer stops for good
//!   (the node must restart), so it can never sign a second root for that size;
//! * one checkpoint per size: the frontier only moves forward after a successful commit, and
//!   storage refuses a second, different checkpoint for a size.
//!
//! On start, [`LogWriter::open`] recomputes the stored tree's root and refuses to run if it
//! does not match the last signed checkpoint.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use daylight_verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use daylight_verifier::merkle::{Frontier, NodeId};
use daylight_verifier::{Hash, SigningKey};
use tokio::sync::{mpsc, oneshot, watch};

use crate::storage::{Batch, CurrentVersion, NewEntry, StorageError, Store};

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
    /// The sequencer stopped after a storage failure; the node must be restarted.
    #[error("the log writer has stopped after a storage failure; restart the node")]
    Stopped,
    /// Storage failed while committing this batch.
    #[error("storage failure, nothing from this batch was logged: {0}")]
    Storage(String),
}

/// Why the log could not be opened for writing.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Storage could not be read.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The stored tree could not be read back.
    #[error("cannot read the stored tree: {0}")]
    Tree(#[from] daylight_verifier::merkle::TreeError),
    /// The last checkpoint is missing, not ours, or does not match the stored tree.
    #[error("refusing to start: {0}")]
    Mismatch(String),
}

/// The latest durable checkpoint of the log, as published to readers.
#[derive(Clone, Debug)]
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

/// The state of the node's own log that the sequencer thread owns.
pub struct LogWriter {
    /// Where each new durable head is published, before any submitter is answered, so that
    /// whoever holds an acknowledgement can already read a checkpoint that includes it.
    publish: Option<watch::Sender<SignedHead>>,
    store: Arc<Store>,
    log: u32,
    origin: String,
    key: SigningKey,
    frontier: Frontier,
    checkpoint: Arc<str>,
}

impl LogWriter {
    /// Opens the log for writing, checking the stored tree against the last checkpoint. A
    /// new log gets its size-0 checkpoint.
    pub fn open(store: Arc<Store>, origin: &str, key: SigningKey) -> Result<LogWriter, OpenError> {
        let log = store.log_number(origin)?;
        let size = store.size(log)?;
        let frontier = Frontier::load(size, &store.hash_reader(log))?;
        let latest = store.latest_checkpoint(log)?;
        let mut writer = LogWriter {
            publish: None,
            store,
            log,
            origin: origin.to_string(),
            key,
            frontier,
            checkpoint: Arc::from(""),
        };
        match latest {
            None if size == 0 => {
                let note = writer.sign(&writer.frontier.clone());
                let batch = writer.batch(Vec::new(), Vec::new(), note.clone());
                writer.store.commit_batch(&batch, origin)?;
                writer.checkpoint = Arc::from(note);
            }
            None => {
                return Err(OpenError::Mismatch(format!(
                    "log {origin} holds {size} entries but no signed checkpoint"
                )));
            }
            Some((checkpoint_size, note)) => {
                writer.check_checkpoint(checkpoint_size, &note)?;
                writer.checkpoint = Arc::from(note);
            }
        }
        Ok(writer)
    }

    fn check_checkpoint(&self, size: u64, note: &str) -> Result<(), OpenError> {
        let signed =
            SignedCheckpoint::open(note.as_bytes(), &self.key.verifier()).map_err(|e| {
                OpenError::Mismatch(format!(
                    "the last stored checkpoint of {} is not signed by this node's log key: {e}",
                    self.origin
                ))
            })?;
        let root = self.frontier.root();
        if size != self.frontier.size() || signed.checkpoint.root != root {
            return Err(OpenError::Mismatch(format!(
                "the stored tree of {} has size {} and root {root}, but the last signed \
                 checkpoint says size {size} and root {}; the database is damaged — restore it \
                 from a backup or a mirror",
                self.origin,
                self.frontier.size(),
                signed.checkpoint.root
            )));
        }
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

    /// Logs a group of submissions in one transaction. Submissions with a duplicate rid are
    /// answered with an error and left out; the others share one commit.
    fn commit(&mut self, submissions: Vec<Submission>) -> Result<(), SequencerError> {
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
            return Ok(());
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
        if let Err(e) = self.store.commit_batch(&batch, &self.origin) {
            let error = SequencerError::Storage(e.to_string());
            for submission in accepted {
                let _ = submission.reply.send(Err(error.clone()));
            }
            return Err(error);
        }
        self.frontier = frontier;
        self.checkpoint = Arc::from(note);
        if let Some(publish) = &self.publish {
            publish.send_replace(self.head());
        }
        for (submission, acks) in accepted.into_iter().zip(placed) {
            let acks = acks
                .into_iter()
                .map(|(index, leaf)| Ack {
                    index,
                    leaf,
                    checkpoint: self.checkpoint.clone(),
                })
                .collect();
            let _ = submission.reply.send(Ok(acks));
        }
        Ok(())
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

fn storage(e: StorageError) -> SequencerError {
    SequencerError::Storage(e.to_string())
}

/// What the submissions accepted so far into the batch being built change, before it is
/// durable: checks of later submissions in the batch must see it.
#[derive(Clone, Default)]
struct Pending {
    rids: HashSet<String>,
    current: HashMap<String, CurrentVersion>,
    versions: HashMap<String, Vec<Hash>>,
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
    thread: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl Sequencer {
    /// Starts the sequencer thread for `writer`, batching up to `max_batch` entries.
    pub fn start(mut writer: LogWriter, max_batch: usize) -> Sequencer {
        let (submissions, mut queue) = mpsc::channel::<Message>(65_536);
        let (publish, checkpoints) = watch::channel(writer.head());
        writer.publish = Some(publish);
        let thread = std::thread::Builder::new()
            .name("daylight-sequencer".into())
            .spawn(move || {
                while let Some(Message::Submit(first)) = queue.blocking_recv() {
                    let mut count = first.entries.len();
                    let mut group = vec![first];
                    let mut stop = false;
                    while count < max_batch {
                        match queue.try_recv() {
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
                    if let Err(e) = writer.commit(group) {
                        tracing::error!("sequencer stopped: {e}");
                        break;
                    }
                    if stop {
                        break;
                    }
                }
                // Anything still queued is refused, never left waiting.
                queue.close();
                while let Ok(message) = queue.try_recv() {
                    if let Message::Submit(rest) = message {
                        let _ = rest.reply.send(Err(SequencerError::Stopped));
                    }
                }
            })
            .expect("the operating system can start a thread");
        Sequencer {
            submissions,
            checkpoints,
            thread: Arc::new(std::sync::Mutex::new(Some(thread))),
        }
    }

    /// Lets the thread commit what was submitted before this call, stops it, and waits for it.
    /// Later submissions, through any clone of the handle, fail with `Stopped`. Blocking: call
    /// from a thread that may block.
    pub fn shutdown(self) {
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        let _ = self.submissions.blocking_send(Message::Stop);
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    /// Logs `entries` (validated records) and returns, once they are durable, their places.
    pub async fn submit(&self, entries: Vec<NewEntry>) -> Result<Vec<Ack>, SequencerError> {
        let (reply, answer) = oneshot::channel();
        self.submissions
            .send(Message::Submit(Submission { entries, reply }))
            .await
            .map_err(|_| SequencerError::Stopped)?;
        answer.await.map_err(|_| SequencerError::Stopped)?
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
        let sequencer =
            Sequencer::start(LogWriter::open(store.clone(), ORIGIN, key()).unwrap(), 64);
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
