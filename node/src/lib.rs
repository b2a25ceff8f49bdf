//! # daylight-node
//!
//! The node an agency or auditor runs.
//!
//! * [`sequencer`] — the single writer: batches, signs, commits, then acknowledges.
//! * [`storage`] — the redb database: entries, stored hashes, checkpoints, indexes.
pub mod sequencer;
pub mod storage;
