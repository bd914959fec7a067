//! Prophet's fit solved exactly: the maximum a posteriori point of Prophet's own Stan program
//! (`prophet.stan`, optimised without the Jacobian as Python's default `optimizing` does), for a linear or
//! flat trend with additive terms, which is every fit promlab makes.
//!
//! In that case the mean is linear in the parameters: `y ~ N(Zθ, σ²)` with `θ = (k, m, δ, β)` and
//! `Z = [t, 1, (t − t_c)₊, X]`. Up to constants, the negative log posterior is
//!
//! ```text
//! F(θ, σ) = (k² + m²)/50 + Σ|δ|/τ + Σ β²/(2 s²) + 2σ² + T ln σ + ‖y − Zθ‖²/(2σ²)
//! ```
//!
//! For a fixed σ it is a lasso with ridge terms, solved exactly on the Gram matrix by an active-set search;
//! for a fixed θ it has a closed-form minimum in σ. Alternating the two exact minimisations reaches the
//! joint mode in a few milliseconds, where Stan's L-BFGS, under WebAssembly, takes a third of a second on a
//! week of minutes.
//! Any other case (a logistic trend, multiplicative terms, a noiseless series, a solve that does not
//! converge) is handed to Stan's program itself.

use augurs::prophet::optimizer::{Data, OptimizedParams, TrendIndicator};

/// Feature-sign steps, per parameter, before the solve is given up (and Stan takes over).
const STEPS_PER_PARAMETER: usize = 20;
/// Alternations of the θ and σ minimisations before the solve is given up.
const ALTERNATIONS: usize = 500;
/// σ² is found when it moves by less than this, relatively.
const SIGMA_TOLERANCE: f64 = 1e-13;
/// The smallest σ (the series scaled to at most 1) the mode may have: below it the series is fitted without
/// noise and the posterior has no mode (it grows without bound as σ → 0).
const MIN_SIGMA: f64 = 1e-9;
/// Where a noiseless series' fit stops instead (Stan, too, stops near that boundary, wherever its line
/// search gives up): the θ that maximises the posterior at σ = this floor, a noise a thousand times below
/// anything a plot or a band of the scaled series shows. The mock's `sine` scenario is such a series.
const NOISE_FLOOR: f64 = 1e-4;

/// Why the exact solution was not found; Stan's program is run instead.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Unsolved {
    /// A logistic trend or multiplicative terms: the mean is not linear in the parameters.
    NotLinear,
    /// The data's lengths do not agree with its counts.
    Malformed,
    /// The active-set search or the σ alternation did not settle.
    NotConverged,
}

impl Unsolved {
    /// Why, in words.
    pub(super) fn explain(&self) -> &'static str {
        match self {
            Self::NotLinear => "a logistic trend or multiplicative terms",
            Self::Malformed => "the data's lengths disagree",
            Self::NotConverged => "the search did not settle",
        }
    }
}

/// The maximum a posteriori parameters of Prophet's model for `data`.
pub(super) fn solve(data: &Data) -> Result<OptimizedParams, Unsolved> {
    let problem = Problem::new(data)?;
    let mut theta = vec![0.0; problem.p];
    let mut sigma2 = problem.sigma2(problem.rss(&theta));
    let mut settled = false;
    for _ in 0..ALTERNATIONS {
        if sigma2 < MIN_SIGMA * MIN_SIGMA {
            return at_the_noise_floor(&problem, theta);
        }
        problem.minimise_theta(sigma2, &mut theta)?;
        let next = problem.sigma2(problem.rss(&theta));
        let moved = (next - sigma2).abs();
        sigma2 = next;
        if moved <= SIGMA_TOLERANCE * sigma2 {
            settled = true;
            break;
        }
    }
    if !settled {
        return Err(Unsolved::NotConverged);
    }
    if sigma2 < MIN_SIGMA * MIN_SIGMA {
        return at_the_noise_floor(&problem, theta);
    }
    problem.params(&theta, sigma2.sqrt())
}

/// A noiseless series' fit: the posterior's θ at σ = [`NOISE_FLOOR`].
fn at_the_noise_floor(
    problem: &Problem<'_>,
    mut theta: Vec<f64>,
) -> Result<OptimizedParams, Unsolved> {
    problem.minimise_theta(NOISE_FLOOR * NOISE_FLOOR, &mut theta)?;
    problem.params(&theta, NOISE_FLOOR)
}

/// The negative log posterior `F(θ, σ)` of Prophet's Stan program (without constants and Jacobian) at
/// `params`, for a linear or flat trend with additive terms: what Stan minimises, to compare optima with.
#[cfg(test)]
pub(super) fn objective(data: &Data, params: &OptimizedParams) -> Result<f64, Unsolved> {
    let problem = Problem::new(data)?;
    let mut theta = vec![params.k, params.m];
    theta.extend(&params.delta);
    theta.extend(&params.beta);
    let sigma = *params.sigma_obs;
    let ridge: f64 = theta
        .iter()
        .zip(&problem.prior)
        .map(|(value, precision)| 0.5 * precision * value * value)
        .sum();
    let lasso: f64 = problem.lasso.clone().map(|j| theta[j].abs()).sum::<f64>() * problem.lambda;
    let t = problem.y.len() as f64;
    Ok(ridge
        + lasso
        + 2.0 * sigma * sigma
        + t * sigma.ln()
        + problem.rss(&theta) / (2.0 * sigma * sigma))
}

/// The linear form of one fit: the design's columns, their Gram matrix and the priors.
struct Problem<'a> {
    /// Parameters: k, m, the S changepoints' δ, the K coefficients β.
    p: usize,
    y: &'a [f64],
    /// The design Z, column by column (`p` columns of `T`).
    columns: Vec<f64>,
    /// Where each column's non-zero values start (a changepoint's ramp is zero before it).
    starts: Vec<usize>,
    /// `ZᵀZ`, `p × p`, both triangles.
    gram: Vec<f64>,
    /// Zᵀy.
    zy: Vec<f64>,
    /// The Gaussian priors' precisions (0 for δ, whose prior is Laplace).
    prior: Vec<f64>,
    /// The δ parameters, under the Laplace prior of rate `lambda` (1/τ).
    lasso: std::ops::Range<usize>,
    lambda: f64,
    /// The data's `t`, `t_change` and trend, to give the fitted trend back.
    t: &'a [f64],
    t_change: &'a [f64],
    trend: TrendIndicator,
}

impl<'a> Problem<'a> {
    fn new(data: &'a Data) -> Result<Self, Unsolved> {
        if data.trend_indicator == TrendIndicator::Logistic || data.s_m.iter().any(|&m| m != 0) {
            return Err(Unsolved::NotLinear);
        }
        let rows = usize::try_from(data.T).map_err(|_| Unsolved::Malformed)?;
        let changepoints = usize::try_from(data.S).map_err(|_| Unsolved::Malformed)?;
        let terms = usize::try_from(data.K).map_err(|_| Unsolved::Malformed)?;
        if data.y.len() != rows
            || data.t.len() != rows
            || data.t_change.len() != changepoints
            || data.X.len() != rows * terms
            || data.s_a.len() != terms
            || data.sigmas.len() != terms
            || rows == 0
        {
            return Err(Unsolved::Malformed);
        }
        let linear = data.trend_indicator == TrendIndicator::Linear;
        let p = 2 + changepoints + terms;
        let mut columns = vec![0.0; p * rows];
        let mut starts = vec![0; p];
        {
            let mut column = columns.chunks_exact_mut(rows);
            let mut next = || column.next().ok_or(Unsolved::Malformed);
            let (k, m) = (next()?, next()?);
            if linear {
                k.copy_from_slice(&data.t);
            }
            m.fill(1.0);
            for (j, &change) in data.t_change.iter().enumerate() {
                let ramp = next()?;
                if linear {
                    // Stan's changepoint matrix: A[i, j] = 1 when t[i] >= t_change[j].
                    let start = data.t.partition_point(|&t| t < change);
                    starts[2 + j] = start;
                    for (value, &t) in ramp[start..].iter_mut().zip(&data.t[start..]) {
                        *value = t - change;
                    }
                }
            }
            for (k, &additive) in data.s_a.iter().enumerate() {
                let term = next()?;
                if additive != 0 {
                    for (i, value) in term.iter_mut().enumerate() {
                        *value = data.X[i * terms + k];
                    }
                }
            }
        }
        let mut gram = vec![0.0; p * p];
        let mut zy = vec![0.0; p];
        let column = |index: usize| &columns[index * rows..(index + 1) * rows];
        for a in 0..p {
            zy[a] = dot(&column(a)[starts[a]..], &data.y[starts[a]..]);
            for b in a..p {
                let from = starts[a].max(starts[b]);
                let value = dot(&column(a)[from..], &column(b)[from..]);
                gram[a * p + b] = value;
                gram[b * p + a] = value;
            }
        }
        let mut prior = vec![0.0; p];
        // k ~ normal(0, 5), m ~ normal(0, 5), beta ~ normal(0, sigmas).
        prior[0] = 1.0 / 25.0;
        prior[1] = 1.0 / 25.0;
        for (k, sigma) in data.sigmas.iter().enumerate() {
            prior[2 + changepoints + k] = 1.0 / (**sigma * **sigma);
        }
        Ok(Self {
            p,
            y: &data.y,
            columns,
            starts,
            gram,
            zy,
            prior,
            lasso: 2..2 + changepoints,
            lambda: 1.0 / *data.tau,
            t: &data.t,
            t_change: &data.t_change,
            trend: data.trend_indicator,
        })
    }

    /// ‖y − Zθ‖², from the residuals themselves (the Gram form loses digits on close fits).
    fn rss(&self, theta: &[f64]) -> f64 {
        let rows = self.y.len();
        let mut fitted = vec![0.0; rows];
        for (a, &value) in theta.iter().enumerate() {
            if value != 0.0 {
                let from = self.starts[a];
                let column = &self.columns[a * rows + from..(a + 1) * rows];
                for (fit, z) in fitted[from..].iter_mut().zip(column) {
                    *fit += value * z;
                }
            }
        }
        self.y
            .iter()
            .zip(&fitted)
            .map(|(y, fit)| (y - fit) * (y - fit))
            .sum()
    }

    /// The σ² minimising `2σ² + T ln σ + rss/(2σ²)`: the positive root of `4σ⁴ + Tσ² − rss = 0`, written
    /// without the cancellation of `(√(T² + 16 rss) − T)/8`.
    fn sigma2(&self, rss: f64) -> f64 {
        let t = self.y.len() as f64;
        2.0 * rss / (t + (t * t + 16.0 * rss).sqrt())
    }

    /// Minimises `F(·, σ)` from `theta` on. Multiplied by σ², it is the lasso
    /// `½θᵀHθ − cᵀθ + σ²λ Σ|δ|` with `H = ZᵀZ + σ²D` and `c = Zᵀy`, solved exactly by feature-sign search
    /// (Lee, Battle, Raina and Ng, 2007): guess the signs of the δ that are not zero, solve the equations
    /// that signs make linear, step towards that solution as far as the signs hold, and add the δ that
    /// most violates the optimality condition `|∂F/∂δ| ≤ σ²λ` until none does.
    fn minimise_theta(&self, sigma2: f64, theta: &mut [f64]) -> Result<(), Unsolved> {
        let p = self.p;
        let mut hessian = self.gram.clone();
        for a in 0..p {
            hessian[a * p + a] += sigma2 * self.prior[a];
        }
        let penalty = sigma2 * self.lambda;
        let row = |a: usize| &hessian[a * p..(a + 1) * p];
        let objective = |theta: &[f64]| {
            let smooth: f64 = (0..p)
                .map(|a| theta[a] * (0.5 * dot(row(a), theta) - self.zy[a]))
                .sum();
            smooth + penalty * self.lasso.clone().map(|j| theta[j].abs()).sum::<f64>()
        };
        // Rounding in the gradient, relative to its terms.
        let tolerance = 1e-10 * self.zy.iter().fold(penalty, |most, c| most.max(c.abs()));
        // A δ whose ramp has no point (a changepoint after the last time) only has its prior: it stays 0.
        let movable = |j: usize| row(j)[j] > 0.0;
        let mut signs: Vec<f64> = theta.iter().map(|value| value.signum()).collect();
        for _ in 0..STEPS_PER_PARAMETER * p {
            let gradient: Vec<f64> = (0..p).map(|a| dot(row(a), theta) - self.zy[a]).collect();
            let settled = (0..p).all(|j| {
                let pull = if self.lasso.contains(&j) && theta[j] != 0.0 {
                    penalty * theta[j].signum()
                } else if self.lasso.contains(&j) {
                    return true;
                } else {
                    0.0
                };
                (gradient[j] + pull).abs() <= tolerance
            });
            if settled {
                let worst = self
                    .lasso
                    .clone()
                    .filter(|&j| theta[j] == 0.0 && movable(j))
                    .max_by(|&a, &b| gradient[a].abs().total_cmp(&gradient[b].abs()));
                match worst {
                    Some(j) if gradient[j].abs() > penalty + tolerance => {
                        signs[j] = -gradient[j].signum();
                    }
                    _ => return Ok(()),
                }
            }
            let active: Vec<usize> = (0..p)
                .filter(|&j| !self.lasso.contains(&j) || (signs[j] != 0.0 && movable(j)))
                .collect();
            let n = active.len();
            let mut matrix = vec![0.0; n * n];
            let mut target = vec![0.0; n];
            for (r, &i) in active.iter().enumerate() {
                target[r] = self.zy[i];
                if self.lasso.contains(&i) {
                    target[r] -= penalty * signs[i];
                }
                for (c, &j) in active.iter().enumerate() {
                    matrix[r * n + c] = hessian[i * p + j];
                }
            }
            cholesky_solve(&mut matrix, &mut target, n).ok_or(Unsolved::NotConverged)?;
            let mut solution = vec![0.0; p];
            for (r, &i) in active.iter().enumerate() {
                solution[i] = target[r];
            }
            // The solution, or the first points on the way where a δ crosses zero (set to exactly 0):
            // whichever is lowest.
            let mut best = solution.clone();
            let mut lowest = objective(&best);
            for &j in &active {
                if self.lasso.contains(&j)
                    && theta[j] != 0.0
                    && solution[j].signum() != theta[j].signum()
                {
                    let fraction = theta[j] / (theta[j] - solution[j]);
                    let mut point: Vec<f64> = theta
                        .iter()
                        .zip(&solution)
                        .map(|(from, to)| from + fraction * (to - from))
                        .collect();
                    point[j] = 0.0;
                    let value = objective(&point);
                    if value < lowest {
                        (best, lowest) = (point, value);
                    }
                }
            }
            theta.copy_from_slice(&best);
            for j in self.lasso.clone() {
                signs[j] = theta[j].signum();
                if theta[j] == 0.0 {
                    signs[j] = 0.0;
                }
            }
        }
        Err(Unsolved::NotConverged)
    }

    fn params(&self, theta: &[f64], sigma: f64) -> Result<OptimizedParams, Unsolved> {
        let changepoints = self.lasso.len();
        let (k, m) = (theta[0], theta[1]);
        let delta = theta[self.lasso.clone()].to_vec();
        let trend = match self.trend {
            TrendIndicator::Flat => vec![m; self.t.len()],
            _ => self
                .t
                .iter()
                .map(|&t| {
                    // Stan's linear_trend: (k + Aδ)t + (m + A(−t_change ⊙ δ)).
                    let ramps: f64 = self
                        .t_change
                        .iter()
                        .zip(&delta)
                        .take_while(|(change, _)| t >= **change)
                        .map(|(change, d)| d * (t - change))
                        .sum();
                    k * t + m + ramps
                })
                .collect(),
        };
        Ok(OptimizedParams {
            k,
            m,
            sigma_obs: sigma.try_into().map_err(|_| Unsolved::Malformed)?,
            delta,
            beta: theta[2 + changepoints..].to_vec(),
            trend,
        })
    }
}

/// A dot product in four lanes, which the compiler vectorises.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; 4];
    let (a_chunks, b_chunks) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..4 {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// Solves `matrix · x = rhs` in place for a symmetric positive definite `n × n` matrix (Cholesky); `None`
/// when it is not positive definite to working precision.
fn cholesky_solve(matrix: &mut [f64], rhs: &mut [f64], n: usize) -> Option<()> {
    for j in 0..n {
        let mut diagonal = matrix[j * n + j];
        for k in 0..j {
            diagonal -= matrix[j * n + k] * matrix[j * n + k];
        }
        if diagonal <= 1e-13 * matrix[j * n + j].abs() || diagonal <= 0.0 {
            return None;
        }
        let pivot = diagonal.sqrt();
        matrix[j * n + j] = pivot;
        for i in j + 1..n {
            let mut value = matrix[i * n + j];
            for k in 0..j {
                value -= matrix[i * n + k] * matrix[j * n + k];
            }
            matrix[i * n + j] = value / pivot;
        }
    }
    for i in 0..n {
        let mut value = rhs[i];
        for k in 0..i {
            value -= matrix[i * n + k] * rhs[k];
        }
        rhs[i] = value / matrix[i * n + i];
    }
    for i in (0..n).rev() {
        let mut value = rhs[i];
        for k in i + 1..n {
            value -= matrix[k * n + i] * rhs[k];
        }
        rhs[i] = value / matrix[i * n + i];
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prophet's data for `y` at times 0…1 with one changepoint at the middle and one seasonal pair.
    fn data(y: Vec<f64>, trend_indicator: TrendIndicator) -> Data {
        let n = y.len();
        let t: Vec<f64> = (0..n).map(|i| i as f64 / (n - 1) as f64).collect();
        let x = t
            .iter()
            .flat_map(|t| {
                let angle = std::f64::consts::TAU * 4.0 * t;
                [angle.cos(), angle.sin()]
            })
            .collect();
        Data {
            T: i32::try_from(n).unwrap(),
            y,
            cap: vec![0.0; n],
            t,
            S: 1,
            t_change: vec![0.5],
            trend_indicator,
            K: 2,
            s_a: vec![1, 1],
            s_m: vec![0, 0],
            X: x,
            sigmas: vec![10.0.try_into().unwrap(); 2],
            tau: 0.05.try_into().unwrap(),
        }
    }

    fn noisy(n: usize) -> Vec<f64> {
        let noise = super::super::super::stats::gaussian_noise(3, n);
        (0..n)
            .map(|i| {
                let t = i as f64 / n as f64;
                0.5 + 0.2 * t + 0.1 * (std::f64::consts::TAU * 4.0 * t).sin() + 0.01 * noise[i]
            })
            .collect()
    }

    #[test]
    fn the_mode_is_where_no_parameter_can_move_downhill() {
        let data = data(noisy(200), TrendIndicator::Linear);
        let mode = solve(&data).unwrap();
        let at = |params: &OptimizedParams| objective(&data, params).unwrap();
        let best = at(&mode);
        for index in 0..6 {
            for step in [-1e-5, 1e-5] {
                let mut moved = mode.clone();
                match index {
                    0 => moved.k += step,
                    1 => moved.m += step,
                    2 => moved.delta[0] += step,
                    3 | 4 => moved.beta[index - 3] += step,
                    _ => moved.sigma_obs = (*mode.sigma_obs + step).try_into().unwrap(),
                }
                assert!(at(&moved) >= best - 1e-9, "parameter {index} by {step}");
            }
        }
        // The trend it gives back is Stan's linear_trend at the mode.
        let last = mode.trend.last().unwrap();
        assert!((last - (mode.k + mode.delta[0] * 0.5 + mode.m)).abs() < 1e-12);
    }

    #[test]
    fn what_is_not_linear_is_left_to_stan_and_a_noiseless_series_stops_at_the_floor() {
        assert_eq!(
            solve(&data(noisy(50), TrendIndicator::Logistic)).unwrap_err(),
            Unsolved::NotLinear
        );
        let mut multiplicative = data(noisy(50), TrendIndicator::Linear);
        multiplicative.s_m = vec![1, 0];
        assert_eq!(solve(&multiplicative).unwrap_err(), Unsolved::NotLinear);
        // A series the model fits without noise: the posterior grows without bound as σ → 0, so the fit
        // stops at the floor, and is the series.
        let exact = data(vec![0.25; 50], TrendIndicator::Flat);
        let fit = solve(&exact).unwrap();
        assert!(
            (*fit.sigma_obs - NOISE_FLOOR).abs() < 1e-15,
            "{}",
            *fit.sigma_obs
        );
        assert!(
            fit.trend.iter().all(|y| (y - 0.25).abs() < 1e-3),
            "{:?}",
            fit.trend
        );
        let mut short = data(noisy(50), TrendIndicator::Linear);
        short.y.pop();
        assert_eq!(solve(&short).unwrap_err(), Unsolved::Malformed);
    }
}
