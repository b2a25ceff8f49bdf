//! Stopping: waiting for the request to stop (the same way for `run` and `demo`), and the one
//! mechanism every long-running task of a node stops by.
//!
//! [`Shutdown`] is a [`CancellationToken`] and a [`TaskTracker`]. Every long-running task is
//! spawned through it ([`Shutdown::spawn`]) and watches the token ([`Shutdown::cancelled`],
//! [`Shutdown::is_cancelled`]). Cancellation is a state, not an event: a task that looks after
//! the token was cancelled still sees it cancelled, so a stop is never consumed and then waited
//! for. Tasks that need to stop at a different moment from the others get a child
//! ([`Shutdown::child`]): the same tracker, a token cancelled with its parent or on its own.
//!
//! [`crate::node::RunningNode::shutdown`] stops a node in this order, one stage after another:
//!
//! 1. The HTTP server (its own child token). It stops accepting and finishes the requests in
//!    flight first, because those may still need everything below: a submission waits for the
//!    sequencer, a read for storage.
//! 2. The auditor, the scrub and the static publisher (another child token). They only read
//!    storage or submit through the sequencer, which still runs; a cut pass of the scrub or the
//!    publisher leaves nothing half-written (the static copy writes its checkpoint last).
//! 3. The network and replication (the root token), with every task replication spawned
//!    (catch-ups, head pulls, answers to peers). Nothing else depends on them any more.
//! 4. The tracker is closed and waited for, for a bounded time; whatever did not stop is
//!    named in a warning.
//! 5. The sequencer thread, through its own `shutdown` (it finishes the batch in hand), once
//!    nothing can submit to it any more.
//! 6. Compaction, which needs the only reference to the store: every task above held one.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tokio_util::task::TaskTracker;

/// Resolves when the process is asked to stop: Ctrl-C (SIGINT) or, on Unix, SIGTERM.
pub async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// One node's stop signal and the tasks that must end before it is stopped (see the module
/// documentation for the order). Clones share both.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Shutdown {
    /// A fresh token, not cancelled, and an empty tracker.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// The same tracker with a child token: cancelled when this one is, or on its own (which
    /// leaves this one alone). For stopping some tasks before the others.
    pub fn child(&self) -> Shutdown {
        Shutdown {
            token: self.token.child_token(),
            tracker: self.tracker.clone(),
        }
    }

    /// Spawns `future` as a tracked task. It runs to its end: it must watch the token itself.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(future)
    }

    /// Spawns `future` as a tracked task that is dropped at its next await once the token is
    /// cancelled (for work that may be cut anywhere: each of its writes is a transaction).
    /// The task's output is `None` when it was cut.
    pub fn spawn_until_cancelled<F>(&self, future: F) -> JoinHandle<Option<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let token = self.token.clone();
        self.tracker
            .spawn(async move { token.run_until_cancelled(future).await })
    }

    /// Resolves once the token is cancelled (at once if it already is).
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }

    /// Whether the token is cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Cancels the token (and every child's).
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Closes the tracker (no task is expected after this) and waits at most `limit` for
    /// every tracked task to end. Returns how many were still running.
    pub async fn close_and_wait(&self, limit: Duration) -> usize {
        self.tracker.close();
        match tokio::time::timeout(limit, self.tracker.wait()).await {
            Ok(()) => 0,
            Err(_) => self.tracker.len(),
        }
    }
}

/// Waits at most `limit` for the task `what` to end; warns, naming it, if it did not (the task
/// is left running) or if it panicked.
pub async fn join_within<T>(what: &str, task: JoinHandle<T>, limit: Duration) -> Option<T> {
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(output)) => Some(output),
        Ok(Err(e)) => {
            tracing::warn!("stopping: the {what} task failed: {e}");
            None
        }
        Err(_) => {
            tracing::warn!(
                "stopping: the {what} task did not stop within {}s; going on without it",
                limit.as_secs()
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cancelled child leaves its parent running; a cancelled parent cancels its children;
    /// the tracker waits for tasks spawned through either.
    #[tokio::test]
    async fn children_stop_first_and_the_tracker_waits_for_all() {
        let root = Shutdown::new();
        let child = root.child();
        let watcher = child.clone();
        let first = child.spawn(async move { watcher.cancelled().await });
        let cut = root.spawn_until_cancelled(std::future::pending::<()>());
        child.cancel();
        assert!(!root.is_cancelled());
        join_within("first", first, Duration::from_secs(10))
            .await
            .expect("the child's task ends");
        root.cancel();
        assert_eq!(cut.await.unwrap(), None);
        assert_eq!(root.close_and_wait(Duration::from_secs(10)).await, 0);
    }
}
