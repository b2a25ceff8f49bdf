//! The Go reference (`golang.org/x/mod/sumdb/tlog`, from Debian's `golang-golang-x-mod-dev`)
//! run on our logs: `tests/interop/tlogcheck.go` verifies a node, a static directory or a
//! bucket as a tlog-tiles client that shares no code with daylight.

use std::path::Path;
use std::process::Command;

/// Where Debian installs the Go module sources the checker builds against.
pub const GOPATH: &str = "/usr/share/gocode";

/// Whether `go` and the tlog package are installed.
pub fn available() -> bool {
    Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
        && Path::new(GOPATH)
            .join("src/golang.org/x/mod/sumdb/tlog")
            .exists()
}

/// Runs the checker with `args` and returns its stdout; panics with its whole output, naming
/// `what` was checked, if it refuses.
pub fn tlogcheck(args: &[&str], what: &str) -> String {
    let program = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/tlogcheck.go");
    let out = Command::new("go")
        .args(["run", program])
        .args(args)
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .output()
        .expect("go runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the Go reference refused {what}:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
