//! `fourier`: train-prometheus' model, made robust. Find the strongest harmonics in the FFT of the
//! detrended series, fit the trend and those waves together, and extend them into the future; the band
//! is the in-sample residual spread.

use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

use super::model::{Forecast, Model, ModelError, check_history, normal_quantile, rms};

const NAME: &str = "fourier";
/// Fewer points than this carry no frequency worth extrapolating.
const MIN_POINTS: usize = 8;

/// How far above the median power a harmonic must stand to be kept.
const SIGNIFICANCE: f64 = 11.0;

/// At most `harmonics` of the strongest frequencies of `y` (cycles per step) that stand out of its noise,
/// its mean excluded. train-prometheus
/// keeps the lowest ones instead, which misses any season shorter than n / harmonics steps (5 minutes in
/// an hour of 15 s steps with 10 harmonics).
fn strongest_frequencies(y: &[f64], harmonics: usize) -> Vec<f64> {
    let n = y.len();
    let mut spectrum: Vec<Complex<f64>> = y.iter().map(|v| Complex::new(*v, 0.0)).collect();
    FftPlanner::new().plan_fft_forward(n).process(&mut spectrum);
    // Bins 1..=n/2 are the distinct frequencies; the others mirror them.
    let mut bins: Vec<usize> = (1..=n / 2).collect();
    bins.sort_by(|&a, &b| {
        spectrum[b]
            .norm()
            .total_cmp(&spectrum[a].norm())
            .then(a.cmp(&b))
    });
    // Only harmonics that stand out of the noise: in white noise a bin's power is exponential, so one
    // above 11 × the median power (7.6 × the mean) turns up by chance in about 5 % of 100-bin spectra.
    // Extrapolating noise peaks would only add error.
    let mut powers: Vec<f64> = bins.iter().map(|&k| spectrum[k].norm_sqr()).collect();
    powers.sort_by(f64::total_cmp);
    let median = powers.get(powers.len() / 2).copied().unwrap_or(0.0);
    bins.retain(|&k| spectrum[k].norm_sqr() > SIGNIFICANCE * median);
    bins.truncate(harmonics);
    bins.sort_unstable();
    bins.into_iter().map(|k| k as f64 / n as f64).collect()
}

/// Least-squares coefficients of `rows` (one regressor vector per observation) against `y`: the normal
/// equations, a whisker of ridge for collinear columns, Gaussian elimination with partial pivoting.
fn least_squares(rows: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
    let p = rows.first().map_or(0, Vec::len);
    let mut system = vec![vec![0.0; p + 1]; p];
    // X'X is symmetric: accumulate its upper triangle, then mirror it.
    for (row, target) in rows.iter().zip(y) {
        for (i, equation) in system.iter_mut().enumerate() {
            let xi = row[i];
            for (cell, xj) in equation[i..p].iter_mut().zip(&row[i..]) {
                *cell += xi * xj;
            }
            equation[p] += xi * target;
        }
    }
    for i in 1..p {
        let (above, below) = system.split_at_mut(i);
        for (j, row) in above.iter().enumerate() {
            below[0][j] = row[i];
        }
    }
    for (i, equation) in system.iter_mut().enumerate() {
        equation[i] += 1e-9 * rows.len() as f64;
    }
    for column in 0..p {
        let pivot = (column..p)
            .max_by(|&a, &b| system[a][column].abs().total_cmp(&system[b][column].abs()))
            .unwrap_or(column);
        system.swap(column, pivot);
        let lead = system[column][column];
        if lead.abs() < f64::MIN_POSITIVE {
            continue;
        }
        let pivot_row = system[column].clone();
        for (index, row) in system.iter_mut().enumerate() {
            if index != column {
                let factor = row[column] / lead;
                for (value, pivot) in row[column..].iter_mut().zip(&pivot_row[column..]) {
                    *value -= factor * pivot;
                }
            }
        }
    }
    (0..p)
        .map(|i| {
            let lead = system[i][i];
            if lead.abs() < f64::MIN_POSITIVE {
                0.0
            } else {
                system[i][p] / lead
            }
        })
        .collect()
}

/// The model, keeping the `harmonics` strongest frequencies besides the trend.
#[derive(Debug, Clone, Copy)]
pub struct Fourier {
    harmonics: usize,
}

impl Fourier {
    #[must_use]
    pub fn new(harmonics: usize) -> Self {
        Self { harmonics }
    }
}

/// Least-squares slope and intercept of `y` against 0, 1, 2…
fn linear_trend(y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    let mean_t = (n - 1.0) / 2.0;
    let mean_y = y.iter().sum::<f64>() / n;
    let (covariance, variance) = y.iter().enumerate().fold((0.0, 0.0), |(c, v), (t, value)| {
        let dt = t as f64 - mean_t;
        (c + dt * (value - mean_y), v + dt * dt)
    });
    let slope = if variance > 0.0 {
        covariance / variance
    } else {
        0.0
    };
    (slope, mean_y - slope * mean_t)
}

impl Model for Fourier {
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
        let n = history.len();
        // The frequencies come from the FFT of the series without its straight-line trend; then the trend
        // and those waves are fitted together by least squares (a slope fitted alone is biased by the
        // waves, and the bias would come back as a drift in the extrapolation).
        let (slope, intercept) = linear_trend(history);
        let detrended: Vec<f64> = history
            .iter()
            .enumerate()
            .map(|(t, y)| y - (slope * t as f64 + intercept))
            .collect();
        let frequencies = strongest_frequencies(&detrended, self.harmonics);
        // Time scaled to [0, 1) over the history keeps the normal equations well conditioned.
        let regressors = |t: usize| {
            let u = t as f64 / n as f64;
            let mut row = vec![1.0, u];
            for frequency in &frequencies {
                let angle = std::f64::consts::TAU * frequency * t as f64;
                row.push(angle.cos());
                row.push(angle.sin());
            }
            row
        };
        let rows: Vec<Vec<f64>> = (0..n).map(regressors).collect();
        let coefficients = least_squares(&rows, history);
        let combine = |row: &[f64]| {
            row.iter()
                .zip(&coefficients)
                .map(|(x, c)| x * c)
                .sum::<f64>()
        };
        let restored = |t: usize| combine(&regressors(t));
        // The residual spread, corrected for the parameters fitted (trend and two per harmonic): the
        // in-sample fit is closer than the data (n / (n - p)), and a prediction also carries the
        // coefficients' own error (about 1 + p / n).
        let parameters = coefficients.len().min(n - 1) as f64;
        let n_points = n as f64;
        let sigma = rms(rows.iter().zip(history).map(|(row, y)| y - combine(row)))
            * (n_points / (n_points - parameters) * (1.0 + parameters / n_points)).sqrt();
        let width = normal_quantile(0.5 + level / 2.0) * sigma;
        let point: Vec<f64> = (n..n + horizon).map(restored).collect();
        Ok(Forecast {
            lower: point.iter().map(|p| p - width).collect(),
            upper: point.iter().map(|p| p + width).collect(),
            point,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine_with_trend(t: usize) -> f64 {
        0.3 + 0.002 * t as f64 + 0.2 * (std::f64::consts::TAU * t as f64 / 25.0).sin()
    }

    #[test]
    fn a_sine_with_a_trend_is_extrapolated_within_tolerance() {
        let history: Vec<f64> = (0..200).map(sine_with_trend).collect();
        let forecast = Fourier::new(10).forecast(&history, 50, 0.95).unwrap();
        for (h, point) in forecast.point.iter().enumerate() {
            let actual = sine_with_trend(200 + h);
            assert!(
                (point - actual).abs() < 0.05,
                "step {h}: {point} vs {actual}"
            );
            assert!(forecast.lower[h] <= *point && *point <= forecast.upper[h]);
        }
    }

    #[test]
    fn a_straight_line_continues() {
        let history: Vec<f64> = (0..50).map(|t| 1.0 + 0.5 * f64::from(t)).collect();
        let forecast = Fourier::new(3).forecast(&history, 5, 0.9).unwrap();
        for (h, point) in forecast.point.iter().enumerate() {
            assert!(
                (point - (1.0 + 0.5 * (50 + h) as f64)).abs() < 1e-4,
                "step {h}: {point}"
            );
        }
    }

    #[test]
    fn short_histories_are_refused() {
        assert!(matches!(
            Fourier::new(3).forecast(&[1.0; 4], 2, 0.9),
            Err(ModelError::TooShort {
                need: 8,
                have: 4,
                ..
            })
        ));
    }
}
