//! [`AuditReport::render_html`]: one self-contained HTML page (inline CSS; no scripts, no
//! external assets) with the lights, the findings and the fund flows. Every piece of text
//! that comes from records is escaped.

use std::fmt::Write as _;

use crate::record::Severity;

use super::report::{AuditReport, Light};

/// Escapes text for HTML element content and double-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f4f4f4}.num{text-align:right;font-variant-numeric:tabular-nums}\
.light{display:inline-block;width:.9em;height:.9em;border-radius:50%;margin-right:.4em;vertical-align:middle}\
.green{background:#2e9d43}.yellow{background:#e8b300}.red{background:#d3302f}\
code{font-size:.85em;word-break:break-all}h2{margin-top:2em}";

fn light(l: Light) -> String {
    format!(
        "<span class=\"light {0}\"></span>{0}",
        match l {
            Light::Green => "green",
            Light::Yellow => "yellow",
            Light::Red => "red",
        }
    )
}

impl AuditReport {
    /// The report as a single self-contained HTML page: lights per member and programme,
    /// findings, and fund-flow tables. No scripts and no external assets; all record-derived
    /// text is escaped.
    pub fn render_html(&self) -> String {
        let mut o = String::new();
        let _ = write!(
            o,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>daylight audit {0}</title><style>{STYLE}</style></head><body>\n<h1>daylight audit as of {0}</h1>\n<p>{1} logs, {2} findings.</p>\n",
            self.as_of,
            self.logs.len(),
            self.findings.len()
        );
        o.push_str("<h2>Lights</h2>\n<table><tr><th>member / programme</th><th>light</th><th>records</th><th>open red</th><th>open yellow</th><th>answered</th></tr>\n");
        for m in &self.lights {
            let c = &m.counts;
            let _ = writeln!(
                o,
                "<tr><td><b>{}</b></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(m.member.as_str()),
                light(m.light),
                c.records,
                c.red,
                c.yellow,
                c.answered
            );
            for p in &m.programs {
                let c = &p.counts;
                let _ = writeln!(
                    o,
                    "<tr><td>&nbsp;&nbsp;{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    escape(p.program.as_str()),
                    light(p.light),
                    c.records,
                    c.red,
                    c.yellow,
                    c.answered
                );
            }
        }
        o.push_str("</table>\n<h2>Findings</h2>\n");
        if self.findings.is_empty() {
            o.push_str("<p>No findings.</p>\n");
        } else {
            o.push_str("<table><tr><th>severity</th><th>rule</th><th>member</th><th>summary</th><th>subjects</th><th>status</th></tr>\n");
            for f in &self.findings {
                let sev = match f.severity {
                    Severity::Red => Light::Red,
                    Severity::Yellow => Light::Yellow,
                    Severity::Green => Light::Green,
                };
                let subjects: Vec<String> = f
                    .subjects
                    .iter()
                    .map(|s| {
                        format!(
                            "<code>{}/{}</code>",
                            escape(s.log.as_str()),
                            escape(s.rid.as_str())
                        )
                    })
                    .collect();
                let status = match (&f.published, &f.answer) {
                    (_, Some(a)) => format!(
                        "answered by <code>{}</code> ({}): {}",
                        escape(a.rectification.rid.as_str()),
                        escape(
                            &serde_json::to_value(a.status)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default()
                        ),
                        escape(&a.action)
                    ),
                    (Some(p), None) => {
                        format!("published as <code>{}</code>", escape(p.rid.as_str()))
                    }
                    (None, None) => "not published".to_string(),
                };
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    light(sev),
                    escape(f.rule.code()),
                    escape(f.member.as_str()),
                    escape(&f.summary),
                    subjects.join("<br>"),
                    status
                );
            }
            o.push_str("</table>\n");
        }
        o.push_str("<h2>Fund flows</h2>\n");
        if self.flows.is_empty() {
            o.push_str("<p>No allocations or receipts.</p>\n");
        } else {
            o.push_str("<table><tr><th>fund</th><th>kind</th><th>programme</th><th>date</th><th>amount</th><th>drawn</th><th>remaining</th><th>over-drawn</th><th>drawn by</th></tr>\n");
            for f in &self.flows {
                let by: Vec<String> = f
                    .drawn_by
                    .iter()
                    .map(|d| {
                        format!(
                            "<code>{}/{}</code> {} {}",
                            escape(d.by.log.as_str()),
                            escape(d.by.rid.as_str()),
                            escape(d.kind),
                            escape(&d.amount.to_string())
                        )
                    })
                    .collect();
                let _ = writeln!(
                    o,
                    "<tr><td><code>{}/{}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                    escape(f.fund.log.as_str()),
                    escape(f.fund.rid.as_str()),
                    escape(&f.kind),
                    escape(f.program.as_str()),
                    f.event_date,
                    escape(&f.amount.to_string()),
                    escape(&f.drawn.to_string()),
                    escape(&f.remaining.to_string()),
                    escape(&f.overdrawn.to_string()),
                    by.join("<br>")
                );
            }
            o.push_str("</table>\n");
        }
        o.push_str("</body></html>\n");
        o
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
