//! The model mock, served in-process on a free loopback port.

use std::net::SocketAddr;
use std::time::Duration;

use promlab::mock::{MockConfig, Scenario};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A mock running in this process; stopped (gracefully) on drop.
pub struct RunningMock {
    pub address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningMock {
    pub async fn start(scenario: Scenario, interval: Duration, seed: u64) -> Self {
        let port = super::free_port();
        let config = MockConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            interval,
            scenario,
            seed: Some(seed),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            promlab::mock::run(&config, async {
                let _ = stopped.await;
            })
            .await
            .expect("the mock runs");
        });
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let mock = Self {
            address,
            stop: Some(stop),
            task,
        };
        mock.wait_until_healthy().await;
        mock
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn switch(&self, scenario: &str) -> reqwest::Response {
        reqwest::Client::new()
            .put(self.url("/scenario"))
            .body(scenario.to_owned())
            .send()
            .await
            .expect("PUT /scenario answers")
    }

    async fn wait_until_healthy(&self) {
        super::eventually::eventually_body(
            &format!("the mock on {} is healthy", self.address),
            Duration::from_secs(5),
            &self.url("/healthz"),
            |_| true,
        )
        .await;
    }
}

impl Drop for RunningMock {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}
