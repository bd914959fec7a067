//! `arima`: ARIMA(p, d, q), with one seasonal difference when the series has a strong season, the
//! orders chosen like `auto.arima` (R's forecast package) and statsforecast's `AutoARIMA`:
//!
//! - the seasonal difference (period `season`, configured or detected) when the seasonal strength of a
//!   classical decomposition exceeds 0.64 (`nsdiffs`' heuristic) and at least three seasons are held;
//! - `d` by repeated KPSS tests at 5 % (`ndiffs`), at most 2;
//! - `p` and `q` in 0..=2 by `AICc`, each with and without a constant (the mean, or the drift after one
//!   difference) when `d` plus the seasonal difference is at most 1.
//!
//! Each candidate is fitted by exact Gaussian maximum likelihood (a Kalman filter over Harvey's state
//! space form, the state covariance started at its stationary value, `sigma2` concentrated out), as
//! statsmodels and R do, with argmin's Nelder-Mead. The AR and MA coefficients are optimised through the
//! partial autocorrelations (Jones' and Monahan's transform), so every candidate is stationary and
//! invertible by construction. Forecasts come from the filtered state; the interval of step `h` from the
//! psi-weights of the whole model, differences included: `sigma2 * (psi_0^2 + ... + psi_{h-1}^2)`.
//! Not seasonal ARMA terms (no P, Q): the seasonal difference carries the season.
//!
//! `bench/arima-reference.sh` fits the same orders with statsmodels; `tests/integration/arima.rs` checks
//! this module against those numbers.

use argmin::core::{CostFunction, Executor};
use argmin::solver::neldermead::NelderMead;

use super::model::{Forecast, Model, ModelError, check_history};
use super::stats::{
    detect_season, lagged_products, mean, squared_deviations, two_sided_z, variance,
};

const NAME: &str = "arima";
/// Fewer points than this leave too little to choose the orders from.
const MIN_POINTS: usize = 16;
/// The largest AR and MA orders the automatic search tries.
const MAX_ORDER: usize = 2;
/// `nsdiffs`' threshold on the seasonal strength.
const SEASONAL_STRENGTH: f64 = 0.64;
/// The KPSS statistic's 5 % critical value (level stationarity, Kwiatkowski et al. 1992, table 1).
const KPSS_CRITICAL: f64 = 0.463;
/// Nelder-Mead's budget per fit; the fits here have at most five parameters.
const MAX_ITERATIONS: u64 = 2_000;

/// How closely a fit maximises its likelihood.
#[derive(Debug, Clone, Copy)]
enum Precision {
    /// The order search, as `auto.arima` approximates its candidates: one Nelder-Mead run until the
    /// simplex's spread is 1e-7. `AICc` differences that decide between orders are far larger than what the
    /// last digits would change.
    Search,
    /// The fit kept: a run to a spread of 1e-10, restarted once from its result.
    Exact,
}

/// An ARIMA specification: the AR and MA orders, the differences, and whether a constant is estimated
/// (the mean of the differenced series: the level when nothing is differenced, the drift after one
/// difference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub p: usize,
    pub d: usize,
    pub q: usize,
    /// The period of one seasonal difference, applied before the `d` ordinary ones.
    pub seasonal_difference: Option<usize>,
    pub constant: bool,
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ARIMA({},{},{})", self.p, self.d, self.q)?;
        if let Some(season) = self.seasonal_difference {
            write!(f, "(0,1,0)[{season}]")?;
        }
        if self.constant {
            write!(f, " with constant")?;
        }
        Ok(())
    }
}

/// A fitted ARIMA: its coefficients, and what forecasting needs of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct ArimaFit {
    order: Order,
    ar: Vec<f64>,
    ma: Vec<f64>,
    constant: f64,
    sigma2: f64,
    loglik: f64,
    /// The history's last values, as many as the differences reach back.
    tail: Vec<f64>,
    /// The differences as a polynomial in the backshift operator: `y_t = sum delta_i y_{t-i} + w_t`.
    delta: Vec<f64>,
    /// The filtered state after the last observation, in the standardised units of the fit.
    state: Vec<f64>,
    /// The constant and scale that standardised the differenced series.
    centre: f64,
    scale: f64,
}

impl ArimaFit {
    /// Fits `order` to `history` by exact maximum likelihood.
    pub fn fit(history: &[f64], order: Order) -> Result<Self, ModelError> {
        Self::fit_to(history, order, Precision::Exact)
    }

    fn fit_to(history: &[f64], order: Order, precision: Precision) -> Result<Self, ModelError> {
        let season = order.seasonal_difference.unwrap_or(0);
        let reach = order.d + season;
        let parameters = order.p + order.q + usize::from(order.constant);
        check_history(NAME, history, reach + parameters + MIN_POINTS)?;
        let delta = difference_polynomial(order.d, order.seasonal_difference);
        let differenced = apply_differences(history, &delta);
        let n = differenced.len();
        let centre = if order.constant {
            mean(&differenced)
        } else {
            0.0
        };
        let scale = (squared_deviations(&differenced, centre) / n as f64).sqrt();
        let tail = history[history.len() - reach..].to_vec();
        if scale <= 1e-12 * (1.0 + centre.abs()) {
            // The differences are constant: the model is exact, with nothing left to estimate and no
            // noise. Its likelihood is unbounded, which makes it the best candidate, as it should be.
            return Ok(Self {
                order,
                ar: vec![0.0; order.p],
                ma: vec![0.0; order.q],
                constant: centre,
                sigma2: 0.0,
                loglik: f64::INFINITY,
                tail,
                delta,
                state: vec![0.0; order.p.max(order.q + 1)],
                centre,
                scale: 0.0,
            });
        }
        let standardised: Vec<f64> = differenced.iter().map(|w| (w - centre) / scale).collect();
        let problem = Likelihood {
            series: &standardised,
            p: order.p,
            q: order.q,
            constant: order.constant,
        };
        let raw = if parameters == 0 {
            Vec::new()
        } else {
            minimise(&problem, parameters, precision)?
        };
        let (ar, ma, mean) = problem.coefficients(&raw);
        let filtered = kalman(&standardised, &ar, &ma, mean).ok_or_else(|| ModelError::Failed {
            model: NAME,
            reason: format!("{order}: the Kalman filter diverged at the estimate"),
        })?;
        let nf = n as f64;
        let sigma2_standard = filtered.sum_squares / nf;
        let sigma2 = sigma2_standard * scale * scale;
        let loglik = -0.5 * (nf * ((std::f64::consts::TAU * sigma2).ln() + 1.0) + filtered.log_f);
        if !(sigma2.is_finite() && loglik.is_finite()) {
            return Err(ModelError::Failed {
                model: NAME,
                reason: format!("{order}: the likelihood is not finite at the estimate"),
            });
        }
        Ok(Self {
            order,
            ar,
            ma,
            constant: centre + scale * mean,
            sigma2,
            loglik,
            tail,
            delta,
            state: filtered.state,
            centre,
            scale,
        })
    }

    #[must_use]
    pub fn order(&self) -> Order {
        self.order
    }

    /// The AR coefficients `phi_1..phi_p`, in `(1 - phi_1 B - ...)(w_t - constant) = (1 + theta_1 B + ...) e_t`.
    #[must_use]
    pub fn ar(&self) -> &[f64] {
        &self.ar
    }

    /// The MA coefficients `theta_1..theta_q`.
    #[must_use]
    pub fn ma(&self) -> &[f64] {
        &self.ma
    }

    /// The mean of the differenced series (0 without a constant).
    #[must_use]
    pub fn constant(&self) -> f64 {
        self.constant
    }

    /// The innovations' variance (maximum likelihood estimate).
    #[must_use]
    pub fn sigma2(&self) -> f64 {
        self.sigma2
    }

    /// The exact Gaussian log-likelihood of the differenced series.
    #[must_use]
    pub fn loglik(&self) -> f64 {
        self.loglik
    }

    /// Parameters counted by the information criteria: the coefficients, the constant and `sigma2`.
    fn parameters(&self) -> usize {
        self.order.p + self.order.q + usize::from(self.order.constant) + 1
    }

    /// The corrected Akaike information criterion on `observations` differenced points.
    fn aicc(&self, observations: usize) -> f64 {
        let k = self.parameters() as f64;
        let n = observations as f64;
        if n - k - 1.0 <= 0.0 {
            return f64::INFINITY;
        }
        -2.0 * self.loglik + 2.0 * k + 2.0 * k * (k + 1.0) / (n - k - 1.0)
    }

    /// The next `horizon` values with a `level` prediction interval.
    #[must_use]
    pub fn forecast(&self, horizon: usize, level: f64) -> Forecast {
        // The differenced series, ahead: the state evolves without new shocks.
        let mut state = self.state.clone();
        let mut differenced = Vec::with_capacity(horizon);
        let mean = if self.scale > 0.0 {
            (self.constant - self.centre) / self.scale
        } else {
            0.0
        };
        for _ in 0..horizon {
            differenced.push(self.centre + self.scale * (mean + state[0]));
            state = transition(&state, &self.ar);
        }
        // The differences undone, step by step, from the history's last values.
        let mut levels = self.tail.clone();
        let reach = levels.len();
        for w in &differenced {
            let next = w + self
                .delta
                .iter()
                .enumerate()
                .map(|(i, coefficient)| coefficient * levels[levels.len() - 1 - i])
                .sum::<f64>();
            levels.push(next);
        }
        let point = levels.split_off(reach);
        let psi = psi_weights(&self.ar, &self.ma, &self.delta, horizon);
        let z = two_sided_z(level);
        let mut variance = 0.0;
        let halves = psi.iter().take(point.len()).map(|psi| {
            variance += psi * psi;
            z * (self.sigma2 * variance).sqrt()
        });
        Forecast::around(point, halves)
    }
}

/// `(1 - B)^d (1 - B^s)` as the `delta_i` of `y_t = sum delta_i y_{t-i} + w_t`.
fn difference_polynomial(d: usize, season: Option<usize>) -> Vec<f64> {
    // Coefficients of the operator itself, from B^0: start with 1.
    let mut operator = vec![1.0];
    let multiply = |operator: &[f64], lag: usize| {
        let mut product = vec![0.0; operator.len() + lag];
        for (i, c) in operator.iter().enumerate() {
            product[i] += c;
            product[i + lag] -= c;
        }
        product
    };
    if let Some(season) = season {
        operator = multiply(&operator, season);
    }
    for _ in 0..d {
        operator = multiply(&operator, 1);
    }
    operator[1..].iter().map(|c| -c).collect()
}

/// The differenced series `w_t = y_t - sum delta_i y_{t-i}`, from the first `t` all lags reach.
fn apply_differences(history: &[f64], delta: &[f64]) -> Vec<f64> {
    let reach = delta.len();
    (reach..history.len())
        .map(|t| {
            history[t]
                - delta
                    .iter()
                    .enumerate()
                    .map(|(i, c)| c * history[t - 1 - i])
                    .sum::<f64>()
        })
        .collect()
}

/// The psi-weights of the whole model (differences as extra AR terms): `psi_0 = 1`,
/// `psi_j = theta_j + sum_i phi*_i psi_{j-i}` with `phi*(B) = phi(B) (1 - B)^d (1 - B^s)`.
fn psi_weights(ar: &[f64], ma: &[f64], delta: &[f64], count: usize) -> Vec<f64> {
    // phi*(B) = (1 - sum ar_i B^i)(1 - sum delta_i B^i), as the coefficients of a "1 - sum" form.
    let mut combined = vec![0.0; ar.len() + delta.len()];
    let left: Vec<f64> = std::iter::once(1.0).chain(ar.iter().map(|a| -a)).collect();
    let right: Vec<f64> = std::iter::once(1.0)
        .chain(delta.iter().map(|c| -c))
        .collect();
    for (i, l) in left.iter().enumerate() {
        for (j, r) in right.iter().enumerate() {
            if i + j > 0 {
                combined[i + j - 1] -= l * r;
            }
        }
    }
    let mut psi = Vec::with_capacity(count);
    for j in 0..count {
        let mut value = if j == 0 {
            1.0
        } else {
            ma.get(j - 1).copied().unwrap_or(0.0)
        };
        for (i, phi) in combined.iter().enumerate() {
            if i < j {
                value += phi * psi[j - 1 - i];
            }
        }
        psi.push(value);
    }
    psi
}

/// Partial autocorrelations in (-1, 1) (the `tanh` of unconstrained values) to the coefficients of a
/// stationary AR polynomial (Durbin-Levinson; R's `partrans`).
fn stationary_coefficients(raw: &[f64]) -> Vec<f64> {
    let mut coefficients: Vec<f64> = raw.iter().map(|r| r.tanh()).collect();
    let mut work = coefficients.clone();
    for j in 1..coefficients.len() {
        let a = coefficients[j];
        for k in 0..j {
            work[k] -= a * coefficients[j - k - 1];
        }
        coefficients[..j].copy_from_slice(&work[..j]);
    }
    coefficients
}

/// The state one step on, without a shock: `a' = T a`, `T` with `phi` down its first column and ones
/// above its diagonal.
fn transition(state: &[f64], ar: &[f64]) -> Vec<f64> {
    let r = state.len();
    (0..r)
        .map(|i| {
            ar.get(i).copied().unwrap_or(0.0) * state[0] + state.get(i + 1).copied().unwrap_or(0.0)
        })
        .collect()
}

/// What one pass of the Kalman filter leaves: the sums the concentrated likelihood needs and the
/// state after the last observation.
struct Filtered {
    /// `sum v_t^2 / F_t`.
    sum_squares: f64,
    /// `sum ln F_t`.
    log_f: f64,
    state: Vec<f64>,
}

/// The Kalman filter of `(series - mean)` as the ARMA(`ar`, `ma`) with unit innovation variance,
/// in Harvey's form (state dimension `max(p, q + 1)`), started at the stationary covariance.
/// `None` when the model is not stationary or the filter degenerates.
fn kalman(series: &[f64], ar: &[f64], ma: &[f64], mean: f64) -> Option<Filtered> {
    let r = ar.len().max(ma.len() + 1);
    let loading: Vec<f64> = (0..r)
        .map(|i| {
            if i == 0 {
                1.0
            } else {
                ma.get(i - 1).copied().unwrap_or(0.0)
            }
        })
        .collect();
    let phi = |i: usize| ar.get(i).copied().unwrap_or(0.0);
    let mut covariance = stationary_covariance(ar, &loading)?;
    let mut state = vec![0.0; r];
    let (mut sum_squares, mut log_f) = (0.0, 0.0);
    let mut gain = vec![0.0; r];
    let mut steady = false;
    let mut updated = vec![vec![0.0; r]; r];
    for value in series {
        let innovation = value - mean - state[0];
        let f = if steady { 1.0 } else { covariance[0][0] };
        if !(f.is_finite() && f > 1e-12) {
            return None;
        }
        if !steady {
            for i in 0..r {
                gain[i] = covariance[i][0] / f;
            }
        }
        sum_squares += innovation * innovation / f;
        log_f += f.ln();
        // Update, then predict: a = T (a + K v).
        for i in 0..r {
            state[i] += gain[i] * innovation;
        }
        state = transition(&state, ar);
        if steady {
            continue;
        }
        // P|t = P - P[.,0] P[0,.] / F; then P = T P|t T' + R R'.
        for i in 0..r {
            for j in 0..r {
                updated[i][j] = covariance[i][j] - covariance[i][0] * covariance[0][j] / f;
            }
        }
        // M = T P|t: row i is phi_i * row 0 + row i+1.
        let rows: Vec<Vec<f64>> = (0..r)
            .map(|i| {
                (0..r)
                    .map(|j| phi(i) * updated[0][j] + updated.get(i + 1).map_or(0.0, |row| row[j]))
                    .collect()
            })
            .collect();
        let mut largest_change: f64 = 0.0;
        for i in 0..r {
            for j in 0..r {
                let next = rows[i][0] * phi(j)
                    + rows[i].get(j + 1).copied().unwrap_or(0.0)
                    + loading[i] * loading[j];
                largest_change = largest_change.max((next - covariance[i][j]).abs());
                covariance[i][j] = next;
            }
        }
        // Once the covariance stops moving, the gain is fixed and F is 1 (the innovation variance):
        // the rest is a plain recursion, as in R's `arima` once its filter converges.
        if largest_change < 1e-12 && (covariance[0][0] - 1.0).abs() < 1e-9 {
            steady = true;
            for i in 0..r {
                gain[i] = covariance[i][0];
            }
        }
    }
    Some(Filtered {
        sum_squares,
        log_f,
        state,
    })
}

/// The stationary state covariance `P = T P T' + R R'`, solved as `(I - T (x) T) vec P = vec R R'`.
fn stationary_covariance(ar: &[f64], loading: &[f64]) -> Option<Vec<Vec<f64>>> {
    let r = loading.len();
    let transition_at = |i: usize, j: usize| {
        let mut value = if j == 0 {
            ar.get(i).copied().unwrap_or(0.0)
        } else {
            0.0
        };
        if j == i + 1 {
            value += 1.0;
        }
        value
    };
    let size = r * r;
    let mut system = vec![vec![0.0; size + 1]; size];
    for i in 0..r {
        for j in 0..r {
            let row = i * r + j;
            system[row][row] += 1.0;
            for k in 0..r {
                for l in 0..r {
                    system[row][k * r + l] -= transition_at(i, k) * transition_at(j, l);
                }
            }
            system[row][size] = loading[i] * loading[j];
        }
    }
    let solution = solve(system)?;
    Some(solution.chunks(r).map(<[f64]>::to_vec).collect())
}

/// Gaussian elimination with partial pivoting of an augmented system; `None` when singular.
fn solve(mut system: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let size = system.len();
    for column in 0..size {
        let pivot = (column..size)
            .max_by(|&a, &b| system[a][column].abs().total_cmp(&system[b][column].abs()))?;
        system.swap(column, pivot);
        let lead = system[column][column];
        if lead.abs() < 1e-12 {
            return None;
        }
        let pivot_row = system[column].clone();
        for row in system.iter_mut().skip(column + 1) {
            let factor = row[column] / lead;
            if factor != 0.0 {
                for (value, above) in row[column..].iter_mut().zip(&pivot_row[column..]) {
                    *value -= factor * above;
                }
            }
        }
    }
    let mut solution = vec![0.0; size];
    for row in (0..size).rev() {
        let known: f64 = (row + 1..size).map(|k| system[row][k] * solution[k]).sum();
        solution[row] = (system[row][size] - known) / system[row][row];
    }
    solution.iter().all(|x| x.is_finite()).then_some(solution)
}

/// The concentrated negative log-likelihood (divided by the length) of a standardised series, as a
/// function of the unconstrained parameters: `p` AR and `q` MA partial autocorrelations (through
/// `tanh`), then the mean.
#[derive(Clone, Copy)]
struct Likelihood<'a> {
    series: &'a [f64],
    p: usize,
    q: usize,
    constant: bool,
}

impl Likelihood<'_> {
    fn coefficients(&self, raw: &[f64]) -> (Vec<f64>, Vec<f64>, f64) {
        let ar = stationary_coefficients(&raw[..self.p]);
        // theta(B) = 1 + sum theta_j B^j is invertible when -theta are stationary AR coefficients.
        let ma = stationary_coefficients(&raw[self.p..self.p + self.q])
            .into_iter()
            .map(|c| -c)
            .collect();
        let mean = if self.constant {
            raw[self.p + self.q]
        } else {
            0.0
        };
        (ar, ma, mean)
    }
}

impl CostFunction for Likelihood<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, raw: &Self::Param) -> Result<f64, argmin::core::Error> {
        let (ar, ma, mean) = self.coefficients(raw);
        let n = self.series.len() as f64;
        // Outside the feasible region (a filter that degenerates) the cost is merely large, so the
        // simplex walks back; never NaN, which would stall its ordering.
        let cost = kalman(self.series, &ar, &ma, mean)
            .map(|filtered| (filtered.sum_squares / n).ln() + filtered.log_f / n)
            .filter(|cost| cost.is_finite())
            .unwrap_or(1e10);
        Ok(cost)
    }
}

/// Nelder-Mead from zero (white noise around the sample mean); for an exact fit, restarted once from its
/// result: a simplex that collapsed early gets a second, fresh one.
fn minimise(
    problem: &Likelihood<'_>,
    parameters: usize,
    precision: Precision,
) -> Result<Vec<f64>, ModelError> {
    let failed = |error: argmin::core::Error| ModelError::Failed {
        model: NAME,
        reason: format!("the likelihood's optimiser failed: {error}"),
    };
    let (runs, tolerance) = match precision {
        Precision::Search => (1, 1e-7),
        Precision::Exact => (2, 1e-10),
    };
    let mut start = vec![0.0; parameters];
    for _ in 0..runs {
        let mut simplex = vec![start.clone()];
        for k in 0..parameters {
            let mut vertex = start.clone();
            vertex[k] += 0.3;
            simplex.push(vertex);
        }
        let solver = NelderMead::new(simplex)
            .with_sd_tolerance(tolerance)
            .map_err(failed)?;
        let result = Executor::new(*problem, solver)
            .configure(|state| state.max_iters(MAX_ITERATIONS))
            .run()
            .map_err(failed)?;
        start = result
            .state()
            .best_param
            .clone()
            .ok_or_else(|| ModelError::Failed {
                model: NAME,
                reason: "the likelihood's optimiser returned no estimate".to_owned(),
            })?;
    }
    Ok(start)
}

/// The KPSS statistic of level stationarity, with `trunc(3 sqrt(n) / 13)` Bartlett lags (as `ndiffs`).
fn kpss(series: &[f64]) -> Option<f64> {
    let n = series.len();
    let mean = mean(series);
    let residuals: Vec<f64> = series.iter().map(|x| x - mean).collect();
    // floor(3 sqrt(n) / 13) = floor(floor(sqrt(9 n)) / 13), in integers.
    let lags = (9 * n).isqrt() / 13;
    let autocovariance = |lag: usize| lagged_products(&residuals, lag) / n as f64;
    let long_run = autocovariance(0)
        + 2.0
            * (1..=lags)
                .map(|lag| (1.0 - lag as f64 / (lags as f64 + 1.0)) * autocovariance(lag))
                .sum::<f64>();
    if long_run <= 1e-12 * (1.0 + mean * mean) {
        return None;
    }
    let mut partial = 0.0;
    let sum_squares: f64 = residuals
        .iter()
        .map(|e| {
            partial += e;
            partial * partial
        })
        .sum();
    Some(sum_squares / (n as f64 * n as f64 * long_run))
}

/// Ordinary differences KPSS asks for, at most 2 (`ndiffs`).
fn differences_needed(series: &[f64]) -> usize {
    let mut current = series.to_vec();
    for d in 0..2 {
        match kpss(&current) {
            Some(statistic) if statistic > KPSS_CRITICAL => {
                current = current.windows(2).map(|w| w[1] - w[0]).collect();
            }
            _ => return d,
        }
    }
    2
}

/// The seasonal strength `max(0, 1 - var(remainder) / var(season + remainder))` of a classical
/// decomposition (a centred moving average as the trend, phase means as the season).
fn seasonal_strength(series: &[f64], season: usize) -> f64 {
    let n = series.len();
    let half = season / 2;
    if n < 2 * season + 1 {
        return 0.0;
    }
    // A 2 x m moving average when m is even, an m one when it is odd.
    let trend = |t: usize| {
        if season.is_multiple_of(2) {
            let inner: f64 = series[t - half + 1..t + half].iter().sum();
            (inner + 0.5 * (series[t - half] + series[t + half])) / season as f64
        } else {
            series[t - half..=t + half].iter().sum::<f64>() / season as f64
        }
    };
    let range = half..n - half;
    let detrended: Vec<(usize, f64)> = range.map(|t| (t, series[t] - trend(t))).collect();
    let mut sums = vec![(0.0, 0_usize); season];
    for (t, value) in &detrended {
        sums[t % season].0 += value;
        sums[t % season].1 += 1;
    }
    let means: Vec<f64> = sums
        .iter()
        .map(|(sum, count)| {
            if *count == 0 {
                0.0
            } else {
                sum / *count as f64
            }
        })
        .collect();
    let total = variance(&detrended.iter().map(|(_, v)| *v).collect::<Vec<_>>());
    let remainder = variance(
        &detrended
            .iter()
            .map(|(t, v)| v - means[t % season])
            .collect::<Vec<_>>(),
    );
    if total <= 0.0 {
        0.0
    } else {
        (1.0 - remainder / total).max(0.0)
    }
}

/// Chooses the differences, then the orders by `AICc` over fits made for the search, and fits the winner
/// exactly.
pub fn auto_fit(history: &[f64], season: Option<usize>) -> Result<ArimaFit, ModelError> {
    check_history(NAME, history, MIN_POINTS)?;
    let seasonal_difference = season.filter(|&s| {
        s >= 2
            && history.len() >= 3 * s + MIN_POINTS
            && seasonal_strength(history, s) > SEASONAL_STRENGTH
    });
    let after_season = match seasonal_difference {
        Some(s) => apply_differences(history, &difference_polynomial(0, Some(s))),
        None => history.to_vec(),
    };
    let d = differences_needed(&after_season);
    let observations = after_season.len() - d;
    let constants: &[bool] = if d + usize::from(seasonal_difference.is_some()) <= 1 {
        &[true, false]
    } else {
        &[false]
    };
    let mut best: Option<(f64, ArimaFit)> = None;
    let mut first_error = None;
    for p in 0..=MAX_ORDER {
        for q in 0..=MAX_ORDER {
            for &constant in constants {
                let order = Order {
                    p,
                    d,
                    q,
                    seasonal_difference,
                    constant,
                };
                match ArimaFit::fit_to(history, order, Precision::Search) {
                    Ok(fit) => {
                        let aicc = if fit.loglik.is_infinite() {
                            f64::NEG_INFINITY
                        } else {
                            fit.aicc(observations)
                        };
                        if best.as_ref().is_none_or(|(score, _)| aicc < *score) {
                            best = Some((aicc, fit));
                        }
                    }
                    Err(error) => {
                        first_error.get_or_insert(error);
                    }
                }
            }
        }
    }
    let (_, searched) = best.ok_or_else(|| {
        first_error.unwrap_or(ModelError::Failed {
            model: NAME,
            reason: "no candidate order could be fitted".to_owned(),
        })
    })?;
    // The search's fit stands in if the exact one fails where it did not.
    Ok(ArimaFit::fit(history, searched.order).unwrap_or(searched))
}

/// The model; `season` in steps, detected from the history when `None`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Arima {
    season: Option<usize>,
}

impl Arima {
    #[must_use]
    pub(super) fn new(season: Option<usize>) -> Self {
        Self { season }
    }
}

impl Model for Arima {
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
        let season = self.season.unwrap_or_else(|| detect_season(history));
        let forecast = auto_fit(history, Some(season))?.forecast(horizon, level);
        forecast.finite(NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::super::stats::gaussian_noise as noise;
    use super::*;

    fn order(p: usize, d: usize, q: usize, constant: bool) -> Order {
        Order {
            p,
            d,
            q,
            seasonal_difference: None,
            constant,
        }
    }

    #[test]
    fn an_ar1_gives_back_its_coefficient_mean_and_variance() {
        // y_t - 3 = 0.7 (y_{t-1} - 3) + e_t, e ~ N(0, 0.5^2); 2,000 points pin phi to about +-0.016 (one
        // standard error, sqrt((1 - phi^2) / n)).
        let shocks = noise(7, 2_100);
        let mut y = vec![3.0];
        for e in &shocks[1..] {
            let last = y[y.len() - 1];
            y.push(3.0 + 0.7 * (last - 3.0) + 0.5 * e);
        }
        let fit = ArimaFit::fit(&y[100..], order(1, 0, 0, true)).unwrap();
        assert!((fit.ar()[0] - 0.7).abs() < 0.05, "phi {}", fit.ar()[0]);
        assert!(
            (fit.constant() - 3.0).abs() < 0.1,
            "mean {}",
            fit.constant()
        );
        assert!(
            (fit.sigma2() - 0.25).abs() < 0.025,
            "sigma2 {}",
            fit.sigma2()
        );
        // Its forecast decays to the mean by phi^h, inside an interval widening to the series' spread.
        let forecast = fit.forecast(50, 0.95);
        let last = y[y.len() - 1];
        let expected = fit.constant() + fit.ar()[0] * (last - fit.constant());
        assert!((forecast.point[0] - expected).abs() < 1e-9);
        let far = (forecast.upper[49] - forecast.lower[49]) / (2.0 * 1.959_964);
        let stationary = (fit.sigma2() / (1.0 - fit.ar()[0].powi(2))).sqrt();
        assert!((far - stationary).abs() < 1e-6, "{far} vs {stationary}");
    }

    #[test]
    fn estimates_stay_stationary_and_invertible() {
        // A random walk fitted as a stationary ARMA(1,1): the AR coefficient approaches 1 but never
        // reaches it, and the MA stays inside the unit circle.
        let mut level = 0.0;
        let walk: Vec<f64> = noise(11, 400)
            .iter()
            .map(|e| {
                level += e;
                level
            })
            .collect();
        let fit = ArimaFit::fit(&walk, order(1, 0, 1, true)).unwrap();
        assert!(
            fit.ar()[0].abs() < 1.0 && fit.ma()[0].abs() < 1.0,
            "{fit:?}"
        );
        assert!(
            stationary_coefficients(&[5.0, -5.0])
                .iter()
                .all(|c| c.is_finite())
        );
    }

    #[test]
    fn differences_are_polynomials_in_the_backshift() {
        // (1 - B)(1 - B^4) = 1 - B - B^4 + B^5: y_t = y_{t-1} + y_{t-4} - y_{t-5} + w_t.
        let delta = difference_polynomial(1, Some(4));
        let expected = [1.0, 0.0, 0.0, 1.0, -1.0];
        assert!(
            delta
                .iter()
                .zip(expected)
                .all(|(a, b)| (a - b).abs() < 1e-12)
        );
        // A random walk's psi-weights are all 1: the variance grows linearly.
        let psi = psi_weights(&[], &[], &difference_polynomial(1, None), 5);
        assert!(psi.iter().all(|p| (p - 1.0).abs() < 1e-12), "{psi:?}");
        // An AR(1)'s are phi^j; an MA(1)'s are 1, theta, 0...
        let psi = psi_weights(&[0.5], &[], &[], 4);
        assert!((psi[3] - 0.125).abs() < 1e-12, "{psi:?}");
        let psi = psi_weights(&[], &[0.4], &[], 3);
        assert!(
            (psi[1] - 0.4).abs() < 1e-12 && psi[2].abs() < 1e-12,
            "{psi:?}"
        );
    }

    #[test]
    fn the_automatic_orders_difference_a_walk_and_keep_a_noise_level() {
        let shocks = noise(3, 600);
        let mut level = 100.0;
        let walk: Vec<f64> = shocks
            .iter()
            .map(|e| {
                level += 0.5 + e;
                level
            })
            .collect();
        let fit = auto_fit(&walk, None).unwrap();
        assert_eq!(fit.order().d, 1, "{}", fit.order());
        let noise_level: Vec<f64> = shocks.iter().map(|e| 20.0 + e).collect();
        let fit = auto_fit(&noise_level, None).unwrap();
        assert_eq!(fit.order().d, 0, "{}", fit.order());
        assert!((fit.constant() - 20.0).abs() < 0.2, "{}", fit.constant());
    }

    #[test]
    fn a_line_and_a_flat_series_are_continued_exactly() {
        let line: Vec<f64> = (0..50).map(|t| 2.0 + 0.5 * f64::from(t)).collect();
        let forecast = Arima::new(Some(1)).forecast(&line, 5, 0.95).unwrap();
        for (h, point) in forecast.point.iter().enumerate() {
            assert!(
                (point - (2.0 + 0.5 * (50 + h) as f64)).abs() < 1e-9,
                "{point}"
            );
            assert!((forecast.upper[h] - forecast.lower[h]).abs() < 1e-9);
        }
        let forecast = Arima::new(None).forecast(&[4.0; 30], 3, 0.9).unwrap();
        assert!(forecast.point.iter().all(|p| (p - 4.0).abs() < 1e-12));
    }

    #[test]
    fn a_strong_season_is_differenced_away_and_carried_forward() {
        let shocks = noise(5, 400);
        let seasonal = |t: usize| 10.0 + 3.0 * (std::f64::consts::TAU * t as f64 / 24.0).sin();
        let history: Vec<f64> = (0..400).map(|t| seasonal(t) + 0.1 * shocks[t]).collect();
        let fit = auto_fit(&history, Some(24)).unwrap();
        assert_eq!(fit.order().seasonal_difference, Some(24), "{}", fit.order());
        let forecast = fit.forecast(24, 0.95);
        for (h, point) in forecast.point.iter().enumerate() {
            assert!((point - seasonal(400 + h)).abs() < 0.4, "step {h}: {point}");
        }
    }

    #[test]
    fn bad_histories_are_typed_errors() {
        let model = Arima::new(None);
        assert!(matches!(
            model.forecast(&[1.0; 5], 3, 0.9),
            Err(ModelError::TooShort { need: 16, .. })
        ));
        let mut history = vec![1.0; 40];
        history[7] = f64::INFINITY;
        assert!(matches!(
            model.forecast(&history, 3, 0.9),
            Err(ModelError::NotFinite { at: 7, .. })
        ));
        assert!(matches!(
            ArimaFit::fit(&[1.0, 2.0, 3.0, 5.0], order(2, 1, 2, false)),
            Err(ModelError::TooShort { .. })
        ));
    }
}
