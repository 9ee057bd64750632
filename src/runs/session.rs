//! A supervised session: the live pipeline (newest frame wins) with the session decision stage, and the
//! session ends on the first `stop`: an alarm, the reason in words, the logs closed, a history line
//! written and a documented exit code. Fault states stop it too: a silent camera (the source watchdog),
//! a machine that falls behind (latency, or no analysed frame at all), an animal out of sight during the
//! meeting, the model failing.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::run_dir::RunDir;
use crate::behaviour::{self, Behaviour, Episode};
use crate::config::Config;
use crate::detect::Detector;
use crate::error::{Error, Result};
use crate::output::clips::ClipSink;
use crate::output::notify::NotifySink;
use crate::output::{Alarm, AlarmSink, AnnotatedVideo, BehaviourCsv, Hooks, TracksCsv};
use crate::pipeline::{self, Mode, RunOutcome, RunStart, SessionStart, Sink, Stages};
use crate::plot::timeline::Timeline;
use crate::session::controller::StopReason;
use crate::session::history::{self, HistoryEntry, Outcome};
use crate::session::supervisor::Supervisor;
use crate::source::paced::Paced;
use crate::source::stream::NetworkStream;
use crate::source::video::VideoFile;
use crate::source::watchdog::Watchdog;
use crate::source::{CameraChoice, FrameSource, SourceInfo};
use crate::view::{OwnerControls, ViewHandle, ViewSink};

/// Where a session's frames come from.
#[derive(Debug, Clone)]
pub enum LiveSource {
    /// A webcam, with the size and frame rate asked of it.
    Camera(CameraChoice),
    /// A recording; `realtime` delivers it at its own pace as a camera would (and drops what the
    /// machine cannot keep up with), else every frame is analysed as fast as possible.
    File { path: PathBuf, realtime: bool },
    /// A network or phone camera by URL (`rtsp://`, `http://`...): live, reopened when it drops.
    Stream(String),
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
    /// The owner's `--on-stop` and `--on-event` commands.
    pub hooks: Hooks,
    pub sound: bool,
    /// Keep the whole annotated session as `session.mp4`.
    pub record: bool,
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
    /// Frames the detector looked at: every frame while the cat (or anything it follows) is in view,
    /// else one every `detector.idle_interval_s` with motion following the rat in between.
    pub detector_frames: u64,
    pub fps_processed: f64,
    /// Only measured when frames arrive in real time (a camera or `--realtime`).
    pub latency: Option<LatencySummary>,
    pub episodes: Vec<Episode>,
    pub calm_s: f64,
    pub problems: Vec<String>,
}

/// `live --record`: the whole annotated session.
const SESSION_VIDEO: &str = "session.mp4";

/// Where zones drawn in the live view are saved when the session was started without `--config`.
const DEFAULT_CONFIG_FILE: &str = "chaperone.toml";

/// The live view's frame rate at most: enough to watch, cheap enough to leave inference its cores.
const VIEW_MAX_FPS: f64 = 12.0;

/// Extra time allowed before calling processing stalled: the first inference of a fresh session warms
/// the runtime up and takes several times longer than the rest.
const FIRST_FRAME_GRACE: Duration = Duration::from_secs(5);

/// Opens the session's source, wrapped so that a silent source fails instead of hanging. Returns it and
/// whether it delivers in real time.
pub fn open(source: &LiveSource, camera_timeout: Duration) -> Result<(Box<dyn FrameSource>, bool)> {
    Ok(match source {
        LiveSource::Camera(choice) => (Box::new(Watchdog::new(open_camera(choice)?, camera_timeout)), true),
        LiveSource::File { path, realtime: true } => {
            (Box::new(Watchdog::new(Box::new(Paced::new(VideoFile::open(path)?)), camera_timeout)), true)
        }
        LiveSource::File { path, realtime: false } => (Box::new(VideoFile::open(path)?), false),
        LiveSource::Stream(url) => {
            (Box::new(Watchdog::new(Box::new(NetworkStream::open(url, camera_timeout)?), camera_timeout)), true)
        }
    })
}

#[cfg(feature = "camera")]
fn open_camera(choice: &CameraChoice) -> Result<Box<dyn FrameSource>> {
    Ok(Box::new(crate::source::camera::CameraSource::open(choice)?))
}

#[cfg(not(feature = "camera"))]
fn open_camera(_choice: &CameraChoice) -> Result<Box<dyn FrameSource>> {
    Err(Error::Config("this build has no camera support: rebuild with the `camera` feature (the default)".into()))
}

/// Runs one session on `options.source` to its end. Errors before the session starts (a source that
/// cannot open, an unwritable output folder) are returned; everything after that ends in a summary.
pub fn run(config: &Config, detector: &mut dyn Detector, options: &LiveOptions) -> Result<SessionSummary> {
    let camera_timeout = Duration::from_secs_f64(config.session.camera_timeout_s);
    let (source, realtime) = open(&options.source, camera_timeout)?;
    run_on(config, detector, source, realtime, options)
}

/// Runs one session on a source already open. A live source (`realtime`) should be wrapped in a
/// [`Watchdog`], as [`run`] does, so that a silent source ends the session instead of hanging it.
pub fn run_on(
    config: &Config,
    detector: &mut dyn Detector,
    mut source: Box<dyn FrameSource>,
    realtime: bool,
    options: &LiveOptions,
) -> Result<SessionSummary> {
    let info = source.info().clone();
    let mut run_dir = RunDir::create(&options.out_dir)?;
    let start = RunStart {
        source: info.clone(),
        started: pipeline::now_rfc3339(),
        session: Some(SessionStart { planned_s: options.duration_s, realtime }),
    };
    let supervisor = Supervisor::new(&config.session, &config.behaviour, options.duration_s, realtime);
    let mut stages = Stages::new(config, info.width, info.height).supervised(supervisor);
    if let LiveSource::File { path, .. } = &options.source {
        // A recording can seed its background from frames across it; a camera learns it as it goes.
        stages.fusion().seed_background(path, &info)?;
    }
    let mut events = run_dir.fresh_event_log(&config.session)?;
    let tracks_path = run_dir.tracks_path();
    let mut tracks = TracksCsv::create(&run_dir.written(&tracks_path))?;
    let behaviour_path = run_dir.behaviour_path();
    let mut behaviour = BehaviourCsv::new(&run_dir.written(&behaviour_path));
    let alarm = Alarm::new(options.sound, options.hooks.clone());
    let mut clips = ClipSink::new(run_dir.path(), &config.session);
    let mut recording = match options.record {
        true => {
            let path = run_dir.path().join(SESSION_VIDEO);
            Some(AnnotatedVideo::live(&run_dir.written(&path), info.fps.unwrap_or(25.0))?)
        }
        false => None,
    };
    let mut alarm = AlarmSink::new(alarm, options.duration_s, &run_dir.events_path(), clips.is_some());
    let mut notify = NotifySink::new(&config.notify, &config.session);
    if let Some(view) = &options.view {
        let (inputs, received) = crossbeam_channel::unbounded();
        stages.follow_owner(received);
        view.offer_controls(OwnerControls {
            config_file: config.file.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE)),
            zones: config.zones(),
            enclosure_margin: config.roles.enclosure_margin,
            inputs,
        });
    }
    // With the view on, its encoder's frames are the clips' too: drawn and encoded once.
    let mut view = options.view.clone().map(|v| {
        let feed = clips.as_mut().and_then(ClipSink::feed);
        ViewSink::new(v, "live", &config.session, VIEW_MAX_FPS, None, feed)
    });
    eprintln!(
        "session: {} for {} (stops on the first alarm; Ctrl-C ends it){}",
        info.name,
        history::minutes(options.duration_s),
        if realtime { "" } else { ", every frame as fast as possible" }
    );
    let stall_after =
        camera_timeout(config) + Duration::from_secs_f64(config.session.max_latency_s) + FIRST_FRAME_GRACE;
    let mode = if realtime { Mode::Live { stall_after } } else { Mode::Batch };
    let outcome = {
        let mut sinks: Vec<&mut dyn Sink> = vec![&mut alarm, &mut events, &mut tracks, &mut behaviour];
        // The view before the clips: its last frames reach the clips before they are written.
        sinks.extend(view.as_mut().map(|v| v as &mut dyn Sink));
        sinks.extend(clips.as_mut().map(|c| c as &mut dyn Sink));
        sinks.extend(recording.as_mut().map(|r| r as &mut dyn Sink));
        sinks.extend(notify.as_mut().map(|n| n as &mut dyn Sink));
        pipeline::run(source.as_mut(), detector, &mut stages, &mut sinks, &start, mode, &mut |_| {})
    };
    let summary = summarise(&start, options, outcome, &mut run_dir, config);
    run_dir.write_summary(&summary)?;
    if let Some(history_path) = &options.history {
        history::append(history_path, &history_entry(&summary, &info, options))?;
    }
    Ok(summary)
}

fn camera_timeout(config: &Config) -> Duration {
    Duration::from_secs_f64(config.session.camera_timeout_s)
}

/// The summary of a finished session, with its timeline drawn.
fn summarise(
    start: &RunStart,
    options: &LiveOptions,
    outcome: RunOutcome,
    run_dir: &mut RunDir,
    config: &Config,
) -> SessionSummary {
    let stats = outcome.stats;
    let end = outcome.end;
    let mut problems = outcome.source_problems;
    problems.extend(outcome.error.as_ref().map(Error::to_string));
    let outcome_kind = end.outcome.unwrap_or(Outcome::SourceEnded);
    let length_s = stats.first_time_s.map_or(0.0, |first| end.time_s - first);
    let title = format!(
        "session on {}: {}",
        start.source.name,
        match &end.stop {
            Some(r) => format!("{} at {:.1} s", if r.fault { "FAULT" } else { "STOPPED" }, r.time_s),
            None => format!("{} after {}", outcome_kind.name(), history::minutes(length_s)),
        }
    );
    let span = (stats.first_time_s.unwrap_or(0.0), end.time_s);
    let picture = Timeline::new(title, span, outcome.gap, outcome.episodes.clone(), &config.session, end.stop.clone());
    problems.extend(run_dir.draw_timeline(&picture));
    SessionSummary {
        started: start.started.clone(),
        ended: end.ended.clone(),
        planned_s: options.duration_s,
        length_s,
        outcome: outcome_kind,
        reason: end.stop.clone(),
        alarm_latency_ms: outcome.alarm_latency_ms,
        frames: stats.frames,
        dropped_frames: stats.dropped_frames,
        detector_frames: stats.detector_frames,
        fps_processed: stats.fps(),
        latency: outcome.latencies_ms.as_deref().map(latency_summary),
        calm_s: behaviour::total_s(&outcome.episodes, Behaviour::Calm, end.time_s),
        episodes: outcome.episodes,
        problems,
        source: start.source.clone(),
    }
}

fn history_entry(summary: &SessionSummary, info: &SourceInfo, options: &LiveOptions) -> HistoryEntry {
    HistoryEntry {
        started: summary.started.clone(),
        ended: summary.ended.clone(),
        source: info.name.clone(),
        planned_s: options.duration_s,
        length_s: summary.length_s,
        outcome: summary.outcome,
        reason: summary.reason.clone(),
        episodes: summary.episodes.clone(),
        calm_s: summary.calm_s,
        out_dir: options.out_dir.display().to_string(),
    }
}

fn latency_summary(ms: &[f64]) -> LatencySummary {
    let mut sorted = ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| pipeline::quantile(&sorted, q).unwrap_or(0.0);
    LatencySummary { p50_ms: at(0.5), p95_ms: at(0.95), max_ms: at(1.0), frames: sorted.len() }
}
