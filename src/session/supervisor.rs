//! The session decision stage: a live session's [`Controller`] on the pipeline's clock. Each frame it is
//! given what the behaviour engine changed and what runs now, and it answers with the decisions (stop,
//! warn, cue); it also keeps what only a session has: its planned length, its stop, the latency of each
//! decision, and how it ended ([`Outcome`]). It raises no alarm and writes nothing: the sinks do that
//! from the decisions it returns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::controller::{Controller, Decision, SessionConfig, StopReason};
use super::history::Outcome;
use crate::behaviour::engine::EngineStatus;
use crate::behaviour::{BehaviourConfig, Change, Episode};
use crate::error::Error;

/// Set when the owner asks the session to end (Ctrl-C, SIGTERM): it ends at the next frame, with its
/// summary and history written.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Asks every running session to end at its next frame; returns whether it had been asked already.
pub fn interrupt() -> bool {
    INTERRUPTED.swap(true, Ordering::Relaxed)
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// What the decision stage said about one frame.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// In the order they were taken; a stop is always the last.
    pub decisions: Vec<Decision>,
    /// Episodes the controller itself started (an animal never seen, overload): they join the frame's
    /// changes.
    pub started: Vec<Change>,
    /// From the frame's capture to this decision, seconds.
    pub latency_s: f64,
    /// From the frame's capture to its stop decision, when it decided one: the alarm's latency.
    pub alarm_latency_ms: Option<f64>,
    /// Stream time since the session's first frame, and what is left of the planned length.
    pub elapsed_s: f64,
    pub left_s: f64,
}

pub struct Supervisor {
    controller: Controller,
    planned_s: f64,
    /// Frames arrive in real time (a camera, or a recording paced like one): latency is measured and
    /// judged.
    realtime: bool,
    start_s: Option<f64>,
    duration_reached: bool,
    stop: Option<StopReason>,
    alarm_latency_ms: Option<f64>,
    latencies_ms: Vec<f64>,
    last_frame_at: Option<Instant>,
}

impl Supervisor {
    pub fn new(session: &SessionConfig, behaviour: &BehaviourConfig, planned_s: f64, realtime: bool) -> Supervisor {
        Supervisor {
            controller: Controller::new(session, behaviour),
            planned_s,
            realtime,
            start_s: None,
            duration_reached: false,
            stop: None,
            alarm_latency_ms: None,
            latencies_ms: Vec::new(),
            last_frame_at: None,
        }
    }

    /// Decides on one frame at `time_s`, captured at `captured`: what its `changes` mean, then what has
    /// lasted too long among the `running` episodes. Nothing more is decided once the session stopped.
    pub fn decide(
        &mut self,
        time_s: f64,
        captured: Instant,
        changes: &[Change],
        running: &[&Episode],
        status: &EngineStatus,
    ) -> Verdict {
        self.last_frame_at = Some(Instant::now());
        let start = *self.start_s.get_or_insert(time_s);
        let mut verdict = Verdict::default();
        for change in changes {
            if self.stop.is_some() {
                break;
            }
            if let Some(decision) = self.controller.on_change(change) {
                self.take(decision, captured, &mut verdict);
            }
        }
        let latency_s = captured.elapsed().as_secs_f64();
        if self.realtime {
            self.latencies_ms.push(latency_s * 1000.0);
        }
        if self.stop.is_none() {
            let latency = self.realtime.then_some(latency_s);
            if let Some(decision) = self.controller.on_moment(time_s, running, latency, status) {
                if let Some(e) = self.controller.new_episode.take() {
                    verdict.started.push(Change::Started(e));
                }
                self.take(decision, captured, &mut verdict);
            }
        }
        self.duration_reached = time_s - start >= self.planned_s;
        verdict.latency_s = latency_s;
        verdict.elapsed_s = time_s - start;
        verdict.left_s = self.planned_s - (time_s - start);
        verdict
    }

    fn take(&mut self, decision: Decision, captured: Instant, verdict: &mut Verdict) {
        if let Decision::Stop(reason) = &decision {
            let latency_ms = captured.elapsed().as_secs_f64() * 1000.0;
            self.alarm_latency_ms = Some(latency_ms);
            verdict.alarm_latency_ms = Some(latency_ms);
            self.stop = Some(reason.clone());
        }
        verdict.decisions.push(decision);
    }

    /// The pipeline broke at `last_s` (the last frame's time): unless the session already stopped, a
    /// fault stop on the clock of that frame, with the fault's episode.
    pub fn fail(&mut self, error: &Error, last_s: f64) -> Option<(Change, StopReason)> {
        if self.stop.is_some() {
            return None;
        }
        let silent_for = self.last_frame_at.map_or(0.0, |t| t.elapsed().as_secs_f64());
        let (episode, reason) = self.controller.on_error(error, last_s, last_s + silent_for);
        self.stop = Some(reason.clone());
        Some((Change::Started(episode), reason))
    }

    /// The session is over: it stopped, ran its planned length, or the owner ended it.
    pub fn is_over(&self) -> bool {
        self.stop.is_some() || self.duration_reached || interrupted()
    }

    pub fn stop(&self) -> Option<&StopReason> {
        self.stop.as_ref()
    }

    /// From the deciding frame's capture to the stop decision, milliseconds.
    pub fn alarm_latency_ms(&self) -> Option<f64> {
        self.alarm_latency_ms
    }

    /// Capture-to-decision latency of every frame, milliseconds (real-time sources only).
    pub fn latencies_ms(&self) -> Option<&[f64]> {
        self.realtime.then_some(self.latencies_ms.as_slice())
    }

    pub fn planned_s(&self) -> f64 {
        self.planned_s
    }

    pub fn outcome(&self) -> Outcome {
        match &self.stop {
            Some(r) if r.fault => Outcome::Fault,
            Some(_) => Outcome::Stopped,
            None if self.duration_reached => Outcome::Completed,
            None if interrupted() => Outcome::Interrupted,
            None => Outcome::SourceEnded,
        }
    }
}
