//! How the node's process takes memory from the kernel (decision 0024).
//!
//! The node allocates through mimalloc (`src/main.rs`). mimalloc asks the kernel for
//! transparent huge pages on its arenas and gives freed memory back soon after (10 ms by
//! default). With huge pages, each reuse of returned memory faults in and zeroes a whole
//! 2 MiB page. A mirror's catch-up frees and reuses its chunk buffers every few
//! milliseconds, and a profile of it spent a third of its time zeroing pages in the kernel
//! (`clear_page_erms`). Ordinary 4 KiB pages fault in only what is touched.

/// Turns transparent huge pages off for this process (Linux `prctl(PR_SET_THP_DISABLE)`);
/// it applies to memory already mapped too. Call it first thing in `main`. Where the
/// kernel refuses, the node runs as before, and a debug line says why.
pub fn use_small_pages() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!("transparent huge pages stay on: {e}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn huge_pages_are_off_once_asked() {
        super::use_small_pages();
        assert!(rustix::thread::transparent_huge_pages_are_disabled().unwrap());
    }
}
