//! What a command prints: human lines, or one JSON document on stdout with `--json`.
//!
//! Every command returns a [`Report`]: the lines a person reads, the JSON a program reads,
//! and, when something checked did not verify, the reason (exit code 1); when a node could
//! not be reached but the command went on without it, which node (exit code 3, unless
//! something also failed to verify). Errors that stop a command before it has a report go
//! through [`print_error`].

use std::process::ExitCode;

use serde_json::{Value, json};

use crate::error::{CliError, EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE};

/// One check a command made, and how it came out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was checked, e.g. "checkpoint quorum".
    pub what: String,
    /// Whether it held.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// The result of a command: human text, machine JSON, and an optional failure.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Lines for people, in order.
    pub lines: Vec<String>,
    /// The JSON document for `--json` (an object; `ok` and `checks` are added on output).
    pub json: Value,
    /// The checks made, in order.
    pub checks: Vec<Check>,
    /// Why verification failed, if it did (exit 1).
    pub failure: Option<String>,
    /// Nodes that could not be reached while the command went on without them: (base URL,
    /// reason), each node once (exit 3 when nothing failed verification).
    pub unreachable: Vec<(String, String)>,
}

impl Report {
    /// An empty report whose JSON starts as `json` (an object).
    pub fn new(json: Value) -> Report {
        Report {
            lines: Vec::new(),
            json,
            checks: Vec::new(),
            failure: None,
            unreachable: Vec::new(),
        }
    }

    /// Adds a human line.
    pub fn line(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }

    /// Records a check that held.
    pub fn pass(&mut self, what: &str, detail: impl Into<String>) {
        self.checks.push(Check {
            what: what.to_string(),
            ok: true,
            detail: detail.into(),
        });
    }

    /// Records a check that failed; the first failure becomes the report's failure.
    pub fn fail(&mut self, what: &str, detail: impl Into<String>) {
        let detail = detail.into();
        if self.failure.is_none() {
            self.failure = Some(format!("{what}: {detail}"));
        }
        self.checks.push(Check {
            what: what.to_string(),
            ok: false,
            detail,
        });
    }

    /// Records that the node at `url` could not be reached (once per node) as a failed
    /// check named after it. This is not a verification failure: with nothing else wrong, the
    /// exit code is 3.
    pub fn node_unreachable(&mut self, url: &str, reason: impl Into<String>) {
        if self.unreachable.iter().any(|(u, _)| u == url) {
            return;
        }
        let reason = reason.into();
        self.checks.push(Check {
            what: format!("node {url}"),
            ok: false,
            detail: format!("could not be reached: {reason}"),
        });
        self.unreachable.push((url.to_string(), reason));
    }

    /// Whether every check held and every node answered.
    pub fn ok(&self) -> bool {
        self.failure.is_none() && self.unreachable.is_empty()
    }

    /// The exit code: 0 when everything verified, 1 when something did not verify, else 3
    /// when a node could not be reached.
    pub fn exit_code(&self) -> u8 {
        if self.failure.is_some() {
            EXIT_FAILED
        } else if !self.unreachable.is_empty() {
            EXIT_UNREACHABLE
        } else {
            EXIT_OK
        }
    }

    /// One sentence naming the nodes that could not be reached, if any.
    pub fn unreachable_summary(&self) -> Option<String> {
        if self.unreachable.is_empty() {
            return None;
        }
        let nodes: Vec<String> = self
            .unreachable
            .iter()
            .map(|(url, reason)| format!("{url} ({reason})"))
            .collect();
        Some(format!(
            "could not reach node {}: check the URL, or try again when it answers",
            nodes.join(", node ")
        ))
    }

    /// The human text: the lines, then one line per check, then the verdict.
    pub fn human(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(line);
            out.push('\n');
        }
        for check in &self.checks {
            let mark = if check.ok { "ok  " } else { "FAIL" };
            out.push_str(&format!("  [{mark}] {}: {}\n", check.what, check.detail));
        }
        if let Some(failure) = &self.failure {
            out.push_str(&format!("NOT VERIFIED: {failure}\n"));
        } else if let Some(nodes) = self.unreachable_summary() {
            out.push_str(&format!(
                "INCOMPLETE: {nodes}; every other check above passed.\n"
            ));
        } else if !self.checks.is_empty() {
            out.push_str("VERIFIED: every check above passed.\n");
        }
        out
    }

    /// The JSON document: the command's object with `ok`, `checks` and `failure` added.
    pub fn to_json(&self) -> Value {
        let mut value = match &self.json {
            Value::Object(_) => self.json.clone(),
            Value::Null => json!({}),
            other => json!({ "result": other }),
        };
        if let Value::Object(map) = &mut value {
            map.insert("ok".into(), Value::Bool(self.ok()));
            if !self.checks.is_empty() {
                let checks = self
                    .checks
                    .iter()
                    .map(|c| json!({"check": c.what, "ok": c.ok, "detail": c.detail}))
                    .collect();
                map.insert("checks".into(), Value::Array(checks));
            }
            if let Some(failure) = &self.failure {
                map.insert("failure".into(), Value::String(failure.clone()));
            }
            if !self.unreachable.is_empty() {
                let nodes = self
                    .unreachable
                    .iter()
                    .map(|(url, reason)| json!({"url": url, "reason": reason}))
                    .collect();
                map.insert("unreachable".into(), Value::Array(nodes));
                map.insert("exit_code".into(), json!(self.exit_code()));
            }
        }
        value
    }
}

/// Prints a report (JSON on stdout with `json`, else text) and returns its exit code.
pub fn print_report(report: &Report, json: bool) -> ExitCode {
    let text = if json {
        format!("{}\n", pretty(&report.to_json()))
    } else {
        report.human()
    };
    out(&text);
    if let Some(nodes) = report.unreachable_summary() {
        eprintln!("daylight: {nodes}");
    }
    ExitCode::from(report.exit_code())
}

/// The JSON form of an error: `{"ok": false, "error": kind, "message": ..., "exit_code": n}`.
pub fn error_json(error: &CliError) -> Value {
    json!({
        "ok": false,
        "error": error.kind(),
        "message": error.to_string(),
        "exit_code": error.exit_code(),
    })
}

/// Prints an error (JSON on stdout with `json`; always a line on stderr) and returns its
/// exit code.
pub fn print_error(error: &CliError, json: bool) -> ExitCode {
    if json {
        out(&format!("{}\n", pretty(&error_json(error))));
    }
    eprintln!("daylight: {error}");
    error.to_exit_code()
}

/// Writes to stdout; a closed pipe (`daylight ... | head`) is not an error worth a panic.
fn out(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_fails_the_report_with_the_first_reason() {
        let mut report = Report::new(json!({"rid": "x"}));
        report.pass("checkpoint", "signed by the log");
        assert_eq!(report.exit_code(), 0);
        assert!(
            report
                .human()
                .ends_with("VERIFIED: every check above passed.\n")
        );
        report.fail("inclusion", "proof leads elsewhere");
        report.fail("later", "also bad");
        assert_eq!(report.exit_code(), 1);
        assert_eq!(
            report.failure.as_deref(),
            Some("inclusion: proof leads elsewhere")
        );
        let human = report.human();
        assert!(
            human.contains("[ok  ] checkpoint: signed by the log"),
            "{human}"
        );
        assert!(human.contains("NOT VERIFIED: inclusion"), "{human}");
        let value = report.to_json();
        assert_eq!(value["ok"], false);
        assert_eq!(value["rid"], "x");
        assert_eq!(value["checks"][1]["ok"], false);
        assert_eq!(value["failure"], "inclusion: proof leads elsewhere");
    }

    #[test]
    fn an_unreachable_node_is_exit_3_unless_something_failed() {
        let mut report = Report::new(json!({}));
        report.pass("hop x", "verified at another node");
        report.node_unreachable("http://127.0.0.1:1", "connection refused");
        report.node_unreachable("http://127.0.0.1:1", "connection refused again");
        assert!(!report.ok());
        assert_eq!(report.exit_code(), 3);
        assert_eq!(report.unreachable.len(), 1);
        let human = report.human();
        assert!(
            human.contains("[FAIL] node http://127.0.0.1:1: could not be reached"),
            "{human}"
        );
        assert!(
            human.contains("INCOMPLETE: could not reach node http://127.0.0.1:1"),
            "{human}"
        );
        let value = report.to_json();
        assert_eq!(value["ok"], false);
        assert_eq!(value["exit_code"], 3);
        assert_eq!(value["unreachable"][0]["url"], "http://127.0.0.1:1");
        report.fail("hop y", "does not verify");
        assert_eq!(report.exit_code(), 1);
    }

    #[test]
    fn errors_in_json_carry_kind_and_exit_code() {
        let value = error_json(&crate::error::input("no such file"));
        assert_eq!(value["ok"], false);
        assert_eq!(value["error"], "bad_input");
        assert_eq!(value["exit_code"], 2);
    }
}
