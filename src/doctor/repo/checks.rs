//! The static checks on the lab's files: what is wrong before anything runs (targets on localhost,
//! no alerting, missing rule files or webhooks, data sources on localhost, the compose file's traps).

use std::path::PathBuf;

use serde_yaml_ng::Value;

use super::{
    ALERTMANAGER_YML, PROMETHEUS_OWN_PORT, PROMETHEUS_YML, Repo, host_and_port, is_loopback,
    strings, text,
};
use crate::compose::Located;
use crate::doctor::Report;
use crate::generate::compose;

impl Repo {
    /// Every static check.
    pub(in crate::doctor) fn check(&self, report: &mut Report) {
        self.check_targets(report);
        self.check_alerting(report);
        self.check_rule_files(report);
        self.check_webhook(report);
        self.check_datasources(report);
        self.check_compose(report);
    }

    fn check_targets(&self, report: &mut Report) {
        let Some(prometheus) = &self.prometheus else {
            return;
        };
        if !self.prometheus_in_container() {
            report.skipped(
                "target-localhost",
                "prometheus",
                "no compose service `prometheus` on its own network: localhost targets may be right"
                    .to_owned(),
            );
            return;
        }
        let mut found = 0;
        let mut check = |job: &str, target: &str| {
            let Some((host, port)) = host_and_port(target) else {
                return;
            };
            let port = port.unwrap_or(80);
            if !is_loopback(&host) || (port == PROMETHEUS_OWN_PORT && job != "alerting") {
                return;
            }
            found += 1;
            let address = self.service_address(port);
            let place = if job == "alerting" {
                "the Alertmanager address under alerting:".to_owned()
            } else {
                format!("job {job:?}")
            };
            report.problem(
                "target-localhost",
                "prometheus",
                format!("{place} targets {target}, but Prometheus runs in a container"),
                "inside a container localhost is the container itself: Prometheus looks for the target in its own container and finds nothing there",
                format!(
                    "in {PROMETHEUS_YML} write the compose service's name instead: {address}; then curl -X POST http://127.0.0.1:9090/-/reload"
                ),
            );
        };
        for job in prometheus["scrape_configs"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            let name = text(&job["job_name"]).unwrap_or_default();
            for config in job["static_configs"].as_sequence().into_iter().flatten() {
                for target in strings(&config["targets"]) {
                    check(&name, &target);
                }
            }
        }
        for alertmanagers in prometheus["alerting"]["alertmanagers"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            for config in alertmanagers["static_configs"]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                for target in strings(&config["targets"]) {
                    check("alerting", &target);
                }
            }
        }
        if found == 0 {
            report.ok(
                "target-localhost",
                "prometheus",
                "every target in prometheus.yml is reached by its service name".to_owned(),
            );
        }
    }

    fn check_alerting(&self, report: &mut Report) {
        let Some(prometheus) = &self.prometheus else {
            return;
        };
        let targets: Vec<String> = prometheus["alerting"]["alertmanagers"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|alertmanagers| {
                alertmanagers["static_configs"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .flat_map(|config| strings(&config["targets"]))
                    .chain(
                        // Any service discovery counts: the doctor cannot resolve it, Prometheus can.
                        alertmanagers
                            .as_mapping()
                            .into_iter()
                            .flat_map(|map| map.keys())
                            .filter_map(Value::as_str)
                            .filter(|key| key.ends_with("_sd_configs"))
                            .map(str::to_owned),
                    )
                    .collect::<Vec<_>>()
            })
            .collect();
        if targets.is_empty() {
            report.problem(
                "no-alerting",
                "prometheus",
                format!("{PROMETHEUS_YML} has no `alerting:` block naming an Alertmanager"),
                "Prometheus evaluates the alert rules and shows them firing, but sends them nowhere: nothing reaches Alertmanager, so nothing reaches Discord",
                "add to prometheus.yml:  alerting: { alertmanagers: [ { static_configs: [ { targets: ['alertmanager:9093'] } ] } ] }  then curl -X POST http://127.0.0.1:9090/-/reload".to_owned(),
            );
        } else {
            report.ok(
                "no-alerting",
                "prometheus",
                format!("alerts are sent to {}", targets.join(", ")),
            );
        }
    }

    fn check_rule_files(&self, report: &mut Report) {
        if self.prometheus.is_none() {
            return;
        }
        if self.rule_patterns().is_empty() {
            report.problem(
                "rule-file-missing",
                "prometheus",
                format!("{PROMETHEUS_YML} lists no rule_files"),
                "without rule files Prometheus has no alert to fire",
                "add  rule_files: [rules/model.yml, …]  (paths relative to prometheus/), or regenerate with `promlab generate`".to_owned(),
            );
        } else if !self.rule_groups.is_empty() {
            report.ok(
                "rule-file-missing",
                "prometheus",
                format!(
                    "the rule files define {} group(s): {}",
                    self.rule_groups.len(),
                    self.rule_groups
                        .iter()
                        .map(|group| group.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }

    fn check_webhook(&self, report: &mut Report) {
        if self.alertmanager.is_none() {
            return;
        }
        let (files, inline) = self.webhooks();
        if files.is_empty() && inline == 0 {
            report.problem(
                "no-webhook",
                "alertmanager",
                format!("{ALERTMANAGER_YML} has no receiver with a webhook (no discord_configs or webhook_configs)"),
                "Alertmanager accepts the alerts and delivers them to nobody",
                "give the route's receiver  discord_configs: [ { webhook_url_file: /etc/alertmanager/secrets/discord_webhook_url, send_resolved: true } ]  (as `promlab generate` writes it), then restart alertmanager".to_owned(),
            );
            return;
        }
        let service = self
            .compose
            .as_ref()
            .and_then(|compose| Some((compose.service("alertmanager")?, compose)));
        for file in files {
            let located = match service {
                Some((service, compose)) => service.locate(&file, &compose.dir),
                None => Located::Host(PathBuf::from(&file)),
            };
            match located {
                Located::Host(path) => match std::fs::metadata(&path) {
                    Ok(metadata) if metadata.len() == 0 => report.problem(
                        "webhook-file-empty",
                        "alertmanager",
                        format!("the webhook URL file {file} ({}) is empty", path.display()),
                        "Alertmanager reads the Discord webhook URL from it: an empty URL fails every notification",
                        "write your webhook URL into it (Discord: Server Settings › Integrations › Webhooks › Copy Webhook URL), then restart alertmanager".to_owned(),
                    ),
                    Ok(_) => report.ok(
                        "webhook-file-missing",
                        "alertmanager",
                        format!("the webhook URL file {file} is there"),
                    ),
                    Err(error) => report.problem(
                        "webhook-file-missing",
                        "alertmanager",
                        format!("the webhook URL file {file} ({}) cannot be read: {error}", path.display()),
                        "Alertmanager refuses to start (or fails every notification) without the file its webhook_url_file names",
                        "create it with your webhook URL, or mount the folder that holds it into the alertmanager service".to_owned(),
                    ),
                },
                Located::NotMounted => report.problem(
                    "webhook-file-missing",
                    "alertmanager",
                    format!("the webhook URL file {file} is in no volume or folder mounted into the alertmanager container"),
                    "inside the container the file does not exist, so Alertmanager cannot read the webhook URL",
                    "mount its secrets volume there (volumes: - alertmanager-secrets:/etc/alertmanager/secrets:ro), as the generated compose file does".to_owned(),
                ),
                // Only Docker can look into a named volume: `host` does.
                Located::Volume { .. } => {}
            }
        }
    }

    fn check_datasources(&self, report: &mut Report) {
        let grafana_in_container = self
            .compose
            .as_ref()
            .and_then(|compose| compose.service("grafana"))
            .is_some_and(|service| !service.host_network);
        for (path, file) in &self.datasources {
            for datasource in file["datasources"].as_sequence().into_iter().flatten() {
                let name = text(&datasource["name"]).unwrap_or_default();
                let Some(url) = text(&datasource["url"]) else {
                    continue;
                };
                let loopback = host_and_port(&url).is_some_and(|(host, _)| is_loopback(&host));
                if loopback && grafana_in_container {
                    report.problem(
                        "datasource-localhost",
                        "grafana",
                        format!(
                            "the data source {name:?} in {} points at {url}",
                            path.display()
                        ),
                        "Grafana's server sends the queries from inside its container, where localhost is Grafana itself: every panel says \"No data\" or a connection error",
                        format!(
                            "write  url: http://prometheus:9090  (the compose service's name) in {}, then docker compose -f compose/compose.yaml restart grafana",
                            path.display()
                        ),
                    );
                } else {
                    report.ok(
                        "datasource-localhost",
                        "grafana",
                        format!("the data source {name:?} points at {url}"),
                    );
                }
            }
        }
    }

    fn check_compose(&self, report: &mut Report) {
        let Some(compose) = &self.compose else {
            return;
        };
        let findings = compose::lint(compose);
        if findings.is_empty() {
            report.ok(
                "compose-lint",
                "compose",
                format!("{} has none of the known traps", compose.path.display()),
            );
        }
        for finding in findings {
            report.problem(
                "compose-lint",
                &finding.service,
                finding.problem,
                "a known trap of compose files (see the README's list)",
                finding.fix,
            );
        }
    }
}
