//! The mock's HTTP surface: `/metrics`, the page, the scenario switch, the page's JSON and `/healthz`.

use askama::Template;
use askama_web::WebTemplate;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::model::Point;
use super::{MockState, Scenario, UnknownScenario};
use crate::metrics::Format;
use crate::serve::{self, CrossSite};

/// The largest `PUT /scenario` body: the longest name is 8 bytes, `{"scenario":"flatline"}` 23; 1 KiB
/// leaves room for whitespace and refuses anything else before it is read into memory (`413`).
pub const SCENARIO_BODY_MAX: usize = 1024;

/// The mock's routes over its state.
pub fn router(state: MockState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route(
            "/scenario",
            get(current_scenario)
                .put(switch_scenario)
                .layer(DefaultBodyLimit::max(SCENARIO_BODY_MAX)),
        )
        .route("/api/state", get(api_state))
        .with_state(state)
}

/// What a request to the mock can get wrong; the one place that turns errors into HTTP answers.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `PUT /scenario` named no known scenario.
    #[error(transparent)]
    UnknownScenario(#[from] UnknownScenario),
    /// `PUT /scenario` from another site's page, or from a browser without a JSON body.
    #[error(transparent)]
    CrossSite(#[from] CrossSite),
    /// A JSON body that is neither a name nor `{"scenario": name}`.
    #[error(
        "the JSON body is not a scenario: send \"spike\" or {{\"scenario\": \"spike\"}} ({reason})"
    )]
    InvalidJson {
        /// serde's explanation.
        reason: String,
    },
    /// A plain body that is not UTF-8 text.
    #[error("the body is not UTF-8 text: send a scenario name such as spike")]
    NotText,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::CrossSite(refused) => return refused.into_response(),
            Self::UnknownScenario(_) | Self::InvalidJson { .. } | Self::NotText => {
                StatusCode::BAD_REQUEST
            }
        };
        tracing::warn!(error = %self, "request refused");
        (status, format!("{self}\n")).into_response()
    }
}

async fn metrics(State(state): State<MockState>, headers: HeaderMap) -> impl IntoResponse {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok());
    let format = Format::negotiate(accept);
    (
        [(header::CONTENT_TYPE, format.content_type())],
        state.metrics(format),
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn current_scenario(State(state): State<MockState>) -> String {
    format!("{}\n", state.with_model(super::Model::scenario))
}

/// A JSON `PUT /scenario` body: `"spike"` or `{"scenario": "spike"}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ScenarioBody {
    Name(String),
    Object { scenario: String },
}

/// Switches the scenario. The body is a name, as plain text (`curl --data spike`) or JSON (what the
/// page sends); see [`serve::check_same_site`] for who may send which.
async fn switch_scenario(
    State(state): State<MockState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<String, ApiError> {
    serve::check_same_site(&headers, true)?;
    let name = if serve::is_json(&headers) {
        match serde_json::from_slice(&body) {
            Ok(ScenarioBody::Name(name) | ScenarioBody::Object { scenario: name }) => name,
            Err(error) => {
                return Err(ApiError::InvalidJson {
                    reason: error.to_string(),
                });
            }
        }
    } else {
        String::from_utf8(body.to_vec()).map_err(|_| ApiError::NotText)?
    };
    let scenario: Scenario = name.parse()?;
    let previous = state.switch(scenario);
    tracing::info!(from = %previous, to = %scenario, "scenario switched");
    Ok(format!("{scenario}\n"))
}

/// What the page's script polls to stay live.
#[derive(Debug, Serialize)]
struct StateView {
    value: f64,
    scenario: &'static str,
    scenarios: Vec<&'static str>,
    interval_ms: u128,
    history: Vec<Point>,
}

fn view(state: &MockState) -> StateView {
    state.with_model(|model| StateView {
        value: model.value(),
        scenario: model.scenario().name(),
        scenarios: Scenario::ALL.map(Scenario::name).to_vec(),
        interval_ms: model.interval().as_millis(),
        history: model.history().copied().collect(),
    })
}

async fn api_state(State(state): State<MockState>) -> Json<StateView> {
    Json(view(&state))
}

/// The page: the current value and scenario, the recent values as an SVG chart kept live by a small
/// inline script, buttons to switch scenario, and a link to `/metrics`.
#[derive(Debug, Template, WebTemplate)]
#[template(path = "mock.html")]
struct Page {
    value: String,
    scenario: &'static str,
    /// Each scenario's name and whether it is the active one.
    buttons: Vec<(&'static str, bool)>,
    /// The interval for people (`5s`), and for the script.
    interval: String,
    interval_ms: u128,
    points: String,
}

/// Chart geometry shared by the server-side first paint and the page's script.
const CHART_WIDTH: f64 = 600.0;
const CHART_HEIGHT: f64 = 200.0;

async fn page(State(state): State<MockState>) -> Page {
    let view = view(&state);
    Page {
        value: format!("{:.4}", view.value),
        scenario: view.scenario,
        buttons: view
            .scenarios
            .iter()
            .map(|&name| (name, name == view.scenario))
            .collect(),
        interval: humantime::format_duration(Duration::from_millis(
            u64::try_from(view.interval_ms).unwrap_or(u64::MAX),
        ))
        .to_string(),
        interval_ms: view.interval_ms,
        points: polyline(&view.history),
    }
}

/// SVG polyline points for the chart: x spreads the points evenly, y maps [0, 1] upwards.
fn polyline(history: &[Point]) -> String {
    let last = history.len().saturating_sub(1).max(1);
    history
        .iter()
        .enumerate()
        .map(|(index, point)| {
            let x = CHART_WIDTH * index as f64 / last as f64;
            let y = CHART_HEIGHT * (1.0 - point.value);
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::Model;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn app() -> (Router, MockState) {
        let state = MockState::new(Model::new(
            Scenario::Steady,
            Some(1),
            Duration::from_secs(5),
        ));
        (router(state.clone()), state)
    }

    async fn send(app: Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    fn get(uri: &str) -> Request<Body> {
        Request::get(uri).body(Body::empty()).unwrap()
    }

    fn put_scenario(name: &str) -> Request<Body> {
        Request::put("/scenario")
            .body(Body::from(name.to_owned()))
            .unwrap()
    }

    #[tokio::test]
    async fn metrics_default_to_the_text_format() {
        let (app, state) = app();
        let (status, headers, body) = send(app, get("/metrics")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let value = state.with_model(Model::value);
        assert!(
            body.contains(&format!("\nmodel_result {value:?}\n")),
            "{body}"
        );
        assert!(body.contains("# TYPE model_predictions_total counter\n"));
        assert!(!body.contains("# EOF"));
    }

    #[tokio::test]
    async fn metrics_speak_openmetrics_when_asked() {
        let (app, _) = app();
        let request = Request::get("/metrics")
            .header(
                header::ACCEPT,
                "application/openmetrics-text; version=1.0.0",
            )
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) = send(app, request).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        assert!(body.contains("# TYPE model_build info\n"));
        assert!(body.ends_with("# EOF\n"));
    }

    #[tokio::test]
    async fn a_scenario_switch_shows_on_metrics_and_on_the_scenario_endpoint() {
        let (app, state) = app();
        let (status, _, body) = send(app.clone(), put_scenario("spike\n")).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "spike\n"));
        assert!(state.with_model(Model::value) > 0.9);

        let (_, _, body) = send(app.clone(), get("/scenario")).await;
        assert_eq!(body, "spike\n");
        let (_, _, metrics) = send(app, get("/metrics")).await;
        assert!(metrics.contains("model_scenario{scenario=\"spike\"} 1.0\n"));
        assert!(metrics.contains("model_scenario{scenario=\"steady\"} 0.0\n"));
    }

    #[tokio::test]
    async fn an_unknown_scenario_is_refused_with_the_valid_names() {
        let (app, state) = app();
        let (status, _, body) = send(app, put_scenario("chaos")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            "unknown scenario \"chaos\": choose one of steady, spike, drift, flatline, sine\n"
        );
        assert_eq!(state.with_model(Model::scenario), Scenario::Steady);
    }

    fn put(body: &str, headers: &[(header::HeaderName, &str)]) -> Request<Body> {
        let mut request = Request::put("/scenario").header(header::HOST, "localhost:5000");
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        request.body(Body::from(body.to_owned())).unwrap()
    }

    #[tokio::test]
    async fn curl_and_the_page_switch_scenarios_in_their_own_ways() {
        let (app, state) = app();
        let form = (header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        let json = (header::CONTENT_TYPE, "application/json");
        let own_page = (header::ORIGIN, "http://localhost:5000");
        for (body, headers, expected) in [
            ("spike", vec![form.clone()], "spike\n"),
            ("drift", vec![], "drift\n"),
            ("\"sine\"", vec![json.clone()], "sine\n"),
            (
                "{\"scenario\": \"flatline\"}",
                vec![json.clone(), own_page.clone()],
                "flatline\n",
            ),
        ] {
            let (status, _, answer) = send(app.clone(), put(body, &headers)).await;
            assert_eq!(
                (status, answer.as_str()),
                (StatusCode::OK, expected),
                "{body}"
            );
        }
        assert_eq!(state.with_model(Model::scenario), Scenario::Flatline);
    }

    #[tokio::test]
    async fn cross_site_and_browser_form_switches_are_refused() {
        let (app, state) = app();
        let json = (header::CONTENT_TYPE, "application/json");
        let form = (header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (body, headers, expected, says) in [
            (
                "\"spike\"",
                vec![json.clone(), (header::ORIGIN, "http://evil.example")],
                StatusCode::FORBIDDEN,
                "Origin \"http://evil.example\" is not this server",
            ),
            (
                "spike",
                vec![form.clone(), (header::ORIGIN, "null")],
                StatusCode::FORBIDDEN,
                "cross-site request refused",
            ),
            (
                "spike",
                vec![form, (header::ORIGIN, "http://localhost:5000")],
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "must send Content-Type: application/json",
            ),
            (
                "{\"name\": 1}",
                vec![json],
                StatusCode::BAD_REQUEST,
                "the JSON body is not a scenario",
            ),
        ] {
            let (status, _, answer) = send(app.clone(), put(body, &headers)).await;
            assert_eq!(status, expected, "{body} {headers:?}: {answer}");
            assert!(answer.contains(says), "{answer}");
        }
        assert_eq!(state.with_model(Model::scenario), Scenario::Steady);
    }

    #[tokio::test]
    async fn a_scenario_body_over_the_limit_is_refused_unread_and_not_echoed_whole() {
        let (app, state) = app();
        let (status, _, _) = send(app.clone(), put(&"x".repeat(SCENARIO_BODY_MAX + 1), &[])).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let (status, _, answer) = send(app, put(&"y".repeat(SCENARIO_BODY_MAX), &[])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(answer.contains("… (1024 bytes)"), "{answer}");
        assert!(answer.len() < 200, "{answer}");
        assert_eq!(state.with_model(Model::scenario), Scenario::Steady);
    }

    #[tokio::test]
    async fn the_page_shows_value_scenario_chart_and_metrics_link() {
        let (app, state) = app();
        let (status, headers, body) = send(app, get("/")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let value = format!("{:.4}", state.with_model(Model::value));
        assert!(
            body.contains(&format!(">{value}<")),
            "value {value} in {body}"
        );
        assert!(body.contains(">steady<"));
        assert!(body.contains("a new value every 5s."));
        assert!(body.contains("href=\"/metrics\""));
        assert!(body.contains("<polyline"));
        assert!(!body.contains("<script src"), "no external scripts");
    }

    #[tokio::test]
    async fn healthz_and_state_answer() {
        let (app, _) = app();
        let (status, _, body) = send(app.clone(), get("/healthz")).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
        let (status, _, body) = send(app, get("/api/state")).await;
        assert_eq!(status, StatusCode::OK);
        let state: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(state["scenario"], "steady");
        assert_eq!(state["interval_ms"], 5000);
        assert_eq!(state["history"].as_array().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn unknown_paths_are_not_found() {
        let (app, _) = app();
        let (status, _, _) = send(app, get("/nope")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn the_chart_maps_values_upwards_across_the_width() {
        let points = [
            Point {
                at_ms: 0,
                value: 0.0,
            },
            Point {
                at_ms: 1,
                value: 1.0,
            },
        ];
        assert_eq!(polyline(&points), "0.0,200.0 600.0,0.0");
    }
}
