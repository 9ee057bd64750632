//! `chaperone live`: a supervised session. The live pipeline (newest frame wins) feeds the behaviour
//! engine, the controller decides, and the session ends on the first `stop`: an alarm, the reason in
//! words, the logs closed, a history line written and a documented exit code. Fault states stop it too:
//! a silent camera (the source watchdog), a machine that falls behind (latency, or no analysed frame at
//! all), an animal out of sight during the meeting, the model failing.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use super::alarm::Alarm;
use super::controller::{Controller, Decision, StopReason, describe};
use super::history::{self, HistoryEntry, Outcome};
use crate::analyze::seed_background;
use crate::behaviour::{Change, Episode};
use crate::config::Config;
use crate::detect::Detector;
use crate::error::{Error, Result};
use crate::output::{BehaviourLog, TracksCsv};
use crate::pipeline::{self, AnalysedFrame, Analyser, FrameRate, Mode, Sink};
use crate::plot::timeline;
use crate::source::paced::Paced;
use crate::source::video::VideoFile;
use crate::source::watchdog::Watchdog;
use crate::source::{FrameSource, SourceInfo};
use crate::view::frames::ViewFrames;
use crate::view::{ViewEnd, ViewHandle};

/// Where a session's frames come from.
#[derive(Debug, Clone)]
pub enum LiveSource {
    /// A webcam by index.
    Camera(u32),
    /// A recording; `realtime` delivers it at its own pace as a camera would (and drops what the
    /// machine cannot keep up with), else every frame is analysed as fast as possible.
    File { path: PathBuf, realtime: bool },
}

#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub source: LiveSource,
    /// Planned session length, seconds of stream time.
    pub duration_s: f64,
    /// events.jsonl, tracks.csv and summary.json go here.
    pub out_dir: PathBuf,
    /// `history.jsonl` to append the session to; `None` keeps no history.
    pub history: Option<PathBuf>,
    pub on_stop: Option<String>,
    pub sound: bool,
    /// The live view in the browser, when one is served.
    pub view: Option<ViewHandle>,
}

/// Capture-to-decision latency over a session, milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LatencySummary {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// Frames measured.
    pub frames: usize,
}

/// `summary.json` of a session.
#[derive(Debug, Clone, Serialize)]
pub struct SessionSummary {
    pub started: String,
    pub ended: String,
    pub source: SourceInfo,
    pub planned_s: f64,
    pub length_s: f64,
    pub outcome: Outcome,
    pub reason: Option<StopReason>,
    /// From the frame's capture to the alarm, when the session stopped on a frame's decision.
    pub alarm_latency_ms: Option<f64>,
    pub frames: u64,
    pub dropped_frames: u64,
    pub fps_processed: f64,
    /// Only measured when frames arrive in real time (a camera or `--realtime`).
    pub latency: Option<LatencySummary>,
    pub episodes: Vec<Episode>,
    pub calm_s: f64,
    pub problems: Vec<String>,
}

/// Set by Ctrl-C: the session ends at the next frame, with its summary and history written. A second
/// Ctrl-C ends the program at once.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn catch_ctrl_c() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            if INTERRUPTED.swap(true, Ordering::Relaxed) {
                std::process::exit(130);
            }
            eprintln!("\nending the session (Ctrl-C again to quit at once)");
        });
        if let Err(e) = installed {
            tracing::warn!("Ctrl-C will end the program without a session summary: {e}");
        }
    });
}

/// The live view's frame rate at most: enough to watch, cheap enough to leave inference its cores.
const VIEW_MAX_FPS: f64 = 12.0;

/// Extra time allowed before calling processing stalled: the first inference of a fresh session warms
/// the runtime up and takes several times longer than the rest.
const FIRST_FRAME_GRACE: Duration = Duration::from_secs(5);

/// Opens the session's source, wrapped so that a silent source fails instead of hanging.
fn open(source: &LiveSource, camera_timeout: Duration) -> Result<(Box<dyn FrameSource>, bool)> {
    Ok(match source {
        LiveSource::Camera(index) => open_camera(*index, camera_timeout)?,
        LiveSource::File { path, realtime: true } => {
            (Box::new(Watchdog::new(Box::new(Paced::new(VideoFile::open(path)?)), camera_timeout)), true)
        }
        LiveSource::File { path, realtime: false } => (Box::new(VideoFile::open(path)?), false),
    })
}

#[cfg(feature = "camera")]
fn open_camera(index: u32, camera_timeout: Duration) -> Result<(Box<dyn FrameSource>, bool)> {
    let camera = crate::source::camera::CameraSource::open(index)?;
    Ok((Box::new(Watchdog::new(Box::new(camera), camera_timeout)), true))
}

#[cfg(not(feature = "camera"))]
fn open_camera(_index: u32, _camera_timeout: Duration) -> Result<(Box<dyn FrameSource>, bool)> {
    Err(Error::Config("this build has no camera support: rebuild with the `camera` feature (the default)".into()))
}

/// Runs one session on `options.source` to its end. Errors before the session starts (a source that
/// cannot open, an unwritable output folder) are returned; everything after that ends in a summary.
pub fn run_session(config: &Config, detector: &mut dyn Detector, options: &LiveOptions) -> Result<SessionSummary> {
    let camera_timeout = Duration::from_secs_f64(config.session.camera_timeout_s);
    let (source, realtime) = open(&options.source, camera_timeout)?;
    run_session_on(config, detector, source, realtime, options)
}

/// Runs one session on a source already open. A live source (`realtime`) should be wrapped in a
/// [`Watchdog`], as [`run_session`] does, so that a silent source ends the session instead of hanging it.
pub fn run_session_on(
    config: &Config,
    detector: &mut dyn Detector,
    mut source: Box<dyn FrameSource>,
    realtime: bool,
    options: &LiveOptions,
) -> Result<SessionSummary> {
    let camera_timeout = Duration::from_secs_f64(config.session.camera_timeout_s);
    let info = source.info().clone();
    catch_ctrl_c();
    std::fs::create_dir_all(&options.out_dir)
        .map_err(|e| Error::video(&options.out_dir, format!("cannot create this session folder: {e}")))?;
    let started_wall = SystemTime::now();
    let started = humantime::format_rfc3339_seconds(started_wall).to_string();

    let mut analyser = Analyser::new(config, info.width, info.height);
    if let (Some(motion), LiveSource::File { path, .. }) = (&mut analyser.motion, &options.source) {
        // A recording can seed its background from frames across it; a camera learns it as it goes.
        seed_background(motion, path, &info)?;
    }
    let events_path = options.out_dir.join("events.jsonl");
    let _ = std::fs::remove_file(&events_path);
    let mut session = SessionSink::new(config, options, &events_path, realtime)?;
    if let Some(view) = &options.view {
        view.begin(&info.name, "live");
        session.behaviour.log.view = Some(view.clone());
    }
    session.behaviour.log.write(
        "session_started",
        &serde_json::json!({
            "time_s": 0.0,
            "started": started,
            "source": info.name,
            "planned_s": options.duration_s,
            "realtime": realtime,
        }),
    )?;
    eprintln!(
        "session: {} for {} (stops on the first alarm; Ctrl-C ends it){}",
        info.name,
        history::minutes(options.duration_s),
        if realtime { "" } else { ", every frame as fast as possible" }
    );
    let mut tracks = TracksCsv::create(&options.out_dir.join("tracks.csv"))?;
    let stall_after = camera_timeout + Duration::from_secs_f64(config.session.max_latency_s) + FIRST_FRAME_GRACE;
    let mode = if realtime { Mode::Live { stall_after } } else { Mode::Batch };
    let outcome = {
        // The view comes after the session, so that it sees a stop in the frame that decided it.
        let mut frames = options.view.clone().map(|v| ViewFrames::new(v, VIEW_MAX_FPS, None));
        let mut sinks: Vec<&mut dyn Sink> = vec![&mut tracks, &mut session];
        if let Some(f) = frames.as_mut() {
            sinks.push(f);
        }
        pipeline::run(source.as_mut(), detector, &mut analyser, &mut sinks, mode, &mut |_| {})
    };
    session.status.clear();
    let stats = outcome.stats;
    let last_t = stats.last_time_s.unwrap_or(0.0);
    let mut problems = outcome.source_problems;

    if let Some(error) = &outcome.error {
        problems.push(error.to_string());
        if session.stop.is_none() {
            // The pipeline broke: a fault stop, on the clock of the last frame seen.
            let silent_for = session.last_frame_at.map_or(0.0, |t| t.elapsed().as_secs_f64());
            let (episode, reason) = session.controller.on_error(error, last_t, last_t + silent_for);
            session.behaviour.record(&Change::Started(episode))?;
            session.stop(reason, None)?;
        }
    }
    let end_t = session.stop.as_ref().map_or(last_t, |r| r.time_s.max(last_t));
    session.behaviour.close(end_t)?;
    session.alarm.wait_for_hook();
    let length_s = stats.first_time_s.map_or(0.0, |first| end_t - first);
    let outcome_kind = match &session.stop {
        Some(r) if r.fault => Outcome::Fault,
        Some(_) => Outcome::Stopped,
        None if session.duration_reached => Outcome::Completed,
        None if INTERRUPTED.load(Ordering::Relaxed) => Outcome::Interrupted,
        None => Outcome::SourceEnded,
    };
    let ended = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let mut summary = SessionSummary {
        started: started.clone(),
        ended: ended.clone(),
        planned_s: options.duration_s,
        length_s,
        outcome: outcome_kind,
        reason: session.stop.clone(),
        alarm_latency_ms: session.alarm_latency_ms,
        frames: stats.frames,
        dropped_frames: stats.dropped_frames,
        fps_processed: stats.fps(),
        latency: realtime.then(|| latency_summary(&session.latencies_ms)),
        calm_s: session.behaviour.book.total_s("calm", end_t),
        episodes: session.behaviour.book.episodes.clone(),
        problems,
        source: info.clone(),
    };
    session.behaviour.log.write(
        "session_ended",
        &serde_json::json!({ "time_s": end_t, "ended": ended, "outcome": outcome_kind, "reason": summary.reason }),
    )?;
    let title = format!(
        "session on {}: {}",
        info.name,
        match &summary.reason {
            Some(r) => format!("{} at {:.1} s", if r.fault { "FAULT" } else { "STOPPED" }, r.time_s),
            None => format!("{} after {}", outcome_kind.name(), history::minutes(length_s)),
        }
    );
    let start_t = stats.first_time_s.unwrap_or(0.0);
    let picture = session.behaviour.timeline(title, start_t, end_t, summary.reason.clone());
    if let Err(e) = timeline::write(&picture, &options.out_dir.join("timeline")) {
        // The picture is a view of what is already on disk: losing it must not lose the session.
        summary.problems.push(format!("timeline.png not drawn: {e}"));
    }
    if let (Some(view), None) = (&options.view, &summary.reason) {
        view.end(ViewEnd::without_stop(outcome_kind.name(), end_t));
    }
    let path = options.out_dir.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary).expect("summaries serialise") + "\n")
        .map_err(|e| Error::io(&path, e))?;
    if let Some(history_path) = &options.history {
        let entry = HistoryEntry {
            started,
            ended,
            source: info.name.clone(),
            planned_s: options.duration_s,
            length_s,
            outcome: outcome_kind,
            reason: summary.reason.clone(),
            episodes: summary.episodes.clone(),
            calm_s: summary.calm_s,
            out_dir: options.out_dir.display().to_string(),
        };
        history::append(history_path, &entry)?;
    }
    Ok(summary)
}

fn latency_summary(ms: &[f64]) -> LatencySummary {
    let mut sorted = ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
    LatencySummary { p50_ms: at(0.5), p95_ms: at(0.95), max_ms: at(1.0), frames: sorted.len() }
}

/// The session as a pipeline sink: engine, controller, alarm and status line, frame by frame.
struct SessionSink {
    behaviour: BehaviourLog,
    controller: Controller,
    alarm: Alarm,
    events_path: PathBuf,
    realtime: bool,
    duration_s: f64,
    start_t: Option<f64>,
    duration_reached: bool,
    stop: Option<StopReason>,
    alarm_latency_ms: Option<f64>,
    latencies_ms: Vec<f64>,
    last_frame_at: Option<Instant>,
    status: StatusLine,
}

impl SessionSink {
    fn new(config: &Config, options: &LiveOptions, events: &Path, realtime: bool) -> Result<SessionSink> {
        Ok(SessionSink {
            behaviour: BehaviourLog::new(config, events)?,
            controller: Controller::new(&config.session, &config.behaviour),
            alarm: Alarm::new(options.sound, options.on_stop.clone()),
            events_path: events.to_path_buf(),
            realtime,
            duration_s: options.duration_s,
            start_t: None,
            duration_reached: false,
            stop: None,
            alarm_latency_ms: None,
            latencies_ms: Vec::new(),
            last_frame_at: None,
            status: StatusLine::new(options.duration_s),
        })
    }

    /// Records the stop, raises the alarm. `captured` is the capture time of the frame that decided it.
    fn stop(&mut self, reason: StopReason, captured: Option<Instant>) -> Result<()> {
        let latency_ms = captured.map(|c| c.elapsed().as_secs_f64() * 1000.0);
        self.status.clear();
        self.alarm.stop(&reason, &self.events_path);
        self.alarm_latency_ms = latency_ms;
        #[derive(Serialize)]
        struct StopLine<'a> {
            #[serde(flatten)]
            reason: &'a StopReason,
            /// From the deciding frame's capture to the alarm.
            alarm_latency_ms: Option<f64>,
        }
        self.behaviour.log.write("stop", &StopLine { reason: &reason, alarm_latency_ms: latency_ms })?;
        if let Some(view) = &self.behaviour.log.view {
            view.end(ViewEnd::stop(&reason));
        }
        self.stop = Some(reason);
        Ok(())
    }

    fn act(&mut self, decision: Decision, captured: Instant) -> Result<()> {
        match decision {
            Decision::Stop(reason) => self.stop(reason, Some(captured))?,
            Decision::Warn(e) => {
                self.status.clear();
                self.alarm.warn(e.confirmed_s, &describe(&e, e.confirmed_s));
            }
            Decision::Cue(e) => {
                self.status.clear();
                self.alarm.cue(e.confirmed_s, &describe(&e, e.confirmed_s));
            }
        }
        Ok(())
    }
}

impl Sink for SessionSink {
    fn frame(&mut self, a: &AnalysedFrame) -> Result<()> {
        let t = a.frame.time_s;
        let captured = a.frame.captured_at;
        self.last_frame_at = Some(Instant::now());
        let start = *self.start_t.get_or_insert(t);
        for change in self.behaviour.observe(a)? {
            if self.stop.is_some() {
                break;
            }
            if let Some(decision) = self.controller.on_change(&change) {
                self.act(decision, captured)?;
            }
        }
        let latency_s = captured.elapsed().as_secs_f64();
        if self.realtime {
            self.latencies_ms.push(latency_s * 1000.0);
        }
        if self.stop.is_none() {
            let latency = self.realtime.then_some(latency_s);
            let engine = &self.behaviour.engine;
            if let Some(decision) = self.controller.on_moment(t, &engine.active(), latency, &engine.status) {
                if let Some(e) = self.controller.new_episode.clone() {
                    self.behaviour.record(&Change::Started(e))?;
                }
                self.act(decision, captured)?;
            }
        }
        self.duration_reached = t - start >= self.duration_s;
        if let Some(view) = &self.behaviour.log.view {
            let (realtime, left_s) = (self.realtime, self.duration_s - (t - start));
            view.status(|s| {
                s.latency_ms = realtime.then_some(latency_s * 1000.0);
                s.left_s = Some(left_s);
            });
        }
        if self.stop.is_none() {
            self.status.show(t - start, latency_s, &self.behaviour.engine.status);
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
    }

    fn wants_stop(&self) -> bool {
        self.stop.is_some() || self.duration_reached || INTERRUPTED.load(Ordering::Relaxed)
    }
}

/// The one-line status on the terminal: rewritten in place on a terminal, a plain line every few
/// seconds when stderr is a file or a pipe.
struct StatusLine {
    terminal: bool,
    planned_s: f64,
    last_shown: Option<Instant>,
    /// Decision instants over the last second, for the frame rate.
    rate: FrameRate,
    showing: bool,
}

impl StatusLine {
    fn new(planned_s: f64) -> StatusLine {
        StatusLine {
            terminal: std::io::stderr().is_terminal(),
            planned_s,
            last_shown: None,
            rate: FrameRate::default(),
            showing: false,
        }
    }

    fn show(&mut self, elapsed_s: f64, latency_s: f64, s: &crate::behaviour::engine::EngineStatus) {
        let now = Instant::now();
        let fps = self.rate.tick();
        let every = if self.terminal { Duration::from_millis(200) } else { Duration::from_secs(5) };
        if self.last_shown.is_some_and(|t| now.duration_since(t) < every) {
            return;
        }
        self.last_shown = Some(now);
        let gap = s.gap_body_lengths.map_or("?".to_string(), |g| format!("{g:.1} BL"));
        let line = format!(
            "{} | {:>4.1} fps | latency {:>4.0} ms | cat: {} | rat: {} | gap {} | left {}",
            history::minutes(elapsed_s),
            fps,
            latency_s * 1000.0,
            s.cat,
            s.rat,
            gap,
            history::minutes(self.planned_s - elapsed_s)
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
            self.showing = true;
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    /// Clears the line before anything else is printed.
    fn clear(&mut self) {
        if self.showing {
            eprint!("\r\x1b[2K");
            self.showing = false;
        }
    }
}
