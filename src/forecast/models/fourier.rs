//! `fourier`: train-prometheus' model, made robust. Find the strongest harmonics in the FFT of the
//! detrended series, fit the trend and those waves together, and extend them into the future; the band
//! is the in-sample residual spread.
//!
//! The FFT sees only frequencies of whole cycles over the n points: a season of 48 steps falls between
//! two bins of a 552-point history, and waves fitted at a bin's frequency drift out of phase when
//! extended. The forecast then depends on how the history's length happens to divide the season: the
//! rolling holdouts (other lengths) would size the band on errors the final fit does not make. So the
//! frequency of each peak of at least [`MIN_CYCLES_TO_REFINE`] cycles is refined between the bins
//! (Candan's three-sample estimator), and the trend and the waves at those frequencies are fitted by
//! least squares. The sums of waves at any frequencies are geometric series, so the normal equations
//! have closed forms and no design matrix is built ([`normal_equations`]).

use std::f64::consts::{PI, TAU};

use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

use super::model::{Forecast, Model, ModelError, check_history};
use super::stats::{mean, median, two_sided_z};

const NAME: &str = "fourier";
/// Fewer points than this carry no frequency worth extrapolating.
const MIN_POINTS: usize = 8;

/// The fewest whole cycles over the history for a peak's frequency to be refined between the bins: below
/// it, what the straight-line detrending leaves (a sawtooth, whose power falls as 1/k) swamps the
/// neighbouring bins the estimate reads, and a season of the history's whole length (one day of a
/// daily series) was moved off its exact bin.
const MIN_CYCLES_TO_REFINE: usize = 4;

/// How far above the median power a harmonic must stand to be kept.
const SIGNIFICANCE: f64 = 11.0;

/// The bins (k cycles over the series) of at most `harmonics` of the strongest frequencies in `spectrum`,
/// the FFT of a series, that stand out of its noise, its mean excluded, strongest first. train-prometheus
/// keeps the lowest ones instead, which misses any season shorter than n / harmonics steps (5 minutes in
/// an hour of 15 s steps with 10 harmonics).
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
    bins
}

/// The frequency (cycles per step) of the peak at bin `k` of `spectrum`, refined between the bins from
/// the bin and its two neighbours: Jacobsen's estimator with Candan's correction for the rectangular
/// window (Ç. Candan, "A Method For Fine Resolution Frequency Estimation From Three DFT Samples", IEEE
/// Signal Processing Letters 18(6), 2011): `δ = tan(π/n)/(π/n) · Re[(X[k−1] − X[k+1]) / (2X[k] − X[k−1]
/// − X[k+1])]`, the frequency `(k + δ)/n`, `δ` kept within half a bin.
fn refined_frequency(spectrum: &[Complex<f64>], k: usize) -> f64 {
    let size = spectrum.len() as f64;
    if k == 0 || 2 * k >= spectrum.len() {
        return k as f64 / size;
    }
    let (before, at, after) = (spectrum[k - 1], spectrum[k], spectrum[k + 1]);
    let denominator = at * 2.0 - before - after;
    if denominator.norm() < f64::MIN_POSITIVE {
        return k as f64 / size;
    }
    let jacobsen = ((before - after) / denominator).re;
    let bias = (PI / size).tan() / (PI / size);
    (k as f64 + (bias * jacobsen).clamp(-0.5, 0.5)) / size
}

/// `Σ y zᵗ` for `z = e^{iω}`: the waves turned by one step's rotation, renormalised now and then (n
/// rotations in floating point would drift off the circle).
fn wave_sum(values: &[f64], omega: f64) -> Complex<f64> {
    let step = Complex::from_polar(1.0, omega);
    let mut wave = Complex::new(1.0, 0.0);
    let mut sum = Complex::new(0.0, 0.0);
    for (t, y) in values.iter().enumerate() {
        if t % 1024 == 0 {
            wave = Complex::from_polar(1.0, omega * t as f64);
        }
        sum += wave * y;
        wave *= step;
    }
    sum
}

/// The power of `values` at `frequency` (cycles per step), the periodogram between the bins:
/// `|Σ y e^{2πift}|²` (the same for `−f`, `values` being real).
fn power_at(values: &[f64], frequency: f64) -> f64 {
    wave_sum(values, TAU * frequency).norm_sqr()
}

/// The frequencies of `bins` (strongest first) in `values`, whose FFT is `spectrum`: each bin's refined
/// frequency where the series has more power there than at the bin itself (the three-sample estimate
/// is thrown off where other peaks, or what the detrending left, leak into the neighbours, as at the
/// lowest bins), else the bin's; leaving out any within half a bin of a stronger one, since two bins of
/// one peak between them refine to about the same frequency, which would only be fitted twice.
fn frequencies(values: &[f64], spectrum: &[Complex<f64>], bins: &[usize]) -> Vec<f64> {
    let resolution = 1.0 / spectrum.len() as f64;
    let mut kept: Vec<f64> = Vec::with_capacity(bins.len());
    for &k in bins {
        let on_bin = k as f64 * resolution;
        let refined = refined_frequency(spectrum, k);
        let frequency =
            if k >= MIN_CYCLES_TO_REFINE && power_at(values, refined) > spectrum[k].norm_sqr() {
                refined
            } else {
                on_bin
            };
        if kept
            .iter()
            .all(|f| (f - frequency).abs() >= resolution / 2.0)
        {
            kept.push(frequency);
        }
    }
    kept
}

/// The regressors at step `t` of an `n`-point history: `1`, `t/n`, then `cos 2πft`, `sin 2πft` for each
/// frequency `f`.
fn regressors(t: usize, n: usize, frequencies: &[f64]) -> Vec<f64> {
    let mut row = Vec::with_capacity(2 + 2 * frequencies.len());
    row.push(1.0);
    row.push(t as f64 / n as f64);
    for f in frequencies {
        let (sin, cos) = (TAU * f * t as f64).sin_cos();
        row.push(cos);
        row.push(sin);
    }
    row
}

/// `Σ zᵗ` and `Σ t zᵗ` over t = 0…n−1, for `z = e^{iω}` (geometric sums and their derivative; at
/// `z = 1`, their limits `n` and `n(n−1)/2`).
fn geometric_sums(omega: f64, n: usize) -> (Complex<f64>, Complex<f64>) {
    let size = n as f64;
    let z = Complex::from_polar(1.0, omega);
    let one = Complex::new(1.0, 0.0);
    if (one - z).norm() < 1e-9 {
        return (
            Complex::new(size, 0.0),
            Complex::new(size * (size - 1.0) / 2.0, 0.0),
        );
    }
    let z_n = Complex::from_polar(1.0, omega * size);
    let z_n_1 = Complex::from_polar(1.0, omega * (size - 1.0));
    let sum = (one - z_n) / (one - z);
    // Σ t zᵗ = z (1 − n zⁿ⁻¹ + (n − 1) zⁿ) / (1 − z)².
    let weighted = z * (one - z_n_1 * size + z_n * (size - 1.0)) / ((one - z) * (one - z));
    (sum, weighted)
}

/// The normal equations `(XᵀX) θ = Xᵀy` of `history` on [`regressors`]. `XᵀX` has closed forms: with
/// `S(ω) = Σ e^{iωt}` and `T(ω) = Σ t e^{iωt}` ([`geometric_sums`]), `Σ cos at cos bt = ½ Re[S(a−b) +
/// S(a+b)]`, `Σ sin at sin bt = ½ Re[S(a−b) − S(a+b)]`, `Σ cos at sin bt = ½ Im[S(a+b) + S(b−a)]`,
/// `Σ cos at + i sin at = S(a)` and `Σ t (cos at + i sin at) = T(a)`; `Xᵀy` takes one pass over the
/// history per frequency ([`wave_sum`]).
fn normal_equations(history: &[f64], frequencies: &[f64]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let n = history.len();
    let size = n as f64;
    let p = 2 + 2 * frequencies.len();
    let omegas: Vec<f64> = frequencies.iter().map(|f| TAU * f).collect();
    let mut gram = vec![vec![0.0; p]; p];
    gram[0][0] = size;
    gram[0][1] = (size - 1.0) / 2.0;
    gram[1][1] = (size - 1.0) * (2.0 * size - 1.0) / (6.0 * size);
    for (i, &a) in omegas.iter().enumerate() {
        let (c, s) = (2 + 2 * i, 3 + 2 * i);
        let (sum, weighted) = geometric_sums(a, n);
        gram[0][c] = sum.re;
        gram[0][s] = sum.im;
        gram[1][c] = weighted.re / size;
        gram[1][s] = weighted.im / size;
        for (j, &b) in omegas.iter().enumerate().skip(i) {
            let (c2, s2) = (2 + 2 * j, 3 + 2 * j);
            let (difference, _) = geometric_sums(a - b, n);
            let (total, _) = geometric_sums(a + b, n);
            // S(b−a) is S(a−b)'s conjugate.
            gram[c][c2] = 0.5 * (difference.re + total.re);
            gram[s][s2] = 0.5 * (difference.re - total.re);
            gram[c][s2] = 0.5 * (total.im - difference.im);
            gram[s][c2] = 0.5 * (total.im + difference.im);
        }
    }
    for i in 1..p {
        let (above, below) = gram.split_at_mut(i);
        for (j, row) in above.iter().enumerate() {
            below[0][j] = row[i];
        }
    }
    let mut rhs = vec![0.0; p];
    rhs[0] = history.iter().sum();
    rhs[1] = history
        .iter()
        .enumerate()
        .map(|(t, y)| t as f64 * y)
        .sum::<f64>()
        / size;
    for (i, &omega) in omegas.iter().enumerate() {
        let sum = wave_sum(history, omega);
        rhs[2 + 2 * i] = sum.re;
        rhs[3 + 2 * i] = sum.im;
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
        let frequencies = frequencies(
            &detrended,
            &spectrum,
            &strongest_bins(&spectrum, self.harmonics),
        );
        // The trend and the waves are fitted to the detrended series (the line is added back): its
        // values are as small as the waves, where the series' own level, 10¹² on a counter, would cancel
        // every digit of the noise in the normal equations.
        let (gram, rhs) = normal_equations(&detrended, &frequencies);
        let size = n as f64;
        let coefficients = solve(&gram, &rhs, 1e-9 * size);
        let waves = |t: usize| -> f64 {
            regressors(t, n, &frequencies)
                .iter()
                .zip(&coefficients)
                .map(|(x, c)| x * c)
                .sum()
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
        let point = (n..n + horizon)
            .map(|t| intercept + slope * t as f64 + waves(t))
            .collect();
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
    fn a_season_between_the_bins_is_found_and_continued_whatever_the_length() {
        // A season of 48 steps: whole in 576 points, half a season over in 552 and 600. The forecast of
        // the next day must not depend on how the history's length divides the season.
        let series =
            |t: usize| 10.0 + 3.0 * (TAU * t as f64 / 48.0).sin() + (TAU * t as f64 / 16.0).cos();
        for n in [552_usize, 576, 600] {
            let history: Vec<f64> = (0..n).map(series).collect();
            let mut spectrum: Vec<Complex<f64>> =
                history.iter().map(|v| Complex::new(*v, 0.0)).collect();
            FftPlanner::new().plan_fft_forward(n).process(&mut spectrum);
            let found = frequencies(&history, &spectrum, &strongest_bins(&spectrum, 10));
            assert!(
                found.iter().any(|f| (1.0 / f - 48.0).abs() < 0.2),
                "n {n}: periods {:?}",
                found.iter().map(|f| 1.0 / f).collect::<Vec<_>>()
            );
            let forecast = Fourier::new(10).forecast(&history, 48, 0.95).unwrap();
            let worst = (0..48)
                .map(|h| (forecast.point[h] - series(n + h)).abs())
                .fold(0.0, f64::max);
            assert!(worst < 0.1, "n {n}: worst error {worst} of a swing of 3");
        }
    }

    #[test]
    fn a_season_as_long_as_the_history_stays_on_its_bin() {
        // One day of a daily series (one cycle over the history) with an hourly season and a trend: the
        // day's wave must be continued as it is, not moved off its bin by what the detrending leaves.
        let series = |t: usize| {
            let t = t as f64;
            50.0 + 0.001 * t + 10.0 * (TAU * t / 1_440.0).sin() + 3.0 * (TAU * t / 60.0).sin()
        };
        let history: Vec<f64> = (0..1_440).map(series).collect();
        let forecast = Fourier::new(10).forecast(&history, 60, 0.95).unwrap();
        let worst = (0..60)
            .map(|h| (forecast.point[h] - series(1_440 + h)).abs())
            .fold(0.0, f64::max);
        assert!(worst < 0.5, "worst error {worst} on a swing of 26");
    }

    #[test]
    fn the_closed_form_normal_equations_are_the_sums_themselves() {
        // Frequencies on and between the bins, and the Nyquist one, on a series with a trend and noise.
        for n in [101_usize, 240] {
            let noise = super::super::stats::gaussian_noise(5, n);
            let y: Vec<f64> = (0..n).map(|t| 3.0 + 0.05 * t as f64 + noise[t]).collect();
            let size = n as f64;
            let frequencies = [1.0 / size, 7.4 / size, 1.0 / 3.0, 0.5];
            let (gram, rhs) = normal_equations(&y, &frequencies);
            let columns: Vec<Vec<f64>> = (0..2 + 2 * frequencies.len())
                .map(|i| (0..n).map(|t| regressors(t, n, &frequencies)[i]).collect())
                .collect();
            let sum = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
            for (i, column) in columns.iter().enumerate() {
                assert!((rhs[i] - sum(column, &y)).abs() < 1e-8, "n {n}: Xᵀy[{i}]");
                for (j, other) in columns.iter().enumerate() {
                    let expected = sum(column, other);
                    assert!(
                        (gram[i][j] - expected).abs() < 1e-8,
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
