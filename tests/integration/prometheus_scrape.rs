//! A real Prometheus scrapes the mock with the lab's scrape config and sees what the lab promises.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promlab::mock::Scenario;

use crate::require;
use crate::support::containers::{Prometheus, samples};
use crate::support::mock::RunningMock;

/// The lab's scrape config for the mock (job `model_mock`, every 5 s), plus a second job that
/// scrapes the same target in the classic text format only, so both exposition formats meet
/// Prometheus' own parsers (the lab's job negotiates OpenMetrics).
fn scrape_config(target: &str) -> String {
    format!(
        "global:\n  scrape_interval: 5s\n  evaluation_interval: 5s\n\
         scrape_configs:\n\
         \x20 - job_name: model_mock\n    static_configs:\n      - targets: ['{target}']\n\
         \x20 - job_name: model_mock_text\n    scrape_protocols: [PrometheusText0.0.4]\n    static_configs:\n      - targets: ['{target}']\n"
    )
}

#[tokio::test]
async fn prometheus_scrapes_the_mock_and_sees_a_spike_within_two_scrapes() {
    let mock = RunningMock::start(Scenario::Steady, Duration::from_secs(1), 3).await;
    let prometheus = require!(
        "prometheus_scrapes_the_mock_and_sees_a_spike_within_two_scrapes",
        Prometheus::start(&scrape_config(&mock.address.to_string())).await
    );
    let limit = Duration::from_secs(40);

    for job in ["model_mock", "model_mock_text"] {
        let up = prometheus
            .wait_for(&format!("up{{job=\"{job}\"}}"), limit, |result| {
                result
                    .first()
                    .is_some_and(|series| series["value"][1] == "1")
            })
            .await;
        assert_eq!(up.len(), 1, "{job}: one target: {up:?}");
    }

    // At least three scrapes of model_result, every value in [0, 1].
    let history = prometheus
        .wait_for("model_result{job=\"model_mock\"}[2m]", limit, |result| {
            samples(result).len() >= 3
        })
        .await;
    for (at, value) in samples(&history) {
        assert!((0.0..=1.0).contains(&value), "sample at {at}: {value}");
    }

    // Every metric type arrived through both parsers, with the same series.
    for job in ["model_mock", "model_mock_text"] {
        for (query, series) in [
            ("model_predictions_total", 1),
            ("model_inference_duration_seconds_bucket", 11),
            ("model_request_duration_seconds", 3),
            ("model_request_duration_seconds_count", 1),
            ("model_scenario", 5),
            ("model_build_info", 1),
        ] {
            let result = prometheus.query(&format!("{query}{{job=\"{job}\"}}")).await;
            assert_eq!(result.len(), series, "{job} {query}: {result:?}");
        }
    }
    let active = prometheus
        .query("model_scenario{job=\"model_mock\"} == 1")
        .await;
    assert_eq!(active[0]["metric"]["scenario"], "steady");

    let response = mock.switch("spike").await;
    assert!(response.status().is_success());
    let switched_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();

    // The first two scrapes that started after the switch.
    let after = prometheus
        .wait_for("model_result{job=\"model_mock\"}[1m]", limit, |result| {
            samples(result)
                .iter()
                .filter(|(at, _)| *at > switched_at)
                .count()
                >= 2
        })
        .await;
    let after: Vec<(f64, f64)> = samples(&after)
        .into_iter()
        .filter(|(at, _)| *at > switched_at)
        .take(2)
        .collect();
    for (at, value) in &after {
        assert!(*value > 0.9, "scrape at {at} after the switch saw {value}");
    }
    let active = prometheus
        .query("model_scenario{job=\"model_mock\"} == 1")
        .await;
    assert_eq!(active[0]["metric"]["scenario"], "spike");
}
