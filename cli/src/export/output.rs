//! The files an export writes: each buffered in memory and handed, a megabyte at a time, to
//! a thread of its own that hashes the bytes (SHA-256, for the manifest), and from there to
//! another that writes them with a [`DiskWriter`] (past the page cache where it can). The
//! thread that formats rows never waits for hashing or the disk, and hashing never waits for
//! the disk. What the
//! manifest says of a file is known only once [`OutputFile::finish`] has synced it.
//!
//! Invariant: the writer thread takes the buffers in the order they were filled and hashes
//! exactly the bytes it writes, so the digest is the file's.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use super::disk::DiskWriter;

/// How many bytes are gathered before they go to the writer thread.
const BUFFER: usize = 1 << 20;
/// Buffers filled and not yet hashed, at most: the memory slow hashing can hold up.
const QUEUED: usize = 4;
/// Buffers hashed and not yet written, at most: the memory a slow disk can hold up.
const QUEUED_FOR_DISK: usize = 2;

/// A file being written: buffered, hashed and counted on the way to disk.
pub struct OutputFile {
    name: String,
    buffer: Vec<u8>,
    /// Full buffers to the writer thread; `None` once it has stopped.
    full: Option<SyncSender<Vec<u8>>>,
    /// Written buffers back from it, to be filled again.
    empty: Receiver<Vec<u8>>,
    writer: Option<JoinHandle<std::io::Result<Written>>>,
    /// Data rows (CSV rows, JSON lines, releases) written, for the manifest.
    pub rows: u64,
}

/// What the writer thread hands back when its file is complete.
struct Written {
    file: File,
    sha256: [u8; 32],
    bytes: u64,
}

/// A finished file, as the manifest lists it.
#[derive(Debug, Clone)]
pub struct WrittenFile {
    /// The file name inside the export directory.
    pub name: String,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
    /// Data rows.
    pub rows: u64,
}

impl OutputFile {
    /// Creates `dir/name`, replacing any file there, and starts its writer thread.
    pub fn create(dir: &Path, name: &str) -> std::io::Result<OutputFile> {
        let file = DiskWriter::create(&dir.join(name))?;
        let (full, to_hash) = sync_channel::<Vec<u8>>(QUEUED);
        let (give_back, empty) = sync_channel::<Vec<u8>>(QUEUED + QUEUED_FOR_DISK + 2);
        let file_name = name.to_string();
        let writer = std::thread::Builder::new()
            .name(format!("export-{name}"))
            .spawn(move || hash_and_write(file, &file_name, to_hash, give_back))?;
        Ok(OutputFile {
            name: name.to_string(),
            buffer: Vec::with_capacity(BUFFER),
            full: Some(full),
            empty,
            writer: Some(writer),
            rows: 0,
        })
    }

    /// Hands the buffer to the writer thread and takes a written one (or a new one) to fill.
    fn hand_over(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BUFFER));
        let full = std::mem::replace(&mut self.buffer, next);
        let sent = match &self.full {
            Some(sender) => sender.send(full).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The writer stopped: it failed, and says why when joined.
        self.join()?;
        Err(std::io::Error::other(format!(
            "the writer of {} stopped",
            self.name
        )))
    }

    /// Waits for the writer thread to write everything handed over; its error if it failed.
    fn join(&mut self) -> std::io::Result<Written> {
        self.full = None;
        let writer = self
            .writer
            .take()
            .ok_or_else(|| std::io::Error::other(format!("{} is already closed", self.name)))?;
        writer
            .join()
            .map_err(|_| std::io::Error::other(format!("the writer of {} panicked", self.name)))?
    }

    /// Lets `row` append one row straight to the buffer, instead of formatting it elsewhere
    /// and copying it in. The buffer is handed over first if a row of up to [`ROW_ROOM`]
    /// bytes might not fit (a longer row still goes in whole: the buffer grows). A row that
    /// fails leaves the file unfinished, as any failed write does: the export is abandoned.
    pub fn append_row<T>(
        &mut self,
        row: impl FnOnce(&mut Vec<u8>) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        if self.buffer.len() + ROW_ROOM > BUFFER {
            self.hand_over()?;
        }
        let written = row(&mut self.buffer)?;
        self.rows += 1;
        Ok(written)
    }

    /// Writes what is left, syncs the file and closes it; returns what the manifest says of it.
    pub fn finish(mut self) -> std::io::Result<WrittenFile> {
        self.hand_over()?;
        let written = self.join()?;
        written.file.sync_all()?;
        Ok(WrittenFile {
            name: std::mem::take(&mut self.name),
            sha256: hex::encode(written.sha256),
            bytes: written.bytes,
            rows: self.rows,
        })
    }
}

/// The room [`OutputFile::append_row`] keeps for a row: far more than a release or a line.
const ROW_ROOM: usize = 64 << 10;

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.buffer.len() + buf.len() > BUFFER {
            self.hand_over()?;
        }
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    /// Hands what is buffered to the writer thread (it reaches the disk at [`finish`]).
    ///
    /// [`finish`]: OutputFile::finish
    fn flush(&mut self) -> std::io::Result<()> {
        self.hand_over()
    }
}

impl Drop for OutputFile {
    /// An abandoned file (a failed export) stops its writer; the staging directory that holds
    /// the file is removed anyway.
    fn drop(&mut self) {
        self.full = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// The hashing thread: hashes each buffer in order and passes it on to the disk thread it
/// starts. A disk thread that fails stops taking buffers; its error is the one returned.
fn hash_and_write(
    file: DiskWriter,
    name: &str,
    to_hash: Receiver<Vec<u8>>,
    give_back: SyncSender<Vec<u8>>,
) -> std::io::Result<Written> {
    let (hashed, to_write) = sync_channel::<Vec<u8>>(QUEUED_FOR_DISK);
    let disk = std::thread::Builder::new()
        .name(format!("disk-{name}"))
        .spawn(move || write_all(file, to_write, give_back))?;
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    for buffer in to_hash {
        hasher.update(&buffer);
        bytes += buffer.len() as u64;
        if hashed.send(buffer).is_err() {
            break;
        }
    }
    drop(hashed);
    let file = disk
        .join()
        .map_err(|_| std::io::Error::other(format!("the disk writer of {name} panicked")))??;
    Ok(Written {
        file,
        sha256: hasher.finalize().into(),
        bytes,
    })
}

/// The disk thread: writes each buffer in order and gives it back to be filled again.
fn write_all(
    mut file: DiskWriter,
    to_write: Receiver<Vec<u8>>,
    give_back: SyncSender<Vec<u8>>,
) -> std::io::Result<File> {
    for mut buffer in to_write {
        file.write(&buffer)?;
        buffer.clear();
        // The owner may have finished or may hold enough buffers already.
        let _ = give_back.try_send(buffer);
    }
    file.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("daylight-output-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn output_files_hash_what_they_write() {
        let dir = dir("small");
        let mut f = OutputFile::create(&dir, "a.txt").unwrap();
        f.write_all(b"abc").unwrap();
        let written = f.finish().unwrap();
        assert_eq!(
            written.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(written.bytes, 3);
        assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"abc");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_disk_that_fails_is_an_error_not_a_hang() {
        // /dev/full takes the open and fails every write with "no space left on device".
        let mut f = OutputFile::create(Path::new("/dev"), "full").unwrap();
        let chunk = vec![b'x'; 100_000];
        let mut failed = None;
        for _ in 0..200 {
            if let Err(e) = f.write_all(&chunk) {
                failed = Some(e);
                break;
            }
        }
        let error = match failed {
            Some(e) => e,
            None => f.finish().unwrap_err(),
        };
        assert!(
            error.to_string().contains("space") || error.to_string().contains("stopped"),
            "{error}"
        );
    }

    #[test]
    fn many_buffers_arrive_whole_and_in_order() {
        let dir = dir("large");
        let mut f = OutputFile::create(&dir, "b.bin").unwrap();
        let mut expected = Vec::new();
        // Writes of every size, some larger than a buffer, 9 MiB in all.
        let mut n = 0u32;
        while expected.len() < 9 << 20 {
            let len = (n as usize * 7919) % (BUFFER + BUFFER / 3);
            let chunk: Vec<u8> = (0..len).map(|i| (i as u32 ^ n) as u8).collect();
            f.write_all(&chunk).unwrap();
            expected.extend_from_slice(&chunk);
            n += 1;
        }
        let written = f.finish().unwrap();
        let on_disk = std::fs::read(dir.join("b.bin")).unwrap();
        assert!(
            on_disk == expected,
            "the file differs from what was written"
        );
        assert_eq!(written.bytes, expected.len() as u64);
        assert_eq!(written.sha256, hex::encode(Sha256::digest(&expected)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
