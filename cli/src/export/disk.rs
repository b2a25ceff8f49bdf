//! Bytes to a file on disk, past the page cache where the file system allows it.
//!
//! An export writes gigabytes once and never reads them back. Through the page cache every
//! byte is copied into pages the kernel must first find and map, and then written back at
//! the final sync; on the VM these figures come from, writing 2 GB that way took 3.9 s where
//! the same bytes written with `O_DIRECT` took 1.2 s (docs/PERFORMANCE.md, "Export", fifth
//! pass). So a [`DiskWriter`] gathers bytes into a block-aligned staging buffer and writes
//! whole blocks with `O_DIRECT`; only the last partial block goes through the page cache.
//! Where `O_DIRECT` is refused (tmpfs, some network file systems, other systems), it writes
//! through the page cache and starts write-back every [`WRITE_BACK_EVERY`] bytes instead.
//!
//! Invariant: the bytes reach the file in the order given, each exactly once; the file's
//! position only moves by whole blocks while `O_DIRECT` is on, so every direct write starts
//! on a block boundary.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// The alignment `O_DIRECT` asks of memory, file offsets and lengths. 4 KiB covers the
/// logical block size of the disks and file systems an export is written to.
const BLOCK: usize = 4096;
/// Bytes gathered before a direct write: large enough that the disk sees long writes.
const STAGING: usize = 4 << 20;
/// Through the page cache: how much a file grows between two hand-overs to write-back.
const WRITE_BACK_EVERY: u64 = 64 << 20;

/// Writes one file, straight to the disk in whole blocks when it can.
pub struct DiskWriter {
    file: File,
    mode: Mode,
}

enum Mode {
    /// `O_DIRECT` is on: bytes wait in `staging[start..start + filled]`, `start` aligned.
    Direct {
        staging: Vec<u8>,
        start: usize,
        filled: usize,
    },
    /// Through the page cache, with write-back started as the file grows.
    Cached { bytes: u64, written_back: u64 },
}

impl DiskWriter {
    /// Creates `path` (replacing any file there) for writing past the page cache if the
    /// file system allows, else through it.
    pub fn create(path: &Path) -> std::io::Result<DiskWriter> {
        match open_direct(path) {
            Ok(file) => Ok(DiskWriter::direct(file)),
            Err(_) => Ok(DiskWriter::cached(File::create(path)?)),
        }
    }

    fn direct(file: File) -> DiskWriter {
        let staging = vec![0u8; STAGING + BLOCK];
        let start = staging.as_ptr().align_offset(BLOCK);
        DiskWriter {
            file,
            mode: Mode::Direct {
                staging,
                start,
                filled: 0,
            },
        }
    }

    /// A writer that goes through the page cache whatever the file system allows.
    pub fn cached(file: File) -> DiskWriter {
        DiskWriter {
            file,
            mode: Mode::Cached {
                bytes: 0,
                written_back: 0,
            },
        }
    }

    /// Whether whole blocks go past the page cache.
    #[cfg(test)]
    fn is_direct(&self) -> bool {
        matches!(self.mode, Mode::Direct { .. })
    }

    /// Writes `bytes` after everything written before.
    pub fn write(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        while !bytes.is_empty() {
            match &mut self.mode {
                Mode::Cached {
                    bytes: total,
                    written_back,
                } => {
                    self.file.write_all(bytes)?;
                    *total += bytes.len() as u64;
                    if *total - *written_back >= WRITE_BACK_EVERY {
                        *written_back = *total;
                        write_back(self.file.try_clone()?);
                    }
                    return Ok(());
                }
                Mode::Direct {
                    staging,
                    start,
                    filled,
                } => {
                    let taken = bytes.len().min(STAGING - *filled);
                    let at = *start + *filled;
                    staging[at..at + taken].copy_from_slice(&bytes[..taken]);
                    *filled += taken;
                    bytes = &bytes[taken..];
                    if *filled == STAGING {
                        self.write_staged_blocks()?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes the whole blocks staged; what is left of a partial block moves to the front.
    /// A file system that takes the `O_DIRECT` open but refuses the write gets the same
    /// bytes through the page cache, and every write after them.
    fn write_staged_blocks(&mut self) -> std::io::Result<()> {
        let Mode::Direct {
            staging,
            start,
            filled,
        } = &mut self.mode
        else {
            return Ok(());
        };
        let whole = *filled / BLOCK * BLOCK;
        if whole == 0 {
            return Ok(());
        }
        let blocks = &staging[*start..*start + whole];
        let mut written = 0;
        if let Err(direct) = write_blocks(&mut self.file, blocks, &mut written) {
            if direct.kind() != std::io::ErrorKind::InvalidInput {
                return Err(direct);
            }
            // EINVAL: the file system does not do direct writes after all. The blocks it
            // refused, and everything after them, go through the page cache.
            let rest = staging[*start + written..*start + *filled].to_vec();
            self.stop_direct()?;
            return self.write(&rest);
        }
        staging.copy_within(*start + whole..*start + *filled, *start);
        *filled -= whole;
        Ok(())
    }

    /// Switches the file to the page cache for what follows.
    fn stop_direct(&mut self) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
            let flags = fcntl_getfl(&self.file)?;
            fcntl_setfl(&self.file, flags - OFlags::DIRECT)?;
        }
        self.mode = Mode::Cached {
            bytes: 0,
            written_back: 0,
        };
        Ok(())
    }

    /// Writes what is staged (the last partial block through the page cache) and returns
    /// the file, for its owner to sync.
    pub fn finish(mut self) -> std::io::Result<File> {
        self.write_staged_blocks()?;
        if let Mode::Direct {
            staging,
            start,
            filled,
        } = &self.mode
        {
            let tail = staging[*start..*start + *filled].to_vec();
            self.stop_direct()?;
            self.file.write_all(&tail)?;
        }
        Ok(self.file)
    }
}

/// Opens `path` with `O_DIRECT`, or says why not.
#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32)
        .open(path)
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_: &Path) -> std::io::Result<File> {
    Err(std::io::Error::other(
        "direct writes are used on Linux only",
    ))
}

/// Writes whole blocks with one `write` call after another, counting in `written` the bytes
/// the file took; a direct write that comes back short of a block (the disk filled) is
/// reported as an error, never retried from a misaligned offset.
fn write_blocks(file: &mut File, blocks: &[u8], written: &mut usize) -> std::io::Result<()> {
    while *written < blocks.len() {
        match file.write(&blocks[*written..]) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) if n % BLOCK == 0 => *written += n,
            Ok(_) => {
                return Err(std::io::Error::other(
                    "the disk took only part of a block: is it full?",
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Starts writing `file`'s dirty pages to disk on a background thread and returns at once,
/// so that the disk works while the export computes instead of all of it waiting for the
/// final sync. A failed background sync is not reported here: the final `sync_all` is.
fn write_back(file: File) {
    static QUEUE: std::sync::OnceLock<Option<std::sync::mpsc::Sender<File>>> =
        std::sync::OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (queue, files) = std::sync::mpsc::channel::<File>();
        std::thread::Builder::new()
            .name("export-write-back".into())
            .spawn(move || {
                for file in files {
                    let _ = file.sync_data();
                }
            })
            .ok()
            .map(|_| queue)
    });
    if let Some(queue) = queue {
        // The thread never stops, so sending cannot fail.
        let _ = queue.send(file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes of every size, some larger than the staging buffer, some of one byte.
    fn pieces() -> Vec<Vec<u8>> {
        let mut pieces = Vec::new();
        let mut total = 0;
        let mut n = 0usize;
        while total < 3 * STAGING + 12_345 {
            let len = match n % 5 {
                0 => 1,
                1 => BLOCK,
                2 => (n * 7919) % (STAGING + STAGING / 3),
                3 => BLOCK - 1,
                _ => (n * 104_729) % 70_000,
            };
            pieces.push((0..len).map(|i| (i ^ n) as u8).collect());
            total += len;
            n += 1;
        }
        pieces
    }

    fn write_and_read_back(dir: &Path, force_cached: bool) {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join("out.bin");
        let mut writer = if force_cached {
            DiskWriter::cached(File::create(&path).unwrap())
        } else {
            DiskWriter::create(&path).unwrap()
        };
        let mut expected = Vec::new();
        for piece in pieces() {
            writer.write(&piece).unwrap();
            expected.extend_from_slice(&piece);
        }
        writer.finish().unwrap().sync_all().unwrap();
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(on_disk.len(), expected.len());
        assert!(
            on_disk == expected,
            "the file differs from what was written"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bytes_arrive_whole_and_in_order_past_the_page_cache() {
        let dir = std::env::temp_dir().join(format!("daylight-disk-direct-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // The machines this runs on keep /tmp on ext4, which takes direct writes; elsewhere
        // the writer falls back, and the bytes must still be right.
        let direct = DiskWriter::create(&dir.join("probe")).unwrap().is_direct();
        if cfg!(target_os = "linux") && !direct {
            eprintln!("note: {} does not take O_DIRECT here", dir.display());
        }
        write_and_read_back(&dir, false);
    }

    #[test]
    fn bytes_arrive_whole_and_in_order_on_tmpfs() {
        // tmpfs refuses O_DIRECT on older kernels and takes it on newer ones: either way the
        // file must hold what was written.
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            write_and_read_back(
                &shm.join(format!("daylight-disk-{}", std::process::id())),
                false,
            );
        }
    }

    #[test]
    fn bytes_arrive_whole_and_in_order_through_the_page_cache() {
        let dir = std::env::temp_dir().join(format!("daylight-disk-cached-{}", std::process::id()));
        write_and_read_back(&dir, true);
    }

    #[test]
    fn an_empty_file_and_a_file_of_one_partial_block() {
        let dir = std::env::temp_dir().join(format!("daylight-disk-small-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for len in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1] {
            let path = dir.join(format!("f{len}"));
            let mut writer = DiskWriter::create(&path).unwrap();
            writer.write(&vec![7u8; len]).unwrap();
            writer.finish().unwrap().sync_all().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), vec![7u8; len]);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
