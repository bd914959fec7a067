//! The long-running servers' flags: `mock`, `webhook-sink`, `probe` (their healthcheck) and `stress`
//! (lab 5's load, a service of the stack).
#![allow(clippy::doc_markdown)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::Args;

use crate::mock::{MockConfig, Scenario};
use crate::probe::ProbeConfig;
use crate::sink::SinkConfig;
use crate::stress::StressConfig;

use super::shared::{parse_interval, parse_timeout};

#[derive(Debug, Args)]
pub struct SinkArgs {
    /// Address to serve the webhook endpoint (/api/webhooks/ID/TOKEN), the page and /healthz on.
    #[arg(long, env = "PROMLAB_SINK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// How many messages to keep in memory (the oldest are forgotten first).
    #[arg(long, env = "PROMLAB_SINK_KEEP", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub keep: u32,
}

impl From<SinkArgs> for SinkConfig {
    fn from(args: SinkArgs) -> Self {
        Self {
            listen: args.listen,
            keep: args.keep as usize,
        }
    }
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// URL to GET, e.g. http://127.0.0.1:5000/healthz (default: /healthz on the port of --listen).
    #[arg(env = "PROMLAB_PROBE_URL")]
    pub url: Option<String>,

    /// The service's listen address, when no URL is given (the same variable the service reads).
    #[arg(long, env = "PROMLAB_LISTEN", default_value = "0.0.0.0:5000")]
    pub listen: SocketAddr,

    /// How long to wait for an answer.
    #[arg(long, env = "PROMLAB_PROBE_TIMEOUT", default_value = "3s", value_parser = parse_timeout)]
    pub timeout: Duration,
}

impl From<ProbeArgs> for ProbeConfig {
    fn from(args: ProbeArgs) -> Self {
        let url = args.url.unwrap_or_else(|| {
            // A service listening on every address is reached on loopback.
            let host = if args.listen.ip().is_unspecified() {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            } else {
                args.listen.ip()
            };
            format!(
                "http://{}/healthz",
                SocketAddr::new(host, args.listen.port())
            )
        });
        Self {
            url,
            timeout: args.timeout,
        }
    }
}

#[derive(Debug, Args)]
pub struct MockArgs {
    /// Address to serve /metrics, the page, /scenario and /healthz on (port 0 picks a free port).
    #[arg(long, env = "PROMLAB_LISTEN", default_value = "127.0.0.1:5000")]
    pub listen: SocketAddr,

    /// Time between two values of model_result (e.g. 5s, 500ms, 1m).
    #[arg(long, env = "PROMLAB_INTERVAL", default_value = "5s", value_parser = parse_interval)]
    pub interval: Duration,

    /// Scenario at start: steady, spike, drift, flatline or sine (switch later with PUT /scenario).
    #[arg(long, env = "PROMLAB_SCENARIO", default_value = "steady", value_parser = parse_scenario)]
    pub scenario: Scenario,

    /// Seed of the random generator, for a reproducible run (random when absent).
    #[arg(long, env = "PROMLAB_SEED")]
    pub seed: Option<u64>,
}

impl From<MockArgs> for MockConfig {
    fn from(args: MockArgs) -> Self {
        Self {
            listen: args.listen,
            interval: args.interval,
            scenario: args.scenario,
            seed: args.seed,
        }
    }
}

fn parse_scenario(text: &str) -> Result<Scenario, String> {
    text.parse().map_err(|error| format!("{error}"))
}

/// `promlab stress`: lab 5's CPU load, run in the stack (compose profile `load`).
#[derive(Debug, Args)]
pub struct StressArgs {
    /// Worker threads, one per CPU to load (default: every CPU this process may use).
    #[arg(long, env = "PROMLAB_STRESS_WORKERS")]
    pub workers: Option<usize>,

    /// The busy fraction of each worker, in (0, 1]: 0.95 keeps the node's busy ratio above lab 5's 0.8.
    #[arg(long, env = "PROMLAB_STRESS_LOAD", default_value_t = 0.95)]
    pub load: f64,

    /// How long to load (e.g. 5m); Ctrl-C or `docker compose stop stress` ends it sooner.
    #[arg(long, env = "PROMLAB_STRESS_DURATION", default_value = "5m", value_parser = crate::time::duration)]
    pub duration: Duration,
}

impl From<StressArgs> for StressConfig {
    fn from(args: StressArgs) -> Self {
        Self {
            workers: args.workers.unwrap_or_else(crate::stress::available_cpus),
            load: args.load,
            duration: args.duration,
        }
    }
}
