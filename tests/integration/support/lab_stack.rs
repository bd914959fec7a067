//! The live lab on 127.0.0.1, the one place the tests start it: [`AlertingLab`] is a real
//! Prometheus and Alertmanager on a lab's files (its rules, its routes, Discord's webhook in the
//! secret file), [`ScrapedLab`] the model mock, node-exporter and a stand-in forecaster scraped by a
//! real Prometheus with the lab's own generated `prometheus.yml` (jobs and labels as in the lab, every
//! second instead of every 5 s, targets pointed at the test's ports).

use std::path::Path;
use std::time::Duration;

use promlab::generate::{LabConfig, render};
use promlab::mock::Scenario;

use super::Missing;
use super::containers::{Alertmanager, NodeExporter, Prometheus};
use super::forecaster::StandInForecaster;
use super::mock::RunningMock;

/// Where the lab's Alertmanager config reads Discord's webhook URL (a secret file, as in compose).
pub const WEBHOOK_URL_FILE: &str = "/etc/alertmanager/secrets/discord_webhook_url";

/// A lab's Prometheus and Alertmanager files, as the containers get them.
#[derive(Debug, Clone)]
pub struct LabFiles {
    /// `prometheus.yml`.
    pub prometheus: String,
    /// Each rule file, as (path relative to `prometheus.yml`, contents).
    pub rules: Vec<(String, String)>,
    /// `alertmanager.yml`.
    pub alertmanager: String,
}

impl LabFiles {
    /// The files of the lab in `dir` (a generated folder or a repository): `prometheus/prometheus.yml`,
    /// every `prometheus/rules/*.yml`, and `alertmanager/alertmanager.yml`.
    pub fn read(dir: &Path) -> Self {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
        };
        Self {
            prometheus: read(&dir.join("prometheus/prometheus.yml")),
            rules: rule_files(dir),
            alertmanager: read(&dir.join("alertmanager/alertmanager.yml")),
        }
    }
}

/// Every rule file of the lab in `dir` (`prometheus/rules/*.yml`, not the `*.test.yml` promtool tests
/// beside them), by name, as (`rules/<name>`, contents): what `prometheus.yml`'s `rule_files` reads.
pub fn rule_files(dir: &Path) -> Vec<(String, String)> {
    let folder = dir.join("prometheus/rules");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", folder.display()))
        .map(|entry| entry.expect("a rule file").path())
        // What Prometheus loads: `*.yml`, not the promtool tests (`*.test.yml`) beside them.
        .filter(|path| {
            path.extension().is_some_and(|extension| extension == "yml")
                && path.file_stem().is_some_and(|stem| {
                    Path::new(stem)
                        .extension()
                        .is_none_or(|inner| inner != "test")
                })
        })
        .map(|path| {
            let name = path.file_name().expect("a file name").to_string_lossy();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
            (format!("rules/{name}"), text)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no rule files in {}", folder.display());
    files
}

/// A real Alertmanager, then a real Prometheus sending to it, on the given ports; both run until
/// dropped.
pub struct AlertingLab {
    pub prometheus: Prometheus,
    pub alertmanager: Alertmanager,
    pub prometheus_port: u16,
    pub alertmanager_port: u16,
}

impl AlertingLab {
    /// Starts the lab's `files` on `prometheus_port` and `alertmanager_port`, Alertmanager sending
    /// Discord's messages to `webhook_url`. Alertmanager comes first, so Prometheus' first alert finds it.
    pub async fn start(
        (prometheus_port, alertmanager_port): (u16, u16),
        files: &LabFiles,
        webhook_url: &str,
    ) -> Result<Self, Missing> {
        let alertmanager = Alertmanager::start(
            alertmanager_port,
            &files.alertmanager,
            (WEBHOOK_URL_FILE, webhook_url),
        )
        .await?;
        let prometheus =
            Prometheus::start_with(prometheus_port, &files.prometheus, &files.rules).await?;
        Ok(Self {
            prometheus,
            alertmanager,
            prometheus_port,
            alertmanager_port,
        })
    }

    /// The sum of Alertmanager's own samples of `name` whose labels contain `labels` (e.g.
    /// `integration="discord"`; empty for any).
    pub async fn alertmanager_metric(&self, name: &str, labels: &str) -> f64 {
        let url = format!("http://127.0.0.1:{}/metrics", self.alertmanager_port);
        let text = super::get_text(&url).await;
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.rsplit_once(' '))
            .filter(|(series, _)| {
                let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
                metric == name && rest.contains(labels)
            })
            .filter_map(|(_, value)| value.parse::<f64>().ok())
            .sum()
    }
}

/// Everything runs until dropped.
pub struct ScrapedLab {
    pub prometheus: Prometheus,
    _mock: RunningMock,
    _forecaster: StandInForecaster,
    _node_exporter: NodeExporter,
}

impl ScrapedLab {
    pub async fn start() -> Result<Self, Missing> {
        let mock = RunningMock::start(Scenario::Steady, Duration::from_secs(1), 11).await;
        let forecaster = StandInForecaster::start(&mock.address.to_string()).await;
        let node_exporter = NodeExporter::start().await?;
        // Nothing listens here: the lab's own Prometheus and Alertmanager targets, which no dashboard reads.
        let closed = format!("127.0.0.1:{}", super::free_port());
        let lab = LabConfig::parse(
            &format!(
                "scrape_interval: 1s\nevaluation_interval: 1s\ntargets:\n  prometheus: {closed}\n  \
                 model_mock: {}\n  forecaster: {}\n  node_exporter: 127.0.0.1:{}\n  alertmanager: {closed}\n",
                mock.address, forecaster.address, node_exporter.port
            ),
            "the test's lab config",
        )
        .expect("a valid lab config");
        let config = render(&lab)
            .expect("the lab's files render")
            .into_iter()
            .find(|file| file.path == Path::new("prometheus/prometheus.yml"))
            .expect("the lab has a prometheus.yml")
            .contents;
        let prometheus = Prometheus::start(&config).await?;
        Ok(Self {
            prometheus,
            _mock: mock,
            _forecaster: forecaster,
            _node_exporter: node_exporter,
        })
    }
}
