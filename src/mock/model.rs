//! The simulated model: its output, the predictions it serves, their latencies, and how all of that is
//! exposed. Everything moves only on [`Model::tick`] and [`Model::switch`], driven by a step counter rather
//! than the wall clock, so a seeded run is reproducible.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::Scenario;
use crate::metrics::{Encoder, Format, Histogram, Summary};

/// How many recent values the page's chart shows.
pub const HISTORY_LEN: usize = 120;
/// Bounds of the inference latency histogram, in seconds.
const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// Quantiles of the request duration summary.
const SUMMARY_QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];
/// The window of the summary's quantiles.
const SUMMARY_MAX_AGE: Duration = Duration::from_secs(600);

/// One point of the recent history.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Point {
    /// Unix time in milliseconds.
    pub at_ms: u64,
    pub value: f64,
}

/// The simulated model and its metrics.
#[derive(Debug)]
pub struct Model {
    rng: StdRng,
    interval: Duration,
    scenario: Scenario,
    /// Steps taken since the scenario was chosen: the scenario's own clock.
    scenario_steps: u32,
    /// Steps taken since start: the clock of the summary window.
    steps: u32,
    value: f64,
    predictions: u64,
    inference: Histogram,
    request: Summary,
    history: VecDeque<Point>,
}

impl Model {
    /// A model that has already produced its first value.
    #[must_use]
    pub fn new(scenario: Scenario, seed: Option<u64>, interval: Duration) -> Self {
        let rng = seed.map_or_else(StdRng::from_os_rng, StdRng::seed_from_u64);
        let mut model = Self {
            rng,
            interval,
            scenario,
            scenario_steps: 0,
            steps: 0,
            value: 0.5,
            predictions: 0,
            inference: Histogram::new(&LATENCY_BUCKETS),
            request: Summary::new(&SUMMARY_QUANTILES, SUMMARY_MAX_AGE),
            history: VecDeque::with_capacity(HISTORY_LEN),
        };
        model.tick();
        model
    }

    /// One interval passes: a new output, and a batch of predictions served.
    pub fn tick(&mut self) {
        self.next_value();
        let now = self.interval * self.steps;
        // A spiking model is an overloaded one: its latency triples.
        let slowdown = if self.scenario == Scenario::Spike {
            3.0
        } else {
            1.0
        };
        let batch = self.rng.random_range(1..=20_u64);
        for _ in 0..batch {
            let inference = 0.004 + exponential(&mut self.rng, 0.03 * slowdown);
            let queueing = exponential(&mut self.rng, 0.01 * slowdown);
            self.inference.observe(inference);
            self.request.observe(now, inference + queueing);
        }
        self.predictions += batch;
        self.steps += 1;
    }

    /// Switches scenario; the new scenario's first value is produced at once, so an alert can be
    /// triggered without waiting for the next interval.
    pub fn switch(&mut self, scenario: Scenario) {
        self.scenario = scenario;
        self.scenario_steps = 0;
        self.next_value();
    }

    #[must_use]
    pub fn value(&self) -> f64 {
        self.value
    }

    #[must_use]
    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    #[must_use]
    pub fn interval(&self) -> Duration {
        self.interval
    }

    #[must_use]
    pub fn history(&self) -> impl ExactSizeIterator<Item = &Point> {
        self.history.iter()
    }

    /// The whole exposition in one format.
    #[must_use]
    pub fn encode(&self, format: Format) -> String {
        let mut encoder = Encoder::new(format);
        encoder.gauge(
            "model_result",
            "Latest output of the simulated model, between 0 and 1.",
            None,
            [(&[][..], self.value)],
        );
        encoder.counter(
            "model_predictions",
            "Predictions served by the simulated model.",
            None,
            [(&[][..], self.predictions as f64)],
        );
        let inference = self.inference.value();
        encoder.histogram(
            "model_inference_duration_seconds",
            "Simulated time the model spent computing one prediction.",
            Some("seconds"),
            [(&[][..], &inference)],
        );
        let request = self
            .request
            .value(self.interval * self.steps.saturating_sub(1));
        encoder.summary(
            "model_request_duration_seconds",
            "Simulated end-to-end duration of one prediction request, queueing included; quantiles over the last 10 minutes.",
            Some("seconds"),
            [(&[][..], &request)],
        );
        let states: Vec<([(&str, &str); 1], f64)> = Scenario::ALL
            .iter()
            .map(|s| {
                let active = if *s == self.scenario { 1.0 } else { 0.0 };
                ([("scenario", s.name())], active)
            })
            .collect();
        encoder.gauge(
            "model_scenario",
            "The mock's current scenario: 1 for the active one, 0 for the others.",
            None,
            states.iter().map(|(labels, active)| (&labels[..], *active)),
        );
        encoder.info(
            "model_build",
            "Version of the promlab model mock.",
            &crate::version::LABELS,
        );
        encoder.info(
            "promlab_build",
            "The promlab build serving this: its version and git revision.",
            &crate::version::LABELS,
        );
        encoder.finish()
    }

    fn next_value(&mut self) {
        let elapsed = self.interval * self.scenario_steps;
        self.value = self.scenario.next_value(elapsed, self.value, &mut self.rng);
        self.scenario_steps += 1;
        if self.history.len() == HISTORY_LEN {
            self.history.pop_front();
        }
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            });
        self.history.push_back(Point {
            at_ms,
            value: self.value,
        });
    }
}

/// An exponentially distributed sample with the given mean (inverse transform).
fn exponential(rng: &mut impl Rng, mean: f64) -> f64 {
    // 1 - U lies in (0, 1], so the logarithm is finite.
    -mean * (1.0 - rng.random::<f64>()).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: Duration = Duration::from_secs(5);

    fn values(model: &mut Model, ticks: usize) -> Vec<f64> {
        (0..ticks)
            .map(|_| {
                model.tick();
                model.value()
            })
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_run() {
        let mut a = Model::new(Scenario::Steady, Some(11), STEP);
        let mut b = Model::new(Scenario::Steady, Some(11), STEP);
        assert_eq!(values(&mut a, 20), values(&mut b, 20));
        a.switch(Scenario::Sine);
        b.switch(Scenario::Sine);
        assert_eq!(values(&mut a, 20), values(&mut b, 20));
        assert_eq!(a.encode(Format::Text), b.encode(Format::Text));

        let mut c = Model::new(Scenario::Steady, Some(12), STEP);
        let mut a = Model::new(Scenario::Steady, Some(11), STEP);
        assert_ne!(values(&mut a, 20), values(&mut c, 20));
    }

    #[test]
    fn switching_produces_a_value_of_the_new_scenario_at_once() {
        let mut model = Model::new(Scenario::Steady, Some(3), STEP);
        model.switch(Scenario::Spike);
        assert_eq!(model.scenario(), Scenario::Spike);
        assert!(model.value() > 0.9);
    }

    #[test]
    fn history_keeps_the_latest_points() {
        let mut model = Model::new(Scenario::Steady, Some(3), STEP);
        let all = values(&mut model, HISTORY_LEN + 10);
        assert_eq!(model.history().len(), HISTORY_LEN);
        let kept: Vec<f64> = model.history().map(|p| p.value).collect();
        assert_eq!(kept[..], all[all.len() - HISTORY_LEN..]);
    }

    #[test]
    fn every_prediction_is_counted_once_in_each_metric() {
        let mut model = Model::new(Scenario::Steady, Some(5), STEP);
        values(&mut model, 30);
        let text = model.encode(Format::Text);
        let sample = |name: &str| -> f64 {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
                .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
        };
        let predictions = sample("model_predictions_total");
        assert!(predictions >= 31.0, "at least one per tick: {predictions}");
        assert!((sample("model_inference_duration_seconds_count") - predictions).abs() < 1e-9);
        assert!((sample("model_request_duration_seconds_count") - predictions).abs() < 1e-9);
        assert!(text.contains("model_scenario{scenario=\"steady\"} 1.0\n"));
        assert!(text.contains("model_scenario{scenario=\"spike\"} 0.0\n"));
    }
}
