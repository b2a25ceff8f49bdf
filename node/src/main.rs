//! The `daylight-node` binary.

use clap::Parser;

/// Runs a daylight node: a publisher (agency), auditor or read-only observer.
#[derive(Parser, Debug)]
#[command(name = "daylight-node", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Prints the version of the verifier library this node checks with.
    Version,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Version => println!("daylight-node {}", env!("CARGO_PKG_VERSION")),
    }
    Ok(())
}
