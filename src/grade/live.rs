//! Live checks: the running stack judged through its own APIs: Prometheus' queries, Alertmanager's
//! notification counters on its `/metrics`, Grafana's dashboard search. A service whose URL was not
//! given is skipped with the reason; every call is bounded by the timeout.

use std::time::Duration;

use super::Outcome;
use super::criteria::Check;
use crate::alertmanager::{AlertmanagerClient, MetricSample};
use crate::prom::PromClient;

/// How the grader logs in to Grafana's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrafanaAuth {
    None,
    /// A service account token.
    Token(String),
    /// A user and password (basic auth).
    Basic {
        user: String,
        password: String,
    },
}

/// The running stack's URLs.
#[derive(Debug, Clone)]
pub struct Stack {
    pub prometheus: Option<String>,
    pub alertmanager: Option<String>,
    pub grafana: Option<String>,
    pub grafana_auth: GrafanaAuth,
    pub timeout: Duration,
}

/// Judges one live check against `stack`.
pub(super) async fn evaluate(check: &Check, stack: &Stack, http: &reqwest::Client) -> Outcome {
    match check {
        Check::TargetUp { jobs } => match prometheus(stack) {
            Ok(client) => target_up(&client, jobs).await,
            Err(outcome) => outcome,
        },
        Check::PromQueryNonempty { query } => match prometheus(stack) {
            Ok(client) => match client.query(query).await {
                Ok(samples) if samples.is_empty() => Outcome::Fail(format!(
                    "`{query}` returns nothing in Prometheus at {}",
                    client.url()
                )),
                Ok(samples) => Outcome::Pass(format!("`{query}` returns {} series", samples.len())),
                Err(error) => Outcome::Fail(error.to_string()),
            },
            Err(outcome) => outcome,
        },
        Check::AmNotifications {
            integration,
            min_sent,
        } => match &stack.alertmanager {
            None => Outcome::Skip(
                "no --alertmanager URL given: add --alertmanager http://127.0.0.1:9093 to grade the running stack".to_owned(),
            ),
            Some(url) => notifications(url, stack.timeout, integration, *min_sent).await,
        },
        Check::GrafanaDashboard { uid } => match &stack.grafana {
            None => Outcome::Skip(
                "no --grafana URL given: add --grafana http://127.0.0.1:3000 and --grafana-token (or --grafana-user and --grafana-password) to grade the running stack".to_owned(),
            ),
            Some(url) => grafana_dashboard(http, url, &stack.grafana_auth, uid).await,
        },
        other => Outcome::Skip(format!("{} is not a live check", other.kind())),
    }
}

fn prometheus(stack: &Stack) -> Result<PromClient, Outcome> {
    let Some(url) = &stack.prometheus else {
        return Err(Outcome::Skip(
            "no --prometheus URL given: add --prometheus http://127.0.0.1:9090 to grade the running stack".to_owned(),
        ));
    };
    PromClient::new(url, None, stack.timeout).map_err(|error| Outcome::Fail(error.to_string()))
}

async fn target_up(client: &PromClient, jobs: &[String]) -> Outcome {
    let samples = match client.query("up").await {
        Ok(samples) => samples,
        Err(error) => return Outcome::Fail(error.to_string()),
    };
    let mut problems = Vec::new();
    let mut up = 0;
    for job in jobs {
        let targets: Vec<_> = samples
            .iter()
            .filter(|sample| sample.labels.get("job") == Some(job))
            .collect();
        if targets.is_empty() {
            problems.push(format!("job {job} has no target in Prometheus"));
        }
        for target in targets {
            let instance = target.labels.get("instance").map_or("?", String::as_str);
            if (target.value - 1.0).abs() > f64::EPSILON {
                problems.push(format!("target {instance} of job {job} is down"));
            } else {
                up += 1;
            }
        }
    }
    if problems.is_empty() {
        Outcome::Pass(format!("{up} targets of {} up", jobs.join(", ")))
    } else {
        Outcome::Fail(problems.join("; "))
    }
}

async fn notifications(url: &str, timeout: Duration, integration: &str, min_sent: u32) -> Outcome {
    let client = match AlertmanagerClient::new(url, timeout) {
        Ok(client) => client,
        Err(error) => return Outcome::Fail(error.to_string()),
    };
    // The sum over the integration's series (the failures come one per reason).
    let total = |samples: Vec<MetricSample>| {
        samples
            .iter()
            .filter(|sample| sample.label("integration") == Some(integration))
            .map(|sample| sample.value)
            .reduce(|a, b| a + b)
    };
    let (sent, failed) = match (
        client.metric("alertmanager_notifications_total").await,
        client
            .metric("alertmanager_notifications_failed_total")
            .await,
    ) {
        (Ok(sent), Ok(failed)) => (total(sent), total(failed)),
        (Err(error), _) | (_, Err(error)) => return Outcome::Fail(error.to_string()),
    };
    match (sent, failed) {
        (None, _) => Outcome::Fail(format!(
            "Alertmanager at {url} has no {integration} integration (alertmanager_notifications_total has no integration=\"{integration}\")"
        )),
        (Some(_), Some(failed)) if failed > 0.0 => Outcome::Fail(format!(
            "Alertmanager failed {failed} {integration} notifications (alertmanager_notifications_failed_total): see `docker compose logs alertmanager`"
        )),
        (Some(sent), _) if sent < f64::from(min_sent) => Outcome::Fail(format!(
            "Alertmanager sent {sent} {integration} notifications, expected at least {min_sent}"
        )),
        (Some(sent), _) => Outcome::Pass(format!(
            "Alertmanager sent {sent} {integration} notifications, none failed"
        )),
    }
}

async fn grafana_dashboard(
    http: &reqwest::Client,
    url: &str,
    auth: &GrafanaAuth,
    uid: &str,
) -> Outcome {
    let search = format!("{}/api/search?type=dash-db", url.trim_end_matches('/'));
    let request = match auth {
        GrafanaAuth::None => http.get(&search),
        GrafanaAuth::Token(token) => http.get(&search).bearer_auth(token),
        GrafanaAuth::Basic { user, password } => http.get(&search).basic_auth(user, Some(password)),
    };
    let text = match fetch(request).await {
        Ok(text) => text,
        Err(reason) => return Outcome::Fail(format!("Grafana at {url}: {reason}")),
    };
    let dashboards: Vec<serde_json::Value> = match serde_json::from_str(&text) {
        Ok(dashboards) => dashboards,
        Err(error) => {
            return Outcome::Fail(format!(
                "Grafana at {url} answered something that is not its search API: {error}"
            ));
        }
    };
    let uids: Vec<&str> = dashboards
        .iter()
        .filter_map(|d| d["uid"].as_str())
        .collect();
    if uids.contains(&uid) {
        Outcome::Pass(format!("Grafana has the dashboard {uid}"))
    } else {
        Outcome::Fail(format!(
            "Grafana at {url} has no dashboard with uid {uid} (it has: {})",
            if uids.is_empty() {
                "none".to_owned()
            } else {
                uids.join(", ")
            }
        ))
    }
}

async fn fetch(request: reqwest::RequestBuilder) -> Result<String, String> {
    let response = request.send().await.map_err(|error| {
        format!("cannot be reached ({error}); is it running, and is the URL right?")
    })?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(format!(
            "refused the credentials ({status}): give a valid --grafana-token or --grafana-user/--grafana-password"
        ));
    }
    if !status.is_success() {
        return Err(format!("answered {status}"));
    }
    response
        .text()
        .await
        .map_err(|error| format!("the answer broke off: {error}"))
}
