//! # daylight-portal
//!
//! The citizens' web portal (DESIGN §7a): plain HTML, CSS and ES modules (no framework, no
//! build step, nothing from another host), built into every node binary, and the household
//! receipt as one self-contained HTML file.
//!
//! * [`asset`] looks up an embedded file by its path under `assets/` (`index.html`,
//!   `js/app.js`, `wasm/daylight_verifier_wasm_bg.wasm`, ...), with its content type, its bytes
//!   and, for text and WebAssembly, the same bytes gzipped once at build time;
//! * [`PAGES`] names the page routes the node answers with the portal's one HTML shell;
//! * [`standalone_receipt_html`] writes a household's receipt as one file that verifies
//!   opened from disk with the network off, with a QR code carrying the receipt code
//!   (`daylight_verifier::receipt_code`, decision 0019); for many households at once,
//!   [`linked_receipt_html`] writes small receipt files that share one
//!   [`receipt_verifier_script`] beside them (all three in `standalone`).
//!
//! Unit `tests` check the asset table (every file embedded, none over 600 lines) and the
//! receipt files.

mod standalone;

pub use standalone::{
    RECEIPT_VERIFIER_SCRIPT, linked_receipt_html, receipt_verifier_script, standalone_receipt_html,
};

/// One embedded file as `build.rs` wrote it.
struct RawAsset {
    path: &'static str,
    bytes: &'static [u8],
    gzip: Option<&'static [u8]>,
}

static ASSETS: &[RawAsset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// An embedded file of the portal.
#[derive(Clone, Copy, Debug)]
pub struct Asset {
    /// Its media type, with `charset=utf-8` for text.
    pub content_type: &'static str,
    /// The file as written in `assets/`.
    pub bytes: &'static [u8],
    /// The same bytes gzipped (text and WebAssembly only).
    pub gzip: Option<&'static [u8]>,
    /// A strong validator for the bytes: hex of a 64-bit FNV-1a hash, quoted, for `ETag`.
    pub etag: &'static str,
}

/// The page routes of the portal: each is answered with the HTML shell (`index.html`), whose
/// script draws the page the path names. `/member/<id>`, `/record/<rid>` take one segment.
pub const PAGES: &[&str] = &["/", "/search", "/audit", "/receipt"];

/// The page routes that take one path segment after them (`/member/county-320206`).
pub const PAGE_PREFIXES: &[&str] = &["/member/", "/record/"];

/// The embedded file at `path` (relative to `assets/`, no leading slash), if there is one.
pub fn asset(path: &str) -> Option<Asset> {
    static ETAGS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let etags = ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{:016x}\"", fnv1a(a.bytes)))
            .collect()
    });
    let n = ASSETS.iter().position(|a| a.path == path)?;
    let raw = &ASSETS[n];
    Some(Asset {
        content_type: content_type(raw.path),
        bytes: raw.bytes,
        gzip: raw.gzip,
        etag: etags[n].as_str(),
    })
}

/// Every embedded path, in sorted order (for the service worker's list and for tests).
pub fn asset_paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|a| a.path)
}

/// The media type for a file name.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" | "webmanifest" => "application/json",
        "svg" => "image/svg+xml",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_and_its_scripts_are_embedded_and_gzipped() {
        let shell = asset("index.html").expect("index.html");
        assert_eq!(shell.content_type, "text/html; charset=utf-8");
        let gz = shell.gzip.expect("html is gzipped");
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz), &mut back)
            .expect("gunzip");
        assert_eq!(back, shell.bytes);
        assert!(asset("js/app.js").is_some());
        assert!(asset("css/portal.css").is_some());
        assert!(asset("nope.js").is_none());
        assert!(asset("../Cargo.toml").is_none());
        assert_ne!(asset("js/app.js").map(|a| a.etag), Some(shell.etag));
    }

    #[test]
    fn nothing_is_loaded_from_another_host() {
        for path in asset_paths().filter(|p| p.ends_with(".html") || p.ends_with(".css")) {
            let text = String::from_utf8_lossy(asset(path).map_or(&[][..], |a| a.bytes));
            for bad in ["src=\"http", "href=\"http", "url(http", "@import"] {
                assert!(!text.contains(bad), "{path} loads from another host: {bad}");
            }
        }
    }

    #[test]
    fn the_service_worker_keeps_every_file_a_page_needs() {
        let worker =
            String::from_utf8_lossy(asset("sw.js").map_or(&[][..], |a| a.bytes)).into_owned();
        let standalone_only = ["js/standalone.js", "js/standalone-boot.js"];
        for path in asset_paths().filter(|p| {
            (p.starts_with("js/") || p.starts_with("css/") || p.starts_with("wasm/"))
                && !p.ends_with(".d.ts")
                && !standalone_only.contains(p)
        }) {
            assert!(
                worker.contains(&format!("'/assets/{path}'")),
                "sw.js does not keep {path}"
            );
        }
    }

    #[test]
    fn every_page_script_stays_under_600_lines() {
        for path in asset_paths().filter(|p| p.ends_with(".js") && !p.starts_with("wasm/")) {
            let lines = asset(path).map_or(0, |a| a.bytes.split(|b| *b == b'\n').count());
            assert!(lines <= 600, "{path} has {lines} lines");
        }
    }
}
