//! A connection's I/O: the socket wrapper that times out request heads and idle connections
//! and rewrites hyper's parse-error answers ([`GuardedIo`]), and the response body that ends
//! a request's in-flight mark ([`TrackedBody`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::errors::{raw_json_error, rewrite_automatic};
use super::guards::HttpGuards;
use super::registry::{Connection, InFlight};

/// A response body that ends its request's in-flight mark when it ends (or is dropped).
pub(super) struct TrackedBody {
    pub(super) body: Body,
    pub(super) in_flight: Option<InFlight>,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            this.in_flight.take();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's socket as hyper sees it. While no request is in flight it times out the
/// next request's head (a 408 written here when part of it arrived; a quiet close when
/// nothing did), and it replaces hyper's bodiless 400/414/431 answers to heads it could not
/// parse with JSON ones.
pub(super) struct GuardedIo {
    inner: TcpStream,
    connection: Arc<Connection>,
    guards: Arc<HttpGuards>,
    timer: Option<Pin<Box<Sleep>>>,
    timer_at: Option<Instant>,
    /// `connection.finished` when the head state below was last reset.
    seen_finished: u64,
    /// When the first byte of the next request arrived, if it did.
    head_started: Option<Instant>,
    /// Whether a line of the next request has ended (its request line is complete).
    line_ended: bool,
    timed_out: bool,
    /// Bytes to write before anything else: a JSON answer standing in for hyper's.
    pending: Vec<u8>,
}

impl GuardedIo {
    pub(super) fn new(
        inner: TcpStream,
        connection: Arc<Connection>,
        guards: Arc<HttpGuards>,
    ) -> GuardedIo {
        GuardedIo {
            inner,
            connection,
            guards,
            timer: None,
            timer_at: None,
            seen_finished: 0,
            head_started: None,
            line_ended: false,
            timed_out: false,
            pending: Vec::new(),
        }
    }

    /// Forgets the previous request's head once a response has ended since.
    fn observe(&mut self) {
        let finished = self.connection.finished.load(Ordering::Acquire);
        if finished != self.seen_finished {
            self.seen_finished = finished;
            self.head_started = None;
            self.line_ended = false;
        }
    }

    /// When the connection, idle now, times out.
    fn deadline(&self) -> Instant {
        let limits = self.guards.limits();
        let header = Duration::from_secs(limits.header_read_timeout_seconds);
        let idle = if self.connection.started.load(Ordering::Acquire) == 0 {
            header
        } else {
            Duration::from_secs(limits.keep_alive_seconds)
        };
        let mut deadline = self.connection.idle_since() + idle;
        if let Some(started) = self.head_started {
            deadline = deadline.min(started + header);
        }
        deadline
    }

    /// Whether the idle connection's deadline has passed; arms the timer for `cx` if not.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let deadline = self.deadline();
        if Instant::now() >= deadline {
            return true;
        }
        match (&mut self.timer, self.timer_at) {
            (Some(timer), Some(at)) if at == deadline => timer.as_mut().poll(cx).is_ready(),
            (Some(timer), _) => {
                timer.as_mut().reset(deadline);
                self.timer_at = Some(deadline);
                timer.as_mut().poll(cx).is_ready()
            }
            (None, _) => {
                let mut timer = Box::pin(tokio::time::sleep_until(deadline));
                let ready = timer.as_mut().poll(cx).is_ready();
                self.timer = Some(timer);
                self.timer_at = Some(deadline);
                ready
            }
        }
    }

    /// Ends the connection on a timeout: a 408 if part of a request arrived, then end of file.
    fn time_out(&mut self, cx: &mut Context<'_>) {
        self.timed_out = true;
        let metrics = &self.guards.metrics;
        if self.head_started.is_some() {
            metrics.header_timeouts.fetch_add(1, Ordering::Relaxed);
            self.pending = raw_json_error(StatusCode::REQUEST_TIMEOUT, self.guards.limits());
            let _ = self.flush_pending(cx);
        } else {
            metrics.idle_timeouts.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Writes the pending bytes; ready once none are left.
    fn flush_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }

    /// If `buf` is hyper's answer to a head it could not parse, queues the JSON answer instead.
    fn replaced(&mut self, buf: &[u8], cx: &mut Context<'_>) -> bool {
        if !self.connection.idle() {
            return false;
        }
        self.observe();
        if self.head_started.is_none() {
            return false;
        }
        let Some(answer) = rewrite_automatic(buf, self.line_ended, self.guards.limits()) else {
            return false;
        };
        self.guards
            .metrics
            .unparsable
            .fetch_add(1, Ordering::Relaxed);
        self.pending = answer;
        let _ = self.flush_pending(cx);
        true
    }
}

impl AsyncRead for GuardedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.timed_out {
            return Poll::Ready(Ok(()));
        }
        let idle = this.connection.idle();
        if idle {
            this.observe();
            if this.expired(cx) {
                this.time_out(cx);
                return Poll::Ready(Ok(()));
            }
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let read = &buf.filled()[before..];
        if idle && !read.is_empty() {
            this.head_started.get_or_insert_with(Instant::now);
            this.line_ended |= read.contains(&b'\n');
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.flush_pending(cx))?;
        if this.replaced(buf, cx) {
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.flush_pending(cx))?;
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next())
            && this.replaced(only, cx)
        {
            return Poll::Ready(Ok(only.len()));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.flush_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.flush_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
