//! A lean HTTP/1.1 client for the tile measurements: one keep-alive connection, a GET written
//! in one call, the status line and headers parsed only for the status and the body's
//! length, and buffers reused between requests.
//!
//! A general client (ureq) spends more CPU per request than a server does to answer a cached
//! tile. On two cores shared with the server, the client then set the pace, for the node and
//! nginx alike. Load generators such as `wrk` work this way for the same reason.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

use anyhow::Context;

/// One keep-alive connection to one server.
pub(super) struct Connection {
    addr: SocketAddr,
    stream: BufReader<TcpStream>,
    request: Vec<u8>,
    line: Vec<u8>,
    body: Vec<u8>,
}

impl Connection {
    /// Connects to `base` (`http://host:port`, an IP address).
    pub(super) fn open(base: &str) -> anyhow::Result<Connection> {
        let addr: SocketAddr = base
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .context("a base of the form http://ip:port")?
            .parse()
            .context("a base of the form http://ip:port")?;
        Ok(Connection {
            addr,
            stream: Self::connect(addr)?,
            request: Vec::with_capacity(256),
            line: Vec::with_capacity(256),
            body: Vec::with_capacity(1 << 17),
        })
    }

    fn connect(addr: SocketAddr) -> anyhow::Result<BufReader<TcpStream>> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(BufReader::with_capacity(1 << 16, stream))
    }

    /// GETs `path` (starting with `/`): the status and the body.
    pub(super) fn get(&mut self, path: &str) -> anyhow::Result<(u16, &[u8])> {
        self.request.clear();
        write!(
            self.request,
            "GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n",
            self.addr
        )?;
        self.stream.get_mut().write_all(&self.request)?;
        let status = self.read_line()?;
        let status: u16 = std::str::from_utf8(status)?
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .context("an HTTP status line")?;
        let mut length = None;
        let mut close = false;
        loop {
            let header = self.read_line()?;
            if header.is_empty() {
                break;
            }
            let header = std::str::from_utf8(header)?;
            let (name, value) = header.split_once(':').context("a header line")?;
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>()?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                anyhow::bail!("{path}: a chunked answer (this client reads only sized bodies)");
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
        let length = length.with_context(|| format!("{path}: no Content-Length"))?;
        self.body.resize(length, 0);
        self.stream.read_exact(&mut self.body)?;
        if close {
            self.stream = Self::connect(self.addr)?;
        }
        Ok((status, &self.body))
    }

    /// The next line of the answer, without its CRLF.
    fn read_line(&mut self) -> anyhow::Result<&[u8]> {
        self.line.clear();
        let n = self.stream.read_until(b'\n', &mut self.line)?;
        anyhow::ensure!(n > 0, "the server closed the connection");
        let mut end = self.line.len();
        for ending in [b'\n', b'\r'] {
            if end > 0 && self.line[end - 1] == ending {
                end -= 1;
            }
        }
        Ok(&self.line[..end])
    }
}
