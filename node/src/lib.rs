//! # daylight-node
//!
//! The node an agency or auditor runs: it publishes its member's log, mirrors and witnesses
//! every other member's, serves all of them over HTTP (and optionally as a static copy), and
//! notices and repairs damage. `docs/architecture.md` draws the same map as a picture.
//!
//! ## Modules, by job
//!
//! Writing the member's own log:
//! * [`publish`] — [`publish::submit`] checks submitted records (schema, signatures, privacy,
//!   references) before they reach [`publish::sequencer`], the single writer thread: it
//!   batches, has its [`publish::log_writer`] sign and commit each batch durably, then
//!   acknowledges, and waits out storage faults.
//!
//! The network definition:
//! * [`genesis`] — the genesis chain (DESIGN §6b): one live, swappable chain
//!   ([`genesis::LiveGenesis`]) every part of the node reads; stored beside the database,
//!   served and accepted at `/v1/genesis`, gossiped, and applied while the node runs
//!   ([`genesis::Follower`]: new logs held, witness and submission keys, members dialled).
//! * [`rotate`] — `daylight-node rotate-key`: a new log, witness or p2p key installed on a
//!   stopped node once a genesis version names it.
//!
//! Holding and checking what is stored:
//! * [`store`] — the redb database, one submodule per kind of row: [`store::log`] (entries,
//!   hashes, checkpoints, the one write path), [`store::blobs`] (complete bundles and hash
//!   tiles stored whole; the hashes inside a complete tile are kept only there, see
//!   `store/tree.rs`), [`store::index`] (rid, leaf and correction
//!   rows), [`store::witness`], [`store::evidence`].
//! * [`held`] — [`held::HeldLogs`], the one list of the logs this node holds, looked up by
//!   origin, member or storage number; a new genesis version adds or replaces entries, never
//!   removes one.
//! * [`integrity`] — checks on read, the background scrub, and repair from peers (DESIGN §5.5).
//! * [`health`] — what is wrong right now (`/healthz`, `/metrics`), and warnings.
//! * [`liveness`] — warns when no peer is connected or the own checkpoint lacks its quorum,
//!   naming the likely cause.
//!
//! Talking to other nodes:
//! * [`network`] — one task owns the libp2p swarm (gossip, the sync protocol, dialling, ping);
//!   the rest of the node drives it through a cloneable handle.
//! * [`mirror`] — gossip validation, catch-up of other members' logs, witnessing, evidence,
//!   and serving sync requests.
//! * [`witness`] — the tlog-witness: cosigns a checkpoint only if it extends what it cosigned
//!   before.
//!
//! Serving readers:
//! * [`serve`] — the HTTP server itself: connection cap, timeouts, submission budget, JSON
//!   errors for everything the framework answers.
//! * [`http`] — the API's routes: tiles, proofs, receipts, records, submission, information,
//!   and the citizens' portal (`http::portal`: its pages and assets, built into the binary
//!   from [`portal`], at `/`). Bodies are the typed structs of the `daylight-api` crate.
//! * [`query`] — the query index (`query.redb`, derived, rebuilt when missing or damaged) and
//!   its indexer task: the current state of every held record by log, kind, programme,
//!   payee, area and date, and one feed of new entries and evidence across the held logs.
//! * [`static_copy`] — every held log published as tlog-tiles to a directory or an
//!   S3-compatible bucket (DESIGN §5.6).
//! * [`auditor`] — on an auditor's node: audits every held log and publishes findings.
//!
//! Running it:
//! * [`config`] — `node.toml` and `init`.
//! * [`node`] — starts the pieces in order and stops them in order.
//! * [`shutdown`] — the one cancellation token and task tracker every long-running task
//!   stops by.
//! * [`clock`] — the one clock: today's date and the current instant.
//! * [`memory`] — how the process takes memory from the kernel (no transparent huge pages).
//!
//! The local demo network (`daylight-node demo`) is part of the binary, not of this library.
//!
//! ## The write path
//!
//! `serve` admits the body within its memory budget → `http::write` → `submit` validates →
//! `sequencer` appends to its frontier, signs the checkpoint and commits entries, hashes,
//! index rows and checkpoint in one durable transaction (`store::log::write_batch`) → only
//! then answers 201 and publishes the new head → `mirror` gossips it; witnesses cosign it.
//!
//! ## The mirror path
//!
//! `network` delivers a gossiped checkpoint → `mirror::gossip` verifies the log's signature
//! (a bad one lowers the sender's score), collects cosignatures and turns a conflicting root
//! into evidence → `mirror::catch_up` fetches the missing entries in chunks, each with a
//! consistency proof to the signed target, and commits only verified chunks → if this node
//! witnesses that log, `mirror::witnessing` cosigns the new head through [`witness`].
//!
//! ## Where each invariant is kept
//!
//! | invariant | kept in |
//! |---|---|
//! | nothing acknowledged before durable | [`publish::sequencer`] answers only with what [`publish::log_writer`] returns after the commit |
//! | one checkpoint per size; checkpoints only over durable entries | [`publish::log_writer`], and `store::log::write_batch` refuses a second checkpoint for a size |
//! | a log is only extended: a batch starts at the durable size | `store::log::write_batch`, in the commit's transaction |
//! | a rid is never reused in a publisher's log | `store::index::index_batch`, in the same transaction |
//! | a witness never cosigns two histories | [`witness`], by compare-and-swap in [`store::witness`] |
//! | only verified entries are mirrored | `mirror::catch_up` (`verify_chunk`) |
//! | nothing served that does not lead to a signed root | [`integrity`], called by every read in [`http`] and [`static_copy`] |
//! | tiles before the checkpoint that covers them; only the checkpoint is overwritten | [`static_copy`] |
//! | a storage engine panic never crashes a worker | [`store::Store`] (`guarded`) |
//! | storage work never runs on an async worker | `http::on_blocking_pool`, `mirror::Replication::stored`, `spawn_blocking` elsewhere |
//! | connections stay under the cap; a request in flight is never shed | [`serve`] |
//! | the query index is derived: rebuilt from the logs, never migrated; feed numbers are gap-free | [`query`] (`QueryIndex::open`, one transaction per batch) |
//! | logs held are only added or replaced, references to them stay valid | [`held::HeldLogs`] (`update`) |
//! | a genesis version is applied only once verified against the chain held and stored durably | [`genesis::LiveGenesis::offer`] |
pub mod auditor;
pub mod clock;
pub mod config;
pub mod genesis;
pub mod health;
pub mod held;
pub mod http;
pub mod integrity;
pub mod liveness;
pub mod memory;
pub mod mirror;
pub mod network;
pub mod node;
pub mod publish;
pub mod query;
pub mod rotate;
pub mod serve;
pub mod shutdown;
pub mod static_copy;
pub mod store;
pub mod witness;

/// The citizens' portal the node serves (the `daylight-portal` crate): its files, and the
/// standalone household receipt file, for tools and tests built on the node.
pub use daylight_portal as portal;
