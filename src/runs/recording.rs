//! One recording (a video or an image directory) through the whole pipeline in batch mode, into its
//! own folder: `tracks.csv`, `events.jsonl`, `annotated.mp4` (unless turned off), `summary.json` and the
//! timeline. A truncated or partly corrupt input keeps what was decoded, marked `"complete": false` with
//! the problems listed. `chaperone analyze`, `bench` and `eval` run recordings through here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::run_dir::RunDir;
use crate::behaviour::Episode;
use crate::config::Config;
use crate::detect::Detector;
use crate::error::{Error, Result};
use crate::fusion;
use crate::geometry::BBox;
use crate::kinds::Role;
use crate::observe::engine_box;
use crate::output::{AnnotatedVideo, BehaviourCsv, TracksCsv};
use crate::pipeline::{self, AnalysedFrame, Mode, RunOutcome, RunStart, RunStats, Sink, Stages};
use crate::plot::timeline::Timeline;
use crate::session::controller::SessionConfig;
use crate::source::image_dir::ImageDir;
use crate::source::video::{self, VideoFile};
use crate::source::{FrameSource, SourceInfo};
use crate::view::{ViewHandle, ViewSink};

/// Frames a second sent to the live view (`--view`) at most: a batch run is not slowed to feed it.
const VIEW_MAX_FPS: f64 = 8.0;

#[derive(Debug, Clone)]
pub struct RecordingOptions {
    /// Write `annotated.mp4`.
    pub annotated_video: bool,
    /// Frame rate of image directories.
    pub image_fps: f64,
    /// Show a progress bar (hidden anyway when stderr is not a terminal).
    pub progress: bool,
    /// The live view in the browser, when one is served.
    pub view: Option<ViewHandle>,
    /// Return where the animals were taken to be in every frame ([`Analysed::frames`]: `eval` scores
    /// positions from them). Off, memory does not grow with the recording's length.
    pub keep_frame_boxes: bool,
}

/// `summary.json`: what one input's analysis did and found.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub input: String,
    /// False when the input could not be read to its end; `problems` says why.
    pub complete: bool,
    pub problems: Vec<String>,
    pub source: SourceInfo,
    pub frames: u64,
    /// Time spanned by the analysed frames, seconds.
    pub duration_s: f64,
    pub wall_s: f64,
    pub fps_processed: f64,
    /// Seconds from the program's launch to the first frame analysed (model loading included); only the
    /// first input analysed by a process has one.
    pub first_frame_after_launch_s: Option<f64>,
    pub dropped_frames: u64,
    /// Frames where the whole scene changed (camera moved, lights).
    pub scene_changes: u64,
    /// Frames the detector looked at: the others had nothing in view for it to follow
    /// (`detector.idle_interval_s`), and motion alone found the rodent.
    pub detector_frames: u64,
    pub animals: BTreeMap<String, AnimalSummary>,
    /// Mean milliseconds per analysed frame, per stage.
    pub timings_ms_per_frame: BTreeMap<String, f64>,
    /// Behaviour episodes (also in `events.jsonl`, as they happened).
    pub episodes: Vec<Episode>,
    pub outputs: Vec<String>,
}

/// How one role's animal was seen.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AnimalSummary {
    /// Frames in which a trusted track of this role was seen.
    pub frames_seen: u64,
    pub fraction_of_frames: f64,
    /// Track ids this role had (one animal, one id, when tracking held).
    pub track_ids: Vec<u32>,
    pub first_seen_s: Option<f64>,
    pub last_seen_s: Option<f64>,
    /// For an animal never seen: why it could not be, and what to do (silence is the dangerous failure:
    /// "no rat" must not read as "the rat is fine").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_unseen: Option<String>,
}

/// The box the engine acted on for an animal in one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeldBox {
    pub track_id: u32,
    pub bbox: BBox,
    /// Seen in this frame, not predicted or remembered.
    pub observed: bool,
}

/// Where the cat and the rat were taken to be in one analysed frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameBoxes {
    /// The frame's position in the source (from 0).
    pub index: u64,
    pub time_s: f64,
    pub rat: Option<HeldBox>,
    pub cat: Option<HeldBox>,
}

impl FrameBoxes {
    pub fn of(&self, role: Role) -> Option<HeldBox> {
        match role {
            Role::Cat => self.cat,
            Role::Rat => self.rat,
            Role::Other => None,
        }
    }
}

/// Counts, per role, the frames each animal was seen in, and keeps where each was taken to be (when
/// asked to).
#[derive(Default)]
struct Sightings {
    animals: BTreeMap<String, AnimalSummary>,
    keep_frames: bool,
    frames: Vec<FrameBoxes>,
}

impl Sink for Sightings {
    fn frame(&mut self, a: &AnalysedFrame) -> Result<bool> {
        let held = |role| {
            engine_box(&a.tracks, role).map(|(t, bbox)| HeldBox { track_id: t.id, bbox, observed: t.is_observed() })
        };
        if self.keep_frames {
            self.frames.push(FrameBoxes {
                index: a.frame.index,
                time_s: a.frame.time_s,
                rat: held(Role::Rat),
                cat: held(Role::Cat),
            });
        }
        for role in [Role::Cat, Role::Rat] {
            let seen: Vec<u32> = a.tracks.iter().filter(|t| t.role == role && t.is_observed()).map(|t| t.id).collect();
            let entry = self.animals.entry(role.to_string()).or_default();
            if !seen.is_empty() {
                entry.frames_seen += 1;
                entry.first_seen_s.get_or_insert(a.frame.time_s);
                entry.last_seen_s = Some(a.frame.time_s);
                for id in seen {
                    if !entry.track_ids.contains(&id) {
                        entry.track_ids.push(id);
                    }
                }
            }
        }
        Ok(true)
    }
}

/// Opens an input: a directory of images, or any video file ffmpeg reads.
pub fn open_source(input: &Path, image_fps: f64) -> Result<Box<dyn FrameSource>> {
    if input.is_dir() { Ok(Box::new(ImageDir::open(input, image_fps)?)) } else { Ok(Box::new(VideoFile::open(input)?)) }
}

/// Checks that an input can be opened, without starting to decode it: `ffprobe` for a video, the first
/// image for a directory. Lets a run report unreadable inputs before loading the models.
pub fn check_input(input: &Path, image_fps: f64) -> Result<()> {
    if input.is_dir() { ImageDir::open(input, image_fps).map(drop) } else { video::probe(input).map(drop) }
}

/// A directory under `out_dir` named after `input`, not used by an earlier input of this run.
pub fn output_dir_for(input: &Path, out_dir: &Path, taken: &mut Vec<PathBuf>) -> PathBuf {
    let stem = input.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "input".into());
    let mut dir = out_dir.join(&stem);
    let mut n = 2;
    while taken.contains(&dir) {
        dir = out_dir.join(format!("{stem}-{n}"));
        n += 1;
    }
    taken.push(dir.clone());
    dir
}

/// What analysing one recording gave: its summary (also in `summary.json`) and, for every frame
/// analysed, its time (from the frame's own timestamp) and where the animals were taken to be.
pub struct Analysed {
    pub summary: Summary,
    /// Empty unless [`RecordingOptions::keep_frame_boxes`].
    pub frames: Vec<FrameBoxes>,
}

/// Analyses one input into `dir`. An input that cannot be opened is an error; one that breaks off
/// part-way returns its summary marked incomplete.
pub fn analyse(
    input: &Path,
    dir: &Path,
    config: &Config,
    detector: &mut dyn Detector,
    options: &RecordingOptions,
) -> Result<Analysed> {
    analyse_opened(OpenedInput::open(input, config, options)?, dir, config, detector, options)
}

/// An input opened and its background sampled: what a recording needs before its first frame, which
/// takes about as long as loading the models, so `analyze` does it for its first input on a thread of
/// its own meanwhile.
pub struct OpenedInput {
    input: PathBuf,
    source: Box<dyn FrameSource>,
    background: Option<Vec<image::GrayImage>>,
}

impl OpenedInput {
    pub fn open(input: &Path, config: &Config, options: &RecordingOptions) -> Result<OpenedInput> {
        let source = open_source(input, options.image_fps)?;
        let background = fusion::sample_background(input, source.info(), &config.motion)?;
        Ok(OpenedInput { input: input.to_path_buf(), source, background })
    }
}

/// [`analyse`] on an input opened beforehand.
pub fn analyse_opened(
    opened: OpenedInput,
    dir: &Path,
    config: &Config,
    detector: &mut dyn Detector,
    options: &RecordingOptions,
) -> Result<Analysed> {
    let OpenedInput { input, mut source, background } = opened;
    let input = input.as_path();
    let info = source.info().clone();
    let mut run_dir = RunDir::create(dir)?;
    let mut stages = Stages::new(config, info.width, info.height);
    if let Some(samples) = background {
        stages.fusion().seed_background_from(&samples);
    }

    let tracks_path = run_dir.tracks_path();
    let mut tracks_csv = TracksCsv::create(&run_dir.written(&tracks_path))?;
    let mut video = match options.annotated_video {
        true => {
            let path = run_dir.annotated_video_path();
            let fps = info.fps.unwrap_or(25.0);
            Some(AnnotatedVideo::create(&run_dir.written(&path), info.width, info.height, fps)?)
        }
        false => None,
    };
    let mut events = run_dir.fresh_event_log(&config.session)?;
    let behaviour_path = run_dir.behaviour_path();
    let mut behaviour = BehaviourCsv::new(&run_dir.written(&behaviour_path));
    let mut sightings = Sightings { keep_frames: options.keep_frame_boxes, ..Sightings::default() };
    let mut view = options
        .view
        .clone()
        .map(|view| ViewSink::new(view, "analyze", &config.session, VIEW_MAX_FPS, info.expected_frames, None));
    let mut sinks: Vec<&mut dyn Sink> = vec![&mut tracks_csv, &mut sightings, &mut events, &mut behaviour];
    sinks.extend(video.as_mut().map(|v| v as &mut dyn Sink));
    sinks.extend(view.as_mut().map(|v| v as &mut dyn Sink));

    let bar = progress_bar(input, &info, options.progress);
    let start = RunStart { source: info.clone(), started: pipeline::now_rfc3339(), session: None };
    let outcome =
        pipeline::run(source.as_mut(), detector, &mut stages, &mut sinks, &start, Mode::Batch, &mut |_| bar.inc(1));
    bar.finish_and_clear();
    if let Some(rat) = sightings.animals.get_mut(&Role::Rat.to_string()).filter(|a| a.frames_seen == 0) {
        rat.why_unseen = Some(why_no_rat(config).into());
    }
    let summary = summarise(input, &info, &config.session, outcome, sightings.animals, &mut run_dir);
    run_dir.write_summary(&summary)?;
    if summary.frames == 0 {
        return Err(Error::source(input, "no frame could be decoded (empty or corrupt video)"));
    }
    Ok(Analysed { summary, frames: sightings.frames })
}

/// Why no rat was seen through a whole recording, from what finds it. (A cat's absence needs no
/// explaining: a lab's recordings have none.)
fn why_no_rat(config: &Config) -> &'static str {
    match config.motion.enabled {
        true => {
            "the default detector has no rodent class, so the rat is found by motion, and nothing that moved \
             became the rat: a rat still from the first frame to the last is not found (nor one outside \
             roles.enclosure); use a video in which it moves, or a model with a rodent class (README: \
             \"What the default models can and cannot see\")"
        }
        false => "the detector found no rat, and motion candidates are off (motion.enabled = false)",
    }
}

/// The summary of a finished run, with its timeline drawn.
fn summarise(
    input: &Path,
    info: &SourceInfo,
    session: &SessionConfig,
    outcome: RunOutcome,
    mut animals: BTreeMap<String, AnimalSummary>,
    run_dir: &mut RunDir,
) -> Summary {
    let stats = outcome.stats;
    let mut problems = outcome.source_problems;
    if let Some(e) = &outcome.error {
        problems.push(format!("stopped early: {e}"));
    }
    // Cut short on purpose, the file is not to blame.
    let interrupted = matches!(outcome.error, Some(Error::Interrupted));
    let short = info.expected_frames.is_some_and(|n| (stats.frames as f64) < 0.98 * n as f64 - 1.0);
    if short && !interrupted {
        problems.push(format!(
            "only {} of the {} frames the file announces could be decoded (truncated or corrupt file)",
            stats.frames,
            info.expected_frames.unwrap_or(0)
        ));
    }
    if let (Some(first), Some(last)) = (stats.first_time_s, stats.last_time_s) {
        let name = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let n = outcome.episodes.len();
        let title = format!("{name}: {n} episode{} in {:.1} s", if n == 1 { "" } else { "s" }, last - first);
        problems.extend(run_dir.draw_timeline(&Timeline::new(
            title,
            (first, last),
            outcome.gap.clone(),
            outcome.episodes.clone(),
            session,
            None,
        )));
    }
    for a in animals.values_mut() {
        a.fraction_of_frames = if stats.frames > 0 { a.frames_seen as f64 / stats.frames as f64 } else { 0.0 };
    }
    Summary {
        input: input.display().to_string(),
        complete: outcome.error.is_none() && !short && stats.frames > 0,
        problems,
        frames: stats.frames,
        duration_s: match (stats.first_time_s, stats.last_time_s) {
            (Some(a), Some(b)) => b - a + info.fps.map_or(0.0, |f| 1.0 / f),
            _ => 0.0,
        },
        wall_s: stats.wall_s,
        fps_processed: stats.fps(),
        first_frame_after_launch_s: stats.first_frame_after_launch_s,
        dropped_frames: stats.dropped_frames,
        scene_changes: stats.scene_changes,
        detector_frames: stats.detector_frames,
        animals,
        timings_ms_per_frame: per_frame_ms(&stats),
        episodes: outcome.episodes,
        outputs: run_dir.outputs().to_vec(),
        source: info.clone(),
    }
}

fn per_frame_ms(stats: &RunStats) -> BTreeMap<String, f64> {
    let n = stats.frames.max(1) as f64;
    let s = &stats.seconds;
    [
        ("decode", s.decode),
        ("preprocess", s.preprocess),
        ("inference", s.inference),
        ("postprocess", s.postprocess),
        ("classify", s.classify),
        ("motion", s.motion),
        ("track", s.track),
        ("output", s.output),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), (v * 1000.0 / n * 1000.0).round() / 1000.0))
    .collect()
}

fn progress_bar(input: &Path, info: &SourceInfo, enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let name = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bar = match info.expected_frames {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    let style = ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {pos}/{len} frames  {per_sec}  ETA {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(name);
    bar
}
