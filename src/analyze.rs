//! `chaperone analyze`: recorded video (or an image directory) in, tracked animals out.
//!
//! Per input it writes, into its own directory: `tracks.csv`, `annotated.mp4` (unless turned off) and
//! `summary.json`. A truncated or partly corrupt input keeps what was decoded, marked `"complete": false`
//! with the problems listed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::behaviour::Episode;
use crate::config::Config;
use crate::detect::{Detector, Role};
use crate::error::{Error, Result};
use crate::motion::MotionDetector;
use crate::output::{AnnotatedVideo, BehaviourLog, TracksCsv};
use crate::pipeline::{self, AnalysedFrame, Analyser, Mode, RunStats, Sink};
use crate::plot::timeline;
use crate::source::image_dir::ImageDir;
use crate::source::video::{self, VideoFile};
use crate::source::{FrameSource, SourceInfo};
use crate::view::frames::ViewFrames;
use crate::view::{ViewEnd, ViewHandle};

/// Frames a second sent to the live view (`--view`) at most: a batch run is not slowed to feed it.
const VIEW_MAX_FPS: f64 = 8.0;

/// How many frames spread over a video seed its background.
const BACKGROUND_SAMPLES: usize = 25;

#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Each input gets a directory in here, named after it.
    pub out_dir: PathBuf,
    /// Write `annotated.mp4`.
    pub annotated_video: bool,
    /// Frame rate of image directories.
    pub image_fps: f64,
    /// Show a progress bar (hidden anyway when stderr is not a terminal).
    pub progress: bool,
    /// The live view in the browser, when one is served.
    pub view: Option<ViewHandle>,
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
    pub dropped_frames: u64,
    /// Frames where the whole scene changed (camera moved, lights).
    pub scene_changes: u64,
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
}

/// Counts, per role, the frames each animal was seen in.
#[derive(Default)]
struct AnimalCounter {
    animals: BTreeMap<String, AnimalSummary>,
}

impl Sink for AnimalCounter {
    fn frame(&mut self, a: &AnalysedFrame) -> Result<()> {
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
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
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

/// Analyses one input into `dir`. An input that cannot be opened is an error; one that breaks off
/// part-way returns its summary marked incomplete.
pub fn analyze_input(
    input: &Path,
    dir: &Path,
    config: &Config,
    detector: &mut dyn Detector,
    options: &AnalyzeOptions,
) -> Result<Summary> {
    let mut source = open_source(input, options.image_fps)?;
    let info = source.info().clone();
    std::fs::create_dir_all(dir).map_err(|e| Error::video(dir, format!("cannot create this output directory: {e}")))?;

    let mut analyser = Analyser::new(config, info.width, info.height);
    if let Some(motion) = &mut analyser.motion {
        seed_background(motion, input, &info)?;
    }

    let mut outputs = Vec::new();
    let tracks_path = dir.join("tracks.csv");
    let mut tracks_csv = TracksCsv::create(&tracks_path)?;
    outputs.push(tracks_path.display().to_string());
    let mut video = if options.annotated_video {
        let path = dir.join("annotated.mp4");
        outputs.push(path.display().to_string());
        Some(AnnotatedVideo::create(&path, info.width, info.height, info.fps.unwrap_or(25.0))?)
    } else {
        None
    };
    let events_path = dir.join("events.jsonl");
    // A re-run starts a fresh log rather than appending to an old one.
    let _ = std::fs::remove_file(&events_path);
    let mut engine = BehaviourLog::new(config, &events_path)?;
    outputs.push(events_path.display().to_string());
    let mut counter = AnimalCounter::default();
    let mut view_frames = options.view.as_ref().map(|view| {
        view.begin(&input.display().to_string(), "analyze");
        engine.log.view = Some(view.clone());
        ViewFrames::new(view.clone(), VIEW_MAX_FPS, info.expected_frames)
    });
    let mut sinks: Vec<&mut dyn Sink> = vec![&mut tracks_csv, &mut counter, &mut engine];
    if let Some(v) = video.as_mut() {
        sinks.push(v);
    }
    if let Some(v) = view_frames.as_mut() {
        sinks.push(v);
    }

    let bar = progress_bar(input, &info, options.progress);
    let outcome = pipeline::run(source.as_mut(), detector, &mut analyser, &mut sinks, Mode::Batch, &mut |_| bar.inc(1));
    bar.finish_and_clear();

    let stats = outcome.stats;
    if let Some(view) = &options.view {
        view.end(ViewEnd::without_stop("finished", stats.last_time_s.unwrap_or(0.0)));
    }
    let mut problems = outcome.source_problems;
    if let Some(e) = &outcome.error {
        problems.push(format!("stopped early: {e}"));
    }
    let short = info.expected_frames.is_some_and(|n| (stats.frames as f64) < 0.98 * n as f64 - 1.0);
    if short {
        problems.push(format!(
            "only {} of the {} frames the file announces could be decoded (truncated or corrupt file)",
            stats.frames,
            info.expected_frames.unwrap_or(0)
        ));
    }
    if let (Some(first), Some(last)) = (stats.first_time_s, stats.last_time_s) {
        let name = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let n = engine.book.episodes.len();
        let title = format!("{name}: {n} episode{} in {:.1} s", if n == 1 { "" } else { "s" }, last - first);
        match timeline::write(&engine.timeline(title, first, last, None), &dir.join("timeline")) {
            Ok(paths) => outputs.extend(paths.iter().map(|p| p.display().to_string())),
            // The picture is a view of what is already on disk: losing it must not lose the run.
            Err(e) => problems.push(format!("timeline.png not drawn: {e}")),
        }
    }
    let mut animals = counter.animals;
    for a in animals.values_mut() {
        a.fraction_of_frames = if stats.frames > 0 { a.frames_seen as f64 / stats.frames as f64 } else { 0.0 };
    }
    let summary = Summary {
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
        dropped_frames: stats.dropped_frames,
        scene_changes: stats.scene_changes,
        animals,
        timings_ms_per_frame: per_frame_ms(&stats),
        episodes: engine.book.episodes.clone(),
        outputs,
        source: info,
    };
    let summary_path = dir.join("summary.json");
    let json = serde_json::to_string_pretty(&summary).expect("summary serialises");
    std::fs::write(&summary_path, json + "\n").map_err(|e| Error::io(&summary_path, e))?;
    if stats.frames == 0 {
        return Err(Error::video(input, "no frame could be decoded (empty or corrupt video)"));
    }
    Ok(summary)
}

pub fn seed_background(motion: &mut MotionDetector, input: &Path, info: &SourceInfo) -> Result<()> {
    if input.is_dir() {
        return Ok(()); // learnt from the first frames instead
    }
    let frames = video::sample_frames(input, info.expected_frames, BACKGROUND_SAMPLES)?;
    let working: Vec<_> = frames.iter().map(|f| motion.working_copy(f)).collect();
    motion.seed_background(&working);
    Ok(())
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
