//! Streaming anomaly scoring, as the live forecaster scores: every `every` steps the models are fitted on
//! the `window` points before that origin only, their bands calibrated on rolling holdouts of that same
//! past ([`calibrate`]), the forecast to follow chosen among them as `predicted_values_auto` chooses
//! ([`choose`], with hysteresis), and each of the next `every` actual values is scored by how many band
//! half-widths it lies from that forecast ([`band_widths`]). No point is judged on anything after it.

use crate::forecast::models::{Model, UsualRange, band_widths, calibrate, consensus};
use crate::forecast::select::choose;

/// How a series is streamed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamSettings {
    /// Steps between refits (each refit forecasts this many steps).
    pub every: usize,
    /// Points of history each fit sees, at most.
    pub window: usize,
    /// Points before the first score (fewer leave the first points unscored, at 0).
    pub warmup: usize,
    pub level: f64,
    pub holdouts: usize,
    pub hysteresis: f64,
}

/// What streaming a series gave: each point's score (band half-widths from the forecast followed; 0
/// before the warm-up or where no model forecast), and how often each model was followed.
#[derive(Debug, Clone, PartialEq)]
pub struct Streamed {
    pub scores: Vec<f64>,
    /// Per model (in `models`' order): the refits at which the forecast followed was that model's.
    pub followed: Vec<usize>,
    /// Whether each point lay inside the band it was judged by (`None` before the warm-up).
    pub inside: Vec<Option<bool>>,
    /// The forecast each point was judged by (NaN before the warm-up).
    pub points: Vec<f64>,
    /// Per model (in `models`' order): each point's score under that model's own forecast (NaN where
    /// it gave none).
    pub model_scores: Vec<Vec<f64>>,
    /// Each point's [`UsualRange::score`] against the history its refit saw (NaN before the warm-up).
    pub usual_scores: Vec<f64>,
    /// Seconds spent fitting (holdouts and calibration included).
    pub fit_seconds: f64,
}

/// Streams `values` through `models` (see the module).
#[must_use]
pub fn stream(values: &[f64], models: &[Box<dyn Model>], settings: &StreamSettings) -> Streamed {
    let n = values.len();
    let mut streamed = Streamed {
        scores: vec![0.0; n],
        followed: vec![0; models.len()],
        inside: vec![None; n],
        points: vec![f64::NAN; n],
        model_scores: vec![vec![f64::NAN; n]; models.len()],
        usual_scores: vec![f64::NAN; n],
        fit_seconds: 0.0,
    };
    let every = settings.every.max(1);
    let mut followed: Option<&'static str> = None;
    let mut origin = settings.warmup.max(8);
    while origin < n {
        let history = &values[origin.saturating_sub(settings.window)..origin];
        let steps = every.min(n - origin);
        let started = std::time::Instant::now();
        let fitted: Vec<_> = models
            .iter()
            .map(|model| {
                calibrate(
                    model.as_ref(),
                    history,
                    steps,
                    settings.level,
                    settings.holdouts,
                    8,
                    |model: &dyn Model, history: &[f64], horizon: usize, level: f64| {
                        model.forecast(history, horizon, level)
                    },
                )
                .ok()
            })
            .collect();
        streamed.fit_seconds += started.elapsed().as_secs_f64();
        if let Some(usual) = UsualRange::of(history) {
            for h in 0..steps {
                streamed.usual_scores[origin + h] = usual.score(values[origin + h]);
            }
        }
        let candidates: Vec<(&'static str, Option<f64>)> = models
            .iter()
            .zip(&fitted)
            .filter_map(|(model, fit)| fit.as_ref().map(|fit| (model.name(), fit.holdout_smape)))
            .collect();
        for (scores, fit) in streamed.model_scores.iter_mut().zip(&fitted) {
            if let Some(fit) = fit {
                let f = &fit.forecast;
                for h in 0..steps {
                    scores[origin + h] =
                        band_widths(values[origin + h], f.point[h], f.lower[h], f.upper[h]);
                }
            }
        }
        followed = choose(followed, &candidates, settings.hysteresis);
        let chosen = models
            .iter()
            .position(|model| Some(model.name()) == followed);
        if let Some(index) = chosen
            && let Some(fit) = &fitted[index]
        {
            streamed.followed[index] += 1;
            let f = &fit.forecast;
            for h in 0..steps {
                let actual = values[origin + h];
                streamed.scores[origin + h] =
                    band_widths(actual, f.point[h], f.lower[h], f.upper[h]);
                streamed.inside[origin + h] = Some(f.lower[h] <= actual && actual <= f.upper[h]);
                streamed.points[origin + h] = f.point[h];
            }
        }
        origin += steps;
    }
    streamed
}

impl Streamed {
    /// Each point's consensus score ([`consensus`]: the smallest of the models' scores and its usual
    /// range's), as `predicted_values_consensus_anomaly_score` serves it; 0 where no model forecast.
    #[must_use]
    pub fn consensus_scores(&self) -> Vec<f64> {
        (0..self.scores.len())
            .map(|t| {
                let scored = self.model_scores.iter().map(|scores| scores[t]);
                consensus(scored.filter(|score| !score.is_nan())).map_or(0.0, |models| {
                    consensus(
                        [models, self.usual_scores[t]]
                            .into_iter()
                            .filter(|s| !s.is_nan()),
                    )
                    .unwrap_or(models)
                })
            })
            .collect()
    }
}

/// The scores with every point that does not exceed all of the `memory` points before it damped to a
/// hundredth: for any threshold, the first crossing after `memory` calm points keeps its score, and a
/// departure that stays high is reported once, not at every point (NAB counts each point above the
/// threshold outside a window as a false positive, and only the first inside one as a detection).
#[must_use]
pub fn first_crossings(scores: &[f64], memory: usize) -> Vec<f64> {
    scores
        .iter()
        .enumerate()
        .map(|(t, score)| {
            let before = &scores[t.saturating_sub(memory)..t];
            if before.iter().all(|earlier| score > earlier) {
                *score
            } else {
                score / 100.0
            }
        })
        .collect()
}

/// A score in band half-widths as NAB's anomaly score in `[0, 1)`: `s / (1 + s)`, monotone, so NAB's
/// threshold optimiser sees the same order (1 half-width, the band's edge, is 0.5).
#[must_use]
pub fn nab_anomaly_score(band_widths: f64) -> f64 {
    band_widths / (1.0 + band_widths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::models::{ModelKind, ModelSettings, build};
    use rand::{Rng as _, SeedableRng as _};

    fn normal(seed: u64, n: usize) -> Vec<f64> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n)
            .map(|t| {
                let (u, v): (f64, f64) = (rng.random(), rng.random());
                let z = (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos();
                50.0 + 10.0 * (std::f64::consts::TAU * t as f64 / 48.0).sin() + z
            })
            .collect()
    }

    fn models() -> Vec<Box<dyn Model>> {
        let settings = ModelSettings {
            harmonics: 5,
            season: None,
            step_seconds: 60.0,
        };
        [ModelKind::SeasonalNaive, ModelKind::Fourier]
            .into_iter()
            .map(|kind| build(kind, settings))
            .collect()
    }

    /// The consensus takes the least unusual of the models and the usual range, skips what is missing,
    /// and is 0 where no model forecast (as the served score is absent there).
    #[test]
    fn the_streamed_consensus_joins_the_models_and_the_usual_range() {
        let streamed = Streamed {
            scores: vec![0.0; 4],
            followed: vec![0, 0],
            inside: vec![None; 4],
            points: vec![f64::NAN; 4],
            model_scores: vec![
                vec![3.0, f64::NAN, 2.0, 4.0],
                vec![4.0, f64::NAN, 0.5, f64::NAN],
            ],
            usual_scores: vec![0.7, 5.0, f64::NAN, 6.0],
            fit_seconds: 0.0,
        };
        assert_eq!(streamed.consensus_scores(), [0.7, 0.0, 0.5, 4.0]);
    }

    const SETTINGS: StreamSettings = StreamSettings {
        every: 12,
        window: 480,
        warmup: 240,
        level: 0.95,
        holdouts: 3,
        hysteresis: 0.1,
    };

    /// The scored flag on normal data stays near its nominal rate (5 % outside the 95 % band, far fewer
    /// 1.5 half-widths away), and an injected level shift of 6 sigma is scored far above the threshold.
    #[test]
    fn the_scored_flag_stays_low_on_normal_data_and_rises_on_a_shift() {
        let (mut outside, mut significant, mut total) = (0_usize, 0_usize, 0_usize);
        for seed in 0..8 {
            let values = normal(seed, 1_200);
            let streamed = stream(&values, &models(), &SETTINGS);
            for (score, inside) in streamed.scores.iter().zip(&streamed.inside) {
                if let Some(inside) = inside {
                    total += 1;
                    outside += usize::from(!inside);
                    significant += usize::from(*score > 1.5);
                }
            }
        }
        let outside = outside as f64 / total as f64;
        let significant = significant as f64 / total as f64;
        assert!(
            (0.02..=0.09).contains(&outside),
            "outside the 95 % band: {outside:.4}"
        );
        assert!(
            significant < 0.01,
            "above 1.5 half-widths: {significant:.4}"
        );

        let mut shifted = normal(99, 1_200);
        for value in &mut shifted[1_000..] {
            *value += 6.0;
        }
        let streamed = stream(&shifted, &models(), &SETTINGS);
        // Judged by the forecast made before it (the refit at 996), every step of the shift is scored far
        // out; the refit that has seen it recalibrates on it (the shift is in its last holdout).
        let after: Vec<f64> = streamed.scores[1_000..1_008].to_vec();
        assert!(
            after.iter().all(|score| *score > 1.5),
            "the steps after the shift: {after:?}"
        );
        assert!((nab_anomaly_score(1.0) - 0.5).abs() < 1e-12);
        assert_eq!(
            first_crossings(&[1.0, 5.0, 6.0, 4.0, 7.0], 2),
            [1.0, 5.0, 6.0, 0.04, 7.0]
        );
    }
}
