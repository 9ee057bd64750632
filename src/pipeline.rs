//! The threaded pipeline shared by batch analysis and live sessions:
//!
//! ```text
//! capture thread --frames--> detect thread --frames + detections--> analyse (this thread) --> sinks
//! ```
//!
//! Batch mode loses no frame: every channel blocks when full, so decoding waits for inference. Live mode
//! keeps only the newest frame: the capture thread replaces a frame still waiting for the detector, and
//! counts it as dropped, so latency cannot grow however slow inference is.
//!
//! The analyse step runs motion detection, fuses its candidates with the detections, updates the tracker
//! (on every frame, with or without detections) and hands each analysed frame to the sinks.

use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use serde::Serialize;

use crate::config::{Config, RoleConfig};
use crate::detect::{Detection, Detector, Role};
use crate::error::{Error, Result};
use crate::geometry::BBox;
use crate::motion::{self, MotionDetector, MotionResult};
use crate::source::{Frame, FrameSource};
use crate::track::{Track, TrackState, Tracker};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every frame is analysed; the source waits for the pipeline.
    Batch,
    /// The newest frame wins; stale frames are dropped and counted. No analysed frame for `stall_after`
    /// ends the run with [`Error::ProcessingStalled`]: a live run never hangs silently.
    Live { stall_after: Duration },
}

/// One frame after analysis, as the sinks see it.
pub struct AnalysedFrame<'a> {
    pub frame: &'a Frame,
    /// Detector output fused with motion candidates; tracks point into it.
    pub detections: &'a [Detection],
    pub tracks: &'a [Track],
    pub motion: &'a MotionResult,
}

/// Where analysed frames go: tracks.csv, the annotated video, the behaviour engine...
pub trait Sink {
    fn frame(&mut self, analysed: &AnalysedFrame) -> Result<()>;
    /// Called once at the end (also after an error), to flush and close.
    fn finish(&mut self) -> Result<()>;
    /// Asked after each frame: true ends the run (a live session that decided to stop).
    fn wants_stop(&self) -> bool {
        false
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
    pub seconds: StageSeconds,
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

/// How a run ended.
#[derive(Debug)]
pub struct RunOutcome {
    pub stats: RunStats,
    /// The error that ended the run early, if any; everything before it was analysed and written.
    pub error: Option<Error>,
    /// Problems the source met without stopping (corrupt packets, truncation).
    pub source_problems: Vec<String>,
}

/// The analysis state carried from frame to frame: motion and tracking.
pub struct Analyser {
    pub motion: Option<MotionDetector>,
    pub tracker: Tracker,
    motion_config: motion::MotionConfig,
    roles: RoleConfig,
    frame_size: (u32, u32),
    /// Boxes of tracked animals from the last frame: never learnt into the background.
    protected: Vec<BBox>,
    /// Boxes of the tracked cat from the last frame: its motion is its own even when the detector
    /// missed it this frame.
    cat_boxes: Vec<BBox>,
    /// People seen in the last `PERSON_MEMORY_S` (time seen, box): a person the detector misses for a
    /// few frames still owns the motion of their legs. (The cat's track plays that part for the cat.)
    recent_people: Vec<(f64, BBox)>,
}

/// How long a detected person keeps owning the motion where they were, seconds.
const PERSON_MEMORY_S: f64 = 3.0;

/// A person seen clearly enough to be remembered: faint "person" boxes are often the rodent itself.
fn is_clear_person(d: &Detection) -> bool {
    &*d.class_name == "person" && d.score >= 0.5
}

impl Analyser {
    pub fn new(config: &Config, frame_w: u32, frame_h: u32) -> Analyser {
        Analyser {
            motion: config.motion.enabled.then(|| MotionDetector::new(&config.motion, frame_w, frame_h)),
            tracker: Tracker::new(&config.tracker),
            motion_config: config.motion.clone(),
            roles: config.roles.clone(),
            frame_size: (frame_w, frame_h),
            protected: Vec::new(),
            cat_boxes: Vec::new(),
            recent_people: Vec::new(),
        }
    }

    /// Motion, fusion and tracking for one frame.
    pub fn analyse(
        &mut self,
        frame: &Frame,
        mut detections: Vec<Detection>,
        seconds: &mut StageSeconds,
    ) -> (Vec<Detection>, Vec<Track>, MotionResult) {
        let t0 = Instant::now();
        let motion = match &mut self.motion {
            Some(m) => {
                let now = frame.time_s;
                let (w, h) = self.frame_size;
                self.recent_people.retain(|(t, _)| *t <= now && now - *t <= PERSON_MEMORY_S);
                self.recent_people.extend(detections.iter().filter(|d| is_clear_person(d)).map(|d| (now, d.bbox)));
                let mut owners = motion::motion_owners(&detections, &self.roles, w, h);
                owners.extend(self.recent_people.iter().map(|(_, b)| *b));
                owners.extend_from_slice(&self.cat_boxes);
                m.analyse(&frame.image, frame.time_s, &owners, &self.protected)
            }
            None => MotionResult::default(),
        };
        motion::fuse(&mut detections, &motion, &self.motion_config, self.roles.rat_max_cat_area_ratio);
        let t1 = Instant::now();
        let tracks = self.tracker.update(frame.time_s, &detections);
        let moving = || tracks.iter().filter(|t| matches!(t.state, TrackState::Tracked | TrackState::Coasting));
        self.protected.clear();
        self.protected.extend(moving().map(|t| t.bbox));
        self.cat_boxes.clear();
        self.cat_boxes.extend(moving().filter(|t| t.role == Role::Cat).map(|t| t.bbox));
        let t2 = Instant::now();
        seconds.motion += (t1 - t0).as_secs_f64();
        seconds.track += (t2 - t1).as_secs_f64();
        (detections, tracks, motion)
    }
}

type Captured = Result<(Frame, Duration)>;
type Detected = Result<(Frame, Vec<Detection>, Duration)>;

/// Runs `source` through `detector`, `analyser` and `sinks` until the source ends or fails.
/// `on_frame` is called after each analysed frame (progress bars).
pub fn run(
    source: &mut dyn FrameSource,
    detector: &mut dyn Detector,
    analyser: &mut Analyser,
    sinks: &mut [&mut dyn Sink],
    mode: Mode,
    on_frame: &mut dyn FnMut(&AnalysedFrame),
) -> RunOutcome {
    let started = Instant::now();
    let (capacity, detect_capacity) = match mode {
        Mode::Batch => (4, 4),
        Mode::Live { .. } => (1, 2),
    };
    let (frame_tx, frame_rx) = bounded::<Captured>(capacity);
    let (det_tx, det_rx) = bounded::<Detected>(detect_capacity);
    let mut stats = RunStats::default();
    let mut error = None;
    let timings_before = detector.timings();
    let stopping = AtomicBool::new(false);

    let dropped = std::thread::scope(|scope| {
        // Live mode's capture thread takes stale frames back out of the queue itself. (In batch mode it
        // must not hold a receiver: the queue closing is how it learns the run is over.)
        let stale_rx = matches!(mode, Mode::Live { .. }).then(|| frame_rx.clone());
        let source = &mut *source;
        let detector = &mut *detector;
        let stopping = &stopping;
        let capture = scope.spawn(move || capture_loop(source, frame_tx, stale_rx, stopping));
        scope.spawn(move || detect_loop(detector, frame_rx, det_tx));

        loop {
            let item = match mode {
                Mode::Batch => det_rx.recv().ok(),
                Mode::Live { stall_after } => match det_rx.recv_timeout(stall_after) {
                    Ok(item) => Some(item),
                    Err(RecvTimeoutError::Timeout) => {
                        error = Some(Error::ProcessingStalled { seconds: stall_after.as_secs_f64() });
                        break;
                    }
                    Err(RecvTimeoutError::Disconnected) => None,
                },
            };
            let Some(item) = item else { break };
            let (frame, detections, decode) = match item {
                Ok(x) => x,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            };
            stats.seconds.decode += decode.as_secs_f64();
            let (detections, tracks, motion) = analyser.analyse(&frame, detections, &mut stats.seconds);
            let analysed = AnalysedFrame { frame: &frame, detections: &detections, tracks: &tracks, motion: &motion };
            let t0 = Instant::now();
            let written = sinks.iter_mut().try_for_each(|s| s.frame(&analysed));
            stats.seconds.output += t0.elapsed().as_secs_f64();
            stats.frames += 1;
            stats.first_time_s.get_or_insert(frame.time_s);
            stats.last_time_s = Some(frame.time_s);
            stats.scene_changes += motion.scene_changed as u64;
            on_frame(&analysed);
            if let Err(e) = written {
                error = Some(e);
                break;
            }
            if sinks.iter().any(|s| s.wants_stop()) {
                break;
            }
        }
        // Stop the other threads: dropping the receiver makes their sends fail, and the flag stops a live
        // capture loop (which holds a receiver of its own).
        stopping.store(true, Ordering::Relaxed);
        drop(det_rx);
        capture.join().unwrap_or(0)
    });
    stats.dropped_frames = dropped;
    for sink in sinks.iter_mut() {
        if let Err(e) = sink.finish() {
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
    RunOutcome { stats, error, source_problems: source.problems() }
}

/// Reads frames into the channel; in live mode (`stale` given) replaces a frame nobody has taken yet.
/// Returns how many frames were dropped.
fn capture_loop(
    source: &mut dyn FrameSource,
    tx: Sender<Captured>,
    stale: Option<Receiver<Captured>>,
    stopping: &AtomicBool,
) -> u64 {
    let mut dropped = 0;
    while !stopping.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        let item = match source.next_frame() {
            Ok(Some(frame)) => Ok((frame, t0.elapsed())),
            Ok(None) => return dropped,
            Err(e) => Err(e),
        };
        let failed = item.is_err();
        let sent = match &stale {
            None => tx.send(item).is_ok(),
            Some(stale) => match tx.try_send(item) {
                Ok(()) => true,
                Err(TrySendError::Full(item)) => {
                    if stale.try_recv().is_ok() {
                        dropped += 1;
                    }
                    tx.send(item).is_ok()
                }
                Err(TrySendError::Disconnected(_)) => false,
            },
        };
        if !sent || failed {
            return dropped;
        }
    }
    dropped
}

fn detect_loop(detector: &mut dyn Detector, rx: Receiver<Captured>, tx: Sender<Detected>) {
    for item in rx.iter() {
        let out = item.and_then(|(frame, decode)| {
            let detections = detector.detect_frame(&frame)?;
            Ok((frame, detections, decode))
        });
        let failed = out.is_err();
        if tx.send(out).is_err() || failed {
            return;
        }
    }
}
