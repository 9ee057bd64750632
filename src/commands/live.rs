//! `chaperone live`: a supervised meeting, from the command line (see [`crate::runs::session`]): the
//! source, the session's length (the history's advice unless given), the view, Ctrl-C, the exit code.

use std::path::{Path, PathBuf};

use super::{Exit, VIEW_LINGER, ViewArgs, signals, start_view};
use crate::config::Config;
use crate::detect::AnimalDetector;
use crate::error::{Error, Result};
use crate::output::Hooks;
use crate::runs::recording;
use crate::runs::run_dir;
use crate::runs::session::{self, LiveOptions, LiveSource, SessionSummary};
use crate::session::history;
use crate::source::stream;
use crate::source::{CameraChoice, CameraDevice};
use crate::view::ViewServer;

#[derive(clap::Args)]
pub struct Args {
    /// The webcam: its index (0 is the first, the default source), its device (/dev/video2) or part of
    /// its name as `chaperone cameras` lists it.
    #[arg(long, value_name = "N|/dev/videoN|NAME", conflicts_with = "source")]
    camera: Option<String>,
    /// The webcam's picture size, e.g. 1280x720 (the nearest it offers is taken, and said).
    #[arg(long, value_name = "WxH", value_parser = parse_size, conflicts_with = "source")]
    camera_size: Option<(u32, u32)>,
    /// The webcam's frame rate (the nearest it offers is taken, and said).
    #[arg(long, value_name = "FPS", value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "source")]
    camera_fps: Option<u32>,
    /// A network or phone camera by URL (rtsp://, http:// MJPEG or stream, udp://...; reconnected when
    /// it drops), or a recording instead of a camera (tests, demos, drills).
    #[arg(long, value_name = "URL|VIDEO")]
    source: Option<PathBuf>,
    /// Deliver --source at its own frame rate, as a camera would (newest frame wins).
    #[arg(long, requires = "source")]
    realtime: bool,
    /// Planned session length in seconds. Default: the history's recommendation.
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
    /// Session folder. Default: a new folder under the data directory's sessions/.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Shell command run when the session stops (env: CHAPERONE_STOP_BEHAVIOUR, CHAPERONE_STOP_REASON,
    /// CHAPERONE_STOP_FAULT, CHAPERONE_EVENTS, CHAPERONE_SNAPSHOT, CHAPERONE_CLIP).
    #[arg(long, value_name = "CMD")]
    on_stop: Option<String>,
    /// Shell command run for every stop, warning and reward cue, in the background (env:
    /// CHAPERONE_EVENT_KIND = stop, warn or cue, CHAPERONE_EVENT_BEHAVIOUR, CHAPERONE_EVENT_TIME_S,
    /// CHAPERONE_EVENT_WORDS, CHAPERONE_EVENTS, CHAPERONE_SNAPSHOT, CHAPERONE_CLIP).
    #[arg(long, value_name = "CMD")]
    on_event: Option<String>,
    /// Keep the whole annotated session as session.mp4 in the session folder.
    #[arg(long)]
    record: bool,
    /// No alarm sound (the banner and terminal bell remain).
    #[arg(long)]
    no_sound: bool,
    /// Do not append this session to the history.
    #[arg(long)]
    no_history: bool,
    #[command(flatten)]
    view: ViewArgs,
    /// No live view in the browser (it is on by default with a camera).
    #[arg(long, conflicts_with_all = ["view", "view_addr"])]
    no_view: bool,
}

pub fn run(config: &Config, args: &Args) -> Result<Exit> {
    let source = match (&args.source, &args.camera) {
        (Some(url), _) if stream::is_stream_url(&url.to_string_lossy()) => {
            LiveSource::Stream(url.to_string_lossy().into_owned())
        }
        (Some(path), _) => {
            recording::check_input(path, 10.0)?;
            LiveSource::File { path: path.clone(), realtime: args.realtime }
        }
        (None, camera) => LiveSource::Camera(CameraChoice {
            device: camera.as_deref().map_or(CameraDevice::Index(0), CameraDevice::parse),
            size: args.camera_size,
            fps: args.camera_fps,
        }),
    };
    let history_path = if args.no_history { None } else { Some(history::history_path()?) };
    let duration_s = match args.duration {
        Some(d) if d > 0.0 && d.is_finite() => d,
        Some(d) => return Err(Error::Config(format!("--duration must be a positive number of seconds, got {d}"))),
        None => {
            let past = history_path.as_deref().map(history::read).transpose()?.unwrap_or_default();
            let (s, why) = history::recommend(&past);
            eprintln!("session length {} ({why}); set it with --duration", history::minutes(s));
            s
        }
    };
    let started = crate::pipeline::now_rfc3339();
    let out_dir = match &args.out {
        Some(dir) => dir.clone(),
        None => history::default_session_dir(&started)?,
    };
    run_dir::create_dir(&out_dir)?;
    let camera = matches!(source, LiveSource::Camera(_) | LiveSource::Stream(_));
    let view = start_view(&args.view, args.view.view || (camera && !args.no_view))?;
    let options = LiveOptions {
        view: view.as_ref().map(ViewServer::handle),
        source,
        duration_s,
        out_dir: out_dir.clone(),
        history: history_path,
        hooks: Hooks { on_stop: args.on_stop.clone(), on_event: args.on_event.clone() },
        sound: !args.no_sound,
        record: args.record,
    };
    let mut detector = AnimalDetector::load(&config.runtime, &config.detector, &config.roles)?;
    signals::install("the session");
    let summary = session::run(config, &mut detector, &options)?;
    if let Some(view) = &view {
        view.linger(VIEW_LINGER);
    }
    print_summary(&summary, &out_dir);
    Ok(match (&summary.reason, signals::received()) {
        (Some(r), _) if r.fault => Exit::Fault,
        (Some(_), _) => Exit::Stopped,
        // The owner's Ctrl-C ends a session as planned; SIGTERM or SIGHUP is the system ending it early.
        (None, Some(ending @ signals::Ending::Terminate(_))) => {
            eprintln!(
                "the session was ended by {} before its end: what it observed is in {}",
                ending.name(),
                out_dir.display()
            );
            Exit::Signalled(ending)
        }
        (None, _) => Exit::Success,
    })
}

fn print_summary(summary: &SessionSummary, out_dir: &Path) {
    let latency = summary
        .latency
        .as_ref()
        .map(|l| format!("; capture-to-decision latency p50 {:.0} ms, p95 {:.0} ms", l.p50_ms, l.p95_ms))
        .unwrap_or_default();
    let how = match &summary.reason {
        Some(r) => format!("STOPPED at {:.1} s: {}", r.time_s, r.words),
        None => format!("ended without a stop ({})", summary.outcome.name()),
    };
    println!(
        "session {how}; {} of {} planned, {} frames at {:.1} frames/s, {} dropped{latency}; calm {:.0} s -> {}",
        history::minutes(summary.length_s),
        history::minutes(summary.planned_s),
        summary.frames,
        summary.fps_processed,
        summary.dropped_frames,
        summary.calm_s,
        out_dir.display()
    );
}

/// `WxH`, e.g. `1280x720`.
fn parse_size(text: &str) -> std::result::Result<(u32, u32), String> {
    let size = text.split_once(['x', 'X']).and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)));
    match size {
        Some((w, h)) if w > 0 && h > 0 => Ok((w, h)),
        _ => Err(format!("`{text}` is not a picture size: give it as WIDTHxHEIGHT, e.g. 1280x720")),
    }
}
