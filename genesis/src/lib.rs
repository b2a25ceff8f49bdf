//! # daylight-genesis
//!
//! The network definition (DESIGN §6): who the members of a daylight network are, which keys
//! speak for each, how to reach them, who witnesses whose log and how many cosignatures a
//! citizen requires, and the audit parameters every auditor applies. It is the one file a
//! citizen pins; everything else is checked against it.
//!
//! A genesis file is a C2SP signed note whose text is the definition in TOML (format in
//! `docs/genesis.md`) and whose signatures are the founders' log keys. Its id is the lowercase
//! hex SHA-256 of the text.
//!
//! The life of a genesis:
//!
//! 1. [`GenesisBuilder`]: a draft, assembled member by member, written and read as text.
//! 2. [`GenesisBuilder::sign`] validates it into a [`Definition`] and starts a
//!    [`SignedGenesis`], which each other founder parses and signs in turn.
//! 3. [`Genesis::open`] parses, validates and checks every founder signed: a trusted
//!    [`Genesis`], from which [`Genesis::policy_for`] gives the verifier's trust policy per log.
//!
//! A network changes over the years (DESIGN §6b), so the genesis is a chain of versions:
//!
//! 4. [`GenesisBuilder::next_version`] drafts version k+1 from version k; its edits retire
//!    members, rotate keys and revoke keys with the points from which the change applies.
//! 5. [`SignedGenesis::sign_next`] collects the signatures of enough of version k's founders
//!    (with the log keys version k lists) and of every key the new version introduces.
//! 6. [`GenesisChain::extend`] verifies version k+1 against version k; [`GenesisChain::follow`]
//!    follows a served chain from a pinned version; [`GenesisChain::to_json`] and
//!    [`GenesisChain::from_json`] are the form nodes serve. The network id (gossip topics, data
//!    directories) stays version 1's id. The latest version's [`Genesis::policy_for`] and
//!    [`Genesis::accepted_keys`] verify the whole history of every log.
//!
//! Modules: `builder` (drafts), `amend` (drafting and signing later versions), `raw` (the
//! TOML as written), `validate` (raw to [`Definition`]: the network rules) and `lifecycle`
//! (the version and history fields of one version), `definition` and `member` (the checked
//! network), `audit` (audit parameters), `emit` (definition to canonical text), `signed`
//! (signatures and [`Genesis`]), `link` (the rules between two versions), `chain`
//! ([`GenesisChain`]), `json` (the JSON chain), [`names`] (keys, origins and topics derived
//! from names), `error`.
//!
//! Role rules: a city has no parent; a county's parent is a city; an auditor's parent, if any,
//! is a city or a county. Founders: every member that is not retired, unless `founders` lists
//! some explicitly.

#![deny(missing_docs)]

mod amend;
mod audit;
mod builder;
mod chain;
mod definition;
mod emit;
mod error;
mod json;
mod lifecycle;
mod link;
mod member;
pub mod names;
mod raw;
mod signed;
mod validate;

pub use amend::PROOF_TIMESTAMP;
pub use audit::{AuditParams, AuditParamsExt, MAX_DAYS};
pub use builder::GenesisBuilder;
pub use chain::GenesisChain;
pub use definition::Definition;
pub use emit::FORMAT_VERSION;
pub use error::GenesisError;
pub use json::MAX_CHAIN_BYTES;
pub use link::{NewKey, NextSignatures};
pub use member::{
    Attestor, Member, PreviousLogKey, PreviousWitnessKey, Retirement, RevokedKey, Role,
};
pub use signed::{Genesis, MAX_GENESIS_BYTES, SignedGenesis};
