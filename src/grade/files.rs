//! Static checks: what the grader judges from the student's files alone, without a running stack.
//! Checks that need an upstream tool return a [`ToolJob`] instead of an outcome; the grader runs
//! those together (see `tools`).

use std::path::Path;

use serde_yaml_ng::Value;

use super::criteria::Check;
use super::document::{self, TOLERANCE, load, lookup, same, show};
use super::tools::{Program, ScratchDir, ToolJob};
use super::{LabSource, Outcome};
use crate::compose::{Compose, ComposeError};
use crate::promql;

/// What a check needs next.
#[derive(Debug)]
pub(super) enum Step {
    /// Judged.
    Done(Outcome),
    /// An upstream tool decides: success passes, anything else fails with its output.
    Tool(ToolJob),
    /// A live check: judged against the running stack.
    Live,
}

fn fail(reason: impl Into<String>) -> Step {
    Step::Done(Outcome::Fail(reason.into()))
}

fn pass(detail: impl Into<String>) -> Step {
    Step::Done(Outcome::Pass(detail.into()))
}

/// Judges `check` on the repository `repo`; `lab` gives the grader's own files (timing tests).
#[allow(clippy::too_many_lines)] // one arm per kind: the dispatch reads best whole
pub(super) fn evaluate(check: &Check, repo: &Path, lab: &LabSource) -> Step {
    match check {
        Check::FileExists { path } => match std::fs::metadata(repo.join(path)) {
            Ok(meta) if meta.is_file() && meta.len() > 0 => pass(format!("{path} exists")),
            Ok(meta) if meta.is_file() => fail(format!("{path} is empty")),
            Ok(_) => fail(format!("{path} is a folder, not a file")),
            Err(_) => fail(format!("{path} does not exist")),
        },
        Check::CsvSamples {
            path,
            metric,
            min_samples,
            min_span,
        } => Step::Done(csv_samples(
            repo,
            path,
            metric,
            *min_samples,
            min_span.as_deref(),
        )),
        Check::FileMatches { path, pattern } => Step::Done(file_matches(repo, path, pattern)),
        Check::YamlPathEquals { file, path, equals } => {
            match load(repo, file).and_then(|doc| lookup(&doc, path).cloned()) {
                Ok(found) if same(&found, equals) => {
                    pass(format!("{file}: {path} is {}", show(&found)))
                }
                Ok(found) => fail(format!(
                    "{file}: {path} is {}, expected {}",
                    show(&found),
                    show(equals)
                )),
                Err(reason) => fail(located(file, reason)),
            }
        }
        Check::YamlPathContains {
            file,
            path,
            contains,
        } => match load(repo, file).and_then(|doc| lookup(&doc, path).cloned()) {
            Ok(found) => {
                let holds = match (&found, contains) {
                    (Value::Sequence(items), _) => items.iter().any(|item| same(item, contains)),
                    (Value::String(text), Value::String(part)) => text.contains(part.as_str()),
                    _ => false,
                };
                if holds {
                    pass(format!("{file}: {path} contains {}", show(contains)))
                } else {
                    fail(format!(
                        "{file}: {path} is {}, which does not contain {}",
                        show(&found),
                        show(contains)
                    ))
                }
            }
            Err(reason) => fail(located(file, reason)),
        },
        Check::DashboardPanel {
            path,
            query_contains,
            threshold,
        } => Step::Done(dashboard_panel(repo, path, query_contains, *threshold)),
        Check::PromtoolCheckConfig { file } => {
            tool(repo, file, Program::Promtool, &["check", "config"])
        }
        Check::AmtoolCheckConfig { file } => tool(repo, file, Program::Amtool, &["check-config"]),
        Check::PromtoolTestRules { tests, alerts } => {
            let mut files = Vec::new();
            for pattern in tests {
                let matched = expand(repo, pattern);
                if matched.is_empty() {
                    return fail(format!("no file matches {pattern}"));
                }
                files.extend(matched);
            }
            if let Err(reason) = tests_expect(repo, &files, alerts) {
                return fail(reason);
            }
            let mut args = vec!["test".to_owned(), "rules".to_owned()];
            args.extend(files);
            Step::Tool(ToolJob {
                program: Program::Promtool,
                dir: repo.to_path_buf(),
                args,
                _scratch: None,
            })
        }
        Check::RuleTimingTest {
            rules,
            config,
            test,
        } => timing_test(repo, rules.as_deref(), config.as_deref(), test, lab),
        Check::AlertRule {
            file,
            config,
            alert,
            for_,
            expr_contains,
            severity,
        } => Step::Done(alert_rule(
            repo,
            (file.as_deref(), config.as_deref()),
            alert,
            for_.as_deref(),
            expr_contains.as_deref(),
            severity.as_deref(),
        )),
        Check::DiscordReceiver { file } => Step::Done(discord_receiver(repo, file)),
        Check::Inhibits {
            file,
            source,
            targets,
        } => Step::Done(super::inhibit::judge(repo, file, source, targets)),
        Check::ComposeLint { file } => Step::Done(compose_lint(repo, file)),
        Check::NoSecret {} => Step::Done(super::secrets::scan(repo)),
        Check::TargetUp { .. }
        | Check::PromQueryNonempty { .. }
        | Check::AmNotifications { .. }
        | Check::GrafanaDashboard { .. } => Step::Live,
    }
}

/// The samples of `metric` in a CSV export: the long layout's rows whose `metric` column is it, or the
/// wide layout's non-empty cells of its columns (`metric` or `metric{…}`); each with its timestamp.
fn csv_samples(
    repo: &Path,
    path: &str,
    metric: &str,
    min_samples: usize,
    min_span: Option<&str>,
) -> Outcome {
    let mut reader = match csv::Reader::from_path(repo.join(path)) {
        Ok(reader) => reader,
        Err(_) if !repo.join(path).is_file() => {
            return Outcome::Fail(format!("{path} does not exist"));
        }
        Err(error) => return Outcome::Fail(format!("{path} cannot be read as CSV: {error}")),
    };
    let header: Vec<String> = match reader.headers() {
        Ok(header) => header.iter().map(str::to_owned).collect(),
        Err(error) => return Outcome::Fail(format!("{path} has no CSV header: {error}")),
    };
    let long = header.iter().position(|name| name == "metric");
    let value = header.iter().position(|name| name == "value");
    let columns: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, name)| {
            name.as_str() == metric
                || name
                    .strip_prefix(metric)
                    .is_some_and(|rest| rest.starts_with('{'))
        })
        .map(|(index, _)| index)
        .collect();
    if header.first().map(String::as_str) != Some("timestamp")
        || (long.is_none() && columns.is_empty())
    {
        return Outcome::Fail(format!(
            "{path} is not an export of {metric}: its header is `{}` (expected `timestamp,metric,labels,value`, or `timestamp` and {metric}'s columns)",
            header.join(",")
        ));
    }
    let mut times = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                return Outcome::Fail(format!("{path}, line {}: {error}", line + 2));
            }
        };
        let Some(at) = record.get(0).and_then(|text| text.parse::<f64>().ok()) else {
            return Outcome::Fail(format!(
                "{path}, line {}: the timestamp {:?} is not a number of seconds",
                line + 2,
                record.get(0).unwrap_or_default()
            ));
        };
        let held = match (long, value) {
            (Some(name), Some(value)) => usize::from(
                record.get(name) == Some(metric)
                    && record.get(value).is_some_and(|v| !v.is_empty()),
            ),
            _ => columns
                .iter()
                .filter(|&&column| record.get(column).is_some_and(|cell| !cell.is_empty()))
                .count(),
        };
        times.extend(std::iter::repeat_n(at, held));
    }
    let span = match (
        times.iter().copied().reduce(f64::min),
        times.iter().copied().reduce(f64::max),
    ) {
        (Some(first), Some(last)) => last - first,
        _ => 0.0,
    };
    if times.len() < min_samples {
        return Outcome::Fail(format!(
            "{path} holds {} samples of {metric}, fewer than {min_samples}",
            times.len()
        ));
    }
    if let Some(wanted) = min_span {
        let Some(seconds) = document::duration(wanted) else {
            return Outcome::Skip(format!(
                "min_span {wanted:?} is not a duration: fix the criteria file"
            ));
        };
        if span + TOLERANCE < seconds as f64 {
            return Outcome::Fail(format!(
                "{path} covers {span:.0} s of {metric}, less than {wanted}"
            ));
        }
    }
    Outcome::Pass(format!(
        "{path} holds {} samples of {metric} over {span:.0} s",
        times.len()
    ))
}

fn file_matches(repo: &Path, path: &str, pattern: &str) -> Outcome {
    let regex = match regex::Regex::new(pattern) {
        Ok(regex) => regex,
        Err(error) => {
            return Outcome::Skip(format!(
                "the pattern {pattern:?} is invalid ({error}): fix the criteria file"
            ));
        }
    };
    match std::fs::read_to_string(repo.join(path)) {
        Ok(text) => match text.lines().find(|line| regex.is_match(line)) {
            Some(line) => Outcome::Pass(format!("{path}: {}", line.trim())),
            None => Outcome::Fail(format!(
                "{path} has no line like `{pattern}` (it starts: {:?})",
                text.lines()
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(120)
                    .collect::<String>()
            )),
        },
        Err(_) => Outcome::Fail(format!("{path} does not exist or is not text")),
    }
}

/// A lookup failure, prefixed with the file unless the reason already names it.
fn located(file: &str, reason: String) -> String {
    if reason.starts_with(file) {
        reason
    } else {
        format!("{file}: {reason}")
    }
}

fn tool(repo: &Path, file: &str, program: Program, command: &[&str]) -> Step {
    if !repo.join(file).is_file() {
        return fail(format!("{file} does not exist"));
    }
    let mut args: Vec<String> = command.iter().map(|&arg| arg.to_owned()).collect();
    args.push(file.to_owned());
    Step::Tool(ToolJob {
        program,
        dir: repo.to_path_buf(),
        args,
        _scratch: None,
    })
}

/// `dir/*.test.yml` style patterns (one `*` in the file name); a plain path is itself when it exists.
fn expand(repo: &Path, pattern: &str) -> Vec<String> {
    let (folder, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    let Some((prefix, suffix)) = name.split_once('*') else {
        return if repo.join(pattern).is_file() {
            vec![pattern.to_owned()]
        } else {
            Vec::new()
        };
    };
    let mut found: Vec<String> = std::fs::read_dir(repo.join(folder))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|file| {
                    file.len() >= prefix.len() + suffix.len()
                        && file.starts_with(prefix)
                        && file.ends_with(suffix)
                })
                .map(|file| {
                    if folder.is_empty() {
                        file
                    } else {
                        format!("{folder}/{file}")
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// The grader's test against the student's rules: the rules (one file, or every file the config's
/// `rule_files` names, their groups renamed apart) are copied as `rules.yml` (the name the grader's
/// tests load) without their annotations, so only the timing and the labels are judged.
fn timing_test(
    repo: &Path,
    rules: Option<&str>,
    config: Option<&str>,
    test: &str,
    lab: &LabSource,
) -> Step {
    let files = match rule_files(repo, rules, config) {
        Ok(files) => files,
        Err(reason) => return fail(reason),
    };
    let mut groups = Vec::new();
    for file in &files {
        let document = match load(repo, file) {
            Ok(document) => document,
            Err(reason) => return fail(reason),
        };
        for mut group in document
            .get("groups")
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default()
        {
            if let Some(group) = group.as_mapping_mut() {
                let name = group
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                group.insert("name".into(), format!("{file}: {name}").into());
                if let Some(rules) = group.get_mut("rules").and_then(Value::as_sequence_mut) {
                    for rule in rules.iter_mut().filter_map(Value::as_mapping_mut) {
                        rule.remove("annotations");
                    }
                }
            }
            groups.push(group);
        }
    }
    let mut document = serde_yaml_ng::Mapping::new();
    document.insert("groups".into(), Value::Sequence(groups));
    let test_text = match lab.file(test) {
        Ok(contents) => contents,
        Err(reason) => return Step::Done(Outcome::Skip(reason)),
    };
    let prepared = ScratchDir::new().and_then(|scratch| {
        let rules_text = serde_yaml_ng::to_string(&document).map_err(std::io::Error::other)?;
        std::fs::write(scratch.path().join("rules.yml"), rules_text)?;
        std::fs::write(scratch.path().join("test.yml"), test_text)?;
        Ok(scratch)
    });
    match prepared {
        Ok(scratch) => Step::Tool(ToolJob {
            program: Program::Promtool,
            dir: scratch.path().to_path_buf(),
            args: vec!["test".to_owned(), "rules".to_owned(), "test.yml".to_owned()],
            _scratch: Some(scratch),
        }),
        Err(error) => Step::Done(Outcome::Skip(format!(
            "cannot prepare the timing test in the temporary folder: {error}"
        ))),
    }
}

/// The rule files a check reads: `file`, or every file the Prometheus config's `rule_files` patterns
/// match (globs, relative to the config's folder; `/etc/prometheus/…`, where the compose stack mounts
/// that folder, counts as the folder itself), as paths relative to the repository.
fn rule_files(
    repo: &Path,
    file: Option<&str>,
    config: Option<&str>,
) -> Result<Vec<String>, String> {
    let Some(config) = config else {
        return Ok(file.map(str::to_owned).into_iter().collect());
    };
    let document = load(repo, config)?;
    let patterns: Vec<&str> = document
        .get("rule_files")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if patterns.is_empty() {
        return Err(format!(
            "{config} lists no rule_files, so Prometheus loads no rule"
        ));
    }
    let folder = Path::new(config).parent().unwrap_or(Path::new(""));
    let mut files = Vec::new();
    for pattern in patterns {
        let relative = pattern.strip_prefix("/etc/prometheus/").unwrap_or(pattern);
        if relative.starts_with('/') {
            continue;
        }
        let full = repo.join(folder).join(relative);
        let matched = glob::glob(&full.to_string_lossy())
            .map(|paths| paths.filter_map(Result::ok).collect::<Vec<_>>())
            .unwrap_or_default();
        for path in matched {
            if let Ok(inside) = path.strip_prefix(repo) {
                let inside = inside.to_string_lossy().replace('\\', "/");
                if !files.contains(&inside) {
                    files.push(inside);
                }
            }
        }
    }
    if files.is_empty() {
        return Err(format!(
            "no file matches the rule_files of {config}: Prometheus loads no rule"
        ));
    }
    Ok(files)
}

/// Every test file expects each of `alerts` to fire at some `eval_time`, in one of `files` at least.
fn tests_expect(repo: &Path, files: &[String], alerts: &[String]) -> Result<(), String> {
    let documents: Vec<Value> = files
        .iter()
        .map(|file| load(repo, file))
        .collect::<Result<_, _>>()?;
    for alert in alerts {
        let tested = documents.iter().any(|document| {
            document
                .get("tests")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(|test| test.get("alert_rule_test").and_then(Value::as_sequence))
                .flatten()
                .any(|case| {
                    case.get("alertname").and_then(Value::as_str) == Some(alert.as_str())
                        && case
                            .get("exp_alerts")
                            .and_then(Value::as_sequence)
                            .is_some_and(|expected| !expected.is_empty())
                })
        });
        if !tested {
            return Err(format!(
                "no test in {} expects {alert} to fire (an alert_rule_test with `alertname: {alert}` and its exp_alerts)",
                files.join(", ")
            ));
        }
    }
    Ok(())
}

fn alert_rule(
    repo: &Path,
    (file, config): (Option<&str>, Option<&str>),
    alert: &str,
    for_: Option<&str>,
    expr_contains: Option<&str>,
    severity: Option<&str>,
) -> Outcome {
    let files = match rule_files(repo, file, config) {
        Ok(files) => files,
        Err(reason) => return Outcome::Fail(reason),
    };
    let mut documents = Vec::with_capacity(files.len());
    for file in &files {
        match load(repo, file) {
            Ok(document) => documents.push((file.as_str(), document)),
            Err(reason) => return Outcome::Fail(reason),
        }
    }
    let rules: Vec<(&str, &Value)> = documents
        .iter()
        .flat_map(|(file, document)| {
            document
                .get("groups")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(|group| group.get("rules").and_then(Value::as_sequence))
                .flatten()
                .map(move |rule| (*file, rule))
        })
        .collect();
    let Some(&(file, rule)) = rules
        .iter()
        .find(|(_, rule)| rule.get("alert").and_then(Value::as_str) == Some(alert))
    else {
        let names: Vec<&str> = rules
            .iter()
            .filter_map(|(_, rule)| rule.get("alert").and_then(Value::as_str))
            .collect();
        return Outcome::Fail(format!(
            "{} {} no alerting rule named {alert} (alerts found: {})",
            files.join(", "),
            if files.len() == 1 { "has" } else { "have" },
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ));
    };
    let mut checked = Vec::new();
    if let Some(expected) = for_ {
        let written = rule.get("for").and_then(document::scalar_text);
        let seconds = written.as_deref().map_or(Some(0), document::duration);
        let expected_seconds = document::duration(expected);
        if seconds != expected_seconds || expected_seconds.is_none() {
            return Outcome::Fail(format!(
                "{alert} in {file} has {}, expected `for: {expected}`",
                written.map_or_else(
                    || "no `for` (it fires at once)".to_owned(),
                    |w| format!("`for: {w}`")
                )
            ));
        }
        checked.push(format!("for: {expected}"));
    }
    let expr = rule
        .get("expr")
        .and_then(document::scalar_text)
        .unwrap_or_default();
    if let Some(part) = expr_contains {
        match promql::holds(&expr, part) {
            Ok(true) => {}
            Ok(false) => {
                return Outcome::Fail(format!(
                    "the expression of {alert} in {file} is `{}`, which does not hold `{part}`",
                    expr.trim()
                ));
            }
            Err(reason) => return Outcome::Fail(format!("{alert} in {file}: {reason}")),
        }
        checked.push(format!("expression has {part}"));
    }
    if let Some(expected) = severity {
        let found = rule
            .get("labels")
            .and_then(|labels| labels.get("severity"))
            .and_then(document::scalar_text);
        if found.as_deref() != Some(expected) {
            return Outcome::Fail(format!(
                "{alert} in {file} has severity {}, expected {expected}",
                found.unwrap_or_else(|| "(none)".to_owned())
            ));
        }
        checked.push(format!("severity {expected}"));
    }
    Outcome::Pass(format!("{alert} in {file} ({})", checked.join(", ")))
}

fn discord_receiver(repo: &Path, file: &str) -> Outcome {
    let document = match load(repo, file) {
        Ok(document) => document,
        Err(reason) => return Outcome::Fail(reason),
    };
    let receivers = document
        .get("receivers")
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    let discord: Vec<&Value> = receivers
        .iter()
        .filter(|receiver| {
            receiver
                .get("discord_configs")
                .and_then(Value::as_sequence)
                .is_some_and(|configs| !configs.is_empty())
        })
        .collect();
    let Some(receiver) = discord.first() else {
        return Outcome::Fail(format!("{file}: no receiver has discord_configs"));
    };
    let name = receiver
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    for config in receiver
        .get("discord_configs")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        // Alertmanager's default for Discord is to send resolved messages.
        if config.get("send_resolved").and_then(Value::as_bool) == Some(false) {
            return Outcome::Fail(format!(
                "{file}: receiver {name} has `send_resolved: false`: no message when the alert ends"
            ));
        }
        if config.get("webhook_url").is_some() {
            return Outcome::Fail(format!(
                "{file}: receiver {name} writes its webhook_url in the file: the URL is a secret"
            ));
        }
        if config.get("webhook_url_file").is_none() {
            return Outcome::Fail(format!("{file}: receiver {name} has no webhook_url_file"));
        }
    }
    if !routes_to(document.get("route"), name) {
        return Outcome::Fail(format!(
            "{file}: receiver {name} exists but no route sends alerts to it"
        ));
    }
    Outcome::Pass(format!(
        "{file}: receiver {name} sends to Discord, resolved messages included"
    ))
}

fn routes_to(route: Option<&Value>, name: &str) -> bool {
    route.is_some_and(|route| {
        route.get("receiver").and_then(Value::as_str) == Some(name)
            || route
                .get("routes")
                .and_then(Value::as_sequence)
                .is_some_and(|routes| routes.iter().any(|child| routes_to(Some(child), name)))
    })
}

/// The compose file's traps, its variables at their defaults (the file as committed, whatever the
/// grading machine's environment holds).
fn compose_lint(repo: &Path, file: &str) -> Outcome {
    let compose = match Compose::load(&repo.join(file), &|_| None) {
        Ok(compose) => compose,
        Err(ComposeError::Read { .. }) => return Outcome::Fail(format!("{file} does not exist")),
        Err(ComposeError::Yaml { source, .. }) => {
            return Outcome::Fail(format!("{file} is not valid YAML: {source}"));
        }
    };
    let findings = crate::generate::compose::lint(&compose);
    if findings.is_empty() {
        Outcome::Pass(format!("{file} has none of the usual traps"))
    } else {
        Outcome::Fail(
            findings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

/// Every panel of a dashboard, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut found = Vec::new();
    let mut stack: Vec<&Value> = dashboard
        .get("panels")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .collect();
    while let Some(panel) = stack.pop() {
        stack.extend(
            panel
                .get("panels")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten(),
        );
        found.push(panel);
    }
    found
}

/// Whether a Grafana colour is a red: a named red (`red`, `dark-red`…) or a reddish `#rrggbb`.
fn is_red(colour: &str) -> bool {
    let colour = colour.trim().to_ascii_lowercase();
    if colour.contains("red") {
        return true;
    }
    let hex = colour.strip_prefix('#').filter(|hex| hex.len() >= 6);
    hex.and_then(|hex| {
        let channel = |at: usize| u8::from_str_radix(&hex[at..at + 2], 16).ok();
        Some(channel(0)? >= 0xb0 && channel(2)? <= 0x80 && channel(4)? <= 0x80)
    })
    .unwrap_or(false)
}

/// A panel's query with Grafana's interval variables (`$__rate_interval`, `${__interval}`…) replaced
/// by a duration, so it parses as PromQL.
fn grafana_variables(expr: &str) -> String {
    let mut text = expr.to_owned();
    for variable in ["__rate_interval", "__interval", "__range"] {
        for written in [
            format!("${{{variable}}}"),
            format!("${variable}_ms"),
            format!("${variable}_s"),
            format!("${variable}"),
        ] {
            text = text.replace(&written, "1m");
        }
    }
    text
}

fn dashboard_panel(repo: &Path, path: &str, query: &str, threshold: f64) -> Outcome {
    let full = repo.join(path);
    let files: Vec<String> = if full.is_dir() {
        expand(repo, &format!("{}/*.json", path.trim_end_matches('/')))
    } else {
        vec![path.to_owned()]
    };
    if files.is_empty() {
        return Outcome::Fail(format!("{path} has no dashboard (*.json)"));
    }
    // The problem of the panel closest to passing: a wrong colour says more than a missing threshold.
    let mut closest: Option<(u8, String)> = None;
    for file in &files {
        let dashboard = match load(repo, file) {
            Ok(dashboard) => dashboard,
            Err(reason) => return Outcome::Fail(reason),
        };
        for panel in panels(&dashboard) {
            let queries = panel
                .get("targets")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten();
            if !queries
                .filter_map(|target| target.get("expr").and_then(Value::as_str))
                .any(|expr| promql::holds(&grafana_variables(expr), query).unwrap_or(false))
            {
                continue;
            }
            let title = panel
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or("(untitled)");
            let defaults = panel
                .get("fieldConfig")
                .and_then(|config| config.get("defaults"));
            let steps: Vec<(Option<f64>, String)> = defaults
                .and_then(|defaults| defaults.get("thresholds"))
                .and_then(|thresholds| thresholds.get("steps"))
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .map(|step| {
                    (
                        step.get("value").and_then(Value::as_f64),
                        step.get("color")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    )
                })
                .collect();
            let at_value = steps.iter().find(|(value, _)| {
                value.is_some_and(|value| (value - threshold).abs() <= TOLERANCE)
            });
            let style = defaults
                .and_then(|defaults| defaults.get("custom"))
                .and_then(|custom| custom.get("thresholdsStyle"))
                .and_then(|style| style.get("mode"))
                .and_then(Value::as_str)
                .unwrap_or("off");
            let (rank, problem) = match at_value {
                None => (
                    u8::from(steps.len() > 1),
                    format!(
                        "panel \"{title}\" in {file} has no threshold at {threshold} (its steps: {})",
                        if steps.is_empty() {
                            "none".to_owned()
                        } else {
                            steps
                                .iter()
                                .map(|(value, colour)| {
                                    format!(
                                        "{} {colour}",
                                        value.map_or("base".to_owned(), |v| v.to_string())
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                ),
                Some((_, colour)) if !is_red(colour) => (
                    2,
                    format!(
                        "panel \"{title}\" in {file} has its threshold at {threshold} in {colour}, not red"
                    ),
                ),
                Some(_) if !style.starts_with("line") && !style.starts_with("dashed") => (
                    3,
                    format!(
                        "panel \"{title}\" in {file} does not draw its thresholds (thresholdsStyle mode is {style}, not line)"
                    ),
                ),
                Some(_) => {
                    return Outcome::Pass(format!(
                        "panel \"{title}\" in {file} draws a red line at {threshold}"
                    ));
                }
            };
            if closest.as_ref().is_none_or(|(best, _)| rank > *best) {
                closest = Some((rank, problem));
            }
        }
    }
    Outcome::Fail(closest.map_or_else(
        || format!("no panel in {path} queries {query}"),
        |(_, problem)| problem,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reds_are_recognised_by_name_and_by_hex() {
        for red in ["red", "dark-red", "semi-dark-red", "#F2495C", "#ff0000"] {
            assert!(is_red(red), "{red}");
        }
        for other in ["green", "#73BF69", "transparent", "#00f", ""] {
            assert!(!is_red(other), "{other}");
        }
    }

    #[test]
    fn an_export_is_counted_in_either_layout_and_a_report_matched() {
        let scratch = tempfile::tempdir().unwrap();
        let repo = scratch.path();
        let long: String = std::iter::once("timestamp,metric,labels,value\n".to_owned())
            .chain(
                (0..200)
                    .map(|i| format!("{},model_result,\"{{job=\"\"m\"\"}}\",0.5\n", 1000 + i * 5)),
            )
            .chain((0..50).map(|i| format!("{},up,{{}},1\n", 1000 + i * 5)))
            .collect();
        std::fs::write(repo.join("long.csv"), long).unwrap();
        let pass = csv_samples(repo, "long.csv", "model_result", 150, Some("15m"));
        assert_eq!(
            pass,
            Outcome::Pass("long.csv holds 200 samples of model_result over 995 s".to_owned())
        );
        assert!(
            csv_samples(repo, "long.csv", "up", 150, None)
                .message()
                .contains("50 samples of up, fewer than 150")
        );
        assert!(
            csv_samples(repo, "long.csv", "model_result", 10, Some("1h"))
                .message()
                .contains("less than 1h")
        );
        std::fs::write(
            repo.join("wide.csv"),
            "timestamp,model_result{job=\"m\"},up\n0,0.1,1\n5,,1\n10,0.3,1\n",
        )
        .unwrap();
        assert!(matches!(
            csv_samples(repo, "wide.csv", "model_result", 2, None),
            Outcome::Pass(_)
        ));
        std::fs::write(repo.join("two.csv"), "timestamp,value\n0,0.1\n").unwrap();
        assert!(
            csv_samples(repo, "two.csv", "model_result", 1, None)
                .message()
                .contains("is not an export of model_result")
        );
        assert!(
            csv_samples(repo, "none.csv", "model_result", 1, None)
                .message()
                .contains("does not exist")
        );
        std::fs::write(
            repo.join("v.txt"),
            "the backup of 2026-01-12 in b/ is intact: 4 chunks, 6 series\n",
        )
        .unwrap();
        assert!(matches!(
            file_matches(repo, "v.txt", "is intact: [1-9][0-9]* chunks"),
            Outcome::Pass(_)
        ));
        assert!(matches!(
            file_matches(repo, "v.txt", "is intact: 0 chunks"),
            Outcome::Fail(_)
        ));
    }

    #[test]
    fn patterns_expand_in_order() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let tests = expand(root, "prometheus/rules/*.test.yml");
        assert_eq!(tests.len(), 4, "{tests:?}");
        assert!(tests.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(
            expand(root, "prometheus/prometheus.yml"),
            ["prometheus/prometheus.yml"]
        );
        assert!(expand(root, "prometheus/nope.yml").is_empty());
    }
}
