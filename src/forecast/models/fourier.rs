//! `fourier`: train-prometheus' model, made robust. Find the strongest harmonics in the FFT of the
//! detrended series, fit the trend and those waves together, and extend them into the future; the band
//! is the in-sample residual spread.
//!
//! The waves are at the FFT's own frequencies (k cycles over the n points), where sums of waves have
//! closed forms: they are orthogonal to each other and to the constant, and their sums against the time
//! ramp are known. So the least-squares fit is built from the FFT alone, without a design matrix: one FFT,
//! then a system of two unknowns per harmonic.

use std::f64::consts::{PI, TAU};

use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

use super::model::{Forecast, Model, ModelError, check_history};
use super::stats::{mean, median, two_sided_z};

const NAME: &str = "fourier";
/// Fewer points than this carry no frequency worth extrapolating.
const MIN_POINTS: usize = 8;

/// How far above the median power a harmonic must stand to be kept.
const SIGNIFICANCE: f64 = 11.0;

/// The bins (k cycles over the series) of at most `harmonics` of the strongest frequencies in `spectrum`,
/// the FFT of a series, that stand out of its noise, its mean excluded. train-prometheus keeps the lowest
/// ones instead, which misses any season shorter than n / harmonics steps (5 minutes in an hour of 15 s
/// steps with 10 harmonics).
fn strongest_bins(spectrum: &[Complex<f64>], harmonics: usize) -> Vec<usize> {
    let n = spectrum.len();
    // Bins 1..=n/2 are the distinct frequencies; the others mirror them.
    let power: Vec<f64> = spectrum[..=n / 2].iter().map(Complex::norm_sqr).collect();
    let median = median(&mut power[1..].to_vec()).unwrap_or(0.0);
    // Only harmonics that stand out of the noise: in white noise a bin's power is exponential, so one
    // above 11 × the median power (7.6 × the mean) turns up by chance in about 5 % of 100-bin spectra.
    // Extrapolating noise peaks would only add error.
    let mut bins: Vec<usize> = (1..=n / 2)
        .filter(|&k| power[k] > SIGNIFICANCE * median)
        .collect();
    bins.sort_by(|&a, &b| power[b].total_cmp(&power[a]).then(a.cmp(&b)));
    bins.truncate(harmonics);
    bins.sort_unstable();
    bins
}

/// The normal equations `(XᵀX) θ = Xᵀy` of `history` on the regressors `1, t/n, cos(2πkt/n), sin(2πkt/n)` for
/// each of `bins`, t = 0…n−1, from its FFT. With ω = 2πk/n and z = e^{iω} (zⁿ = 1):
/// `Σ cos ωt = Σ sin ωt = 0`, `Σ cos ωt cos ω't = Σ sin ωt sin ω't = n/2` when ω = ω' (else 0; `n` and 0
/// at the Nyquist bin, where the sine is zero), `Σ cos ωt sin ω't = 0`, and `Σ t zᵗ = n/(z − 1)`, so
/// `Σ t cos ωt = −n/2` and `Σ t sin ωt = −(n/2) cot(ω/2)`. `spectrum`, the FFT of `history`, gives
/// `Σ y e^{−iωt}`.
fn normal_equations(
    history: &[f64],
    spectrum: &[Complex<f64>],
    bins: &[usize],
) -> (Vec<Vec<f64>>, Vec<f64>) {
    let n = history.len();
    let size = n as f64;
    let p = 2 + 2 * bins.len();
    let mut gram = vec![vec![0.0; p]; p];
    let mut rhs = vec![0.0; p];
    gram[0][0] = size;
    gram[0][1] = (size - 1.0) / 2.0;
    gram[1][1] = (size - 1.0) * (2.0 * size - 1.0) / (6.0 * size);
    rhs[0] = history.iter().sum();
    rhs[1] = history
        .iter()
        .enumerate()
        .map(|(t, value)| t as f64 * value)
        .sum::<f64>()
        / size;
    for (i, &k) in bins.iter().enumerate() {
        let (c, s) = (2 + 2 * i, 3 + 2 * i);
        let nyquist = 2 * k == n;
        gram[c][c] = if nyquist { size } else { size / 2.0 };
        gram[s][s] = if nyquist { 0.0 } else { size / 2.0 };
        gram[1][c] = -0.5;
        gram[1][s] = if nyquist {
            0.0
        } else {
            -0.5 / (PI * k as f64 / size).tan()
        };
        rhs[c] = spectrum[k].re;
        rhs[s] = -spectrum[k].im;
    }
    for i in 1..p {
        let (above, below) = gram.split_at_mut(i);
        for (j, row) in above.iter().enumerate() {
            below[0][j] = row[i];
        }
    }
    (gram, rhs)
}

/// Solves the normal equations with a whisker of ridge for collinear columns (`ridge` on the diagonal),
/// by Gaussian elimination with partial pivoting.
fn solve(gram: &[Vec<f64>], rhs: &[f64], ridge: f64) -> Vec<f64> {
    let p = rhs.len();
    let mut system: Vec<Vec<f64>> = gram
        .iter()
        .zip(rhs)
        .enumerate()
        .map(|(i, (row, value))| {
            let mut equation = row.clone();
            equation[i] += ridge;
            equation.push(*value);
            equation
        })
        .collect();
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
    let mean_y = mean(y);
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
        // The frequencies come from the FFT of the series without its straight-line trend; then a trend
        // and those waves are fitted together by least squares (a slope fitted alone is biased by the
        // waves, and the bias would come back as a drift in the extrapolation).
        let (slope, intercept) = linear_trend(history);
        let detrended: Vec<f64> = history
            .iter()
            .enumerate()
            .map(|(t, y)| y - (slope * t as f64 + intercept))
            .collect();
        let mut spectrum: Vec<Complex<f64>> =
            detrended.iter().map(|v| Complex::new(*v, 0.0)).collect();
        FftPlanner::new().plan_fft_forward(n).process(&mut spectrum);
        let bins = strongest_bins(&spectrum, self.harmonics);
        // The trend and the waves are fitted to the detrended series (the line is added back): its
        // values are as small as the waves, where the series' own level, 10¹² on a counter, would cancel
        // every digit of the noise in the normal equations.
        let (gram, rhs) = normal_equations(&detrended, &spectrum, &bins);
        let size = n as f64;
        let coefficients = solve(&gram, &rhs, 1e-9 * size);
        let at = |t: usize| {
            let waves = bins.iter().enumerate().map(|(i, k)| {
                let (sin, cos) = (TAU * *k as f64 * t as f64 / size).sin_cos();
                coefficients[2 + 2 * i] * cos + coefficients[3 + 2 * i] * sin
            });
            intercept
                + slope * t as f64
                + coefficients[0]
                + coefficients[1] * t as f64 / size
                + waves.sum::<f64>()
        };
        // The residual sum of squares dᵀd − 2θᵀXᵀd + θᵀXᵀXθ, without the fitted values.
        let rss = detrended.iter().map(|d| d * d).sum::<f64>()
            + gram
                .iter()
                .zip(&rhs)
                .zip(&coefficients)
                .map(|((row, value), theta)| {
                    let product: f64 = row.iter().zip(&coefficients).map(|(g, c)| g * c).sum();
                    theta * (product - 2.0 * value)
                })
                .sum::<f64>();
        let rss = rss.max(0.0);
        // The residual spread, corrected for the parameters fitted (trend and two per harmonic): the
        // in-sample fit is closer than the data (n / (n - p)), and a prediction also carries the
        // coefficients' own error (about 1 + p / n).
        let parameters = coefficients.len().min(n - 1) as f64;
        let sigma =
            (rss / size).sqrt() * (size / (size - parameters) * (1.0 + parameters / size)).sqrt();
        let width = two_sided_z(level) * sigma;
        let point = (n..n + horizon).map(at).collect();
        Ok(Forecast::around(point, std::iter::repeat(width)))
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
    fn the_normal_equations_from_the_fft_are_the_sums_themselves() {
        // Odd and even lengths, the Nyquist bin included, on a series with a trend and noise.
        for n in [101_usize, 240] {
            let noise = super::super::stats::gaussian_noise(5, n);
            let y: Vec<f64> = (0..n).map(|t| 3.0 + 0.05 * t as f64 + noise[t]).collect();
            let mut spectrum: Vec<Complex<f64>> = y.iter().map(|v| Complex::new(*v, 0.0)).collect();
            FftPlanner::new().plan_fft_forward(n).process(&mut spectrum);
            let bins: Vec<usize> = [1, 7, n / 3, n / 2].into_iter().collect();
            let (gram, rhs) = normal_equations(&y, &spectrum, &bins);
            let size = n as f64;
            let mut columns = vec![vec![1.0; n], (0..n).map(|t| t as f64 / size).collect()];
            for k in &bins {
                let angle = |t: usize| TAU * *k as f64 * t as f64 / size;
                columns.push((0..n).map(|t| angle(t).cos()).collect());
                columns.push((0..n).map(|t| angle(t).sin()).collect());
            }
            let sum = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
            for (i, column) in columns.iter().enumerate() {
                assert!((rhs[i] - sum(column, &y)).abs() < 1e-9, "n {n}: Xᵀy[{i}]");
                for (j, other) in columns.iter().enumerate() {
                    let expected = sum(column, other);
                    assert!(
                        (gram[i][j] - expected).abs() < 1e-9,
                        "n {n}: XᵀX[{i}][{j}] {} against {expected}",
                        gram[i][j]
                    );
                }
            }
        }
    }

    #[test]
    fn the_band_is_the_noise_even_on_a_high_level() {
        // A counter-like level of 10¹² with a season and noise of σ = 1: the band must be the noise's.
        let noise = super::super::stats::gaussian_noise(9, 2_000);
        let history: Vec<f64> = (0..2_000)
            .map(|t| 1e12 + 50.0 * (TAU * t as f64 / 100.0).sin() + noise[t])
            .collect();
        let forecast = Fourier::new(5).forecast(&history, 10, 0.95).unwrap();
        let half_width = (forecast.upper[0] - forecast.lower[0]) / 2.0;
        assert!(
            (half_width / 1.96 - 1.0).abs() < 0.1,
            "half-width {half_width}, expected about 1.96"
        );
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
