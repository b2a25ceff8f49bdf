//! Work split over every core with its results taken in order: numbered runs are mapped on
//! worker threads (in any order, one run at a time each), and this thread takes each result
//! once every run before it has been taken. Reading entries (check on every core, apply in
//! log order) and writing `current.jsonl` (serialise on every core, write in order) both
//! have this shape.
//!
//! Invariant: no worker starts run `r` before run `r - ahead` has been taken (`ahead` is
//! [`AHEAD_PER_THREAD`] runs per thread, and at least [`AHEAD_AT_LEAST`]), so however slow
//! the taker (a disk, a long apply), at most that many results wait in memory.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// Runs each worker may be ahead of the taker, on average.
const AHEAD_PER_THREAD: usize = 2;

/// Runs the workers together may be ahead of the taker, however few they are. With two
/// workers and four runs, the taker often waited for the one run still being mapped while
/// the other worker waited for room, a core idle: sixteen took the OCDS pass's history
/// from 3.4 s to 3.15 s (`cargo bench --bench export`, docs/PERFORMANCE.md); sixty-four
/// were no faster.
const AHEAD_AT_LEAST: usize = 16;

/// Lets every waiting worker go if the worker holding it panics: its run never arrives, so
/// the runs after it would otherwise wait for room forever instead of the taker seeing the
/// workers gone and reporting the failure.
struct LetGoOnPanic<'a>(&'a Taken);

impl Drop for LetGoOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.set(usize::MAX);
        }
    }
}

/// How many runs have been taken, for workers waiting to start a run too far ahead.
struct Taken {
    count: Mutex<usize>,
    moved: Condvar,
}

impl Taken {
    /// Waits until run `run` may start: fewer than `ahead` runs between it and the taker.
    fn wait_for_room(&self, run: usize, ahead: usize) {
        let mut count = self.count.lock().unwrap_or_else(|p| p.into_inner());
        while run >= count.saturating_add(ahead) {
            count = self.moved.wait(count).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Says `count` runs are taken (`usize::MAX` lets every waiting worker go, to stop).
    fn set(&self, count: usize) {
        *self.count.lock().unwrap_or_else(|p| p.into_inner()) = count;
        self.moved.notify_all();
    }
}

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
    let ahead = (AHEAD_PER_THREAD * threads).max(AHEAD_AT_LEAST);
    let next = AtomicUsize::new(0);
    let taken = Taken {
        count: Mutex::new(0),
        moved: Condvar::new(),
    };
    std::thread::scope(|scope| {
        let (done, arrived) = std::sync::mpsc::channel::<(usize, R)>();
        let workers: Vec<_> = (0..threads.min(runs))
            .map(|_| {
                let (done, next, map, taken) = (done.clone(), &next, &map, &taken);
                scope.spawn(move || {
                    let _on_panic = LetGoOnPanic(taken);
                    loop {
                        let run = next.fetch_add(1, Ordering::Relaxed);
                        if run >= runs {
                            break;
                        }
                        taken.wait_for_room(run, ahead);
                        // The receiver is gone only when `take` failed: stop.
                        if done.send((run, map(run))).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        drop(done);
        let mut due = 0;
        let outcome: std::io::Result<()> = (|| {
            let mut waiting: BTreeMap<usize, R> = BTreeMap::new();
            for (run, result) in arrived.iter() {
                waiting.insert(run, result);
                let before = due;
                while let Some(result) = waiting.remove(&due) {
                    take(due, result)?;
                    due += 1;
                }
                if due != before {
                    taken.set(due);
                }
            }
            Ok(())
        })();
        // Workers see the receiver gone and stop (those waiting for room are let go first);
        // a panic is joined here, not re-raised.
        drop(arrived);
        taken.set(usize::MAX);
        for worker in workers {
            let _ = worker.join();
        }
        outcome?;
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
    fn workers_stay_a_bounded_number_of_runs_ahead_of_a_slow_taker() {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let started = AtomicUsize::new(0);
        let mut most_ahead = 0;
        map_in_order(
            100,
            |run| {
                started.fetch_max(run + 1, Ordering::SeqCst);
                run
            },
            |run, _| {
                // A slow taker: the workers have every chance to run ahead.
                std::thread::yield_now();
                for _ in 0..50 {
                    std::hint::black_box((0..2_000).sum::<usize>());
                }
                most_ahead = most_ahead.max(started.load(Ordering::SeqCst) - run);
                Ok(())
            },
        )
        .unwrap();
        assert!(
            most_ahead <= (AHEAD_PER_THREAD * threads).max(AHEAD_AT_LEAST) + 1,
            "workers ran {most_ahead} runs ahead of the taker"
        );
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
