//! HTTP to daylight nodes (DESIGN §5.4): plain blocking requests with timeouts. A node that
//! cannot be reached is [`CliError::Unreachable`] (exit 3); an error answer carries the node's
//! JSON `error` and `detail`.

use std::time::Duration;

use crate::error::{CliError, input};

/// How long to wait for a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer read (a receipt or record is a few KiB; a record with corrections more).
const MAX_BODY: u64 = 64 << 20;

/// An answer from a node.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The URL requested.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The node's error as a [`CliError::Refused`]: its `error` and `detail` when the body is
    /// the node's JSON error, else the body text.
    pub fn refusal(&self) -> CliError {
        let detail = match serde_json::from_slice::<daylight_api::ErrorBody>(&self.body) {
            Ok(e) => format!("{}: {}", e.error, e.detail),
            Err(_) => String::from_utf8_lossy(&self.body).trim().to_string(),
        };
        CliError::Refused {
            url: self.url.clone(),
            status: self.status,
            detail,
        }
    }

    /// The body read as `T` (one of the API's typed answers, `daylight_api`); a body that
    /// does not fit is a refusal naming the URL and `what` was expected.
    pub fn parse<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, CliError> {
        serde_json::from_slice(&self.body).map_err(|e| CliError::Refused {
            url: self.url.clone(),
            status: self.status,
            detail: format!("malformed {what}: {e}"),
        })
    }
}

/// A client of one node, by its base URL (`http://127.0.0.1:8080`).
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client for the node at `base`. Only `http://` URLs are supported by this build.
    pub fn new(base: &str) -> Result<Client, CliError> {
        let base = base.trim_end_matches('/').to_string();
        if base.starts_with("https://") {
            return Err(input(format!(
                "{base}: this build of daylight speaks plain HTTP only; use an http:// URL"
            )));
        }
        if !base.starts_with("http://") || base.len() <= "http://".len() {
            return Err(input(format!(
                "{base:?} is not a node URL; write it as http://HOST:PORT"
            )));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .into();
        Ok(Client { base, agent })
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// GET `path` (starting with `/`); any status is returned, only transport errors fail.
    pub fn get(&self, path: &str) -> Result<Reply, CliError> {
        let url = format!("{}{path}", self.base);
        let result = self.agent.get(&url).call();
        read(url, result)
    }

    /// GET `path` and require a 2xx answer.
    pub fn get_ok(&self, path: &str) -> Result<Reply, CliError> {
        let reply = self.get(path)?;
        if reply.is_success() {
            Ok(reply)
        } else {
            Err(reply.refusal())
        }
    }

    /// POST a JSON body to `path`; any status is returned.
    pub fn post_json(&self, path: &str, body: &[u8]) -> Result<Reply, CliError> {
        let url = format!("{}{path}", self.base);
        let result = self
            .agent
            .post(&url)
            .header("content-type", "application/json")
            .send(body);
        read(url, result)
    }
}

fn read(
    url: String,
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Reply, CliError> {
    let mut response = result.map_err(|e| transport_error(&url, e))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| transport_error(&url, e))?;
    Ok(Reply { url, status, body })
}

/// Maps a transport error: malformed URLs are bad input, everything else means the node
/// could not be reached or did not answer (exit 3).
fn transport_error(url: &str, error: ureq::Error) -> CliError {
    match error {
        ureq::Error::BadUri(reason) => input(format!("bad node URL {url}: {reason}")),
        ureq::Error::BodyExceedsLimit(limit) => CliError::Refused {
            url: url.to_string(),
            status: 200,
            detail: format!("answer is larger than {limit} bytes"),
        },
        other => CliError::Unreachable {
            url: url.to_string(),
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert_eq!(Client::new("ftp://x").unwrap_err().exit_code(), 2);
        assert_eq!(Client::new("https://x").unwrap_err().exit_code(), 2);
        assert_eq!(
            Client::new("http://127.0.0.1:1/").unwrap().base(),
            "http://127.0.0.1:1"
        );
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        // Port 1 on loopback: nothing listens there in a test environment.
        let client = Client::new("http://127.0.0.1:1").unwrap();
        let error = client.get("/healthz").unwrap_err();
        assert_eq!(error.exit_code(), 3, "{error}");
    }

    #[test]
    fn refusals_carry_the_node_error() {
        let reply = Reply {
            url: "http://n/v1/records".into(),
            status: 422,
            body: br#"{"error":"invalid_record","detail":"amount: bad"}"#.to_vec(),
        };
        let error = reply.refusal();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("invalid_record: amount: bad"));
    }
}
