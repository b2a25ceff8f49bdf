//! The current state of a log's records, derived from immutable entries by following
//! corrections and voids (as OCDS compiles a release from its releases).
//!
//! A correction or void pins the version it changes by leaf hash. Only a pin of the *current*
//! version applies; anything else (an old version, an unknown rid, a voided record, a change
//! of kind, a duplicate rid) is kept out of the state and reported as a [`StateIssue`], for the
//! audit rule "corrections of non-current versions" (DESIGN §8).

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::envelope::{Record, Replacement, SignedRecord};
use super::error::RecordError;
use super::model::{Body, Kind};
use super::types::{Rid, Text};
use crate::hash::Hash;

/// One version of a record: the entry that made it current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The log index of the entry.
    pub index: u64,
    /// Its leaf hash.
    pub leaf: Hash,
    /// The rid of the correction or void that made it, `None` for the original record.
    pub by: Option<Rid>,
}

/// Whether a record still stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// In force, with its latest content.
    Active,
    /// Withdrawn by a void.
    Voided {
        /// The void's reason.
        reason: Text,
    },
}

/// The effective state of one rid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RidState {
    /// The record id.
    pub rid: Rid,
    /// Active or voided.
    pub status: Status,
    /// The current content: the original's, or the latest applied correction's replacement.
    pub content: Replacement,
    /// Every version in log order; the last is current, and its leaf is the one the next
    /// correction or void must pin.
    pub versions: Vec<Version>,
}

impl RidState {
    /// The leaf hash a correction or void must pin now.
    pub fn current_leaf(&self) -> Hash {
        // A state is created with one version and only ever gains more.
        self.versions.last().map(|v| v.leaf).unwrap_or_default()
    }

    /// The record's kind (never changed by corrections).
    pub fn kind(&self) -> Kind {
        self.content.body.kind()
    }
}

/// What was wrong with a correction, a void or a rid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateProblem {
    /// The rid was already used earlier in the log; the later record is ignored.
    #[error("rid already used by the entry at index {first_index}: rids are never reused")]
    DuplicateRid {
        /// Where the rid first appeared.
        first_index: u64,
    },
    /// The target rid does not appear earlier in the log.
    #[error("{target} does not appear earlier in this log")]
    UnknownTarget {
        /// The rid named.
        target: Rid,
    },
    /// The pinned leaf is not the target's current version.
    #[error(
        "pins version {pinned} of {target}, but its current version is {current}: not applied; re-issue against the current version"
    )]
    NotCurrent {
        /// The rid named.
        target: Rid,
        /// The leaf pinned.
        pinned: Hash,
        /// The leaf of the current version.
        current: Hash,
    },
    /// The target has been voided.
    #[error("{target} has been voided: a voided record cannot be corrected or voided again")]
    AlreadyVoided {
        /// The rid named.
        target: Rid,
    },
    /// The target is itself a correction or void.
    #[error("{target} is a {kind}: correct or void the original record instead")]
    NotFactual {
        /// The rid named.
        target: Rid,
        /// Its kind.
        kind: Kind,
    },
    /// The replacement changes the record's kind.
    #[error(
        "replacement is a {replacement} but {target} is a {original}: void it and publish a new record instead"
    )]
    KindChange {
        /// The rid named.
        target: Rid,
        /// The original kind.
        original: Kind,
        /// The replacement's kind.
        replacement: Kind,
    },
}

/// A problem found while deriving the state, at one entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {index} ({rid}): {problem}")]
pub struct StateIssue {
    /// The log index of the entry.
    pub index: u64,
    /// The entry's rid.
    pub rid: Rid,
    /// What was wrong.
    pub problem: StateProblem,
}

/// The state of a log's records after applying its entries in order.
///
/// Invariant: `states` holds one state per rid, in the order the rids first appear in the
/// log, and `by_rid` holds exactly the positions `0..states.len()`, each filed under the hash
/// of its state's rid. Each rid is stored once, in its state; a lookup costs one hash instead
/// of a walk down a tree comparing strings, which was the serial bottleneck of replaying a
/// million-entry log.
#[derive(Debug, Clone, Default)]
pub struct LogState {
    states: Vec<RidState>,
    by_rid: HashTable<usize>,
    hasher: foldhash::fast::RandomState,
    issues: Vec<StateIssue>,
}

impl LogState {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a log's entry bytes in order, from index 0. Fails on the first entry that is
    /// not a canonical record, with its index.
    pub fn from_entries<E: AsRef<[u8]>>(entries: &[E]) -> Result<LogState, (u64, RecordError)> {
        let mut state = LogState::new();
        for (i, entry) in entries.iter().enumerate() {
            let bytes = entry.as_ref();
            let index = i as u64;
            let record = SignedRecord::from_entry(bytes).map_err(|e| (index, e))?;
            state.apply(index, &record, crate::merkle::leaf_hash(bytes));
        }
        Ok(state)
    }

    /// Applies the entry at `index` with leaf hash `leaf`. Entries must come in log order.
    pub fn apply(&mut self, index: u64, record: &SignedRecord, leaf: Hash) {
        self.apply_record(index, record.record.clone(), leaf);
    }

    /// [`LogState::apply`] taking the record by value: its content moves into the state
    /// without a copy. The signatures play no part in the state.
    pub fn apply_record(&mut self, index: u64, record: Record, leaf: Hash) {
        if let Some(first) = self.get(&record.rid) {
            let first_index = first.versions.first().map(|v| v.index).unwrap_or_default();
            self.issue(
                index,
                &record.rid,
                StateProblem::DuplicateRid { first_index },
            );
            return;
        }
        let Record {
            rid,
            event_date,
            program,
            body,
        } = record;
        // A correction or void also keeps its own content (it may become its target's next
        // version); a factual record's content just moves into the state.
        let own = matches!(body, Body::Correction(_) | Body::Void(_))
            .then(|| (body.clone(), rid.clone()));
        self.insert(RidState {
            rid,
            status: Status::Active,
            content: Replacement {
                event_date,
                program,
                body,
            },
            versions: vec![Version {
                index,
                leaf,
                by: None,
            }],
        });
        let Some((body, rid)) = own else {
            return;
        };
        let (pin, change) = match &body {
            Body::Correction(c) => (&c.corrects, Some(&c.replacement)),
            Body::Void(v) => (&v.voids, None),
            _ => return,
        };
        let target = &pin.rid;
        let problem = match self.get(target) {
            None => Some(StateProblem::UnknownTarget {
                target: target.clone(),
            }),
            Some(t) if !t.kind().is_factual() => Some(StateProblem::NotFactual {
                target: target.clone(),
                kind: t.kind(),
            }),
            Some(t) if matches!(t.status, Status::Voided { .. }) => {
                Some(StateProblem::AlreadyVoided {
                    target: target.clone(),
                })
            }
            Some(t) if t.current_leaf() != pin.leaf.0 => Some(StateProblem::NotCurrent {
                target: target.clone(),
                pinned: pin.leaf.0,
                current: t.current_leaf(),
            }),
            Some(t) => {
                change
                    .filter(|c| c.body.kind() != t.kind())
                    .map(|c| StateProblem::KindChange {
                        target: target.clone(),
                        original: t.kind(),
                        replacement: c.body.kind(),
                    })
            }
        };
        if let Some(problem) = problem {
            self.issue(index, &rid, problem);
            return;
        }
        if let Some(t) = self.position(target.as_str()).map(|i| &mut self.states[i]) {
            t.versions.push(Version {
                index,
                leaf,
                by: Some(rid.clone()),
            });
            match (&body, change) {
                (_, Some(replacement)) => t.content = replacement.clone(),
                (Body::Void(v), None) => {
                    t.status = Status::Voided {
                        reason: v.reason.clone(),
                    }
                }
                _ => {}
            }
        }
    }

    fn issue(&mut self, index: u64, rid: &Rid, problem: StateProblem) {
        self.issues.push(StateIssue {
            index,
            rid: rid.clone(),
            problem,
        });
    }

    /// The state of `rid`, if it appears in the log.
    pub fn get(&self, rid: &Rid) -> Option<&RidState> {
        self.position(rid.as_str()).map(|i| &self.states[i])
    }

    /// Where the state of `rid` is in [`LogState::iter`] order, if the rid is known.
    pub fn position(&self, rid: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(rid);
        self.by_rid
            .find(hash, |&i| self.states[i].rid.as_str() == rid)
            .copied()
    }

    /// The state at `position` in [`LogState::iter`] order.
    pub fn at(&self, position: usize) -> Option<&RidState> {
        self.states.get(position)
    }

    /// Adds the state of a rid not seen before.
    fn insert(&mut self, state: RidState) {
        let hash = self.hasher.hash_one(state.rid.as_str());
        self.states.push(state);
        let (states, hasher) = (&self.states, &self.hasher);
        self.by_rid.insert_unique(hash, states.len() - 1, |&i| {
            hasher.hash_one(states[i].rid.as_str())
        });
    }

    /// Makes room for `additional` more rids, so that replaying a known number of entries
    /// does not copy the states over and over as the log grows.
    pub fn reserve(&mut self, additional: usize) {
        self.states.reserve(additional);
        let (states, hasher) = (&self.states, &self.hasher);
        self.by_rid
            .reserve(additional, |&i| hasher.hash_one(states[i].rid.as_str()));
    }

    /// How many rids the log has used.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// Whether the log has no records yet.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Every rid's state, in the order the rids first appear in the log.
    pub fn iter(&self) -> impl Iterator<Item = &RidState> {
        self.states.iter()
    }

    /// The factual records still in force, with their current content.
    pub fn active(&self) -> impl Iterator<Item = &RidState> {
        self.states
            .iter()
            .filter(|s| s.status == Status::Active && s.kind().is_factual())
    }

    /// The problems found, in log order.
    pub fn issues(&self) -> &[StateIssue] {
        &self.issues
    }
}
