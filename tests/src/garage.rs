//! A real Garage (<https://garagehq.deuxfleurs.fr>, a self-hosted distributed S3 store) for
//! the static-publication tests: one node on 127.0.0.1 with ephemeral ports, its metadata and
//! data in a temporary directory, `replication_factor = 1`, a laid-out cluster, a bucket, a key
//! that may read and write it, and the bucket's website access on, so that
//! `http://localhost:<web port>/...` serves the bucket's objects anonymously, as a CDN origin
//! would. Killed and removed on drop.
//!
//! Garage's web endpoint finds the bucket by the request's host name (the port stripped), so
//! the bucket gets the global alias `localhost` besides its own name; `localhost` resolves to
//! 127.0.0.1.
//!
//! The binary is `$GARAGE`, else `~/.cargo/bin/garage` (where `.ci/run` installs it with
//! `cargo install garage --locked`), else `garage` on the `PATH`. Without one, [`Garage::binary`]
//! fails the test under CI and returns `None` (the test prints "skipped: ..." and passes)
//! elsewhere.

use std::hash::{BuildHasher as _, Hasher as _};
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::{TempDir, get, wait_until};

/// The bucket every test Garage has (and its S3 region).
pub const BUCKET: &str = "daylight";

/// The S3 region the test Garage signs with.
pub const REGION: &str = "garage";

/// The global alias that makes the web endpoint serve [`BUCKET`] at `http://localhost:PORT/`.
pub const WEB_HOST: &str = "localhost";

/// How long Garage may take to start, lay out its cluster and answer.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// A running single-node Garage with one bucket and one key. Killed on drop.
pub struct Garage {
    child: Child,
    binary: PathBuf,
    config: PathBuf,
    dir: TempDir,
    s3_port: u16,
    web_port: u16,
    admin_port: u16,
    /// The access key id that may read and write [`BUCKET`].
    pub key_id: String,
    /// Its secret.
    pub secret: String,
}

impl Garage {
    /// The Garage binary, if there is one. When there is none: under CI (`CI` set) a panic
    /// saying how to install it; elsewhere "skipped: ..." on stderr and `None`, so the test
    /// returns early and passes.
    pub fn binary() -> Option<PathBuf> {
        let candidates = std::env::var_os("GARAGE")
            .map(PathBuf::from)
            .into_iter()
            .chain(std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/garage")))
            .chain(std::env::var_os("PATH").into_iter().flat_map(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join("garage"))
                    .collect::<Vec<_>>()
            }));
        for candidate in candidates {
            if candidate.is_file() {
                return Some(candidate);
            }
        }
        let hint = "garage is not installed: `cargo install garage --locked` (about 11 minutes; \
                    .ci/run does it), or set GARAGE=/path/to/garage";
        assert!(std::env::var_os("CI").is_none(), "{hint}");
        eprintln!("skipped: {hint}");
        None
    }

    /// Starts Garage from `binary` and sets it up: layout, bucket, key, website access. Waits
    /// (polling, with a deadline) until it answers on its admin and web endpoints.
    pub fn start(binary: &Path) -> anyhow::Result<Garage> {
        let dir = TempDir::new("garage");
        let ports = free_ports::<4>()?;
        let [rpc_port, s3_port, web_port, admin_port] = ports;
        let config = dir.path().join("garage.toml");
        let d = dir.path().display();
        let text = format!(
            "metadata_dir = \"{d}/meta\"\n\
             data_dir = \"{d}/data\"\n\
             db_engine = \"sqlite\"\n\
             replication_factor = 1\n\
             rpc_bind_addr = \"127.0.0.1:{rpc_port}\"\n\
             rpc_public_addr = \"127.0.0.1:{rpc_port}\"\n\
             rpc_secret = \"{rpc_secret}\"\n\
             \n\
             [s3_api]\n\
             s3_region = \"{REGION}\"\n\
             api_bind_addr = \"127.0.0.1:{s3_port}\"\n\
             \n\
             [s3_web]\n\
             bind_addr = \"127.0.0.1:{web_port}\"\n\
             \n\
             [admin]\n\
             api_bind_addr = \"127.0.0.1:{admin_port}\"\n\
             admin_token = \"{admin_token}\"\n",
            rpc_secret = random_hex(32),
            admin_token = random_hex(16),
        );
        write_private(&config, &text)?;
        let stdout = std::fs::File::create(dir.path().join("stdout.log"))?;
        let stderr = std::fs::File::create(dir.path().join("stderr.log"))?;
        let child = Command::new(binary)
            .arg("-c")
            .arg(&config)
            .arg("server")
            .env("RUST_LOG", "garage=info")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut garage = Garage {
            child,
            binary: binary.to_path_buf(),
            config,
            dir,
            s3_port,
            web_port,
            admin_port,
            key_id: String::new(),
            secret: String::new(),
        };
        garage.set_up().map_err(|e| {
            let log =
                std::fs::read_to_string(garage.dir.path().join("stderr.log")).unwrap_or_default();
            let tail: String = log
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            e.context(format!("Garage did not start; its log ends with:\n{tail}"))
        })?;
        Ok(garage)
    }

    /// Waits for the daemon, lays out the one-node cluster, makes the bucket and the key.
    fn set_up(&mut self) -> anyhow::Result<()> {
        // Up: the admin endpoint answers (503 until the layout is applied).
        let health = format!("http://127.0.0.1:{}/health", self.admin_port);
        self.wait("Garage's admin endpoint to answer", |_| {
            get(&health).map(|_| ()).map_err(|e| e.to_string())
        })?;
        let node = self.run(&["node", "id", "-q"])?;
        let node = node
            .trim()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_string();
        if node.is_empty() {
            bail!("garage node id printed no id");
        }
        self.run(&["layout", "assign", "-z", "dc1", "-c", "1G", &node])?;
        self.run(&["layout", "apply", "--version", "1"])?;
        self.wait("Garage to report healthy", |_| match get(&health) {
            Ok(reply) if reply.status == 200 => Ok(()),
            Ok(reply) => Err(format!("{} {}", reply.status, reply.text())),
            Err(e) => Err(e.to_string()),
        })?;
        self.run(&["bucket", "create", BUCKET])?;
        let key = self.run(&["json-api", "CreateKey", r#"{"name":"daylight-test"}"#])?;
        let key: serde_json::Value =
            serde_json::from_str(&key).context("garage json-api CreateKey printed no JSON")?;
        let field = |name: &str| {
            key[name]
                .as_str()
                .map(str::to_string)
                .with_context(|| format!("garage json-api CreateKey gave no {name}: {key}"))
        };
        self.key_id = field("accessKeyId")?;
        self.secret = field("secretAccessKey")?;
        let key_id = self.key_id.clone();
        self.run(&[
            "bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", &key_id,
        ])?;
        self.run(&["bucket", "website", "--allow", BUCKET])?;
        self.run(&["bucket", "alias", BUCKET, WEB_HOST])?;
        // The web endpoint serves the bucket: a missing object is a 404 from Garage itself.
        let probe = self.web_url("/daylight-garage-probe");
        self.wait("Garage's web endpoint to serve the bucket", |_| {
            match get(&probe) {
                Ok(reply) if reply.status == 404 => Ok(()),
                Ok(reply) => Err(format!("{} {}", reply.status, reply.text())),
                Err(e) => Err(e.to_string()),
            }
        })?;
        Ok(())
    }

    /// Polls `check` until it succeeds, failing early if Garage exits, or at the deadline.
    fn wait(
        &mut self,
        what: &str,
        mut check: impl FnMut(&mut Self) -> Result<(), String>,
    ) -> anyhow::Result<()> {
        let mut exited = None;
        wait_until(START_DEADLINE, what, || {
            if let Ok(Some(status)) = self.child.try_wait() {
                exited = Some(status);
                return Ok(());
            }
            check(self)
        });
        match exited {
            Some(status) => bail!("garage exited with {status} while waiting for {what}"),
            None => Ok(()),
        }
    }

    /// Runs a `garage` command against this instance; its stdout, or an error with its output.
    pub fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self
            .command()
            .args(args)
            .output()
            .with_context(|| format!("cannot run garage {}", args.join(" ")))?;
        if !out.status.success() {
            bail!(
                "garage {} failed ({}): {}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A `garage -c <config>` command for this instance, to add arguments to.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command.arg("-c").arg(&self.config).stdin(Stdio::null());
        command
    }

    /// The S3 API's URL (path-style requests), for `[publish.s3] endpoint`.
    pub fn s3_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// `path` on the web endpoint, which serves [`BUCKET`]'s objects anonymously.
    pub fn web_url(&self, path: &str) -> String {
        format!("http://{WEB_HOST}:{}{path}", self.web_port)
    }

    /// Writes the key as a `[publish.s3] credentials_file` (mode 0600) at `path`.
    pub fn write_credentials(&self, path: &Path) -> anyhow::Result<()> {
        write_private(
            path,
            &format!(
                "access_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
                self.key_id, self.secret
            ),
        )
    }

    /// A `[publish.s3]` table for this Garage's bucket under `prefix`, with the credentials
    /// at `credentials_file`.
    pub fn publish_table(&self, credentials_file: &Path, prefix: &str) -> String {
        format!(
            "\n[publish.s3]\nendpoint = \"{}\"\nregion = \"{REGION}\"\nbucket = \"{BUCKET}\"\n\
             prefix = \"{prefix}\"\ncredentials_file = {:?}\n",
            self.s3_endpoint(),
            credentials_file.display().to_string()
        )
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `N` distinct free loopback ports: bound together, read and released for Garage.
fn free_ports<const N: usize>() -> anyhow::Result<[u16; N]> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ports = [0; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

/// `bytes` random bytes as hex (from the standard library's randomly seeded hasher: enough
/// for a secret that lives as long as one test on loopback).
fn random_hex(bytes: usize) -> String {
    let mut out = String::new();
    while out.len() < bytes * 2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_usize(out.len());
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out.truncate(bytes * 2);
    out
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}
