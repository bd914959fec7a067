//! The doctor's questions to the running services: Prometheus (targets, Alertmanagers, rule groups),
//! Alertmanager (failed notifications) and Grafana (health, data sources). Every call is bounded by
//! the doctor's timeout; a service that does not answer is a finding.

use std::collections::BTreeSet;

use super::repo::{Repo, host_and_port, is_loopback};
use super::{DoctorConfig, DoctorError, Report};
use crate::clients::{Alertmanager, Auth, Grafana, Prometheus};
use crate::redact;

/// An error and its deepest cause (`Connection refused`, `operation timed out`): HTTP clients hide
/// the reason a student needs behind "error sending request".
fn explained(error: &dyn std::error::Error) -> String {
    let mut root = error.source();
    while let Some(next) = root.and_then(std::error::Error::source) {
        root = Some(next);
    }
    match root {
        Some(root) => format!("{error} ({root})"),
        None => error.to_string(),
    }
}

/// The port Prometheus listens on inside its container.
const PROMETHEUS_OWN_PORT: u16 = 9090;

/// One client per service, pointed at the URLs given or the ports the compose file publishes.
#[derive(Debug)]
pub(super) struct Clients {
    prometheus: Prometheus,
    alertmanager: Alertmanager,
    grafana: Grafana,
}

impl Clients {
    pub(super) fn new(config: &DoctorConfig, repo: &Repo) -> Result<Self, DoctorError> {
        let url = |given: &Option<String>, service: &str, port: u16| {
            given.clone().unwrap_or_else(|| {
                let published = repo
                    .compose
                    .as_ref()
                    .and_then(|compose| compose.service(service))
                    .and_then(|service| service.host_port(port))
                    .unwrap_or(port);
                format!("http://127.0.0.1:{published}")
            })
        };
        let grafana_auth = match &config.grafana_login {
            Some((user, password)) => Auth::Basic {
                user: user.clone(),
                password: password.clone(),
            },
            None => Auth::None,
        };
        Ok(Self {
            prometheus: Prometheus::new(
                &url(&config.prometheus, "prometheus", 9090),
                None,
                config.timeout,
            )?,
            alertmanager: Alertmanager::new(
                &url(&config.alertmanager, "alertmanager", 9093),
                config.timeout,
            )?,
            grafana: Grafana::new(
                &url(&config.grafana, "grafana", 3000),
                grafana_auth,
                config.timeout,
            )?,
        })
    }
}

/// Every live check.
pub(super) async fn check(clients: &Clients, repo: &Repo, report: &mut Report) {
    check_prometheus(&clients.prometheus, repo, report).await;
    check_alertmanager(&clients.alertmanager, report).await;
    check_grafana(&clients.grafana, report).await;
}

async fn check_prometheus(client: &Prometheus, repo: &Repo, report: &mut Report) {
    let url = client.url();
    let targets = match client.targets().await {
        Ok(targets) => targets,
        Err(error) => {
            report.problem(
                "unreachable",
                "prometheus",
                explained(&error),
                "nothing else can be checked in Prometheus, and nothing is scraped or alerted on while it is down",
                format!("start the stack: docker compose -f compose/compose.yaml up -d; see its state with docker compose -f compose/compose.yaml ps prometheus and why it stopped with docker compose -f compose/compose.yaml logs prometheus; or give its URL with --prometheus-url (tried {url})"),
            );
            return;
        }
    };
    let mut up = 0;
    for target in &targets {
        let job = target.labels.get("job").cloned().unwrap_or_default();
        let address = target
            .labels
            .get("instance")
            .cloned()
            .unwrap_or_else(|| target.scrape_url.clone());
        match target.health.as_str() {
            "up" => up += 1,
            "down" => {
                let (host, port) = host_and_port(&target.scrape_url).unwrap_or_default();
                let port = port.unwrap_or(80);
                if is_loopback(&host)
                    && repo.prometheus_in_container()
                    && port != PROMETHEUS_OWN_PORT
                {
                    report.problem(
                        "target-down-localhost",
                        "prometheus",
                        format!("target {address} (job {job:?}) is down: {}", target.last_error),
                        "inside a container localhost is the container itself: Prometheus looks for the target in its own container, where nothing listens",
                        format!(
                            "use the service name {} in prometheus/prometheus.yml, then curl -X POST {url}/-/reload",
                            repo.service_address(port)
                        ),
                    );
                } else {
                    report.problem(
                        "target-down",
                        "prometheus",
                        format!("target {address} (job {job:?}) is down: {}", target.last_error),
                        "Prometheus cannot scrape it: its metrics and the alerts on them are missing, and TargetDown fires",
                        format!("check that the service runs and listens there: docker compose -f compose/compose.yaml ps, then docker compose -f compose/compose.yaml logs SERVICE; the target's state: {url}/targets"),
                    );
                }
            }
            _ => report.warning(
                "target-not-scraped",
                "prometheus",
                format!("target {address} (job {job:?}) has not been scraped yet"),
                "Prometheus started or reloaded a moment ago",
                "run the doctor again in a few seconds".to_owned(),
            ),
        }
    }
    if up == targets.len() {
        report.ok("targets", "prometheus", format!("all {up} targets are up"));
    }
    match client.alertmanagers().await {
        Ok(alertmanagers) if alertmanagers.is_empty() => report.problem(
            "no-alertmanager",
            "prometheus",
            format!("Prometheus at {url} sends alerts to no Alertmanager (/api/v1/alertmanagers is empty)"),
            "alerts fire in Prometheus' Alerts tab but never reach Alertmanager, so never reach Discord",
            format!("add  alerting: {{ alertmanagers: [ {{ static_configs: [ {{ targets: ['alertmanager:9093'] }} ] }} ] }}  to prometheus/prometheus.yml, then curl -X POST {url}/-/reload"),
        ),
        Ok(alertmanagers) => report.ok(
            "no-alertmanager",
            "prometheus",
            format!(
                "alerts go to {}",
                alertmanagers.iter().map(|a| a.url.as_str()).collect::<Vec<_>>().join(", ")
            ),
        ),
        Err(error) => report.problem(
            "unreachable",
            "prometheus",
            explained(&error),
            "Prometheus stopped answering during the checks",
            "docker compose -f compose/compose.yaml logs prometheus".to_owned(),
        ),
    }
    check_rules(client, repo, report).await;
}

async fn check_rules(client: &Prometheus, repo: &Repo, report: &mut Report) {
    if repo.rule_groups.is_empty() {
        return;
    }
    let url = client.url();
    let loaded: BTreeSet<String> = match client.rule_groups().await {
        Ok(groups) => groups.into_iter().map(|group| group.name).collect(),
        Err(error) => {
            report.problem(
                "unreachable",
                "prometheus",
                explained(&error),
                "Prometheus stopped answering during the checks",
                "docker compose -f compose/compose.yaml logs prometheus".to_owned(),
            );
            return;
        }
    };
    let missing: Vec<String> = repo
        .rule_groups
        .iter()
        .filter(|group| !loaded.contains(&group.name))
        .map(|group| format!("{} (from {})", group.name, group.file.display()))
        .collect();
    if missing.is_empty() {
        report.ok(
            "rules-not-loaded",
            "prometheus",
            format!(
                "every rule group of the repo is loaded ({})",
                repo.rule_groups.len()
            ),
        );
        return;
    }
    let lifecycle = client
        .flags()
        .await
        .ok()
        .and_then(|flags| flags.get("web.enable-lifecycle").cloned())
        .is_some_and(|enabled| enabled == "true");
    let reload = if lifecycle {
        format!("curl -X POST {url}/-/reload")
    } else {
        "docker compose -f compose/compose.yaml restart prometheus (its reload endpoint is off: --web.enable-lifecycle turns it on)".to_owned()
    };
    report.problem(
        "rules-not-loaded",
        "prometheus",
        format!("Prometheus has not loaded the rule group(s) {}", missing.join(", ")),
        "the rule file was added or changed after Prometheus started (it reads rule files at start and on reload only), is not listed in rule_files of the config it runs with, or was rejected: those alerts do not exist",
        format!("{reload}; if the groups are still missing, promtool check rules FILE and docker compose -f compose/compose.yaml logs prometheus say why"),
    );
}

async fn check_alertmanager(client: &Alertmanager, report: &mut Report) {
    let url = client.url();
    if let Err(error) = client.status().await {
        report.problem(
            "unreachable",
            "alertmanager",
            explained(&error),
            "no alert reaches Discord while Alertmanager is down",
            format!("start the stack: docker compose -f compose/compose.yaml up -d; see why it stopped with docker compose -f compose/compose.yaml logs alertmanager; or give its URL with --alertmanager (tried {url})"),
        );
        return;
    }
    let notifications = match client.notifications().await {
        Ok(notifications) => notifications,
        Err(error) => {
            report.problem(
                "unreachable",
                "alertmanager",
                explained(&error),
                "Alertmanager stopped answering during the checks",
                "docker compose -f compose/compose.yaml logs alertmanager".to_owned(),
            );
            return;
        }
    };
    let failures = notifications.failures();
    for (integration, reasons) in &failures {
        let reasons: Vec<String> = reasons
            .iter()
            .map(|(reason, count)| format!("reason {reason}: {count}"))
            .collect();
        let message = format!(
            "Alertmanager failed {} of {} {integration} notification(s) ({})",
            notifications.failed(integration).unwrap_or(0.0),
            notifications.sent(integration).unwrap_or(0.0),
            reasons.join(", ")
        );
        if integration == "discord" {
            report.problem(
                "webhook-rejected",
                "alertmanager",
                message,
                "Discord refused the messages (401 or 403: the token in the URL is wrong; 404: the webhook was deleted; 400: a message it rejects) or could not be reached (5xx, a timeout, no network): the alerts never show up in the channel",
                "check the webhook still exists in Discord (Server Settings › Integrations › Webhooks), copy its URL again into secrets/discord_webhook_url, then docker compose -f compose/compose.yaml up -d; the exact error: docker compose -f compose/compose.yaml logs alertmanager | grep -i discord (this count is since Alertmanager started: restart it after the fix)".to_owned(),
            );
        } else {
            report.problem(
                "notifications-failing",
                "alertmanager",
                message,
                "the receiver refuses or cannot be reached: the alerts are lost",
                "docker compose -f compose/compose.yaml logs alertmanager names the error; check the receiver's URL in alertmanager/alertmanager.yml".to_owned(),
            );
        }
    }
    if failures.is_empty() {
        report.ok(
            "webhook-rejected",
            "alertmanager",
            format!(
                "no notification failed ({} sent to Discord)",
                notifications.sent("discord").unwrap_or(0.0)
            ),
        );
    }
}

async fn check_grafana(client: &Grafana, report: &mut Report) {
    let health = match client.health().await {
        Ok(health) => health,
        Err(error) => {
            report.skipped(
                "grafana",
                "grafana",
                format!(
                    "Grafana's live checks need it running: {}",
                    explained(&error)
                ),
            );
            return;
        }
    };
    if health["database"].as_str() == Some("ok") {
        report.ok(
            "grafana",
            "grafana",
            format!(
                "Grafana {} is healthy",
                health["version"].as_str().unwrap_or("")
            ),
        );
    } else {
        report.problem(
            "grafana-unhealthy",
            "grafana",
            format!("Grafana at {} says its database is {}", client.url(), health["database"]),
            "Grafana cannot keep dashboards or users without its database",
            "docker compose -f compose/compose.yaml logs grafana names the error (often the owner of its volume: Grafana runs as uid 472)".to_owned(),
        );
    }
    if !client.has_login() {
        report.skipped(
            "datasource-failing",
            "grafana",
            "no Grafana password given: PROMLAB_GRAFANA_PASSWORD or --grafana-password-file FILE (`docker compose -f compose/compose.yaml logs secrets` shows it) lets the doctor test the data sources".to_owned(),
        );
        return;
    }
    let datasources = match client.datasources().await {
        Ok(datasources) => datasources,
        Err(error) => {
            report.problem(
                "grafana-login",
                "grafana",
                explained(&error),
                "the data sources cannot be checked",
                "give the password `docker compose -f compose/compose.yaml logs secrets` prints: PROMLAB_GRAFANA_PASSWORD=PASSWORD in the environment, or --grafana-password-file FILE".to_owned(),
            );
            return;
        }
    };
    for datasource in datasources {
        let loopback = host_and_port(&datasource.url).is_some_and(|(host, _)| is_loopback(&host));
        if loopback {
            report.problem(
                "datasource-localhost",
                "grafana",
                format!("the data source {:?} points at {}", datasource.name, redact::url(&datasource.url)),
                "Grafana's server sends the queries from inside its container, where localhost is Grafana itself",
                "set its URL to http://prometheus:9090 (grafana/provisioning/datasources/prometheus.yml), then docker compose -f compose/compose.yaml restart grafana".to_owned(),
            );
        }
        match client.datasource_health(&datasource.uid).await {
            Ok(health) if health.status == "OK" => report.ok(
                "datasource-failing",
                "grafana",
                format!("the data source {:?} answers: {}", datasource.name, health.message),
            ),
            Ok(health) => report.problem(
                "datasource-failing",
                "grafana",
                format!("the data source {:?} ({}) fails: {}", datasource.name, redact::url(&datasource.url), health.message),
                "every panel on it shows an error or No data",
                "point it at http://prometheus:9090 and make sure Prometheus is up (docker compose -f compose/compose.yaml ps prometheus)".to_owned(),
            ),
            Err(error) => report.skipped(
                "datasource-failing",
                "grafana",
                format!("cannot test the data source {:?}: {error}", datasource.name),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_explained_by_its_deepest_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let outer = crate::secrets::SecretsError::Io {
            path: "/x".to_owned(),
            source: io,
        };
        assert!(
            explained(&outer).ends_with("(Connection refused)"),
            "{}",
            explained(&outer)
        );
        let alone = crate::clients::ClientError::Refused {
            server: crate::clients::Server::Alertmanager,
            url: "http://am:9093".to_owned(),
            request: "/metrics".to_owned(),
            status: 404,
            message: String::new(),
        };
        assert_eq!(explained(&alone), alone.to_string());
    }
}
