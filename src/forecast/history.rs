//! Turning what Prometheus returned into a history a model can fit: evenly spaced, finite, recent.

/// Gaps up to this many missing steps are filled by linear interpolation; a longer gap cuts the history
/// (only what follows it is used: a model must not learn from a made-up stretch).
pub const MAX_FILLED_GAP: usize = 3;

/// How many whole steps `span` covers, rounded; 0 for a negative span. Spans here are bounded by the
/// checked config (a window, a horizon, a gap), far below `usize::MAX`.
#[must_use]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn whole_steps(span: f64, step: f64) -> usize {
    (span / step).round().max(0.0) as usize
}

/// A clean history: values at `start + i × step`.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub start: f64,
    pub step: f64,
    pub values: Vec<f64>,
    /// Steps filled by interpolation.
    pub filled: usize,
    /// Whether a long gap cut older points away.
    pub cut: bool,
}

impl History {
    /// The time of the point after the last one: where a forecast starts.
    #[must_use]
    pub fn next_time(&self) -> f64 {
        self.start + self.values.len() as f64 * self.step
    }
}

/// Cleans `points` (unix seconds, value; from a range query at `step`): non-finite values count as
/// missing, short gaps are interpolated, and a long gap keeps only the points after it.
#[must_use]
pub fn clean(points: &[(f64, f64)], step: f64) -> History {
    let finite: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(_, value)| value.is_finite())
        .collect();
    let Some(&(first, _)) = finite.first() else {
        return History {
            start: points.first().map_or(0.0, |point| point.0),
            step,
            values: Vec::new(),
            filled: 0,
            cut: false,
        };
    };
    let mut history = History {
        start: first,
        step,
        values: Vec::with_capacity(finite.len()),
        filled: 0,
        cut: false,
    };
    let mut previous: Option<(f64, f64)> = None;
    for &(at, value) in &finite {
        if let Some((last_at, last_value)) = previous {
            let missing = whole_steps(at - last_at, step).saturating_sub(1);
            if missing > MAX_FILLED_GAP {
                history.start = at;
                history.values.clear();
                history.filled = 0;
                history.cut = true;
            } else {
                for k in 1..=missing {
                    let share = k as f64 / (missing + 1) as f64;
                    history
                        .values
                        .push(last_value + share * (value - last_value));
                }
                history.filled += missing;
            }
        }
        history.values.push(value);
        previous = Some((at, value));
    }
    history
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_gaps_and_nan_are_interpolated() {
        let points = [(0.0, 1.0), (10.0, f64::NAN), (20.0, 3.0), (50.0, 6.0)];
        let history = clean(&points, 10.0);
        assert!(history.start.abs() < 1e-12);
        assert_eq!(history.values.len(), 6);
        let expected = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        for (value, want) in history.values.iter().zip(expected) {
            assert!((value - want).abs() < 1e-12, "{:?}", history.values);
        }
        assert_eq!(history.filled, 3);
        assert!(!history.cut);
        assert!((history.next_time() - 60.0).abs() < 1e-9);
    }

    #[test]
    fn a_long_gap_keeps_only_what_follows_it() {
        let points = [(0.0, 1.0), (10.0, 2.0), (100.0, 7.0), (110.0, 8.0)];
        let history = clean(&points, 10.0);
        assert_eq!(
            (history.start, history.values.clone(), history.cut),
            (100.0, vec![7.0, 8.0], true)
        );
    }

    #[test]
    fn nothing_finite_is_an_empty_history() {
        assert!(clean(&[(5.0, f64::INFINITY)], 1.0).values.is_empty());
        assert!(clean(&[], 1.0).values.is_empty());
    }
}
