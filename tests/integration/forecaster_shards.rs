//! `promlab forecast --shard I/N`: replicas against one real Prometheus share its series, each forecast
//! exactly once, and a fourth replica takes about a quarter of them, the rest staying where they were.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;

use crate::require;
use crate::support::binary::{Promlab, Serving};
use crate::support::containers::Prometheus;
use crate::support::{free_port, get_text};

/// How many series the exporter serves.
const SERIES: usize = 240;

/// `shard_value{series="sNNN"}` for every series, each value moving with time.
async fn exporter() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let address = listener.local_addr().expect("a bound address");
    let router = Router::new().route(
        "/metrics",
        get(|| async {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("a clock after 1970")
                .as_secs_f64();
            let mut body = String::from("# TYPE shard_value gauge\n");
            for i in 0..SERIES {
                let value = (now / 10.0 + i as f64).sin();
                let _ = writeln!(body, "shard_value{{series=\"s{i:03}\"}} {value}");
            }
            ([(CONTENT_TYPE, "text/plain; version=0.0.4")], body)
        }),
    );
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("the exporter serves");
    });
    (address, task)
}

/// The `series` label of every prediction a replica serves, and its reported shard.
async fn forecast_by(replica: &Serving) -> (BTreeSet<String>, String) {
    let metrics = get_text(&replica.url("/metrics")).await;
    let series = metrics
        .lines()
        .filter(|line| line.starts_with("predicted_values_seasonal_naive{"))
        .filter_map(|line| line.split("series=\"").nth(1)?.split('"').next())
        .map(str::to_owned)
        .collect();
    let value = |name: &str| {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .and_then(|value| value.parse::<f64>().ok())
            .map_or_else(|| "absent".to_owned(), |value| value.to_string())
    };
    let shard = format!(
        "{}/{}",
        value("forecaster_shard"),
        value("forecaster_shards")
    );
    (series, shard)
}

/// Waits until the replicas together forecast every series, and returns each one's share.
async fn shares(replicas: &[Serving], what: &str) -> Vec<BTreeSet<String>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let mut shares = Vec::new();
        for replica in replicas {
            shares.push(forecast_by(replica).await.0);
        }
        let total: usize = shares.iter().map(BTreeSet::len).sum();
        if total >= SERIES {
            return shares;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {total} of {SERIES} series forecast after 90 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn start(config: &std::path::Path, prometheus: u16, shard: &[(&str, &str)]) -> Serving {
    let mut command = Promlab::new()
        .args(["forecast", "--listen", "127.0.0.1:0"])
        .args_slice(&["--config", &config.display().to_string()])
        .args_slice(&[
            "--prometheus-url",
            &format!("http://127.0.0.1:{prometheus}"),
        ]);
    for (key, value) in shard {
        command = command.env(key, value);
    }
    command.serve()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_forecast_each_series_once_and_a_new_one_moves_only_its_share() {
    let test = "replicas_forecast_each_series_once_and_a_new_one_moves_only_its_share";
    let (exporter, _serving) = exporter().await;
    let port = free_port();
    let scrape = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n\
         \x20 - job_name: shards\n    static_configs: [{{targets: ['{exporter}']}}]\n"
    );
    let prometheus = require!(test, Prometheus::start_with(port, &scrape, &[]).await);
    prometheus
        .wait_for("shard_value", Duration::from_secs(30), |result| {
            result.len() == SERIES
        })
        .await;
    let config = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("forecaster-shards.yaml");
    std::fs::write(
        &config,
        format!(
            "targets: [{{query: shard_value}}]\nstep: 1s\ntraining_window: 1m\nretrain_interval: 2s\n\
             horizon: 10s\nmin_points: 10\nmax_series: {SERIES}\nmodels: [seasonal_naive]\n"
        ),
    )
    .unwrap();

    // Three replicas: two told their shard, one finding it as a StatefulSet's pod does.
    let three = vec![
        start(&config, port, &[("PROMLAB_SHARD", "0/3")]),
        start(&config, port, &[("PROMLAB_SHARD", "1/3")]),
        start(
            &config,
            port,
            &[
                ("PROMLAB_SHARDS", "3"),
                ("PROMLAB_POD_NAME", "forecaster-2"),
            ],
        ),
    ];
    let by_three = shares(&three, "three replicas").await;
    for (index, replica) in three.iter().enumerate() {
        assert_eq!(forecast_by(replica).await.1, format!("{index}/3"));
    }
    let mut once: BTreeMap<&String, usize> = BTreeMap::new();
    for share in &by_three {
        for series in share {
            *once.entry(series).or_default() += 1;
        }
    }
    assert_eq!(once.len(), SERIES, "every series forecast");
    assert!(once.values().all(|&count| count == 1), "each exactly once");
    for share in &by_three {
        assert!(
            share.len() > SERIES / 6 && share.len() < SERIES / 2,
            "a fair share: {}",
            share.len()
        );
    }
    drop(three);

    // Four: only the new replica's share moves, about a quarter.
    let four: Vec<Serving> = (0..4)
        .map(|index| start(&config, port, &[("PROMLAB_SHARD", &format!("{index}/4"))]))
        .collect();
    let by_four = shares(&four, "four replicas").await;
    assert_eq!(by_four.iter().map(BTreeSet::len).sum::<usize>(), SERIES);
    for (before, after) in by_three.iter().zip(&by_four) {
        assert!(
            after.is_subset(before),
            "an old replica took a series it did not have"
        );
    }
    let moved = by_four[3].len() as f64 / SERIES as f64;
    assert!(
        (moved - 0.25).abs() < 0.08,
        "{:.0} % moved to the new replica, not about a quarter",
        moved * 100.0
    );
}
