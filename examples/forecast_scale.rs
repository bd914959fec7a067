//! Benchmark tool (`bench/forecast-scale.sh`): promlab's models fitted on many series, for the comparison
//! with statsforecast on the same series and the same split (`bench/forecast_scale_python.py`).
//!
//! Usage: `forecast_scale SERIES_CSV MODELS HORIZON SEASON`, e.g. `series.csv
//! seasonal_naive,fourier,ets 60 60`. The CSV is statsforecast's long form (`unique_id,ds,y`, each
//! series' rows together and in time order). Each model is fitted on every series but its last HORIZON
//! points, on all cores (one series per task, as the forecaster's pool does), and forecasts HORIZON
//! steps; its wall time and its mean sMAPE on the held-out points are printed as one JSON line per model.
//! SEASON (in steps) is given to the models, as `season:` in the forecaster's config gives it.

use std::time::Instant;

use promlab::forecast::{ModelKind, ModelSettings, build, smape};
use rayon::prelude::*;

/// The series of the CSV, in file order.
fn read_series(path: &str) -> Result<Vec<Vec<f64>>, Box<dyn std::error::Error>> {
    let mut reader = csv::Reader::from_path(path)?;
    let mut series: Vec<Vec<f64>> = Vec::new();
    let mut current: Option<String> = None;
    for record in reader.records() {
        let record = record?;
        let (Some(id), Some(value)) = (record.get(0), record.get(2)) else {
            return Err(format!("{path}: a row lacks unique_id or y").into());
        };
        if current.as_deref() != Some(id) {
            current = Some(id.to_owned());
            series.push(Vec::new());
        }
        series
            .last_mut()
            .expect("pushed above")
            .push(value.parse()?);
    }
    Ok(series)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, models, horizon, season] = args.as_slice() else {
        return Err("usage: forecast_scale SERIES_CSV MODELS HORIZON SEASON".into());
    };
    let horizon: usize = horizon.parse()?;
    let settings = ModelSettings {
        harmonics: 10,
        season: Some(season.parse()?),
        step_seconds: 60.0,
    };
    let kinds: Vec<ModelKind> = models
        .split(',')
        .map(serde_yaml_ng::from_str)
        .collect::<Result<_, _>>()?;
    let series = read_series(path)?;
    for kind in kinds {
        let started = Instant::now();
        let scores: Vec<Option<f64>> = series
            .par_iter()
            .map_init(
                || build(kind, settings),
                |model, values| {
                    let (train, test) = values.split_at(values.len().checked_sub(horizon)?);
                    let forecast = model.forecast(train, horizon, 0.95).ok()?;
                    Some(smape(test, &forecast.point))
                },
            )
            .collect();
        let seconds = started.elapsed().as_secs_f64();
        let fitted: Vec<f64> = scores.into_iter().flatten().collect();
        let mean = fitted.iter().sum::<f64>() / fitted.len().max(1) as f64;
        println!(
            "{{\"tool\": \"promlab\", \"model\": \"{}\", \"series\": {}, \"failed\": {}, \"seconds\": {seconds:.3}, \"smape\": {mean:.4}}}",
            kind.name(),
            series.len(),
            series.len() - fitted.len()
        );
    }
    Ok(())
}
