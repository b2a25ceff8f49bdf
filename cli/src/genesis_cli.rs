//! The `daylight genesis` subcommands: their arguments, and which module runs each
//! (`genesis_cmd`, `genesis_sign`, `genesis_show`, `genesis_amend`, `genesis_update`,
//! `genesis_submit`).

use std::path::PathBuf;

use clap::Subcommand;

use crate::error::CliError;
use crate::output::Report;
use crate::{
    genesis_amend, genesis_cmd, genesis_edit, genesis_show, genesis_sign, genesis_submit,
    genesis_update,
};

// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum GenesisCommand {
    /// Writes an empty draft genesis for a new network.
    Init {
        /// Network name, e.g. demo.daylight.
        #[arg(long)]
        network: String,
        /// Witness cosignatures a citizen requires on each checkpoint.
        #[arg(long, default_value_t = daylight_genesis::GenesisBuilder::DEFAULT_QUORUM)]
        quorum: usize,
        /// The draft file to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Adds a member to a draft genesis.
    AddMember {
        /// The draft file.
        file: PathBuf,
        #[command(flatten)]
        member: genesis_cmd::NewMember,
    },
    /// Adds a signature to a genesis version: a founder's (with its log key; for a later
    /// version, a founder of the previous version), or a new key's proof of possession.
    Sign {
        /// The genesis file (draft or partly signed); rewritten in place unless --out is given.
        file: PathBuf,
        /// The private key file: a founder's log key, or a key the version introduces (log,
        /// witness, operator or attestor key).
        #[arg(long)]
        key: PathBuf,
        /// For a later version: the version before it (version 1's genesis file, or a chain
        /// JSON holding it).
        #[arg(long, alias = "chain", value_name = "FILE")]
        previous: Option<PathBuf>,
        /// Where to write the signed genesis.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Checks a genesis: version 1's founder signatures, a later version against the one
    /// before it (who signed, who is missing), or a whole chain (JSON); prints the id.
    Verify {
        /// The genesis file: a version's signed note, or a chain (JSON).
        file: PathBuf,
        /// For a later version: the version before it (version 1's genesis file, or a chain
        /// JSON holding it).
        #[arg(long, alias = "chain", value_name = "FILE")]
        previous: Option<PathBuf>,
    },
    /// Shows version, members, roles, keys and their history, witnesses, quorum, founders,
    /// audit parameters and the id.
    Show {
        /// The genesis file (draft, signed version or chain JSON).
        file: PathBuf,
    },
    /// Starts the next version of the genesis from the current one, with edits; every
    /// founder threshold and new key then signs it (`genesis sign`).
    Amend {
        /// The current genesis: version 1's file, or the chain (JSON) that `genesis update`
        /// writes; the draft follows its latest version.
        #[arg(long, value_name = "CURRENT")]
        genesis: PathBuf,
        /// The draft file to create.
        #[arg(long, value_name = "DRAFT")]
        out: PathBuf,
        #[command(flatten)]
        edits: genesis_edit::Edits,
    },
    /// Changes a draft genesis (of any version) in place, before anyone signs it.
    Edit {
        /// The draft file.
        file: PathBuf,
        /// For a later version's draft: the version it follows (needed by --remove-member;
        /// also checks the draft against it).
        #[arg(long, alias = "chain", value_name = "FILE")]
        previous: Option<PathBuf>,
        #[command(flatten)]
        edits: genesis_edit::Edits,
    },
    /// Follows the genesis chain a node serves from your pinned version, says what changed,
    /// and moves the pin (the file becomes the chain, JSON; the old one is kept as
    /// FILE.N.bak, where N is the sequence number it pinned).
    Update {
        /// Your pinned genesis: version 1's file, or the chain (JSON) an earlier update wrote.
        #[arg(long)]
        pinned: PathBuf,
        /// A node to ask (any member's or observer's).
        #[arg(long)]
        node: String,
    },
    /// Hands a signed genesis version (or a chain, JSON) to a node (`POST /v1/genesis`), which
    /// verifies it against its chain, applies it and passes it on; says what the node took.
    /// Exit 0 taken (or held already), 1 conflict with the node's chain, 2 invalid, 3
    /// unreachable.
    Submit {
        /// The node's base URL, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        node: String,
        /// The signed version (the file `genesis sign` wrote), or a chain (JSON).
        file: PathBuf,
    },
}

/// Runs one `daylight genesis` subcommand.
pub fn run(command: GenesisCommand) -> Result<Report, CliError> {
    match command {
        GenesisCommand::Init {
            network,
            quorum,
            out,
        } => genesis_cmd::init(&network, quorum, &out),
        GenesisCommand::AddMember { file, member } => genesis_cmd::add_member(&file, member),
        GenesisCommand::Sign {
            file,
            key,
            previous,
            out,
        } => genesis_sign::sign(&file, &key, previous.as_deref(), out.as_deref()),
        GenesisCommand::Verify { file, previous } => {
            genesis_sign::verify(&file, previous.as_deref())
        }
        GenesisCommand::Show { file } => genesis_show::show(&file),
        GenesisCommand::Amend {
            genesis,
            out,
            edits,
        } => genesis_amend::amend(&genesis, &out, &edits),
        GenesisCommand::Edit {
            file,
            previous,
            edits,
        } => genesis_amend::edit(&file, previous.as_deref(), &edits),
        GenesisCommand::Update { pinned, node } => genesis_update::update(&pinned, &node),
        GenesisCommand::Submit { node, file } => genesis_submit::submit(&node, &file),
    }
}
