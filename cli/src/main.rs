//! The `daylight` command line: what citizens, journalists, auditors and agency clerks run.
//!
//! Exit codes (DESIGN §7): 0 verified or done, 1 verification failed, 2 bad input or usage,
//! 3 network unreachable.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use daylight_verifier::{KeyType, SigningKey};

/// Verify that public-money records were published, never altered, and where the money went.
#[derive(Parser, Debug)]
#[command(name = "daylight", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generates a new Ed25519 key, writes the private key to a file readable only by you,
    /// and prints the public verifier key (vkey) to publish.
    Keygen {
        /// Key name, e.g. `demo.daylight/county-320206` for a log key.
        #[arg(long)]
        name: String,
        /// What the key signs.
        #[arg(long, value_enum, default_value_t = Kind::Log)]
        kind: Kind,
        /// Where to write the private key; refuses to overwrite an existing file.
        #[arg(long)]
        out: PathBuf,
    },
}

/// The signature type of a new key.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Kind {
    /// Signs notes: log checkpoints, genesis files, records (type 0x01).
    Log,
    /// Cosigns other logs' checkpoints as a witness (type 0x04).
    Witness,
}

fn keygen(name: &str, kind: Kind, out: &PathBuf) -> anyhow::Result<()> {
    let key_type = match kind {
        Kind::Log => KeyType::Ed25519,
        Kind::Witness => KeyType::Cosignature,
    };
    let key = SigningKey::generate(name, key_type)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(out)
        .with_context(|| format!("cannot create {} (it must not exist yet)", out.display()))?;
    writeln!(file, "{}", key.to_private_key_string())?;
    file.sync_all()?;
    println!("{}", key.verifier());
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Keygen { name, kind, out } => keygen(name, *kind, out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("daylight: {error:#}");
            ExitCode::from(2)
        }
    }
}
