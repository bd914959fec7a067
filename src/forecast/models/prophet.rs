//! `prophet`: the real Prophet model (augurs-prophet, a port of Facebook's). Its fit is the mode of Prophet's
//! own Stan program, found exactly by `map` for the linear trend and additive terms promlab uses. With the
//! `prophet-stan` feature, anything else goes to that Stan program itself, compiled to WebAssembly and run
//! in-process by wasmtime; without it (the image), such a fit fails with the reason and the other models
//! forecast the series. No Python, no cmdstan binary, no network.
//!
//! Prophet's defaults, as Python's: a piecewise-linear trend with 25 changepoints in the first 80 % of the
//! history, daily and weekly seasonalities once the history spans two days or two weeks, maximum-likelihood
//! fit (Python's default `optimizing` without the Jacobian), and trend-uncertainty intervals from 1,000
//! samples. The season of the series (configured, or detected by the caller) is added as a custom seasonality
//! (`add_seasonality`, Fourier order 5, as Prophet's documentation does for a monthly season) unless Prophet
//! already models it: the lab's `model_result` moves in minutes, which Prophet's daily and weekly terms
//! cannot follow.

use std::num::NonZeroU32;
#[cfg(feature = "prophet-stan")]
use std::sync::OnceLock;

use augurs::prophet::optimizer::{
    self, Data, InitialParams, OptimizeOpts, OptimizedParams, Optimizer,
};
#[cfg(feature = "prophet-stan")]
use augurs::prophet::wasmstan::WasmstanOptimizer;
use augurs::prophet::{IncludeHistory, Prophet as Fit, ProphetOptions, Seasonality, TrainingData};

use super::model::{Forecast, Model, ModelError, check_history, failed};
use super::stats::detect_season;

const NAME: &str = "prophet";
/// Prophet fits a trend with changepoints: fewer points than this is a line through noise.
const MIN_POINTS: usize = 10;
/// The Unix time the synthetic timestamps start at (Prophet's seasonal terms are rotation-invariant, so the
/// origin only has to be fixed, not true).
const ORIGIN: i64 = 1_700_000_000;

const DAY: f64 = 86_400.0;
/// Fourier terms of the custom season.
const SEASON_ORDER: u32 = 5;

/// The model: history evenly spaced `step_seconds` apart, with a season of `season` steps (detected from
/// the history when `None`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Prophet {
    step_seconds: i64,
    season: Option<usize>,
}

impl Prophet {
    pub(super) fn new(step_seconds: f64, season: Option<usize>) -> Self {
        // Prophet's timestamps are whole seconds; the forecaster's steps are at least one.
        #[allow(clippy::cast_possible_truncation)]
        let step_seconds = (step_seconds.round() as i64).max(1);
        Self {
            step_seconds,
            season,
        }
    }

    /// The custom seasonality's period in days, when the season is one Prophet does not model by itself on
    /// a history of `points`: its daily term needs two days of history, its weekly term two weeks.
    fn custom_period(&self, history: &[f64]) -> Option<f64> {
        let step = self.step_seconds as f64;
        let season = self.season.unwrap_or_else(|| detect_season(history));
        let period = Some(season).filter(|s| *s >= 2)? as f64 * step;
        let span = history.len() as f64 * step;
        let near = |days: f64| (period / (days * DAY) - 1.0).abs() < 0.05;
        let built_in = (near(1.0) && span >= 2.0 * DAY) || (near(7.0) && span >= 14.0 * DAY);
        // Two whole seasons at least, or the terms fit noise.
        (!built_in && span >= 2.0 * period).then_some(period / DAY)
    }
}

mod map;

/// The Stan program, compiled once per process (about a second) when a fit first needs it.
#[cfg(feature = "prophet-stan")]
fn stan() -> WasmstanOptimizer {
    static OPTIMIZER: OnceLock<WasmstanOptimizer> = OnceLock::new();
    OPTIMIZER.get_or_init(WasmstanOptimizer::new).clone()
}

/// Prophet's optimiser: the exact mode where `map` solves it, Stan's L-BFGS otherwise (`prophet-stan`).
#[derive(Debug)]
struct ExactOrStan;

impl Optimizer for ExactOrStan {
    #[cfg(feature = "prophet-stan")]
    fn optimize(
        &self,
        init: &InitialParams,
        data: &Data,
        opts: &OptimizeOpts,
    ) -> Result<OptimizedParams, optimizer::Error> {
        map::solve(data).or_else(|reason| {
            tracing::debug!(reason = reason.explain(), "Prophet's fit handed to Stan");
            stan().optimize(init, data, opts)
        })
    }

    #[cfg(not(feature = "prophet-stan"))]
    fn optimize(
        &self,
        _init: &InitialParams,
        data: &Data,
        _opts: &OptimizeOpts,
    ) -> Result<OptimizedParams, optimizer::Error> {
        map::solve(data).map_err(|reason| {
            optimizer::Error::string(format!(
                "the exact solver declines this fit ({}) and this build has no Stan fallback (the `prophet-stan` feature)",
                reason.explain()
            ))
        })
    }
}

impl Model for Prophet {
    fn name(&self) -> &'static str {
        NAME
    }

    fn forecast(
        &self,
        history: &[f64],
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError> {
        check_history(NAME, history, MIN_POINTS)?;
        let failed = failed(NAME);
        let horizon = u32::try_from(horizon)
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| failed(&format!("horizon {horizon} is not between 1 and 2^32")))?;
        let step = self.step_seconds;
        let ds = (0..history.len())
            .map(|i| i64::try_from(i).map(|i| ORIGIN + i * step))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| failed(&error))?;
        let data = TrainingData::new(ds, history.to_vec()).map_err(|error| failed(&error))?;
        let options = ProphetOptions {
            interval_width: level.try_into().map_err(|error| failed(&error))?,
            ..ProphetOptions::default()
        };
        let mut prophet = Fit::new(options, ExactOrStan);
        if let Some(days) = self.custom_period(history) {
            let period = days.try_into().map_err(|error| failed(&error))?;
            let order = NonZeroU32::new(SEASON_ORDER).ok_or_else(|| failed(&"order 0"))?;
            prophet
                .add_seasonality("season".to_owned(), Seasonality::new(period, order))
                .map_err(|error| failed(&error))?;
        }
        prophet
            .fit(data, OptimizeOpts::default())
            .map_err(|error| failed(&error))?;
        let future = prophet
            .make_future_dataframe(horizon, IncludeHistory::No)
            .map_err(|error| failed(&error))?;
        let predicted = prophet
            .predict(future)
            .map_err(|error| failed(&error))?
            .yhat;
        let (Some(lower), Some(upper)) = (predicted.lower, predicted.upper) else {
            return Err(failed(&"no prediction interval came back"));
        };
        Forecast {
            point: predicted.point,
            lower,
            upper,
        }
        .finite(NAME)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "prophet-stan")]
    use std::sync::{Arc, Mutex};

    use augurs::prophet::GrowthType;

    use super::super::stats::gaussian_noise;
    use super::*;

    /// Fits of one Prophet: the data Stan saw, Stan's optimum and the exact one.
    #[cfg(feature = "prophet-stan")]
    type Fits = Arc<
        Mutex<
            Vec<(
                Data,
                OptimizedParams,
                Result<OptimizedParams, map::Unsolved>,
            )>,
        >,
    >;

    /// An optimiser that runs both and keeps Stan's answer, recording the two.
    #[cfg(feature = "prophet-stan")]
    #[derive(Debug)]
    struct Both(Fits);

    #[cfg(feature = "prophet-stan")]
    impl Optimizer for Both {
        fn optimize(
            &self,
            init: &InitialParams,
            data: &Data,
            opts: &OptimizeOpts,
        ) -> Result<OptimizedParams, optimizer::Error> {
            let stan = stan().optimize(init, data, opts)?;
            let exact = map::solve(data);
            self.0
                .lock()
                .unwrap()
                .push((data.clone(), stan.clone(), exact));
            Ok(stan)
        }
    }

    fn fit_and_predict<O: Optimizer + 'static>(
        history: &[f64],
        step: i64,
        growth: GrowthType,
        optimizer: O,
    ) -> Vec<f64> {
        let ds = (0..i64::try_from(history.len()).unwrap())
            .map(|i| ORIGIN + i * step)
            .collect();
        let data = TrainingData::new(ds, history.to_vec()).unwrap();
        let options = ProphetOptions {
            growth,
            ..ProphetOptions::default()
        };
        let mut prophet = Fit::new(options, optimizer);
        prophet.fit(data, OptimizeOpts::default()).unwrap();
        let future = prophet
            .make_future_dataframe(NonZeroU32::new(60).unwrap(), IncludeHistory::No)
            .unwrap();
        prophet.predict(future).unwrap().yhat.point
    }

    /// Fits `history` with Stan and with the exact solver: the exact one must solve it, reach a log posterior
    /// at least Stan's (up to rounding), and forecast within `tolerance` (relative) of Stan's fit.
    #[cfg(feature = "prophet-stan")]
    fn solved_exactly_and_no_worse_than_stan(
        name: &str,
        history: &[f64],
        step: i64,
        growth: GrowthType,
        tolerance: f64,
    ) {
        let fits = Fits::default();
        let stans = fit_and_predict(history, step, growth, Both(fits.clone()));
        let exacts = fit_and_predict(history, step, growth, ExactOrStan);
        let (data, stan, exact) = fits.lock().unwrap().pop().unwrap();
        let exact = exact.unwrap_or_else(|reason| panic!("{name}: {reason:?}"));
        let (ours, theirs) = (
            map::objective(&data, &exact).unwrap(),
            map::objective(&data, &stan).unwrap(),
        );
        assert!(
            ours <= theirs + 1e-9 * theirs.abs(),
            "{name}: exact {ours} against Stan's {theirs}"
        );
        let largest = stans
            .iter()
            .zip(&exacts)
            .map(|(stan, exact)| ((stan - exact) / stan).abs())
            .fold(0.0, f64::max);
        eprintln!("{name}: objective {ours} against Stan's {theirs}, yhat apart by {largest:e}");
        assert!(largest < tolerance, "{name}: yhat differs by {largest}");
    }

    /// Series with noise whose fits exercise the changepoints, the seasonal terms and both trends.
    fn noisy_series() -> Vec<(&'static str, Vec<f64>, i64, GrowthType)> {
        let noise = gaussian_noise(11, 2_000);
        let daily = |t: usize| (std::f64::consts::TAU * t as f64 / 144.0).sin();
        vec![
            (
                "daily season, trend, noise",
                (0..576)
                    .map(|t| 10.0 + 0.01 * t as f64 + 3.0 * daily(t) + 0.5 * noise[t])
                    .collect(),
                600,
                GrowthType::Linear,
            ),
            (
                "a slope that turns halfway",
                noise[..1_000]
                    .iter()
                    .zip(0..1_000)
                    .map(|(noise, t): (&f64, u32)| {
                        let t = f64::from(t);
                        100.0 + 0.2 * t - 0.5 * (t - 500.0).max(0.0) + 2.0 * noise
                    })
                    .collect(),
                60,
                GrowthType::Linear,
            ),
            (
                "flat growth, daily season",
                (0..720)
                    .map(|t| 5.0 + daily(t) + 0.2 * noise[1_000 + t])
                    .collect(),
                600,
                GrowthType::Flat,
            ),
        ]
    }

    #[test]
    #[cfg(feature = "prophet-stan")]
    fn the_exact_fit_is_stans_optimum_or_better_and_forecasts_the_same() {
        for (name, history, step, growth) in noisy_series() {
            solved_exactly_and_no_worse_than_stan(name, &history, step, growth, 1e-3);
        }
    }

    /// The NAB subset the repository carries (with its licence and source): two weeks of 5-minute points
    /// (daily and weekly terms on), and 30-minute taxi counts. (file, step, history)
    fn nab_series() -> Vec<(&'static str, i64, Vec<f64>)> {
        let nab = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nab");
        [
            (
                "realKnownCause/machine_temperature_system_failure.csv",
                300,
                4_032,
            ),
            (
                "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv",
                300,
                4_032,
            ),
            ("realKnownCause/nyc_taxi.csv", 1_800, 2_000),
        ]
        .into_iter()
        .map(|(file, step, points)| {
            let text = std::fs::read_to_string(nab.join(file)).unwrap();
            let history = text
                .lines()
                .skip(1)
                .take(points)
                .map(|line| line.rsplit(',').next().unwrap().parse().unwrap())
                .collect();
            (file, step, history)
        })
        .collect()
    }

    #[test]
    #[cfg(feature = "prophet-stan")]
    fn real_nab_series_are_solved_exactly_and_no_worse_than_stan() {
        for (file, step, history) in nab_series() {
            solved_exactly_and_no_worse_than_stan(file, &history, step, GrowthType::Linear, 1e-2);
        }
    }

    /// The exact solver alone: a fit it declines is an error, never handed to Stan.
    #[derive(Debug)]
    struct ExactOnly;

    impl Optimizer for ExactOnly {
        fn optimize(
            &self,
            _init: &InitialParams,
            data: &Data,
            _opts: &OptimizeOpts,
        ) -> Result<OptimizedParams, optimizer::Error> {
            map::solve(data).map_err(|reason| optimizer::Error::string(reason.explain().to_owned()))
        }
    }

    /// Why the image needs no Stan: every fit of the kinds the forecaster makes (linear or flat trend,
    /// additive seasons, noisy synthetic and real series) is solved exactly.
    #[test]
    fn the_fits_the_forecaster_makes_need_no_stan() {
        for (name, history, step, growth) in noisy_series() {
            let forecast = fit_and_predict(&history, step, growth, ExactOnly);
            assert!(forecast.iter().all(|y| y.is_finite()), "{name}");
        }
        for (file, step, history) in nab_series() {
            let forecast = fit_and_predict(&history, step, GrowthType::Linear, ExactOnly);
            assert!(forecast.iter().all(|y| y.is_finite()), "{file}");
        }
    }

    #[test]
    fn a_daily_season_with_a_trend_is_continued_inside_its_band() {
        // Four days at 10-minute steps: Prophet turns its daily seasonality on by itself.
        let per_day = 144.0;
        let value =
            |t: f64| 10.0 + 0.01 * t + 3.0 * (2.0 * std::f64::consts::PI * t / per_day).sin();
        let history: Vec<f64> = (0..576).map(|t| value(f64::from(t))).collect();
        let forecast = Prophet::new(600.0, None)
            .forecast(&history, 36, 0.95)
            .unwrap();
        assert_eq!(forecast.len(), 36);
        for (h, point) in forecast.point.iter().enumerate() {
            let expected = value((576 + h) as f64);
            assert!(
                (point - expected).abs() < 0.3,
                "step {h}: {point} vs {expected}"
            );
            assert!(forecast.lower[h] <= *point && *point <= forecast.upper[h]);
        }
    }

    #[test]
    fn a_season_of_minutes_is_added_and_followed() {
        // The lab's case: an hour of 15 s steps with a 5-minute season.
        let value = |t: f64| 0.5 + 0.3 * (std::f64::consts::TAU * t / 20.0).sin();
        let history: Vec<f64> = (0..240).map(|t| value(f64::from(t))).collect();
        let model = Prophet::new(15.0, Some(20));
        assert!(model.custom_period(&history).is_some());
        let forecast = model.forecast(&history, 40, 0.95).unwrap();
        let actual: Vec<f64> = (240..280).map(|t| value(f64::from(t))).collect();
        let error = super::super::stats::smape(&actual, &forecast.point);
        assert!(error < 2.0, "sMAPE {error}");
    }

    #[test]
    fn seasons_prophet_models_itself_are_not_added_twice() {
        let flat = |n: usize| vec![1.0; n];
        // A daily season of 1-minute steps over a week: Prophet's daily term has it.
        assert_eq!(
            Prophet::new(60.0, Some(1440)).custom_period(&flat(10_080)),
            None
        );
        // Over two days, too; over a single day nobody has it: two seasons are needed to fit one.
        assert_eq!(
            Prophet::new(60.0, Some(1440)).custom_period(&flat(2880)),
            None
        );
        assert_eq!(
            Prophet::new(60.0, Some(1440)).custom_period(&flat(1440)),
            None
        );
        let hourly = Prophet::new(60.0, Some(60))
            .custom_period(&flat(1440))
            .unwrap();
        assert!((hourly - 1.0 / 24.0).abs() < 1e-12);
        // No season configured and none in the history (detection says 1): none added.
        assert_eq!(Prophet::new(60.0, None).custom_period(&flat(1440)), None);
    }

    #[test]
    fn short_histories_are_refused() {
        assert!(matches!(
            Prophet::new(15.0, None).forecast(&[1.0; 4], 2, 0.9),
            Err(ModelError::TooShort { need: 10, .. })
        ));
    }
}
