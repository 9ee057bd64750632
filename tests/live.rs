//! `chaperone live` end to end, with recordings replayed in real time as a camera would deliver them
//! (no camera exists on CI machines): the real detector, tracker, engine and controller.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chaperone::config::Config;
use chaperone::detect::{AnimalDetector, Detection, Detector};
use chaperone::runs::session::{LiveOptions, LiveSource, SessionSummary, run_on};
use chaperone::source::paced::Paced;
use chaperone::source::video::VideoFile;
use chaperone::source::watchdog::Watchdog;
use chaperone::source::{Frame, FrameSource, SourceInfo};

/// Real-time sessions share two cores: one at a time, so that each gets the machine a user's would.
static ONE_SESSION_AT_A_TIME: Mutex<()> = Mutex::new(());

fn live(args: &[&str], data_dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chaperone"))
        .current_dir(common::repo())
        .env("CHAPERONE_DATA_DIR", data_dir)
        .arg("live")
        .args(args)
        .output()
        .unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_fast_approach_stops_the_session_with_its_reason_and_exit_code() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let dash = common::dash_clip(work.path());
    let out = work.path().join("session");
    let hook_file = work.path().join("hook.txt");
    let hook = format!(
        "echo \"$CHAPERONE_STOP_BEHAVIOUR $CHAPERONE_STOP_FAULT $CHAPERONE_SNAPSHOT\" > {}",
        hook_file.display()
    );
    let run = live(
        &["--source", dash.to_str().unwrap(), "--realtime", "--duration", "60", "--no-sound", "--on-stop", &hook]
            .into_iter()
            .chain(["--out", out.to_str().unwrap()])
            .collect::<Vec<_>>(),
        work.path(),
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "a behaviour stop exits 3: {stderr}");
    assert!(stderr.contains("SESSION STOPPED"), "the alarm banner: {stderr}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("the cat approached the rat fast"), "the reason in words: {stdout}");

    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["outcome"], "stopped");
    assert_eq!(summary["reason"]["behaviour"], "approach");
    let stopped_at = summary["reason"]["time_s"].as_f64().unwrap();
    assert!(stopped_at > 4.0 && stopped_at < 4.8, "the dash starts at 4.0 s; stopped at {stopped_at}");
    // The alarm goes out with the decision: capture to alarm well within a second.
    let alarm_ms = summary["alarm_latency_ms"].as_f64().unwrap();
    assert!(alarm_ms < 1000.0, "{alarm_ms} ms");
    assert!(summary["latency"]["p95_ms"].as_f64().is_some());

    let events = common::events(&out.join("events.jsonl"));
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"session_started"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"session_ended"), "{kinds:?}");
    let stop = events.iter().find(|e| e["event"] == "stop").expect("a stop line");
    assert_eq!(stop["behaviour"], "approach");
    assert_eq!(stop["fault"], false);
    assert!(
        events.iter().any(|e| e["event"] == "confirmed" && e["behaviour"] == "approach" && e["severity"] == "stop"),
        "{events:?}"
    );
    // The deciding frame is on disk, with the cat's box drawn (dark red), named in the stop line and to
    // the hook.
    assert_eq!(stop["snapshot"], "stop.jpg", "{stop}");
    let snapshot = image::open(out.join("stop.jpg")).expect("stop.jpg is a picture").to_rgb8();
    assert_eq!(snapshot.dimensions(), (640, 480));
    let cat_red = snapshot.pixels().filter(|p| p[0] > 150 && p[1] < 80 && p[2] < 80).count();
    assert!(cat_red > 500, "the cat's box drawn on it: {cat_red} dark-red pixels");
    let hook_said = std::fs::read_to_string(&hook_file).unwrap();
    assert_eq!(
        hook_said.trim(),
        format!("approach 0 {}", out.join("stop.jpg").display()),
        "the --on-stop hook ran, told where the picture is"
    );

    // The session is in the history, and the next one is recommended shorter.
    let history = Command::new(env!("CARGO_BIN_EXE_chaperone"))
        .env("CHAPERONE_DATA_DIR", work.path())
        .args(["history", "--plot"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&history.stdout);
    assert!(history.status.success() && text.contains("STOP: the cat approached"), "{text}");
    assert!(text.contains("next session: 1:00"), "after a stop at 4 s, the shortest session: {text}");
    // ...and drawn over days.
    let svg = std::fs::read_to_string(work.path().join("history.svg")).unwrap();
    assert!(svg.contains("1 session, 1 stopped by the animals, 0 by faults"), "the heading counts the stop");
    assert!(work.path().join("history.png").is_file());
    // The session's own timeline marks its stop.
    let timeline = std::fs::read_to_string(out.join("timeline.svg")).unwrap();
    assert!(timeline.contains("STOPPED: approach"), "the stop on the timeline");
}

#[test]
fn a_calm_meeting_runs_its_planned_length() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("session");
    let demo = common::generated("demo-meeting.mp4");
    let args = ["--source", demo.to_str().unwrap(), "--realtime", "--duration", "8", "--no-sound"];
    let run = live(&args.into_iter().chain(["--out", out.to_str().unwrap()]).collect::<Vec<_>>(), work.path());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "no stop, exit 0: {stderr}");
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["outcome"], "completed", "{summary}");
    assert!(summary["reason"].is_null());
    let length = summary["length_s"].as_f64().unwrap();
    assert!((8.0..8.5).contains(&length), "{length}");
    let p95 = summary["latency"]["p95_ms"].as_f64().unwrap();
    assert!(p95 > 0.0 && p95 < 1000.0, "{p95}");
    assert!(!common::events(&out.join("events.jsonl")).iter().any(|e| e["event"] == "stop"));
    let history: Vec<serde_json::Value> = common::events(&work.path().join("history.jsonl"));
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["outcome"], "completed");
}

#[test]
fn a_live_rat_alone_is_followed_by_motion_between_the_detectors_looks() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(video) = common::media("mouse-openfield/openfield-mouse.mp4") else { return };
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("session");
    let args = ["--source", video.to_str().unwrap(), "--realtime", "--duration", "6", "--no-sound"];
    let run = live(&args.into_iter().chain(["--out", out.to_str().unwrap()]).collect::<Vec<_>>(), work.path());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "no stop, exit 0: {stderr}");
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["outcome"], "completed", "{summary}");
    // No cat in view: the detector looks about twice a second (the cadence), motion follows the mouse.
    let (frames, looked) = (summary["frames"].as_u64().unwrap(), summary["detector_frames"].as_u64().unwrap());
    assert!(frames >= 60 && looked >= 6 && looked * 3 <= frames, "the detector looked at {looked} of {frames} frames");
    let rat_boxes =
        std::fs::read_to_string(out.join("tracks.csv")).unwrap().lines().filter(|l| l.contains(",rat,")).count();
    assert!(rat_boxes as f64 >= 0.9 * frames as f64, "the mouse in {rat_boxes} of {frames} frames");
}

/// How a camera stops delivering.
enum Failure {
    /// Nothing, ever: a driver that hangs in its read.
    Hang,
    /// An error: the device unplugged.
    Error,
}

/// A real recording that delivers `frames` frames, then fails as `then` says.
struct StopsAfter {
    inner: VideoFile,
    frames: u64,
    then: Failure,
}

impl FrameSource for StopsAfter {
    fn info(&self) -> &SourceInfo {
        self.inner.info()
    }
    fn next_frame(&mut self) -> chaperone::Result<Option<Frame>> {
        match self.inner.next_frame()? {
            Some(f) if f.index < self.frames => Ok(Some(f)),
            _ => match self.then {
                Failure::Hang => loop {
                    std::thread::sleep(Duration::from_secs(3600));
                },
                Failure::Error => Err(chaperone::error::Error::source("/dev/video0", "the device was unplugged")),
            },
        }
    }
}

#[test]
fn a_camera_that_stops_delivering_ends_the_session_as_camera_lost() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let demo = common::generated("demo-meeting.mp4");
    let mut config = Config::default();
    config.session.camera_timeout_s = 1.5;
    let mut detector = AnimalDetector::load(&config.runtime, &config.detector, &config.roles).unwrap();
    let hanging = StopsAfter { inner: VideoFile::open(&demo).unwrap(), frames: 75, then: Failure::Hang };
    let source = Watchdog::new(Box::new(Paced::new(hanging)), Duration::from_secs_f64(1.5));
    let options = LiveOptions {
        source: LiveSource::File { path: demo.clone(), realtime: true },
        duration_s: 60.0,
        out_dir: work.path().join("session"),
        history: None,
        hooks: Default::default(),
        sound: false,
        record: false,
        view: None,
    };
    let started = Instant::now();
    let summary = run_on(&config, &mut detector, Box::new(source), true, &options).unwrap();
    let reason = summary.reason.expect("a stop");
    assert_eq!(reason.behaviour.name(), "camera_lost", "{reason:?}");
    assert!(reason.fault);
    // 75 frames at 25 fps: the last at 2.96 s; silence is called within the 1.5 s allowed (plus a frame).
    assert!(reason.time_s > 4.3 && reason.time_s < 4.7, "stopped at {}", reason.time_s);
    assert!(started.elapsed() < Duration::from_secs(15), "never a hang: {:?}", started.elapsed());
    let events = common::events(&options.out_dir.join("events.jsonl"));
    assert!(events.iter().any(|e| e["event"] == "stop" && e["behaviour"] == "camera_lost"), "{events:?}");
    assert!(summary.episodes.iter().any(|e| e.behaviour.name() == "camera_lost"));
    // The seconds before the camera went silent, on disk.
    let (clip_s, _) = common::video_length(&options.out_dir.join("stop.mp4"));
    assert!(clip_s > 1.5 && clip_s < 3.5, "the clip of the last seconds seen: {clip_s} s");
}

#[test]
fn killing_a_session_leaves_a_valid_event_log() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let dash = common::dash_clip(work.path());
    let out = work.path().join("session");
    let mut child = Command::new(env!("CARGO_BIN_EXE_chaperone"))
        .current_dir(common::repo())
        .env("CHAPERONE_DATA_DIR", work.path())
        .args(["live", "--source", dash.to_str().unwrap(), "--realtime", "--duration", "60", "--no-sound", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once the approach has been confirmed but before the session closes its log.
    let events = out.join("events.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(&events).unwrap_or_default();
        if text.contains("\"confirmed\"") {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let lines = common::events(&events);
    assert_eq!(lines[0]["event"], "session_started");
    assert!(lines.iter().any(|e| e["event"] == "confirmed" && e["behaviour"] == "approach"), "{lines:?}");
}

#[test]
fn a_rat_freezing_past_its_limit_is_warned_then_stops_the_session() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let clip = common::freeze_clip(work.path());
    let out = work.path().join("session");
    // The --on-event hook hears the warning and then the stop, each with its kind and behaviour.
    let heard = work.path().join("heard.txt");
    // ...and where each one's clip goes.
    let told = work.path().join("clips.txt");
    let hook = format!(
        "echo \"$CHAPERONE_EVENT_KIND $CHAPERONE_EVENT_BEHAVIOUR\" >> {}; echo \"$CHAPERONE_CLIP\" >> {}",
        heard.display(),
        told.display()
    );
    let args = [
        "--source",
        clip.to_str().unwrap(),
        "--realtime",
        "--duration",
        "60",
        "--no-sound",
        "--no-history",
        "--record",
    ];
    let run = live(
        &args.into_iter().chain(["--out", out.to_str().unwrap(), "--on-event", &hook]).collect::<Vec<_>>(),
        work.path(),
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("WARNING") && stderr.contains("the rat is freezing"), "warned first: {stderr}");
    let heard = std::fs::read_to_string(&heard).unwrap();
    assert_eq!(heard.lines().collect::<Vec<_>>(), ["warn freezing", "stop freezing"], "{heard}");
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["reason"]["behaviour"], "freezing", "{summary}");
    // Freezing from about 3 s; the default limit is 3 s of it.
    let at = summary["reason"]["time_s"].as_f64().unwrap();
    assert!((5.5..7.0).contains(&at), "stopped at {at}");
    assert!(!work.path().join("history.jsonl").exists(), "--no-history keeps none");

    // Evidence on disk: the warning's clip (5 s before it; the stop came before the 5 s after), the
    // stop's clip (the 5 s before it), each named in its event line and told to the hook, and the
    // whole session recorded at the pace it was seen.
    let events = common::events(&out.join("events.jsonl"));
    let warned = events.iter().find(|e| e["event"] == "confirmed" && e["behaviour"] == "freezing").unwrap();
    let warn_clip = warned["clip"].as_str().unwrap_or_else(|| panic!("the warning names its clip: {warned}"));
    let confirmed_s = warned["confirmed_s"].as_f64().unwrap();
    assert_eq!(warn_clip, format!("clips/freezing-{confirmed_s:.1}s.mp4"));
    let stop = events.iter().find(|e| e["event"] == "stop").unwrap();
    assert_eq!(stop["clip"], "stop.mp4", "{stop}");
    let (warn_s, warn_frames) = common::video_length(&out.join(warn_clip));
    let want = confirmed_s.min(5.0) + (at - confirmed_s);
    assert!((warn_s - want).abs() < 1.0 && warn_frames >= 30, "{warn_s} s, {warn_frames} frames; want {want} s");
    let (stop_s, _) = common::video_length(&out.join("stop.mp4"));
    assert!((stop_s - 5.0).abs() < 1.0, "the stop's clip: {stop_s} s");
    let told: Vec<String> = std::fs::read_to_string(&told).unwrap().lines().map(str::to_string).collect();
    assert_eq!(told, [out.join(warn_clip).display().to_string(), out.join("stop.mp4").display().to_string()]);
    let (session_s, _) = common::video_length(&out.join("session.mp4"));
    assert!((session_s - at).abs() < 1.0, "session.mp4 plays {session_s} s of a {at} s session");
}

/// Runs the demo as a live session, sends `signal` once it runs, and returns (exit code, work dir, the
/// session's out dir).
/// A live session on the demo meeting, sent `signals` (kill's flags, 10 ms apart) once it is running;
/// returns its exit code, its data folder and its output folder.
fn signalled_session(signals: &[&str]) -> (Option<i32>, tempfile::TempDir, std::path::PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("session");
    let demo = common::generated("demo-meeting.mp4");
    let child = Command::new(env!("CARGO_BIN_EXE_chaperone"))
        .current_dir(common::repo())
        .env("CHAPERONE_DATA_DIR", work.path())
        .args(["live", "--source", demo.to_str().unwrap(), "--realtime", "--duration", "60", "--no-sound", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !out.join("events.jsonl").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(2));
    for signal in signals {
        let sent = Command::new("kill").args([*signal, &child.id().to_string()]).status().unwrap();
        assert!(sent.success());
        std::thread::sleep(Duration::from_millis(10));
    }
    let done = child.wait_with_output().unwrap();
    (done.status.code(), work, out)
}

/// What a session ended by a signal leaves: its summary, its history line and its event log, closed.
fn assert_written(work: &Path, out: &Path) {
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["outcome"], "interrupted", "{summary}");
    let history = common::events(&work.join("history.jsonl"));
    assert_eq!(history[0]["outcome"], "interrupted");
    assert_eq!(common::events(&out.join("events.jsonl")).last().unwrap()["event"], "session_ended");
}

#[test]
fn ctrl_c_ends_the_session_with_its_summary_and_history() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (code, work, out) = signalled_session(&["-INT"]);
    assert_eq!(code, Some(0), "an owner's Ctrl-C is not an error");
    assert_written(work.path(), &out);
}

/// `kill` or `systemctl stop`: everything observed is written, and the exit says the session was cut short
/// (128 + 15, as a shell reports a program ended by SIGTERM).
#[test]
fn sigterm_ends_the_session_with_its_summary_and_history_and_a_non_zero_exit() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (code, work, out) = signalled_session(&["-TERM"]);
    assert_eq!(code, Some(143));
    assert_written(work.path(), &out);
}

#[test]
fn a_machine_that_cannot_keep_up_stops_the_session_as_overload() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("session");
    // No machine decides within a millisecond of capture: every frame is late.
    let config = work.path().join("strict.toml");
    std::fs::write(&config, "[session]\nmax_latency_s = 0.001\noverload_s = 2.0\n").unwrap();
    let demo = common::generated("demo-meeting.mp4");
    let run = Command::new(env!("CARGO_BIN_EXE_chaperone"))
        .current_dir(common::repo())
        .env("CHAPERONE_DATA_DIR", work.path())
        .args(["--config", config.to_str().unwrap(), "live", "--source", demo.to_str().unwrap(), "--realtime"])
        .args(["--duration", "60", "--no-sound", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(4), "a fault stop exits 4: {}", String::from_utf8_lossy(&run.stderr));
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["outcome"], "fault");
    assert_eq!(summary["reason"]["behaviour"], "overload");
    let at = summary["reason"]["time_s"].as_f64().unwrap();
    assert!((2.0..3.0).contains(&at), "2 s of lateness from the first frame: {at}");
    assert!(summary["episodes"].as_array().unwrap().iter().any(|e| e["behaviour"] == "overload"));
}

/// A second Ctrl-C while the first is still writing: quit at once, as a shell reports Ctrl-C (130), with
/// the events observed so far already on disk, each a whole line.
#[test]
fn a_second_ctrl_c_quits_at_once_with_the_events_already_written() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (code, _work, out) = signalled_session(&["-INT", "-INT"]);
    assert_eq!(code, Some(130));
    let events = common::events(&out.join("events.jsonl"));
    assert_eq!(events[0]["event"], "session_started", "{events:?}");
}

/// No camera at that index (CI machines have none): one line naming the camera and what to check, a
/// non-zero exit, and no hang.
#[test]
fn a_camera_that_is_not_there_is_one_clear_line() {
    let work = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = live(&["--camera", "7", "--duration", "5", "--no-sound", "--no-view"], work.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].contains("camera 7") && lines[0].contains("is a camera connected"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // The same camera by its device, asked for a size and frame rate; a camera by name; a bad size.
    let cases: [(&[&str], i32, &str); 3] = [
        (
            &["--camera", "/dev/video7", "--camera-size", "1280x720", "--camera-fps", "30"],
            1,
            "camera 7: cannot open 1280x720 at 30 fps",
        ),
        (&["--camera", "Logitech Brio"], 1, "Logitech Brio: no camera by that name"),
        (&["--camera-size", "1280"], 2, "give it as WIDTHxHEIGHT"),
    ];
    for (args, code, said) in cases {
        let out =
            live(&[args, &["--duration", "5", "--no-sound", "--no-view", "--no-history"][..]].concat(), work.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
    }
}

/// The real detector until `fail_at` s of video, then an inference error (a model that breaks mid-run).
struct FailsAt {
    real: AnimalDetector,
    fail_at: f64,
}

impl Detector for FailsAt {
    fn detect(&mut self, image: &image::RgbImage) -> chaperone::Result<Vec<Detection>> {
        self.real.detect(image)
    }
    fn detect_frame(&mut self, frame: &Frame) -> chaperone::Result<Vec<Detection>> {
        if frame.time_s >= self.fail_at {
            return Err(chaperone::error::Error::inference("a broken model", "the runtime returned an error"));
        }
        self.real.detect_frame(frame)
    }
}

/// Runs a session of the demo meeting through the product's `run_on`, with `source` and `detector`.
fn faulty_session(source: Box<dyn FrameSource>, detector: &mut dyn Detector, out: &Path) -> SessionSummary {
    let config = Config::default();
    let options = LiveOptions {
        source: LiveSource::File { path: common::generated("demo-meeting.mp4"), realtime: true },
        duration_s: 60.0,
        out_dir: out.to_path_buf(),
        history: None,
        hooks: Default::default(),
        sound: false,
        record: false,
        view: None,
    };
    run_on(&config, detector, source, true, &options).unwrap()
}

/// The detector failing mid-session ends it at once as `pipeline_failed`, a fault, with the error's words,
/// and the event log says so.
#[test]
fn a_detector_that_fails_mid_session_stops_it_as_pipeline_failed() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let config = Config::default();
    let real = AnimalDetector::load(&config.runtime, &config.detector, &config.roles).unwrap();
    let mut detector = FailsAt { real, fail_at: 2.0 };
    let source = Paced::new(VideoFile::open(&common::generated("demo-meeting.mp4")).unwrap());
    let out = work.path().join("session");
    let summary = faulty_session(Box::new(source), &mut detector, &out);
    let reason = summary.reason.expect("a stop");
    assert_eq!(reason.behaviour.name(), "pipeline_failed", "{reason:?}");
    assert!(reason.fault && reason.words.contains("the runtime returned an error"), "{reason:?}");
    assert!((1.9..2.2).contains(&reason.time_s), "stopped at {}", reason.time_s);
    let events = common::events(&out.join("events.jsonl"));
    assert!(events.iter().any(|e| e["event"] == "stop" && e["behaviour"] == "pipeline_failed"), "{events:?}");
}

/// A camera that reports an error (unplugged) ends the session as `camera_lost`, not as a crash.
#[test]
fn a_camera_error_ends_the_session_as_camera_lost() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let config = Config::default();
    let mut detector = AnimalDetector::load(&config.runtime, &config.detector, &config.roles).unwrap();
    let demo = VideoFile::open(&common::generated("demo-meeting.mp4")).unwrap();
    let erring = StopsAfter { inner: demo, frames: 50, then: Failure::Error };
    let source = Watchdog::new(Box::new(Paced::new(erring)), Duration::from_secs(3));
    let out = work.path().join("session");
    let summary = faulty_session(Box::new(source), &mut detector, &out);
    let reason = summary.reason.expect("a stop");
    assert_eq!(reason.behaviour.name(), "camera_lost", "{reason:?}");
    assert!(reason.fault && reason.words.contains("unplugged"), "{reason:?}");
    let events = common::events(&out.join("events.jsonl"));
    assert!(events.iter().any(|e| e["event"] == "stop" && e["behaviour"] == "camera_lost"), "{events:?}");
}

/// A free TCP port on this machine.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An ffmpeg HTTP server streaming `seconds` of `clip` from `start_s`, in real time, to one client: a
/// network camera as a phone IP-webcam app or a home camera serves it.
fn stream_server(clip: &Path, port: u16, start_s: f64, seconds: f64) -> std::process::Child {
    Command::new("ffmpeg")
        .args(["-loglevel", "error", "-re", "-ss", &start_s.to_string(), "-t", &seconds.to_string(), "-i"])
        .arg(clip)
        .args(["-c:v", "libx264", "-preset", "veryfast", "-g", "12", "-f", "mpegts", "-listen", "1"])
        .arg(format!("http://127.0.0.1:{port}/camera.ts"))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg runs (scripts/setup.sh installs it)")
}

/// `chaperone live --source URL` with `config` (TOML), started as a user would; the child process.
fn stream_session(url: &str, config: &str, work: &Path, seconds: u32) -> std::process::Child {
    let config_path = work.join("stream.toml");
    std::fs::write(&config_path, config).unwrap();
    Command::new(env!("CARGO_BIN_EXE_chaperone"))
        .current_dir(common::repo())
        .env("CHAPERONE_DATA_DIR", work)
        .args(["--config", config_path.to_str().unwrap(), "live", "--source", url, "--no-sound", "--no-view"])
        .args(["--duration", &seconds.to_string(), "--out", work.join("session").to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A network camera that drops (its server ends) and comes back within the camera timeout: the session
/// reconnects, says so in its event log, and runs on to its planned end.
#[test]
fn a_network_stream_that_drops_and_comes_back_is_reconnected() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/camera.ts");
    // The cat sits far off; the rat scurries in place the whole time (a stream has no recording to learn
    // its background from: a rat that never moved would not be found).
    let clip = common::calm_clip(work.path(), 14);
    let mut first = stream_server(&clip, port, 0.0, 5.0);
    std::thread::sleep(Duration::from_millis(500));
    let session = stream_session(&url, "[session]\ncamera_timeout_s = 6.0\n", work.path(), 10);
    // The first server ends after its 5 s; the camera comes back on the same address.
    first.wait().unwrap();
    let mut second = stream_server(&clip, port, 5.0, 9.0);
    let done = session.wait_with_output().unwrap();
    let _ = second.kill();
    let _ = second.wait();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "ran to its end: {stderr}");
    let events = common::events(&work.path().join("session/events.jsonl"));
    let back: Vec<_> = events.iter().filter(|e| e["event"] == "camera_reconnected").collect();
    assert_eq!(back.len(), 1, "{events:?}");
    let silent = back[0]["silent_s"].as_f64().unwrap();
    assert!(silent > 0.0 && silent < 6.0, "{}", back[0]);
    assert!(!events.iter().any(|e| e["behaviour"] == "camera_lost"), "{events:?}");
    let summary = json(&work.path().join("session/summary.json"));
    assert!(summary["frames"].as_u64().unwrap() > 100, "{summary}");
}

/// A network camera that hangs without closing the connection (its server frozen): within the camera
/// timeout of its last frame the session stops as `camera_lost`, exit 4. Only the watchdog the product
/// puts round every live source is that quick: ffmpeg's own socket timeout and the reconnection would
/// take twice as long.
#[test]
fn a_network_stream_that_hangs_is_camera_lost_within_the_timeout() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = stream_server(&common::generated("demo-meeting.mp4"), port, 0.0, 12.0);
    std::thread::sleep(Duration::from_millis(500));
    let url = format!("http://127.0.0.1:{port}/camera.ts");
    let session = stream_session(&url, "[session]\ncamera_timeout_s = 2.0\n", work.path(), 60);
    let events_path = work.path().join("session/events.jsonl");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !events_path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(3));
    let frozen = Command::new("kill").args(["-STOP", &server.id().to_string()]).status().unwrap();
    assert!(frozen.success());
    let done = session.wait_with_output().unwrap();
    let _ = Command::new("kill").args(["-CONT", &server.id().to_string()]).status();
    let _ = server.kill();
    let _ = server.wait();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(4), "a fault stop: {stderr}");
    let summary = json(&work.path().join("session/summary.json"));
    assert_eq!(summary["reason"]["behaviour"], "camera_lost", "{summary}");
    let tracks = std::fs::read_to_string(work.path().join("session/tracks.csv")).unwrap();
    let last_frame_s: f64 =
        tracks.lines().skip(1).filter_map(|l| l.split(',').next()?.parse().ok()).fold(0.0, f64::max);
    let stopped_s = summary["reason"]["time_s"].as_f64().unwrap();
    assert!(
        stopped_s - last_frame_s < 2.0 + 1.0,
        "stopped {:.2} s after the last frame (timeout 2 s): {summary}",
        stopped_s - last_frame_s
    );
}

/// A webhook receiver on loopback: answers 200 to every request and keeps the bodies, in order.
fn webhook_receiver() -> (String, std::sync::Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/chaperone", listener.local_addr().unwrap());
    let bodies = std::sync::Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let kept = kept.clone();
            std::thread::spawn(move || serve_requests(stream, &kept));
        }
    });
    (url, bodies)
}

/// Reads HTTP/1.1 requests off one connection until it closes, keeping each body.
fn serve_requests(stream: std::net::TcpStream, kept: &Mutex<Vec<String>>) {
    use std::io::{BufRead, Read, Write};
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
            if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        assert!(request_line.starts_with("POST /chaperone "), "{request_line}");
        kept.lock().unwrap().push(String::from_utf8(body).unwrap());
        writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").unwrap();
    }
}

/// A real-time live session on the dash clip under `config`, its outputs in `out`.
fn dash_session_with(config: &Path, dash: &Path, out: &Path, data_dir: &Path) -> std::process::Output {
    dash_session_command(config, dash, out, data_dir).output().unwrap()
}

fn dash_session_command(config: &Path, dash: &Path, out: &Path, data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chaperone"));
    command
        .current_dir(common::repo())
        .env("CHAPERONE_DATA_DIR", data_dir)
        .args(["--config", config.to_str().unwrap(), "live", "--source", dash.to_str().unwrap()])
        .args(["--realtime", "--duration", "60", "--no-sound", "--no-view", "--out", out.to_str().unwrap()]);
    command
}

#[test]
fn a_stop_reaches_the_webhook_and_a_dead_webhook_never_holds_the_session_up() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let dash = common::dash_clip(work.path());
    let (url, bodies) = webhook_receiver();
    let config = work.path().join("notify.toml");
    std::fs::write(&config, format!("[notify]\nwebhook = \"{url}\"\n")).unwrap();
    let out = work.path().join("session");
    let session = |config: &Path, out: &Path| {
        let run = dash_session_with(config, &dash, out, work.path());
        (run.status.code(), String::from_utf8_lossy(&run.stderr).into_owned())
    };
    let (code, stderr) = session(&config, &out);
    assert_eq!(code, Some(3), "{stderr}");
    // What reached the phone is what the log says, line for line: started, the approach, the stop, ended.
    let sent: Vec<serde_json::Value> =
        bodies.lock().unwrap().iter().map(|b| serde_json::from_str(b).unwrap()).collect();
    let kinds: Vec<&str> = sent.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["session_started", "confirmed", "stop", "session_ended"], "{sent:?}");
    let logged = common::events(&out.join("events.jsonl"));
    let stop = logged.iter().find(|e| e["event"] == "stop").unwrap();
    assert_eq!(&sent[2], stop, "the stop line as logged");
    assert_eq!(sent[1]["behaviour"], "approach");

    // A webhook nobody answers: said on stderr, retried, and the session still stops at once, logged.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/chaperone", dead.local_addr().unwrap());
    drop(dead);
    std::fs::write(&config, format!("[notify]\nwebhook = \"{dead_url}\"\nretries = 1\ntimeout_s = 1.0\n")).unwrap();
    let out = work.path().join("session-dead-webhook");
    let started = Instant::now();
    let (code, stderr) = session(&config, &out);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("notify: gave up sending the `stop` line"), "{stderr}");
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["reason"]["behaviour"], "approach");
    let alarm_ms = summary["alarm_latency_ms"].as_f64().unwrap();
    assert!(alarm_ms < 1000.0, "the alarm is not held up by the notifier: {alarm_ms} ms");
    assert!(common::events(&out.join("events.jsonl")).iter().any(|e| e["event"] == "stop"));
    assert!(started.elapsed() < Duration::from_secs(40), "{:?}", started.elapsed());
}

/// A mosquitto broker on a free loopback port, stopped when dropped; `None` (or a failure under CI)
/// when set-up has not installed it.
struct Broker {
    child: std::process::Child,
    port: u16,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn broker() -> Option<Broker> {
    let Some(binary) = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].into_iter().find(|p| Path::new(p).is_file())
    else {
        let message = "the MQTT broker mosquitto is missing: run scripts/setup.sh (it installs it)";
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("{message}");
        }
        eprintln!("NOT TESTED: {message}");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(binary).args(["-p", &port.to_string()]).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "mosquitto did not start on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Broker { child, port })
}

/// Everything published under `chaperone/#` from now on: (topic, payload), in order.
fn subscribe(port: u16) -> std::sync::Arc<Mutex<Vec<(String, String)>>> {
    use rumqttc::{Event, Packet};
    let (client, mut connection) =
        rumqttc::Client::new(rumqttc::MqttOptions::new("chaperone-test", "127.0.0.1", port), 16);
    client.subscribe("chaperone/#", rumqttc::QoS::AtLeastOnce).unwrap();
    let heard = std::sync::Arc::new(Mutex::new(Vec::new()));
    let kept = heard.clone();
    let (subscribed, ready) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let _client = client;
        for event in connection.iter().flatten() {
            match event {
                Event::Incoming(Packet::SubAck(_)) => {
                    let _ = subscribed.send(());
                }
                Event::Incoming(Packet::Publish(p)) => {
                    kept.lock().unwrap().push((p.topic.clone(), String::from_utf8_lossy(&p.payload).into_owned()));
                }
                _ => {}
            }
        }
    });
    ready.recv_timeout(Duration::from_secs(10)).expect("subscribed to the broker");
    heard
}

/// Waits until `heard` has a message on `topic` with `payload`.
fn wait_for(heard: &Mutex<Vec<(String, String)>>, topic: &str, payload: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if heard.lock().unwrap().iter().any(|(t, p)| t == topic && p == payload) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn mqtt_hears_each_event_and_status_and_a_killed_chaperone_is_offline() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(broker) = broker() else { return };
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("mqtt.toml");
    std::fs::write(&config, format!("[notify]\nmqtt = \"127.0.0.1:{}\"\n", broker.port)).unwrap();
    let heard = subscribe(broker.port);
    let dash = common::dash_clip(work.path());
    let out = work.path().join("session");
    let run = dash_session_with(&config, &dash, &out, work.path());
    assert_eq!(run.status.code(), Some(3), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(wait_for(&heard, "chaperone/status", "offline"), "{:?}", heard.lock().unwrap());
    let messages = heard.lock().unwrap().clone();
    let status: Vec<&str> = messages.iter().filter(|(t, _)| t == "chaperone/status").map(|(_, p)| p.as_str()).collect();
    assert_eq!(status, ["online", "offline"], "{messages:?}");
    let events: Vec<serde_json::Value> = messages
        .iter()
        .filter(|(t, _)| t == "chaperone/events")
        .map(|(_, p)| serde_json::from_str(p).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["session_started", "confirmed", "stop", "session_ended"], "{events:?}");
    assert_eq!(events[2]["behaviour"], "approach");

    // Killed outright, it cannot say goodbye: the broker says it, from the last will.
    heard.lock().unwrap().clear();
    let demo = common::generated("demo-meeting.mp4");
    let mut child = Command::new(env!("CARGO_BIN_EXE_chaperone"))
        .current_dir(common::repo())
        .env("CHAPERONE_DATA_DIR", work.path())
        .args(["--config", config.to_str().unwrap(), "live", "--source", demo.to_str().unwrap()])
        .args(["--realtime", "--duration", "60", "--no-sound", "--no-view", "--no-history", "--out"])
        .arg(work.path().join("killed"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_for(&heard, "chaperone/status", "online"), "{:?}", heard.lock().unwrap());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(wait_for(&heard, "chaperone/status", "offline"), "the last will: {:?}", heard.lock().unwrap());
}

/// What the test's notification service was asked to show: (summary, body, urgency, expire timeout).
type Shown = std::sync::Arc<Mutex<Vec<(String, String, Option<u8>, i32)>>>;

/// A freedesktop notification service, as a desktop runs one, on a private session bus.
struct NotificationService {
    shown: Shown,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl NotificationService {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        _app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        hints: std::collections::HashMap<String, zbus::OwnedVariant>,
        expire_timeout: i32,
    ) -> u32 {
        let urgency = hints.get("urgency").and_then(|v| u8::try_from(v).ok());
        let mut shown = self.shown.lock().unwrap();
        shown.push((summary, body, urgency, expire_timeout));
        shown.len() as u32
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        ("test".into(), "chaperone".into(), "1".into(), "1.2".into())
    }

    fn close_notification(&self, _id: u32) {}
}

#[test]
fn a_stop_shows_as_a_critical_desktop_notification() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    // A session bus of the test's own (Debian's dbus-daemon), and a notification service on it.
    let mut bus = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("dbus-daemon must be installed: run `scripts/setup.sh`");
    let mut address = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(bus.stdout.take().unwrap()), &mut address).unwrap();
    let address = address.trim().to_string();
    let shown = Shown::default();
    let service = NotificationService { shown: shown.clone() };
    let _connection = zbus::block_on(async {
        zbus::connection::Builder::address(address.as_str())
            .name("org.freedesktop.Notifications")
            .serve_at("/org/freedesktop/Notifications", service)
            .build()
            .await
    })
    .expect("the notification service starts on the test's bus");

    let dash = common::dash_clip(work.path());
    let config = work.path().join("desktop.toml");
    std::fs::write(&config, "[notify]\ndesktop = true\n").unwrap();
    let out = work.path().join("session");
    let run = dash_session_command(&config, &dash, &out, work.path())
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .output()
        .unwrap();
    let _ = bus.kill();
    let _ = bus.wait();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    let shown = shown.lock().unwrap().clone();
    let titles: Vec<&str> = shown.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        titles,
        ["chaperone: session started", "chaperone: STOP", "chaperone: SESSION STOPPED", "chaperone: session ended"],
        "{shown:?}"
    );
    let (_, words, urgency, timeout) = &shown[2];
    assert!(words.contains("the cat approached the rat fast"), "{words}");
    assert_eq!((*urgency, *timeout), (Some(2), 0), "critical, and it stays until dismissed");
    assert_eq!(shown[0].2, Some(1), "the status is of normal urgency");
}

/// A clip folder that cannot be made: one line that says so and what to check, and supervision goes on
/// (the warning, the stop and its own clip still come).
#[test]
fn an_unwritable_clip_folder_is_said_and_supervision_goes_on() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let clip = common::freeze_clip(work.path());
    let out = work.path().join("session");
    std::fs::create_dir_all(&out).unwrap();
    // A file where the clips' folder would go.
    std::fs::write(out.join("clips"), "not a folder").unwrap();
    let args = ["--source", clip.to_str().unwrap(), "--realtime", "--duration", "60", "--no-sound", "--no-history"];
    let run = live(&args.into_iter().chain(["--out", out.to_str().unwrap()]).collect::<Vec<_>>(), work.path());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "the session still stops on the freezing: {stderr}");
    let said: Vec<&str> = stderr.lines().filter(|l| l.contains("could not write the clip")).collect();
    assert_eq!(said.len(), 1, "one line for the one clip: {stderr}");
    assert!(said[0].contains("clips/freezing-") && said[0].contains("writable"), "{}", said[0]);
    assert!(out.join("stop.mp4").is_file(), "the stop's clip, beside the log, is written");
}

/// A phone IP-webcam app's MJPEG over HTTP (ffmpeg's `mpjpeg` server, as such apps serve it) carrying
/// the dash: the session stops on the approach, exit 3, as from a file or a webcam.
#[test]
fn an_mjpeg_phone_camera_stream_of_the_dash_stops_the_session() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let dash = common::dash_clip(work.path());
    let port = free_port();
    let mut server = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-re", "-i"])
        .arg(&dash)
        .args(["-c:v", "mjpeg", "-q:v", "5", "-f", "mpjpeg", "-listen", "1"])
        .arg(format!("http://127.0.0.1:{port}/video.mjpg"))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg runs (scripts/setup.sh installs it)");
    std::thread::sleep(Duration::from_millis(500));
    let url = format!("http://127.0.0.1:{port}/video.mjpg");
    let done = stream_session(&url, "", work.path(), 60).wait_with_output().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(3), "the approach stops it: {stderr}");
    let summary = json(&work.path().join("session/summary.json"));
    assert_eq!(summary["reason"]["behaviour"], "approach", "{summary}");
}

/// A stream address where nothing answers, and one that answers with something that is not video: one
/// line each, saying what to check, at once.
#[test]
fn an_unreachable_or_non_video_url_is_one_line_saying_what_to_check() {
    let work = tempfile::tempdir().unwrap();
    // A plain HTTP server answering with text.
    let text_server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let text_port = text_server.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in text_server.incoming().flatten() {
            let mut stream = stream;
            let mut request = [0u8; 1024];
            let _ = std::io::Read::read(&mut stream, &mut request);
            let _ = std::io::Write::write_all(
                &mut stream,
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\nhello, not video",
            );
        }
    });
    let nobody = format!("http://127.0.0.1:{}/video", free_port());
    let text = format!("http://127.0.0.1:{text_port}/video");
    for url in [nobody, text] {
        let started = Instant::now();
        let out = live(&["--source", &url, "--duration", "5", "--no-sound", "--no-view", "--no-history"], work.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(lines[0].contains(&url) && lines[0].contains("is the camera on"), "{stderr}");
        assert!(started.elapsed() < Duration::from_secs(15), "{url}: {:?}", started.elapsed());
    }
}
