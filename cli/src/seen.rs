//! The checkpoints this machine has seen: for each log, the largest checkpoint it verified,
//! so that the next `daylight verify` can check the log still extends it (DESIGN §7: "consistent
//! with what this machine saw before").
//!
//! Layout: `<data dir>/checkpoints/<origin, escaped>`, each file the checkpoint note exactly as
//! received (log signature and cosignatures). Files are replaced atomically (write a temporary
//! file, sync, rename), so a crash leaves the old or the new checkpoint, never half of one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{CliError, input};

/// Where the data directory is, in order: `--data-dir`, `$DAYLIGHT_HOME`,
/// `$XDG_DATA_HOME/daylight`, `$HOME/.local/share/daylight`. `env` looks up a variable
/// (empty values count as unset).
pub fn resolve_data_dir(
    flag: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<PathBuf, CliError> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("DAYLIGHT_HOME") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = var("XDG_DATA_HOME") {
        return Ok(PathBuf::from(dir).join("daylight"));
    }
    if let Some(home) = var("HOME") {
        return Ok(PathBuf::from(home).join(".local/share/daylight"));
    }
    Err(input(
        "no data directory: pass --data-dir, or set DAYLIGHT_HOME, XDG_DATA_HOME or HOME",
    ))
}

/// The data directory from the flag and the process environment.
pub fn data_dir(flag: Option<&Path>) -> Result<PathBuf, CliError> {
    resolve_data_dir(flag, |name| std::env::var(name).ok())
}

/// The store of seen checkpoints under a data directory.
#[derive(Clone, Debug)]
pub struct SeenStore {
    dir: PathBuf,
}

/// A file name for an origin: `[A-Za-z0-9.-]` kept, every other byte written `_XX` (hex),
/// so distinct origins never share a file.
pub fn escape_origin(origin: &str) -> String {
    let mut out = String::with_capacity(origin.len());
    for b in origin.bytes() {
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:02x}"));
        }
    }
    out
}

impl SeenStore {
    /// The store under `data_dir` (created on first write).
    pub fn new(data_dir: &Path) -> SeenStore {
        SeenStore {
            dir: data_dir.join("checkpoints"),
        }
    }

    /// The file holding the checkpoint of `origin`.
    pub fn path(&self, origin: &str) -> PathBuf {
        self.dir.join(escape_origin(origin))
    }

    /// The stored checkpoint note of `origin`, if any.
    pub fn load(&self, origin: &str) -> Result<Option<String>, CliError> {
        let path = self.path(origin);
        match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
                input(format!(
                    "stored checkpoint {} is not text; remove it",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(input(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// Stores `note` as the checkpoint seen for `origin`, atomically.
    pub fn store(&self, origin: &str, note: &str) -> Result<(), CliError> {
        let path = self.path(origin);
        write_atomic(&path, note.as_bytes())
            .map_err(|e| input(format!("cannot write {}: {e}", path.display())))
    }
}

/// Writes `bytes` to `path` so that readers see the old file or the new one, never a mix:
/// a temporary file beside it, synced, then renamed over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename durable too; not every platform lets a directory be opened.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(label: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("daylight-cli-seen-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn data_dir_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let all: &[(&str, &str)] = &[
            ("DAYLIGHT_HOME", "/d"),
            ("XDG_DATA_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(
            resolve_data_dir(Some(Path::new("/flag")), env(all)).unwrap(),
            PathBuf::from("/flag")
        );
        assert_eq!(
            resolve_data_dir(None, env(all)).unwrap(),
            PathBuf::from("/d")
        );
        let no_home: &[(&str, &str)] = &[
            ("DAYLIGHT_HOME", ""),
            ("XDG_DATA_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(
            resolve_data_dir(None, env(no_home)).unwrap(),
            PathBuf::from("/x/daylight")
        );
        let only_home: &[(&str, &str)] = &[("HOME", "/h")];
        assert_eq!(
            resolve_data_dir(None, env(only_home)).unwrap(),
            PathBuf::from("/h/.local/share/daylight")
        );
        assert_eq!(resolve_data_dir(None, env(&[])).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn origins_escape_to_distinct_file_names() {
        assert_eq!(
            escape_origin("demo.daylight/county-1"),
            "demo.daylight_2fcounty-1"
        );
        assert_ne!(escape_origin("a/b"), escape_origin("a_2fb"));
    }

    #[test]
    fn store_and_replace() {
        let dir = temp("store");
        let store = SeenStore::new(&dir);
        assert_eq!(store.load("net/log").unwrap(), None);
        store.store("net/log", "net/log\n1\nAAAA\n").unwrap();
        assert_eq!(
            store.load("net/log").unwrap().as_deref(),
            Some("net/log\n1\nAAAA\n")
        );
        store.store("net/log", "net/log\n2\nBBBB\n").unwrap();
        assert_eq!(
            store.load("net/log").unwrap().as_deref(),
            Some("net/log\n2\nBBBB\n")
        );
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(dir.join("checkpoints"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
