//! The HTTP server (DESIGN §5.5 "Abuse"; docs/decisions/0010-http-limits.md): the accept loop,
//! connections, and the limits that keep a public node answering under abuse.
//!
//! [`serve`] replaces `axum::serve`: it accepts connections itself and runs each through
//! hyper's HTTP/1.1 server, so that it can bound and observe them:
//!
//! * **A connection cap**, below the open-file limit ([`HttpGuards::new`] raises the soft limit
//!   to the hard one and keeps [`HttpLimits::fd_reserve`] descriptors for the database, libp2p
//!   and the runtime). At the cap a new connection *sheds* an idle one — a connection with no
//!   request in flight, preferring one that never sent a request, then the one idle longest —
//!   so that clients holding connections open without asking for anything cannot lock out a
//!   real client. Only when every connection has a request in flight is the newcomer refused,
//!   with a 503. A request in flight is never cut short by shedding.
//! * **Timeouts** on the request head (from the connection's start, or from the first byte of
//!   a request on a kept-alive connection) and on idle kept-alive connections, answered with a
//!   408 when part of a request arrived, closed quietly when nothing did.
//! * **Head limits**: request target, head size and header count.
//! * **Submissions** ([`HttpGuards::read_submission`]): a memory budget reserved before a body
//!   is read, the body size, and the number and size of records counted as the bytes arrive,
//!   before anything is parsed.
//! * **JSON errors everywhere** ([`json_errors`]): the framework's own answers (404, 405, 408,
//!   413, an undecodable path) and hyper's answers to a request it cannot parse (400, 414, 431,
//!   written before any router runs; rewritten on their way to the socket) all carry
//!   `{"error": ..., "detail": ...}`.
//!
//! Invariants kept here:
//! * the number of registered connections never exceeds [`HttpGuards::connection_cap`] after
//!   an accept is handled (a connection is registered only once one is shed or there is room);
//! * a connection is shed only when it has no request in flight at the moment it is chosen;
//!   if a request begins in between, that request is finished before the connection closes;
//! * at most `submission_memory_bytes` of submission bodies are held at once: a submission's
//!   reservation is taken before its first byte is read and released only after its answer.
//!
//! The parts, one job each:
//! * this module: [`serve`] and its accept loop, the admission of a connection at the cap
//!   (shedding an idle one, or refusing the newcomer with a 503), and each connection's task
//!   and hyper service;
//! * `registry`: each connection's shared state, its requests in flight, and the registry that
//!   counts connections and picks the one to shed;
//! * `io`: the socket wrapper that times out heads and idle connections and rewrites hyper's
//!   own error answers, and the response body that ends a request's in-flight mark;
//! * `guards`: [`HttpGuards`], what the server and its handlers share, with the open-file
//!   limit and the connection cap;
//! * `metrics`: [`ServeMetrics`], the counters and gauges;
//! * `submission`: the submission memory budget and the streaming record scanner
//!   ([`HttpGuards::read_submission`]), and [`read_body`] for small bodies;
//! * `errors`: JSON errors ([`json_errors`], and the raw answers that replace hyper's).

mod errors;
mod guards;
mod io;
mod metrics;
mod registry;
mod submission;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use self::io::{GuardedIo, TrackedBody};
use self::registry::{Connection, InFlight, OpenConnection, Registry};
use crate::http::{ApiError, REQUEST_TIMEOUT};

pub use self::errors::json_errors;
pub use self::guards::HttpGuards;
pub use self::metrics::ServeMetrics;
pub use self::submission::{OFFLOAD_BYTES, Submission, read_body};
pub use crate::config::HttpLimits;

/// How long requests in flight may take to finish once the node stops, before their
/// connections are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(REQUEST_TIMEOUT.as_secs() + 5);
/// Refused connections that may be answered at once; beyond, they are closed unanswered.
const MAX_LINGERING: usize = 16;
/// How long a refused connection is kept to read its request, so the 503 is not lost to a reset.
const LINGER: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` until `stop` completes, then stops accepting, lets every
/// request in flight finish (up to 35 s: the request timeout and 5 s) and closes idle
/// connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    guards: Arc<HttpGuards>,
    stop: impl Future<Output = ()>,
) {
    let limits = guards.limits();
    let mut builder = http1::Builder::new();
    // A backstop only: GuardedIo times heads and idle connections out first, and answers.
    let backstop = Duration::from_secs(
        limits
            .header_read_timeout_seconds
            .max(limits.keep_alive_seconds)
            + 1,
    );
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(backstop)
        .keep_alive(true)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_header_size(limits.max_header_bytes);
    if limits.max_headers != 100 {
        builder.max_headers(limits.max_headers);
    }
    let builder = Arc::new(builder);
    let registry = Arc::new(Registry::new());
    let (shutdown, shutting_down) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            Some(ended) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = ended {
                    tracing::error!("HTTP connection task failed: {e}");
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Some(connection) = admit(&registry, &guards, peer) else {
                        refuse(stream, &guards);
                        continue;
                    };
                    guards.metrics.open.fetch_add(1, Ordering::Relaxed);
                    let open = OpenConnection {
                        registry: registry.clone(),
                        guards: guards.clone(),
                        id: connection.id,
                    };
                    tasks.spawn(run_connection(
                        stream,
                        connection,
                        open,
                        builder.clone(),
                        router.clone(),
                        shutting_down.clone(),
                    ));
                }
                Err(e) => accept_failed(e, &registry, &guards).await,
            }
        }
    }
    drop(listener);
    let _ = shutdown.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "{} HTTP connections still busy {}s after the node began stopping; closing them",
            tasks.len(),
            SHUTDOWN_GRACE.as_secs()
        );
        tasks.shutdown().await;
    }
}

/// Registers a new connection, shedding an idle one first at the cap; `None` when the cap is
/// reached and every connection has a request in flight.
fn admit(registry: &Registry, guards: &HttpGuards, peer: SocketAddr) -> Option<Arc<Connection>> {
    guards.metrics.accepted.fetch_add(1, Ordering::Relaxed);
    if registry.len() >= guards.cap {
        let Some(victim) = registry.take_idle() else {
            guards.metrics.refused.fetch_add(1, Ordering::Relaxed);
            guards.refuse_warning.warn(|| {
                format!(
                    "HTTP connection cap ({}) reached with a request in flight on every \
                     connection: refused {peer} with a 503",
                    guards.cap
                )
            });
            return None;
        };
        victim.shed.notify_one();
        guards.metrics.shed.fetch_add(1, Ordering::Relaxed);
        guards.shed_warning.warn(|| {
            let how = if victim.started.load(Ordering::Acquire) == 0 {
                "which never sent a request"
            } else {
                "idle between requests"
            };
            format!(
                "HTTP connection cap ({}) reached: closed the connection from {} ({how}, idle \
                 {:.1}s) to admit {peer}",
                guards.cap,
                victim.peer,
                victim.idle_since().elapsed().as_secs_f64()
            )
        });
    }
    Some(registry.register(peer))
}

/// Answers a connection refused at the cap with a 503, reading (and discarding) its request
/// briefly so the answer is not lost to a reset; closes it unanswered when too many are
/// already being answered.
fn refuse(mut stream: TcpStream, guards: &Arc<HttpGuards>) {
    if guards.lingering.fetch_add(1, Ordering::AcqRel) >= MAX_LINGERING {
        guards.lingering.fetch_sub(1, Ordering::AcqRel);
        return;
    }
    let guards = guards.clone();
    tokio::spawn(async move {
        let answer = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_connections",
            format!(
                "this node has {} connections open, each with a request in flight; try again \
                 in a moment",
                guards.cap
            ),
        );
        let body = answer.json_text();
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = tokio::time::timeout(LINGER, async {
            stream.write_all(response.as_bytes()).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 4096];
            let mut read = 0;
            while read < 64 << 10 {
                match stream.read(&mut sink).await? {
                    0 => break,
                    n => read += n,
                }
            }
            std::io::Result::Ok(())
        })
        .await;
        guards.lingering.fetch_sub(1, Ordering::AcqRel);
    });
}

/// After a failed accept: when out of file descriptors, sheds an idle connection and waits
/// (briefly) for one to close; other errors (a connection reset before it was accepted) are
/// the client's and only logged.
async fn accept_failed(e: std::io::Error, registry: &Registry, guards: &HttpGuards) {
    let errno = rustix::io::Errno::from_io_error(&e);
    if !matches!(
        errno,
        Some(rustix::io::Errno::MFILE | rustix::io::Errno::NFILE | rustix::io::Errno::NOBUFS)
    ) {
        tracing::debug!("accept failed: {e}");
        return;
    }
    guards.metrics.fd_exhausted.fetch_add(1, Ordering::Relaxed);
    let closed = registry.closed.notified();
    let victim = registry.take_idle();
    guards.fd_warning.warn(|| {
        format!(
            "out of file descriptors accepting an HTTP connection ({e}); {}: raise the \
             open-file limit or lower [http] max_connections",
            if victim.is_some() {
                "closing an idle connection"
            } else {
                "every connection is busy, waiting for one to close"
            }
        )
    });
    if let Some(victim) = victim {
        guards.metrics.shed.fetch_add(1, Ordering::Relaxed);
        victim.shed.notify_one();
    }
    // Bounded: a descriptor held elsewhere (the database, libp2p) may free without notice.
    let _ = tokio::time::timeout(Duration::from_millis(100), closed).await;
}

/// Serves one connection until it closes, is shed, or the server stops.
async fn run_connection(
    stream: TcpStream,
    connection: Arc<Connection>,
    open: OpenConnection,
    builder: Arc<http1::Builder>,
    router: Router,
    mut shutting_down: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let guards = open.guards.clone();
    let io = TokioIo::new(GuardedIo::new(stream, connection.clone(), guards.clone()));
    let service = ConnectionService {
        router,
        connection: connection.clone(),
        guards,
    };
    let served = builder.serve_connection(io, service);
    tokio::pin!(served);
    let mut closing = false;
    loop {
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("HTTP connection from {}: {e}", connection.peer);
                }
                return;
            }
            () = connection.shed.notified(), if !closing => {
                if connection.idle() {
                    return;
                }
                // A request began after the connection was chosen: finish it, then close.
                served.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = shutting_down.wait_for(|stop| *stop), if !closing => {
                served.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// The hyper service of one connection: the router, with each request marked in flight on
/// the connection until its response body ends.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    connection: Arc<Connection>,
    guards: Arc<HttpGuards>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for ConnectionService {
    type Response = hyper::Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::begin(self.connection.clone(), self.guards.clone());
        let router = self.router.clone();
        Box::pin(async move {
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            Ok(response.map(|body| TrackedBody {
                body,
                in_flight: Some(in_flight),
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::Semaphore;

    use super::*;

    /// At the cap with a request in flight on every connection, a newcomer gets a JSON 503;
    /// when the server stops, the requests in flight still get their answers before `serve`
    /// returns.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refuses_when_all_are_busy_and_finishes_requests_in_flight_at_stop() {
        let entered = Arc::new(Semaphore::new(0));
        let gate = Arc::new(Semaphore::new(0));
        let slow = {
            let (entered, gate) = (entered.clone(), gate.clone());
            move || async move {
                entered.add_permits(1);
                gate.acquire().await.map(|p| p.forget()).ok();
                "done"
            }
        };
        let router = Router::new().route("/slow", axum::routing::get(slow));
        let guards = Arc::new(HttpGuards::new(HttpLimits {
            max_connections: 2,
            ..HttpLimits::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, router, guards.clone(), async {
            let _ = stopped.await;
        }));
        let mut busy = Vec::new();
        for _ in 0..2 {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(b"GET /slow HTTP/1.1\r\nhost: t\r\n\r\n")
                .await
                .unwrap();
            busy.push(stream);
        }
        entered.acquire_many(2).await.unwrap().forget();
        assert_eq!(guards.metrics.requests_in_flight(), 2);

        let mut refused = TcpStream::connect(addr).await.unwrap();
        let mut answer = String::new();
        refused.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
        assert!(answer.contains("\"too_many_connections\""), "{answer}");

        stop.send(()).unwrap();
        gate.add_permits(2);
        for mut stream in busy {
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
            assert!(answer.ends_with("done"), "{answer}");
        }
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("serve returns once the requests in flight are answered")
            .unwrap();
        assert_eq!(guards.metrics.refused.load(Ordering::Relaxed), 1);
        assert_eq!(guards.metrics.open_connections(), 0);
    }
}
