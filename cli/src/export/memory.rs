//! How an export takes memory from the kernel (docs/decisions/0026-export-without-huge-pages.md).
//!
//! An export keeps every record's state until the end and builds each process's compiled
//! release in memory: about a gigabyte for 1,000,000 records, all of it new to the process.
//! mimalloc (the allocator of `daylight`, `src/main.rs`) marks its arenas for transparent
//! huge pages, so each first touch asks the kernel for a whole zeroed 2 MiB page. On the
//! virtual machines measured, where the host takes freed memory back, those faults made
//! a 1,000,000-record OCDS export 2.3 times slower than with ordinary 4 KiB pages.

/// Turns transparent huge pages off for this process (Linux `prctl(PR_SET_THP_DISABLE)`),
/// memory already mapped included. Call it before the reading starts. Where the kernel
/// refuses, the export runs as before.
pub fn use_small_pages() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _refused_is_harmless = rustix::thread::disable_transparent_huge_pages(true);
}

#[cfg(test)]
mod tests {
    /// Asks the kernel itself (`THP_enabled` in /proc/self/status, Linux 6.x), and the prctl
    /// where the kernel does not say.
    #[test]
    #[cfg(target_os = "linux")]
    fn the_kernel_says_huge_pages_are_off() {
        super::use_small_pages();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        match status.lines().find(|l| l.starts_with("THP_enabled:")) {
            Some(line) => assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}"),
            None => assert!(rustix::thread::transparent_huge_pages_are_disabled().unwrap()),
        }
    }
}
