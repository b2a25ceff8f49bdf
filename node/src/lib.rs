//! # daylight-node
//!
//! The node an agency or auditor runs.
//!
//! * [`auditor`] — the auditor role: audits every held log, publishes findings once.
//! * [`clock`] — today's date and the current instant, in record types.
//! * [`config`] — the configuration file and `init`.
//! * [`demo`] — `daylight-node demo`: a city, two counties and an auditor on one machine.
//! * [`health`] — what is wrong right now (`/healthz`, `/metrics`): damage, failing writes.
//! * [`http`] — the HTTP API: tlog-tiles, proofs, receipts, records, metrics.
//! * [`integrity`] — checks on read, the background scrub, and repair from peers (§5.5).
//! * [`node`] — starting the pieces together, and graceful shutdown.
//! * [`p2p`] — the libp2p swarm task (gossip, sync protocol, dialling, ping) and its client.
//! * [`replication`] — gossip validation, mirroring and catch-up, cosigning, evidence, and
//!   serving sync requests.
//! * [`serve`] — the HTTP server: connection cap, timeouts, submission limits, JSON errors.
//! * [`shutdown`] — waiting for Ctrl-C or SIGTERM, and the one token that stops every task.
//! * [`static_copy`] — static publication (§5.6): every held log copied as tlog-tiles to a
//!   directory (or object store), tiles before the checkpoint that covers them.
//! * [`sequencer`] — the single writer: batches, signs, commits, then acknowledges.
//! * [`storage`] — the redb database: entries, stored hashes, checkpoints, indexes.
//! * [`submit`] — checks submitted records before they reach the sequencer.
//! * [`witness`] — the tlog-witness: cosigns checkpoints that extend what it saw, with its
//!   state updated by compare-and-swap.
pub mod auditor;
pub mod clock;
pub mod config;
pub mod demo;
pub mod health;
pub mod http;
pub mod integrity;
pub mod node;
pub mod p2p;
pub mod replication;
pub mod sequencer;
pub mod serve;
pub mod shutdown;
pub mod static_copy;
pub mod storage;
pub mod submit;
pub mod witness;
