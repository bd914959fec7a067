//! The mock's scenarios: how `model_result` moves, switchable at run time to trigger alerts on demand.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::Rng;

/// How the simulated model's output behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Uniform in [0, 1]: the lab's original mock.
    Steady,
    /// Stays above 0.9: fires the model alert.
    Spike,
    /// A slow climb from 0.1 to 1 over ten minutes, then stays near the top.
    Drift,
    /// Stuck on the last value: a model that stopped thinking.
    Flatline,
    /// A wave with a five-minute period and a little noise, for the forecasters to find.
    Sine,
}

/// The period of the `sine` scenario.
pub const SINE_PERIOD: Duration = Duration::from_secs(300);
/// How long the `drift` scenario takes to climb from its start to the top.
pub const DRIFT_DURATION: Duration = Duration::from_secs(600);
/// The lowest value of the `spike` scenario: strictly above the lab's 0.9 threshold.
pub const SPIKE_FLOOR: f64 = 0.92;

/// A scenario name that is not one of [`Scenario::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scenario {}: choose one of {}",
    crate::serve::quote(name),
    Scenario::names()
)]
pub struct UnknownScenario {
    /// The name that was given (shown [quoted briefly](crate::serve::quote): it may be a whole request body).
    pub name: String,
}

impl Scenario {
    pub const ALL: [Self; 5] = [
        Self::Steady,
        Self::Spike,
        Self::Drift,
        Self::Flatline,
        Self::Sine,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Steady => "steady",
            Self::Spike => "spike",
            Self::Drift => "drift",
            Self::Flatline => "flatline",
            Self::Sine => "sine",
        }
    }

    /// The valid names, comma-separated, for error messages.
    #[must_use]
    pub fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }

    /// The next value in [0, 1], given the time since this scenario started and the previous value.
    pub fn next_value(self, elapsed: Duration, previous: f64, rng: &mut impl Rng) -> f64 {
        let value = match self {
            Self::Steady => rng.random::<f64>(),
            Self::Spike => SPIKE_FLOOR + (1.0 - SPIKE_FLOOR) * rng.random::<f64>(),
            Self::Drift => {
                let progress = (elapsed.as_secs_f64() / DRIFT_DURATION.as_secs_f64()).min(1.0);
                0.1 + 0.88 * progress + 0.02 * (rng.random::<f64>() - 0.5)
            }
            Self::Flatline => previous,
            Self::Sine => {
                let phase =
                    std::f64::consts::TAU * elapsed.as_secs_f64() / SINE_PERIOD.as_secs_f64();
                0.5 + 0.4 * phase.sin() + 0.05 * (rng.random::<f64>() - 0.5)
            }
        };
        value.clamp(0.0, 1.0)
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = UnknownScenario;

    /// Accepts a name in any case, with surrounding whitespace (`echo spike | curl -T -` sends a newline).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Self::ALL
            .into_iter()
            .find(|scenario| scenario.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownScenario {
                name: wanted.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn run(scenario: Scenario, steps: u32) -> Vec<f64> {
        let mut rng = StdRng::seed_from_u64(7);
        let mut previous = 0.42;
        (0..steps)
            .map(|step| {
                previous = scenario.next_value(Duration::from_secs(5) * step, previous, &mut rng);
                previous
            })
            .collect()
    }

    #[test]
    fn every_scenario_stays_within_zero_and_one() {
        for scenario in Scenario::ALL {
            for value in run(scenario, 1000) {
                assert!((0.0..=1.0).contains(&value), "{scenario}: {value}");
            }
        }
    }

    #[test]
    fn spike_stays_above_the_alert_threshold() {
        assert!(run(Scenario::Spike, 1000).iter().all(|&v| v > 0.9));
    }

    #[test]
    fn drift_climbs_then_holds_near_the_top() {
        let values = run(Scenario::Drift, 200);
        assert!(values[0] < 0.2, "starts low: {}", values[0]);
        // 120 steps of 5 s: ten minutes.
        assert!(
            values[120] > 0.95,
            "ten minutes later, near the top: {}",
            values[120]
        );
        assert!(values[120..].iter().all(|&v| v > 0.95), "and stays there");
        let early: f64 = values[..12].iter().sum::<f64>() / 12.0;
        let late: f64 = values[108..120].iter().sum::<f64>() / 12.0;
        assert!(late > early + 0.5, "climbs: {early} then {late}");
    }

    #[test]
    fn flatline_repeats_the_previous_value() {
        assert!(
            run(Scenario::Flatline, 50)
                .iter()
                .all(|&v| (v - 0.42).abs() < 1e-12)
        );
    }

    #[test]
    fn sine_has_a_five_minute_period() {
        let values = run(Scenario::Sine, 120);
        // 60 steps of 5 s is one period: the same phase, up to the noise.
        for step in 0..60 {
            assert!((values[step] - values[step + 60]).abs() < 0.051);
        }
        let (min, max) = values
            .iter()
            .fold((1.0_f64, 0.0_f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        assert!(min < 0.15 && max > 0.85, "swings widely: {min}..{max}");
    }

    #[test]
    fn steady_is_spread_over_the_whole_range() {
        let values = run(Scenario::Steady, 1000);
        let mean = values.iter().sum::<f64>() / 1000.0;
        assert!((mean - 0.5).abs() < 0.05, "mean {mean}");
        assert!(values.iter().any(|&v| v < 0.1) && values.iter().any(|&v| v > 0.9));
    }

    #[test]
    fn names_parse_in_any_case_and_unknown_names_list_the_valid_ones() {
        assert_eq!(" Spike\n".parse::<Scenario>(), Ok(Scenario::Spike));
        for scenario in Scenario::ALL {
            assert_eq!(scenario.name().parse::<Scenario>(), Ok(scenario));
        }
        let error = "chaos".parse::<Scenario>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown scenario \"chaos\": choose one of steady, spike, drift, flatline, sine"
        );
    }
}
