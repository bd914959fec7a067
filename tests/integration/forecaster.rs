//! `promlab forecast` as a user runs it: the real binary pulls the mock's history from a real Prometheus,
//! serves predictions that keep the source's labels (Prometheus scrapes them back), flags a spike as an
//! anomaly, shows its forecasts in a browser, and rides out Prometheus going down.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use promlab::mock::Scenario;
use serde_json::Value;

use crate::require;
use crate::support::binary::{Promlab, Serving};
use crate::support::close::assert_close;
use crate::support::containers::Prometheus;
use crate::support::eventually::eventually;
use crate::support::mock::RunningMock;
use crate::support::{free_port, get_text};

/// A fast forecaster: one-second steps, ten points to start, a retraining every five seconds.
const CONFIG: &str = "targets: [{query: model_result}]\nstep: 1s\ntraining_window: 1m\n\
                      retrain_interval: 5s\nhorizon: 30s\nmin_points: 10\n";

fn scrape_config(mock: &str, forecaster: &str) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n\
         \x20 - job_name: model_mock\n    static_configs: [{{targets: ['{mock}']}}]\n\
         \x20 - job_name: forecaster\n    honor_labels: true\n    static_configs: [{{targets: ['{forecaster}']}}]\n"
    )
}

/// The models a forecaster and a backtest run when none are named (`ModelKind::defaults`): every model
/// the build has but `lstm`.
fn default_models() -> Vec<&'static str> {
    let mut models = vec!["seasonal_naive", "fourier", "ets", "mstl", "arima"];
    if cfg!(feature = "prophet") {
        models.push("prophet");
    }
    models
}

/// Every default model serves a prediction for the series labelled `labels` and a holdout error
/// (`holdout` picks the series among the error's labels).
fn every_model_predicts(metrics: &str, labels: &[&str], holdout: &[&str]) -> bool {
    default_models().iter().all(|model| {
        let model_label = format!("model=\"{model}\"");
        let mut error_labels = vec![model_label.as_str()];
        error_labels.extend_from_slice(holdout);
        sample(metrics, &format!("predicted_values_{model}"), labels).is_some()
            && sample(metrics, "forecaster_holdout_smape_percent", &error_labels).is_some()
    })
}

/// The NAB subset the repository carries (`tests/fixtures/nab`, with its licence and source).
fn nab_folder() -> std::path::PathBuf {
    crate::support::fixture("nab")
}

/// The cells of a Markdown table's data rows (its header and rule left out).
fn table_rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| model"))
        .filter(|line| !line.starts_with("|---"))
        .map(|line| line.trim_matches('|').split('|').map(str::trim).collect())
        .collect()
}

/// The value of the first sample of `name` whose line contains every one of `labels`.
fn sample(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn wait_for_metrics(
    forecaster: &Serving,
    what: &str,
    limit: Duration,
    done: impl Fn(&str) -> bool,
) -> String {
    let url = forecaster.url("/metrics");
    eventually(what, limit, || get_text(&url), |metrics| done(metrics)).await
}

/// Every model predicts the series, with a band around the point and a holdout error.
fn assert_predictions(metrics: &str, source: &[&str]) {
    for model in default_models() {
        let point =
            sample(metrics, &format!("predicted_values_{model}"), source).expect("a prediction");
        let upper = sample(
            metrics,
            &format!("predicted_values_{model}_yhat_upper"),
            source,
        )
        .expect("an upper bound");
        let lower = sample(
            metrics,
            &format!("predicted_values_{model}_yhat_lower"),
            source,
        )
        .expect("a lower bound");
        assert!(
            lower <= point && point <= upper,
            "{model}: {lower} <= {point} <= {upper}"
        );
        assert!(
            (0.0..0.5).contains(&point),
            "{model}: drift starts near 0.1, got {point}"
        );
        let smape = sample(
            metrics,
            "forecaster_holdout_smape_percent",
            &[&format!("model=\"{model}\"")],
        );
        assert!(
            smape.is_some_and(|e| (0.0..=200.0).contains(&e)),
            "{model}: holdout sMAPE {smape:?}"
        );
    }
}

/// Prometheus goes down and comes back: the forecaster keeps serving, says so, and recovers by itself.
async fn rides_out_an_outage(prometheus: &Prometheus, forecaster: &mut Serving, source: &[&str]) {
    let _ = forecaster.take_lines();
    // Prometheus goes down: the last forecasts keep being served, marked by forecaster_prometheus_up 0…
    prometheus.stop().await;
    let metrics = wait_for_metrics(
        forecaster,
        "Prometheus seen down",
        Duration::from_secs(20),
        |metrics| sample(metrics, "forecaster_prometheus_up", &[]) == Some(0.0),
    )
    .await;
    assert!(
        sample(&metrics, "predicted_values_fourier", source).is_some(),
        "still served:\n{metrics}"
    );
    // …and it comes back by itself once Prometheus does.
    prometheus.restart().await;
    wait_for_metrics(
        forecaster,
        "Prometheus seen up again",
        Duration::from_secs(40),
        |metrics| sample(metrics, "forecaster_prometheus_up", &[]) == Some(1.0),
    )
    .await;
    // One warning for the outage and one line for the recovery, not one per retry.
    let lines = forecaster.take_lines();
    let count = |text: &str| lines.iter().filter(|line| line.contains(text)).count();
    assert_eq!(count("Prometheus does not answer"), 1, "{lines:#?}");
    assert_eq!(count("Prometheus answers"), 1, "{lines:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forecaster_learns_from_prometheus_flags_a_spike_and_survives_an_outage() {
    let test = "the_forecaster_learns_from_prometheus_flags_a_spike_and_survives_an_outage";
    let mock = RunningMock::start(Scenario::Drift, Duration::from_secs(1), 5).await;
    let prometheus_port = free_port();
    let config = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("forecaster-test.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    // Started before Prometheus: it retries until Prometheus answers.
    let mut forecaster = Promlab::new()
        .args([
            "forecast",
            "--listen",
            "127.0.0.1:0",
            "--config",
            &config.display().to_string(),
        ])
        .args([
            "--prometheus-url",
            &format!("http://127.0.0.1:{prometheus_port}"),
        ])
        .serve();
    let prometheus = require!(
        test,
        Prometheus::start_with(
            prometheus_port,
            &scrape_config(&mock.address.to_string(), &forecaster.address.to_string()),
            &[]
        )
        .await
    );
    let source = [
        "job=\"model_mock\"".to_owned(),
        format!("instance=\"{}\"", mock.address),
        "metric=\"model_result\"".to_owned(),
    ];
    let source: Vec<&str> = source.iter().map(String::as_str).collect();

    // Warm-up, then predictions with the source's labels, for every model, with bounds and flags.
    // (The first trainings have too little history to hold a tail out, and each model needs its own
    // number of points: wait for every model's holdout error.)
    let metrics = wait_for_metrics(
        &forecaster,
        "predictions",
        Duration::from_secs(60),
        |metrics| every_model_predicts(metrics, &source, &[]),
    )
    .await;
    assert_predictions(&metrics, &source);
    assert_eq!(sample(&metrics, "forecaster_prometheus_up", &[]), Some(1.0));

    // Prometheus scrapes them back with the source's labels (honor_labels).
    prometheus
        .wait_for(
            &format!(
                "predicted_values_seasonal_naive{{job=\"model_mock\",instance=\"{}\"}}",
                mock.address
            ),
            Duration::from_secs(30),
            |result| !result.is_empty(),
        )
        .await;

    // A spike lands outside every band: the anomaly flag goes to 1 (seen by Prometheus), judged on
    // the samples scraped since the switch only.
    let switched = std::time::Instant::now();
    assert!(mock.switch("spike").await.status().is_success());
    for model in default_models() {
        let deadline = switched + Duration::from_secs(30);
        loop {
            let since = switched.elapsed().as_secs().max(1);
            let flagged = prometheus
                .query(&format!(
                    "max_over_time(predicted_values_{model}_anomaly{{job=\"model_mock\"}}[{since}s]) == 1"
                ))
                .await;
            if !flagged.is_empty() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{model} never flagged the spike"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    // The page, in a real browser: the series, its status and a chart per model.
    let dom = require!(
        test,
        crate::support::browser::dump_dom(&forecaster.url("/"), 3000, None)
    );
    assert!(
        dom.contains("model_result") && dom.contains("forecasting"),
        "{dom}"
    );
    assert!(
        dom.contains("<polyline") && dom.contains("fourier"),
        "{dom}"
    );

    rides_out_an_outage(&prometheus, &mut forecaster, &source).await;
    let (status, lines) = forecaster.terminate();
    assert!(status.success(), "{lines:#?}");
}

#[test]
fn the_backtest_scores_every_model_on_real_nab_series() {
    let nab = nab_folder();
    for file in [
        "realKnownCause/nyc_taxi.csv",
        "realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv",
    ] {
        let csv = nab.join(file).display().to_string();
        let output = Promlab::new()
            .args(["forecast", "backtest", "--csv", &csv])
            .output();
        let report = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{file}: {}",
            crate::support::binary::stderr(&output)
        );
        let rows = table_rows(&report);
        let models: Vec<&str> = rows.iter().map(|row| row[0]).collect();
        assert_eq!(models, default_models(), "{report}");
        for row in &rows {
            let smape: f64 = row[1].parse().expect("an sMAPE");
            let mase: f64 = row[2].parse().expect("a MASE");
            let coverage: f64 = row[3].trim_end_matches('%').parse().expect("a coverage");
            assert!((0.0..=200.0).contains(&smape), "{file}: {row:?}");
            assert!(mase.is_finite() && mase >= 0.0, "{file}: {row:?}");
            assert!((0.0..=100.0).contains(&coverage), "{file}: {row:?}");
            assert_eq!(row[6], "0", "{file}: no origin failed: {row:?}");
        }
        assert_eq!(
            rows[0][4], "1.00×",
            "the baseline is the reference: {report}"
        );
    }
}

#[test]
fn the_backtest_scores_anomaly_flags_against_nabs_labelled_windows() {
    let nab = nab_folder();
    // The fast models only: this sweeps the whole series, a horizon at a time.
    let csv = nab.join("realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv");
    let windows = nab.join("combined_windows.json");
    let output = Promlab::new()
        .args(["forecast", "backtest", "--models", "seasonal_naive,fourier"])
        .args(["--csv", &csv.display().to_string()])
        .args(["--windows", &windows.display().to_string()])
        .output();
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{}",
        crate::support::binary::stderr(&output)
    );
    let flags = table_rows(
        report
            .split("against the labelled windows")
            .nth(1)
            .expect("a flags table"),
    );
    assert_eq!(flags.len(), 2, "{report}");
    for row in &flags {
        // This series has one labelled window (the CPU jump of 2014-04-15): every model sees it.
        assert_eq!(row[1], "1 of 1", "{report}");
        let total: usize = row[2].parse().expect("a count");
        let outside: usize = row[3].parse().expect("a count");
        assert!(outside < total, "{report}");
    }
}

#[test]
fn a_bad_backtest_file_is_named_with_its_line() {
    let csv = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-backtest.csv");
    std::fs::write(&csv, "timestamp,value\n1404172800,1\n1404174600,one\n").unwrap();
    let output = Promlab::new()
        .args(["forecast", "backtest", "--csv", &csv.display().to_string()])
        .output();
    assert_eq!(output.status.code(), Some(1));
    let message = crate::support::binary::stderr(&output);
    assert!(
        message.contains("line 3") && message.contains("\"one\" is not a number"),
        "{message}"
    );
}

/// A NAB series as OpenMetrics, its timestamps shifted so that it ends a step before `now`.
fn nab_openmetrics(csv: &std::path::Path, name: &str, now: f64) -> String {
    let points = promlab::forecast::read_csv(csv).expect("a NAB CSV");
    let (last, _) = *points.last().expect("points");
    let step = points[1].0 - points[0].0;
    let shift = now - step - last;
    let mut text = String::from("# TYPE nab_value gauge\n");
    for (at, value) in points {
        let _ = writeln!(
            text,
            "nab_value{{series=\"{name}\"}} {value} {:.0}",
            at + shift
        );
    }
    text.push_str("# EOF\n");
    text
}

/// Two weeks of a NAB series of AWS `CloudWatch` CPU (5-minute steps) turned into TSDB blocks by promtool,
/// ending now; returns the folder holding `data/`.
fn nab_tsdb(
    nab: &std::path::Path,
    name: &str,
) -> Result<std::path::PathBuf, crate::support::Missing> {
    let work = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("nab-tsdb");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("data")).expect("the scratch folder is writable");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs_f64();
    let csv = nab.join(format!("realAWSCloudwatch/{name}.csv"));
    std::fs::write(work.join("nab.om"), nab_openmetrics(&csv, name, now))
        .expect("the scratch folder is writable");
    // Prometheus and promtool run as nobody: the folder must be theirs to write.
    let opened = std::process::Command::new("chmod")
        .args(["-R", "a+rwX", &work.display().to_string()])
        .status()
        .expect("the scratch folder is writable");
    assert!(opened.success());
    let image = crate::support::containers::image(crate::support::containers::PROMETHEUS_IMAGE)?;
    let created = std::process::Command::new("docker")
        .args(["run", "--rm", "--network", "none", "--volume"])
        .arg(format!("{}:/work", work.display()))
        .args(["--entrypoint", "promtool", &image])
        .args([
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "/work/nab.om",
            "/work/data",
        ])
        .output()
        .expect("the scratch folder is writable");
    assert!(
        created.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&created.stderr)
    );

    Ok(work)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forecaster_runs_on_real_nab_history_in_a_real_prometheus() {
    let test = "the_forecaster_runs_on_real_nab_history_in_a_real_prometheus";
    let nab = nab_folder();
    let name = "ec2_cpu_utilization_825cc2";
    let work = require!(test, nab_tsdb(&nab, name));
    let port = free_port();
    let prometheus = require!(
        test,
        Prometheus::start_on_data(port, "global:\n  scrape_interval: 1m\n", &work.join("data"))
            .await
    );
    prometheus
        .wait_for(
            "count_over_time(nab_value[1d])",
            Duration::from_secs(30),
            |result| !result.is_empty(),
        )
        .await;
    let config = work.join("forecaster.yaml");
    std::fs::write(
        &config,
        "targets: [{query: nab_value}]\nstep: 5m\ntraining_window: 1d\nretrain_interval: 10m\n\
         horizon: 1h\nmin_points: 50\n",
    )
    .unwrap();
    let forecaster = Promlab::new()
        .args([
            "forecast",
            "--listen",
            "127.0.0.1:0",
            "--config",
            &config.display().to_string(),
        ])
        .args(["--prometheus-url", &format!("http://127.0.0.1:{port}")])
        .serve();
    let labels = [
        format!("series=\"{name}\""),
        "metric=\"nab_value\"".to_owned(),
    ];
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let metrics = wait_for_metrics(
        &forecaster,
        "forecasts of the NAB series",
        Duration::from_secs(60),
        |metrics| every_model_predicts(metrics, &labels, &labels[..1]),
    )
    .await;
    // Real CPU utilisation in percent: predictions in range, holdout errors reported per model.
    for model in default_models() {
        let point =
            sample(&metrics, &format!("predicted_values_{model}"), &labels).expect("a prediction");
        assert!((0.0..=150.0).contains(&point), "{model}: {point}");
        let error = sample(
            &metrics,
            "forecaster_holdout_smape_percent",
            &[&format!("model=\"{model}\""), labels[0]],
        )
        .expect("a holdout error");
        assert!((0.0..=200.0).contains(&error), "{model}: sMAPE {error}");
    }
}

/// `promlab forecast nab-score` on the numenta detector's published anomaly scores (the whole corpus, a
/// compact fixture of NAB's results): NAB's scoreboard figure for Numenta HTM, as NAB scores it.
#[test]
fn nab_score_reproduces_the_published_numenta_htm_score() {
    let nab = nab_folder();
    let output = Promlab::new()
        .args(["forecast", "nab-score"])
        .args([
            "--scores",
            &nab.join("numenta-scores.csv.zst").display().to_string(),
        ])
        .args([
            "--windows",
            &nab.join("combined_windows.json").display().to_string(),
        ])
        .output();
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{}",
        crate::support::binary::stderr(&output)
    );
    assert!(
        report.contains("NAB score of 58 files (116 windows)"),
        "{report}"
    );
    let normalised = |profile: &str| -> f64 {
        table_rows(&report)
            .iter()
            .find(|row| row[0] == profile)
            .unwrap_or_else(|| panic!("no {profile} row: {report}"))[3]
            .parse()
            .expect("a score")
    };
    // Published: 70.101 standard, 74.320 low-FN; on low-FP NAB's optimiser finds a better threshold
    // (63.21) than the published one (63.12).
    let published = |profile: &str, score: f64| {
        assert_close(
            &format!("the {profile} score of\n{report}\n"),
            normalised(profile),
            score,
            0.01,
        );
    };
    published("standard", 70.10);
    published("reward_low_FN_rate", 74.32);
    assert!(normalised("reward_low_FP_rate") >= 63.11, "{report}");

    // A windows file that lacks a file the scores name: refused, naming it.
    let windows = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("nab-windows-empty.json");
    std::fs::write(&windows, "{}").expect("written");
    let output = Promlab::new()
        .args(["forecast", "nab-score"])
        .args([
            "--scores",
            &nab.join("numenta-scores.csv.zst").display().to_string(),
        ])
        .args(["--windows", &windows.display().to_string()])
        .output();
    assert_eq!(output.status.code(), Some(1));
    let said = crate::support::binary::stderr(&output);
    assert!(
        said.contains("no windows for \"artificialNoAnomaly/"),
        "{said}"
    );
}

/// A target that matches more series than `max_series`, whose series carry a `model` label (as an ML
/// lab's do): the forecaster follows exactly the first ones by label, and what it serves keeps the
/// source's `model` as `exported_model`, so Prometheus keeps scraping it (a label named twice would
/// make it refuse the whole scrape).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_target_with_a_model_label_is_followed_and_scraped_whole() {
    let test = "a_capped_target_with_a_model_label_is_followed_and_scraped_whole";
    let prometheus_port = free_port();
    let config = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("forecaster-capped.yaml");
    // Prometheus' own query-duration summary: one series per slice and quantile, a dozen.
    let query = "prometheus_engine_query_duration_seconds";
    std::fs::write(
        &config,
        format!(
            "targets: [{{query: {query}}}]\nstep: 1s\ntraining_window: 1m\nretrain_interval: 2s\n\
             horizon: 30s\nmin_points: 10\nmax_series: 3\nmodels: [seasonal_naive, fourier]\n"
        ),
    )
    .unwrap();
    let forecaster = Promlab::new()
        .args(["forecast", "--listen", "127.0.0.1:0"])
        .args(["--config", &config.display().to_string()])
        .args([
            "--prometheus-url",
            &format!("http://127.0.0.1:{prometheus_port}"),
        ])
        .serve();
    let scrape = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n\
         \x20 - job_name: prometheus\n    static_configs:\n\
         \x20     - targets: ['127.0.0.1:{prometheus_port}']\n        labels: {{model: resnet}}\n\
         \x20 - job_name: forecaster\n    honor_labels: true\n    static_configs: [{{targets: ['{}']}}]\n",
        forecaster.address
    );
    let prometheus = require!(
        test,
        Prometheus::start_with(prometheus_port, &scrape, &[]).await
    );
    // The first three label sets by label, as the forecaster serves them: no __name__, plus `metric`,
    // the source's `model` kept as `exported_model`.
    let expected = async || {
        let current = prometheus
            .wait_for(query, Duration::from_secs(30), |result| result.len() > 3)
            .await;
        let mut sources: Vec<BTreeMap<String, String>> = current
            .iter()
            .map(|series| serde_json::from_value(series["metric"].clone()).expect("labels"))
            .collect();
        sources.sort();
        sources.truncate(3);
        let mut served: Vec<BTreeMap<String, String>> = sources
            .into_iter()
            .map(|mut labels| {
                labels.remove("__name__");
                let model = labels.remove("model").expect("the static label");
                labels.insert("exported_model".to_owned(), model);
                labels.insert("metric".to_owned(), query.to_owned());
                labels
            })
            .collect();
        served.sort();
        served
    };
    let followed = async || {
        let answer: Value = reqwest::get(forecaster.url("/api/forecasts"))
            .await
            .expect("the forecaster answers")
            .json()
            .await
            .expect("JSON");
        let mut series: Vec<BTreeMap<String, String>> = answer["series"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|series| serde_json::from_value(series["labels"].clone()).expect("labels"))
            .collect();
        series.sort();
        series
    };
    // Prometheus' own series appear as it starts answering queries: wait until both sides agree.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (want, have) = (expected().await, followed().await);
        if want == have {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the forecaster follows {have:#?}, not the first three by label {want:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Scraped whole, with the holdout errors (`model` is the forecaster's own label there).
    prometheus
        .wait_for(
            r#"forecaster_holdout_smape_percent{exported_model="resnet", model="fourier"}"#,
            Duration::from_secs(90),
            |result| result.len() == 3,
        )
        .await;
    let up = prometheus.query(r#"up{job="forecaster"}"#).await;
    assert_eq!(up[0]["value"][1], "1", "{up:?}");
}
