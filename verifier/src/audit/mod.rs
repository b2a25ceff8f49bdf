//! The deterministic audit engine (DESIGN §8): replay many logs, apply every audit rule, and
//! report findings, traffic lights and fund flows.
//!
//! * [`params`] — [`AuditParams`], the thresholds fixed by the genesis.
//! * [`ledger`] — [`Ledger`]: entries of many logs, parsed once, append-only (an auditor
//!   node feeds it as its mirrors grow, several logs at once with [`Ledger::extend_logs`]).
//!   Entries that are not valid records and evidence of equivocation are kept and reported,
//!   never refused. Signatures are not Ed25519-verified
//!   by default (the publishing node did; see [`Ledger::verify_signatures`]).
//! * `view` — the indexes of one audit run: records in force at their current version (after
//!   corrections and voids; voided records do not count), by (log, rid), and the draws on
//!   each fund. Linear in the number of records.
//! * `parallel` — the one way work is spread over the cores: results in input order, so
//!   the split never shows in the report.
//! * `rules` — one small function per rule; [`Rule`] names them. The semantics of each are
//!   in `docs/audit.md`.
//! * [`finding`] — [`AuditFinding`], its stable key, [`finding_rid`], the `finding` record
//!   it becomes, and the linkage to published findings and rectifications ([`Answer`]).
//! * [`report`] — [`AuditReport`] with [`Light`]s per member and programme, log summaries and
//!   fund flows; [`AuditReport::to_json`], [`AuditReport::render_text`] and
//!   [`AuditReport::render_html`] (a self-contained page, everything escaped).
//!
//! Determinism: the same ledger, parameters and `as_of` date give byte-identical JSON, in
//! whatever order logs were fed and whether by `append`, `extend` or `extend_logs`. Nothing here reads the
//! clock; "now" is the `as_of` argument, and the only clock inside a log is its order.
//!
//! ```
//! use daylight_verifier::audit::{AuditParams, Ledger};
//! use daylight_verifier::record::{Date, MemberId};
//!
//! let mut ledger = Ledger::new();
//! let log = MemberId::parse("county-1").unwrap();
//! ledger.append(&log, 0, b"not a record").unwrap();
//! let report = ledger.audit(&AuditParams::default(), Date::parse("2024-06-30").unwrap());
//! assert_eq!(report.findings[0].rule.code(), "log_integrity");
//! assert!(!report.findings[0].publishable()); // no valid record to pin as its subject
//! ```

mod error;
pub mod finding;
mod html;
pub mod ledger;
mod parallel;
pub mod params;
pub mod report;
mod rules;
mod text;
mod view;

pub use error::AuditError;
pub use finding::{Answer, AuditFinding, FINDING_KEY_TAG, Rule, finding_key, finding_rid};
pub use ledger::{Ledger, LogEntries};
pub use params::AuditParams;
pub use report::{
    AuditReport, Counts, Flow, FlowDraw, Light, LogSummary, MemberLight, ProgramLight,
};
