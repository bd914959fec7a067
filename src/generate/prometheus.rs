//! `prometheus/`: the scrape config and the alerting rules, each rule file with a promtool unit test
//! whose timeline is computed from the lab config, so the tests keep proving the alerts' timing when
//! a student changes a threshold or a `for`.

use askama::Template;

use super::{GenerateError, GeneratedFile, LabConfig, PromDuration, rendered};

/// The rule files, by name: `prometheus/rules/<name>.yml` and `<name>.test.yml`.
const RULE_FILES: [&str; 4] = ["model", "targets", "node", "forecast"];

#[derive(Template)]
#[template(path = "prometheus/prometheus.yml", escape = "none")]
struct PrometheusYml<'a> {
    lab: &'a LabConfig,
    rule_files: &'a [&'a str],
}

#[derive(Template)]
#[template(path = "prometheus/model.yml", escape = "none")]
struct ModelRules<'a> {
    lab: &'a LabConfig,
}

#[derive(Template)]
#[template(path = "prometheus/targets.yml", escape = "none")]
struct TargetRules<'a> {
    lab: &'a LabConfig,
}

#[derive(Template)]
#[template(path = "prometheus/node.yml", escape = "none")]
struct NodeRules<'a> {
    lab: &'a LabConfig,
    threshold_percent: f64,
}

#[derive(Template)]
#[template(path = "prometheus/forecast.yml", escape = "none")]
struct ForecastRules<'a> {
    lab: &'a LabConfig,
}

/// The first evaluation at or after `at` (rules are evaluated at multiples of `evaluation`).
fn on_grid(at: u64, evaluation: u64) -> u64 {
    at.div_ceil(evaluation) * evaluation
}

/// When an alert whose condition holds from `from` on fires: it turns pending at the first evaluation at
/// or after `from`, and fires at the first evaluation at least `for` later.
fn fires_at(from: u64, for_: u64, evaluation: u64) -> u64 {
    let pending = on_grid(from, evaluation);
    pending + on_grid(for_, evaluation)
}

/// A rule test's timeline: calm for a minute, a pulse (the condition true) for `for` plus two
/// minutes, calm again. Checked just before `for` elapses, just after, and once the pulse ended.
struct Pulse {
    /// `value xN` writes N + 1 samples.
    calm_steps: u64,
    steps: u64,
    total_steps: u64,
    lasts: PromDuration,
    before_for: PromDuration,
    after_for: PromDuration,
    after_end: PromDuration,
}

impl Pulse {
    fn new(lab: &LabConfig, for_: &PromDuration) -> Self {
        let step = lab.scrape_interval.seconds();
        let evaluation = lab.evaluation_interval.seconds();
        let for_ = for_.seconds();
        let calm_steps = 60_u64.div_ceil(step);
        let pulse_start = (calm_steps + 1) * step;
        let fires = fires_at(pulse_start, for_, evaluation);
        // Long enough to fire, and two minutes more.
        let pulse_steps = (fires - pulse_start + 120).div_ceil(step);
        let pulse_end = pulse_start + (pulse_steps + 1) * step;
        Self {
            calm_steps,
            steps: pulse_steps,
            total_steps: 2 * calm_steps + pulse_steps + 2,
            lasts: PromDuration::from_seconds((pulse_steps + 1) * step),
            before_for: PromDuration::from_seconds(fires - evaluation),
            after_for: PromDuration::from_seconds(fires),
            // The first evaluation after the pulse sees it gone; one more for good measure.
            after_end: PromDuration::from_seconds(on_grid(pulse_end, evaluation) + evaluation),
        }
    }
}

#[derive(Template)]
#[template(path = "prometheus/model.test.yml", escape = "none")]
struct ModelRulesTest<'a> {
    lab: &'a LabConfig,
    pulse: Pulse,
    low: f64,
    high: f64,
}

#[derive(Template)]
#[template(path = "prometheus/targets.test.yml", escape = "none")]
struct TargetRulesTest<'a> {
    lab: &'a LabConfig,
    pulse: Pulse,
}

#[derive(Template)]
#[template(path = "prometheus/forecast.test.yml", escape = "none")]
struct ForecastRulesTest<'a> {
    lab: &'a LabConfig,
    pulse: Pulse,
}

/// The CPU alert's test: idle-second counters of two CPUs, at rest (half the threshold busy) for two
/// windows, under load (busy halfway between the threshold and 100 %, in whole percents) for `for`
/// plus three windows, then at rest again. Checked a window before `for` elapses under load, a window
/// after, and two windows after the load ended.
#[derive(Template)]
#[template(path = "prometheus/node.test.yml", escape = "none")]
struct NodeRulesTest<'a> {
    lab: &'a LabConfig,
    idle_values: String,
    threshold_percent: f64,
    rest_busy_percent: f64,
    load_busy_percent: f64,
    rest_for: PromDuration,
    load_for: PromDuration,
    before_for_load: PromDuration,
    after_for_load: PromDuration,
    before_for: PromDuration,
    after_for: PromDuration,
    after_load: PromDuration,
    after_load_for: PromDuration,
}

impl<'a> NodeRulesTest<'a> {
    fn new(lab: &'a LabConfig) -> Self {
        let step = lab.scrape_interval.seconds();
        let for_ = lab.node.for_.seconds();
        let window = lab.node.window.seconds();
        let evaluation = lab.evaluation_interval.seconds();
        let threshold = lab.node.cpu_threshold;
        // At rest: half the threshold, rounded down to whole percents (so below it even at 1 %).
        let rest_busy = (threshold * 50.0).floor() / 100.0;
        let load_busy = (f64::midpoint(threshold, 1.0) * 100.0).round() / 100.0;
        // Idle seconds gained per step on each CPU.
        let rest_idle = round((1.0 - rest_busy) * step as f64);
        let load_idle = round((1.0 - load_busy) * step as f64);
        let rest_steps = (2 * window).div_ceil(step);
        let load_steps = (for_ + 2 * window + 2 * evaluation).div_ceil(step);
        let after_rest_steps = (5 * window).div_ceil(step);
        // Each segment starts one step after the last sample of the one before. The last sample is
        // rounded up, never down: promtool computes it with float error, and a counter that goes down by
        // 1e-15 is a reset to Prometheus (a burst of idle seconds that would hide the load).
        let load_from = round(ceil(rest_steps as f64 * rest_idle) + load_idle);
        let rest_from = round(ceil(load_from + load_steps as f64 * load_idle) + rest_idle);
        let idle_values = format!(
            "0+{rest_idle}x{rest_steps} {load_from}+{load_idle}x{load_steps} {rest_from}+{rest_idle}x{after_rest_steps}"
        );
        let load_start = rest_steps * step;
        let load_end = (rest_steps + 1 + load_steps) * step;
        // The condition cannot hold before the load starts, so the alert cannot fire before
        // `fires_at(load_start)`; it holds for sure once the window is all load, so the alert has fired
        // by `fires_at(load_start + window)`.
        let before = for_.saturating_sub(window).max(for_ / 2);
        debug_assert!(load_start + before < fires_at(load_start, for_, evaluation));
        let after = fires_at(load_start + window, for_, evaluation) - load_start;
        Self {
            lab,
            idle_values,
            threshold_percent: round(threshold * 100.0),
            rest_busy_percent: round(rest_busy * 100.0),
            load_busy_percent: round(load_busy * 100.0),
            rest_for: PromDuration::from_seconds(load_start),
            load_for: PromDuration::from_seconds(load_end - load_start),
            before_for_load: PromDuration::from_seconds(before),
            after_for_load: PromDuration::from_seconds(after),
            before_for: PromDuration::from_seconds(load_start + before),
            after_for: PromDuration::from_seconds(load_start + after),
            after_load: PromDuration::from_seconds(
                on_grid(load_end + window, evaluation) + evaluation,
            ),
            after_load_for: PromDuration::from_seconds(
                on_grid(load_end + window, evaluation) + evaluation - load_end,
            ),
        }
    }
}

/// Four decimals, rounded up past any float error in `value` (at most 0.0001 above it).
fn ceil(value: f64) -> f64 {
    ((value + 1e-7) * 10_000.0).ceil() / 10_000.0
}

/// Four decimals: values a student reads in the test files.
fn round(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

/// `prometheus/prometheus.yml` and every rule file with its test.
pub(super) fn files(lab: &LabConfig) -> Result<Vec<GeneratedFile>, GenerateError> {
    let threshold = lab.model.threshold;
    Ok(vec![
        rendered(
            "prometheus/prometheus.yml",
            PrometheusYml {
                lab,
                rule_files: &RULE_FILES,
            }
            .render(),
        )?,
        rendered("prometheus/rules/model.yml", ModelRules { lab }.render())?,
        rendered(
            "prometheus/rules/model.test.yml",
            ModelRulesTest {
                lab,
                pulse: Pulse::new(lab, &lab.model.for_),
                low: round(threshold / 2.0),
                high: round(f64::midpoint(threshold, 1.0)),
            }
            .render(),
        )?,
        rendered("prometheus/rules/targets.yml", TargetRules { lab }.render())?,
        rendered(
            "prometheus/rules/targets.test.yml",
            TargetRulesTest {
                lab,
                pulse: Pulse::new(lab, &lab.target_down.for_),
            }
            .render(),
        )?,
        rendered(
            "prometheus/rules/node.yml",
            NodeRules {
                lab,
                threshold_percent: round(lab.node.cpu_threshold * 100.0),
            }
            .render(),
        )?,
        rendered(
            "prometheus/rules/node.test.yml",
            NodeRulesTest::new(lab).render(),
        )?,
        rendered(
            "prometheus/rules/forecast.yml",
            ForecastRules { lab }.render(),
        )?,
        rendered(
            "prometheus/rules/forecast.test.yml",
            ForecastRulesTest {
                lab,
                pulse: Pulse::new(lab, &lab.forecast.for_),
            }
            .render(),
        )?,
    ])
}
