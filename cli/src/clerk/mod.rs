//! The clerks' tools (DESIGN §7b): programme keys, household records made locally,
//! attestations and operator signatures added to record files, and sheet import.

pub mod attest;
pub mod files;
pub mod household;
pub mod import;
pub mod programme_key;
pub mod values;

use std::path::PathBuf;

use clap::Subcommand;

use crate::error::CliError;
use crate::output::Report;

/// `daylight programme-key ...`.
#[derive(Subcommand, Debug)]
pub enum ProgrammeKeyCommand {
    /// Creates a programme's secret key for household pseudonyms (mode 0600, never
    /// overwritten) and shows its fingerprint.
    New {
        /// The programme id, e.g. rural-revitalisation-2024: the `program` of the records.
        #[arg(long)]
        program: String,
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Shows a programme key's programme and fingerprint (never the key).
    Show {
        /// The key file.
        file: PathBuf,
    },
}

/// Runs `daylight programme-key`.
pub fn programme_key(command: ProgrammeKeyCommand) -> Result<Report, CliError> {
    match command {
        ProgrammeKeyCommand::New { program, out } => programme_key::new(&program, &out),
        ProgrammeKeyCommand::Show { file } => programme_key::show(&file),
    }
}
