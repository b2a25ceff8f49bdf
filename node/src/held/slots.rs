//! An append-only list whose elements never move: a reference to one stays valid for as long
//! as the list lives, while other threads keep adding. [`super::HeldLogs`] keeps every version
//! of every held log in one, so that lookups can hand out plain references although a new
//! genesis version may add or replace logs at any time.

use std::sync::{Mutex, OnceLock};

/// Slots in the first bucket; bucket `b` holds `FIRST << b`.
const FIRST: usize = 16;
/// Buckets: room for `FIRST · (2^BUCKETS − 1)` elements, far more than memory holds.
const BUCKETS: usize = 40;

/// An append-only list of `T`; elements are only ever added, never changed or removed.
///
/// Built from `OnceLock`s only: a bucket is allocated once and never reallocated, and each
/// slot is written once, so references into it are sound without `unsafe`.
pub(crate) struct Slots<T> {
    buckets: [OnceLock<Box<[OnceLock<T>]>>; BUCKETS],
    /// How many slots are filled; held while one is filled, so writers take turns.
    len: Mutex<usize>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            buckets: std::array::from_fn(|_| OnceLock::new()),
            len: Mutex::new(0),
        }
    }
}

/// The bucket and the offset in it of element `i`.
fn locate(i: usize) -> (usize, usize) {
    let n = i / FIRST + 1;
    let bucket = (usize::BITS - 1 - n.leading_zeros()) as usize;
    (bucket, i - FIRST * ((1 << bucket) - 1))
}

impl<T> Slots<T> {
    /// Adds `value` at the end; returns its position.
    pub(crate) fn push(&self, value: T) -> usize {
        let mut len = self.len.lock().unwrap_or_else(|e| e.into_inner());
        let i = *len;
        let (bucket, offset) = locate(i);
        let slots = self.buckets[bucket]
            .get_or_init(|| (0..FIRST << bucket).map(|_| OnceLock::new()).collect());
        // Positions are handed out under the lock, so this slot is still empty.
        let _ = slots[offset].set(value);
        *len = i + 1;
        i
    }

    /// The element at position `i`, if one was added there.
    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        let (bucket, offset) = locate(i);
        self.buckets.get(bucket)?.get()?.get(offset)?.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_stay_where_they_were_put() {
        let slots = Slots::default();
        let first: &String = {
            slots.push("zero".to_string());
            slots.get(0).unwrap()
        };
        for i in 1..1000 {
            assert_eq!(slots.push(i.to_string()), i);
        }
        assert_eq!(first, "zero", "an early reference survives later pushes");
        for i in 1..1000 {
            assert_eq!(slots.get(i).unwrap(), &i.to_string());
        }
        assert!(slots.get(1000).is_none());
        assert_eq!(locate(15), (0, 15));
        assert_eq!(locate(16), (1, 0));
        assert_eq!(locate(47), (1, 31));
        assert_eq!(locate(48), (2, 0));
    }
}
