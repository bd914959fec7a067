//! A lab's criteria file (`labs/NN-name/criteria.yaml`): each criterion an id, a title, a check of one
//! of a closed set of kinds with its parameters, and the fix shown when it fails. Parsed strictly: an
//! unknown key or kind is refused with the file, the line and the fix, so a typo never grades silently.

use serde::Deserialize;

/// A lab's criteria, as its file says.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabCriteria {
    /// The lab's number (1 to 7).
    pub lab: u8,
    /// The lab's title, shown in every report.
    pub title: String,
    pub criteria: Vec<Criterion>,
}

/// One thing a student's work must do.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// Short and stable (`cpu-rule-for`): the `JUnit` test case and the class table's column.
    pub id: String,
    /// What is checked, in a sentence.
    pub title: String,
    /// What the student does when it fails.
    pub fix: String,
    /// What the criterion is worth in a gradebook (`--format csv`, GitHub Classroom's `max-score`).
    #[serde(default = "one")]
    pub points: u32,
    pub check: Check,
}

/// The check kinds the grader implements. Paths are relative to the student's repository.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// The file exists and is not empty.
    FileExists { path: String },
    /// The value at `path` (dot-separated keys, list indexes, `[key=value]` to pick a list item) in a
    /// YAML or JSON file equals `equals` (numbers within a tolerance, durations compared as such).
    YamlPathEquals {
        file: String,
        path: String,
        equals: serde_yaml_ng::Value,
    },
    /// The value at `path` exists and, when it is a list or a string, contains `contains`.
    YamlPathContains {
        file: String,
        path: String,
        contains: serde_yaml_ng::Value,
    },
    /// A Grafana dashboard (a file, or every `*.json` of a folder) has a panel whose query holds the
    /// PromQL `query_contains` (parsed; a bare metric name matches any selector of it), with a red
    /// threshold at `threshold` drawn as a line.
    DashboardPanel {
        path: String,
        query_contains: String,
        threshold: f64,
    },
    /// A CSV export (`promlab export --format csv`, either layout) holds at least `min_samples` samples
    /// of `metric`, over at least `min_span` (a duration) when given.
    CsvSamples {
        path: String,
        metric: String,
        min_samples: usize,
        #[serde(default)]
        min_span: Option<String>,
    },
    /// A text file has a line matching the regular expression `pattern` (a tool's report).
    FileMatches { path: String, pattern: String },
    /// `promtool check config` accepts the Prometheus config (and the rule files it names).
    PromtoolCheckConfig { file: String },
    /// `promtool test rules` passes the student's own rule tests, and (when `alerts` names some) the
    /// tests expect each of those alerts to fire at some `eval_time`: a test that tests nothing is no work.
    PromtoolTestRules {
        tests: Vec<String>,
        #[serde(default)]
        alerts: Vec<String>,
    },
    /// The grader's own promtool test (a file beside the criteria) passes on the student's rules:
    /// `rules` (one file), or every rule file the Prometheus config `config` names in `rule_files`
    /// (globs, as Prometheus reads them). Annotations are not compared, so the student's wording is free.
    RuleTimingTest {
        #[serde(default)]
        rules: Option<String>,
        #[serde(default)]
        config: Option<String>,
        test: String,
    },
    /// `amtool check-config` accepts the Alertmanager config.
    AmtoolCheckConfig { file: String },
    /// An alerting rule named `alert` exists in `file` (or in a rule file the Prometheus config `config`
    /// names in `rule_files`), with the given `for`, an expression holding the PromQL `expr_contains`
    /// (parsed, see `super::promql`) and the given severity, each when asked.
    AlertRule {
        #[serde(default)]
        file: Option<String>,
        #[serde(default)]
        config: Option<String>,
        alert: String,
        #[serde(default, rename = "for")]
        for_: Option<String>,
        #[serde(default)]
        expr_contains: Option<String>,
        #[serde(default)]
        severity: Option<String>,
    },
    /// Alertmanager's inhibit rules, applied to example alerts: a firing `source` (labels) mutes each
    /// of `targets` on the same instance, and only there.
    Inhibits {
        file: String,
        source: std::collections::BTreeMap<String, String>,
        targets: Vec<std::collections::BTreeMap<String, String>>,
    },
    /// Alertmanager routes to a receiver with a Discord integration that sends resolved messages and
    /// reads its URL from a file.
    DiscordReceiver { file: String },
    /// The compose file passes the students'-traps lint (`promlab::generate::compose::lint`).
    ComposeLint { file: String },
    /// No Discord webhook URL or Grafana admin password is committed in any text file.
    NoSecret {},
    /// Live: each job's every target is up in Prometheus.
    TargetUp { jobs: Vec<String> },
    /// Live: the PromQL query returns at least one series.
    PromQueryNonempty { query: String },
    /// Live: Alertmanager's own counters show notifications sent through `integration`, none failed.
    AmNotifications {
        integration: String,
        #[serde(default = "one")]
        min_sent: u32,
    },
    /// Live: Grafana's API lists the dashboard with this uid.
    GrafanaDashboard { uid: String },
}

fn one() -> u32 {
    1
}

impl Check {
    /// The kind's name as the criteria file writes it.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::FileExists { .. } => "file_exists",
            Self::CsvSamples { .. } => "csv_samples",
            Self::FileMatches { .. } => "file_matches",
            Self::YamlPathEquals { .. } => "yaml_path_equals",
            Self::YamlPathContains { .. } => "yaml_path_contains",
            Self::DashboardPanel { .. } => "dashboard_panel",
            Self::PromtoolCheckConfig { .. } => "promtool_check_config",
            Self::PromtoolTestRules { .. } => "promtool_test_rules",
            Self::RuleTimingTest { .. } => "rule_timing_test",
            Self::AmtoolCheckConfig { .. } => "amtool_check_config",
            Self::AlertRule { .. } => "alert_rule",
            Self::DiscordReceiver { .. } => "discord_receiver",
            Self::Inhibits { .. } => "inhibits",
            Self::ComposeLint { .. } => "compose_lint",
            Self::NoSecret {} => "no_secret",
            Self::TargetUp { .. } => "target_up",
            Self::PromQueryNonempty { .. } => "prom_query_nonempty",
            Self::AmNotifications { .. } => "am_notifications",
            Self::GrafanaDashboard { .. } => "grafana_dashboard",
        }
    }

    /// Where the rules are looked for, when the check reads rules: `(file, config)`.
    fn rule_source(&self) -> Option<(Option<&String>, Option<&String>)> {
        match self {
            Self::AlertRule { file, config, .. } => Some((file.as_ref(), config.as_ref())),
            Self::RuleTimingTest { rules, config, .. } => Some((rules.as_ref(), config.as_ref())),
            _ => None,
        }
    }

    /// Whether the check needs the running stack.
    #[must_use]
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            Self::TargetUp { .. }
                | Self::PromQueryNonempty { .. }
                | Self::AmNotifications { .. }
                | Self::GrafanaDashboard { .. }
        )
    }
}

/// Why a criteria file was refused.
#[derive(Debug, thiserror::Error)]
#[error("{origin}{}: {problem}; {fix}", line.map(|line| format!(", line {line}")).unwrap_or_default())]
pub struct CriteriaError {
    /// The file (or the built-in lab) that was refused.
    pub origin: String,
    pub line: Option<usize>,
    pub problem: String,
    pub fix: String,
}

const FIX: &str = "each criterion has exactly id, title, fix, check and optionally points; a check's kind is one of file_exists, csv_samples, file_matches, yaml_path_equals, yaml_path_contains, dashboard_panel, promtool_check_config, promtool_test_rules, rule_timing_test, amtool_check_config, alert_rule, inhibits, discord_receiver, compose_lint, no_secret, target_up, prom_query_nonempty, am_notifications, grafana_dashboard with its parameters (see labs/README.md)";

impl LabCriteria {
    /// Parses a criteria file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, CriteriaError> {
        // The document first, so a YAML syntax error keeps its line; then each criterion on its own,
        // so a wrong key or kind inside one (whose position serde loses in the tagged enum) is
        // reported at that criterion's line.
        let refused = |line: Option<usize>, problem: String| CriteriaError {
            origin: origin.to_owned(),
            line,
            problem,
            fix: FIX.to_owned(),
        };
        let document: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|error| {
            refused(
                error.location().map(|location| location.line()),
                error.to_string(),
            )
        })?;
        let items = document
            .get("criteria")
            .and_then(serde_yaml_ng::Value::as_sequence)
            .cloned()
            .unwrap_or_default();
        let item_lines = list_item_lines(text, "criteria:");
        let mut criteria = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let criterion: Criterion = serde_yaml_ng::from_value(item).map_err(|error| {
                refused(
                    item_lines.get(index).copied(),
                    format!("criterion {}: {error}", index + 1),
                )
            })?;
            criteria.push(criterion);
        }
        let mut lab: Self = serde_yaml_ng::from_value(document)
            .map_err(|error| refused(error.location().map(|l| l.line()), error.to_string()))?;
        lab.criteria = criteria;
        if !(1..=7).contains(&lab.lab) {
            return Err(refused(
                None,
                format!("lab is {}, there are labs 1 to 7", lab.lab),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (index, criterion) in lab.criteria.iter().enumerate() {
            let valid_id = !criterion.id.is_empty()
                && criterion
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if let Some((file, config)) = criterion.check.rule_source()
                && file.is_some() == config.is_some()
            {
                return Err(CriteriaError {
                    origin: origin.to_owned(),
                    line: item_lines.get(index).copied(),
                    problem: format!(
                        "criterion {:?} ({}) names {} of a rule file and a Prometheus config",
                        criterion.id,
                        criterion.check.kind(),
                        if file.is_some() { "both" } else { "neither" }
                    ),
                    fix: "give exactly one: the rule file (`file:`, or `rules:` for rule_timing_test), or `config: prometheus/prometheus.yml` to search every file its rule_files names".to_owned(),
                });
            }
            if !valid_id || !seen.insert(criterion.id.clone()) {
                return Err(CriteriaError {
                    origin: origin.to_owned(),
                    line: item_lines.get(index).copied(),
                    problem: format!(
                        "criterion id {:?} is empty, repeated or not of letters, digits, - and _",
                        criterion.id
                    ),
                    fix: "give each criterion its own short id such as cpu-rule-for".to_owned(),
                });
            }
        }
        Ok(lab)
    }
}

/// The 1-based line of each item of the list under the top-level key `key`: the lines starting with
/// `-` at the indentation of the first item.
fn list_item_lines(text: &str, key: &str) -> Vec<usize> {
    let mut lines = text
        .lines()
        .enumerate()
        .skip_while(|(_, line)| !line.starts_with(key));
    lines.next();
    let mut indent = None;
    let mut found = Vec::new();
    for (number, line) in lines {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let depth = line.len() - trimmed.len();
        if depth == 0 && !trimmed.starts_with('-') {
            break;
        }
        if trimmed.starts_with('-') && indent.is_none_or(|indent| indent == depth) {
            indent = Some(depth);
            found.push(number + 1);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "lab: 5\ntitle: CPU\ncriteria:\n  - id: cpu-for\n    title: waits\n    fix: set it\n    check:\n      kind: alert_rule\n      file: prometheus/rules/node.yml\n      alert: NodeCpuHigh\n      for: 3m\n  - id: secrets\n    title: none\n    fix: remove\n    check: {kind: no_secret}\n";

    #[test]
    fn a_criteria_file_is_read_with_its_parameters() {
        let lab = LabCriteria::parse(GOOD, "criteria.yaml").unwrap();
        assert_eq!(lab.criteria.len(), 2);
        assert!(matches!(
            &lab.criteria[0].check,
            Check::AlertRule { for_: Some(for_), .. } if for_ == "3m"
        ));
        assert_eq!(lab.criteria[1].check.kind(), "no_secret");
    }

    #[test]
    fn unknown_kinds_and_keys_are_refused_with_the_line() {
        let unknown_kind = GOOD.replace("kind: no_secret", "kind: no_secrets");
        let error = LabCriteria::parse(&unknown_kind, "labs/05/criteria.yaml").unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with(
                "labs/05/criteria.yaml, line 12: criterion 2: unknown variant `no_secrets`"
            ),
            "{message}"
        );
        assert!(message.contains("kind is one of"), "{message}");

        let unknown_key = GOOD.replace(
            "      for: 3m",
            "      for: 3m\n      severity_level: warning",
        );
        let message = LabCriteria::parse(&unknown_key, "c.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("line 4: criterion 1: unknown field `severity_level`"),
            "{message}"
        );

        let top = format!("{GOOD}extra: 1\n");
        let message = LabCriteria::parse(&top, "c.yaml").unwrap_err().to_string();
        assert!(message.contains("unknown field `extra`"), "{message}");
    }

    #[test]
    fn rules_come_from_one_file_or_a_config_and_points_default_to_one() {
        let lab = LabCriteria::parse(GOOD, "c.yaml").unwrap();
        assert_eq!(lab.criteria[0].points, 1);
        let config = GOOD.replace(
            "      file: prometheus/rules/node.yml",
            "      config: prometheus/prometheus.yml",
        );
        let lab = LabCriteria::parse(&config, "c.yaml").unwrap();
        assert!(matches!(
            &lab.criteria[0].check,
            Check::AlertRule {
                file: None,
                config: Some(_),
                ..
            }
        ));
        let both = GOOD.replace(
            "      file: prometheus/rules/node.yml",
            "      file: prometheus/rules/node.yml\n      config: prometheus/prometheus.yml",
        );
        let message = LabCriteria::parse(&both, "c.yaml").unwrap_err().to_string();
        assert!(
            message.contains("line 4") && message.contains("names both"),
            "{message}"
        );
        let neither = GOOD.replace("      file: prometheus/rules/node.yml\n", "");
        let message = LabCriteria::parse(&neither, "c.yaml")
            .unwrap_err()
            .to_string();
        assert!(message.contains("names neither"), "{message}");
        let points = GOOD.replace("    fix: set it\n", "    fix: set it\n    points: 5\n");
        assert_eq!(
            LabCriteria::parse(&points, "c.yaml").unwrap().criteria[0].points,
            5
        );
    }

    #[test]
    fn repeated_ids_and_bad_syntax_are_refused() {
        let repeated = GOOD.replace("id: secrets", "id: cpu-for");
        let message = LabCriteria::parse(&repeated, "c.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("line 12") && message.contains("repeated"),
            "{message}"
        );
        let broken = "lab: 5\ncriteria: [\n";
        let error = LabCriteria::parse(broken, "c.yaml").unwrap_err();
        assert!(error.line.is_some(), "{error}");
    }
}
