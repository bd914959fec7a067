//! `promlab export`, `metrics list`, `backup` and `restore` as a user runs them, against a real
//! Prometheus holding a known day of history (made by promtool from OpenMetrics): every format and
//! layout compared sample by sample (Parquet read back by pyarrow), a backup interrupted, resumed,
//! damaged and verified, restored into a NEW Prometheus with identical samples, the same to S3 (moto),
//! and every fault a clear error that leaves no file behind.

// The helpers here only serve these tests: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use promlab::clients;

use crate::require;
use crate::support::binary::{Promlab, stderr};
use crate::support::containers::{PROMETHEUS_IMAGE, Prometheus, image};
use crate::support::fs::{open_to_containers, scratch};
use crate::support::{Missing, free_port, which};

const STEP_MS: i64 = 10_000;
const PER_SERIES: i64 = 86_400_000 / STEP_MS;

/// Series key (`name{labels}`) to `(unix ms, value)`.
type Expected = BTreeMap<String, Vec<(i64, f64)>>;

/// Midnight (UTC) three days ago, in unix milliseconds: a day that is over and inside retention.
fn test_day() -> (String, i64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let start = i64::try_from(now).unwrap() / 86_400_000 * 86_400_000 - 3 * 86_400_000;
    let day = promlab::time::format_time(start)[..10].to_owned();
    (day, start)
}

/// A known day: two temperatures (one with a NaN and an infinity) and a counter, every 10 s.
fn history(start: i64) -> (String, Expected) {
    let mut expected = Expected::new();
    let mut text = String::new();
    for (key, family) in [
        ("lab_requests_total{code=\"200\"}", "lab_requests_total"),
        ("lab_temperature{room=\"a\"}", "lab_temperature"),
        ("lab_temperature{room=\"b\"}", ""),
    ] {
        if !family.is_empty() {
            let _ = writeln!(text, "# TYPE {family} unknown");
        }
        let samples: Vec<(i64, f64)> = (0..PER_SERIES)
            .map(|i| {
                let x = i as f64;
                let value = match key {
                    k if k.starts_with("lab_requests") => x * 1.5,
                    k if k.contains("\"a\"") => (x * 0.1).sin() * 20.0 + 0.1,
                    _ if i == 100 => f64::NAN,
                    _ if i == 200 => f64::INFINITY,
                    _ => 1.0 / (x + 3.0),
                };
                (start + i * STEP_MS, value)
            })
            .collect();
        for (at, value) in &samples {
            let _ = writeln!(
                text,
                "{key} {} {}",
                promlab::series::value_text(*value),
                promlab::time::seconds_text(*at)
            );
        }
        expected.insert(key.to_owned(), samples);
    }
    text.push_str("# EOF\n");
    (text, expected)
}

/// TSDB blocks made by the real promtool from `openmetrics`, in `work/data`.
fn blocks(work: &Path, openmetrics: &str) -> Result<PathBuf, Missing> {
    let data = work.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(work.join("history.om"), openmetrics).unwrap();
    // Prometheus and promtool run as nobody: the folder must be theirs to write.
    open_to_containers(work);
    let reference = image(PROMETHEUS_IMAGE)?;
    let created = Command::new("docker")
        .args(["run", "--rm", "--network", "none", "--volume"])
        .arg(format!("{}:/work", work.display()))
        .args(["--entrypoint", "promtool", &reference])
        .args([
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "/work/history.om",
            "/work/data",
        ])
        .output()
        .unwrap();
    assert!(created.status.success(), "promtool: {}", stderr(&created));
    Ok(data)
}

/// A Prometheus over `openmetrics`' samples, ready to answer for them.
async fn prometheus_with(
    work: &Path,
    openmetrics: &str,
    start: i64,
) -> Result<Prometheus, Missing> {
    let data = blocks(work, openmetrics)?;
    let prometheus =
        Prometheus::start_on_data(free_port(), "global:\n  scrape_interval: 1m\n", &data).await?;
    let at = (start + 86_400_000) / 1000;
    prometheus
        .wait_for(
            &format!("count(count_over_time({{__name__=~\"lab_.*\"}}[1d] @ {at}))"),
            Duration::from_secs(30),
            |result| !result.is_empty(),
        )
        .await;
    Ok(prometheus)
}

fn url(prometheus: &Prometheus) -> String {
    format!("http://127.0.0.1:{}", prometheus.port)
}

/// Bitwise equality: the point of these tools is that values survive exactly (NaN is NaN).
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Within a rounding step: for readers whose float parser is not correctly rounded (`serde_json`'s
/// default one can be one unit in the last place off), not for the files themselves.
fn close(a: f64, b: f64) -> bool {
    same(a, b) || (a - b).abs() <= 4.0 * f64::EPSILON * a.abs().max(b.abs())
}

fn assert_samples(what: &str, got: &Expected, expected: &Expected) {
    assert_samples_by(what, got, expected, same);
}

fn assert_samples_by(what: &str, got: &Expected, expected: &Expected, equal: fn(f64, f64) -> bool) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{what}: series"
    );
    for (key, samples) in expected {
        let found = &got[key];
        assert_eq!(found.len(), samples.len(), "{what}: {key} sample count");
        for ((at, value), (want_at, want)) in found.iter().zip(samples) {
            assert!(
                *at == *want_at && equal(*value, *want),
                "{what}: {key} has {value} at {at}, expected {want} at {want_at}"
            );
        }
    }
}

/// What a range query at `step_ms` returns: each grid point takes the latest sample at or before it.
fn on_grid(expected: &Expected, start: i64, end: i64, step_ms: i64) -> Expected {
    expected
        .iter()
        .map(|(key, samples)| {
            let points = (start..=end)
                .step_by(usize::try_from(step_ms).unwrap())
                .map(|at| {
                    (
                        at,
                        samples[usize::try_from((at - start) / STEP_MS).unwrap()].1,
                    )
                })
                .collect();
            (key.clone(), points)
        })
        .collect()
}

fn parse_value(text: &str) -> f64 {
    promlab::series::parse_value(text).unwrap_or_else(|| panic!("{text:?} is not a value"))
}

fn parse_seconds(text: &str) -> i64 {
    promlab::time::parse_time(text).unwrap()
}

/// Long CSV: `timestamp,metric,labels,value` with the labels quoted.
fn read_long_csv(path: &Path) -> Expected {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("timestamp,metric,labels,value"));
    let mut got = Expected::new();
    for line in lines {
        let (at, rest) = line.split_once(',').unwrap();
        let (metric, rest) = rest.split_once(',').unwrap();
        let (labels, value) = rest.rsplit_once(',').unwrap();
        let labels = labels.trim_matches('"').replace("\"\"", "\"");
        got.entry(format!("{metric}{labels}"))
            .or_default()
            .push((parse_seconds(at), parse_value(value)));
    }
    got
}

/// Wide JSON Lines: `{"timestamp":T,"<series>":V,...}`.
fn read_wide_jsonl(path: &Path) -> Expected {
    let mut got = Expected::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let row: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
        let at = parse_seconds(&row["timestamp"].to_string());
        for (key, value) in row.iter().filter(|(key, _)| *key != "timestamp") {
            let value = match value {
                serde_json::Value::String(text) => parse_value(text),
                number => parse_value(&number.to_string()),
            };
            got.entry(key.clone()).or_default().push((at, value));
        }
    }
    got
}

/// A Python that has pyarrow: `PROMLAB_PYTHON`, the venv .ci/run makes under target/, or python3.
fn python_with_pyarrow() -> Result<PathBuf, Missing> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/promlab-py/bin/python");
    let candidates = [
        std::env::var_os("PROMLAB_PYTHON").map(PathBuf::from),
        Some(venv),
        Some(PathBuf::from("python3")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|python| {
            Command::new(python)
                .args(["-c", "import pyarrow"])
                .output()
                .is_ok_and(|output| output.status.success())
        })
        .ok_or_else(|| {
            Missing("no Python with pyarrow (.ci/run makes target/promlab-py)".to_owned())
        })
}

/// A Parquet file as pyarrow reads it: every column as text (`repr` of floats, ms of timestamps).
const READ_PARQUET: &str = r#"
import json, sys
import pyarrow as pa, pyarrow.parquet as pq
table = pq.read_table(sys.argv[1])
out = {"schema": {f.name: str(f.type) for f in table.schema}, "columns": {}}
for name in table.column_names:
    column = table.column(name)
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.int64())
    out["columns"][name] = [None if v is None else (repr(v) if isinstance(v, float) else v) for v in column.to_pylist()]
print(json.dumps(out))
"#;

fn read_parquet(python: &Path, path: &Path) -> serde_json::Value {
    let output = Command::new(python)
        .args(["-c", READ_PARQUET, &path.display().to_string()])
        .output()
        .unwrap();
    assert!(output.status.success(), "pyarrow: {}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn python_float(value: &serde_json::Value) -> f64 {
    let text = value.as_str().expect("a float's repr");
    match text {
        "nan" => f64::NAN,
        "inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        other => other.parse().unwrap(),
    }
}

fn parquet_long(table: &serde_json::Value) -> Expected {
    assert_eq!(table["schema"]["timestamp"], "timestamp[ms, tz=UTC]");
    assert_eq!(table["schema"]["value"], "double");
    let columns = &table["columns"];
    let mut got = Expected::new();
    for i in 0..columns["timestamp"].as_array().unwrap().len() {
        let key = format!(
            "{}{}",
            columns["metric"][i].as_str().unwrap(),
            columns["labels"][i].as_str().unwrap()
        );
        got.entry(key).or_default().push((
            columns["timestamp"][i].as_i64().unwrap(),
            python_float(&columns["value"][i]),
        ));
    }
    got
}

fn parquet_wide(table: &serde_json::Value) -> Expected {
    let columns = table["columns"].as_object().unwrap();
    let timestamps = columns["timestamp"].as_array().unwrap();
    let mut got = Expected::new();
    for (key, values) in columns.iter().filter(|(key, _)| *key != "timestamp") {
        assert_eq!(table["schema"][key], "double");
        for (at, value) in timestamps.iter().zip(values.as_array().unwrap()) {
            if !value.is_null() {
                got.entry(key.clone())
                    .or_default()
                    .push((at.as_i64().unwrap(), python_float(value)));
            }
        }
    }
    got
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `promlab export` into `dir`; returns the output file and the command's result.
fn export(
    prometheus: &str,
    range: (i64, i64, &str),
    (format, layout): (&str, &str),
    out: &Path,
) -> std::process::Output {
    let (start, end, step) = range;
    Promlab::new()
        .args(["export", "--prometheus-url", prometheus])
        .args(["--query", "{__name__=~\"lab_.*\"}"])
        .args(["--start", &promlab::time::seconds_text(start)])
        .args(["--end", &promlab::time::seconds_text(end)])
        .args(["--step", step, "--format", format, "--layout", layout])
        .args(["-o", &out.display().to_string()])
        .output()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_every_format_and_layout_with_prometheus_exact_values() {
    let test = "export_writes_every_format_and_layout_with_prometheus_exact_values";
    let (_, start) = test_day();
    let (openmetrics, expected) = history(start);
    let work = scratch("export-formats");
    let prometheus = require!(test, prometheus_with(&work, &openmetrics, start).await);
    let url = url(&prometheus);
    let out = scratch("export-formats-out");

    // The whole day every 5 s: 17,279 points per series, more than one request may carry.
    let end = start + (PER_SERIES - 1) * STEP_MS;
    let grid = on_grid(&expected, start, end, 5_000);
    let run = |format: &str, layout: &str, file: &str| {
        let path = out.join(file);
        let output = export(&url, (start, end, "5s"), (format, layout), &path);
        assert!(
            output.status.success(),
            "{format} {layout}: {}",
            stderr(&output)
        );
        let said = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(said.contains("(2 requests)"), "{said}");
        path
    };
    assert_samples(
        "long CSV",
        &read_long_csv(&run("csv", "long", "long.csv")),
        &grid,
    );
    assert_samples_by(
        "wide JSONL",
        &read_wide_jsonl(&run("jsonl", "wide", "wide.jsonl")),
        &grid,
        close,
    );
    let long_jsonl = std::fs::read_to_string(run("jsonl", "long", "long.jsonl")).unwrap();
    assert_eq!(long_jsonl.lines().count(), 3 * 17_279);
    let wide_csv = std::fs::read_to_string(run("csv", "wide", "wide.csv")).unwrap();
    assert_eq!(
        wide_csv.lines().next(),
        Some(
            r#"timestamp,"lab_requests_total{code=""200""}","lab_temperature{room=""a""}","lab_temperature{room=""b""}""#
        )
    );
    let long_parquet = run("parquet", "long", "long.parquet");
    let wide_parquet = run("parquet", "wide", "wide.parquet");
    // Nothing else was written: no temporary file left beside the datasets.
    assert_eq!(
        files_in(&out),
        [
            "long.csv",
            "long.jsonl",
            "long.parquet",
            "wide.csv",
            "wide.jsonl",
            "wide.parquet"
        ]
    );

    // The Parquet files as pyarrow reads them.
    match python_with_pyarrow() {
        Ok(python) => {
            assert_samples(
                "long Parquet",
                &parquet_long(&read_parquet(&python, &long_parquet)),
                &grid,
            );
            assert_samples(
                "wide Parquet",
                &parquet_wide(&read_parquet(&python, &wide_parquet)),
                &grid,
            );
        }
        Err(missing) => crate::support::skip(test, &missing),
    }

    metrics_are_listed(&url);
    faults_leave_no_file(test, &url, start);
}

/// `metrics list`: names and series counts, as JSON.
fn metrics_are_listed(url: &str) {
    // metrics list: names, series counts, as JSON.
    let listed = Promlab::new()
        .args([
            "metrics",
            "list",
            "--prometheus-url",
            url,
            "--format",
            "json",
        ])
        .args(["--match", "{__name__=~\"lab_.*\"}"])
        .output();
    assert!(listed.status.success(), "{}", stderr(&listed));
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let counts: Vec<(String, u64)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["series"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("lab_requests_total".to_owned(), 1),
            ("lab_temperature".to_owned(), 2)
        ]
    );
}

/// Each fault: a non-zero exit, a message naming the fix, and nothing in the output folder.
fn faults_leave_no_file(test: &str, url: &str, start: i64) {
    let out = scratch("export-faults");
    let file = out.join("x.csv");
    let end = start + 3_600_000;
    let unreachable = format!("http://127.0.0.1:{}", free_port());
    let cases: [(&str, (i64, i64, &str), &str); 3] = [
        (
            &unreachable,
            (start, end, "10s"),
            "is it running, and is the URL right?",
        ),
        (
            url,
            (start, start + 30 * 86_400_000, "1s"),
            "use --step 3s or more",
        ),
        (url, (end, start, "10s"), "swap --start and --end"),
    ];
    for (prometheus, range, message) in cases {
        let output = export(prometheus, range, ("csv", "long"), &file);
        assert_eq!(output.status.code(), Some(1), "{message}");
        assert!(stderr(&output).contains(message), "{}", stderr(&output));
        assert!(files_in(&out).is_empty(), "{message}: {:?}", files_in(&out));
    }
    // A PromQL error: Prometheus' own message.
    let output = Promlab::new()
        .args([
            "export",
            "--prometheus-url",
            url,
            "--query",
            "rate(lab_temperature[5m",
        ])
        .args([
            "--start", "0", "--end", "60", "--step", "15s", "--format", "csv",
        ])
        .args(["-o", &file.display().to_string()])
        .output();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("parse error"),
        "{}",
        stderr(&output)
    );
    assert!(files_in(&out).is_empty());

    permission_denied_and_disk_full_leave_no_file(test, url, start, &out);
}

/// The writing faults: a folder the user may not write, and a full disk.
fn permission_denied_and_disk_full_leave_no_file(test: &str, url: &str, start: i64, out: &Path) {
    let file = out.join("x.csv");
    let end = start + 3_600_000;
    // Permission denied: a folder the user cannot write (as nobody; root writes anywhere).
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    if is_root && which("setpriv").is_ok() {
        let output = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_promlab"))
            .args([
                "export",
                "--prometheus-url",
                url,
                "--query",
                "lab_temperature",
            ])
            .args(["--start", &promlab::time::seconds_text(start)])
            .args(["--end", &promlab::time::seconds_text(end), "--step", "10s"])
            .args(["--format", "parquet", "-o", &file.display().to_string()])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        assert!(
            stderr(&output).contains("permission denied: write to a folder you own"),
            "{}",
            stderr(&output)
        );
        assert!(files_in(out).is_empty());
    } else {
        crate::support::skip(
            test,
            &Missing("permission denied needs root and setpriv".to_owned()),
        );
    }

    // Disk full: the binary in a container whose /out is a 16 KiB tmpfs.
    let reference = require!(test, image(PROMETHEUS_IMAGE));
    let script = format!(
        "promlab export --prometheus-url {url} --query '{{__name__=~\"lab_.*\"}}' --start {} --end {} --step 10s --format csv -o /out/x.csv; echo \"exit=$?\"; ls -A /out",
        promlab::time::seconds_text(start),
        promlab::time::seconds_text(start + 86_390_000)
    );
    let output = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--network",
            "host",
            "--tmpfs",
            "/out:size=16k",
        ])
        .arg("--volume")
        .arg(format!(
            "{}:/usr/local/bin/promlab:ro",
            env!("CARGO_BIN_EXE_promlab")
        ))
        .args(["--entrypoint", "sh", &reference, "-c", &script])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(said.trim(), "exit=1", "nothing left in /out: {said}");
    assert!(
        stderr(&output).contains("the disk is full"),
        "{}",
        stderr(&output)
    );
}

fn backup(
    url: &str,
    day: &str,
    what: &[&str],
    to: &str,
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut command =
        Promlab::new().args(["backup", "--prometheus-url", url, "--day", day, "--to", to]);
    for arg in what {
        command = command.args([*arg]);
    }
    for (key, value) in env {
        command = command.env(key, value);
    }
    command.output()
}

fn say(output: &std::process::Output) -> String {
    assert!(output.status.success(), "{}", stderr(output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The raw samples a Prometheus holds for the lab's series over the day.
async fn raw_day(url: &str, start: i64) -> Expected {
    let client = clients::Prometheus::new(url, None, Duration::from_secs(30)).unwrap();
    let series = client
        .raw_samples("{__name__=~\"lab_.*\"}[86400s]", start + 86_400_000 - 1)
        .await
        .unwrap();
    series
        .into_iter()
        .map(|one| {
            let item = promlab::series::Series {
                labels: one.labels,
                samples: one.samples,
            };
            (item.column_name(), item.samples)
        })
        .collect()
}

fn moto() -> Result<PathBuf, Missing> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/promlab-py/bin/moto_server");
    if venv.is_file() {
        Ok(venv)
    } else {
        which("moto_server")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_resumes_verifies_and_restores_into_a_new_prometheus_with_identical_samples() {
    let test =
        "a_backup_resumes_verifies_and_restores_into_a_new_prometheus_with_identical_samples";
    let (day, start) = test_day();
    let (openmetrics, expected) = history(start);
    let work = scratch("backup-source");
    let prometheus = require!(test, prometheus_with(&work, &openmetrics, start).await);
    let url = url(&prometheus);
    assert_samples("the source", &raw_day(&url, start).await, &expected);
    let dir = scratch("backup-dir");
    let to = dir.display().to_string();

    resume_verify_and_repair(&url, &day, start, &dir);
    // Restore, import with promtool into a NEW Prometheus: the very same samples.
    let restored = scratch("backup-restored");
    let om = restored.join("restored.om");
    let said = say(&Promlab::new()
        .args([
            "restore",
            "--from",
            &to,
            "--day",
            &day,
            "-o",
            &om.display().to_string(),
        ])
        .output());
    assert!(
        said.contains("3 series, 25920 samples from 48 chunks"),
        "{said}"
    );
    let restored_text = std::fs::read_to_string(&om).unwrap();
    assert!(restored_text.ends_with("# EOF\n"));
    let fresh = require!(
        test,
        prometheus_with(&restored, &restored_text, start).await
    );
    assert_samples(
        "the restored Prometheus",
        &raw_day(&format!("http://127.0.0.1:{}", fresh.port), start).await,
        &expected,
    );

    s3_backup_restores_the_same_file(test, &url, &day, &restored, &restored_text).await;
}

/// The same backup to S3 (moto, started here): the same restored file; a missing bucket named.
async fn s3_backup_restores_the_same_file(
    test: &str,
    url: &str,
    day: &str,
    restored: &Path,
    restored_text: &str,
) {
    // The same backup to S3 (moto, started here): the same restored file.
    let moto = require!(test, moto());
    let port = free_port();
    // Stopped when this test ends, whether it passes or fails.
    let _server = crate::support::Process(
        Command::new(moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server starts"),
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut created = false;
    for _ in 0..100 {
        if http
            .put(format!("{endpoint}/promlab-backups"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            created = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(created, "moto_server answers");
    let aws = [
        ("AWS_ACCESS_KEY_ID", "promlab"),
        ("AWS_SECRET_ACCESS_KEY", "promlab-secret"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
    ];
    let said = say(&backup(
        url,
        day,
        &["--all"],
        "s3://promlab-backups/lab",
        &aws,
    ));
    assert!(said.contains("48 chunks fetched"), "{said}");
    let from_s3 = restored.join("from-s3.om");
    let mut restore = Promlab::new().args([
        "restore",
        "--from",
        "s3://promlab-backups/lab",
        "--day",
        day,
        "-o",
        &from_s3.display().to_string(),
    ]);
    for (key, value) in aws {
        restore = restore.env(key, value);
    }
    say(&restore.output());
    assert_eq!(std::fs::read_to_string(&from_s3).unwrap(), restored_text);
    // A missing bucket: named, with the fix.
    let output = backup(url, day, &["--all"], "s3://no-such-bucket/lab", &aws);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("the bucket does not exist"),
        "{}",
        stderr(&output)
    );
}

/// A backup interrupted after one metric resumes; a damaged chunk fails verify and is fetched anew.
fn resume_verify_and_repair(url: &str, day: &str, start: i64, dir: &Path) {
    let to = dir.display().to_string();
    // A first run stops after one metric; the next, with a damaged chunk and no manifest (as after
    // a crash), keeps what is whole and fetches the rest.
    say(&backup(url, day, &["lab_temperature"], &to, &[]));
    let manifest = dir.join(day).join("manifest.json");
    std::fs::remove_file(&manifest).unwrap();
    let first_chunk = dir
        .join(day)
        .join("lab_temperature")
        .join(format!("{}.jsonl.zst", start / 1000));
    let bytes = std::fs::read(&first_chunk).unwrap();
    std::fs::write(&first_chunk, &bytes[..bytes.len() / 2]).unwrap();
    let said = say(&backup(url, day, &["--all"], &to, &[]));
    assert!(
        said.contains(
            "2 metrics, 25 chunks fetched, 23 already stored and verified, 25920 samples"
        ),
        "{said}"
    );
    assert!(manifest.is_file());
    let said = say(&Promlab::new()
        .args(["backup", "verify", "--from", &to, "--day", day])
        .output());
    assert!(
        said.contains("is intact: 48 chunks, 3 series, 25920 samples"),
        "{said}"
    );

    // A flipped byte: verify names the chunk and fails; a re-run fetches it anew.
    let chunk = dir
        .join(day)
        .join("lab_requests_total")
        .join(format!("{}.jsonl.zst", start / 1000 + 7200));
    let mut bytes = std::fs::read(&chunk).unwrap();
    bytes[10] ^= 0x01;
    std::fs::write(&chunk, &bytes).unwrap();
    let output = Promlab::new()
        .args(["backup", "verify", "--from", &to, "--day", day])
        .output();
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "lab_requests_total/{}.jsonl.zst: checksum",
            start / 1000 + 7200
        )),
        "{message}"
    );
    assert!(message.contains("run `promlab backup"), "{message}");
    let said = say(&backup(url, day, &["--all"], &to, &[]));
    assert!(
        said.contains("1 chunks fetched, 47 already stored"),
        "{said}"
    );
}
