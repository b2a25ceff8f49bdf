//! Spreading independent pieces of work over the cores, with results in a fixed order.
//!
//! The audit must give the same answer however the work was split, so the one primitive
//! here returns each result at the position of its input, whichever thread computed it and
//! whenever it finished. Workers take the next item from a shared queue, so an item that
//! takes long does not hold up the others; put the slowest items first.

use std::sync::{Mutex, PoisonError};

/// The number of threads worth running: the cores available to this process.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `items.map(f)` computed on all cores; the result at position `i` is `f(items[i])`.
///
/// A panic in `f` is raised again on the calling thread once the other workers stop.
pub(crate) fn map_in_order<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let count = items.len();
    let threads = cores().min(count);
    if threads <= 1 {
        return items.into_iter().map(f).collect();
    }
    let queue = Mutex::new(items.into_iter().enumerate());
    let done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        // Taking the lock only to pull the next item: `f` runs unlocked.
                        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
                        let Some((position, item)) = next else { break };
                        done.push((position, f(item)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(done) => done,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    let mut slots: Vec<Option<R>> = (0..count).map(|_| None).collect();
    for (position, result) in done {
        slots[position] = Some(result);
    }
    // Every position was taken from the queue exactly once and its result kept.
    slots.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_in_input_order_whatever_the_work_takes() {
        let items: Vec<u64> = (0..200).collect();
        let out = map_in_order(items, |n| {
            // Uneven work, so that workers finish out of order.
            let mut x = n;
            for _ in 0..(200 - n) * 1000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
            (n, x != 0 || n == 0)
        });
        assert_eq!(out.len(), 200);
        assert!(out.iter().enumerate().all(|(i, &(n, _))| n == i as u64));
    }

    #[test]
    fn no_items_and_one_item() {
        assert!(map_in_order(Vec::<u8>::new(), |x| x).is_empty());
        assert_eq!(map_in_order(vec![7], |x| x * 2), vec![14]);
    }

    #[test]
    #[should_panic(expected = "item 3 fails")]
    fn a_panic_reaches_the_caller() {
        map_in_order((0..8).collect(), |x: i32| {
            assert!(x != 3, "item 3 fails");
            x
        });
    }
}
