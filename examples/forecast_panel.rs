//! Benchmark tool (bench/forecast-panel.sh): every model, and `auto`, streamed over a panel of series of
//! different shapes (trend and season, two seasons, a level shift, a counter's rate, noise only, and NAB's
//! real series), as the forecaster would run on them: refit every EVERY steps on the last WINDOW,
//! bands calibrated on 3 rolling holdouts. Per series and model: sMAPE against seasonal-naive's, the 95 %
//! band's coverage, the fit time per refit (holdouts included), and the share of points outside the
//! labelled windows scored above 1.5 band half-widths (the alert's threshold).
//!
//! Usage: `cargo run --release --example forecast_panel -- NAB_DIR EVERY WINDOW` (`NAB_DIR` may not
//! exist: its series are then left out, and said so).

use std::path::Path;

use promlab::forecast::nab;
use promlab::forecast::stream::{StreamSettings, Streamed, stream};
use promlab::forecast::{Model, ModelKind, ModelSettings, build, detect_season, smape};
use rand::{Rng as _, SeedableRng as _};

/// A series of the panel: name, values, labelled windows (index ranges), step seconds.
struct Series {
    name: String,
    values: Vec<f64>,
    windows: Vec<(usize, usize)>,
}

fn gaussian(rng: &mut rand::rngs::StdRng) -> f64 {
    let (u, v): (f64, f64) = (rng.random(), rng.random());
    (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn synthetic() -> Vec<Series> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    let wave = |t: usize, period: f64| (std::f64::consts::TAU * t as f64 / period).sin();
    let n = 2_016;
    let mut make = |name: &str, f: &dyn Fn(usize, f64) -> f64, windows: Vec<(usize, usize)>| {
        let values = (0..n).map(|t| f(t, gaussian(&mut rng))).collect();
        Series {
            name: name.to_owned(),
            values,
            windows,
        }
    };
    vec![
        make(
            "trend + season (48)",
            &|t, e| 100.0 + 0.02 * t as f64 + 10.0 * wave(t, 48.0) + e,
            vec![],
        ),
        make(
            "two seasons (24, 168)",
            &|t, e| 50.0 + 8.0 * wave(t, 24.0) + 4.0 * wave(t, 168.0) + e,
            vec![],
        ),
        make(
            "level shift at 1,500",
            &|t, e| 20.0 + 5.0 * wave(t, 48.0) + e + if t >= 1_500 { 10.0 } else { 0.0 },
            vec![(1_500, 1_548)],
        ),
        make(
            "counter rate (season 96)",
            &|t, e| {
                let lambda = 200.0 + 100.0 * wave(t, 96.0);
                (lambda + lambda.sqrt() * e).max(0.0)
            },
            vec![],
        ),
        make("noise only", &|_, e| 5.0 + e, vec![]),
    ]
}

fn nab_series(dir: &Path) -> Vec<Series> {
    let Ok(text) = std::fs::read_to_string(dir.join("combined_windows.json")) else {
        println!(
            "NAB corpus not found at {}: its series are left out.\n",
            dir.display()
        );
        return vec![];
    };
    let windows = nab::CorpusWindows::from_json(&text).expect("NAB windows");
    [
        "realKnownCause/nyc_taxi.csv",
        "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv",
        "realKnownCause/ambient_temperature_system_failure.csv",
    ]
    .iter()
    .map(|key| {
        let text = std::fs::read_to_string(dir.join(key)).expect("a NAB file");
        let csv = nab::parse_nab_csv(&text, &["value"]).expect("NAB CSV");
        let index = |at: i64| csv.timestamps.partition_point(|t| *t < at);
        Series {
            name: format!("NAB {key}"),
            windows: windows
                .get(key)
                .expect("windows")
                .iter()
                .map(|w| (index(w.start), index(w.end)))
                .collect(),
            values: csv.columns[0].clone(),
        }
    })
    .collect()
}

/// sMAPE, coverage, flag rate outside the windows, and fit ms per refit of one streamed run.
fn measure(series: &Series, streamed: &Streamed, refits: usize) -> (f64, f64, f64, f64) {
    let scored: Vec<usize> = (0..series.values.len())
        .filter(|t| streamed.inside[*t].is_some())
        .collect();
    let actual: Vec<f64> = scored.iter().map(|t| series.values[*t]).collect();
    let points: Vec<f64> = scored.iter().map(|t| streamed.points[*t]).collect();
    let inside = scored
        .iter()
        .filter(|t| streamed.inside[**t] == Some(true))
        .count();
    let outside_windows: Vec<usize> = scored
        .iter()
        .copied()
        .filter(|t| !series.windows.iter().any(|(a, b)| a <= t && t <= b))
        .collect();
    let flags = outside_windows
        .iter()
        .filter(|t| streamed.scores[**t] > 1.5)
        .count();
    (
        smape(&actual, &points),
        inside as f64 / scored.len().max(1) as f64,
        flags as f64 / outside_windows.len().max(1) as f64,
        1000.0 * streamed.fit_seconds / refits.max(1) as f64,
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, every, window] = args.as_slice() else {
        return Err("usage: forecast_panel NAB_DIR EVERY WINDOW".into());
    };
    let every: usize = every.parse()?;
    let window: usize = window.parse()?;
    let kinds = [
        ModelKind::SeasonalNaive,
        ModelKind::Fourier,
        ModelKind::Ets,
        ModelKind::Mstl,
        ModelKind::Arima,
    ];
    let mut panel = synthetic();
    panel.extend(nab_series(Path::new(dir)));
    println!(
        "| series | model | sMAPE % | vs seasonal-naive | 95 % coverage | fit ms per refit | flags > 1.5 outside windows |\n|---|---|---|---|---|---|---|"
    );
    for series in &panel {
        let season = detect_season(&series.values[..window.min(series.values.len())]);
        let model_settings = ModelSettings {
            harmonics: 10,
            season: Some(season),
            step_seconds: 60.0,
        };
        let settings = StreamSettings {
            every,
            window,
            warmup: window,
            level: 0.95,
            holdouts: 3,
            hysteresis: 0.1,
        };
        let refits = (series.values.len().saturating_sub(window)).div_ceil(every);
        let mut rows = Vec::new();
        let mut baseline = f64::NAN;
        for kind in kinds {
            let models: Vec<Box<dyn Model>> = vec![build(kind, model_settings)];
            let streamed = stream(&series.values, &models, &settings);
            let (error, coverage, flags, ms) = measure(series, &streamed, refits);
            if kind == ModelKind::SeasonalNaive {
                baseline = error;
            }
            rows.push((kind.name().to_owned(), error, coverage, flags, ms));
        }
        let models: Vec<Box<dyn Model>> = kinds
            .iter()
            .map(|kind| build(*kind, model_settings))
            .collect();
        let streamed = stream(&series.values, &models, &settings);
        let (error, coverage, flags, ms) = measure(series, &streamed, refits);
        let followed: Vec<String> = kinds
            .iter()
            .zip(&streamed.followed)
            .filter(|(_, count)| **count > 0)
            .map(|(kind, count)| format!("{} {count}", kind.name()))
            .collect();
        rows.push((
            format!("auto (followed: {})", followed.join(", ")),
            error,
            coverage,
            flags,
            ms,
        ));
        for (name, error, coverage, flags, ms) in rows {
            println!(
                "| {} (season {season}) | {name} | {error:.2} | {:.2}× | {:.1} % | {ms:.2} | {:.2} % |",
                series.name,
                error / baseline,
                100.0 * coverage,
                100.0 * flags
            );
        }
    }
    Ok(())
}
