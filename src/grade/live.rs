//! Live checks: the running stack judged through its own APIs: Prometheus' queries, Alertmanager's
//! notification counters on its `/metrics`, Grafana's dashboard search. A service whose URL was not
//! given is skipped with the reason; every call is bounded by the timeout. On a classroom cluster
//! (`--kubernetes NAMESPACE`), every Prometheus query is scoped to the student's namespace: the matcher
//! is added to each selector of the parsed query ([`crate::promql`]), so one student's targets never
//! pass for another's.

use std::time::Duration;

use super::Outcome;
use super::criteria::Check;
use crate::clients::{Alertmanager, Auth, Grafana, Prometheus};
use crate::redact;
use crate::series::Sample;

/// The running stack's URLs. Its `Debug` hides their user info and the Grafana login.
#[derive(Clone)]
pub struct Stack {
    pub prometheus: Option<String>,
    pub alertmanager: Option<String>,
    pub grafana: Option<String>,
    pub grafana_auth: Auth,
    pub timeout: Duration,
    /// `--kubernetes NAMESPACE`: the student's namespace on the cluster's Prometheus.
    pub namespace: Option<String>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = |url: &Option<String>| url.as_deref().map(redact::url);
        f.debug_struct("Stack")
            .field("prometheus", &url(&self.prometheus))
            .field("alertmanager", &url(&self.alertmanager))
            .field("grafana", &url(&self.grafana))
            .field("grafana_auth", &self.grafana_auth)
            .field("timeout", &self.timeout)
            .field("namespace", &self.namespace)
            .finish()
    }
}

/// Judges one live check against `stack`.
pub(super) async fn evaluate(check: &Check, stack: &Stack) -> Outcome {
    match check {
        Check::TargetUp { jobs } => match (prometheus(stack), scoped(stack, "up")) {
            (Ok(client), Ok(up)) => target_up(&client, &up, jobs).await,
            (Err(outcome), _) | (_, Err(outcome)) => outcome,
        },
        Check::PromQueryNonempty { query } => match (prometheus(stack), scoped(stack, query)) {
            (Err(outcome), _) | (_, Err(outcome)) => outcome,
            (Ok(client), Ok(query)) => match client.query(&query).await {
                Ok(samples) => judge_nonempty(&query, samples.len(), client.url()),
                Err(error) => Outcome::Fail(error.to_string()),
            },
        },
        Check::AmNotifications {
            integration,
            min_sent,
        } => match &stack.alertmanager {
            None => Outcome::Skip(
                "no Alertmanager URL given: add --alertmanager-url http://127.0.0.1:9093 (or set PROMLAB_ALERTMANAGER_URL) to grade the running stack".to_owned(),
            ),
            Some(url) => notifications(url, stack.timeout, integration, *min_sent).await,
        },
        Check::GrafanaDashboard { uid } => match &stack.grafana {
            None => Outcome::Skip(
                "no Grafana URL given: add --grafana-url http://127.0.0.1:3000 (or set PROMLAB_GRAFANA_URL) and a login (PROMLAB_GRAFANA_TOKEN or --grafana-token-file; or PROMLAB_GRAFANA_PASSWORD or --grafana-password-file) to grade the running stack".to_owned(),
            ),
            Some(url) => grafana_dashboard(url, stack, uid).await,
        },
        other => Outcome::Skip(format!("{} is not a live check", other.kind())),
    }
}

fn prometheus(stack: &Stack) -> Result<Prometheus, Outcome> {
    let Some(url) = &stack.prometheus else {
        return Err(Outcome::Skip(
            "no Prometheus URL given: add --prometheus-url http://127.0.0.1:9090 (or set PROMLAB_PROMETHEUS_URL) to grade the running stack".to_owned(),
        ));
    };
    Prometheus::new(url, None, stack.timeout).map_err(|error| Outcome::Fail(error.to_string()))
}

/// The query as the stack reads it: scoped to the namespace on a classroom cluster.
fn scoped(stack: &Stack, query: &str) -> Result<String, Outcome> {
    match &stack.namespace {
        None => Ok(query.to_owned()),
        Some(namespace) => crate::promql::with_label(query, "namespace", namespace)
            .map_err(|error| Outcome::Fail(error.to_string())),
    }
}

/// A query's verdict from how many series it returned; `source` names where they came from.
pub(super) fn judge_nonempty(query: &str, series: usize, source: &str) -> Outcome {
    if series == 0 {
        Outcome::Fail(format!(
            "`{query}` returns nothing in Prometheus at {source}"
        ))
    } else {
        Outcome::Pass(format!("`{query}` returns {series} series"))
    }
}

async fn target_up(client: &Prometheus, up: &str, jobs: &[String]) -> Outcome {
    match client.query(up).await {
        Ok(samples) => judge_up(&samples, jobs),
        Err(error) => Outcome::Fail(error.to_string()),
    }
}

/// The verdict on `jobs` from the samples of `up`: every job has a target, every target is up.
pub(super) fn judge_up(samples: &[Sample], jobs: &[String]) -> Outcome {
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
    let client = match Alertmanager::new(url, timeout) {
        Ok(client) => client,
        Err(error) => return Outcome::Fail(error.to_string()),
    };
    let notifications = match client.notifications().await {
        Ok(notifications) => notifications,
        Err(error) => return Outcome::Fail(error.to_string()),
    };
    judge_notifications(
        client.url(),
        integration,
        notifications.sent(integration),
        notifications.failed(integration),
        min_sent,
    )
}

/// The verdict on `integration` from Alertmanager's counters (`None`: no such integration); `source`
/// names the Alertmanager.
pub(super) fn judge_notifications(
    source: &str,
    integration: &str,
    sent: Option<f64>,
    failed: Option<f64>,
    min_sent: u32,
) -> Outcome {
    match (sent, failed) {
        (None, _) => Outcome::Fail(format!(
            "Alertmanager at {source} has no {integration} integration (alertmanager_notifications_total has no integration=\"{integration}\")"
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

async fn grafana_dashboard(url: &str, stack: &Stack, uid: &str) -> Outcome {
    let client = match Grafana::new(url, stack.grafana_auth.clone(), stack.timeout) {
        Ok(client) => client,
        Err(error) => return Outcome::Fail(error.to_string()),
    };
    match client.dashboard_uids().await {
        Ok(uids) => judge_dashboards(client.url(), &uids, uid),
        Err(error) => Outcome::Fail(error.to_string()),
    }
}

/// The verdict on the dashboard `uid` from the uids Grafana (at `source`) listed.
pub(super) fn judge_dashboards(source: &str, uids: &[String], uid: &str) -> Outcome {
    if uids.iter().any(|found| found == uid) {
        Outcome::Pass(format!("Grafana has the dashboard {uid}"))
    } else {
        Outcome::Fail(format!(
            "Grafana at {source} has no dashboard with uid {uid} (it has: {})",
            if uids.is_empty() {
                "none".to_owned()
            } else {
                uids.join(", ")
            }
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::{Format, GradeConfig, LabSource, Target};
    use super::*;
    use crate::redact::Secret;

    fn stack(grafana_auth: Auth) -> Stack {
        Stack {
            prometheus: Some("http://u:pr0m-pass@127.0.0.1:9".to_owned()),
            alertmanager: Some("https://u:am-pass@am.example".to_owned()),
            grafana: Some("http://admin:gr4f-pass@127.0.0.1:9".to_owned()),
            grafana_auth,
            timeout: Duration::from_secs(1),
            namespace: None,
        }
    }

    #[test]
    fn the_grade_config_debug_shows_no_password_token_or_user_info() {
        for auth in [
            Auth::Token(Secret::new("glsa_t0ken")),
            Auth::Basic {
                user: "admin".to_owned(),
                password: Secret::new("s3cret"),
            },
        ] {
            let config = GradeConfig {
                lab: LabSource::BuiltIn(3),
                target: Target::Repo(PathBuf::from(".")),
                stack: stack(auth),
                format: Format::Text,
                output: None,
                reports: None,
                jobs: 1,
                colour: false,
                record: None,
                sink: None,
                from_evidence: false,
                window: crate::grade::evidence::Window::default(),
            };
            let debug = format!("{config:?}");
            for secret in ["glsa_t0ken", "s3cret", "pr0m-pass", "am-pass", "gr4f-pass"] {
                assert!(!debug.contains(secret), "{secret} in {debug}");
            }
            assert!(debug.contains("http://***@127.0.0.1:9"), "{debug}");
        }
    }

    #[tokio::test]
    async fn a_failed_live_check_names_the_url_without_its_password() {
        let stack = stack(Auth::None);
        let outcomes = [
            evaluate(
                &Check::PromQueryNonempty {
                    query: "up".to_owned(),
                },
                &stack,
            )
            .await,
            evaluate(
                &Check::GrafanaDashboard {
                    uid: "promlab-model".to_owned(),
                },
                &stack,
            )
            .await,
        ];
        for outcome in outcomes {
            let Outcome::Fail(message) = &outcome else {
                panic!("nothing listens on port 9: {outcome:?}");
            };
            assert!(message.contains("http://***@127.0.0.1:9"), "{message}");
            assert!(
                !message.contains("pr0m-pass") && !message.contains("gr4f-pass"),
                "{message}"
            );
        }
    }
}
