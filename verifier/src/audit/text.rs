//! [`AuditReport::render_text`]: a plain terminal table, lights first, then findings.

use std::fmt::Write as _;

use super::report::AuditReport;

impl AuditReport {
    /// The report as plain text for a terminal: the lights per member and programme, then
    /// one block per finding (severity, rule, member, subjects, summary, status).
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "daylight audit as of {}", self.as_of);
        let _ = writeln!(
            out,
            "{} logs, {} findings\n",
            self.logs.len(),
            self.findings.len()
        );
        let _ = writeln!(
            out,
            "{:<6}  {:<40} {:>9} {:>5} {:>6} {:>8}",
            "LIGHT", "MEMBER / PROGRAMME", "RECORDS", "RED", "YELLOW", "ANSWERED"
        );
        for m in &self.lights {
            let c = &m.counts;
            let _ = writeln!(
                out,
                "{:<6}  {:<40} {:>9} {:>5} {:>6} {:>8}",
                m.light.as_str(),
                clip(m.member.as_str(), 40),
                c.records,
                c.red,
                c.yellow,
                c.answered
            );
            for p in &m.programs {
                let c = &p.counts;
                let _ = writeln!(
                    out,
                    "{:<6}    {:<38} {:>9} {:>5} {:>6} {:>8}",
                    p.light.as_str(),
                    clip(p.program.as_str(), 38),
                    c.records,
                    c.red,
                    c.yellow,
                    c.answered
                );
            }
        }
        if self.findings.is_empty() {
            let _ = writeln!(out, "\nNo findings.");
            return out;
        }
        let _ = writeln!(out, "\nFINDINGS");
        for f in &self.findings {
            let _ = writeln!(
                out,
                "\n[{}] {} — {} (key {})",
                match f.severity {
                    crate::record::Severity::Red => "RED",
                    crate::record::Severity::Yellow => "YELLOW",
                    crate::record::Severity::Green => "GREEN",
                },
                f.rule,
                f.member,
                &f.key.to_hex()[..16]
            );
            let _ = writeln!(out, "  {}", clean(&f.summary));
            for s in &f.subjects {
                let _ = writeln!(
                    out,
                    "  subject {}/{} @{}",
                    s.log,
                    s.rid,
                    &s.leaf.to_string()[..16]
                );
            }
            match (&f.published, &f.answer) {
                (_, Some(a)) => {
                    let _ = writeln!(
                        out,
                        "  answered by {} ({}): {}",
                        a.rectification.rid,
                        serde_json::to_value(a.status)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        clean(&a.action)
                    );
                }
                (Some(p), None) => {
                    let _ = writeln!(out, "  published as {}/{}", p.log, p.rid);
                }
                (None, None) => {}
            }
        }
        out
    }
}

/// Text from records with control characters replaced, so a record cannot move the cursor
/// or clear a terminal.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(width - 1).collect();
        s.push('…');
        s
    }
}
