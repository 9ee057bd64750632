//! The live view: a small web page served by the program itself, for people who look rather than read
//! logs. It shows the annotated stream, a status panel (frame rate, latency, distance, time left, what
//! each animal is doing), the events as they happen, and, when a session stops, the reason in a way
//! nobody can miss with the last frames before the stop.
//!
//! The pipeline never waits for it. Frames go to the view through [`ViewSink`], a sink that
//! hands at most one frame at a time to an encoder thread and skips frames while that thread is busy;
//! the web server (axum, on its own thread and runtime) only ever reads the newest encoded frame, so a
//! slow browser gets fewer frames and nothing else changes.
//!
//! It binds to 127.0.0.1 by default. Serving beyond loopback (to watch from a phone) needs an access
//! token, random per run and printed in the terminal: requests without it are refused. On loopback the
//! `Host` header must name loopback too, so that a web page elsewhere cannot read the camera through a
//! DNS name pointed at 127.0.0.1.

mod owner;
mod server;
pub mod sink;

pub use owner::OwnerControls;
pub use sink::ViewSink;

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::session::controller::StopReason;

/// Where the view listens unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8470";

/// How many of the last frames are kept to show what led to a stop, and how far apart in stream time.
const RECENT_FRAMES: usize = 8;
const RECENT_SPACING_S: f64 = 0.25;

/// One encoded frame of the stream.
#[derive(Debug, Clone)]
pub struct JpegFrame {
    /// Counts up from 1 over the program's life, across runs.
    pub seq: u64,
    /// Stream time, seconds.
    pub time_s: f64,
    pub jpeg: Bytes,
}

/// The status panel.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ViewStatus {
    /// Stream time of the last analysed frame, seconds from the start of the run.
    pub elapsed_s: f64,
    /// Frames analysed per second, over the last second.
    pub fps: f64,
    /// Capture to decision, for live sources.
    pub latency_ms: Option<f64>,
    pub cat: &'static str,
    pub rat: &'static str,
    pub gap_body_lengths: Option<f64>,
    pub closing_speed: Option<f64>,
    /// Time left in the planned session.
    pub left_s: Option<f64>,
    /// Share of the input analysed, for recordings.
    pub progress: Option<f64>,
    /// What is running now that matters: warnings and alarms, in words.
    pub warnings: Vec<String>,
}

/// How a run ended, as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ViewEnd {
    /// `stopped`, `fault`, `completed`, `source_ended`, `interrupted`, or `finished` (a recording analysed).
    pub outcome: String,
    /// A session stop (by the animals or a fault): the page raises its alarm.
    pub stopped: bool,
    pub fault: bool,
    pub behaviour: Option<String>,
    pub words: String,
    pub time_s: f64,
}

impl ViewEnd {
    /// A run that ended without a stop: `outcome` as in the history (`completed`...), or `finished`.
    pub fn without_stop(outcome: &str, time_s: f64) -> ViewEnd {
        ViewEnd {
            outcome: outcome.to_string(),
            stopped: false,
            fault: false,
            behaviour: None,
            words: String::new(),
            time_s,
        }
    }

    /// A session stopped, by the animals or a fault.
    pub fn stop(reason: &StopReason) -> ViewEnd {
        ViewEnd {
            outcome: if reason.fault { "fault" } else { "stopped" }.to_string(),
            stopped: true,
            fault: reason.fault,
            behaviour: Some(reason.behaviour.name().to_string()),
            words: reason.words.clone(),
            time_s: reason.time_s,
        }
    }
}

/// What the page asks for, polled: the status, the events since the page's last look, the end.
#[derive(Debug, Default, Serialize)]
struct ViewState {
    /// Counts runs (inputs of `analyze`): a new run clears the page.
    run: u64,
    source: String,
    /// `live` or `analyze`.
    mode: String,
    status: ViewStatus,
    /// Every `events.jsonl` line of this run, in order.
    events: Vec<serde_json::Value>,
    ended: Option<ViewEnd>,
    /// Every frame of the run has been encoded: the end, and the frames that led to it, are final.
    #[serde(skip)]
    frames_flushed: bool,
    #[serde(skip)]
    recent: VecDeque<JpegFrame>,
}

struct Shared {
    /// Required on every request when serving beyond loopback.
    token: Option<String>,
    port: u16,
    frames: tokio::sync::watch::Sender<Option<JpegFrame>>,
    state: Mutex<ViewState>,
    /// When a page last asked for the state: someone is watching.
    last_poll: Mutex<Option<Instant>>,
    /// A page has fetched the end of the run and its last frames.
    end_seen: AtomicBool,
    /// What the page may change; only while a live session runs.
    controls: Mutex<Option<OwnerControls>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, ViewState> {
        // A panic elsewhere must not take the view down with it: the state is plain data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn controls(&self) -> MutexGuard<'_, Option<OwnerControls>> {
        self.controls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running web server. Dropping it stops the server.
pub struct ViewServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the pipeline side holds: cheap to clone, never blocks for long.
#[derive(Clone)]
pub struct ViewHandle {
    shared: Arc<Shared>,
}

impl ViewServer {
    /// Binds `addr` now (so that a taken port is an error before anything starts) and serves on a
    /// thread of its own. Beyond loopback, a random access token is required.
    pub fn start(addr: SocketAddr) -> Result<ViewServer> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            Error::Config(format!(
                "cannot serve the live view on {addr}: {e}; choose another address with --view-addr, or run without the view (--no-view)"
            ))
        })?;
        let addr = listener.local_addr().map_err(|e| Error::Config(format!("live view: {e}")))?;
        listener.set_nonblocking(true).map_err(|e| Error::Config(format!("live view: {e}")))?;
        let token = if addr.ip().is_loopback() { None } else { Some(random_token()?) };
        let shared = Arc::new(Shared {
            token,
            port: addr.port(),
            frames: tokio::sync::watch::Sender::new(None),
            state: Mutex::new(ViewState::default()),
            last_poll: Mutex::new(None),
            end_seen: AtomicBool::new(false),
            controls: Mutex::new(None),
        });
        let (shutdown, stopped) = tokio::sync::oneshot::channel();
        let app = server::router(shared.clone());
        let thread = std::thread::Builder::new()
            .name("view".into())
            .spawn(move || server::serve(listener, app, stopped))
            .map_err(|e| Error::Config(format!("live view: cannot start its thread: {e}")))?;
        Ok(ViewServer { shared, addr, shutdown: Some(shutdown), thread: Some(thread) })
    }

    /// Like [`ViewServer::start`], but when `addr` is the default and taken (another session runs),
    /// takes any free port on loopback instead.
    pub fn start_or_any_port(addr: SocketAddr) -> Result<ViewServer> {
        match ViewServer::start(addr) {
            Err(_) if addr.to_string() == DEFAULT_ADDR => ViewServer::start(SocketAddr::from(([127, 0, 0, 1], 0))),
            other => other,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address to open, with the token when one is needed.
    pub fn url(&self) -> String {
        let host = if self.addr.ip().is_unspecified() {
            lan_address().map_or_else(|| "THIS-MACHINE".to_string(), |ip| ip.to_string())
        } else {
            self.addr.ip().to_string()
        };
        match &self.shared.token {
            Some(token) => format!("http://{host}:{}/?token={token}", self.addr.port()),
            None => format!("http://{host}:{}/", self.addr.port()),
        }
    }

    pub fn handle(&self) -> ViewHandle {
        ViewHandle { shared: self.shared.clone() }
    }

    /// After a run: when a page has been watching, waits (at most `max`) until it has fetched how the
    /// run ended and its last frames, so that the stop is on the owner's screen before the server goes.
    pub fn linger(&self, max: Duration) {
        let watched =
            |s: &Shared| s.last_poll.lock().ok().and_then(|t| *t).is_some_and(|t| t.elapsed() < Duration::from_secs(3));
        if !watched(&self.shared) {
            return;
        }
        let until = Instant::now() + max;
        while Instant::now() < until && !self.shared.end_seen.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ViewServer {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for ViewHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ViewHandle(port {})", self.shared.port)
    }
}

impl ViewHandle {
    /// A new run (a session, or one input of `analyze`): clears the page.
    pub fn begin(&self, source: &str, mode: &str) {
        let mut s = self.shared.state();
        let run = s.run + 1;
        *s = ViewState { run, source: source.to_string(), mode: mode.to_string(), ..Default::default() };
        self.shared.end_seen.store(false, Ordering::Relaxed);
    }

    /// Changes the status panel.
    pub fn status(&self, update: impl FnOnce(&mut ViewStatus)) {
        update(&mut self.shared.state().status);
    }

    /// An `events.jsonl` line, as it is written.
    pub fn event(&self, line: serde_json::Value) {
        self.shared.state().events.push(line);
    }

    /// The run is over; the page shows how it ended, and may change nothing more.
    pub fn end(&self, end: ViewEnd) {
        self.shared.controls().take();
        self.shared.state().ended = Some(end);
    }

    /// Lets the page draw zones, acknowledge and end the session, for the session now starting.
    pub fn offer_controls(&self, controls: OwnerControls) {
        *self.shared.controls() = Some(controls);
    }

    pub fn has_ended(&self) -> bool {
        self.shared.state().ended.is_some()
    }

    /// The run's last frame is encoded: the page may now be told how the run ended, with the frames
    /// that led to it (told earlier, it could ask for frames the encoder was still replacing).
    pub fn frames_flushed(&self) {
        self.shared.state().frames_flushed = true;
    }

    /// Publishes an encoded frame: the newest for the stream, and one of the recent frames kept.
    /// `jpeg` may be shared with the clips: the page's copy is the same bytes.
    fn publish(&self, time_s: f64, jpeg: Arc<Vec<u8>>) {
        let seq = self.shared.frames.borrow().as_ref().map_or(0, |f| f.seq) + 1;
        let frame = JpegFrame { seq, time_s, jpeg: Bytes::from_owner(SharedJpeg(jpeg)) };
        {
            // The newest frame is always kept; older ones only when spaced apart, so that the few kept
            // span the seconds before a stop.
            let mut s = self.shared.state();
            let n = s.recent.len();
            if n >= 2 && time_s - s.recent[n - 2].time_s < RECENT_SPACING_S {
                s.recent.pop_back();
            }
            s.recent.push_back(frame.clone());
            while s.recent.len() > RECENT_FRAMES {
                s.recent.pop_front();
            }
        }
        self.shared.frames.send_replace(Some(frame));
    }
}

/// 128 random bits as hex, from the system's random source.
fn random_token() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| Error::Config(format!("cannot make an access token for the live view (/dev/urandom: {e})")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// This machine's address on its local network, as others would reach it: the source address of a
/// route to a public address (a UDP "connection" sends nothing).
fn lan_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    socket.local_addr().ok().map(|a| a.ip()).filter(|ip| !ip.is_unspecified())
}

/// A JPEG shared with other holders, as the bytes a response is made of.
struct SharedJpeg(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedJpeg {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_gets_a_token_of_its_own() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_ne!(a, b);
        assert!(a.len() == 32 && a.chars().all(|c| c.is_ascii_hexdigit()), "{a}");
    }
}
