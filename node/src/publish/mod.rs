//! Writing the member's own log: [`submit`] checks each submitted record (schema, signatures
//! by keys the genesis accepts, the privacy guard, references), then the [`sequencer`]'s one
//! thread batches what was checked and hands each batch to its [`log_writer`], which signs
//! the new checkpoint, commits everything durably in one transaction and only then lets the
//! sequencer acknowledge.

pub mod log_writer;
pub mod sequencer;
pub mod submit;
