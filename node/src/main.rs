//! The `daylight-node` binary: the node's commands (init, run, keys, static publication) and
//! the local demo network ([`demo`]), which is part of this binary, not of the node library.

mod demo;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use daylight_node::config::{InitKeys, InitOptions, NodeConfig, init_with};

/// Runs a daylight node: a publisher (agency) log with its HTTP API.
#[derive(Parser, Debug)]
#[command(name = "daylight-node", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Creates a data directory for a member: keys (mode 0600), a copy of the genesis, and a
    /// configuration file.
    Init {
        /// The network's genesis file.
        #[arg(long)]
        genesis: PathBuf,
        /// The member this node runs (its id in the genesis).
        #[arg(
            long,
            required_unless_present = "observer",
            conflicts_with = "observer"
        )]
        member: Option<String>,
        /// Set up a read-only observer: it mirrors, verifies and serves every log, with no
        /// log or witness of its own.
        #[arg(long)]
        observer: bool,
        /// The data directory to create.
        #[arg(long)]
        data: PathBuf,
        /// An existing log key file (the one the genesis lists); generated if absent.
        #[arg(long)]
        log_key: Option<PathBuf>,
        /// An existing witness key file (the one the genesis lists); generated if absent.
        #[arg(long)]
        witness_key: Option<PathBuf>,
        /// An existing libp2p identity key file (whose peer id the genesis lists).
        #[arg(long)]
        p2p_key: Option<PathBuf>,
        /// HTTP listen address (default: the host and port of the member's `http` URL in the
        /// genesis, else 127.0.0.1:8080; port 0 picks a free port).
        #[arg(long)]
        http: Option<SocketAddr>,
        /// libp2p listen multiaddr (default: the member's first address in the genesis, else
        /// /ip4/127.0.0.1/tcp/0).
        #[arg(long)]
        p2p_listen: Option<String>,
        /// An operator key file the genesis accepts for this member's log: an auditor needs one
        /// to publish its findings. Copied into the data directory.
        #[arg(long, conflicts_with = "observer")]
        operator_key: Option<PathBuf>,
    },
    /// Generates the node's libp2p identity key (mode 0600) and prints its peer id, which goes
    /// into the member's genesis entry; with --show, prints the peer id of an existing key.
    P2pKey {
        /// Where to write the key; refuses to overwrite an existing file.
        #[arg(long, required_unless_present = "show", conflicts_with = "show")]
        out: Option<PathBuf>,
        /// An existing key file whose peer id to print.
        #[arg(long)]
        show: Option<PathBuf>,
    },
    /// Runs a whole demo network on this machine: a city, two counties and an auditor with
    /// real libp2p and HTTP on loopback, publishes a realistic story, waits for the
    /// cosignatures and the auditor's findings, and prints what you can verify. Runs until
    /// Ctrl-C.
    Demo {
        /// Where to keep the network (keys, genesis, databases, receipts); must be empty or
        /// absent. Default: a temporary directory, removed at the end.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Verify the household receipt offline, print the result and exit (0 when it
        /// verifies), instead of running until Ctrl-C. For scripts.
        #[arg(long)]
        exit_after_verify: bool,
    },
    /// Publishes every log in the node's database once as a static tlog-tiles copy in a
    /// directory (`--out`), in the S3-compatible bucket of the configuration's `[publish.s3]`
    /// (`--s3`), or both: checkpoint, hash tiles, entry bundles and `rid/` objects, every one
    /// before the checkpoint that covers it. Then exits. See docs/static-publication.md.
    ///
    /// It opens the node's database, so THE NODE MUST BE STOPPED. To keep a copy up to date
    /// while the node runs, set `[publish]` in node.toml instead.
    PublishStatic {
        /// The node's configuration file (the node must not be running).
        #[arg(long)]
        config: PathBuf,
        /// The directory to write the copy to (created if absent); serve it as a web root.
        #[arg(long, required_unless_present = "s3")]
        out: Option<PathBuf>,
        /// Also (or only) publish to the bucket configured in the `[publish.s3]` table.
        #[arg(long)]
        s3: bool,
    },
    /// Installs a member's new log, witness or p2p key once a genesis version names it, on a
    /// STOPPED node: checks the newest genesis version (the stored chain, or --genesis FILE)
    /// lists the new key for this member — for a log key also that the version's rotation
    /// point is the log's last checkpoint — then copies the key (mode 0600) into the data
    /// directory's keys/, names it in node.toml and keeps the old key file renamed. With
    /// --show-point, prints the log's last checkpoint (size and base64 root) for
    /// `daylight genesis amend --rotate-log-key`.
    RotateKey {
        /// The node's configuration file (the node must not be running).
        #[arg(long)]
        config: PathBuf,
        /// The new log key file.
        #[arg(long, conflicts_with = "show_point")]
        log_key: Option<PathBuf>,
        /// The new witness key file.
        #[arg(long, conflicts_with = "show_point")]
        witness_key: Option<PathBuf>,
        /// The new libp2p identity key file.
        #[arg(long, conflicts_with = "show_point")]
        p2p_key: Option<PathBuf>,
        /// The genesis version that names the new key (a signed note, or the JSON chain of
        /// GET /v1/genesis), if the node does not hold it yet; it is stored with the chain.
        #[arg(long, conflicts_with = "show_point")]
        genesis: Option<PathBuf>,
        /// Print the size and root of the log's last checkpoint: the rotation point a
        /// log-key rotation must name.
        #[arg(long)]
        show_point: bool,
    },
    /// Runs the node until interrupted (Ctrl-C or SIGTERM).
    Run {
        /// The configuration file written by `init`.
        #[arg(long)]
        config: PathBuf,
    },
}

/// mimalloc instead of the system allocator: replaying and auditing a network allocates and
/// frees millions of small values, and glibc's allocator made that markedly slower
/// (docs/decisions/0008-audit-engine-memory.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    daylight_node::memory::use_small_pages();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "daylight_node=info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: operators send the log to files and journals.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // A panic is a bug or, inside the storage engine, damage the engine did not expect. The
    // store catches the engine's panics and turns them into errors for that one request
    // (storage.rs); this hook makes the report a log line that says so instead of a bare
    // backtrace note.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!("internal failure at {location}: {message}");
    }));
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("daylight-node: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init {
            genesis,
            member,
            observer: _,
            data,
            log_key,
            witness_key,
            p2p_key,
            http,
            p2p_listen,
            operator_key,
        } => {
            let options = InitOptions {
                keys: InitKeys {
                    log: log_key.as_deref(),
                    witness: witness_key.as_deref(),
                    p2p: p2p_key.as_deref(),
                },
                http_listen: http,
                p2p_listen: p2p_listen.as_deref(),
                operator_key: operator_key.as_deref(),
            };
            let path = init_with(&genesis, member.as_deref(), &data, options)?;
            let who = member.as_deref().unwrap_or("an observer");
            println!(
                "initialised {who}; run it with: daylight-node run --config {}",
                path.display()
            );
            Ok(())
        }
        Command::P2pKey {
            show: Some(path), ..
        } => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the p2p key file {}", path.display()))?;
            let key = daylight_node::network::parse_identity(&text)
                .with_context(|| format!("{} is not a p2p key file", path.display()))?;
            println!("{}", key.public().to_peer_id());
            Ok(())
        }
        Command::P2pKey { out, show: None } => {
            let out = out.context("--out FILE: where to write the new key")?;
            let (text, peer) = daylight_node::network::generate_identity()?;
            daylight_node::config::write_private(&out, &text)?;
            println!("{peer}");
            Ok(())
        }
        Command::Demo {
            dir,
            exit_after_verify,
        } => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(demo::run(demo::DemoOptions {
                dir,
                exit_after_verify,
            }))
        }
        Command::PublishStatic { config, out, s3 } => publish_static(&config, out.as_deref(), s3),
        Command::RotateKey {
            config,
            show_point: true,
            ..
        } => {
            let point = daylight_node::rotate::show_point(&config)?;
            println!("size {}", point.size);
            println!("root {}", point.root.to_base64());
            Ok(())
        }
        Command::RotateKey {
            config,
            log_key,
            witness_key,
            p2p_key,
            genesis,
            show_point: false,
        } => {
            let keys = daylight_node::rotate::NewKeys {
                log: log_key.as_deref(),
                witness: witness_key.as_deref(),
                p2p: p2p_key.as_deref(),
            };
            for line in daylight_node::rotate::rotate_key(&config, keys, genesis.as_deref())? {
                println!("{line}");
            }
            println!(
                "start the node again: daylight-node run --config {}",
                config.display()
            );
            Ok(())
        }
        Command::Run { config } => {
            let loaded = NodeConfig::load(&config)?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                let node = daylight_node::node::start(loaded).await?;
                // Tests and scripts read these lines to find the ports.
                for address in &node.p2p_addresses {
                    println!("p2p listening on {address}");
                }
                println!("listening on http://{}", node.http_addr);
                daylight_node::shutdown::signal().await;
                eprintln!("shutting down");
                node.shutdown().await
            })
        }
    }
}

/// `daylight-node publish-static`: one pass of the static publisher over every log in the
/// database of a stopped node, to the directory `out` and/or the configured bucket (`s3`).
fn publish_static(
    config: &std::path::Path,
    out: Option<&std::path::Path>,
    s3: bool,
) -> anyhow::Result<()> {
    use std::sync::Arc;

    use anyhow::{Context as _, bail};
    use daylight_node::held::HeldLogs;
    use daylight_node::integrity::Integrity;
    use daylight_node::static_copy::{StaticPublisher, StaticTarget};
    use daylight_node::store::{StorageError, Store};

    let loaded = NodeConfig::load(config)?;
    // The destinations first: a mistake there is reported before the database is opened.
    let mut targets = Vec::new();
    if let Some(out) = out {
        targets.push(
            StaticTarget::directory(out)
                .with_context(|| format!("cannot publish to {}", out.display()))?,
        );
    }
    if s3 {
        let bucket = loaded
            .config
            .publish
            .as_ref()
            .and_then(|p| p.s3.as_ref())
            .with_context(|| {
                format!(
                    "--s3 publishes to the bucket of the [publish.s3] table, but {} has none; \
                     add one (docs/static-publication.md) or use --out DIR",
                    config.display()
                )
            })?;
        targets.push(bucket.target()?);
    }
    if targets.is_empty() {
        bail!("nothing to publish to: give --out DIR, --s3, or both");
    }
    let db_path = loaded
        .config
        .data_dir
        .join(daylight_node::node::DATABASE_FILE);
    if !db_path.exists() {
        bail!(
            "{} does not exist: this node has no database yet",
            db_path.display()
        );
    }
    let in_use = || {
        anyhow::anyhow!(
            "the database {} is in use: publish-static needs the node stopped; stop it first, \
             or set [publish] in its configuration to keep a copy while it runs",
            db_path.display()
        )
    };
    let store = match Store::open(&db_path) {
        Ok(store) => Arc::new(store),
        Err(StorageError::Database(redb::Error::DatabaseAlreadyOpen)) => return Err(in_use()),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", db_path.display())),
    };
    if store.is_read_only() {
        return Err(in_use());
    }
    let genesis = loaded.genesis();
    let own = loaded.member.as_ref().map(|m| m.id.as_str());
    let logs = Arc::new(HeldLogs::existing(genesis, &store, own)?);
    let health = Arc::new(daylight_node::health::Health::default());
    let integrity = Arc::new(Integrity::new(store.clone(), health, logs.clone(), None));
    let mut publisher =
        StaticPublisher::new(store, integrity, targets, logs.iter().cloned().collect());
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(publisher.publish_all());
    for (member, size) in &report.published {
        println!("published log {member} at size {size}");
    }
    for member in &report.empty {
        println!("log {member} has no checkpoint yet; nothing published");
    }
    for (member, error) in &report.failed {
        eprintln!("daylight-node: log {member} not published: {error}");
    }
    if !report.failed.is_empty() {
        bail!("{} log(s) not published", report.failed.len());
    }
    Ok(())
}
