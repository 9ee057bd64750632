//! The view's HTTP side (axum on a single-threaded runtime of its own, so that it never takes a core
//! from inference):
//!
//! - `GET /`: the page;
//! - `GET /api/state?since=N`: status, the events from the N-th on, and how the run ended;
//! - `GET /api/frame?after=SEQ`: the newest frame once there is one newer than SEQ (waits up to 5 s,
//!   then 204): each browser takes frames at its own pace;
//! - `GET /api/recent/SEQ`: one of the last frames kept (what led to a stop);
//! - `GET /stream.mjpg`: the same frames as an MJPEG stream, for video players;
//! - the owner's controls (zones, acknowledge, end), in `owner`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{JpegFrame, Shared, owner};

const PAGE: &str = include_str!("page.html");
const BOUNDARY: &str = "chaperone-frame";
/// How long a frame request waits for a new frame before answering "nothing new".
const FRAME_WAIT: Duration = Duration::from_secs(5);

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/state", get(state))
        .route("/api/frame", get(frame))
        .route("/api/recent/{seq}", get(recent))
        .route("/stream.mjpg", get(mjpeg))
        .route("/api/zones", get(owner::get_zones).post(owner::put_zones))
        .route("/api/acknowledge", post(owner::acknowledge))
        .route("/api/end", post(owner::end))
        .layer(middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared)
}

/// Runs the server until `stop` fires (or its sender is dropped).
pub(super) fn serve(listener: std::net::TcpListener, app: Router, stop: tokio::sync::oneshot::Receiver<()>) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("the live view cannot start: {e}");
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("the live view cannot listen: {e}");
                return;
            }
        };
        // Streams never end by themselves: the server is dropped with the runtime, not drained.
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("the live view stopped: {e}");
            }
        });
        let _ = stop.await;
    });
}

/// Refuses requests without the token (when one is needed), and, on loopback, requests whose `Host`
/// is not loopback (DNS rebinding: another site's page pointing its own name at 127.0.0.1).
async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    match &shared.token {
        Some(token) => {
            let given = query_param(request.uri().query().unwrap_or(""), "token").or_else(|| {
                let auth = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
                auth.strip_prefix("Bearer ").map(str::to_string)
            });
            if !given.is_some_and(|g| same(g.as_bytes(), token.as_bytes())) {
                return (
                    StatusCode::UNAUTHORIZED,
                    "chaperone: this view needs the access token printed in chaperone's terminal (open the address it printed, with ?token=...)\n",
                )
                    .into_response();
            }
        }
        None => {
            let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
            let port = shared.port;
            let allowed = [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")];
            if !allowed.iter().any(|a| a == host) {
                return (StatusCode::FORBIDDEN, "chaperone: the view answers only to this machine's own addresses\n")
                    .into_response();
            }
        }
    }
    // A page elsewhere may send a request here (its answer is what it cannot read): one that changes
    // something must come from this view's own page.
    if request.method() != axum::http::Method::GET {
        let origin = request.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok());
        let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        if origin.is_some_and(|o| o.split_once("://").map(|(_, rest)| rest) != Some(host)) {
            return (StatusCode::FORBIDDEN, "chaperone: changes come only from the view's own page\n").into_response();
        }
    }
    next.run(request).await
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('=').map(str::to_string))
}

/// Compares in time that does not depend on where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

#[derive(Deserialize)]
struct StateQuery {
    since: Option<usize>,
}

async fn state(State(shared): State<Arc<Shared>>, Query(q): Query<StateQuery>) -> Response {
    if let Ok(mut last) = shared.last_poll.lock() {
        *last = Some(Instant::now());
    }
    let s = shared.state();
    let since = q.since.unwrap_or(0).min(s.events.len());
    let ended = s.ended.as_ref().filter(|_| s.frames_flushed);
    // The last frames matter after a stop: the page shows what led to it.
    let stopped = ended.is_some_and(|e| e.stopped);
    let recent: Vec<_> = if stopped {
        s.recent.iter().map(|f| serde_json::json!({ "seq": f.seq, "time_s": f.time_s })).collect()
    } else {
        Vec::new()
    };
    if ended.is_some() && recent.is_empty() {
        // Nothing more for the page to fetch: it has seen the end.
        shared.end_seen.store(true, Ordering::Relaxed);
    }
    let body = serde_json::json!({
        "run": s.run,
        "source": s.source,
        "mode": s.mode,
        "status": s.status,
        "events": &s.events[since..],
        "next": s.events.len(),
        "ended": ended,
        "recent": recent,
    });
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn jpeg_response(frame: &JpegFrame) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "image/jpeg")
        .header(header::CACHE_CONTROL, "no-store")
        .header("x-frame-seq", frame.seq)
        .header("x-frame-time", format!("{:.3}", frame.time_s))
        .body(Body::from(frame.jpeg.clone()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[derive(Deserialize)]
struct FrameQuery {
    after: Option<u64>,
}

async fn frame(State(shared): State<Arc<Shared>>, Query(q): Query<FrameQuery>) -> Response {
    let after = q.after.unwrap_or(0);
    let mut rx = shared.frames.subscribe();
    let newer = tokio::time::timeout(FRAME_WAIT, rx.wait_for(|f| f.as_ref().is_some_and(|f| f.seq > after))).await;
    match newer {
        Ok(Ok(frame)) => match frame.as_ref() {
            Some(f) => jpeg_response(f),
            None => StatusCode::NO_CONTENT.into_response(),
        },
        _ => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn recent(State(shared): State<Arc<Shared>>, Path(seq): Path<u64>) -> Response {
    let s = shared.state();
    let Some(frame) = s.recent.iter().find(|f| f.seq == seq) else {
        return (StatusCode::NOT_FOUND, "that frame is no longer kept\n").into_response();
    };
    if s.ended.is_some() && s.frames_flushed && s.recent.back().is_some_and(|last| last.seq == seq) {
        shared.end_seen.store(true, Ordering::Relaxed);
    }
    jpeg_response(frame)
}

async fn mjpeg(State(shared): State<Arc<Shared>>) -> Response {
    let rx = shared.frames.subscribe();
    let parts = futures_util::stream::unfold((rx, true), |(mut rx, first)| async move {
        // The first part as soon as there is a frame, then one part per new frame: the newest each time
        // the receiver wakes, so a slow reader skips frames rather than queueing them.
        if first {
            rx.wait_for(|f| f.is_some()).await.ok()?;
        } else {
            rx.changed().await.ok()?;
        }
        let frame = rx.borrow_and_update().clone()?;
        let mut part = format!(
            "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nX-Frame-Time: {:.3}\r\n\r\n",
            frame.jpeg.len(),
            frame.time_s
        )
        .into_bytes();
        part.extend_from_slice(&frame.jpeg);
        part.extend_from_slice(b"\r\n");
        Some((Ok::<_, Infallible>(Bytes::from(part)), (rx, false)))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, format!("multipart/x-mixed-replace; boundary={BOUNDARY}"))
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from_stream(parts))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_the_query() {
        assert_eq!(query_param("a=1&token=abc", "token").as_deref(), Some("abc"));
        assert_eq!(query_param("tokens=abc", "token"), None);
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd") && !same(b"abc", b"ab"));
        // Two differences that would cancel out if they were XOR-ed together.
        assert!(!same(b"ab", b"ba"));
    }

    /// The status the guard gives a request to `uri` with `headers`, on a view with `token`.
    fn status(token: Option<&str>, uri: &str, headers: &[(header::HeaderName, &str)]) -> StatusCode {
        use tower::ServiceExt;
        let shared = Arc::new(Shared {
            token: token.map(str::to_string),
            port: 8080,
            frames: tokio::sync::watch::Sender::new(None),
            state: Default::default(),
            last_poll: Default::default(),
            end_seen: Default::default(),
            controls: Default::default(),
        });
        let app = Router::new()
            .route("/", get(|| async { "ok" }))
            .layer(middleware::from_fn_with_state(shared.clone(), guard))
            .with_state(shared);
        let mut request = Request::builder().uri(uri);
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        let request = request.body(Body::empty()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(app.oneshot(request)).unwrap().status()
    }

    #[test]
    fn beyond_loopback_only_the_token_opens_the_view() {
        let token = Some("s3cret-token");
        assert_eq!(status(token, "/", &[]), StatusCode::UNAUTHORIZED);
        assert_eq!(status(token, "/?token=s3cret-token", &[]), StatusCode::OK);
        assert_eq!(status(token, "/?token=s3cret-tokex", &[]), StatusCode::UNAUTHORIZED);
        assert_eq!(status(token, "/?token=s3cret", &[]), StatusCode::UNAUTHORIZED);
        assert_eq!(status(token, "/", &[(header::AUTHORIZATION, "Bearer s3cret-token")]), StatusCode::OK);
        assert_eq!(status(token, "/", &[(header::AUTHORIZATION, "Bearer wrong")]), StatusCode::UNAUTHORIZED);
        assert_eq!(status(token, "/", &[(header::AUTHORIZATION, "s3cret-token")]), StatusCode::UNAUTHORIZED);
        // The token stands in for the host check: any Host is fine with it.
        assert_eq!(status(token, "/?token=s3cret-token", &[(header::HOST, "evil.example")]), StatusCode::OK);
    }

    #[test]
    fn on_loopback_only_loopback_host_names_are_answered() {
        for host in ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"] {
            assert_eq!(status(None, "/", &[(header::HOST, host)]), StatusCode::OK, "{host}");
        }
        for host in ["evil.example:8080", "127.0.0.1:9090", "localhost", ""] {
            assert_eq!(status(None, "/", &[(header::HOST, host)]), StatusCode::FORBIDDEN, "{host}");
        }
        assert_eq!(status(None, "/", &[]), StatusCode::FORBIDDEN, "no Host at all");
    }
}
