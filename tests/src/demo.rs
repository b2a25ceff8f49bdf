//! A running `daylight-node demo` process, as a new user starts it: the whole demo network in
//! one process, with the guide it prints and the `demo.json` summary it writes.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};

use anyhow::{Context as _, bail};

use crate::{TempDir, node_binary};

/// The line the demo prints once everything is published, cosigned and written.
pub const READY_LINE: &str = "The daylight demo network is up.";
/// The line that ends the guide.
pub const LAST_GUIDE_LINE: &str = "the network runs until Ctrl-C";

/// A running demo network, stopped (SIGKILL) when dropped if not terminated.
pub struct DemoProcess {
    child: Child,
    /// Holds the network's directory.
    pub dir: TempDir,
    /// The guide the demo printed, up to its last line.
    pub guide: String,
    /// The parsed `demo.json`: nodes, files, rids and commands.
    pub summary: serde_json::Value,
}

impl DemoProcess {
    /// Starts `daylight-node demo --dir <new dir>` and waits for its guide (an event: the
    /// demo prints it only once every log is cosigned and every file written).
    pub fn start() -> anyhow::Result<DemoProcess> {
        let dir = TempDir::new("demo");
        let network = dir.path().join("network");
        let log = std::fs::File::create(dir.path().join("demo.log"))?;
        let mut child = Command::new(node_binary()?)
            .arg("demo")
            .arg("--dir")
            .arg(&network)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut reader = BufReader::new(stdout);
        let mut guide = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                let status = child.wait()?;
                let log = std::fs::read_to_string(dir.path().join("demo.log")).unwrap_or_default();
                bail!("the demo stopped ({status}) before its guide:\n{guide}\n{log}");
            }
            guide.push_str(&line);
            if line.trim() == LAST_GUIDE_LINE {
                break;
            }
        }
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(network.join("demo.json"))?)?;
        Ok(DemoProcess {
            child,
            dir,
            guide,
            summary,
        })
    }

    /// The HTTP base URL of `member`'s node.
    pub fn url(&self, member: &str) -> String {
        self.summary["nodes"][member]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A file the demo wrote, named in its summary (`genesis`, `receipt`, `opening`).
    pub fn file(&self, name: &str) -> PathBuf {
        PathBuf::from(self.summary[name].as_str().unwrap_or_default())
    }

    /// Stops it with SIGTERM, as Ctrl-C would, and waits for it to exit.
    pub fn terminate(mut self) -> anyhow::Result<ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("could not signal the demo");
        }
        Ok(self.child.wait()?)
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test takes the demo's directory with it: show what the nodes logged.
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.path().join("demo.log")).unwrap_or_default();
            eprintln!("--- the demo's log ---\n{log}--- end of the demo's log ---");
        }
    }
}
