//! The bytes a JSON string cannot hold as they are (RFC 8259 §7): control characters, the
//! quotation mark and the reverse solidus. The entry reader's scan looks for them to find
//! where a string ends, and the export's JSON writer to find what to escape; both look at
//! every string of every entry, so they look eight bytes at a time.

/// Whether `byte` must be escaped in a JSON string.
pub const fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Where the first byte of `bytes` that [`needs_escape`] is, if there is one.
///
/// How: in a word `w` of eight bytes, `(w - 0x01..01 × n) & !w & 0x80..80` is non-zero
/// exactly when some byte of `w` is below `n` (for `n` up to 0x80; a byte at 0x80 or above
/// never counts), and a byte equal to `c` is a byte of `w ^ c..c` below 1. Only a word with
/// such a byte is looked at byte by byte.
pub fn first_needing_escape(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH;
    let mut words = bytes.chunks_exact(8);
    let mut start = 0;
    for word in &mut words {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let w = u64::from_le_bytes(eight);
        let special = below(w, 0x20)
            | below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1);
        if special != 0
            && let Some(at) = word.iter().position(|&b| needs_escape(b))
        {
            return Some(start + at);
        }
        start += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| needs_escape(b))
        .map(|at| start + at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exactly_the_first_byte_to_escape() {
        for byte in 0..=u8::MAX {
            assert_eq!(
                needs_escape(byte),
                byte < 0x20 || byte == b'"' || byte == b'\\'
            );
            for at in 0..24 {
                let mut bytes = vec![b'a'; 24];
                bytes[at] = byte;
                let expected = needs_escape(byte).then_some(at);
                assert_eq!(first_needing_escape(&bytes), expected, "{byte:#x} at {at}");
                // Plain bytes next to it, just above the limit or with the high bit set, do
                // not hide it or stand in for it.
                for plain in [0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xff] {
                    bytes[..at].fill(plain);
                    bytes[at + 1..].fill(plain);
                    assert_eq!(first_needing_escape(&bytes), expected, "{byte:#x} at {at}");
                }
                assert_eq!(first_needing_escape(&bytes[..at]), None);
            }
        }
        assert_eq!(first_needing_escape(b""), None);
        assert_eq!(first_needing_escape(b"ab\"cd\\"), Some(2));
    }
}
