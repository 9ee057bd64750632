//! `events.jsonl`: one JSON object per line, appended and flushed the moment something happens, so a
//! crash or a kill loses nothing already seen. Every line has `event` (what happened) and `time_s`
//! (stream time, seconds) or the episode's times; the README lists the lines.
//!
//! [`EventLines`] makes the lines from what flows through the pipeline; [`EventLog`] is the sink that
//! writes them. The live view shows the same lines, made by the same [`EventLines`].

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::behaviour::{Change, Episode};
use crate::error::{Error, Result};
use crate::kinds::Severity;
use crate::pipeline::{AnalysedFrame, OwnerInput, RunEnd, RunStart, Sink};
use crate::session::controller::{Decision, SessionConfig, StopReason};

/// `{"event": EVENT, ...fields of body}`.
pub fn line(event: &str, body: &impl Serialize) -> Value {
    let mut value = serde_json::to_value(body).expect("event bodies serialise");
    match value.as_object_mut() {
        Some(fields) => {
            fields.insert("event".into(), event.into());
        }
        None => value = serde_json::json!({ "event": event, "value": value }),
    }
    value
}

/// The lines of `events.jsonl` for what the pipeline reports: a run's start, each frame, its end.
#[derive(Debug, Clone)]
pub struct EventLines {
    /// What each behaviour means, written beside each episode.
    session: SessionConfig,
}

impl EventLines {
    pub fn new(session: &SessionConfig) -> EventLines {
        EventLines { session: session.clone() }
    }

    /// `session_started`, for a session.
    pub fn start(&self, start: &RunStart) -> Vec<Value> {
        let Some(session) = &start.session else { return Vec::new() };
        vec![line(
            "session_started",
            &serde_json::json!({
                "time_s": 0.0,
                "started": start.started,
                "source": start.source.name,
                "planned_s": session.planned_s,
                "realtime": session.realtime,
                "schema_version": super::SCHEMA_VERSION,
                "chaperone_version": env!("CARGO_PKG_VERSION"),
            }),
        )]
    }

    /// A stream that came back, what the owner did, the frame's episode changes, then the stop it decided
    /// (with the stop's latency). Most frames have none.
    pub fn frame(&self, a: &AnalysedFrame) -> Vec<Value> {
        let mut lines: Vec<Value> = Vec::new();
        if let Some(silent_s) = a.frame.reconnected_after_s {
            lines.push(line(
                "camera_reconnected",
                &serde_json::json!({ "time_s": a.frame.time_s, "silent_s": silent_s }),
            ));
        }
        lines.extend(a.owner.iter().map(|input| owner_line(a.frame.time_s, input)));
        let warned = |e: &Episode| {
            a.verdict.as_ref().is_some_and(|v| v.decisions.iter().any(|d| matches!(d, Decision::Warn(w) if w == e)))
        };
        for change in &a.changes {
            let mut value = self.change(change);
            if let Change::Started(e) = change
                && self.clips()
                && warned(e)
            {
                value["clip"] = warning_clip(e).into();
            }
            lines.push(value);
        }
        if let (Some(reason), Some(verdict)) = (a.stop(), &a.verdict) {
            let clip = self.clips().then_some(STOP_CLIP);
            lines.push(stop_line(reason, verdict.alarm_latency_ms, Some(STOP_SNAPSHOT), clip));
        }
        lines
    }

    /// A fault that broke the session and its stop, what the end closed, and `session_ended`.
    pub fn end(&self, end: &RunEnd) -> Vec<Value> {
        let mut lines = Vec::new();
        if let Some((change, reason)) = &end.fault {
            lines.push(self.change(change));
            lines.push(stop_line(reason, None, None, self.clips().then_some(STOP_CLIP)));
        }
        lines.extend(end.closing.iter().map(|c| self.change(c)));
        lines.extend(end.owner.iter().map(|input| owner_line(end.time_s, input)));
        if let Some(outcome) = end.outcome {
            lines.push(line(
                "session_ended",
                &serde_json::json!({
                    "time_s": end.time_s, "ended": end.ended, "outcome": outcome, "reason": end.stop,
                }),
            ));
        }
        lines
    }

    /// Whether a session keeps clips of its warnings and stop (see `output::clips`).
    fn clips(&self) -> bool {
        self.session.clip_before_s > 0.0 || self.session.clip_after_s > 0.0
    }

    /// An episode confirmed (`confirmed`) or ended (`ended`), with what it means for a session.
    pub fn change(&self, change: &Change) -> Value {
        #[derive(Serialize)]
        struct Line<'a> {
            #[serde(flatten)]
            episode: &'a Episode,
            severity: Severity,
        }
        let event = match change {
            Change::Started(_) => "confirmed",
            Change::Ended(_) => "ended",
        };
        let episode = change.episode();
        line(event, &Line { episode, severity: self.session.severity_of(episode) })
    }
}

/// `zones_changed` or `acknowledged`: what the owner did in the live view, at stream time `time_s`.
fn owner_line(time_s: f64, input: &OwnerInput) -> Value {
    match input {
        OwnerInput::Zones(zones) => line("zones_changed", &serde_json::json!({ "time_s": time_s, "zones": zones })),
        OwnerInput::Acknowledge { what } => {
            line("acknowledged", &serde_json::json!({ "time_s": time_s, "what": what }))
        }
    }
}

/// The deciding frame of a stop, annotated, beside `events.jsonl` (written by the alarm sink, which runs
/// before the event log: see `runs::session`).
pub const STOP_SNAPSHOT: &str = "stop.jpg";

/// The seconds before a stop, annotated, beside `events.jsonl` (written by `output::clips`).
pub const STOP_CLIP: &str = "stop.mp4";

/// A warning's clip, relative to the run folder: `clips/freezing-12.3s.mp4`.
pub fn warning_clip(e: &Episode) -> String {
    format!("clips/{}-{:.1}s.mp4", e.behaviour.name(), e.confirmed_s)
}

/// The `stop` line: why, from the deciding frame's capture to the alarm, the picture of that frame (none
/// for a fault found between frames) and the clip of the seconds before.
fn stop_line(reason: &StopReason, alarm_latency_ms: Option<f64>, snapshot: Option<&str>, clip: Option<&str>) -> Value {
    #[derive(Serialize)]
    struct StopLine<'a> {
        #[serde(flatten)]
        reason: &'a StopReason,
        alarm_latency_ms: Option<f64>,
        snapshot: Option<&'a str>,
        clip: Option<&'a str>,
    }
    line("stop", &StopLine { reason, alarm_latency_ms, snapshot, clip })
}

/// The sink that writes `events.jsonl`.
pub struct EventLog {
    path: PathBuf,
    out: BufWriter<File>,
    lines: EventLines,
}

impl EventLog {
    /// Appends to `path` (the caller removes an old log when it wants a fresh one).
    pub fn append_to(path: &Path, session: &SessionConfig) -> Result<EventLog> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::io(path, e))?;
        Ok(EventLog { path: path.to_path_buf(), out: BufWriter::new(file), lines: EventLines::new(session) })
    }

    /// Writes an episode's change (for tools that drive the engine themselves: replays).
    pub fn write_change(&mut self, change: &Change) -> Result<()> {
        let value = self.lines.change(change);
        self.write_lines(&[value])
    }

    fn write_lines(&mut self, lines: &[Value]) -> Result<()> {
        for value in lines {
            writeln!(self.out, "{value}").map_err(|e| Error::io(&self.path, e))?;
        }
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }
}

impl Sink for EventLog {
    fn begin(&mut self, start: &RunStart) -> Result<()> {
        let lines = self.lines.start(start);
        self.write_lines(&lines)
    }

    fn frame(&mut self, a: &AnalysedFrame) -> Result<bool> {
        let lines = self.lines.frame(a);
        if !lines.is_empty() {
            self.write_lines(&lines)?;
        }
        Ok(true)
    }

    fn finish(&mut self, end: &RunEnd) -> Result<()> {
        let lines = self.lines.end(end);
        self.write_lines(&lines)
    }
}
