//! Benchmark tool (bench/nab-stream.sh): the forecaster's streaming anomaly scores over NAB's whole corpus,
//! scored as NAB scores them (the three profiles, the threshold optimised per profile).
//!
//! Usage: `cargo run --release --example nab_stream -- NAB_DIR MODELS EVERY WINDOW MEMORY DETECTOR`,
//! e.g. `/work/shared/nab seasonal_naive,fourier 10 4000 1000 consensus`. Each file is streamed by
//! `promlab::forecast::stream::stream`: every EVERY rows, the models are fitted on the WINDOW rows
//! before and calibrated on their holdouts, and each of the next rows is scored in band half-widths.
//! DETECTOR picks the score, as the forecaster serves it: `auto` (the model with the best holdout
//! sMAPE, `predicted_values_auto_anomaly_score`) or `consensus` (the smallest of the models' scores
//! and the value's usual-range score against the WINDOW rows, `predicted_values_consensus_anomaly_score`). A score not above all of the MEMORY before it is damped
//! (`first_crossings`), and the result mapped to NAB's `[0, 1)`.

use std::path::Path;
use std::time::Instant;

use promlab::forecast::nab::{self, DetectorScores};
use promlab::forecast::stream::{StreamSettings, first_crossings, nab_anomaly_score, stream};
use promlab::forecast::{Model, ModelKind, ModelSettings, build, detect_season};

/// Which of the forecaster's scores is judged.
#[derive(Debug, Clone, Copy)]
enum Detector {
    Auto,
    Consensus,
}

/// One corpus file streamed: its key, its NAB anomaly scores, the refits following each model.
fn stream_file(
    dir: &Path,
    key: &str,
    kinds: &[ModelKind],
    every: usize,
    window: usize,
    memory: usize,
    detector: Detector,
) -> (String, DetectorScores, Vec<usize>) {
    let text = std::fs::read_to_string(dir.join("data").join(key))
        .or_else(|_| std::fs::read_to_string(dir.join(key)))
        .expect("a NAB data file");
    let csv = nab::parse_nab_csv(&text, &["value"]).expect("NAB CSV");
    let values = &csv.columns[0];
    let rows = values.len();
    let probation = nab::probationary_length(rows);
    // The season, detected on the probationary rows only (no peeking).
    let season = detect_season(&values[..probation.min(rows)]);
    let settings = ModelSettings {
        harmonics: 10,
        season: Some(season),
        step_seconds: 300.0,
    };
    let models: Vec<Box<dyn Model>> = kinds.iter().map(|kind| build(*kind, settings)).collect();
    let streamed = stream(
        values,
        &models,
        &StreamSettings {
            every,
            window,
            warmup: (probation / 2).max(64),
            level: 0.95,
            holdouts: 3,
            hysteresis: 0.1,
        },
    );
    let base = match detector {
        Detector::Auto => streamed.scores.clone(),
        Detector::Consensus => streamed.consensus_scores(),
    };
    let scores = DetectorScores {
        timestamps: csv.timestamps.clone(),
        anomaly_scores: first_crossings(&base, memory)
            .iter()
            .map(|score| nab_anomaly_score(*score))
            .collect(),
    };
    (key.to_owned(), scores, streamed.followed)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, models, every, window, memory, detector] = args.as_slice() else {
        return Err("usage: nab_stream NAB_DIR MODELS EVERY WINDOW MEMORY auto|consensus".into());
    };
    let detector = match detector.as_str() {
        "auto" => Detector::Auto,
        "consensus" => Detector::Consensus,
        other => return Err(format!("{other:?} is no detector: auto or consensus").into()),
    };
    let memory: usize = memory.parse()?;
    let dir = Path::new(dir);
    let kinds: Vec<ModelKind> = models
        .split(',')
        .map(serde_yaml_ng::from_str)
        .collect::<Result<_, _>>()?;
    let every: usize = every.parse()?;
    let window: usize = window.parse()?;
    let windows_text = std::fs::read_to_string(dir.join("labels/combined_windows.json"))
        .or_else(|_| std::fs::read_to_string(dir.join("combined_windows.json")))?;
    let windows = nab::CorpusWindows::from_json(&windows_text)?;
    let keys: Vec<String> = windows.iter().map(|(key, _)| key.to_owned()).collect();
    let started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let share = keys.len().div_ceil(threads);
    let results: Vec<(String, DetectorScores, Vec<usize>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = keys
            .chunks(share)
            .map(|chunk| {
                let kinds = &kinds;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|key| stream_file(dir, key, kinds, every, window, memory, detector))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a worker"))
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let files: Vec<_> = results
        .iter()
        .map(|(key, scores, _)| scores.with_windows(windows.get(key).expect("windows")))
        .collect();
    let rows: usize = results.iter().map(|(_, s, _)| s.timestamps.len()).sum();
    println!(
        "promlab streaming ({detector:?} score of {models}; refit every {every} rows on the last {window}; first crossings over {memory} rows), {} files, {rows} rows, {seconds:.1} s\n",
        files.len()
    );
    println!(
        "| profile | threshold | normalised score | TP | FP | FN |\n|---|---|---|---|---|---|"
    );
    for profile in &nab::Profile::ALL {
        let best = nab::optimise_threshold(&files, profile)?;
        let score = nab::score_benchmark(&files, profile, best.threshold)?;
        println!(
            "| {} | {:.4} | {:.2} | {} | {} | {} |",
            profile.name,
            score.threshold,
            score.normalised,
            score.raw.tp,
            score.raw.fp,
            score.raw.fn_
        );
    }
    let mut followed = vec![0; kinds.len()];
    for (_, _, counts) in &results {
        for (total, count) in followed.iter_mut().zip(counts) {
            *total += count;
        }
    }
    let followed: Vec<String> = kinds
        .iter()
        .zip(&followed)
        .map(|(kind, count)| format!("{} {count}", kind.name()))
        .collect();
    println!("\nrefits following each model: {}", followed.join(", "));
    Ok(())
}
