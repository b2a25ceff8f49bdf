//! The open connections: each one's shared state, its requests in flight, and the registry
//! that counts them against the cap and chooses which idle one to shed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::guards::HttpGuards;

/// One connection's state, shared by its task, its I/O and the requests it carries.
#[derive(Debug)]
pub(super) struct Connection {
    pub(super) id: u64,
    pub(super) peer: SocketAddr,
    /// The registry's clock: times below are milliseconds since it.
    clock: Instant,
    in_flight: AtomicU32,
    /// Requests begun (their head was read) and answered (their response body ended).
    pub(super) started: AtomicU64,
    pub(super) finished: AtomicU64,
    /// When the connection last became idle: accepted, or its last response ended.
    idle_since_ms: AtomicU64,
    /// Told when the connection is chosen to be shed.
    pub(super) shed: Notify,
}

impl Connection {
    pub(super) fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    pub(super) fn idle_since(&self) -> Instant {
        self.clock + Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire))
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Marks a request in flight on its connection until dropped (when its response body ends,
/// or the request is abandoned).
pub(super) struct InFlight(Arc<Connection>, Arc<HttpGuards>);

impl InFlight {
    pub(super) fn begin(connection: Arc<Connection>, guards: Arc<HttpGuards>) -> InFlight {
        connection.in_flight.fetch_add(1, Ordering::AcqRel);
        connection.started.fetch_add(1, Ordering::AcqRel);
        guards.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(connection, guards)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let c = &self.0;
        c.idle_since_ms.store(c.now_ms(), Ordering::Release);
        c.finished.fetch_add(1, Ordering::AcqRel);
        c.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.1.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The open connections, for the cap and for choosing which to shed.
#[derive(Debug)]
pub(super) struct Registry {
    clock: Instant,
    next: AtomicU64,
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
    /// Told whenever a connection closes.
    pub(super) closed: Notify,
}

impl Registry {
    pub(super) fn new() -> Registry {
        Registry {
            clock: Instant::now(),
            next: AtomicU64::new(0),
            connections: Mutex::new(HashMap::new()),
            closed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    pub(super) fn register(&self, peer: SocketAddr) -> Arc<Connection> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection {
            id,
            peer,
            clock: self.clock,
            in_flight: AtomicU32::new(0),
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            idle_since_ms: AtomicU64::new(0),
            shed: Notify::new(),
        });
        connection
            .idle_since_ms
            .store(connection.now_ms(), Ordering::Release);
        self.lock().insert(id, connection.clone());
        connection
    }

    /// Removes and returns the connection to shed: one with no request in flight, preferring
    /// one that never sent a request, then the one idle longest. `None` if every connection
    /// is busy.
    pub(super) fn take_idle(&self) -> Option<Arc<Connection>> {
        let mut connections = self.lock();
        let id = connections
            .values()
            .filter(|c| c.idle())
            .min_by_key(|c| {
                (
                    c.started.load(Ordering::Acquire) > 0,
                    c.idle_since_ms.load(Ordering::Acquire),
                )
            })?
            .id;
        connections.remove(&id)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
        self.closed.notify_waiters();
    }
}

/// Removes a connection from the registry and the gauge when its task ends, however it ends.
pub(super) struct OpenConnection {
    pub(super) registry: Arc<Registry>,
    pub(super) guards: Arc<HttpGuards>,
    pub(super) id: u64,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.registry.remove(self.id);
        self.guards.metrics.open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idle_connection_that_never_asked_goes_first() {
        let registry = Registry::new();
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let served = registry.register(peer);
        served.started.store(1, Ordering::Release);
        let busy = registry.register(peer);
        busy.in_flight.store(1, Ordering::Release);
        let silent = registry.register(peer);
        assert_eq!(registry.take_idle().map(|c| c.id), Some(silent.id));
        assert_eq!(registry.take_idle().map(|c| c.id), Some(served.id));
        assert!(registry.take_idle().is_none());
        assert_eq!(registry.len(), 1);
    }
}
