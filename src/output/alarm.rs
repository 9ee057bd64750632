//! Telling the owner at the terminal and beyond: the stop alarm (a banner nobody can miss, the terminal
//! bell, a sound where the machine can play one, and the owner's `--on-stop` hook), warnings, reward
//! cues, and the status line while a session runs. [`AlarmSink`] does all of it from the session
//! decisions that flow through the pipeline.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::annotate::draw_tracks;
use super::event_log::{STOP_CLIP, STOP_SNAPSHOT, warning_clip};
use crate::behaviour::engine::EngineStatus;
use crate::error::Result;
use crate::pipeline::{AnalysedFrame, FrameRate, RunEnd, Sink};
use crate::session::controller::{Decision, StopReason};
use crate::session::history::minutes;

/// The session's alarm, warnings, cues and status line, as a pipeline sink. On a stop decided on a frame
/// it also writes that frame, annotated, as `stop.jpg` beside `events.jsonl` (after the banner and the
/// sound, before the hook, which is told where it is).
pub struct AlarmSink {
    alarm: Alarm,
    status: StatusLine,
    /// `events.jsonl`, named to the `--on-stop` hook.
    events: PathBuf,
    /// The session keeps clips (see `output::clips`): the hooks are told where each one goes.
    clips: bool,
}

impl AlarmSink {
    pub fn new(alarm: Alarm, planned_s: f64, events: &Path, clips: bool) -> AlarmSink {
        AlarmSink { alarm, status: StatusLine::new(planned_s), events: events.to_path_buf(), clips }
    }

    /// Where a clip named `name` (relative to the run folder) is written, when clips are kept.
    fn clip(&self, name: &str) -> Option<PathBuf> {
        self.clips.then(|| self.events.with_file_name(name))
    }

    fn act(&mut self, decision: &Decision, frame: Option<&AnalysedFrame>) {
        self.status.clear();
        match decision {
            Decision::Stop(reason) => {
                self.alarm.announce(reason);
                let snapshot = frame.and_then(|a| self.write_snapshot(a));
                let evidence = Evidence { snapshot, clip: self.clip(STOP_CLIP) };
                self.alarm.run_hook(reason, &self.events, &evidence);
            }
            Decision::Warn(e) | Decision::Cue(e) => {
                let words = e.describe(e.confirmed_s);
                let kind = match decision {
                    Decision::Warn(_) => {
                        self.alarm.warn(e.confirmed_s, &words);
                        "warn"
                    }
                    _ => {
                        self.alarm.cue(e.confirmed_s, &words);
                        "cue"
                    }
                };
                let time = format!("{:.3}", e.confirmed_s);
                let evidence = Evidence { snapshot: None, clip: self.clip(&warning_clip(e)) };
                self.alarm.run_event_hook(kind, e.behaviour.name(), &time, &words, &self.events, &evidence);
            }
        }
    }

    /// `stop.jpg`: the deciding frame with its tracks drawn. A failure is said, and the stop goes on.
    fn write_snapshot(&self, a: &AnalysedFrame) -> Option<PathBuf> {
        let path = self.events.with_file_name(STOP_SNAPSHOT);
        let mut canvas = a.frame.image.clone();
        draw_tracks(&mut canvas, a);
        match canvas.save_with_format(&path, image::ImageFormat::Jpeg) {
            Ok(()) => Some(path),
            Err(e) => {
                eprintln!("chaperone: could not write {}: {e}", path.display());
                None
            }
        }
    }
}

impl Sink for AlarmSink {
    fn frame(&mut self, a: &AnalysedFrame) -> Result<bool> {
        let Some(verdict) = &a.verdict else { return Ok(true) };
        for decision in &verdict.decisions {
            self.act(decision, Some(a));
        }
        if a.stop().is_none() {
            self.status.show(verdict.elapsed_s, verdict.latency_s, &a.status);
        }
        Ok(true)
    }

    fn finish(&mut self, end: &RunEnd) -> Result<()> {
        if let Some((_, reason)) = &end.fault {
            self.act(&Decision::Stop(reason.clone()), None);
        }
        self.status.clear();
        self.alarm.wait_for_hook();
        Ok(())
    }
}

/// The pictures of a moment, for the hooks: `stop.jpg`, and where its clip is being written (complete
/// once the seconds after it have passed, or at the session's end for a stop).
#[derive(Debug, Default)]
pub struct Evidence {
    pub snapshot: Option<PathBuf>,
    pub clip: Option<PathBuf>,
}

impl Evidence {
    fn snapshot_env(&self) -> &std::ffi::OsStr {
        self.snapshot.as_deref().map_or("".as_ref(), Path::as_os_str)
    }

    fn clip_env(&self) -> &std::ffi::OsStr {
        self.clip.as_deref().map_or("".as_ref(), Path::as_os_str)
    }
}

/// How long the `--on-stop` hook may run before the session stops waiting for it.
const HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Players tried in turn for the alarm sound; the first that exists plays it.
const PLAYERS: [(&str, &[&str]); 3] = [("paplay", &[]), ("pw-play", &[]), ("aplay", &["-q"])];

/// The owner's shell commands: `--on-stop` for the stop, `--on-event` for every stop, warning and cue.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    pub on_stop: Option<String>,
    pub on_event: Option<String>,
}

pub struct Alarm {
    sound: bool,
    hooks: Hooks,
    /// The hooks started, each with the option that names it, waited for at the end.
    running: Vec<(&'static str, Child)>,
}

impl Alarm {
    pub fn new(sound: bool, hooks: Hooks) -> Alarm {
        Alarm { sound, hooks, running: Vec::new() }
    }

    /// The session stops: banner, bell and sound at once (the sound plays in the background: the alarm
    /// must not wait on it); then [`Alarm::run_hook`].
    pub fn announce(&mut self, reason: &StopReason) {
        let colour = std::io::stderr().is_terminal();
        let (on, off) = if colour { ("\x1b[1;97;41m", "\x1b[0m") } else { ("", "") };
        let title = if reason.fault { "SESSION STOPPED - CANNOT SUPERVISE" } else { "SESSION STOPPED" };
        let bar = "!".repeat(72);
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "\n{on}{bar}{off}\n{on}  {title:<68}  {off}\n{on}  {:<68}  {off}\n{on}{bar}{off}\x07\x07\x07",
            truncate(&format!("at {:.1} s: {}", reason.time_s, reason.words), 68)
        );
        if reason.words.len() > 60 {
            let _ = writeln!(err, "reason: {}", reason.words);
        }
        let _ = err.flush();
        if self.sound {
            play_alarm_sound();
        }
    }

    /// Starts the owner's `--on-stop` hook in the background, told the stop, the event log, the deciding
    /// frame's picture (`CHAPERONE_SNAPSHOT`) and the clip (`CHAPERONE_CLIP`; each empty when there is none).
    pub fn run_hook(&mut self, reason: &StopReason, events: &Path, evidence: &Evidence) {
        if let Some(cmd) = self.hooks.on_stop.clone() {
            let env = [
                ("CHAPERONE_STOP_BEHAVIOUR", reason.behaviour.name().as_ref()),
                ("CHAPERONE_STOP_REASON", reason.words.as_ref()),
                ("CHAPERONE_STOP_FAULT", if reason.fault { "1" } else { "0" }.as_ref()),
                ("CHAPERONE_EVENTS", events.as_os_str()),
                ("CHAPERONE_SNAPSHOT", evidence.snapshot_env()),
                ("CHAPERONE_CLIP", evidence.clip_env()),
            ];
            self.start("--on-stop", &cmd, &env);
        }
        let time = format!("{:.3}", reason.time_s);
        self.run_event_hook("stop", reason.behaviour.name(), &time, &reason.words, events, evidence);
    }

    /// Starts the owner's `--on-event` hook in the background for a stop, a warning or a cue (`kind`).
    pub fn run_event_hook(
        &mut self,
        kind: &str,
        behaviour: &str,
        time_s: &str,
        words: &str,
        events: &Path,
        evidence: &Evidence,
    ) {
        let Some(cmd) = self.hooks.on_event.clone() else { return };
        let env = [
            ("CHAPERONE_EVENT_KIND", kind.as_ref()),
            ("CHAPERONE_EVENT_BEHAVIOUR", behaviour.as_ref()),
            ("CHAPERONE_EVENT_TIME_S", time_s.as_ref()),
            ("CHAPERONE_EVENT_WORDS", words.as_ref()),
            ("CHAPERONE_EVENTS", events.as_os_str()),
            ("CHAPERONE_SNAPSHOT", evidence.snapshot_env()),
            ("CHAPERONE_CLIP", evidence.clip_env()),
        ];
        self.start("--on-event", &cmd, &env);
    }

    fn start(&mut self, option: &'static str, cmd: &str, env: &[(&str, &std::ffi::OsStr)]) {
        let spawned = Command::new("sh").arg("-c").arg(cmd).envs(env.iter().copied()).stdin(Stdio::null()).spawn();
        match spawned {
            Ok(child) => self.running.push((option, child)),
            Err(e) => eprintln!("chaperone: the {option} command could not start: {e}"),
        }
    }

    /// Waits for the hooks started to finish (at most 10 s in all) and reports their failures.
    pub fn wait_for_hook(&mut self) {
        let started = Instant::now();
        for (option, mut child) in std::mem::take(&mut self.running) {
            loop {
                match child.try_wait() {
                    Ok(Some(status)) if status.success() => break,
                    Ok(Some(status)) => {
                        eprintln!("chaperone: the {option} command failed ({status})");
                        break;
                    }
                    Ok(None) if started.elapsed() < HOOK_TIMEOUT => std::thread::sleep(Duration::from_millis(50)),
                    Ok(None) => {
                        eprintln!(
                            "chaperone: the {option} command still runs after {} s; leaving it",
                            HOOK_TIMEOUT.as_secs()
                        );
                        break;
                    }
                    Err(e) => {
                        eprintln!("chaperone: cannot wait for the {option} command: {e}");
                        break;
                    }
                }
            }
        }
    }

    /// An early warning: the session goes on.
    pub fn warn(&self, time_s: f64, words: &str) {
        eprintln!("\x07WARNING at {time_s:.1} s: {words}");
    }

    /// A cue to reward the cat.
    pub fn cue(&self, time_s: f64, words: &str) {
        eprintln!("REWARD at {time_s:.1} s: {words}");
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { s.chars().take(n - 3).collect::<String>() + "..." }
}

/// Plays a two-tone alarm through the first sound player found, in the background; silently nothing
/// where the machine has no player or no sound device (the banner and bell already went out).
fn play_alarm_sound() {
    let path = std::env::temp_dir().join("chaperone-alarm.wav");
    if !path.exists() && std::fs::write(&path, alarm_wav()).is_err() {
        return;
    }
    for (player, args) in PLAYERS {
        let started = Command::new(player)
            .args(args)
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if started.is_ok() {
            return;
        }
    }
}

/// 1.2 s of alternating 880 / 660 Hz tones, 16-bit mono PCM at 22050 Hz, as a WAV file.
fn alarm_wav() -> Vec<u8> {
    const RATE: u32 = 22050;
    let samples: Vec<i16> = (0..RATE * 6 / 5)
        .map(|i| {
            let t = i as f64 / RATE as f64;
            let f = if ((t * 5.0) as u32).is_multiple_of(2) { 880.0 } else { 660.0 };
            (12000.0 * (2.0 * std::f64::consts::PI * f * t).sin()) as i16
        })
        .collect();
    let data_len = (samples.len() * 2) as u32;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&(RATE * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    wav
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

    fn show(&mut self, elapsed_s: f64, latency_s: f64, s: &EngineStatus) {
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
            minutes(elapsed_s),
            fps,
            latency_s * 1000.0,
            s.cat,
            s.rat,
            gap,
            minutes(self.planned_s - elapsed_s)
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
