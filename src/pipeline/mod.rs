//! The pipeline: every stage, in the order a frame flows through them, on threads for the slow ones.
//!
//! ```text
//! capture thread --frames--> detect thread --frames + detections--> this thread:
//!     fusion -> track -> observe -> behaviour -> session decision -> sinks
//! ```
//!
//! Each stage is a module of its own that knows only the stages below it; between them travel small
//! plain values, and everything the stages added to one frame reaches the sinks as one
//! [`AnalysedFrame`]. Sinks only write (events.jsonl, tracks.csv, the annotated video, the live view,
//! the alarm); none of them decides anything, so their order does not matter.
//!
//! Batch mode loses no frame: every channel blocks when full, so decoding waits for inference. Live mode
//! keeps only the newest frame: the capture thread replaces a frame still waiting for the detector, and
//! counts it as dropped, so latency cannot grow however slow inference is.

mod threads;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use serde::Serialize;

use crate::behaviour::engine::{BehaviourEngine, EngineStatus};
use crate::behaviour::{Change, Episode, EpisodeBook, GapTrace, Moment};
use crate::config::Config;
use crate::detect::{Detection, Detector};
use crate::error::{Error, Result};
use crate::fusion::Fusion;
use crate::fusion::motion::MotionResult;
use crate::kinds::Role;
use crate::observe::VideoObserver;
use crate::session::controller::{Decision, StopReason};
use crate::session::history::Outcome;
use crate::session::supervisor::{self, Supervisor, Verdict};
use crate::source::{Frame, FrameSource, SourceInfo};
use crate::track::{Track, TrackState, Tracker};
use crate::zones::Zones;
use threads::Next;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every frame is analysed; the source waits for the pipeline.
    Batch,
    /// The newest frame wins; stale frames are dropped and counted. No analysed frame for `stall_after`
    /// ends the run with [`Error::ProcessingStalled`]: a live run never hangs silently.
    Live { stall_after: Duration },
}

/// One frame and everything the stages found in it, as the sinks see it.
pub struct AnalysedFrame<'a> {
    pub frame: &'a Frame,
    /// Detector output fused with motion candidates; tracks point into it.
    pub detections: Vec<Detection>,
    /// Whether the detector looked at this frame (see `detector.idle_interval_s`): where it did not, the
    /// detections are motion's alone.
    pub detector_looked: bool,
    pub motion: MotionResult,
    pub tracks: Vec<Track>,
    /// What the behaviour engine was told; `None` for an exact repeat of the last frame.
    pub moment: Option<Moment>,
    /// Episodes confirmed or ended in this frame: the engine's, then the session controller's own.
    pub changes: Vec<Change>,
    /// What the engine sees now (the animals' states, the gap).
    pub status: EngineStatus,
    /// Episodes running after this frame.
    pub running: Vec<Episode>,
    /// The session decision stage's verdict; `None` outside a session (`analyze`).
    pub verdict: Option<Verdict>,
    /// The zones in force for this frame (drawn on the pictures).
    pub zones: Arc<Zones>,
    /// What the owner did in the live view since the last frame, applied from this frame on.
    pub owner: Vec<OwnerInput>,
}

/// What the owner does during a session, in the live view: it reaches the stages with the next frame
/// (so that it is logged at a stream time, and new zones hold from that frame on).
#[derive(Debug, Clone, PartialEq)]
pub enum OwnerInput {
    /// New zones, already saved in the config file.
    Zones(Zones),
    /// The owner has seen what is happening (`what`, in the words the page showed).
    Acknowledge { what: String },
}

impl AnalysedFrame<'_> {
    /// The session's stop, when this frame decided it.
    pub fn stop(&self) -> Option<&StopReason> {
        self.verdict.as_ref()?.decisions.iter().find_map(|d| match d {
            Decision::Stop(reason) => Some(reason),
            _ => None,
        })
    }
}

/// What a run is, told to the sinks before its first frame.
#[derive(Debug, Clone)]
pub struct RunStart {
    pub source: SourceInfo,
    /// Wall-clock start, RFC 3339 (UTC).
    pub started: String,
    /// A supervised session, with its planned length; `None` for `analyze`.
    pub session: Option<SessionStart>,
}

#[derive(Debug, Clone)]
pub struct SessionStart {
    pub planned_s: f64,
    pub realtime: bool,
}

/// How a run ended, told to the sinks after its last frame.
#[derive(Debug, Clone)]
pub struct RunEnd {
    /// Stream time at which the run is closed, seconds.
    pub time_s: f64,
    /// The session broke (camera lost, the model failing): the fault's episode and the stop it caused.
    pub fault: Option<(Change, StopReason)>,
    /// Episodes still running at the end, now ended.
    pub closing: Vec<Change>,
    /// The session's stop, whenever it came (also one decided in a frame).
    pub stop: Option<StopReason>,
    /// How a session ended; `None` for `analyze`.
    pub outcome: Option<Outcome>,
    /// Wall-clock end, RFC 3339 (UTC).
    pub ended: String,
    /// What the owner did after the last frame (say, acknowledged, then pressed "end session").
    pub owner: Vec<OwnerInput>,
}

/// Where analysed frames go. A sink only writes: it decides nothing the other sinks depend on.
pub trait Sink {
    /// Before the first frame.
    fn begin(&mut self, _start: &RunStart) -> Result<()> {
        Ok(())
    }
    /// One analysed frame; `Ok(false)` ends the run.
    fn frame(&mut self, analysed: &AnalysedFrame) -> Result<bool>;
    /// Once at the end (also after an error), to write what the end brings, flush and close.
    fn finish(&mut self, _end: &RunEnd) -> Result<()> {
        Ok(())
    }
}

/// Seconds spent per stage, summed over the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StageSeconds {
    pub decode: f64,
    pub preprocess: f64,
    pub inference: f64,
    pub postprocess: f64,
    pub classify: f64,
    pub motion: f64,
    pub track: f64,
    pub output: f64,
}

/// What a pipeline run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunStats {
    /// Frames analysed.
    pub frames: u64,
    /// Frames the source delivered that live mode dropped as stale.
    pub dropped_frames: u64,
    pub first_time_s: Option<f64>,
    pub last_time_s: Option<f64>,
    pub wall_s: f64,
    /// Frames in which the whole scene changed (camera moved, lights).
    pub scene_changes: u64,
    /// Frames the detector looked at (all of them unless its idle cadence let it skip some).
    pub detector_frames: u64,
    /// Seconds from the process's launch ([`note_launch`]) to the end of the first frame's analysis: the
    /// cold start a person waits through. Only the process's first run has it.
    pub first_frame_after_launch_s: Option<f64>,
    pub seconds: StageSeconds,
}

/// When the process was launched, until its first frame is analysed.
static LAUNCHED: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);

/// Notes the process's launch, for [`RunStats::first_frame_after_launch_s`]; `main` calls it first.
pub fn note_launch() {
    *LAUNCHED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
}

/// Seconds since the launch, the first time it is asked after [`note_launch`]; `None` after that.
fn take_time_since_launch() -> Option<f64> {
    LAUNCHED.lock().unwrap_or_else(|e| e.into_inner()).take().map(|t| t.elapsed().as_secs_f64())
}

impl RunStats {
    pub fn fps(&self) -> f64 {
        if self.wall_s > 0.0 { self.frames as f64 / self.wall_s } else { 0.0 }
    }
}

/// Frames per second over the last second, as a person watching sees it (the status line, the view).
#[derive(Debug, Default)]
pub struct FrameRate {
    recent: std::collections::VecDeque<Instant>,
}

impl FrameRate {
    /// Counts a frame now; returns the frames of the last second.
    pub fn tick(&mut self) -> f64 {
        let now = Instant::now();
        self.recent.push_back(now);
        while self.recent.front().is_some_and(|t| now.duration_since(*t) > Duration::from_secs(1)) {
            self.recent.pop_front();
        }
        self.recent.len() as f64
    }
}

/// The value at quantile `q` (0 to 1, nearest rank) of `sorted` (ascending); `None` when it is empty.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    sorted.get(((sorted.len() as f64 - 1.0) * q.clamp(0.0, 1.0)).round() as usize).copied()
}

/// How a run ended, for the command that ran it.
#[derive(Debug)]
pub struct RunOutcome {
    pub stats: RunStats,
    /// The error that ended the run early, if any; everything before it was analysed and written.
    pub error: Option<Error>,
    /// Problems the source met without stopping (corrupt packets, truncation).
    pub source_problems: Vec<String>,
    /// Every episode of the run, in the form it ended in.
    pub episodes: Vec<Episode>,
    /// The cat-rat gap over the run, for the timeline picture.
    pub gap: GapTrace,
    /// What the sinks were told at the end.
    pub end: RunEnd,
    /// A session's capture-to-decision latencies (real-time sources), and its alarm's.
    pub latencies_ms: Option<Vec<f64>>,
    pub alarm_latency_ms: Option<f64>,
}

/// The stages that carry state from frame to frame, in the order a frame meets them.
pub struct Stages {
    fusion: Fusion,
    tracker: Tracker,
    observer: VideoObserver,
    engine: BehaviourEngine,
    /// The session decision stage; `None` outside a session.
    supervisor: Option<Supervisor>,
    /// The run's record: every episode, and the gap over time.
    book: EpisodeBook,
    gap: GapTrace,
    last_moment_s: Option<f64>,
    detector_idle_interval_s: f64,
    /// The enclosure and shelters in force, and where new ones drawn by the owner arrive.
    zones: Arc<Zones>,
    owner_inputs: Option<Receiver<OwnerInput>>,
}

impl Stages {
    /// Every stage for frames of `frame_w` x `frame_h`, each built from its own part of `config`.
    pub fn new(config: &Config, frame_w: u32, frame_h: u32) -> Stages {
        let freezing = &config.behaviour.freezing;
        Stages {
            fusion: Fusion::new(&config.motion, &config.roles, frame_w, frame_h),
            tracker: Tracker::new(&config.tracker),
            observer: VideoObserver::new(freezing.lag_s, freezing.pixel_cutoff),
            engine: BehaviourEngine::new(&config.behaviour),
            supervisor: None,
            book: EpisodeBook::default(),
            gap: GapTrace::default(),
            last_moment_s: None,
            // Without motion candidates the detector is all there is: it looks at every frame.
            detector_idle_interval_s: if config.motion.enabled { config.detector.idle_interval_s } else { 0.0 },
            zones: Arc::new(config.zones()),
            owner_inputs: None,
        }
    }

    /// What the owner does in the live view, sent on `inputs`, reaches the next frame.
    pub fn follow_owner(&mut self, inputs: Receiver<OwnerInput>) {
        self.owner_inputs = Some(inputs);
    }

    /// The owner's inputs since the last frame, with new zones put in force.
    fn take_owner_inputs(&mut self) -> Vec<OwnerInput> {
        let Some(inputs) = &self.owner_inputs else { return Vec::new() };
        let taken: Vec<OwnerInput> = inputs.try_iter().collect();
        for input in &taken {
            if let OwnerInput::Zones(zones) = input {
                self.fusion.set_enclosure(zones.enclosure.clone());
                self.engine.set_shelters(zones.shelters.clone());
                self.zones = Arc::new(zones.clone());
            }
        }
        taken
    }

    /// Adds the session decision stage: the run is a supervised session.
    pub fn supervised(mut self, supervisor: Supervisor) -> Stages {
        self.supervisor = Some(supervisor);
        self
    }

    pub fn fusion(&mut self) -> &mut Fusion {
        &mut self.fusion
    }

    /// Every stage after detection, for one frame; `detections` is `None` where the detector did not
    /// look at it.
    pub fn analyse<'a>(
        &mut self,
        frame: &'a Frame,
        detections: Option<Vec<Detection>>,
        seconds: &mut StageSeconds,
    ) -> AnalysedFrame<'a> {
        let owner = self.take_owner_inputs();
        let t0 = Instant::now();
        let detector_looked = detections.is_some();
        let (detections, motion) = self.fusion.fuse(frame, detections);
        let t1 = Instant::now();
        let tracks = self.tracker.update(frame.time_s, &detections);
        let moving = tracks.iter().filter(|t| matches!(t.state, TrackState::Tracked | TrackState::Coasting));
        self.fusion.tracked(moving.map(|t| (t.role, &t.bbox)));
        seconds.motion += (t1 - t0).as_secs_f64();
        seconds.track += t1.elapsed().as_secs_f64();

        let moment = self.observer.observe(frame, &tracks);
        let mut changes = match &moment {
            Some(m) => self.engine.step(m),
            None => Vec::new(),
        };
        if let Some(m) = &moment {
            self.trace(m);
            self.gap.push(m.time_s, self.engine.status.gap_body_lengths);
            self.last_moment_s = Some(m.time_s);
        }
        let running_now = self.engine.active();
        let verdict = self
            .supervisor
            .as_mut()
            .map(|s| s.decide(frame.time_s, frame.captured_at, &changes, &running_now, &self.engine.status));
        let running = running_now.into_iter().cloned().collect();
        if let Some(v) = &verdict {
            changes.extend(v.started.iter().cloned());
        }
        for change in &changes {
            self.book.record(change);
        }
        AnalysedFrame {
            frame,
            detections,
            detector_looked,
            motion,
            tracks,
            moment,
            changes,
            status: self.engine.status.clone(),
            running,
            verdict,
            zones: self.zones.clone(),
            owner,
        }
    }

    /// Whether the detector must look at the coming frames (see [`threads::Next`]): the last frame it
    /// looked at held something to follow (see [`Fusion::detector_has_work`]), a cat is tracked, or
    /// motion alone cannot be trusted (still learning the background, or the frame changed more than the
    /// animals known explain).
    fn detector_wanted(&self, analysed: &AnalysedFrame) -> bool {
        let m = &analysed.motion;
        let cat_tracked = analysed.tracks.iter().any(|t| t.role == Role::Cat && t.state != TrackState::Lost);
        let has_work = self.fusion.detector_has_work();
        let wanted = has_work || m.learning || m.scene_changed || m.awaiting_detector || cat_tracked;
        if wanted {
            tracing::debug!(
                t = analysed.frame.time_s,
                has_work,
                learning = m.learning,
                scene_changed = m.scene_changed,
                awaiting_detector = m.awaiting_detector,
                cat_tracked,
                "the detector looks at every frame"
            );
        }
        wanted
    }

    /// `CHAPERONE_LOG=chaperone::pipeline=debug` traces what the engine saw, frame by frame.
    fn trace(&self, m: &Moment) {
        tracing::debug!(
            t = m.time_s,
            rat_observed = m.rat.as_ref().map(|r| r.observed),
            rat_changed_px = m.rat_changed_px,
            rat_faded_since_seen = m.rat_faded_since_seen,
            cat_observed = m.cat.as_ref().map(|c| c.observed),
            cat = self.engine.status.cat,
            rat = self.engine.status.rat,
            gap = self.engine.status.gap_body_lengths,
        );
    }

    /// A session that stopped, ran its length or was interrupted takes no more frames.
    fn session_over(&self) -> bool {
        self.supervisor.as_ref().is_some_and(Supervisor::is_over)
    }

    /// Closes the run after its last frame (at `last_s`), or after `error` broke it.
    fn close(&mut self, last_s: Option<f64>, error: Option<&Error>) -> RunEnd {
        let last = last_s.unwrap_or(0.0);
        let fault = match (&mut self.supervisor, error) {
            (Some(s), Some(e)) => s.fail(e, last),
            _ => None,
        };
        if let Some((change, _)) = &fault {
            self.book.record(change);
        }
        let stop = self.supervisor.as_ref().and_then(|s| s.stop().cloned());
        // A session closes at its stop (or its last frame); a recording at the last moment the engine saw.
        let time_s = match &self.supervisor {
            Some(_) => stop.as_ref().map_or(last, |r| r.time_s.max(last)),
            None => self.last_moment_s.unwrap_or(last),
        };
        let closing = if self.supervisor.is_some() || self.last_moment_s.is_some() {
            self.engine.finish(time_s)
        } else {
            Vec::new()
        };
        for change in &closing {
            self.book.record(change);
        }
        RunEnd {
            owner: self.take_owner_inputs(),
            time_s,
            fault,
            closing,
            stop,
            outcome: self.supervisor.as_ref().map(Supervisor::outcome),
            ended: now_rfc3339(),
        }
    }
}

/// Now, as RFC 3339 to the second (UTC).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Runs `source` through `detector` and the `stages` into `sinks`, until the source ends, it fails, a
/// sink asks to end or the session is over. `on_frame` is called after each analysed frame (progress
/// bars).
pub fn run(
    source: &mut dyn FrameSource,
    detector: &mut dyn Detector,
    stages: &mut Stages,
    sinks: &mut [&mut dyn Sink],
    start: &RunStart,
    mode: Mode,
    on_frame: &mut dyn FnMut(&AnalysedFrame),
) -> RunOutcome {
    let started = Instant::now();
    let timings_before = detector.timings();
    let mut stats = RunStats::default();
    let mut error = sinks.iter_mut().try_for_each(|s| s.begin(start)).err();
    if error.is_none() {
        // Live sessions keep the cadence too: with the cat in view every frame is looked at anyway, and
        // with the rat alone a laptop spares most inferences and answers sooner.
        let (dropped, failed) = threads::drive(
            source,
            detector,
            mode,
            stages.detector_idle_interval_s,
            &mut |frame, detections, decode| {
                stats.seconds.decode += decode.as_secs_f64();
                let analysed = stages.analyse(&frame, detections, &mut stats.seconds);
                let t0 = Instant::now();
                let mut go_on = true;
                for sink in sinks.iter_mut() {
                    go_on &= sink.frame(&analysed)?;
                }
                stats.seconds.output += t0.elapsed().as_secs_f64();
                if stats.frames == 0 {
                    stats.first_frame_after_launch_s = take_time_since_launch();
                }
                stats.frames += 1;
                stats.first_time_s.get_or_insert(frame.time_s);
                stats.last_time_s = Some(frame.time_s);
                stats.scene_changes += analysed.motion.scene_changed as u64;
                stats.detector_frames += analysed.detector_looked as u64;
                on_frame(&analysed);
                // A session ends on a signal as it ends on a stop; a recording ends incomplete.
                if stages.supervisor.is_none() && supervisor::interrupted() {
                    return Err(Error::Interrupted);
                }
                Ok(match go_on && !stages.session_over() {
                    true => Next::Continue { detector_wanted: stages.detector_wanted(&analysed) },
                    false => Next::Stop,
                })
            },
        );
        stats.dropped_frames = dropped;
        error = failed;
    }
    let end = stages.close(stats.last_time_s, error.as_ref());
    for sink in sinks.iter_mut() {
        if let Err(e) = sink.finish(&end) {
            error.get_or_insert(e);
        }
    }
    let t = detector.timings();
    let d = |now: Duration, before: Duration| (now.saturating_sub(before)).as_secs_f64();
    stats.seconds.preprocess = d(t.preprocess, timings_before.preprocess);
    stats.seconds.inference = d(t.inference, timings_before.inference);
    stats.seconds.postprocess = d(t.postprocess, timings_before.postprocess);
    stats.seconds.classify = d(t.classify, timings_before.classify);
    stats.wall_s = started.elapsed().as_secs_f64();
    let supervisor = stages.supervisor.as_ref();
    RunOutcome {
        stats,
        error,
        source_problems: source.problems(),
        episodes: std::mem::take(&mut stages.book.episodes),
        gap: std::mem::take(&mut stages.gap),
        end,
        latencies_ms: supervisor.and_then(|s| s.latencies_ms().map(<[f64]>::to_vec)),
        alarm_latency_ms: supervisor.and_then(Supervisor::alarm_latency_ms),
    }
}
