//! The [`Ledger`]: the entries of many logs, parsed once, appended as mirrored logs grow.
//!
//! Each appended entry is parsed and checked as the publishing node checked it (canonical JCS
//! form, field rules, privacy guard, accepted signers if the log's keys are set), then applied
//! to its log's [`LogState`]. An entry that fails is kept as an invalid entry with its leaf
//! hash and the reason: the audit reports it (`log_integrity`), it is not an error.
//!
//! Signatures are *not* Ed25519-verified by default: the audit's throughput goal is 200,000
//! records/s while strict Ed25519 verification runs at about 20,000/s per core, and every
//! entry was verified by the publishing node and is covered by checkpoints the mirror
//! checked. [`Ledger::verify_signatures`] turns verification on for a slower, self-contained
//! replay.
//!
//! Revoked keys (DESIGN §6b): a signature by a revoked operator or attestor key on an entry at
//! or after the key's `from_index` does not make the entry invalid, so replaying such a log
//! never stalls; the entry stays valid and the use is kept for the `revoked_key_used` rule. An
//! attestation by such a key is not counted as a sign-off.
//!
//! Invariants: a log's entries are held in index order from 0 with no gaps (`append` and
//! `extend` refuse anything else); `Log::entries[i]` is the entry at index `i`; the log's
//! state has seen exactly the valid entries among them, in order.

use std::collections::BTreeMap;

use crate::evidence::Evidence;
use crate::hash::Hash;
use crate::key::KeyType;
use crate::record::{
    AcceptedKeys, Code, Date, Kind, LogState, MemberId, Record, RecordError, Revocation, Rid,
    SignedRecord, check_privacy, prepare_signatures, validate_entry,
};

use super::error::AuditError;
use super::parallel::{cores, map_in_order};

/// One entry of a log, as the audit keeps it.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// A valid record (already applied to the log state).
    Valid {
        /// Its leaf hash.
        leaf: Hash,
        /// Its rid.
        rid: Rid,
        /// Its kind.
        kind: Kind,
        /// Its own event date (a correction's, not its replacement's).
        event_date: Date,
        /// Attestor roles that signed it; `None` when the log's keys were unknown when it
        /// was appended, so sign-offs cannot be judged.
        attestations: Option<Vec<Code>>,
    },
    /// An entry that is not a valid record of this log.
    Invalid {
        /// Its leaf hash.
        leaf: Hash,
        /// Why it is not valid.
        problem: String,
    },
}

impl Entry {
    /// The entry's leaf hash.
    pub(crate) fn leaf(&self) -> Hash {
        match self {
            Entry::Valid { leaf, .. } | Entry::Invalid { leaf, .. } => *leaf,
        }
    }
}

/// A signature by a revoked key on an entry at or after the key's `from_index`.
#[derive(Debug, Clone)]
pub(crate) struct RevokedUse {
    /// The entry's index.
    pub(crate) index: u64,
    /// The revocation the signature ignored.
    pub(crate) revocation: Revocation,
}

/// Everything the ledger holds about one log.
#[derive(Debug, Clone, Default)]
pub(crate) struct Log {
    /// Operator and attestor keys, from the genesis, revoked keys accepted in their roles
    /// (their late uses are recorded in `revoked_uses`).
    pub(crate) keys: Option<AcceptedKeys>,
    /// Signatures by revoked keys on entries at or after their `from_index`, in index order.
    pub(crate) revoked_uses: Vec<RevokedUse>,
    /// Every entry, by index.
    pub(crate) entries: Vec<Entry>,
    /// The current state of its rids.
    pub(crate) state: LogState,
    /// Evidence of equivocation, by evidence id.
    pub(crate) evidence: BTreeMap<Hash, Evidence>,
}

/// The records of many logs, accumulated append-only, ready to [`audit`](Ledger::audit).
///
/// Feed it as logs are mirrored: [`Ledger::append`] one entry or [`Ledger::extend`] a batch
/// (parsed in parallel). Each entry is parsed once; the audit itself rebuilds its indexes
/// from the parsed state on each call, in linear time.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub(crate) logs: BTreeMap<MemberId, Log>,
    verify: bool,
}

/// Entries per unit of work in [`Ledger::extend`]: large enough that handing chunks over
/// costs nothing measurable, small enough that both cores stay busy to the end.
const EXTEND_CHUNK: usize = 512;

/// What checking one entry gave, before it is applied in order. Not boxed: nearly every
/// entry is valid, and a box would cost an allocation per entry for nothing.
#[allow(clippy::large_enum_variant)]
enum Checked {
    Valid {
        /// The record without its signatures (dropped on the worker thread that read them).
        record: Record,
        leaf: Hash,
        attestations: Option<Vec<Code>>,
        /// Revoked keys that signed at or after their `from_index` (usually none).
        revoked: Vec<Revocation>,
    },
    Invalid {
        leaf: Hash,
        problem: String,
    },
}

fn check_entry(
    log: &MemberId,
    index: u64,
    bytes: &[u8],
    keys: Option<&AcceptedKeys>,
    verify: bool,
) -> Checked {
    let leaf = crate::merkle::leaf_hash(bytes);
    let result = (|| {
        let (record, maybe_personal) = SignedRecord::from_entry_screened(bytes)?;
        validate_entry(&record, log)?;
        if maybe_personal {
            check_privacy(&record)?;
        }
        debug_assert!(check_privacy(&record).is_ok());
        let (attestations, revoked) = match keys {
            None => (None, Vec::new()),
            Some(keys) => {
                if verify {
                    prepare_signatures(&record, keys)?.verify()?;
                }
                let (roles, revoked) = signer_roles(&record, keys, index)?;
                (Some(roles), revoked)
            }
        };
        Ok::<_, crate::record::RecordError>((record, attestations, revoked))
    })();
    match result {
        Ok((record, attestations, revoked)) => Checked::Valid {
            record: record.record,
            leaf,
            attestations,
            revoked,
        },
        Err(e) => Checked::Invalid {
            leaf,
            problem: e.to_string(),
        },
    }
}

/// The attestor roles of a record's signers, with the checks of [`prepare_signatures`] (every
/// signer an accepted Ed25519 key, none twice, an operator among them) but without computing
/// the signing bytes, which only Ed25519 verification needs; and the revocations that the
/// entry at `index` ignored (their attestations are not counted as roles).
fn signer_roles(
    record: &SignedRecord,
    keys: &AcceptedKeys,
    index: u64,
) -> Result<(Vec<Code>, Vec<Revocation>), crate::record::RecordError> {
    let mut roles = Vec::new();
    let mut revoked = Vec::new();
    let mut operator = false;
    for (i, sig) in record.signatures.iter().enumerate() {
        let signer = &sig.signer;
        let path = || format!("signatures[{i}].signer");
        if signer.key_type() != KeyType::Ed25519 {
            return Err(RecordError::new(
                path(),
                "must be an Ed25519 note key (type 0x01)",
            ));
        }
        if record.signatures[..i].iter().any(|s| &s.signer == signer) {
            return Err(RecordError::new(
                path(),
                format!("{} signs twice: each key signs once", signer.name()),
            ));
        }
        let late = match keys.revocations() {
            [] => None,
            _ => keys.revocation(signer).filter(|r| !r.counts_at(index)),
        };
        if let Some(revocation) = late {
            revoked.push(revocation.clone());
        }
        if keys.is_operator(signer) {
            operator = true;
        } else if let Some(role) = keys.attestor_role(signer) {
            if late.is_none() {
                roles.push(role.clone());
            }
        } else {
            return Err(RecordError::new(
                path(),
                format!(
                    "{} is not an accepted operator or attestor key of this log",
                    signer.name()
                ),
            ));
        }
    }
    if !operator {
        return Err(RecordError::new(
            "signatures",
            "no signature by an accepted operator key of this log",
        ));
    }
    Ok((roles, revoked))
}

/// New entries of one log, for [`Ledger::extend_logs`].
#[derive(Debug)]
pub struct LogEntries<'a, E> {
    /// The log.
    pub log: &'a MemberId,
    /// The index of the first entry: the number of entries the ledger holds of that log.
    pub first_index: u64,
    /// The entries, in log order.
    pub entries: &'a [E],
}

// Copied whatever the entry type: it only borrows the entries.
impl<E> Clone for LogEntries<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for LogEntries<'_, E> {}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Turns strict Ed25519 verification of every record signature on or off for entries
    /// appended from now on (off by default; see the module doc). A signature that fails
    /// makes its entry invalid (a `log_integrity` finding). Needs the log's keys.
    pub fn verify_signatures(&mut self, on: bool) -> &mut Ledger {
        self.verify = on;
        self
    }

    /// Sets the operator and attestor keys of `log` (from the genesis). Entries appended
    /// afterwards must be signed by an operator of these keys, and their attestor roles are
    /// what the sign-off rules read. Set the keys before appending: entries appended without
    /// keys are not re-judged, and the sign-off rules skip them.
    ///
    /// Revoked keys ([`AcceptedKeys::with_revoked_operator`], ...) still count as signers, so
    /// the log replays; a signature by one on an entry at or after its `from_index` is a red
    /// `revoked_key_used` finding, and such an attestation is not counted as a sign-off.
    pub fn set_keys(&mut self, log: &MemberId, keys: AcceptedKeys) {
        let keys = if keys.revocations().is_empty() {
            keys
        } else {
            keys.ever_accepted()
        };
        self.logs.entry(log.clone()).or_default().keys = Some(keys);
    }

    /// How many entries of `log` the ledger holds (0 for an unknown log).
    pub fn size(&self, log: &MemberId) -> u64 {
        self.logs.get(log).map_or(0, |l| l.entries.len() as u64)
    }

    /// The logs the ledger holds, in order.
    pub fn logs(&self) -> impl Iterator<Item = &MemberId> {
        self.logs.keys()
    }

    /// Appends the entry at `index` of `log`. The index must be the log's current size; an
    /// entry that is not a valid record is kept and reported by the audit, not refused.
    pub fn append(&mut self, log: &MemberId, index: u64, entry: &[u8]) -> Result<(), AuditError> {
        self.expect_next(log, index)?;
        let target = self.logs.entry(log.clone()).or_default();
        let checked = check_entry(log, index, entry, target.keys.as_ref(), self.verify);
        target.apply(checked);
        Ok(())
    }

    /// Appends `entries` of `log` starting at `first_index` (which must be the log's current
    /// size). Entries are parsed and checked in parallel on all cores while this thread
    /// applies the checked ones in order; the result is the same as appending them one by one.
    pub fn extend<E: AsRef<[u8]> + Sync>(
        &mut self,
        log: &MemberId,
        first_index: u64,
        entries: &[E],
    ) -> Result<(), AuditError> {
        self.expect_next(log, first_index)?;
        let verify = self.verify;
        let target = self.logs.entry(log.clone()).or_default();
        target.extend_pipelined(log, entries, verify, cores());
        Ok(())
    }

    /// Appends new entries of several logs at once, each batch starting at its log's current
    /// size; nothing is appended unless every batch is in order. The result is the same as
    /// [`Ledger::extend`] of each batch in turn.
    ///
    /// Logs are independent until the audit, so each core takes whole logs: it parses an
    /// entry and applies it to its log's state at once, while the entry is still in its
    /// cache, with no hand-over between threads. A batch holding more than half of all the
    /// entries would keep one core busy alone, so it goes first, split across all cores as
    /// [`Ledger::extend`] does.
    pub fn extend_logs<E: AsRef<[u8]> + Sync>(
        &mut self,
        batches: &[LogEntries<'_, E>],
    ) -> Result<(), AuditError> {
        let mut by_log: BTreeMap<&MemberId, &[E]> = BTreeMap::new();
        for batch in batches {
            if by_log.insert(batch.log, batch.entries).is_some() {
                // The same log twice: each batch must start where the one before ended, which
                // only appending them in turn can check.
                for batch in batches {
                    self.extend(batch.log, batch.first_index, batch.entries)?;
                }
                return Ok(());
            }
        }
        for batch in batches {
            self.expect_next(batch.log, batch.first_index)?;
        }
        for batch in batches {
            self.logs.entry(batch.log.clone()).or_default();
        }
        let verify = self.verify;
        let threads = cores();
        let total: usize = batches.iter().map(|b| b.entries.len()).sum();
        // Largest first, so that the last log to finish is a small one.
        let mut jobs: Vec<(&MemberId, &mut Log, &[E])> = self
            .logs
            .iter_mut()
            .filter_map(|(id, log)| by_log.get(id).map(|entries| (id, log, *entries)))
            .collect();
        jobs.sort_by_key(|(_, _, entries)| std::cmp::Reverse(entries.len()));
        if threads <= 1 || jobs.len() <= 1 || jobs[0].2.len() * 2 > total {
            let mut rest = jobs.into_iter();
            if let Some((id, log, entries)) = rest.next() {
                log.extend_pipelined(id, entries, verify, threads);
            }
            jobs = rest.collect();
        }
        map_in_order(jobs, |(id, log, entries)| {
            log.extend_serial(id, entries, verify)
        });
        Ok(())
    }

    /// Records evidence that `log` equivocated. The caller has verified it against the log's
    /// key ([`Evidence::verify`]); the audit reports it as a red `log_integrity` finding.
    /// Adding the same evidence twice keeps one copy.
    pub fn add_evidence(&mut self, log: &MemberId, evidence: &Evidence) {
        self.logs
            .entry(log.clone())
            .or_default()
            .evidence
            .insert(evidence.id(), evidence.clone());
    }

    fn expect_next(&self, log: &MemberId, index: u64) -> Result<(), AuditError> {
        let expected = self.size(log);
        if index == expected {
            Ok(())
        } else {
            Err(AuditError::OutOfOrder {
                log: log.clone(),
                expected,
                got: index,
            })
        }
    }
}

impl Log {
    /// Checks and applies `entries` in order on this thread.
    fn extend_serial<E: AsRef<[u8]>>(&mut self, id: &MemberId, entries: &[E], verify: bool) {
        self.reserve(entries.len());
        for entry in entries {
            let index = self.entries.len() as u64;
            let checked = check_entry(id, index, entry.as_ref(), self.keys.as_ref(), verify);
            self.apply(checked);
        }
    }

    /// Checks `entries` on `threads` worker threads, a chunk at a time, while this thread
    /// applies the checked chunks in order.
    fn extend_pipelined<E: AsRef<[u8]> + Sync>(
        &mut self,
        id: &MemberId,
        entries: &[E],
        verify: bool,
        threads: usize,
    ) {
        if threads <= 1 || entries.len() < 2 * EXTEND_CHUNK {
            return self.extend_serial(id, entries, verify);
        }
        self.reserve(entries.len());
        let keys = self.keys.clone();
        let start = self.entries.len() as u64;
        let check = |index: u64, e: &E| check_entry(id, index, e.as_ref(), keys.as_ref(), verify);
        // Workers take chunks in turn and send each back checked; this thread applies them in
        // chunk order, holding any that arrive early. Parsing dominates, so applying overlaps
        // with it instead of following it.
        let chunks: Vec<&[E]> = entries.chunks(EXTEND_CHUNK).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (done, arrivals) = std::sync::mpsc::channel::<(usize, Vec<Checked>)>();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let (next, chunks, check, done) = (&next, &chunks, &check, done.clone());
                scope.spawn(move || {
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(chunk) = chunks.get(k) else { break };
                        let first = start + (k * EXTEND_CHUNK) as u64;
                        let checked = chunk
                            .iter()
                            .enumerate()
                            .map(|(j, e)| check(first + j as u64, e))
                            .collect();
                        if done.send((k, checked)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(done);
            let mut early: BTreeMap<usize, Vec<Checked>> = BTreeMap::new();
            let mut wanted = 0;
            // Ends when every worker has finished (or panicked: the scope re-raises it).
            for (k, checked) in arrivals.iter() {
                early.insert(k, checked);
                while let Some(checked) = early.remove(&wanted) {
                    for one in checked {
                        self.apply(one);
                    }
                    wanted += 1;
                }
            }
        });
    }

    /// Makes room for `more` entries.
    fn reserve(&mut self, more: usize) {
        self.entries.reserve(more);
        self.state.reserve(more);
    }

    fn apply(&mut self, checked: Checked) {
        let index = self.entries.len() as u64;
        let entry = match checked {
            Checked::Valid {
                record,
                leaf,
                attestations,
                revoked,
            } => {
                self.revoked_uses.extend(
                    revoked
                        .into_iter()
                        .map(|revocation| RevokedUse { index, revocation }),
                );
                let entry = Entry::Valid {
                    leaf,
                    kind: record.body.kind(),
                    rid: record.rid.clone(),
                    event_date: record.event_date,
                    attestations,
                };
                self.state.apply_record(index, record, leaf);
                entry
            }
            Checked::Invalid { leaf, problem } => Entry::Invalid { leaf, problem },
        };
        self.entries.push(entry);
    }
}
