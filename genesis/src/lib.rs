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
//! Modules: `builder` (drafts), `raw` (the TOML as written), `validate` (raw to
//! [`Definition`]), `definition` and `member` (the checked network), `audit` (audit
//! parameters), `emit` (definition to canonical text), `signed` (signatures and
//! [`Genesis`]), [`names`] (keys, origins and topics derived from names), `error`.
//!
//! Role rules: a city has no parent; a county's parent is a city; an auditor's parent, if any,
//! is a city or a county. Founders: every member, unless `founders` lists some explicitly.

#![deny(missing_docs)]

mod audit;
mod builder;
mod definition;
mod emit;
mod error;
mod member;
pub mod names;
mod raw;
mod signed;
mod validate;

pub use audit::{AuditParams, AuditParamsExt, MAX_DAYS};
pub use builder::GenesisBuilder;
pub use definition::Definition;
pub use emit::FORMAT_VERSION;
pub use error::GenesisError;
pub use member::{Attestor, Member, Role};
pub use signed::{Genesis, MAX_GENESIS_BYTES, SignedGenesis};
