//! Files the clerks' tools write: private files (mode 0600) that are never overwritten, and
//! files replaced atomically and durably (written to a temporary file, synced, renamed, the
//! directory synced), so a killed process leaves the old file or the new one, never half.

use std::io::Write as _;
use std::path::Path;

use crate::error::{CliError, input};

/// Creates `path` with `bytes`, readable only by its owner (0600 on Unix), synced to disk.
/// Refuses an existing file: keys and openings are never overwritten.
pub fn create_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(path).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    written.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            input(format!(
                "{} exists already and is never overwritten: choose another file name, or \
                 move the old file away if it is really no longer needed",
                path.display()
            ))
        } else {
            input(format!("cannot create {}: {e}", path.display()))
        }
    })?;
    sync_parent(path);
    Ok(())
}

/// Replaces `path` with `bytes` atomically and durably; the new file is private (0600) when
/// `private` is set.
pub fn replace(path: &Path, bytes: &[u8], private: bool) -> Result<(), CliError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(input(format!("cannot write {}: {e}", path.display())));
    }
    sync_parent(path);
    Ok(())
}

/// Syncs the directory holding `path`, so a new or renamed file survives a crash. Not every
/// platform lets a directory be opened; there it is skipped.
pub fn sync_parent(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// `value` as pretty JSON with a final newline.
pub fn pretty(value: &impl serde::Serialize) -> Result<Vec<u8>, CliError> {
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|e| input(format!("cannot encode JSON: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_never_overwritten() {
        let dir = std::env::temp_dir().join(format!("daylight-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        create_private(&path, b"one").unwrap();
        let error = create_private(&path, b"two").unwrap_err();
        assert!(error.to_string().contains("never overwritten"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        replace(&path, b"three", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
