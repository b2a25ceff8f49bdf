//! # daylight-node
//!
//! The node an agency or auditor runs.
//!
//! * [`clock`] — today's date and the current instant, in record types.
//! * [`config`] — the configuration file and `init`.
//! * [`demo`] — `daylight-node demo`: a city, two counties and an auditor on one machine.
//! * [`http`] — the HTTP API: tlog-tiles, proofs, receipts, records, metrics.
//! * [`node`] — starting the pieces together, and graceful shutdown.
//! * [`shutdown`] — waiting for Ctrl-C or SIGTERM.
//! * [`sequencer`] — the single writer: batches, signs, commits, then acknowledges.
//! * [`storage`] — the redb database: entries, stored hashes, checkpoints, indexes.
//! * [`submit`] — checks submitted records before they reach the sequencer.
pub mod clock;
pub mod config;
pub mod demo;
pub mod http;
pub mod node;
pub mod p2p;
pub mod replication;
pub mod sequencer;
pub mod shutdown;
pub mod storage;
pub mod submit;
pub mod witness;
