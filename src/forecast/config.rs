//! The forecaster's config file (`forecaster.yaml`): every key optional, every value checked before the
//! forecaster starts; flags and environment variables override the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::history::whole_steps;
use super::models::{ModelKind, ModelSettings};

/// Why a forecaster config cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file (or the token file) could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// Not valid YAML for a forecaster config (unknown key, wrong type…).
    #[error(
        "the forecaster config {path} is invalid: {source} (the committed forecaster.yaml documents every key)"
    )]
    Parse {
        path: String,
        source: serde_yaml_ng::Error,
    },
    /// A value is out of its range.
    #[error("the forecaster config {path} is invalid: {problem}")]
    Value { path: String, problem: String },
}

/// The most points a history or a forecast holds.
const MAX_STEPS: usize = crate::clients::prometheus::MAX_POINTS;

/// A duration written like `15s`, `1h` or `500ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct HumanDuration(pub Duration);

impl TryFrom<String> for HumanDuration {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        humantime::parse_duration(&text).map(Self).map_err(|error| {
            format!("{text:?} is not a duration ({error}): write it as 15s, 5m or 1h")
        })
    }
}

/// The file, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForecastFile {
    pub prometheus: PrometheusSection,
    pub targets: Vec<Target>,
    pub training_window: HumanDuration,
    pub step: HumanDuration,
    pub retrain_interval: HumanDuration,
    pub horizon: HumanDuration,
    pub models: Vec<ModelKind>,
    pub interval_width: f64,
    pub max_series: usize,
    pub min_points: usize,
    pub fourier: FourierSection,
    /// The season of `seasonal_naive`, `ets`, `mstl`, `arima` and `prophet`; detected from each series
    /// when absent.
    pub season: Option<HumanDuration>,
    /// Rolling holdouts per model and series whose out-of-sample errors size the conformal band.
    pub holdouts: usize,
    /// How much better (a fraction of its holdout sMAPE) another model must be before `auto` leaves the
    /// model it follows.
    pub auto_hysteresis: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrometheusSection {
    pub url: String,
    pub bearer_token_file: Option<PathBuf>,
    pub timeout: HumanDuration,
}

/// One thing to forecast: a PromQL selector or expression; every series it returns gets its own models.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub query: String,
    /// The `metric` label of the predictions; defaults to the source series' name.
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FourierSection {
    pub harmonics: usize,
}

impl Default for ForecastFile {
    fn default() -> Self {
        Self {
            prometheus: PrometheusSection::default(),
            targets: vec![
                Target {
                    query: "model_result".to_owned(),
                    name: None,
                },
                Target {
                    query: "1 - avg by (job, instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[1m]))".to_owned(),
                    name: Some("node_cpu_busy_ratio".to_owned()),
                },
            ],
            training_window: HumanDuration(Duration::from_secs(3600)),
            step: HumanDuration(Duration::from_secs(15)),
            retrain_interval: HumanDuration(Duration::from_secs(60)),
            horizon: HumanDuration(Duration::from_secs(600)),
            models: ModelKind::defaults(),
            interval_width: 0.95,
            max_series: 100,
            min_points: 20,
            fourier: FourierSection::default(),
            season: None,
            holdouts: 2,
            auto_hysteresis: 0.1,
        }
    }
}

impl Default for PrometheusSection {
    fn default() -> Self {
        Self {
            url: "http://prometheus:9090".to_owned(),
            bearer_token_file: None,
            timeout: HumanDuration(Duration::from_secs(10)),
        }
    }
}

impl Default for FourierSection {
    fn default() -> Self {
        Self { harmonics: 10 }
    }
}

/// The checked settings the forecaster runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub prometheus_url: String,
    /// Read from `prometheus.bearer_token_file`; its `Debug` shows nothing.
    pub bearer_token: Option<crate::redact::Secret>,
    pub timeout: Duration,
    pub targets: Vec<Target>,
    pub training_window: Duration,
    pub step: Duration,
    pub retrain_interval: Duration,
    pub horizon: Duration,
    pub models: Vec<ModelKind>,
    pub interval_width: f64,
    pub max_series: usize,
    pub min_points: usize,
    pub model_settings: ModelSettings,
    pub holdouts: usize,
    pub auto_hysteresis: f64,
}

impl Settings {
    /// Forecast steps in the horizon.
    #[must_use]
    pub fn horizon_steps(&self) -> usize {
        whole_steps(self.horizon.as_secs_f64(), self.step.as_secs_f64())
    }
}

/// A bare metric selector (`name` or `name{…}`): its series carry their name.
fn is_selector(query: &str) -> bool {
    let name_end = query.find('{').unwrap_or(query.len());
    let name = query[..name_end].trim();
    let rest = query[name_end..].trim();
    !name.is_empty()
        && name.chars().enumerate().all(|(i, c)| {
            c == '_' || c == ':' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
        })
        && (rest.is_empty() || (rest.starts_with('{') && rest.ends_with('}')))
}

impl ForecastFile {
    /// Reads a config file; `None` gives every default.
    pub fn load(path: Option<&Path>) -> Result<(Self, String), ConfigError> {
        let Some(path) = path else {
            return Ok((Self::default(), "(defaults)".to_owned()));
        };
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        let file = if text.trim().is_empty() {
            Self::default()
        } else {
            serde_yaml_ng::from_str(&text).map_err(|source| ConfigError::Parse {
                path: shown.clone(),
                source,
            })?
        };
        Ok((file, shown))
    }

    /// The holdouts and the auto forecast's hysteresis: in range.
    fn check_calibration(&self) -> Result<(), String> {
        if self.holdouts == 0 || self.holdouts > 10 {
            return Err(format!(
                "holdouts is {}: write 1 to 10 (each costs one more fit per model and series; 2 or more also measure the band's coverage)",
                self.holdouts
            ));
        }
        if !(0.0..1.0).contains(&self.auto_hysteresis) {
            return Err(format!(
                "auto_hysteresis is {}: write a fraction from 0 (switch on any improvement) to below 1, e.g. 0.1",
                self.auto_hysteresis
            ));
        }
        Ok(())
    }

    /// The models and the targets: present, unique, and each target's series nameable.
    fn check_lists(&self) -> Result<(), String> {
        if self.models.is_empty() {
            let names: Vec<&str> = ModelKind::ALL.iter().map(|kind| kind.name()).collect();
            return Err(format!(
                "models is empty: name at least one ({})",
                names.join(", ")
            ));
        }
        for kind in &self.models {
            kind.check_built().map_err(|error| error.to_string())?;
        }
        if let Some(repeated) = self
            .models
            .iter()
            .enumerate()
            .find(|(i, m)| self.models[..*i].contains(m))
        {
            return Err(format!("models names {} twice", repeated.1.name()));
        }
        if self.targets.is_empty() {
            return Err("targets is empty: give at least one query, e.g. model_result".to_owned());
        }
        for target in &self.targets {
            if target.query.trim().is_empty() {
                return Err("a target has an empty query".to_owned());
            }
            if target.name.is_none() && !is_selector(&target.query) {
                return Err(format!(
                    "the target {:?} is an expression, whose series have no name: give it a `name:`",
                    target.query
                ));
            }
        }
        Ok(())
    }

    /// Checks every value; `path` names the file in errors.
    pub fn settings(self, path: &str) -> Result<Settings, ConfigError> {
        let invalid = |problem: String| ConfigError::Value {
            path: path.to_owned(),
            problem,
        };
        let step = self.step.0;
        if step < Duration::from_secs(1) {
            return Err(invalid(format!(
                "step is {}: use 1s or more",
                humantime::format_duration(step)
            )));
        }
        let steps = |duration: Duration| duration.as_secs_f64() / step.as_secs_f64();
        if self.min_points < 8 {
            return Err(invalid(format!(
                "min_points is {}: models need at least 8",
                self.min_points
            )));
        }
        if steps(self.training_window.0) < self.min_points as f64 {
            return Err(invalid(format!(
                "training_window ({}) holds fewer than min_points ({}) steps of {}: lengthen it or shorten step",
                humantime::format_duration(self.training_window.0),
                self.min_points,
                humantime::format_duration(step)
            )));
        }
        // Prometheus answers at most 11,000 points per series and query; the horizon is held to the same.
        for (key, duration) in [
            ("training_window", self.training_window.0),
            ("horizon", self.horizon.0),
        ] {
            if steps(duration) > MAX_STEPS as f64 {
                return Err(invalid(format!(
                    "{key} ({}) is more than {MAX_STEPS} steps of {}: Prometheus answers at most that many points; lengthen step or shorten {key}",
                    humantime::format_duration(duration),
                    humantime::format_duration(step)
                )));
            }
        }
        if self.horizon.0 < step || self.retrain_interval.0 < step {
            return Err(invalid(
                "horizon and retrain_interval must each be at least one step".to_owned(),
            ));
        }
        if !(self.interval_width > 0.0 && self.interval_width < 1.0) {
            return Err(invalid(format!(
                "interval_width is {}: write a probability strictly between 0 and 1, e.g. 0.95",
                self.interval_width
            )));
        }
        self.check_calibration().map_err(invalid)?;
        self.check_lists().map_err(invalid)?;
        if self.max_series == 0 || self.fourier.harmonics == 0 {
            return Err(invalid(
                "max_series and fourier.harmonics must be at least 1".to_owned(),
            ));
        }
        let season = match self.season {
            Some(season) => {
                let season_steps = whole_steps(season.0.as_secs_f64(), step.as_secs_f64());
                if season_steps < 2 {
                    return Err(invalid("season must span at least two steps".to_owned()));
                }
                Some(season_steps)
            }
            None => None,
        };
        let bearer_token = match &self.prometheus.bearer_token_file {
            Some(file) => Some(crate::redact::Secret::new(
                std::fs::read_to_string(file)
                    .map_err(|source| ConfigError::Read {
                        path: file.display().to_string(),
                        source,
                    })?
                    .trim(),
            )),
            None => None,
        };
        Ok(Settings {
            prometheus_url: self.prometheus.url,
            bearer_token,
            timeout: self.prometheus.timeout.0,
            targets: self.targets,
            training_window: self.training_window.0,
            step,
            retrain_interval: self.retrain_interval.0,
            horizon: self.horizon.0,
            models: self.models,
            interval_width: self.interval_width,
            max_series: self.max_series,
            min_points: self.min_points,
            model_settings: ModelSettings {
                harmonics: self.fourier.harmonics,
                season,
                step_seconds: step.as_secs_f64(),
            },
            holdouts: self.holdouts,
            auto_hysteresis: self.auto_hysteresis,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        let file: ForecastFile =
            serde_yaml_ng::from_str(text).map_err(|source| ConfigError::Parse {
                path: "f.yaml".to_owned(),
                source,
            })?;
        file.settings("f.yaml")
    }

    #[test]
    fn the_defaults_forecast_the_mock_and_the_cpu() {
        let settings = ForecastFile::default().settings("(defaults)").unwrap();
        assert_eq!(settings.prometheus_url, "http://prometheus:9090");
        assert_eq!(settings.targets[0].query, "model_result");
        assert_eq!(settings.horizon_steps(), 40);
        assert_eq!(settings.models, ModelKind::defaults());
    }

    #[test]
    fn the_committed_example_documents_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("forecaster.yaml");
        let (file, shown) = ForecastFile::load(Some(&path)).unwrap();
        assert_eq!(
            file.settings(&shown).unwrap(),
            ForecastFile::default().settings("(defaults)").unwrap()
        );
    }

    #[test]
    fn bad_values_name_the_key_and_the_fix() {
        for (text, expected) in [
            ("step: 500ms\n", "step is 500ms"),
            (
                "training_window: 1m\n",
                "training_window (1m) holds fewer than min_points",
            ),
            ("interval_width: 95\n", "interval_width is 95"),
            ("models: []\n", "models is empty"),
            ("models: [fourier, fourier]\n", "names fourier twice"),
            ("models: [arma]\n", "unknown variant `arma`"),
            ("targets: [{query: 'rate(x[1m])'}]\n", "give it a `name:`"),
            ("season: 15s\n", "at least two steps"),
            ("step: fast\n", "\"fast\" is not a duration"),
            (
                "training_window: 2d\n",
                "training_window (2days) is more than 11000 steps",
            ),
            ("horizon: 10000h\n", "is more than 11000 steps of 15s"),
            ("stepp: 1s\n", "unknown field `stepp`"),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn lstm_is_refused_with_the_fix_unless_built_in() {
        let result = parse("models: [lstm]\n");
        if cfg!(feature = "lstm") {
            assert_eq!(result.unwrap().models, [ModelKind::Lstm]);
        } else {
            let error = result.unwrap_err().to_string();
            assert!(
                error.contains("built without the lstm feature: cargo build --features lstm"),
                "{error}"
            );
        }
    }

    #[test]
    fn selectors_carry_their_names_and_expressions_do_not() {
        for selector in ["model_result", "up{job=\"x\"}", "a:b_c1"] {
            assert!(is_selector(selector), "{selector}");
        }
        for expression in ["rate(x[1m])", "1 - up", "x + y", "9x"] {
            assert!(!is_selector(expression), "{expression}");
        }
    }
}
