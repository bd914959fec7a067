//! The grade's reports: text for the student's terminal (coloured only there), JSON for tools, `JUnit`
//! XML for CI autograding (one test suite per lab and student, a test case per criterion), Markdown for
//! a pull request, a self-contained HTML page for the instructor. A class gets one summary table
//! (student × criterion) in every format.

use std::fmt::Write as _;

use askama::Template;

use super::{ClassReport, CriterionResult, Outcome, Report};

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Junit,
    Markdown,
    Html,
    /// A gradebook: one row per student, the points of each criterion and the total.
    Csv,
}

impl Format {
    /// The file extension of a report in this format.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Text => "txt",
            Self::Json => "json",
            Self::Junit => "xml",
            Self::Markdown => "md",
            Self::Html => "html",
            Self::Csv => "csv",
        }
    }
}

/// One repository's report.
#[must_use]
pub(super) fn render_one(report: &Report, format: Format, colour: bool) -> String {
    match format {
        Format::Text => text_one(report, colour),
        Format::Json => json(report),
        Format::Junit => junit(std::slice::from_ref(report), false),
        Format::Markdown => markdown_one(report),
        Format::Html => html(
            report.lab,
            &report.lab_title,
            &[],
            std::slice::from_ref(report),
            false,
        ),
        Format::Csv => gradebook(
            &report
                .results
                .iter()
                .map(|result| result.id.clone())
                .collect::<Vec<_>>(),
            std::slice::from_ref(report),
        ),
    }
}

/// A class's report: the summary table, then each student's failures.
#[must_use]
pub(super) fn render_class(class: &ClassReport, format: Format, colour: bool) -> String {
    match format {
        Format::Text => text_class(class, colour),
        Format::Json => json(class),
        Format::Junit => junit(&class.students, true),
        Format::Markdown => markdown_class(class),
        Format::Html => html(
            class.lab,
            &class.lab_title,
            &class.criteria,
            &class.students,
            true,
        ),
        Format::Csv => gradebook(&class.criteria, &class.students),
    }
}

/// `student,<criterion>…,total,max`: the points each student earned per criterion (a criterion's
/// points when it passed, else 0), their sum, and the most there was to earn. Quoted by the csv crate
/// where a name needs it.
fn gradebook(criteria: &[String], students: &[Report]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["student".to_owned()];
    header.extend(criteria.iter().cloned());
    header.extend(["total".to_owned(), "max".to_owned()]);
    let mut rows = vec![header];
    for student in students {
        let mut row = vec![student.student.clone()];
        let (mut total, mut max) = (0, 0);
        for id in criteria {
            let result = student.results.iter().find(|result| &result.id == id);
            let earned = result.map_or(0, CriterionResult::earned);
            total += earned;
            max += result.map_or(0, |result| result.points);
            row.push(earned.to_string());
        }
        row.extend([total.to_string(), max.to_string()]);
        rows.push(row);
    }
    for row in rows {
        // Writing into memory cannot fail.
        let _ = writer.write_record(&row);
    }
    writer
        .into_inner()
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default()
}

fn json(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value)
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
    text.push('\n');
    text
}

fn paint(text: &str, outcome: &Outcome, colour: bool) -> String {
    if !colour {
        return text.to_owned();
    }
    let code = match outcome {
        Outcome::Pass(_) => "32",
        Outcome::Fail(_) => "31",
        Outcome::Skip(_) => "33",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn totals(report: &Report) -> String {
    format!(
        "{} passed, {} failed, {} skipped",
        report.count("PASS"),
        report.count("FAIL"),
        report.count("SKIP")
    )
}

fn text_one(report: &Report, colour: bool) -> String {
    let mut out = format!(
        "promlab grade: lab {} ({}), {}\n\n",
        report.lab, report.lab_title, report.student
    );
    let width = report.results.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for result in &report.results {
        let _ = writeln!(
            out,
            "{}  {:width$}  {}",
            paint(result.outcome.label(), &result.outcome, colour),
            result.id,
            result.title
        );
        let why = match result.outcome {
            Outcome::Pass(_) => "     ",
            _ => "why: ",
        };
        let _ = writeln!(out, "      {why}{}", result.outcome.message());
        if let Some(fix) = &result.fix {
            let _ = writeln!(out, "      fix: {fix}");
        }
    }
    let _ = writeln!(out, "\n{} in {:.1} s", totals(report), report.seconds);
    out
}

fn cell(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Pass(_) => "pass",
        Outcome::Fail(_) => "FAIL",
        Outcome::Skip(_) => "skip",
    }
}

fn text_class(class: &ClassReport, colour: bool) -> String {
    let mut out = format!(
        "promlab grade: lab {} ({}), {} students\n\n",
        class.lab,
        class.lab_title,
        class.students.len()
    );
    let name_width = class
        .students
        .iter()
        .map(|s| s.student.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let widths: Vec<usize> = class.criteria.iter().map(|id| id.len().max(4)).collect();
    let _ = write!(out, "{:name_width$}", "student");
    for (id, width) in class.criteria.iter().zip(&widths) {
        let _ = write!(out, "  {id:width$}");
    }
    out.push_str("  failed\n");
    for student in &class.students {
        let _ = write!(out, "{:name_width$}", student.student);
        for (result, width) in student.results.iter().zip(&widths) {
            let _ = write!(
                out,
                "  {}",
                paint(
                    &format!("{:width$}", cell(&result.outcome)),
                    &result.outcome,
                    colour
                )
            );
        }
        let _ = writeln!(out, "  {}", student.count("FAIL"));
    }
    for student in &class.students {
        let failures: Vec<_> = student
            .results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Fail(_)))
            .collect();
        if failures.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{}:", student.student);
        for result in failures {
            let _ = writeln!(out, "  FAIL {}: {}", result.id, result.outcome.message());
            if let Some(fix) = &result.fix {
                let _ = writeln!(out, "       fix: {fix}");
            }
        }
    }
    let failed: usize = class.students.iter().map(|s| s.count("FAIL")).sum();
    let passing = class
        .students
        .iter()
        .filter(|s| s.count("FAIL") == 0)
        .count();
    let _ = writeln!(
        out,
        "\n{passing} of {} students pass every criterion; {failed} failures in all; {:.1} s",
        class.students.len(),
        class.seconds
    );
    out
}

/// Text inside a Markdown table cell.
fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn markdown_one(report: &Report) -> String {
    let mut out = format!(
        "## promlab grade: lab {}, {} ({})\n\n{}\n\n| | criterion | result | fix |\n|---|---|---|---|\n",
        report.lab,
        md(&report.lab_title),
        md(&report.student),
        totals(report)
    );
    for result in &report.results {
        let _ = writeln!(
            out,
            "| {} | `{}` {} | {} | {} |",
            result.outcome.label(),
            result.id,
            md(&result.title),
            md(result.outcome.message()),
            md(result.fix.as_deref().unwrap_or(""))
        );
    }
    out
}

fn markdown_class(class: &ClassReport) -> String {
    let mut out = format!(
        "## promlab grade: lab {}, {} ({} students)\n\n| student |",
        class.lab,
        md(&class.lab_title),
        class.students.len()
    );
    for id in &class.criteria {
        let _ = write!(out, " `{id}` |");
    }
    out.push_str(" failed |\n|---|");
    out.push_str(&"---|".repeat(class.criteria.len() + 1));
    out.push('\n');
    for student in &class.students {
        let _ = write!(out, "| {} |", md(&student.student));
        for result in &student.results {
            let _ = write!(out, " {} |", cell(&result.outcome));
        }
        let _ = writeln!(out, " {} |", student.count("FAIL"));
    }
    for student in &class.students {
        let failures: Vec<_> = student
            .results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Fail(_)))
            .collect();
        if failures.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n### {}\n", md(&student.student));
        for result in failures {
            let _ = writeln!(
                out,
                "- **{}**: {} (fix: {})",
                result.id,
                md(result.outcome.message()),
                md(result.fix.as_deref().unwrap_or(""))
            );
        }
    }
    out
}

/// Text safe inside XML content and attribute values (characters XML 1.0 forbids are dropped).
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if u32::from(c) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// `JUnit` XML: one test suite per lab (per student in a class), one test case per criterion.
fn junit(reports: &[Report], class: bool) -> String {
    let tests: usize = reports.iter().map(|r| r.results.len()).sum();
    let failures: usize = reports.iter().map(|r| r.count("FAIL")).sum();
    let skipped: usize = reports.iter().map(|r| r.count("SKIP")).sum();
    let time: f64 = reports.iter().map(|r| r.seconds).sum();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"promlab grade\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time:.3}\">\n"
    );
    for report in reports {
        let name = if class {
            format!(
                "lab {}: {} ({})",
                report.lab, report.lab_title, report.student
            )
        } else {
            format!("lab {}: {}", report.lab, report.lab_title)
        };
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
            xml(&name),
            report.results.len(),
            report.count("FAIL"),
            report.count("SKIP"),
            report.seconds
        );
        let classname = format!("lab{}.{}", report.lab, report.student);
        for result in &report.results {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}: {}\" time=\"0\"",
                xml(&classname),
                xml(&result.id),
                xml(&result.title)
            );
            match &result.outcome {
                Outcome::Pass(message) => {
                    let _ = writeln!(
                        out,
                        ">\n      <system-out>{}</system-out>\n    </testcase>",
                        xml(message)
                    );
                }
                Outcome::Fail(message) => {
                    let fix = result.fix.as_deref().unwrap_or("");
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}&#10;fix: {}</failure>\n    </testcase>",
                        xml(message),
                        result.kind,
                        xml(message),
                        xml(fix)
                    );
                }
                Outcome::Skip(message) => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml(message)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[derive(Template)]
#[template(path = "grade.html")]
struct HtmlReport<'a> {
    lab: u8,
    lab_title: &'a str,
    criteria: &'a [String],
    students: &'a [Report],
    class: bool,
}

fn html(lab: u8, lab_title: &str, criteria: &[String], students: &[Report], class: bool) -> String {
    HtmlReport {
        lab,
        lab_title,
        criteria,
        students,
        class,
    }
    .render()
    .unwrap_or_else(|error| {
        format!(
            "<!doctype html><p>the report could not be rendered: {}</p>",
            xml(&error.to_string())
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(student: &str) -> Report {
        let result = |id: &str, outcome: Outcome, fix: Option<&str>| CriterionResult {
            id: id.to_owned(),
            title: format!("the {id} <check>"),
            kind: "alert_rule",
            points: 2,
            outcome,
            fix: fix.map(str::to_owned),
        };
        Report {
            lab: 5,
            lab_title: "CPU & alerts".to_owned(),
            student: student.to_owned(),
            results: vec![
                result("a", Outcome::Pass("ok".to_owned()), None),
                result(
                    "b",
                    Outcome::Fail("for is 2m <not 3m> & \"x\"".to_owned()),
                    Some("set for: 3m"),
                ),
                result("c", Outcome::Skip("no Grafana".to_owned()), None),
            ],
            seconds: 0.5,
        }
    }

    #[test]
    fn junit_escapes_and_counts() {
        let xml = junit(&[report("alice")], false);
        assert!(xml.contains("<testsuite name=\"lab 5: CPU &amp; alerts\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""), "{xml}");
        assert!(xml.contains("<failure message=\"for is 2m &lt;not 3m&gt; &amp; &quot;x&quot;\" type=\"alert_rule\">"), "{xml}");
        assert!(xml.contains("<skipped message=\"no Grafana\"/>"), "{xml}");
        assert!(!xml.contains("<not"), "{xml}");
    }

    #[test]
    fn html_is_escaped_and_self_contained() {
        let page = render_one(&report("alice<script>"), Format::Html, false);
        assert!(
            page.contains("alice&#60;script&#62;") || page.contains("alice&lt;script&gt;"),
            "{page}"
        );
        assert!(!page.contains("<script"), "{page}");
        assert!(
            !page.contains("src=\"http") && !page.contains("href=\"http"),
            "no external resources"
        );
        assert!(page.contains("set for: 3m"));
    }

    #[test]
    fn text_is_plain_off_a_terminal_and_coloured_on_one() {
        let plain = render_one(&report("alice"), Format::Text, false);
        assert!(!plain.contains('\x1b'));
        assert!(
            plain.contains("FAIL  b  the b <check>\n      why: for is 2m"),
            "{plain}"
        );
        assert!(plain.contains("fix: set for: 3m"));
        assert!(plain.contains("1 passed, 1 failed, 1 skipped"));
        assert!(render_one(&report("alice"), Format::Text, true).contains("\x1b[31mFAIL"));
    }

    #[test]
    fn a_class_has_one_summary_table_in_every_format() {
        let class = ClassReport {
            lab: 5,
            lab_title: "CPU".to_owned(),
            criteria: vec!["a".to_owned(), "b".to_owned(), "c".to_owned()],
            students: vec![report("alice"), report("bob")],
            seconds: 1.0,
        };
        let markdown = render_class(&class, Format::Markdown, false);
        assert!(
            markdown.contains("| student | `a` | `b` | `c` | failed |"),
            "{markdown}"
        );
        assert!(
            markdown.contains("| bob | pass | FAIL | skip | 1 |"),
            "{markdown}"
        );
        let text = render_class(&class, Format::Text, false);
        assert!(text.contains("alice    pass  FAIL  skip  1"), "{text}");
        let html = render_class(&class, Format::Html, false);
        assert_eq!(
            html.matches("<table class=\"summary\">").count(),
            1,
            "{html}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render_class(&class, Format::Json, false)).unwrap();
        assert_eq!(json["students"][1]["results"][1]["status"], "fail");
        let junit = render_class(&class, Format::Junit, false);
        assert_eq!(junit.matches("<testsuite ").count(), 2);
        let csv = render_class(&class, Format::Csv, false);
        assert_eq!(
            csv,
            "student,a,b,c,total,max\nalice,2,0,0,2,6\nbob,2,0,0,2,6\n"
        );
    }
}
