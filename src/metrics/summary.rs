//! A summary: exact quantiles over a sliding time window, plus an all-time sum and count.
//!
//! The window is short and the observation rate of a lab exporter is low, so exact quantiles over the
//! retained observations are both cheaper to reason about and more accurate than a streaming sketch.

use std::collections::VecDeque;
use std::time::Duration;

/// Observations are timestamped with a caller-supplied clock (time since some start), which keeps the
/// summary deterministic under test and under a seeded mock.
#[derive(Debug, Clone)]
pub struct Summary {
    quantiles: Vec<f64>,
    max_age: Duration,
    window: VecDeque<(Duration, f64)>,
    sum: f64,
    count: u64,
}

/// What a summary exposes at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryValue {
    /// `(quantile, estimate)`; the estimate is `NaN` when the window holds no observation, as the
    /// official clients do.
    pub quantiles: Vec<(f64, f64)>,
    pub sum: f64,
    pub count: u64,
}

impl Summary {
    /// `quantiles` must lie in [0, 1].
    #[must_use]
    pub fn new(quantiles: &[f64], max_age: Duration) -> Self {
        assert!(
            quantiles.iter().all(|q| (0.0..=1.0).contains(q)),
            "summary quantiles must lie in [0, 1]: {quantiles:?}"
        );
        Self {
            quantiles: quantiles.to_vec(),
            max_age,
            window: VecDeque::new(),
            sum: 0.0,
            count: 0,
        }
    }

    pub fn observe(&mut self, at: Duration, value: f64) {
        self.window.push_back((at, value));
        self.sum += value;
        self.count += 1;
        self.expire(at);
    }

    /// The quantiles of the observations made within `max_age` before `now` (nearest-rank).
    #[must_use]
    pub fn value(&self, now: Duration) -> SummaryValue {
        let oldest = now.saturating_sub(self.max_age);
        let mut recent: Vec<f64> = self
            .window
            .iter()
            .filter(|(at, _)| *at >= oldest)
            .map(|&(_, value)| value)
            .collect();
        recent.sort_by(f64::total_cmp);
        let quantiles = self
            .quantiles
            .iter()
            .map(|&q| (q, nearest_rank(&recent, q)))
            .collect();
        SummaryValue {
            quantiles,
            sum: self.sum,
            count: self.count,
        }
    }

    fn expire(&mut self, now: Duration) {
        let oldest = now.saturating_sub(self.max_age);
        while self.window.front().is_some_and(|(at, _)| *at < oldest) {
            self.window.pop_front();
        }
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn nearest_rank(sorted: &[f64], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-12;

    #[test]
    fn quantiles_follow_the_nearest_rank_definition() {
        let mut summary = Summary::new(&[0.0, 0.5, 0.9, 0.99, 1.0], Duration::from_secs(60));
        for value in 1..=100 {
            summary.observe(Duration::from_secs(1), f64::from(value));
        }
        let value = summary.value(Duration::from_secs(1));
        let expected = [1.0, 50.0, 90.0, 99.0, 100.0];
        for ((_, got), want) in value.quantiles.iter().zip(expected) {
            assert!((got - want).abs() < EPS, "got {got}, want {want}");
        }
        assert_eq!(value.count, 100);
        assert!((value.sum - 5050.0).abs() < EPS);
    }

    #[test]
    fn old_observations_leave_the_quantiles_but_not_sum_and_count() {
        let mut summary = Summary::new(&[0.5], Duration::from_secs(10));
        summary.observe(Duration::from_secs(0), 100.0);
        summary.observe(Duration::from_secs(15), 1.0);
        let value = summary.value(Duration::from_secs(15));
        assert!((value.quantiles[0].1 - 1.0).abs() < EPS);
        assert_eq!(value.count, 2);

        let later = summary.value(Duration::from_secs(100));
        assert!(
            later.quantiles[0].1.is_nan(),
            "an empty window has no quantile"
        );
        assert!((later.sum - 101.0).abs() < EPS);
    }
}
