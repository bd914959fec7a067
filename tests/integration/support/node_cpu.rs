//! A stand-in node-exporter whose CPUs the test loads and unloads at will: it serves
//! `node_cpu_seconds_total` for two CPUs, the idle counters growing at 1 s per second when unloaded
//! and at 0.05 s per second when loaded (a busy ratio of 0.95), so a lab's `NodeCpuHigh` goes pending,
//! fires and resolves when the test says, without stress-ng taking this shared machine's cores.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::routing::get;

#[derive(Debug)]
struct Cpus {
    at: Instant,
    idle: f64,
    busy: f64,
    loaded: bool,
}

impl Cpus {
    fn advance(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.at).as_secs_f64();
        self.at = now;
        let idle_share = if self.loaded { 0.05 } else { 1.0 };
        self.idle += elapsed * idle_share;
        self.busy += elapsed * (1.0 - idle_share);
    }
}

/// Served on a free loopback port for as long as the test's runtime lives.
pub struct LoadedCpu {
    pub address: SocketAddr,
    cpus: Arc<Mutex<Cpus>>,
}

impl LoadedCpu {
    pub async fn start() -> Self {
        let cpus = Arc::new(Mutex::new(Cpus {
            at: Instant::now(),
            idle: 1000.0,
            busy: 100.0,
            loaded: false,
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let address = listener.local_addr().expect("an address");
        let app = Router::new()
            .route("/metrics", get(metrics))
            .with_state(cpus.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { address, cpus }
    }

    /// Loads (or unloads) every CPU from now on.
    pub fn load(&self, loaded: bool) {
        let mut cpus = self.cpus.lock().expect("the CPUs' lock");
        cpus.advance();
        cpus.loaded = loaded;
    }
}

async fn metrics(State(cpus): State<Arc<Mutex<Cpus>>>) -> String {
    let mut cpus = cpus.lock().expect("the CPUs' lock");
    cpus.advance();
    let mut text = String::from(
        "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n# TYPE node_cpu_seconds_total counter\n",
    );
    for cpu in ["0", "1"] {
        let _ = write!(
            text,
            "node_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"idle\"}} {}\nnode_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"user\"}} {}\n",
            cpus.idle, cpus.busy
        );
    }
    text
}
