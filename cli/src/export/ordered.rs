//! Work split over every core with its results taken in order: numbered runs are mapped on
//! worker threads (in any order, one run at a time each), and this thread takes each result
//! once every run before it has been taken. Reading entries (check on every core, apply in
//! log order) and writing `current.jsonl` (serialise on every core, write in order) both
//! have this shape.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Maps runs `0..runs` with `map` on every core and hands each result to `take` on this
/// thread, in run order, as soon as it and every run before it are ready. Stops at the first
/// error `take` returns (the workers stop at their next run). A worker that panics is an
/// error, never a run silently skipped.
pub fn map_in_order<R: Send>(
    runs: usize,
    map: impl Fn(usize) -> R + Sync,
    mut take: impl FnMut(usize, R) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (done, arrived) = std::sync::mpsc::channel::<(usize, R)>();
        let workers: Vec<_> = (0..threads.min(runs))
            .map(|_| {
                let (done, next, map) = (done.clone(), &next, &map);
                scope.spawn(move || {
                    loop {
                        let run = next.fetch_add(1, Ordering::Relaxed);
                        // The receiver is gone only when `take` failed: stop.
                        if run >= runs || done.send((run, map(run))).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        drop(done);
        let mut due = 0;
        let taken: std::io::Result<()> = (|| {
            let mut waiting: BTreeMap<usize, R> = BTreeMap::new();
            for (run, result) in arrived.iter() {
                waiting.insert(run, result);
                while let Some(result) = waiting.remove(&due) {
                    take(due, result)?;
                    due += 1;
                }
            }
            Ok(())
        })();
        // Workers see the receiver gone and stop; a panic is joined here, not re-raised.
        drop(arrived);
        for worker in workers {
            let _ = worker.join();
        }
        taken?;
        if due < runs {
            return Err(std::io::Error::other(format!(
                "a worker thread failed at run {due} of {runs}"
            )));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_taken_in_order_whatever_order_they_finish_in() {
        let mut taken = Vec::new();
        map_in_order(
            200,
            |run| {
                // Early runs take longest, so they tend to finish last.
                let work = (0..(200 - run) * 2_000).fold(0usize, |a, i| a.wrapping_add(i * i));
                std::hint::black_box(work);
                run * 3
            },
            |run, value| {
                taken.push((run, value));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(taken, (0..200).map(|r| (r, r * 3)).collect::<Vec<_>>());
    }

    #[test]
    fn an_error_stops_taking_and_a_panic_is_an_error() {
        let mut taken = 0;
        let stopped = map_in_order(
            100,
            |run| run,
            |run, _| {
                taken += 1;
                if run == 9 {
                    Err(std::io::Error::other("disk full"))
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(stopped.unwrap_err().to_string(), "disk full");
        assert_eq!(taken, 10);
        let panicked = map_in_order(
            10,
            |run| {
                assert_ne!(run, 4, "a bad run");
                run
            },
            |_, _| Ok(()),
        );
        assert!(panicked.unwrap_err().to_string().contains("run 4 of 10"));
    }
}
