//! promlab's own webhook sink (the local Discord), served in the test's runtime on a free loopback port.

use std::net::SocketAddr;

use promlab::sink::{SinkState, router};

pub struct RunningSink {
    pub address: SocketAddr,
}

impl RunningSink {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let address = listener.local_addr().expect("an address");
        let app = router(SinkState::new(100));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { address }
    }

    /// A webhook URL for Alertmanager, with a token the evidence must hide.
    pub fn webhook_url(&self, token: &str) -> String {
        format!("http://{}/api/webhooks/4321/{token}", self.address)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// How many messages the sink holds.
    pub async fn count(&self) -> usize {
        let text = super::get_text(&format!("{}/api/messages", self.url())).await;
        serde_json::from_str::<Vec<serde_json::Value>>(&text)
            .expect("the sink answers a JSON list")
            .len()
    }

    /// Waits until the sink holds `count` messages.
    pub async fn wait_for(&self, count: usize) {
        super::eventually::eventually(
            &format!("the sink receives {count} message(s)"),
            std::time::Duration::from_secs(60),
            || self.count(),
            |held| *held >= count,
        )
        .await;
    }
}
