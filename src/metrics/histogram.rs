//! A cumulative histogram with fixed bucket bounds.

/// Counts observations into buckets with fixed upper bounds (the `+Inf` bucket is implied).
#[derive(Debug, Clone)]
pub struct Histogram {
    bounds: Vec<f64>,
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// What a histogram exposes at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramValue {
    /// `(upper bound, cumulative count)`, ascending, without `+Inf`.
    pub cumulative: Vec<(f64, u64)>,
    pub sum: f64,
    pub count: u64,
}

impl HistogramValue {
    /// Every bucket including the final `+Inf` one, whose count is the total.
    pub fn buckets(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.cumulative
            .iter()
            .copied()
            .chain(std::iter::once((f64::INFINITY, self.count)))
    }
}

impl Histogram {
    /// `bounds` must be finite and strictly ascending.
    #[must_use]
    pub fn new(bounds: &[f64]) -> Self {
        assert!(
            bounds.iter().all(|b| b.is_finite()) && bounds.windows(2).all(|w| w[0] < w[1]),
            "histogram bounds must be finite and strictly ascending: {bounds:?}"
        );
        Self {
            bounds: bounds.to_vec(),
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    pub fn observe(&mut self, value: f64) {
        if let Some(bucket) = self.bounds.iter().position(|&bound| value <= bound) {
            self.counts[bucket] += 1;
        }
        self.sum += value;
        self.count += 1;
    }

    #[must_use]
    pub fn value(&self) -> HistogramValue {
        let mut running = 0;
        let cumulative = self
            .bounds
            .iter()
            .zip(&self.counts)
            .map(|(&bound, &count)| {
                running += count;
                (bound, running)
            })
            .collect();
        HistogramValue {
            cumulative,
            sum: self.sum,
            count: self.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_end_with_the_total() {
        let mut histogram = Histogram::new(&[1.0, 2.0, 4.0]);
        for value in [0.5, 1.0, 1.5, 3.0, 100.0] {
            histogram.observe(value);
        }
        let value = histogram.value();
        assert_eq!(
            value.buckets().collect::<Vec<_>>(),
            vec![(1.0, 2), (2.0, 3), (4.0, 4), (f64::INFINITY, 5)]
        );
        assert!((value.sum - 106.0).abs() < 1e-9);
    }

    #[test]
    #[should_panic(expected = "strictly ascending")]
    fn unsorted_bounds_are_refused() {
        let _ = Histogram::new(&[2.0, 1.0]);
    }
}
