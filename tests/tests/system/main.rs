//! The system tests: real node processes, the real `daylight` binary, real browsers, nginx,
//! Garage and the Go reference, one module per capability.
//!
//! They are one test binary rather than one per file: each binary links the whole node (about
//! 90 MB unoptimised), and thirty of them filled the disk of a CI machine and spent minutes
//! linking. Run one part with its module name as the filter, for example
//! `cargo test -p daylight-tests --test system portal::`. The abuse tests, which measure
//! latency and memory under attack, stay in their own binary (`--test abuse`) so that no other
//! test shares the machine with them.
//!
//! Map:
//! - the network and its roles: [`network`], [`auditor`], [`bad_peers`], [`partition`],
//!   [`resume`], [`references`], [`publisher_node`];
//! - faults and damage: [`crash_safety`], [`damage`], [`disk_full`];
//! - the genesis, setup and lifecycle: [`setup`], [`genesis_chain`], [`lifecycle`],
//!   [`operations`] (docs/operations.md run as written);
//! - static publication: [`static_copy`] (nginx and the Go reference), [`static_s3`] (Garage);
//! - interoperability: [`go_interop`], [`wasm_vectors`];
//! - the command line: [`cli`], [`cli_genesis`], [`cli_static`], [`demo`];
//! - data for journalists: [`query`], [`export`];
//! - clerks' tools: [`clerk`], [`import`];
//! - the citizens' portal in a real browser: [`portal`].

mod auditor;
mod bad_peers;
mod clerk;
mod cli;
mod cli_genesis;
mod cli_static;
mod crash_safety;
mod damage;
mod demo;
mod disk_full;
mod export;
mod genesis_chain;
mod go_interop;
mod import;
mod lifecycle;
mod network;
mod operations;
mod partition;
mod portal;
mod publisher_node;
mod query;
mod references;
mod resume;
mod setup;
mod static_copy;
mod static_s3;
mod wasm_vectors;
