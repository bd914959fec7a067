//! The lab config (`promlab.yaml`): every key optional, every value checked before anything is written.

use std::path::Path;

use serde::Deserialize;

pub use crate::time::PromDuration;

/// Why a lab config cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the lab config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The file is not valid YAML for a lab config (unknown key, wrong type…).
    #[error(
        "the lab config {path} is invalid: {source} (the committed promlab.yaml documents every key)"
    )]
    Parse {
        path: String,
        source: serde_yaml_ng::Error,
    },
    /// A value is out of its range.
    #[error("the lab config {path} is invalid: {problem}")]
    Value { path: String, problem: String },
}

/// The lab: what Prometheus scrapes, and when alerts fire.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabConfig {
    pub scrape_interval: PromDuration,
    pub evaluation_interval: PromDuration,
    pub model: ModelConfig,
    pub target_down: TargetDownConfig,
    pub node: NodeConfig,
    pub forecast: ForecastConfig,
    pub alertmanager: AlertmanagerConfig,
    pub targets: TargetsConfig,
    pub kubernetes: KubernetesConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    pub threshold: f64,
    #[serde(rename = "for")]
    pub for_: PromDuration,
}

/// `TargetDown`: a scrape target has answered nothing for this long.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TargetDownConfig {
    #[serde(rename = "for")]
    pub for_: PromDuration,
}

/// `NodeCpuHigh`: the machine's CPU busy ratio stays above `cpu_threshold` for `for`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    pub cpu_threshold: f64,
    #[serde(rename = "for")]
    pub for_: PromDuration,
    /// The window the busy ratio is averaged over (`rate(…[window])`).
    pub window: PromDuration,
}

/// `ForecastAnomaly`: the actual value stays more than `threshold` band half-widths from the forecast
/// of the model the forecaster follows for the series (`predicted_values_auto_anomaly_score`) for `for`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForecastConfig {
    pub threshold: f64,
    #[serde(rename = "for")]
    pub for_: PromDuration,
}

/// How Alertmanager batches notifications.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertmanagerConfig {
    pub group_wait: PromDuration,
    pub group_interval: PromDuration,
    pub repeat_interval: PromDuration,
}

/// Where each service answers, as seen from the Prometheus container (compose service names).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TargetsConfig {
    pub prometheus: String,
    pub model_mock: String,
    pub forecaster: String,
    pub node_exporter: String,
    pub alertmanager: String,
}

/// `generate --target kubernetes`: where the lab meets the cluster's Prometheus Operator.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KubernetesConfig {
    /// The lab's namespace (a DNS-1123 label).
    pub namespace: String,
    /// The namespace of the cluster's Prometheus (allowed to scrape the students' namespaces).
    pub prometheus_namespace: String,
    /// The cluster's Prometheus, as the forecaster reads it.
    pub prometheus_url: String,
    /// The `release` label kube-prometheus-stack selects `ServiceMonitor`s and `PrometheusRule`s by.
    pub release: String,
    /// The forecaster's `StatefulSet` replicas: each forecasts one shard of the series.
    pub forecaster_replicas: u32,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        Self {
            namespace: "promlab".to_owned(),
            prometheus_namespace: "monitoring".to_owned(),
            prometheus_url: "http://prometheus-operated.monitoring.svc:9090".to_owned(),
            release: "kube-prometheus-stack".to_owned(),
            forecaster_replicas: 3,
        }
    }
}

impl Default for LabConfig {
    fn default() -> Self {
        Self {
            scrape_interval: PromDuration::from_seconds(5),
            evaluation_interval: PromDuration::from_seconds(5),
            model: ModelConfig::default(),
            target_down: TargetDownConfig::default(),
            node: NodeConfig::default(),
            forecast: ForecastConfig::default(),
            alertmanager: AlertmanagerConfig::default(),
            targets: TargetsConfig::default(),
            kubernetes: KubernetesConfig::default(),
        }
    }
}

impl Default for TargetDownConfig {
    fn default() -> Self {
        Self {
            for_: PromDuration::from_seconds(30),
        }
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            cpu_threshold: 0.8,
            for_: PromDuration::from_seconds(180),
            window: PromDuration::from_seconds(60),
        }
    }
}

impl Default for ForecastConfig {
    fn default() -> Self {
        Self {
            threshold: 1.5,
            for_: PromDuration::from_seconds(30),
        }
    }
}

impl Default for AlertmanagerConfig {
    fn default() -> Self {
        Self {
            group_wait: PromDuration::from_seconds(10),
            group_interval: PromDuration::from_seconds(30),
            repeat_interval: PromDuration::from_seconds(4 * 3600),
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            threshold: 0.9,
            for_: PromDuration::from_seconds(30),
        }
    }
}

impl Default for TargetsConfig {
    fn default() -> Self {
        Self {
            prometheus: "localhost:9090".to_owned(),
            model_mock: "model-mock:5000".to_owned(),
            forecaster: "forecaster:8000".to_owned(),
            node_exporter: "node-exporter:9100".to_owned(),
            alertmanager: "alertmanager:9093".to_owned(),
        }
    }
}

impl LabConfig {
    /// Reads and checks a lab config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text, &shown)
    }

    /// Parses and checks a lab config; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        let config: Self = if text.trim().is_empty() {
            Self::default()
        } else {
            serde_yaml_ng::from_str(text).map_err(|source| ConfigError::Parse {
                path: path.to_owned(),
                source,
            })?
        };
        config.check().map_err(|problem| ConfigError::Value {
            path: path.to_owned(),
            problem,
        })?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if !(self.model.threshold > 0.0 && self.model.threshold < 1.0) {
            return Err(format!(
                "model.threshold is {}: model_result lies in [0, 1], so choose a threshold strictly between 0 and 1 (the lab uses 0.9)",
                self.model.threshold
            ));
        }
        if !(self.node.cpu_threshold > 0.0 && self.node.cpu_threshold < 1.0) {
            return Err(format!(
                "node.cpu_threshold is {}: the CPU busy ratio lies in [0, 1], so choose a threshold strictly between 0 and 1 (the lab uses 0.8)",
                self.node.cpu_threshold
            ));
        }
        if !(self.forecast.threshold >= 1.0 && self.forecast.threshold.is_finite()) {
            return Err(format!(
                "forecast.threshold is {}: it counts band half-widths, and 1 is the band's edge, so choose 1 or more (the lab uses 1.5)",
                self.forecast.threshold
            ));
        }
        let evaluation = &self.evaluation_interval;
        for (key, for_) in [
            ("model.for", &self.model.for_),
            ("target_down.for", &self.target_down.for_),
            ("node.for", &self.node.for_),
            ("forecast.for", &self.forecast.for_),
        ] {
            if evaluation.seconds() > for_.seconds() {
                return Err(format!(
                    "{key} ({for_}) is shorter than evaluation_interval ({evaluation}): the alert could never wait that little"
                ));
            }
        }
        // rate() needs two samples in its window; four make it robust to a missed scrape.
        if self.node.window.seconds() < 4 * self.scrape_interval.seconds() {
            return Err(format!(
                "node.window ({}) is shorter than four scrape intervals ({}): rate() would often see too few samples; make it at least {}",
                self.node.window,
                self.scrape_interval,
                PromDuration::from_seconds(4 * self.scrape_interval.seconds())
            ));
        }
        let alertmanager = &self.alertmanager;
        if alertmanager.group_interval.seconds() > alertmanager.repeat_interval.seconds() {
            return Err(format!(
                "alertmanager.repeat_interval ({}) is shorter than alertmanager.group_interval ({}): make it at least as long",
                alertmanager.repeat_interval, alertmanager.group_interval
            ));
        }
        let targets = [
            ("targets.prometheus", &self.targets.prometheus),
            ("targets.model_mock", &self.targets.model_mock),
            ("targets.forecaster", &self.targets.forecaster),
            ("targets.node_exporter", &self.targets.node_exporter),
            ("targets.alertmanager", &self.targets.alertmanager),
        ];
        for (key, target) in targets {
            let valid = target.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty()
                    && !host.contains(['/', ' ', '\'', '"'])
                    && port.parse::<u16>().is_ok_and(|p| p > 0)
            });
            if !valid {
                return Err(format!(
                    "{key} is {target:?}: write HOST:PORT, e.g. model-mock:5000 (no scheme, no path)"
                ));
            }
        }
        self.check_kubernetes()
    }

    fn check_kubernetes(&self) -> Result<(), String> {
        let kubernetes = &self.kubernetes;
        for (key, name) in [
            ("kubernetes.namespace", &kubernetes.namespace),
            (
                "kubernetes.prometheus_namespace",
                &kubernetes.prometheus_namespace,
            ),
        ] {
            crate::generate::kubernetes::check_dns_label(name)
                .map_err(|problem| format!("{key} is {name:?}: {problem}"))?;
        }
        if !(1..=64).contains(&kubernetes.forecaster_replicas) {
            return Err(format!(
                "kubernetes.forecaster_replicas is {}: choose between 1 and 64 (each replica forecasts one shard)",
                kubernetes.forecaster_replicas
            ));
        }
        let url = &kubernetes.prometheus_url;
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.contains(char::is_whitespace)
        {
            return Err(format!(
                "kubernetes.prometheus_url is {url:?}: write the URL of the cluster's Prometheus, e.g. http://prometheus-operated.monitoring.svc:9090"
            ));
        }
        if kubernetes.release.is_empty() {
            return Err(
                "kubernetes.release is empty: write the Helm release name of kube-prometheus-stack (its Prometheus selects resources by the label release=NAME)".to_owned(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_config_is_the_lab_default() {
        let config = LabConfig::parse("", "promlab.yaml").unwrap();
        assert_eq!(config.scrape_interval.to_string(), "5s");
        assert!((config.model.threshold - 0.9).abs() < 1e-12);
        assert_eq!(config.model.for_.to_string(), "30s");
        assert_eq!(config.targets.model_mock, "model-mock:5000");
    }

    #[test]
    fn durations_read_like_prometheus_ones() {
        for (text, seconds) in [("5s", 5), ("3m", 180), ("1m30s", 90), ("2h", 7200)] {
            assert_eq!(
                PromDuration::try_from(text.to_owned()).unwrap().seconds(),
                seconds
            );
            assert_eq!(PromDuration::from_seconds(seconds).to_string(), text);
        }
        assert_eq!(PromDuration::from_seconds(3725).to_string(), "1h2m5s");
        for bad in [
            "",
            "5",
            "0s",
            "5x",
            "m",
            "1.5m",
            "500ms",
            "30s1m",
            "1m1m",
            "9999999999999999h",
        ] {
            assert!(PromDuration::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_configs_name_the_key_and_the_fix() {
        for (text, expected) in [
            ("model:\n  threshold: 1.5\n", "model.threshold is 1.5"),
            (
                "model:\n  for: 1s\nevaluation_interval: 5s\n",
                "model.for (1s) is shorter",
            ),
            ("targets:\n  model_mock: http://x:5000\n", "write HOST:PORT"),
            (
                "targets:\n  model_mock: mock\n",
                "targets.model_mock is \"mock\"",
            ),
            ("scrape_interval: fast\n", "\"fast\" is not a duration"),
            ("modle:\n  threshold: 0.5\n", "unknown field `modle`"),
            ("node:\n  cpu_threshold: 0\n", "node.cpu_threshold is 0"),
            (
                "node:\n  window: 10s\n",
                "node.window (10s) is shorter than four",
            ),
            (
                "target_down:\n  for: 2s\n",
                "target_down.for (2s) is shorter",
            ),
            (
                "alertmanager:\n  repeat_interval: 10s\n",
                "alertmanager.repeat_interval (10s) is shorter",
            ),
        ] {
            let error = LabConfig::parse(text, "lab.yaml").unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
            assert!(
                error.starts_with("the lab config lab.yaml is invalid"),
                "{error}"
            );
        }
    }
}
