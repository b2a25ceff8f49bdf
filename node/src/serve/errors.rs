//! JSON errors everywhere: the middleware that rewrites the framework's plain-text errors
//! ([`json_errors`]), and the raw JSON answers that stand in for hyper's own.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::guards::HttpGuards;
use crate::config::HttpLimits;
use crate::http::{ApiError, REQUEST_TIMEOUT};

/// Middleware: refuses request targets over `max_uri_bytes` (414), and turns every error the
/// framework answers in plain text or with no body (404, 405, 408 from the request timeout,
/// 413 from a body limit, a path that is not UTF-8, ...) into `{"error", "detail"}` JSON with
/// the same status and headers. Responses that already carry a content type other than plain
/// text (JSON errors, the tlog-witness `text/x.tlog.size` conflict) pass unchanged.
pub async fn json_errors(
    State(guards): State<Arc<HttpGuards>>,
    request: Request,
    next: Next,
) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    let max_uri = guards.limits.max_uri_bytes;
    if target > max_uri {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target is {target} bytes long; at most {max_uri} are accepted"),
        )
        .into_response();
    }
    let response = next.run(request).await;
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|t| t.as_bytes().starts_with(b"text/plain"));
    if response.status().as_u16() < 400 || !plain {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let (error, default) = framework_error(parts.status, &guards.limits);
    let detail = if text.is_empty() { default } else { text };
    let json = error_json(error, detail);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(json))
}

/// The error code and a default explanation for a status the framework or hyper answers.
fn framework_error(status: StatusCode, limits: &HttpLimits) -> (&'static str, String) {
    let (error, detail) = match status.as_u16() {
        400 => (
            "bad_request",
            "the request is not valid HTTP/1.1".to_string(),
        ),
        404 => ("not_found", "no such endpoint".to_string()),
        405 => (
            "method_not_allowed",
            "this endpoint does not take this method; the Allow header lists those it takes"
                .to_string(),
        ),
        408 => (
            "request_timeout",
            format!(
                "the request was not received and answered in time (head within {}s, whole \
                 request within {}s)",
                limits.header_read_timeout_seconds,
                REQUEST_TIMEOUT.as_secs()
            ),
        ),
        413 => ("too_large", "the request body is too large".to_string()),
        414 => (
            "uri_too_long",
            format!(
                "the request line is longer than this node reads ({} bytes of request head)",
                limits.max_header_bytes
            ),
        ),
        415 => (
            "unsupported_media_type",
            "this endpoint does not take this content type".to_string(),
        ),
        422 => (
            "unprocessable",
            "the request is well-formed but cannot be processed".to_string(),
        ),
        429 => ("too_many_requests", "too many requests".to_string()),
        431 => (
            "headers_too_large",
            format!(
                "the request head is larger than {} bytes or has more than {} header fields",
                limits.max_header_bytes, limits.max_headers
            ),
        ),
        500 => ("internal", "internal error".to_string()),
        503 => ("unavailable", "the service is unavailable".to_string()),
        _ => ("http_error", status.to_string()),
    };
    (error, detail)
}

/// A complete HTTP/1.1 response carrying a JSON error, for hyper-level answers written
/// straight to the socket; the connection closes after it.
pub(super) fn raw_json_error(status: StatusCode, limits: &HttpLimits) -> Vec<u8> {
    let (error, detail) = framework_error(status, limits);
    let body = error_json(error, detail);
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes()
}

/// If `written` is one of hyper's automatic answers to a request it could not parse — a
/// bodiless `400`, `414` or `431` head — the JSON answer to write instead. hyper answers 431
/// for any head that overflows its buffer; when no line of the request ended yet
/// (`line_ended` false), the request line itself was too long, which is a 414.
pub(super) fn rewrite_automatic(
    written: &[u8],
    line_ended: bool,
    limits: &HttpLimits,
) -> Option<Vec<u8>> {
    if written.len() > 512 || !written.ends_with(b"\r\n\r\n") {
        return None;
    }
    let text = std::str::from_utf8(written).ok()?;
    let code: u16 = text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    if !matches!(code, 400 | 414 | 431) || !text.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let status = match code {
        431 if !line_ended => StatusCode::URI_TOO_LONG,
        _ => StatusCode::from_u16(code).ok()?,
    };
    Some(raw_json_error(status, limits))
}

/// The JSON error body every answer of the server's own carries (`daylight_api::ErrorBody`).
fn error_json(error: impl Into<String>, detail: impl Into<String>) -> String {
    let body = daylight_api::ErrorBody {
        error: error.into(),
        detail: detail.into(),
    };
    serde_json::to_string(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_hypers_bodiless_parse_errors() {
        let limits = HttpLimits::default();
        let head =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let answer = rewrite_automatic(head, true, &limits).unwrap();
        let text = String::from_utf8(answer).unwrap();
        assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
        assert!(text.ends_with("}"), "{text}");
        let uri = String::from_utf8(rewrite_automatic(head, false, &limits).unwrap()).unwrap();
        assert!(uri.starts_with("HTTP/1.1 414 "), "{uri}");
        assert!(uri.contains("\"uri_too_long\""), "{uri}");
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 40\r\n\r\n";
        assert!(rewrite_automatic(ours, true, &limits).is_none());
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(rewrite_automatic(ok, true, &limits).is_none());
    }
}
