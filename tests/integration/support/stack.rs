//! The lab on 127.0.0.1: the model mock, node-exporter and a stand-in forecaster, scraped by a real
//! Prometheus with the lab's own generated `prometheus.yml` (jobs and labels as in the lab, every
//! second instead of every 5 s, targets pointed at the test's ports).

use std::path::Path;
use std::time::Duration;

use promlab::generate::{LabConfig, render};
use promlab::mock::Scenario;

use super::Missing;
use super::containers::{NodeExporter, Prometheus};
use super::forecaster::StandInForecaster;
use super::mock::RunningMock;

/// Everything runs until dropped.
pub struct Stack {
    pub prometheus: Prometheus,
    _mock: RunningMock,
    _forecaster: StandInForecaster,
    _node_exporter: NodeExporter,
}

impl Stack {
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
