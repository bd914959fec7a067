//! Serving a router until the process is asked to stop: the one place that knows about signals (also
//! the batch commands', see [`stop_signal`]), and the limits every server shares: how long a client may
//! take to send its headers and to finish a request, how many connections are open at once, how long
//! in-flight requests get after a stop signal, which requests count as cross-site, and how untrusted
//! text is quoted in the logs.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// How long a client may take to send a request's headers once it connects (or once its previous
/// response went out on a kept-alive connection). A browser, Prometheus or curl sends them in one
/// packet, within milliseconds even on a classroom's Wi-Fi; ten seconds is generous to them and
/// frees a slow-loris connection (headers trickled byte by byte) quickly.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one request may take, from its headers to its response: reading the body and the handler.
/// Every handler here answers from memory in milliseconds (the forecaster trains in the background,
/// never in a request); thirty seconds covers a body sent over a slow link and stops a client that
/// trickles a body forever. Answered with `408 Request Timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How many connections are served at once. Prometheus, Alertmanager, Grafana and a few browser tabs
/// use a handful; 512 is far above a classroom and bounds the memory connections can hold (hyper's
/// buffers are capped at [`MAX_BUFFER`], so at most 512 × 64 KiB = 32 MiB). Connections beyond it are
/// not refused: they wait, unaccepted, in the kernel's listen backlog until one of the 512 closes
/// (idle ones close after [`HEADER_READ_TIMEOUT`]), which is what a client retrying would do anyway.
pub const MAX_CONNECTIONS: usize = 512;

/// The largest buffer hyper keeps per connection (its default is about 400 KiB); it is also the
/// largest header block a request may have. 64 KiB is eight times what a browser sends with cookies.
pub const MAX_BUFFER: usize = 64 * 1024;

/// After a stop signal, how long in-flight requests get before the server stops anyway. `docker stop`
/// sends SIGKILL 10 s after SIGTERM; five seconds lets every request here finish (they take
/// milliseconds) and leaves the rest of the process time to log that it stopped.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How much of a request body its handler did not read (one refused as too large, `413`) the server
/// still reads and discards before it answers, and for how long at most. Closing a connection with
/// unread bytes resets it, and a client still sending (curl, reqwest) then reports "broken pipe"
/// instead of the answer that says what was wrong; nginx lingers for the same reason, Go drains 256
/// KiB. 8 MiB covers any mistaken upload to these servers over loopback or a LAN in well under the
/// two seconds; a larger or slower body is cut off (the client sees a reset, as with any server).
pub const DRAIN_MAX: u64 = 8 * 1024 * 1024;

/// See [`DRAIN_MAX`].
pub const DRAIN_TIME: Duration = Duration::from_secs(2);

/// How many bytes of an untrusted value [`quote`] keeps for the logs.
pub const QUOTE_MAX: usize = 64;

/// The limits a server runs with; [`Limits::default`] is the constants above, tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// See [`HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// See [`REQUEST_TIMEOUT`].
    pub request_timeout: Duration,
    /// See [`MAX_CONNECTIONS`] (at least one is served).
    pub max_connections: usize,
    /// See [`SHUTDOWN_GRACE`].
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: HEADER_READ_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            shutdown_grace: SHUTDOWN_GRACE,
        }
    }
}

/// Serves `router` on `listener` with the default [`Limits`] until `shutdown` completes, then gives
/// in-flight requests [`SHUTDOWN_GRACE`] to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router, shutdown, Limits::default()).await
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes: then stops accepting,
/// asks open connections to close after their current request, and returns once they have, or after
/// `limits.shutdown_grace` at the latest (the rest are dropped).
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> std::io::Result<()> {
    let router = with_request_timeout(drain_unread_bodies(router), limits.request_timeout);
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_BUFFER);
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown = shutdown;
    loop {
        // The permit comes first: at the cap, connections wait in the listen backlog, not in memory.
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => permit,
            () = &mut shutdown => break,
        };
        let Ok(permit) = permit else { break };
        let stream = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match stream {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                accept_failed(&error).await;
                continue;
            }
        };
        let connection = http.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(router.clone()),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(
                grace = %humantime::format_duration(limits.shutdown_grace),
                "requests still running after the shutdown grace period; stopping anyway"
            );
        }
    }
    Ok(())
}

/// An accept error is the client's (it went away) or the process's (out of file descriptors): the
/// first is skipped, the second waits a moment so the loop does not spin, as `axum::serve` does.
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind;
    if !matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        tracing::error!(%error, "cannot accept a connection; retrying in a second");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Answers `408 Request Timeout` to a request (body and handler) that takes longer than `timeout`.
pub fn with_request_timeout(router: Router, timeout: Duration) -> Router {
    router.layer(middleware::from_fn(
        move |request: Request, next: Next| async move {
            match tokio::time::timeout(timeout, next.run(request)).await {
                Ok(response) => response,
                Err(_) => (
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the request took longer than {}: send it again (the body in one go)\n",
                        humantime::format_duration(timeout)
                    ),
                )
                    .into_response(),
            }
        },
    ))
}

/// Reads and discards what a handler left of its request's body (see [`DRAIN_MAX`]) before the
/// response goes out, so the client gets the answer, and the connection can be kept alive.
pub fn drain_unread_bodies(router: Router) -> Router {
    router.layer(middleware::from_fn(
        |request: Request, next: Next| async move {
            let (parts, body) = request.into_parts();
            let (back, mut returned) = tokio::sync::oneshot::channel();
            let body = Body::new(Returning {
                body: Some(body),
                back: Some(back),
            });
            let response = next.run(Request::from_parts(parts, body)).await;
            // The handler has dropped its request by now; if it kept it, there is nothing to drain.
            if let Ok(rest) = returned.try_recv() {
                drain(rest).await;
            }
            response
        },
    ))
}

/// Reads and discards `body` up to [`DRAIN_MAX`] bytes and [`DRAIN_TIME`].
async fn drain(mut body: Body) {
    use http_body_util::BodyExt;
    let mut left = DRAIN_MAX;
    let reading = async {
        while let Some(Ok(frame)) = body.frame().await {
            let read = frame.data_ref().map_or(0, bytes::Bytes::len) as u64;
            let Some(rest) = left.checked_sub(read) else {
                return false;
            };
            left = rest;
        }
        true
    };
    let drained = matches!(tokio::time::timeout(DRAIN_TIME, reading).await, Ok(true));
    if !drained {
        tracing::debug!(
            max = DRAIN_MAX,
            "a request body too large or too slow to drain; the connection is closed"
        );
    }
}

/// A request body that, when its handler drops it, hands what is left of it back through `back`.
struct Returning {
    body: Option<Body>,
    back: Option<tokio::sync::oneshot::Sender<Body>>,
}

impl HttpBody for Returning {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        match self.body.as_mut() {
            Some(body) => std::pin::Pin::new(body).poll_frame(context),
            None => std::task::Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body
            .as_ref()
            .map_or_else(|| http_body::SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        if let (Some(body), Some(back)) = (self.body.take(), self.back.take()) {
            // The middleware has gone (the request timed out): the body goes with the connection.
            back.send(body).ok();
        }
    }
}

/// Why a request to an endpoint that changes state was refused as possibly cross-site.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrossSite {
    /// The request came from a page on another site (its `Origin` is not this server).
    #[error(
        "cross-site request refused: Origin {origin} is not this server ({host}); use this server's own page, or a client that sends no Origin (curl)"
    )]
    ForeignOrigin {
        /// The `Origin` header, quoted briefly.
        origin: String,
        /// The `Host` header, quoted briefly.
        host: String,
    },
    /// A browser request (it has an `Origin`) without a JSON body, which a form on any site could send.
    #[error(
        "a request from a browser must send Content-Type: application/json (it had {content_type}); fetch with headers {{\"Content-Type\": \"application/json\"}}"
    )]
    NotJson {
        /// The `Content-Type` header, quoted briefly, or `none`.
        content_type: String,
    },
}

impl IntoResponse for CrossSite {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::ForeignOrigin { .. } => StatusCode::FORBIDDEN,
            Self::NotJson { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        };
        tracing::warn!(error = %self, "request refused");
        (status, format!("{self}\n")).into_response()
    }
}

/// Whether a request to an endpoint that changes state may go on. The rule, for all three servers:
/// - no `Origin` header: allowed, whatever the content type. Browsers send `Origin` on every `POST`,
///   `PUT` and `DELETE` (same-site ones too), so a request without one comes from curl, a script,
///   Alertmanager or Prometheus, which no web page can make act for it;
/// - an `Origin` that is not `http(s)://` + this request's `Host`: refused (`403`), it is another
///   site's page (`Origin: null`, a sandboxed or `file://` page, is foreign too);
/// - a same-site `Origin` with a body (`json_body`): the body must be `application/json`, the one
///   content type a cross-site form cannot send without the browser asking first (`415` otherwise).
pub fn check_same_site(headers: &HeaderMap, json_body: bool) -> Result<(), CrossSite> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = String::from_utf8_lossy(origin.as_bytes());
    let host = headers
        .get(header::HOST)
        .map(|host| String::from_utf8_lossy(host.as_bytes()))
        .unwrap_or_default();
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    let same = !host.is_empty()
        && authority.is_some_and(|authority| authority.eq_ignore_ascii_case(&host));
    if !same {
        return Err(CrossSite::ForeignOrigin {
            origin: quote(&origin).to_string(),
            host: quote(&host).to_string(),
        });
    }
    if json_body && !is_json(headers) {
        let content_type = headers.get(header::CONTENT_TYPE).map_or_else(
            || "none".to_owned(),
            |value| quote(&String::from_utf8_lossy(value.as_bytes())).to_string(),
        );
        return Err(CrossSite::NotJson { content_type });
    }
    Ok(())
}

/// Whether the request says its body is JSON (`application/json`, any parameters).
#[must_use]
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Untrusted text (a request body, a header) as the logs show it: its first [`QUOTE_MAX`] bytes (cut
/// on a character boundary), Rust-escaped, and its length when it was cut, so a 1 MB body costs one
/// short log line.
#[must_use]
pub fn quote(text: &str) -> Quoted<'_> {
    Quoted(text)
}

/// See [`quote`].
#[derive(Debug, Clone, Copy)]
pub struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        if text.len() <= QUOTE_MAX {
            return write!(formatter, "{text:?}");
        }
        let mut end = QUOTE_MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        write!(formatter, "{:?}… ({} bytes)", &text[..end], text.len())
    }
}

/// A signal that asks the process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// Ctrl-C (SIGINT).
    Interrupt,
    /// SIGTERM, what `docker stop` sends.
    Terminate,
}

impl StopSignal {
    /// The status a shell reports for a process this signal ended: 128 + the signal's number.
    #[must_use]
    pub const fn exit_code(self) -> i32 {
        match self {
            Self::Interrupt => 130,
            Self::Terminate => 143,
        }
    }
}

/// Completes with the first Ctrl-C or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled: from then on these signals no longer kill the process, they
/// complete this future. Never completes when the handlers cannot be installed (the error is logged).
/// Call it inside the runtime.
pub fn stop_signal() -> impl Future<Output = StopSignal> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let (mut interrupt, mut terminate) = match (interrupt, terminate) {
                (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::error!(%error, "cannot listen for Ctrl-C and SIGTERM");
                    return std::future::pending().await;
                }
            };
            tokio::select! {
                _ = interrupt.recv() => StopSignal::Interrupt,
                _ = terminate.recv() => StopSignal::Terminate,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        StopSignal::Interrupt
    }
}

/// Completes on Ctrl-C or SIGTERM, whichever comes first: a server's cue to stop taking requests. Like
/// [`stop_signal`], it listens from the call on: a signal that arrives while the server is still starting
/// stops it cleanly instead of killing the process. Call it inside the runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    let stop = stop_signal();
    async move {
        match stop.await {
            StopSignal::Interrupt => tracing::info!("Ctrl-C received, shutting down"),
            StopSignal::Terminate => tracing::info!("SIGTERM received, shutting down"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::DefaultBodyLimit;
    use axum::http::HeaderValue;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::sync::oneshot;
    use tower::ServiceExt;

    /// An upper bound on every wait below: far above the short limits the tests set, so a loaded
    /// machine does not fail them, and short enough that a missing limit fails the test quickly.
    const PATIENCE: Duration = Duration::from_secs(10);

    fn quick() -> Limits {
        Limits {
            header_read_timeout: Duration::from_millis(200),
            request_timeout: Duration::from_millis(200),
            max_connections: 4,
            shutdown_grace: Duration::from_millis(200),
        }
    }

    fn app() -> Router {
        Router::new()
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/forever", get(std::future::pending::<&'static str>))
            .route(
                "/small",
                axum::routing::put(|body: bytes::Bytes| async move { format!("{}\n", body.len()) })
                    .layer(DefaultBodyLimit::max(1024)),
            )
    }

    /// Serves `app()` on a free loopback port; sending on the returned channel stops it.
    async fn start(
        limits: Limits,
    ) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            serve_with(
                listener,
                app(),
                async {
                    stopped.await.ok();
                },
                limits,
            )
            .await
            .unwrap();
        });
        (address, stop, server)
    }

    async fn get_over(stream: &mut TcpStream, path: &str) -> String {
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut answer = vec![0; 1024];
        let read = stream.read(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer[..read]).into_owned()
    }

    #[tokio::test]
    async fn a_client_trickling_its_headers_is_cut_off_after_the_header_timeout() {
        let (address, _stop, _server) = start(quick()).await;
        let mut stream = TcpStream::connect(address).await.unwrap();
        let trickle = async {
            // Far longer than the 200 ms timeout if the server let it run: 4 KiB at one byte per 10 ms.
            let request = format!("GET /healthz HTTP/1.1\r\nX-Slow: {}", "a".repeat(4096));
            let (mut reader, mut writer) = stream.split();
            let writing = async {
                for byte in request.as_bytes() {
                    if writer.write_all(&[*byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                std::future::pending::<()>().await;
            };
            let mut answer = Vec::new();
            tokio::select! {
                () = writing => unreachable!("the writer never finishes on its own"),
                _ = reader.read_to_end(&mut answer) => answer,
            }
        };
        let answer = tokio::time::timeout(PATIENCE, trickle)
            .await
            .expect("the server closes a slow client's connection");
        let answer = String::from_utf8_lossy(&answer);
        assert!(!answer.contains("200 OK"), "{answer}");
    }

    #[tokio::test]
    async fn an_upload_refused_as_too_large_gets_its_answer_and_the_connection_lives_on() {
        let (address, _stop, _server) = start(Limits::default()).await;
        let mut stream = TcpStream::connect(address).await.unwrap();
        // Six MiB: more than loopback's socket buffers hold, so a server that closed without reading
        // them would reset the connection while this client is still sending.
        let body = vec![b'x'; 6 << 20];
        let head = format!(
            "PUT /small HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        tokio::time::timeout(PATIENCE, async {
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&body).await
        })
        .await
        .expect("the server reads the upload")
        .expect("the server does not reset the connection");
        let mut answer = vec![0; 1024];
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut answer))
            .await
            .expect("an answer")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer[..read]);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        // The same connection serves the next request.
        let answer = tokio::time::timeout(PATIENCE, get_over(&mut stream, "/healthz"))
            .await
            .expect("an answer on the kept-alive connection");
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok\n"),
            "{answer}"
        );
    }

    #[tokio::test]
    async fn an_upload_past_the_drain_limit_is_cut_off() {
        let (address, _stop, _server) = start(Limits::default()).await;
        let mut stream = TcpStream::connect(address).await.unwrap();
        let size = usize::try_from(DRAIN_MAX).unwrap() * 4;
        let head = format!("PUT /small HTTP/1.1\r\nHost: test\r\nContent-Length: {size}\r\n\r\n");
        let chunk = vec![b'x'; 1 << 20];
        let sent = tokio::time::timeout(PATIENCE, async {
            stream.write_all(head.as_bytes()).await?;
            for _ in 0..size / chunk.len() {
                stream.write_all(&chunk).await?;
            }
            Ok::<_, std::io::Error>(())
        })
        .await
        .expect("the server does not hang on to the connection");
        assert!(sent.is_err(), "the server read {size} bytes it had refused");
    }

    #[tokio::test]
    async fn a_request_over_the_request_timeout_is_answered_408() {
        let router = with_request_timeout(app(), Duration::from_millis(50));
        let request = axum::http::Request::get("/forever")
            .body(Body::empty())
            .unwrap();
        let response = tokio::time::timeout(PATIENCE, router.oneshot(request))
            .await
            .expect("the timeout answers")
            .unwrap();
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("longer than 50ms"));
    }

    #[tokio::test]
    async fn connections_beyond_the_cap_wait_until_one_closes() {
        let limits = Limits {
            max_connections: 1,
            header_read_timeout: PATIENCE * 2,
            ..quick()
        };
        let (address, _stop, _server) = start(limits).await;
        let mut first = TcpStream::connect(address).await.unwrap();
        assert!(get_over(&mut first, "/healthz").await.contains("200 OK"));
        let mut second = TcpStream::connect(address).await.unwrap();
        second
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        let mut answer = vec![0; 1024];
        let waited =
            tokio::time::timeout(Duration::from_millis(300), second.read(&mut answer)).await;
        assert!(
            waited.is_err(),
            "the second connection waits while the first is open"
        );
        drop(first);
        let read = tokio::time::timeout(PATIENCE, second.read(&mut answer))
            .await
            .expect("served once the first closed")
            .unwrap();
        assert!(String::from_utf8_lossy(&answer[..read]).contains("200 OK"));
    }

    #[tokio::test]
    async fn after_the_stop_signal_a_hung_request_gets_the_grace_period_and_no_more() {
        let (address, stop, server) = start(quick()).await;
        let mut hung = TcpStream::connect(address).await.unwrap();
        hung.write_all(b"GET /forever HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        let mut idle = TcpStream::connect(address).await.unwrap();
        assert!(get_over(&mut idle, "/healthz").await.contains("200 OK"));
        stop.send(()).unwrap();
        tokio::time::timeout(PATIENCE, server)
            .await
            .expect("the server stops despite the hung request")
            .unwrap();
        assert!(
            TcpStream::connect(address).await.is_err(),
            "no longer listening"
        );
    }

    #[test]
    fn untrusted_text_is_quoted_briefly() {
        assert_eq!(quote("spike").to_string(), "\"spike\"");
        assert_eq!(quote("a\nb").to_string(), "\"a\\nb\"");
        let long = "é".repeat(1_000_000);
        let quoted = quote(&long).to_string();
        assert!(quoted.ends_with("… (2000000 bytes)"), "{quoted}");
        assert!(quoted.len() < 100, "{quoted}");
    }

    #[test]
    fn only_same_site_or_originless_requests_change_state() {
        let headers = |pairs: &[(header::HeaderName, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(name, HeaderValue::from_static(value));
            }
            map
        };
        let host = (header::HOST, "localhost:5000");
        let json = (header::CONTENT_TYPE, "application/json; charset=utf-8");
        let form = (header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (pairs, json_body, allowed) in [
            (vec![host.clone(), form.clone()], true, true),
            (vec![host.clone()], true, true),
            (
                vec![
                    host.clone(),
                    json.clone(),
                    (header::ORIGIN, "http://localhost:5000"),
                ],
                true,
                true,
            ),
            (
                vec![
                    host.clone(),
                    json.clone(),
                    (header::ORIGIN, "HTTP://LOCALHOST:5000"),
                ],
                true,
                false,
            ),
            (
                vec![host.clone(), (header::ORIGIN, "http://LocalHost:5000")],
                false,
                true,
            ),
            (
                vec![
                    host.clone(),
                    form.clone(),
                    (header::ORIGIN, "http://localhost:5000"),
                ],
                true,
                false,
            ),
            (
                vec![
                    host.clone(),
                    json.clone(),
                    (header::ORIGIN, "http://localhost:5001"),
                ],
                true,
                false,
            ),
            (
                vec![host.clone(), json.clone(), (header::ORIGIN, "null")],
                true,
                false,
            ),
            (
                vec![json.clone(), (header::ORIGIN, "http://localhost:5000")],
                true,
                false,
            ),
        ] {
            let verdict = check_same_site(&headers(&pairs), json_body);
            assert_eq!(verdict.is_ok(), allowed, "{pairs:?}: {verdict:?}");
        }
    }
}
