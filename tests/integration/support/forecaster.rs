//! A stand-in for promlab's forecaster: a fixed exposition in the forecaster's metric contract, for
//! every model the dashboards offer (the real forecaster has only `seasonal_naive` and `fourier` so far)
//! and with an anomaly flag held at 1 (the real one is 1 only while an actual value is out of its band,
//! too briefly for a query test). That the real forecaster serves this contract is tested in
//! `forecaster.rs`; once it has every model, the dashboard tests can start it instead.
//!
//! The contract: for each source series and model (`auto` among them), gauges that keep the source
//! series' labels, `predicted_values_<model>`, `predicted_values_<model>_yhat_upper`, `..._yhat_lower`,
//! `..._anomaly` (1 when the latest actual value lies outside the band) and `..._anomaly_score` (band
//! half-widths from the forecast); and `forecaster_auto_model{model}`, the model `auto` follows.

use std::fmt::Write as _;
use std::net::SocketAddr;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use tokio::task::JoinHandle;

/// The forecaster's forecasts: `auto` (the model it follows per series) and every single model.
pub const MODELS: [&str; 8] = [
    "auto",
    "fourier",
    "prophet",
    "ets",
    "mstl",
    "arima",
    "lstm",
    "seasonal_naive",
];

/// Serves `/metrics` on a free loopback port until dropped.
pub struct StandInForecaster {
    pub address: SocketAddr,
    task: JoinHandle<()>,
}

impl StandInForecaster {
    /// Forecasts for `model_result{job="model_mock", instance=<source_instance>}`.
    pub async fn start(source_instance: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on 127.0.0.1");
        let address = listener.local_addr().expect("a bound address");
        let body = exposition(source_instance);
        let router = Router::new().route(
            "/metrics",
            get(move || {
                let body = body.clone();
                async move { ([(CONTENT_TYPE, "text/plain; version=0.0.4")], body) }
            }),
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("the stand-in forecaster serves");
        });
        Self { address, task }
    }
}

impl Drop for StandInForecaster {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Every model predicts 0.5 within [0.3, 0.7]. The anomaly flag is 1, so the queries that keep only
/// anomalies (`== 1`) find a series too; the real forecaster sets it from the actual value.
fn exposition(source_instance: &str) -> String {
    let labels = format!("{{job=\"model_mock\",instance=\"{source_instance}\"}}");
    let series = [
        ("", "0.5", "predicted model_result"),
        ("_yhat_upper", "0.7", "upper bound of the prediction band"),
        ("_yhat_lower", "0.3", "lower bound of the prediction band"),
        (
            "_anomaly",
            "1",
            "1 when the latest model_result is outside the band",
        ),
        (
            "_anomaly_score",
            "3",
            "band half-widths from the forecast to the latest model_result",
        ),
    ];
    let mut text = String::new();
    for model in MODELS {
        for (suffix, value, help) in series {
            let name = format!("predicted_values_{model}{suffix}");
            writeln!(
                text,
                "# HELP {name} {model}: {help}\n# TYPE {name} gauge\n{name}{labels} {value}"
            )
            .expect("writing to a String cannot fail");
        }
    }
    let auto_labels =
        format!("{{job=\"model_mock\",instance=\"{source_instance}\",model=\"fourier\"}}");
    writeln!(
        text,
        "# HELP forecaster_auto_model the model predicted_values_auto follows\n# TYPE forecaster_auto_model gauge\nforecaster_auto_model{auto_labels} 1"
    )
    .expect("writing to a String cannot fail");
    text
}
