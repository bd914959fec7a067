//! The doctor's findings and how they are printed: as text for a student, as JSON for a script.

use std::fmt::Write as _;

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something is broken: the doctor exits non-zero.
    Problem,
    /// Something will likely break, or cannot be judged yet.
    Warning,
    /// A check that could not run here, with the reason.
    Skipped,
    /// A check that passed.
    Ok,
}

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Self::Problem => "PROBLEM",
            Self::Warning => "WARNING",
            Self::Skipped => "SKIPPED",
            Self::Ok => "ok",
        }
    }
}

/// One result: which service, how bad, what is wrong, why it breaks, and the exact fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// A stable name for the check or the mistake (`target-down-localhost`, `port-taken`…).
    pub id: &'static str,
    /// The compose service it is about (`prometheus`, `grafana`…), or `host` / `repo`.
    pub service: String,
    pub severity: Severity,
    /// What is wrong (or, for `ok`, what was checked).
    pub message: String,
    /// Why it breaks the lab (empty for `ok` and `skipped`).
    pub why: String,
    /// The exact fix (empty for `ok` and `skipped`).
    pub fix: String,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
}

/// Everything the doctor found, in the order it found it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The repository examined.
    pub dir: String,
    /// The compose project whose volumes were examined.
    pub project: Option<String>,
    pub findings: Vec<Finding>,
}

#[derive(Serialize)]
struct Summary {
    problems: usize,
    warnings: usize,
    skipped: usize,
    ok: usize,
    healthy: bool,
}

impl Report {
    #[must_use]
    pub fn new(dir: String) -> Self {
        Self {
            dir,
            project: None,
            findings: Vec::new(),
        }
    }

    /// Records a broken thing.
    pub fn problem(
        &mut self,
        id: &'static str,
        service: &str,
        message: String,
        why: &str,
        fix: String,
    ) {
        self.push(id, service, Severity::Problem, message, why, fix);
    }

    /// Records a likely problem.
    pub fn warning(
        &mut self,
        id: &'static str,
        service: &str,
        message: String,
        why: &str,
        fix: String,
    ) {
        self.push(id, service, Severity::Warning, message, why, fix);
    }

    /// Records a check that could not run, and why.
    pub fn skipped(&mut self, id: &'static str, service: &str, reason: String) {
        self.push(id, service, Severity::Skipped, reason, "", String::new());
    }

    /// Records a check that passed.
    pub fn ok(&mut self, id: &'static str, service: &str, message: String) {
        self.push(id, service, Severity::Ok, message, "", String::new());
    }

    fn push(
        &mut self,
        id: &'static str,
        service: &str,
        severity: Severity,
        message: String,
        why: &str,
        fix: String,
    ) {
        self.findings.push(Finding {
            id,
            service: service.to_owned(),
            severity,
            message,
            why: why.to_owned(),
            fix,
        });
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|finding| finding.severity == severity)
            .count()
    }

    /// How many problems were found: the doctor fails when there is one.
    #[must_use]
    pub fn problems(&self) -> usize {
        self.count(Severity::Problem)
    }

    fn summary(&self) -> Summary {
        Summary {
            problems: self.problems(),
            warnings: self.count(Severity::Warning),
            skipped: self.count(Severity::Skipped),
            ok: self.count(Severity::Ok),
            healthy: self.problems() == 0,
        }
    }

    /// The report in `format`, ending with a newline.
    #[must_use]
    pub fn render(&self, format: ReportFormat) -> String {
        match format {
            ReportFormat::Json => {
                let json = serde_json::json!({
                    "dir": self.dir,
                    "project": self.project,
                    "findings": self.findings,
                    "summary": self.summary(),
                });
                format!("{json:#}\n")
            }
            ReportFormat::Text => self.text(),
        }
    }

    /// Problems first (with why and fix), then warnings, what was skipped, and what passed.
    fn text(&self) -> String {
        let mut out = format!("promlab doctor: {}", self.dir);
        if let Some(project) = &self.project {
            let _ = write!(out, " (compose project {project:?})");
        }
        out.push_str("\n\n");
        let mut findings: Vec<&Finding> = self.findings.iter().collect();
        findings.sort_by_key(|finding| finding.severity);
        for finding in findings {
            let _ = writeln!(
                out,
                "{:<8} {:<13} {}: {}",
                finding.severity.label(),
                finding.service,
                finding.id,
                finding.message
            );
            if !finding.why.is_empty() {
                let _ = writeln!(out, "         why: {}", finding.why);
            }
            if !finding.fix.is_empty() {
                let _ = writeln!(out, "         fix: {}", finding.fix);
            }
        }
        let summary = self.summary();
        let plural = |count: usize, word: &str| {
            format!("{count} {word}{}", if count == 1 { "" } else { "s" })
        };
        out.push('\n');
        if summary.healthy {
            let _ = writeln!(
                out,
                "Summary: no problem found: the stack is healthy ({} passed, {}, {} skipped).",
                plural(summary.ok, "check"),
                plural(summary.warnings, "warning"),
                summary.skipped
            );
        } else {
            let _ = writeln!(
                out,
                "Summary: {} to fix ({}, {} skipped, {} passed).",
                plural(summary.problems, "problem"),
                plural(summary.warnings, "warning"),
                summary.skipped,
                summary.ok
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_come_first_with_their_fix_and_the_summary_counts_them() {
        let mut report = Report::new("/lab".to_owned());
        report.ok("targets", "prometheus", "all 3 targets are up".to_owned());
        report.problem(
            "port-taken",
            "grafana",
            "port 3000 is taken".to_owned(),
            "compose cannot publish it",
            "PROMLAB_GRAFANA_PORT=3001".to_owned(),
        );
        let text = report.render(ReportFormat::Text);
        let problem = text.find("PROBLEM  grafana       port-taken: port 3000 is taken");
        let ok = text.find("ok       prometheus    targets: all 3 targets are up");
        assert!(problem.is_some() && ok.is_some() && problem < ok, "{text}");
        assert!(text.contains("fix: PROMLAB_GRAFANA_PORT=3001"), "{text}");
        assert!(text.contains("Summary: 1 problem to fix"), "{text}");
        let json: serde_json::Value =
            serde_json::from_str(&report.render(ReportFormat::Json)).unwrap();
        assert_eq!(json["summary"]["problems"], 1);
        assert_eq!(json["findings"][1]["id"], "port-taken");
        assert_eq!(json["findings"][1]["severity"], "problem");
    }

    #[test]
    fn a_healthy_stack_says_so() {
        let mut report = Report::new("/lab".to_owned());
        report.ok("targets", "prometheus", "all 3 targets are up".to_owned());
        report.skipped("grafana", "grafana", "Grafana is not running".to_owned());
        let text = report.render(ReportFormat::Text);
        assert!(
            text.contains(
                "no problem found: the stack is healthy (1 check passed, 0 warnings, 1 skipped)"
            ),
            "{text}"
        );
        assert_eq!(report.problems(), 0);
    }
}
