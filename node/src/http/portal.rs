//! The citizens' portal (DESIGN §7a), served from the files built into the binary
//! ([`daylight_portal`]): the page routes (`/`, `/member/<id>`, `/record/<rid>`, `/search`,
//! `/audit`, `/receipt`) answer the portal's HTML shell, whose scripts draw the page; `/assets/…`
//! the styles, scripts and WebAssembly verifier; `/sw.js` the service worker (scope `/`, so the
//! receipt page opens offline after one visit); `/v1/members` the genesis members with their
//! display names; and the auditor's old `/audit.html` redirects to the portal's audit page.
//!
//! Every answer carries a Content-Security-Policy that lets a page load nothing but this
//! node's own files and compile WebAssembly (`'wasm-unsafe-eval'`, never `'unsafe-eval'`), is
//! gzipped when the client accepts it (compressed once at build time), and is revalidated by
//! `ETag` (`no-cache`), so a node upgrade is seen at once and an unchanged file costs a 304.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{ApiError, Shared};

/// The policy every portal answer carries: only this node's own files, WebAssembly allowed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' \
    'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; \
    worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// Adds the portal's routes to `router`.
pub(super) fn routes(
    router: axum::Router<std::sync::Arc<super::AppState>>,
) -> axum::Router<std::sync::Arc<super::AppState>> {
    let mut router = router
        .route("/member/{id}", axum::routing::get(shell))
        .route("/record/{rid}", axum::routing::get(shell))
        .route("/assets/{*path}", axum::routing::get(asset))
        .route("/sw.js", axum::routing::get(service_worker))
        .route("/audit.html", axum::routing::get(old_audit_page))
        .route("/v1/members", axum::routing::get(members));
    for page in daylight_portal::PAGES {
        router = router.route(page, axum::routing::get(shell));
    }
    router
}

/// A page route: the HTML shell.
async fn shell(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /assets/<path>`: an embedded file.
async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// `GET /sw.js`: the service worker, served from the root so that its scope is the portal.
async fn service_worker(headers: HeaderMap) -> Response {
    serve("sw.js", &headers)
}

/// `GET /audit.html`: the auditor's report moved into the portal.
async fn old_audit_page() -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [
            (header::LOCATION, HeaderValue::from_static("/audit")),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        r#"{"moved":"/audit"}"#,
    )
        .into_response()
}

/// `GET /v1/members`: the members of the genesis version in force, with their display names,
/// roles, divisions, parents, HTTP URLs and whether they are retired (what the portal shows
/// instead of ids), and what this node is: its member id (`null` on an observer) and whether
/// it serves an audit report at `/v1/audit`. The genesis itself, to verify, is at
/// `/v1/genesis`.
async fn members(State(state): Shared) -> Response {
    let chain = state.genesis.current();
    let genesis = chain.latest();
    let members: Vec<serde_json::Value> = genesis
        .members()
        .iter()
        .map(|m| {
            serde_json::json!({
                "id": m.id,
                "name": m.name,
                "role": m.role.as_str(),
                "division": m.division,
                "parent": m.parent,
                "http": m.http,
                "retired": m.is_retired(),
            })
        })
        .collect();
    axum::Json(serde_json::json!({
        "network": genesis.network(),
        "network_id": chain.network_id(),
        "sequence": chain.sequence(),
        "version_id": genesis.id(),
        "members": members,
        "node": state.publisher.as_ref().map(|p| p.member.clone()),
        "auditor": state.auditor.is_some(),
    }))
    .into_response()
}

/// Answers the embedded file `path`: 304 when the client holds it, gzipped when accepted.
fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(asset) = daylight_portal::asset(path) else {
        return ApiError::not_found(format!("the portal has no file {path:?}")).into_response();
    };
    let mut out = HeaderMap::new();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Ok(etag) = HeaderValue::from_str(asset.etag) {
        out.insert(header::ETAG, etag);
    }
    let held = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == asset.etag || t.trim() == "*")
        });
    if held {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    match asset.gzip.filter(|_| accepts_gzip(headers)) {
        Some(gzip) => {
            out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (out, gzip).into_response()
        }
        None => (out, asset.bytes).into_response(),
    }
}

/// Whether `Accept-Encoding` accepts gzip (`gzip` or `*`, not with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    value.split(',').any(|part| {
        let mut pieces = part.split(';');
        let coding = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = pieces.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (coding == "gzip" || coding == "*") && !refused
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn gzip_is_sent_only_when_accepted() {
        assert!(accepts_gzip(&with(
            header::ACCEPT_ENCODING,
            "gzip, deflate, br"
        )));
        assert!(accepts_gzip(&with(
            header::ACCEPT_ENCODING,
            "br;q=1, *;q=0.5"
        )));
        assert!(!accepts_gzip(&with(header::ACCEPT_ENCODING, "gzip;q=0")));
        assert!(!accepts_gzip(&with(header::ACCEPT_ENCODING, "identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
        let zipped = serve("index.html", &with(header::ACCEPT_ENCODING, "gzip"));
        assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
        let plain = serve("index.html", &HeaderMap::new());
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert!(
            plain.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .is_ok_and(|p| p.contains("'wasm-unsafe-eval'") && !p.contains("'unsafe-eval'"))
        );
    }

    #[test]
    fn a_held_file_is_not_sent_again_and_a_missing_one_is_a_json_404() {
        let etag = daylight_portal::asset("index.html")
            .map(|a| a.etag)
            .unwrap_or("");
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(etag).unwrap());
        assert_eq!(
            serve("index.html", &headers).status(),
            StatusCode::NOT_MODIFIED
        );
        let missing = serve("../node.toml", &HeaderMap::new());
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(missing.headers()[header::CONTENT_TYPE], "application/json");
    }
}
