//! The statistics the models (and the backtest) share, each in one place: the season of a series, the
//! normal quantile of a band, mean, variance, median, lagged products, the root mean square of residuals,
//! the sMAPE score, and the seeded noise of the models' tests.

/// The season of `history` in steps: the lag, up to half the history, whose autocorrelation is the
/// highest local peak above 0.5; 1 (no season) when none is.
#[must_use]
pub fn detect_season(history: &[f64]) -> usize {
    let n = history.len();
    if n < 8 {
        return 1;
    }
    let mean = mean(history);
    let variance = squared_deviations(history, mean);
    if variance <= f64::EPSILON {
        return 1;
    }
    let deviations: Vec<f64> = history.iter().map(|x| x - mean).collect();
    let acf = |lag: usize| lagged_products(&deviations, lag) / variance;
    let correlations: Vec<f64> = (0..=n / 2).map(acf).collect();
    (2..correlations.len().saturating_sub(1))
        .filter(|&lag| {
            correlations[lag] > 0.5
                && correlations[lag] >= correlations[lag - 1]
                && correlations[lag] >= correlations[lag + 1]
        })
        .max_by(|&a, &b| correlations[a].total_cmp(&correlations[b]))
        .unwrap_or(1)
}

/// The standard normal quantile (`distrs`, Wichura's AS 241, the algorithm R's `qnorm` uses; `distrs` is
/// already in the tree through augurs): the `z` of a two-sided `level` interval is
/// `normal_quantile(0.5 + level / 2)`. `p` is kept within 1e-12 of 0 and 1, so the answer is finite.
#[must_use]
pub fn normal_quantile(p: f64) -> f64 {
    distrs::Normal::ppf(p.clamp(1e-12, 1.0 - 1e-12), 0.0, 1.0)
}

/// The `z` of a two-sided `level` (e.g. 0.95) normal interval: a band is the point ± `z` standard errors.
#[must_use]
pub(super) fn two_sided_z(level: f64) -> f64 {
    normal_quantile(0.5 + level / 2.0)
}

/// The mean of `values`; NaN when there are none (a score over no origin is no number).
#[must_use]
pub(crate) fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The sum of the squared deviations of `values` from `centre`.
#[must_use]
pub(super) fn squared_deviations(values: &[f64], centre: f64) -> f64 {
    values.iter().map(|x| (x - centre).powi(2)).sum()
}

/// The variance of `values` about their mean, divided by their count (the maximum likelihood one).
#[must_use]
pub(super) fn variance(values: &[f64]) -> f64 {
    squared_deviations(values, mean(values)) / values.len() as f64
}

/// `sum deviations[t + lag] * deviations[t]`: the autocovariance at `lag` times the count, of a series
/// whose mean is already taken away (the season's autocorrelation, KPSS's long-run variance).
#[must_use]
pub(super) fn lagged_products(deviations: &[f64], lag: usize) -> f64 {
    deviations[lag..]
        .iter()
        .zip(deviations)
        .map(|(a, b)| a * b)
        .sum()
}

/// The median of `values` (the upper one of an even count), reordering them; `None` when there are none.
#[must_use]
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let middle = values.len() / 2;
    Some(*values.select_nth_unstable_by(middle, f64::total_cmp).1)
}

/// The root mean square of `residuals` (0 when there are none).
pub(super) fn rms(residuals: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = residuals.fold((0.0, 0_usize), |(sum, count), e| (sum + e * e, count + 1));
    if count == 0 {
        0.0
    } else {
        (sum / count as f64).sqrt()
    }
}

/// Symmetric mean absolute percentage error, in percent (0 to 200); pairs where both are 0 count as 0.
#[must_use]
pub fn smape(actual: &[f64], predicted: &[f64]) -> f64 {
    let pairs = actual.len().min(predicted.len());
    if pairs == 0 {
        return f64::NAN;
    }
    let total: f64 = actual
        .iter()
        .zip(predicted)
        .map(|(a, f)| {
            let scale = a.abs() + f.abs();
            if scale == 0.0 {
                0.0
            } else {
                2.0 * (f - a).abs() / scale
            }
        })
        .sum();
    100.0 * total / pairs as f64
}

/// Standard normal draws (Box-Muller), seeded: the noise of the models' tests.
#[cfg(test)]
pub(super) fn gaussian_noise(seed: u64, count: usize) -> Vec<f64> {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let (u, v): (f64, f64) = (rng.random(), rng.random());
            (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_match_the_tables() {
        for (p, z) in [
            (0.975, 1.959_963_985),
            (0.5, 0.0),
            (0.841_344_746, 1.0),
            (0.001, -3.090_232_306),
        ] {
            assert!(
                (normal_quantile(p) - z).abs() < 1e-6,
                "{p}: {}",
                normal_quantile(p)
            );
        }
    }

    #[test]
    fn smape_is_symmetric_and_bounded() {
        assert!((smape(&[1.0, 2.0], &[1.0, 2.0])).abs() < 1e-12);
        assert!((smape(&[1.0], &[3.0]) - 100.0).abs() < 1e-9);
        assert!((smape(&[3.0], &[1.0]) - 100.0).abs() < 1e-9);
        assert!((smape(&[0.0], &[0.0])).abs() < 1e-12);
        assert!((smape(&[1.0], &[-1.0]) - 200.0).abs() < 1e-9);
        assert!(smape(&[], &[]).is_nan());
    }

    #[test]
    fn means_variances_and_medians_are_the_textbook_ones() {
        let values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert!((mean(&values) - 5.0).abs() < 1e-12);
        assert!((variance(&values) - 4.0).abs() < 1e-12);
        assert!(mean(&[]).is_nan());
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(
            median(&mut [4.0, 1.0, 3.0, 2.0]),
            Some(3.0),
            "the upper middle"
        );
        assert_eq!(median(&mut []), None);
        // Lag 0 is the sum of squares; lag 1 of [1, -1, 1, -1] is three products of -1.
        assert!((lagged_products(&[1.0, -1.0, 1.0, -1.0], 0) - 4.0).abs() < 1e-12);
        assert!((lagged_products(&[1.0, -1.0, 1.0, -1.0], 1) + 3.0).abs() < 1e-12);
        assert!((two_sided_z(0.95) - 1.959_963_985).abs() < 1e-6);
    }
}
