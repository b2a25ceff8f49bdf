//! The `daylight` command line: what citizens, journalists, auditors and agency clerks run.
//!
//! Exit codes (DESIGN §7): 0 verified or done, 1 verification failed, 2 bad input or usage,
//! 3 network unreachable. Every command takes `--json` for one JSON document on stdout.
//! See `docs/cli.md`.

mod audit_cmd;
mod check;
mod clerk;
mod client;
mod edit_values;
mod error;
mod evidence_cmd;
mod export;
mod flow;
mod follow;
mod genesis_amend;
mod genesis_changes;
mod genesis_cli;
mod genesis_cmd;
mod genesis_edit;
mod genesis_show;
mod genesis_sign;
mod genesis_submit;
mod genesis_update;
mod keygen;
mod output;
mod pin;
mod publish;
mod receipt;
mod replay;
mod seen;
mod source;
mod static_copy;
mod tiles;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

use crate::error::{CliError, input};
use crate::output::{Report, print_error, print_report};

/// Verify that public-money records were published, never altered, and where the money went.
#[derive(Parser, Debug)]
#[command(name = "daylight", version, about, long_about = None)]
pub struct Cli {
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Where this machine keeps the checkpoints it has seen (default: $DAYLIGHT_HOME,
    /// else $XDG_DATA_HOME/daylight, else ~/.local/share/daylight).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Generates a new Ed25519 key, writes the private key to a file readable only by you,
    /// and prints the public verifier key (vkey) to publish.
    Keygen {
        /// Key name, e.g. `demo.daylight/county-320206` for a log key.
        #[arg(long)]
        name: String,
        /// What the key signs.
        #[arg(long, value_enum, default_value_t = keygen::Kind::Log)]
        kind: keygen::Kind,
        /// Where to write the private key; refuses to overwrite an existing file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Assembles, signs, checks and shows a network's genesis file.
    #[command(subcommand)]
    Genesis(genesis_cli::GenesisCommand),
    /// Signs a record with an operator key and submits it to the member's node.
    Publish {
        /// The node's base URL, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        node: String,
        /// The operator's private key file.
        #[arg(long)]
        key: PathBuf,
        /// The record as JSON, without `signatures` (or with attestations already on it).
        record: PathBuf,
    },
    /// Creates or shows a programme's secret key for household pseudonyms.
    #[command(subcommand)]
    ProgrammeKey(clerk::ProgrammeKeyCommand),
    /// Makes a household record (enrolment, exit, payment) locally from an ID number.
    #[command(subcommand)]
    Household(clerk::household::HouseholdCommand),
    /// Adds an attestor's signature to a record file, without publishing it.
    Attest(clerk::attest::SignArgs),
    /// Adds the operator's signature to a record file, without submitting it.
    Sign(clerk::attest::SignArgs),
    /// Turns a CSV or Excel sheet into records by a mapping file and submits them.
    Import(Box<clerk::import::ImportArgs>),
    /// Verifies a record (by rid or leaf hash) on one or more nodes against the genesis.
    Verify {
        /// The pinned genesis: version 1's file, or the chain (JSON) `genesis update` writes;
        /// later versions the nodes serve are followed from it.
        #[arg(long)]
        genesis: PathBuf,
        /// A node, or a static copy's root URL, to ask; repeat to ask several, which must
        /// all agree.
        #[arg(long = "node", required = true)]
        nodes: Vec<String>,
        /// A record id, or the 64-hex-digit leaf hash of one exact version.
        target: String,
        /// Keep trying for up to this many seconds until the record verifies (e.g. while the
        /// witnesses cosign a new checkpoint, or a mirror catches up); prints only the last
        /// attempt.
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
    },
    /// Fetches and verifies receipts (tlog-proof bundles).
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// Traces where a record's money came from, across logs, verifying every hop.
    Flow {
        /// The pinned genesis: version 1's file, or the chain (JSON) `genesis update` writes;
        /// later versions the nodes serve are followed from it.
        #[arg(long)]
        genesis: PathBuf,
        /// A node or static copy to ask (repeatable); each log's own node from the genesis is
        /// tried too.
        #[arg(long = "node", required = true)]
        nodes: Vec<String>,
        /// The record id to start from (a payment, a receipt, an allocation...).
        rid: String,
    },
    /// Replays logs from a node (every member's by default), checks every entry tile against
    /// a quorum-cosigned checkpoint, runs the audit rules and reports lights and findings.
    Audit {
        /// The pinned genesis: version 1's file, or the chain (JSON) `genesis update` writes;
        /// later versions the nodes serve are followed from it.
        #[arg(long)]
        genesis: PathBuf,
        /// The node to replay from (any member's or observer's node holds every log), or a
        /// static copy's root URL.
        #[arg(long)]
        node: String,
        /// How to write the report.
        #[arg(long, value_enum, default_value_t = audit_cmd::Format::Text)]
        format: audit_cmd::Format,
        /// Write the report to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Judge time limits as of this date (YYYY-MM-DD; default today, UTC).
        #[arg(long)]
        as_of: Option<String>,
        /// Only replay the logs and check every tile against the cosigned checkpoint; run no
        /// audit rules.
        #[arg(long)]
        replay_only: bool,
        /// The member ids of the logs to audit; default every member's.
        members: Vec<String>,
    },
    /// Replays logs (every member's by default), verifies every entry against a
    /// quorum-cosigned checkpoint, applies corrections and voids, and writes the current
    /// state and the history as CSV, JSON Lines and OCDS 1.1.5 with a manifest.json
    /// (docs/data.md).
    Export {
        /// The pinned genesis: version 1's file, or the chain (JSON) `genesis update` writes;
        /// later versions the nodes serve are followed from it.
        #[arg(long)]
        genesis: PathBuf,
        /// A node or static copy to replay from; repeat to name others, tried in order for a
        /// log when one cannot be reached.
        #[arg(long = "node", required = true)]
        nodes: Vec<String>,
        /// The member id of a log to export (repeatable); default every member's.
        #[arg(long = "log", value_name = "MEMBER")]
        logs: Vec<String>,
        /// The formats to write (repeatable or comma-separated); default all three.
        #[arg(long = "format", value_enum, value_delimiter = ',')]
        formats: Vec<export::Format>,
        /// The directory to write into (created if missing; files of the same names are
        /// replaced only when the whole export verified).
        #[arg(long)]
        out: PathBuf,
        /// The prefix of OCDS ocids (default `ocds-daylight-<network>`).
        #[arg(long)]
        ocid_prefix: Option<String>,
        /// Also verify every record's Ed25519 signatures against the genesis keys (about ten
        /// times slower).
        #[arg(long)]
        verify_signatures: bool,
    },
    /// Checks evidence that a log signed two incompatible histories.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Prints new records as they arrive on a node's feed, verifying each new checkpoint
    /// (quorum, and consistency with the one seen before) and each entry's inclusion; reports
    /// a log that does not extend what it showed before as equivocation (exit 1). Each line
    /// carries the cursor to resume after it (`--after`); with --json, one object per line.
    Follow {
        /// The pinned genesis: version 1's file, or the chain (JSON) `genesis update` writes;
        /// later versions the node serves are followed from it.
        #[arg(long)]
        genesis: PathBuf,
        /// The node whose feed to follow.
        #[arg(long)]
        node: String,
        /// Resume after this cursor (printed by an earlier run); default: from now on.
        #[arg(long, value_name = "CURSOR")]
        after: Option<String>,
        /// Only this member's log (repeatable); default every log.
        #[arg(long = "log", value_name = "MEMBER")]
        logs: Vec<String>,
        /// Stop after this many records and print the cursor to resume from.
        #[arg(long)]
        count: Option<u64>,
    },
    /// Prints a shell completion script for daylight.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Writes man pages, one per command, into a directory.
    Man {
        /// The directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum ReceiptCommand {
    /// Fetches the receipt of a record from a node, or assembles it from a static copy, into a
    /// file.
    Fetch {
        /// The node's base URL, or a static copy's root URL.
        #[arg(long)]
        node: String,
        /// Verify the receipt against this pinned genesis (version 1's file or a chain JSON,
        /// followed to the node's latest version) before writing it; one that does not verify
        /// is not written.
        #[arg(long)]
        genesis: Option<PathBuf>,
        /// The record id (or give --log and --index).
        #[arg(required_unless_present = "log", conflicts_with_all = ["log", "index"])]
        rid: Option<String>,
        /// The member id of the log.
        #[arg(long, requires = "index")]
        log: Option<String>,
        /// The entry index in that log.
        #[arg(long, requires = "log")]
        index: Option<u64>,
        /// Where to write the receipt.
        #[arg(long)]
        out: PathBuf,
        /// A household's commitment opening (JSON) to bundle with it.
        #[arg(long)]
        opening: Option<PathBuf>,
    },
    /// Verifies a receipt offline against the genesis alone.
    Verify {
        /// The pinned genesis: version 1's file, or the chain (JSON) `genesis update` writes;
        /// used as it is (this command asks no node).
        #[arg(long)]
        genesis: PathBuf,
        /// The receipt: a .tlog-proof bundle or a household receipt (JSON).
        receipt: PathBuf,
        /// A commitment opening (JSON) to check against the payment.
        #[arg(long)]
        opening: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum EvidenceCommand {
    /// Verifies an evidence document against the genesis; exit 0 means misbehaviour proven.
    Verify {
        /// The pinned genesis: version 1's file, or the chain (JSON) `genesis update` writes;
        /// used as it is (this command asks no node).
        #[arg(long)]
        genesis: PathBuf,
        /// The evidence (JSON, as nodes serve at /v1/evidence).
        evidence: PathBuf,
    },
}

fn run(cli: Cli) -> Result<Report, CliError> {
    let data_dir = cli.data_dir.as_deref();
    match cli.command {
        Command::Keygen { name, kind, out } => keygen::run(&name, kind, &out),
        Command::Genesis(g) => genesis_cli::run(g),
        Command::Publish { node, key, record } => publish::run(&node, &key, &record),
        Command::ProgrammeKey(c) => clerk::programme_key(c),
        Command::Household(c) => clerk::household::run(c),
        Command::Attest(args) => clerk::attest::run(&args, false),
        Command::Sign(args) => clerk::attest::run(&args, true),
        Command::Import(_) => unreachable!("import prints its own report; handled in main"),
        Command::Verify {
            genesis,
            nodes,
            target,
            wait,
        } => verify::waiting(wait.map(std::time::Duration::from_secs), || {
            let pinned = pin::load(&genesis, &nodes)?;
            pinned.annotate(
                &genesis,
                verify::run(pinned.genesis(), &nodes, &target, data_dir),
            )
        }),
        Command::Receipt(ReceiptCommand::Fetch {
            node,
            genesis,
            rid,
            log,
            index,
            out,
            opening,
        }) => {
            let which = match (rid, log, index) {
                (Some(rid), _, _) => receipt::Which::Rid(rid),
                (None, Some(log), Some(index)) => receipt::Which::Index { log, index },
                _ => return Err(input("give a record id, or --log and --index")),
            };
            let opening = opening.as_deref().map(receipt::read_opening).transpose()?;
            let Some(file) = genesis else {
                return receipt::fetch(&node, which, &out, opening.as_ref(), None);
            };
            let pinned = pin::load(&file, std::slice::from_ref(&node))?;
            let fetched =
                receipt::fetch(&node, which, &out, opening.as_ref(), Some(pinned.genesis()));
            pinned.annotate(&file, fetched)
        }
        Command::Receipt(ReceiptCommand::Verify {
            genesis,
            receipt,
            opening,
        }) => {
            let pinned = pin::offline(&genesis)?;
            pinned.annotate(
                &genesis,
                receipt::verify(pinned.genesis(), &receipt, opening.as_deref()),
            )
        }
        Command::Audit {
            genesis,
            node,
            format,
            out,
            as_of,
            replay_only,
            members,
        } => {
            let pinned = pin::load(&genesis, std::slice::from_ref(&node))?;
            let result = audit_cmd::run(audit_cmd::AuditRequest {
                genesis: pinned.genesis(),
                node: &node,
                members: &members,
                format,
                out: out.as_deref(),
                as_of: as_of.as_deref(),
                replay_only,
            });
            if out.is_none() && format != audit_cmd::Format::Text {
                pinned.annotate_json(result)
            } else {
                pinned.annotate(&genesis, result)
            }
        }
        Command::Flow {
            genesis,
            nodes,
            rid,
        } => {
            let pinned = pin::load(&genesis, &nodes)?;
            pinned.annotate(
                &genesis,
                flow::run(pinned.genesis(), &nodes, &rid, data_dir),
            )
        }
        Command::Export {
            genesis,
            nodes,
            logs,
            formats,
            out,
            ocid_prefix,
            verify_signatures,
        } => {
            let pinned = pin::load(&genesis, &nodes)?;
            let formats = if formats.is_empty() {
                vec![
                    export::Format::Csv,
                    export::Format::Jsonl,
                    export::Format::Ocds,
                ]
            } else {
                formats
            };
            let result = export::run(export::ExportRequest {
                pinned: &pinned,
                nodes: &nodes,
                members: &logs,
                formats: &formats,
                out: &out,
                ocid_prefix: ocid_prefix.as_deref(),
                verify_signatures,
            });
            pinned.annotate(&genesis, result)
        }
        Command::Evidence(EvidenceCommand::Verify { genesis, evidence }) => {
            let pinned = pin::offline(&genesis)?;
            pinned.annotate(&genesis, evidence_cmd::verify(pinned.genesis(), &evidence))
        }
        Command::Follow { .. } => unreachable!("follow prints as it goes; handled in main"),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "daylight", &mut std::io::stdout());
            Ok(Report::new(serde_json::Value::Null))
        }
        Command::Man { out } => man(&out),
    }
}

/// Writes one man page per command and subcommand.
fn man(out: &std::path::Path) -> Result<Report, CliError> {
    std::fs::create_dir_all(out)
        .map_err(|e| input(format!("cannot create {}: {e}", out.display())))?;
    clap_mangen::generate_to(Cli::command(), out)
        .map_err(|e| input(format!("cannot write man pages to {}: {e}", out.display())))?;
    let mut pages: Vec<String> = std::fs::read_dir(out)
        .map_err(|e| input(format!("cannot list {}: {e}", out.display())))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".1"))
        .collect();
    pages.sort();
    let mut report =
        Report::new(serde_json::json!({"out": out.display().to_string(), "pages": pages}));
    report.line(format!(
        "Wrote {} man pages to {}.",
        pages.len(),
        out.display()
    ));
    Ok(report)
}

/// mimalloc instead of the system allocator: replaying and auditing a network allocates and
/// frees millions of small values, and glibc's allocator made that markedly slower
/// (docs/decisions/0008-audit-engine-memory.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs `daylight follow`, which prints as it goes rather than one report at the end.
fn follow(cli: Cli) -> ExitCode {
    let json = cli.json;
    let Command::Follow {
        genesis,
        node,
        after,
        logs,
        count,
    } = cli.command
    else {
        return ExitCode::from(error::EXIT_USAGE);
    };
    let result = (|| {
        let seen = seen::SeenStore::new(&seen::data_dir(cli.data_dir.as_deref())?);
        let pinned = pin::load(&genesis, std::slice::from_ref(&node))?;
        if !json {
            println!("{}", pinned.summary(&genesis));
            for note in &pinned.notes {
                println!("{note}");
            }
        }
        follow::run(&follow::Request {
            genesis: pinned.genesis(),
            node: &node,
            after,
            logs,
            count,
            json,
            seen,
        })
    })();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => print_error(&error, json),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Follow { .. }) {
        return follow(cli);
    }
    if let Command::Import(args) = cli.command {
        return clerk::import::main(*args, cli.json);
    }
    let json = cli.json;
    let completions = matches!(cli.command, Command::Completions { .. });
    match run(cli) {
        Ok(_) if completions => ExitCode::SUCCESS,
        Ok(report) => print_report(&report, json),
        Err(error) => print_error(&error, json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_errors_exit_2() {
        let error = Cli::try_parse_from(["daylight", "verify", "x"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
    }
}
