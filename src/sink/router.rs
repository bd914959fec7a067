//! The sink's HTTP surface: Discord's webhook endpoint, the page, the messages as JSON, `/metrics` and
//! `/healthz`.

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::message::{Message, Payload, Rejection, Status, check_webhook};
use super::state::SinkState;
use crate::metrics::{Encoder, Format};
use crate::serve::{self, CrossSite};

/// The largest webhook body read. A message within Discord's limits is at most about 115 KiB of
/// UTF-8 (2,000 characters of content, 6,000 of embed text, URLs of 2,048); 256 KiB leaves room for
/// JSON escapes and fields the sink ignores, and refuses anything larger unread (`413`).
pub const WEBHOOK_BODY_MAX: usize = 256 * 1024;

/// The sink's routes over its state.
pub fn router(state: SinkState) -> Router {
    Router::new()
        .route("/", get(page))
        .route(
            "/api/webhooks/{id}/{token}",
            get(webhook)
                .post(execute_webhook)
                .layer(DefaultBodyLimit::max(WEBHOOK_BODY_MAX)),
        )
        .route(
            "/api/{version}/webhooks/{id}/{token}",
            get(versioned_webhook)
                .post(execute_versioned_webhook)
                .layer(DefaultBodyLimit::max(WEBHOOK_BODY_MAX)),
        )
        .route("/api/messages", get(messages).delete(clear_messages))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(state)
}

/// What a request to the sink can get wrong; the one place that turns errors into HTTP answers, in
/// Discord's JSON error shape.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The message breaks one of Discord's rules.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// `/api/{version}/…` with something other than `v` and a number.
    #[error(
        "unknown API version {}: write /api/webhooks/ID/TOKEN or /api/v10/webhooks/ID/TOKEN",
        serve::quote(.0)
    )]
    UnknownVersion(String),
    /// A post or clear from another site's page, or a post from a browser without a JSON body.
    #[error(transparent)]
    CrossSite(#[from] CrossSite),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::CrossSite(refused) = self {
            return refused.into_response();
        }
        tracing::warn!(error = %self, "request refused");
        match self {
            Self::Rejected(rejection) => {
                (StatusCode::BAD_REQUEST, Json(rejection.body())).into_response()
            }
            Self::UnknownVersion(_) => (
                StatusCode::NOT_FOUND,
                Json(json!({"message": "404: Not Found", "code": 0})),
            )
                .into_response(),
            Self::CrossSite(refused) => refused.into_response(),
        }
    }
}

/// `?wait=true` asks Discord for the created message instead of an empty 204.
#[derive(Debug, Default, Deserialize)]
struct ExecuteQuery {
    #[serde(default)]
    wait: bool,
}

async fn execute_webhook(
    State(state): State<SinkState>,
    Path((id, token)): Path<(String, String)>,
    Query(query): Query<ExecuteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    serve::check_same_site(&headers, true)?;
    let payload = check_webhook(&id, &token).and_then(|()| Payload::parse(&body));
    let message = state.receive(&id, payload)?;
    let title = message
        .embeds
        .first()
        .and_then(|embed| embed.title.as_deref())
        .unwrap_or_default();
    tracing::info!(
        webhook = %serve::quote(&id),
        status = message.status.name(),
        title = %serve::quote(title),
        "message received"
    );
    Ok(if query.wait {
        (StatusCode::OK, Json(message)).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}

fn check_version(version: &str) -> Result<(), ApiError> {
    let known = version
        .strip_prefix('v')
        .is_some_and(|number| !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()));
    if known {
        Ok(())
    } else {
        Err(ApiError::UnknownVersion(version.to_owned()))
    }
}

async fn execute_versioned_webhook(
    state: State<SinkState>,
    Path((version, id, token)): Path<(String, String, String)>,
    query: Query<ExecuteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_version(&version)?;
    execute_webhook(state, Path((id, token)), query, headers, body).await
}

/// `GET` on a webhook URL: Discord describes the webhook; tools use it to check a URL.
async fn webhook(Path((id, token)): Path<(String, String)>) -> Json<serde_json::Value> {
    Json(json!({
        "type": 1,
        "id": id,
        "token": token,
        "name": "promlab webhook-sink",
        "channel_id": "0",
        "guild_id": "0",
    }))
}

async fn versioned_webhook(
    Path((version, id, token)): Path<(String, String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_version(&version)?;
    Ok(webhook(Path((id, token))).await)
}

async fn messages(State(state): State<SinkState>) -> Json<Vec<Message>> {
    Json(state.messages())
}

async fn clear_messages(
    State(state): State<SinkState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    serve::check_same_site(&headers, false)?;
    let cleared = state.clear();
    tracing::info!(cleared, "messages cleared");
    Ok(Json(json!({ "cleared": cleared })))
}

async fn metrics(State(state): State<SinkState>, headers: HeaderMap) -> impl IntoResponse {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok());
    let format = Format::negotiate(accept);
    let (accepted, rejected) = state.counts();
    let mut encoder = Encoder::new(format);
    let by_status: Vec<([(&str, &str); 1], f64)> = accepted
        .iter()
        .map(|(status, count)| ([("status", status.name())], *count as f64))
        .collect();
    encoder.counter(
        "promlab_sink_messages",
        "Webhook messages accepted, by what they say (firing, resolved, other).",
        None,
        by_status
            .iter()
            .map(|(labels, value)| (&labels[..], *value)),
    );
    encoder.counter(
        "promlab_sink_rejected_messages",
        "Webhook messages refused as Discord would refuse them.",
        None,
        [(&[][..], rejected as f64)],
    );
    encoder.info(
        "promlab_build",
        "The promlab build serving this: its version and git revision.",
        &crate::version::LABELS,
    );
    (
        [(header::CONTENT_TYPE, format.content_type())],
        encoder.finish(),
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// One message as the page shows it.
#[derive(Debug)]
struct Row {
    id: u64,
    status: &'static str,
    color: String,
    received_at: String,
    webhook_id: String,
    content: String,
    /// `(title, description)` of each embed.
    embeds: Vec<(String, String)>,
}

/// The page: every kept message, newest first, coloured as Discord would show it.
#[derive(Debug, Template, WebTemplate)]
#[template(path = "sink.html")]
struct Page {
    rows: Vec<Row>,
    firing: u64,
    resolved: u64,
}

async fn page(State(state): State<SinkState>) -> Page {
    let (accepted, _) = state.counts();
    let rows = state
        .messages()
        .into_iter()
        .map(|message| Row {
            id: message.id,
            status: message.status.name(),
            color: message
                .embeds
                .iter()
                .find_map(|embed| embed.color)
                .map_or_else(|| "#8c959f".to_owned(), |color| format!("#{color:06x}")),
            received_at: humantime::format_rfc3339_seconds(message.received_at).to_string(),
            webhook_id: message.webhook_id,
            content: message.content,
            embeds: message
                .embeds
                .into_iter()
                .map(|embed| {
                    (
                        embed.title.unwrap_or_default(),
                        embed.description.unwrap_or_default(),
                    )
                })
                .collect(),
        })
        .collect();
    let count = |wanted: Status| {
        accepted
            .iter()
            .find(|(status, _)| *status == wanted)
            .map_or(0, |(_, count)| *count)
    };
    Page {
        rows,
        firing: count(Status::Firing),
        resolved: count(Status::Resolved),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn send(app: &Router, request: Request<Body>) -> (StatusCode, String) {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn post(uri: &str, body: &str) -> Request<Body> {
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap()
    }

    fn get(uri: &str) -> Request<Body> {
        Request::get(uri).body(Body::empty()).unwrap()
    }

    fn notification(status: &str, color: u32) -> String {
        json!({"content": "", "embeds": [{
            "title": format!("[{status}] ModelResultHigh"),
            "description": "Alerts:\n - summary = model_result is above <0.9>",
            "color": color,
        }]})
        .to_string()
    }

    #[tokio::test]
    async fn a_notification_is_accepted_like_discord_and_shown_newest_first() {
        let app = router(SinkState::new(100));
        let (status, body) = send(
            &app,
            post(
                "/api/webhooks/123/abc",
                &notification("FIRING:1", 10_038_562),
            ),
        )
        .await;
        assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
        let (status, body) = send(
            &app,
            post(
                "/api/v10/webhooks/123/abc?wait=true",
                &notification("RESOLVED", 3_066_993),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let created: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(created["status"], "resolved");

        let (_, body) = send(&app, get("/api/messages")).await;
        let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
        let statuses: Vec<_> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["status"].clone())
            .collect();
        assert_eq!(statuses, ["resolved", "firing"]);
        assert_eq!(listed[1]["webhook_id"], "123");

        let (status, page) = send(&app, get("/")).await;
        assert_eq!(status, StatusCode::OK);
        let resolved = page
            .find("[RESOLVED] ModelResultHigh")
            .expect("resolved shown");
        let firing = page
            .find("[FIRING:1] ModelResultHigh")
            .expect("firing shown");
        assert!(resolved < firing, "newest first");
        assert!(
            page.contains("#992d22") && page.contains("#2ecc71"),
            "{page}"
        );
        assert!(page.contains("&#60;0.9&#62;"), "text is escaped: {page}");
        assert!(!page.contains("<script src"), "no external scripts");

        let (_, metrics) = send(&app, get("/metrics")).await;
        assert!(
            metrics.contains("promlab_sink_messages_total{status=\"firing\"} 1.0\n"),
            "{metrics}"
        );
    }

    #[tokio::test]
    async fn bad_messages_get_discords_errors_and_are_not_kept() {
        let app = router(SinkState::new(100));
        let (status, body) = send(&app, post("/api/webhooks/1/t", "{\"content\": \"\"}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["code"],
            50006
        );
        let (status, body) = send(
            &app,
            post("/api/vX/webhooks/1/t", &notification("FIRING:1", 1)),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (_, body) = send(&app, get("/api/messages")).await;
        assert_eq!(body, "[]");
        let (_, metrics) = send(&app, get("/metrics")).await;
        assert!(
            metrics.contains("promlab_sink_rejected_messages_total 1.0\n"),
            "{metrics}"
        );
    }

    #[tokio::test]
    async fn alertmanager_posts_and_same_site_pages_pass_other_sites_do_not() {
        let app = router(SinkState::new(100));
        let body = notification("FIRING:1", 1);
        let with = |headers: &[(header::HeaderName, &str)], method: &str, uri: &str| {
            let mut request = Request::builder()
                .method(method)
                .uri(uri)
                .header(header::HOST, "sink:8080");
            for (name, value) in headers {
                request = request.header(name, *value);
            }
            let body = if method == "POST" {
                body.clone()
            } else {
                String::new()
            };
            request.body(Body::from(body)).unwrap()
        };
        let json = (header::CONTENT_TYPE, "application/json");
        let text = (header::CONTENT_TYPE, "text/plain");
        let evil = (header::ORIGIN, "https://evil.example");
        let own = (header::ORIGIN, "http://sink:8080");
        let hook = "/api/webhooks/1/t";
        for (headers, method, uri, expected) in [
            (vec![json.clone()], "POST", hook, StatusCode::NO_CONTENT),
            (vec![text.clone()], "POST", hook, StatusCode::NO_CONTENT),
            (
                vec![json.clone(), own.clone()],
                "POST",
                hook,
                StatusCode::NO_CONTENT,
            ),
            (
                vec![json.clone(), evil.clone()],
                "POST",
                hook,
                StatusCode::FORBIDDEN,
            ),
            (
                vec![text.clone(), own.clone()],
                "POST",
                "/api/v10/webhooks/1/t",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (vec![evil], "DELETE", "/api/messages", StatusCode::FORBIDDEN),
        ] {
            let (status, answer) = send(&app, with(&headers, method, uri)).await;
            assert_eq!(status, expected, "{method} {uri} {headers:?}: {answer}");
        }
        let (_, listed) = send(&app, get("/api/messages")).await;
        let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 3, "refused ones not kept");
        let (status, _) = send(&app, with(&[own], "DELETE", "/api/messages")).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn oversized_bodies_and_long_webhook_ids_are_refused() {
        let app = router(SinkState::new(100));
        let huge = json!({"content": "x".repeat(WEBHOOK_BODY_MAX)}).to_string();
        let (status, _) = send(&app, post("/api/webhooks/1/t", &huge)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let long_id = format!("/api/webhooks/{}/t", "9".repeat(21));
        let (status, body) = send(&app, post(&long_id, "{\"content\": \"hi\"}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(
            answer.pointer("/errors/webhook_id/_errors").is_some(),
            "{answer}"
        );
        let (_, body) = send(&app, get("/api/messages")).await;
        assert_eq!(body, "[]");
    }

    #[tokio::test]
    async fn messages_can_be_cleared_and_the_webhook_described() {
        let app = router(SinkState::new(100));
        send(&app, post("/api/webhooks/1/t", "{\"content\": \"hi\"}")).await;
        let request = Request::delete("/api/messages")
            .body(Body::empty())
            .unwrap();
        let (status, body) = send(&app, request).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "{\"cleared\":1}"));
        let (status, body) = send(&app, get("/api/webhooks/7/secret")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("\"id\":\"7\""), "{body}");
        let (status, body) = send(&app, get("/healthz")).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
    }
}
