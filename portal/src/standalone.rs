//! A household's receipt as one self-contained HTML file (DESIGN §7a): the portal's styles,
//! the receipt page's scripts, the WebAssembly verifier (base64), the receipt and the genesis
//! chain, all inline. Opened from disk with the network off, it verifies the receipt in the
//! browser; printed, it fits one A4 page (or a phone's screen) with a QR code that opens the
//! same receipt on the portal.
//!
//! A browser does not load ES modules from `file://`, so the scripts travel as text in a JSON
//! block; a small classic script (`js/standalone-boot.js`) turns each module the receipt page
//! needs into a `blob:` URL, rewriting its imports to the blob URLs of its dependencies, and
//! answers the verifier's request for its `.wasm` file with the inlined bytes. Nothing is
//! fetched from any host.

use base64::Engine as _;

/// The modules the receipt file carries (the receipt page and what it imports).
const MODULES: &[&str] = &[
    "js/standalone.js",
    "js/receipt-view.js",
    "js/checks.js",
    "js/i18n.js",
    "js/format.js",
    "js/record-view.js",
    "js/verify.js",
    "wasm/daylight_verifier_wasm.js",
];

/// A household receipt as one self-contained HTML file that verifies offline in a browser.
/// `receipt_json` is a `daylight-household-receipt/v1` object; `genesis_chain_json` is the
/// network's genesis chain the receipt is checked against (the JSON `GET /v1/genesis` serves).
pub fn standalone_receipt_html(receipt_json: &str, genesis_chain_json: &str) -> String {
    let (modules, wasm) = verifier_payloads();
    receipt_html(receipt_json, genesis_chain_json, &modules, &wasm, "")
}

/// The file name [`linked_receipt_html`] expects [`receipt_verifier_script`] under, in the same
/// directory as the receipts.
pub const RECEIPT_VERIFIER_SCRIPT: &str = "receipt-verifier.js";

/// A household receipt as a small HTML file (about 90 KB: the QR code, the styles, the
/// receipt and the genesis) that
/// verifies offline with the verifier in [`RECEIPT_VERIFIER_SCRIPT`] beside it: for printing
/// many households' receipts at once, where a self-contained file each (about 1.6 MB, the
/// WebAssembly verifier inlined) would not do. Opened without that file, it says so.
pub fn linked_receipt_html(receipt_json: &str, genesis_chain_json: &str) -> String {
    let shared = format!("<script src=\"{RECEIPT_VERIFIER_SCRIPT}\"></script>");
    receipt_html(receipt_json, genesis_chain_json, "null", "null", &shared)
}

/// The verifier every [`linked_receipt_html`] beside it loads: a classic script (browsers load
/// those from `file://`, unlike modules) holding the receipt page's modules and the
/// WebAssembly verifier, the same payloads a standalone receipt inlines.
pub fn receipt_verifier_script() -> String {
    let (modules, wasm) = verifier_payloads();
    format!(
        "// daylight: the household receipts' offline verifier (modules and WebAssembly).\n\
         window.DAYLIGHT_RECEIPT_VERIFIER = {{\"modules\": {modules}, \"wasm\": {wasm}}};\n"
    )
}

/// The receipt page's modules (a JSON object of path to source) and the WebAssembly verifier
/// (a JSON string of its base64), as JSON text.
fn verifier_payloads() -> (String, String) {
    let modules: serde_json::Map<String, serde_json::Value> = MODULES
        .iter()
        .filter_map(|path| {
            let source = crate::asset(path)?;
            Some((
                (*path).to_string(),
                serde_json::Value::String(String::from_utf8_lossy(source.bytes).into_owned()),
            ))
        })
        .collect();
    let wasm = crate::asset("wasm/daylight_verifier_wasm_bg.wasm")
        .map(|a| base64::engine::general_purpose::STANDARD.encode(a.bytes))
        .unwrap_or_default();
    (
        serde_json::Value::Object(modules).to_string(),
        serde_json::Value::String(wasm).to_string(),
    )
}

/// The receipt file: the template filled with the receipt, the genesis, the verifier's
/// payloads (JSON text, or `null` when `shared` loads them) and `shared` (a script element or
/// nothing).
fn receipt_html(
    receipt_json: &str,
    genesis_chain_json: &str,
    modules: &str,
    wasm: &str,
    shared: &str,
) -> String {
    let text = |path: &str| {
        crate::asset(path)
            .map(|a| String::from_utf8_lossy(a.bytes).into_owned())
            .unwrap_or_default()
    };
    let (qr, url) = match daylight_verifier::receipt_code::encode(receipt_json) {
        Ok(code) => {
            let url = format!(
                "{}/receipt#{code}",
                origin(receipt_json, genesis_chain_json)
            );
            (qr_svg(&url), url)
        }
        Err(e) => (missing_qr(&e.to_string()), String::new()),
    };
    fill(
        &text("receipt-file.html"),
        &[
            ("/*STYLE*/", text("css/portal.css")),
            ("<!--QR-->", qr),
            ("<!--LINK-->", escape_html(&short_link(&url))),
            ("\"RECEIPT\"", script_json(receipt_json)),
            ("\"GENESIS\"", script_json(genesis_chain_json)),
            ("\"MODULES\"", script_json(modules)),
            ("\"WASM\"", script_json(wasm)),
            ("<!--SHARED-->", shared.to_string()),
            ("/*BOOT*/", text("js/standalone-boot.js")),
        ],
    )
}

/// `template` with each placeholder replaced by its value, in one pass over the template, so
/// that a value (a receipt, say) that happens to hold a placeholder's text is never rewritten.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|v| v.1.len()).sum::<usize>());
    let mut rest = template;
    loop {
        let next = values
            .iter()
            .filter_map(|(key, value)| rest.find(key).map(|at| (at, *key, value)))
            .min_by_key(|(at, _, _)| *at);
        match next {
            Some((at, key, value)) => {
                out.push_str(&rest[..at]);
                out.push_str(value);
                rest = &rest[at + key.len()..];
            }
            None => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// JSON text made safe inside a `<script>` element (`<` never appears outside a string in JSON;
/// inside one `\u003c` means the same). Text that is not JSON becomes a JSON string.
fn script_json(json: &str) -> String {
    let valid = serde_json::from_str::<serde_json::Value>(json).is_ok();
    let json = if valid {
        json.to_string()
    } else {
        serde_json::Value::String(json.to_string()).to_string()
    };
    json.replace('<', "\\u003c")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The QR code's link as shown beside it: the node and the start of the code.
fn short_link(url: &str) -> String {
    match url.split_once('#') {
        Some((page, code)) => format!("{page}#{}…", code.chars().take(12).collect::<String>()),
        None => url.to_string(),
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTTP origin of the node that publishes the receipt's log, from the genesis (the newest
/// version that names one), else of any member; empty when the genesis names none.
fn origin(receipt_json: &str, genesis_chain_json: &str) -> String {
    let receipt: serde_json::Value = serde_json::from_str(receipt_json).unwrap_or_default();
    let bundle = receipt["bundle"].as_str().unwrap_or_default();
    // The checkpoint's origin line is `<network>/<member id>`: the first line after the blank
    // line that ends the proof.
    let member = bundle
        .split_once("\n\n")
        .and_then(|(_, note)| note.lines().next())
        .and_then(|origin| origin.rsplit('/').next())
        .unwrap_or_default()
        .to_string();
    let chain: serde_json::Value = serde_json::from_str(genesis_chain_json).unwrap_or_default();
    let notes: Vec<&str> = chain["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["note"].as_str())
        .collect();
    let mut any = String::new();
    for note in notes.iter().rev() {
        for block in note.split("[[members]]").skip(1) {
            let field = |name: &str| {
                block.lines().find_map(|line| {
                    let (key, value) = line.split_once('=')?;
                    (key.trim() == name).then(|| value.trim().trim_matches('"').to_string())
                })
            };
            let Some(http) = field("http") else { continue };
            let http = http.trim_end_matches('/').to_string();
            if !(http.starts_with("http://") || http.starts_with("https://")) {
                continue;
            }
            if field("id").as_deref() == Some(member.as_str()) {
                return http;
            }
            if any.is_empty() {
                any = http;
            }
        }
    }
    any
}

/// The QR code of `payload` as inline SVG, or a note when it does not fit a QR code.
fn qr_svg(payload: &str) -> String {
    let built = fast_qr::qr::QRBuilder::new(payload.as_bytes())
        .ecl(fast_qr::ECL::L)
        .mode(fast_qr::Mode::Byte)
        .build();
    match built {
        Ok(code) => {
            let width = code.size;
            let side = width + 2 * QUIET_ZONE;
            format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" \
                 aria-labelledby=\"qr-caption\" viewBox=\"0 0 {side} {side}\" width=\"240\" \
                 height=\"240\" shape-rendering=\"crispEdges\"><rect width=\"{side}\" \
                 height=\"{side}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{}\"/></svg>",
                dark_runs_path(&dark_modules(&code), width)
            )
        }
        Err(e) => format!(
            "<p class=\"qr-missing\">QR: {}</p>",
            escape_html(&e.to_string())
        ),
    }
}

/// Light modules around a QR code, as the standard asks.
const QUIET_ZONE: usize = 4;

/// A QR code's modules row by row, `true` for dark.
fn dark_modules(code: &fast_qr::QRCode) -> Vec<bool> {
    (0..code.size)
        .flat_map(|y| (0..code.size).map(move |x| code[y][x].value()))
        .collect()
}

/// An SVG path of a QR code's dark modules, one rectangle per horizontal run of them (a
/// printed receipt's code has thousands of modules; one element each made the page 200 KB).
fn dark_runs_path(dark: &[bool], width: usize) -> String {
    use std::fmt::Write as _;
    let mut d = String::new();
    for (y, row) in dark.chunks(width.max(1)).enumerate() {
        let mut x = 0;
        while x < width {
            if !row[x] {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] {
                x += 1;
            }
            let run = x - start;
            let _ = write!(
                d,
                "M{} {}h{run}v1h-{run}z",
                start + QUIET_ZONE,
                y + QUIET_ZONE
            );
        }
    }
    d
}

/// Said plainly in place of a QR code that cannot be drawn (the receipt file still verifies).
fn missing_qr(why: &str) -> String {
    format!(
        "<p class=\"qr-missing\">二维码无法生成 / No QR code: {}</p>",
        escape_html(why)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_path_draws_exactly_the_dark_modules() {
        let code = fast_qr::qr::QRBuilder::new("https://example.invalid/receipt#abc")
            .build()
            .unwrap();
        let (width, dark) = (code.size, dark_modules(&code));
        let mut drawn = vec![false; width * width];
        let path = dark_runs_path(&dark, width);
        for run in path.split('M').filter(|r| !r.is_empty()) {
            let (x, rest) = run.split_once(' ').unwrap();
            let (y, rest) = rest.split_once('h').unwrap();
            let len: usize = rest.split_once('v').unwrap().0.parse().unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            for dx in 0..len {
                let cell = &mut drawn[(y - QUIET_ZONE) * width + x - QUIET_ZONE + dx];
                assert!(!*cell, "drawn twice");
                *cell = true;
            }
        }
        assert_eq!(drawn, dark);
    }

    const RECEIPT: &str = r#"{"format":"daylight-household-receipt/v1","bundle":"c2sp.org/tlog-proof@v1\nindex 4\n\ndemo.daylight/county-320681\n5\nabc=\n\n— x y\n","opening":{"rid":"county-320681-2026-pay-0002","nonce":"</script><script>alert(1)</script>"}}"#;
    const GENESIS: &str = r#"{"network_id":"n","versions":[{"sequence":1,"id":"n","note":"version = 1\n[[members]]\nid = \"city-320600\"\nhttp = \"http://127.0.0.1:1\"\n\n[[members]]\nid = \"county-320681\"\nhttp = \"http://127.0.0.1:17702\"\n"}]}"#;

    #[test]
    fn the_file_is_self_contained_and_points_the_qr_code_at_the_publisher() {
        let html = standalone_receipt_html(RECEIPT, GENESIS);
        assert!(html.starts_with("<!doctype html>"), "{}", &html[..100]);
        assert!(html.contains("lang=\"zh-CN\""));
        // The receipt's text cannot end the script element it travels in.
        assert!(!html.contains("</script><script>alert"));
        assert!(html.contains("<svg"));
        assert!(html.contains("http://127.0.0.1:17702/receipt#"));
        for bad in ["src=\"http", "href=\"http", "src=\"/", "href=\"/"] {
            assert!(!html.contains(bad), "{bad}");
        }
        assert!(!html.contains("/*STYLE*/") && !html.contains("/*BOOT*/"));
    }

    #[test]
    fn the_origin_falls_back_to_any_member_and_then_to_none() {
        let other = RECEIPT.replace("county-320681\\n5", "county-999\\n5");
        assert_eq!(origin(&other, GENESIS), "http://127.0.0.1:1");
        assert_eq!(origin(RECEIPT, "{}"), "");
    }
}
