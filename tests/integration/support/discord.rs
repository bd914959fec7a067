//! A scripted Discord: answers webhook posts with the replies it is given, in order (then 204), and
//! records every attempt, so a test sees retries that the real sink would hide.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 429 with Discord's rate-limit body and `Retry-After`.
    RateLimited { retry_after_seconds: f64 },
    /// Any status with an empty body.
    Status(u16),
}

/// One post Discord received, and the status it answered.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: u16,
    pub body: Value,
}

#[derive(Debug, Default)]
struct Script {
    replies: Vec<Reply>,
    attempts: Vec<Attempt>,
}

/// The fake, served on a free loopback port for as long as the test's runtime lives.
pub struct FakeDiscord {
    pub address: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl FakeDiscord {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let script = Arc::new(Mutex::new(Script {
            replies: replies.into_iter().rev().collect(),
            attempts: Vec::new(),
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let address = listener.local_addr().expect("an address");
        let app = Router::new()
            .route("/api/webhooks/{id}/{token}", post(execute))
            .with_state(script.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { address, script }
    }

    /// A webhook URL Alertmanager can be given.
    pub fn webhook_url(&self) -> String {
        format!("http://{}/api/webhooks/1234/fake-token", self.address)
    }

    pub fn attempts(&self) -> Vec<Attempt> {
        self.script
            .lock()
            .expect("the script lock")
            .attempts
            .clone()
    }

    /// The messages Discord accepted (answered 2xx).
    pub fn delivered(&self) -> Vec<Value> {
        self.attempts()
            .into_iter()
            .filter(|attempt| (200..300).contains(&attempt.status))
            .map(|attempt| attempt.body)
            .collect()
    }
}

async fn execute(State(script): State<Arc<Mutex<Script>>>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut script = script.lock().expect("the script lock");
    let reply = script.replies.pop().unwrap_or(Reply::Status(204));
    let (status, response) = match reply {
        Reply::RateLimited {
            retry_after_seconds,
        } => (
            StatusCode::TOO_MANY_REQUESTS,
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", format!("{}", retry_after_seconds.ceil()))],
                axum::Json(serde_json::json!({
                    "message": "You are being rate limited.",
                    "retry_after": retry_after_seconds,
                    "global": false,
                })),
            )
                .into_response(),
        ),
        Reply::Status(code) => {
            let status = StatusCode::from_u16(code).expect("a valid status");
            (status, status.into_response())
        }
    };
    script.attempts.push(Attempt {
        status: status.as_u16(),
        body,
    });
    response
}
