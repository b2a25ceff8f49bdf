//! # daylight-node
//!
//! The node an agency or auditor runs.
//!
//! * [`config`] — the configuration file and `init`.
//! * [`http`] — the HTTP API: tlog-tiles, proofs, receipts, records, metrics.
//! * [`node`] — starting the pieces together, and graceful shutdown.
//! * [`sequencer`] — the single writer: batches, signs, commits, then acknowledges.
//! * [`storage`] — the redb database: entries, stored hashes, checkpoints, indexes.
//! * [`submit`] — checks submitted records before they reach the sequencer.
pub mod config;
pub mod http;
pub mod node;
pub mod p2p;
pub mod replication;
pub mod sequencer;
pub mod storage;
pub mod submit;
pub mod witness;
