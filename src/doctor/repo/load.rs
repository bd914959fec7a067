//! Reading the lab's files into a [`Repo`]: each YAML file once, the compose file through
//! [`crate::compose`], and the rule groups of every rule file prometheus.yml names. What is missing or
//! not YAML becomes a finding, never an error.

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

use super::{
    ALERTMANAGER_YML, COMPOSE_YAML, DATASOURCES_DIR, FileGroup, PROMETHEUS_YML, Repo, text,
};
use crate::compose::{Compose, ComposeError, Located};
use crate::doctor::Report;

/// Records that the file at `path` cannot be read.
fn unreadable(path: &Path, error: &std::io::Error, service: &str, report: &mut Report) {
    report.problem(
        "file-missing",
        service,
        format!("cannot read {}: {error}", path.display()),
        "the lab's services are configured from this file",
        "run `promlab generate` (or `git checkout` the file) in the lab's repository, or point --dir at it".to_owned(),
    );
}

/// Records that the file at `path` is not YAML.
fn not_yaml(path: &Path, error: &serde_yaml_ng::Error, service: &str, report: &mut Report) {
    report.problem(
        "invalid-yaml",
        service,
        format!("{} is not valid YAML: {error}", path.display()),
        "the service refuses to start (or to reload) with a file it cannot parse",
        "fix the line named (indentation is two spaces, no tabs), or regenerate it with `promlab generate`".to_owned(),
    );
}

/// Reads a YAML file, recording a finding when it is missing or not YAML.
fn read_yaml(path: &Path, service: &str, report: &mut Report) -> Option<Value> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            unreadable(path, &error, service, report);
            return None;
        }
    };
    match serde_yaml_ng::from_str::<Value>(&text) {
        Ok(value) => Some(value),
        Err(error) => {
            not_yaml(path, &error, service, report);
            None
        }
    }
}

impl Repo {
    /// Reads the repository's files, recording what is missing or unreadable.
    pub(in crate::doctor) fn load(
        dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
        report: &mut Report,
    ) -> Self {
        let compose = Self::load_compose(dir, env, report);
        let prometheus = read_yaml(&dir.join(PROMETHEUS_YML), "prometheus", report);
        let alertmanager = read_yaml(&dir.join(ALERTMANAGER_YML), "alertmanager", report);
        let mut datasources = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir.join(DATASOURCES_DIR)) {
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|entry| Some(entry.ok()?.path()))
                .filter(|path| {
                    path.extension()
                        .is_some_and(|extension| extension == "yml" || extension == "yaml")
                })
                .collect();
            paths.sort();
            for path in paths {
                if let Some(value) = read_yaml(&path, "grafana", report) {
                    datasources.push((path, value));
                }
            }
        }
        let mut repo = Self {
            dir: dir.to_owned(),
            compose,
            prometheus,
            alertmanager,
            datasources,
            rule_groups: Vec::new(),
        };
        repo.rule_groups = repo.load_rule_groups(report);
        repo
    }

    /// The compose file, its variables taken from `env` as `docker compose` would.
    fn load_compose(
        dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
        report: &mut Report,
    ) -> Option<Compose> {
        let path = dir.join(COMPOSE_YAML);
        match Compose::load(&path, env) {
            Ok(compose) => Some(compose),
            Err(ComposeError::Read { source, .. }) => {
                unreadable(&path, &source, "compose", report);
                None
            }
            Err(ComposeError::Yaml { source, .. }) => {
                not_yaml(&path, &source, "compose", report);
                None
            }
        }
    }

    /// The folder prometheus.yml is in, where relative rule paths start.
    fn prometheus_dir(&self) -> PathBuf {
        self.dir.join("prometheus")
    }

    /// Where a rule file pattern of prometheus.yml is on the host.
    fn rule_pattern_on_host(&self, pattern: &str) -> PathBuf {
        if !pattern.starts_with('/') {
            return self.prometheus_dir().join(pattern);
        }
        let located = self.compose.as_ref().and_then(|compose| {
            let service = compose.service("prometheus")?;
            Some(service.locate(pattern, &compose.dir))
        });
        match located {
            Some(Located::Host(path)) => path,
            _ => PathBuf::from(pattern),
        }
    }

    /// Reads every rule file prometheus.yml names (its patterns are globs, as in Prometheus).
    fn load_rule_groups(&self, report: &mut Report) -> Vec<FileGroup> {
        let mut groups = Vec::new();
        for pattern in self.rule_patterns() {
            let on_host = self.rule_pattern_on_host(&pattern);
            let files: Vec<PathBuf> = glob::glob(&on_host.to_string_lossy())
                .map(|paths| paths.filter_map(Result::ok).collect())
                .unwrap_or_default();
            if files.is_empty() {
                report.problem(
                    "rule-file-missing",
                    "prometheus",
                    format!(
                        "rule_files lists {pattern:?}, which matches no file ({} does not exist)",
                        on_host.display()
                    ),
                    "Prometheus silently loads nothing for a pattern that matches no file: its alerts never exist, so they never fire",
                    format!(
                        "create the file, or fix the path in {PROMETHEUS_YML} (relative paths start from prometheus/, which Prometheus sees as /etc/prometheus); then curl -X POST http://127.0.0.1:9090/-/reload"
                    ),
                );
                continue;
            }
            for file in files {
                let Some(rules) = read_yaml(&file, "prometheus", report) else {
                    continue;
                };
                let names: Vec<String> = rules["groups"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .filter_map(|group| text(&group["name"]))
                    .collect();
                if names.is_empty() {
                    report.warning(
                        "rule-file-empty",
                        "prometheus",
                        format!("{} defines no rule group", file.display()),
                        "a rule file holds `groups:`, each with a name and rules; without them it defines no alert",
                        "start it with `groups:` then `- name: …` and `rules:` (see prometheus/rules/model.yml); check it with promtool check rules FILE".to_owned(),
                    );
                }
                groups.extend(names.into_iter().map(|name| FileGroup {
                    name,
                    file: file.clone(),
                }));
            }
        }
        groups
    }
}
