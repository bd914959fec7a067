//! Calibrated bands for every model: split-conformal prediction on rolling holdouts of the series itself.
//!
//! A model's own band rests on its assumptions (Gaussian, independent errors, the right model), which real
//! series break: issue 15 measured a nominal 95 % band covering 31 % of what followed. So the band is
//! resized from out-of-sample errors:
//!
//! 1. **Rolling holdouts.** At `holdouts` origins a holdout length `L` apart at the end of the history
//!    (`n - L`, `n - 2L`, …), the model is fitted on the history before the origin only and forecasts the
//!    `L` steps after it. `L` is the horizon, shortened on a short history so that the earliest origin
//!    keeps at least half of it.
//! 2. **Normalised nonconformity scores** (Lei et al. 2018, "Distribution-free predictive inference for
//!    regression", §5.2, locally weighted conformal): each held-out actual scores
//!    `|actual - point| / half-width`, the half-width being the model's own at that step. The model's band
//!    keeps its shape (wider further ahead, wider on a busier season); conformal fixes its size.
//! 3. **The conformal quantile.** With `m` scores, `q` is the `ceil((m + 1) * level)`-th smallest: under
//!    exchangeable errors, the band `point ± q * half-width` covers a new actual with probability at
//!    least `level` (and at most `level + 1/(m + 1)` for continuous scores). Fewer than
//!    `ceil(level / (1 - level))` scores (19 at 95 %) cannot give a finite quantile: the band stays the
//!    model's own and says it is uncalibrated.
//! 4. **Coverage measured out of sample.** Each holdout's coverage is judged with the quantile of the
//!    other holdouts' scores only (leave one holdout out); the mean over the holdouts is exported as the
//!    coverage the band achieves, next to the nominal level.
//!
//! Cost: one extra fit per holdout, per model and series.

use super::model::{Forecast, Model};
use super::stats::{mean, smape, variance};

/// A model's forecast with a conformal band, and what its holdouts said.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibrated {
    /// The forecast from the whole history, with the calibrated band (the model's own when uncalibrated).
    pub forecast: Forecast,
    /// Mean sMAPE (percent) of the holdout forecasts; `None` without a holdout.
    pub holdout_smape: Option<f64>,
    /// The out-of-sample coverage of the calibrated band over the holdouts (0 to 1), each holdout judged
    /// by the others' quantile; `None` with fewer than two holdouts or too few scores.
    pub coverage: Option<f64>,
    /// `q`: the factor the model's own half-widths were multiplied by (above 1: its own band was too
    /// narrow); `None` when the band could not be calibrated.
    pub factor: Option<f64>,
}

/// How a forecast's band is checked and scored: the same here, in the trainer's anomaly flag and in the
/// backtests. The half-width of a step, never below a tiny floor (a zero-width band divides nothing).
#[must_use]
pub fn half_width(point: f64, lower: f64, upper: f64) -> f64 {
    let floor = 1e-12 * point.abs().max(1.0);
    ((upper - lower) / 2.0).max(floor)
}

/// How many band half-widths `actual` lies from `point`: 1 is the band's edge, above 1 outside it. The
/// forecaster's anomaly score.
#[must_use]
pub fn band_widths(actual: f64, point: f64, lower: f64, upper: f64) -> f64 {
    (actual - point).abs() / half_width(point, lower, upper)
}

/// The consensus of several anomaly scores of one actual value (the models' [`band_widths`], and its
/// [`UsualRange::score`]): the smallest, the score of the judge that finds it least unusual. Above 1,
/// the value lies outside every model's band and outside its series' usual range, so neither one badly
/// calibrated model nor a forecast that merely missed a wiggle can raise it alone. `None` without any
/// score.
#[must_use]
pub fn consensus(scores: impl IntoIterator<Item = f64>) -> Option<f64> {
    scores.into_iter().reduce(f64::min)
}

/// A series' usual range: the mean and standard deviation of the history the models were fitted on.
///
/// A forecast band is sized on the last few holdouts, so it is as narrow as the series was lately: a
/// value the models did not foresee can lie outside every band and still be one the series often
/// takes. The usual range is the long view, NAB's `windowedGaussian` baseline: how many standard
/// deviations the value lies from the history's mean, in units of [`UsualRange::SIGMAS`]. Joined to the
/// models' scores by [`consensus`], it keeps an alert for values outside both what was forecast and
/// what the series does (on NAB's corpus, it raised the consensus from 36.2 to 48.8; BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsualRange {
    pub mean: f64,
    pub sd: f64,
}

impl UsualRange {
    /// Standard deviations from the mean at which a value leaves the usual range (its score is 1).
    pub const SIGMAS: f64 = 3.0;

    /// The usual range of `history`; `None` with fewer than two points or a point not finite.
    #[must_use]
    pub fn of(history: &[f64]) -> Option<Self> {
        if history.len() < 2 || history.iter().any(|v| !v.is_finite()) {
            return None;
        }
        Some(Self {
            mean: mean(history),
            sd: variance(history).sqrt(),
        })
    }

    /// How far `actual` lies from the mean in [`Self::SIGMAS`] standard deviations: 1 is the edge of
    /// the usual range. A series that never moved (no spread) scores any change far out, as a band of
    /// no width does ([`half_width`]'s floor).
    #[must_use]
    pub fn score(&self, actual: f64) -> f64 {
        let floor = 1e-12 * self.mean.abs().max(1.0);
        (actual - self.mean).abs() / (Self::SIGMAS * self.sd).max(floor)
    }
}

/// The split-conformal quantile of `scores` at `level`: the `ceil((m + 1) level)`-th smallest of the `m`
/// scores; `None` when there are too few for it to be finite.
#[must_use]
pub fn conformal_quantile(scores: &[f64], level: f64) -> Option<f64> {
    let m = scores.len();
    let needed = (m as f64 + 1.0) * level;
    let rank = (1..=m).find(|k| *k as f64 >= needed)?;
    let mut sorted = scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(sorted[rank - 1])
}

/// The scores of one holdout: each actual's distance from the point in the model's own half-widths.
fn scores(actual: &[f64], forecast: &Forecast) -> Vec<f64> {
    actual
        .iter()
        .enumerate()
        .map(|(h, a)| band_widths(*a, forecast.point[h], forecast.lower[h], forecast.upper[h]))
        .collect()
}

/// The holdout length for `holdouts` origins on `n` points and a `horizon`: the horizon, shortened so
/// that the earliest origin keeps at least half the history, and at least `min_train` points.
#[must_use]
pub(super) fn holdout_length(n: usize, horizon: usize, holdouts: usize, min_train: usize) -> usize {
    if holdouts == 0 {
        return 0;
    }
    let fit = horizon.min(n / (2 * holdouts));
    if n.saturating_sub(holdouts * fit) < min_train {
        n.saturating_sub(min_train) / holdouts
    } else {
        fit
    }
}

/// Fits `model` on `history` for `horizon` steps with a conformal `level` band sized on `holdouts` rolling
/// holdouts (see the module). `fit` is how each fit is run (the trainer catches panics there). The whole
/// history's fit failing is the error; a holdout failing only leaves it out.
pub fn calibrate<E>(
    model: &dyn Model,
    history: &[f64],
    horizon: usize,
    level: f64,
    holdouts: usize,
    min_train: usize,
    fit: impl Fn(&dyn Model, &[f64], usize, f64) -> Result<Forecast, E>,
) -> Result<Calibrated, E> {
    let n = history.len();
    let length = holdout_length(n, horizon, holdouts, min_train);
    let mut per_holdout: Vec<Vec<f64>> = Vec::new();
    let mut smapes = Vec::new();
    if length > 0 {
        for k in 1..=holdouts {
            let origin = n - k * length;
            if let Ok(forecast) = fit(model, &history[..origin], length, level) {
                let actual = &history[origin..origin + length];
                smapes.push(smape(actual, &forecast.point));
                per_holdout.push(scores(actual, &forecast));
            }
        }
    }
    let mut forecast = fit(model, history, horizon, level)?;
    let all: Vec<f64> = per_holdout.iter().flatten().copied().collect();
    let factor = conformal_quantile(&all, level);
    if let Some(q) = factor {
        let widths: Vec<f64> = (0..forecast.len())
            .map(|h| q * half_width(forecast.point[h], forecast.lower[h], forecast.upper[h]))
            .collect();
        forecast = Forecast::around(forecast.point, widths);
    }
    Ok(Calibrated {
        forecast,
        holdout_smape: (!smapes.is_empty()).then(|| mean(&smapes)),
        coverage: leave_one_out_coverage(&per_holdout, level),
        factor,
    })
}

/// The mean, over the holdouts, of the share of each one's scores within the quantile of the others'.
fn leave_one_out_coverage(per_holdout: &[Vec<f64>], level: f64) -> Option<f64> {
    if per_holdout.len() < 2 {
        return None;
    }
    let coverages: Vec<f64> = (0..per_holdout.len())
        .filter_map(|k| {
            let others: Vec<f64> = per_holdout
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != k)
                .flat_map(|(_, scores)| scores.iter().copied())
                .collect();
            let q = conformal_quantile(&others, level)?;
            let held = &per_holdout[k];
            (!held.is_empty())
                .then(|| held.iter().filter(|s| **s <= q).count() as f64 / held.len() as f64)
        })
        .collect();
    (!coverages.is_empty()).then(|| mean(&coverages))
}

#[cfg(test)]
mod tests {
    use super::super::model::ModelError;
    use super::super::registry::{ModelKind, ModelSettings, build};
    use super::super::stats::gaussian_noise;
    use super::*;

    fn direct(
        model: &dyn Model,
        history: &[f64],
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError> {
        model.forecast(history, horizon, level)
    }

    #[test]
    fn the_usual_range_scores_in_three_standard_deviations() {
        // Mean 5, standard deviation 2 (the population one).
        let range = UsualRange::of(&[3.0, 7.0, 3.0, 7.0]).unwrap();
        assert!((range.mean - 5.0).abs() < 1e-12 && (range.sd - 2.0).abs() < 1e-12);
        assert!((range.score(11.0) - 1.0).abs() < 1e-12, "3 sd: the edge");
        assert!((range.score(2.0) - 0.5).abs() < 1e-12, "1.5 sd below");
        let flat = UsualRange::of(&[4.0; 10]).unwrap();
        assert!(flat.score(4.0).abs() < 1e-12);
        assert!(
            flat.score(4.001) > 1e6,
            "a change of a flat series is far out"
        );
        assert_eq!(UsualRange::of(&[1.0]), None);
        assert_eq!(UsualRange::of(&[1.0, f64::NAN, 2.0]), None);
        assert_eq!(consensus([3.0, 0.4, 2.0]), Some(0.4));
        assert_eq!(consensus(std::iter::empty()), None);
    }

    #[test]
    fn the_conformal_quantile_is_the_textbook_rank() {
        let scores: Vec<f64> = (1..=19).map(f64::from).collect();
        assert_eq!(
            conformal_quantile(&scores, 0.95),
            Some(19.0),
            "rank 19 of 19"
        );
        assert_eq!(conformal_quantile(&scores[..18], 0.95), None, "too few");
        let scores: Vec<f64> = (1..=99).map(f64::from).collect();
        assert_eq!(conformal_quantile(&scores, 0.9), Some(90.0));
        assert!((band_widths(3.0, 1.0, 0.0, 2.0) - 2.0).abs() < 1e-12);
        assert_eq!(holdout_length(240, 40, 2, 20), 40);
        assert_eq!(holdout_length(60, 40, 2, 20), 15);
        assert_eq!(holdout_length(30, 40, 2, 20), 5);
    }

    /// A daily-shaped series (season 24) with Gaussian noise of a known sigma.
    fn noisy(seed: u64, n: usize, sigma: f64) -> Vec<f64> {
        gaussian_noise(seed, n)
            .into_iter()
            .enumerate()
            .map(|(t, e)| {
                let t = t as f64;
                10.0 + 2.0 * (std::f64::consts::TAU * t / 24.0).sin() + sigma * e
            })
            .collect()
    }

    /// Coverage of what follows the history, over many seeded series: the calibrated band of every
    /// model lies within a tolerance of nominal, whatever the model's own band did.
    #[test]
    fn calibrated_bands_cover_what_follows_at_about_the_nominal_level() {
        let horizon = 24;
        let settings = ModelSettings {
            harmonics: 5,
            season: None,
            step_seconds: 60.0,
        };
        for kind in [ModelKind::SeasonalNaive, ModelKind::Fourier, ModelKind::Ets] {
            let model = build(kind, settings);
            let (mut inside, mut total, mut own_inside) = (0_usize, 0_usize, 0_usize);
            for seed in 0..40 {
                let series = noisy(seed, 24 * 12 + horizon, 0.5);
                let (history, future) = series.split_at(24 * 12);
                let calibrated =
                    calibrate(model.as_ref(), history, horizon, 0.95, 4, 48, direct).unwrap();
                let own = model.forecast(history, horizon, 0.95).unwrap();
                let f = &calibrated.forecast;
                for (h, actual) in future.iter().enumerate() {
                    inside += usize::from(f.lower[h] <= *actual && *actual <= f.upper[h]);
                    own_inside += usize::from(own.lower[h] <= *actual && *actual <= own.upper[h]);
                    total += 1;
                }
                let coverage = calibrated.coverage.expect("4 holdouts");
                assert!((0.0..=1.0).contains(&coverage));
            }
            let coverage = inside as f64 / total as f64;
            assert!(
                (0.90..=0.99).contains(&coverage),
                "{}: calibrated coverage {coverage:.3} (own band {:.3})",
                model.name(),
                own_inside as f64 / total as f64
            );
        }
    }

    #[test]
    fn a_band_far_too_narrow_is_widened_and_says_so() {
        /// A model whose own band is a hundredth of the noise: conformal must widen it about 100×.
        #[derive(Debug)]
        struct Overconfident;
        impl Model for Overconfident {
            fn name(&self) -> &'static str {
                "overconfident"
            }
            fn forecast(&self, h: &[f64], horizon: usize, _: f64) -> Result<Forecast, ModelError> {
                let mean = mean(&h[h.len() - 10..]);
                Ok(Forecast::around(vec![mean; horizon], vec![0.01; horizon]))
            }
        }
        let mut inside = 0_usize;
        let mut total = 0_usize;
        for seed in 100..140 {
            let series: Vec<f64> = gaussian_noise(seed, 330);
            let (history, future) = series.split_at(300);
            let calibrated = calibrate(&Overconfident, history, 30, 0.9, 4, 40, direct).unwrap();
            assert!(calibrated.factor.unwrap() > 50.0, "{:?}", calibrated.factor);
            let f = &calibrated.forecast;
            inside += future
                .iter()
                .enumerate()
                .filter(|(h, a)| f.lower[*h] <= **a && **a <= f.upper[*h])
                .count();
            total += future.len();
        }
        let coverage = inside as f64 / total as f64;
        assert!((0.85..=0.95).contains(&coverage), "{coverage}");
    }

    #[test]
    fn too_little_history_keeps_the_models_own_band_uncalibrated() {
        let model = build(
            ModelKind::SeasonalNaive,
            ModelSettings {
                harmonics: 5,
                season: Some(1),
                step_seconds: 1.0,
            },
        );
        let history = gaussian_noise(7, 24);
        let calibrated = calibrate(model.as_ref(), &history, 10, 0.95, 2, 20, direct).unwrap();
        assert_eq!(
            calibrated.factor, None,
            "4 scores cannot give a 95 % quantile"
        );
        assert_eq!(
            calibrated.forecast,
            model.forecast(&history, 10, 0.95).unwrap()
        );
    }
}
