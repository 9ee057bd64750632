//! `chaperone eval`: the behaviour engine scored per behaviour on labelled scenarios (default: the
//! bundled ones, and the bundled labelled recordings whose files are here) and on labelled recordings: a
//! video through the whole pipeline, or tracks replayed, against human labels in any format
//! `chaperone labels` reads.

use std::path::{Path, PathBuf};

use super::Exit;
use super::labels::LabelSource;
use crate::config::Config;
use crate::detect::AnimalDetector;
use crate::error::{Error, Result};
use crate::eval::{self, RecordingScore};
use crate::scenario::{self, RecordingSource, Scenario, tracks::Variation};

#[derive(clap::Args)]
pub struct Args {
    /// Scenario and recording files (`*.toml`) or directories of them (default: fixtures/scenarios and
    /// the labelled recordings of fixtures/recordings that need no video).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Noisy renderings per scenario, besides the ideal one.
    #[arg(long, default_value_t = 20)]
    variations: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// A labelled recording given as a pair with --labels: a video (run through the whole pipeline),
    /// a DeepLabCut CSV (with --fps) or a tracks.csv of the rat. Repeat the pair for more.
    #[arg(long, value_name = "VIDEO|TRACKS")]
    recording: Vec<PathBuf>,
    /// The human labels of the --recording in the same place.
    #[arg(long, value_name = "FILE")]
    labels: Vec<PathBuf>,
    #[command(flatten)]
    labels_source: LabelSource,
    /// The frame rate of --recording tracks that count frames (DeepLabCut).
    #[arg(long, value_name = "FPS")]
    fps: Option<f64>,
}

pub fn run(config: &Config, args: &Args) -> Result<Exit> {
    let scenarios = scenarios(args)?;
    let variations = Variation::set(args.variations, args.seed);
    // Recordings (videos, tracks) are scored once as they are; the others are rendered into tracks,
    // ideally and with each variation.
    let (recordings, synthetic): (Vec<Scenario>, Vec<Scenario>) =
        scenarios.into_iter().partition(Scenario::is_recording);
    let mut report = eval::evaluate(&synthetic, &variations, &config.behaviour);
    let mut per_recording: Vec<RecordingScore> = Vec::new();
    if !recordings.is_empty() {
        let mut detector = None;
        let mut acc = eval::Accumulator::default();
        for s in &recordings {
            let run = if s.video.is_some() {
                let detector = match &mut detector {
                    Some(d) => d,
                    None => detector.insert(AnimalDetector::load(&config.runtime, &config.detector, &config.roles)?),
                };
                eval::video_run(s, config, detector)?
            } else {
                eval::tracks_run(s, &config.behaviour, &config.pose)?
            };
            let labelled = eval::labelled(s, config, &run.times)?;
            per_recording.extend(eval::recording_scores(&labelled, &run));
            acc.add(&labelled, std::iter::once((run.times, run.episodes)));
            acc.add_positions(run.positions);
        }
        let recording_report = acc.report();
        report = if synthetic.is_empty() { recording_report } else { eval::merge(report, recording_report) };
    }

    if args.json {
        let json = serde_json::json!({ "scenarios": report, "labelled_recordings": per_recording });
        println!("{}", serde_json::to_string_pretty(&crate::output::versioned(&json)).expect("reports serialise"));
    } else {
        print!("{}", eval::table(&report));
        for r in &per_recording {
            let s = &r.scores;
            println!(
                "labelled recording {}: {} per frame ({} frames, {} labelled bouts): agreement {:.3}, precision {:.3}, recall {:.3}, F1 {:.3}",
                r.recording, r.behaviour, s.frames, r.labelled_bouts, s.agreement, s.precision, s.recall, s.f1
            );
        }
    }
    Ok(Exit::Success)
}

/// The scenarios and recordings to score: the paths', else the bundled ones; and the --recording pairs.
fn scenarios(args: &Args) -> Result<Vec<Scenario>> {
    let mut scenarios = if args.paths.is_empty() {
        let mut bundled = scenario::find(&[scenario::bundled_dir()])?;
        bundled.extend(scenario::bundled_recordings_without_video());
        bundled
    } else {
        scenario::find(&args.paths)?
    }
    .iter()
    .map(|p| Scenario::load(p))
    .collect::<Result<Vec<_>>>()?;
    if args.recording.len() != args.labels.len() {
        return Err(Error::Config(format!(
            "--recording and --labels come in pairs: got {} recordings and {} label files",
            args.recording.len(),
            args.labels.len()
        )));
    }
    for (recording, labels) in args.recording.iter().zip(&args.labels) {
        scenarios.push(pair(recording, labels, args)?);
    }
    Ok(scenarios)
}

/// A labelled recording from a `--recording` and its `--labels`: a `.csv` is tracks of the rat, anything
/// else a video.
fn pair(recording: &Path, labels: &Path, args: &Args) -> Result<Scenario> {
    let source = if recording.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        RecordingSource::Tracks(recording.to_path_buf())
    } else {
        RecordingSource::Video(recording.to_path_buf())
    };
    let format = args.labels_source.labels_format.map(|f| f.name().to_string());
    Scenario::recording(source, labels.to_path_buf(), format, args.fps)
}
