//! `chaperone analyze-tracks`: the behaviour engine on recorded tracks without video: this program's
//! `tracks.csv`, or pose files of DeepLabCut and SLEAP (CSV, `.h5`); events, a typed summary and the
//! timeline, as `analyze` writes them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Exit;
use super::labels::LabelSource;
use crate::behaviour::{Behaviour, Episode};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::eval;
use crate::kinds::Role;
use crate::labels::{LabelledBout, PoseConfig};
use crate::output::behaviour_csv;
use crate::plot::timeline::Timeline;
use crate::replay::{self, FrameScores, PoseChoice, ReplayTrack};
use crate::runs::run_dir::RunDir;
use crate::scenario::TruthInterval;

#[derive(clap::Args)]
pub struct Args {
    /// A tracks.csv written by `analyze`, or a pose file: DeepLabCut (CSV or .h5) or SLEAP (analysis
    /// .h5 or CSV).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Output directory: events.jsonl and summary.json are written into it.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Frame rate of a pose file (it records frame numbers, not times).
    #[arg(long, value_name = "FPS")]
    fps: Option<f64>,
    /// Which animal the file tracks (a pose file); for a tracks.csv, the animal that must be in it.
    #[arg(long, value_enum, default_value = "rat")]
    role: RoleArg,
    /// A second pose file tracking the other animal (same frame rate, same frames).
    #[arg(long, value_name = "FILE")]
    other: Option<PathBuf>,
    /// In a multi-animal pose file, the individual (DeepLabCut) or track (SLEAP) that is the --role
    /// animal.
    #[arg(long, value_name = "NAME")]
    individual: Option<String>,
    /// In a multi-animal pose file, the individual or track that is the other animal (read from
    /// --other, or from FILE when there is no --other).
    #[arg(long, value_name = "NAME")]
    other_individual: Option<String>,
    /// The video's frame size, e.g. 640x480: places the config's shelter zones, for hiding.
    #[arg(long, value_name = "WxH", value_parser = parse_frame_size)]
    frame_size: Option<(u32, u32)>,
    /// Human labels of the recording, in any format `chaperone labels` reads (BORIS, ezTrack, SimBA,
    /// Bento, Caltech, `start_frame,end_frame` bouts from 1): prints per-frame agreement, precision,
    /// recall and F1 of each labelled behaviour against them.
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
    #[command(flatten)]
    labels_source: LabelSource,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Rat,
    Cat,
}

/// `summary.json` of a replay. (Fields in alphabetical order: the order this file has always had.)
#[derive(Debug, Clone, Serialize)]
pub struct ReplaySummary {
    pub animals: Vec<Role>,
    /// The main track's body length, in its pixels.
    pub body_length: f64,
    pub episodes: Vec<Episode>,
    pub fps: f64,
    pub frames: usize,
    /// Per-frame scores of the engine's freezing against the `--labels` bouts.
    pub freezing_vs_labels: Option<FrameScores>,
    pub input: String,
    /// Per labelled behaviour, per-frame scores of the engine's episodes against the `--labels` bouts.
    pub labelled: BTreeMap<String, FrameScores>,
    pub outputs: Vec<String>,
}

pub fn run(config: &Config, args: &Args) -> Result<Exit> {
    let tracks = read_tracks(args, &config.pose)?;
    let main = &tracks[0];
    let truth: Option<Vec<LabelledBout>> = match &args.labels {
        Some(path) => {
            let file = args.labels_source.read(path)?;
            Some(file.resolve(&config.labels, Some(&args.file), Some(main.fps))?.bouts)
        }
        None => None,
    };
    let mut run_dir = RunDir::create(&args.out)?;
    if args.frame_size.is_none() && !config.behaviour.hiding.shelters.is_empty() {
        eprintln!("chaperone: shelters are set but --frame-size is not: hiding is not judged");
    }
    let refs: Vec<&ReplayTrack> = tracks.iter().collect();
    let moments = replay::moments(&refs, args.frame_size);
    let events = run_dir.events_path();
    let _ = std::fs::remove_file(&events);
    let replayed = replay::replay(&moments, config, &run_dir.written(&events))?;
    let episodes = replayed.episodes;
    let behaviour_path = run_dir.behaviour_path();
    let frames = moments.iter().enumerate().map(|(i, m)| (i as u64, m.time_s));
    behaviour_csv::write(&run_dir.written(&behaviour_path), frames, &episodes)?;
    if let (Some(first), Some(last)) = (moments.first(), moments.last()) {
        let name = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let title = format!("{name} (replayed tracks): {} episodes", episodes.len());
        let span = (first.time_s, last.time_s);
        let mut picture = Timeline::new(title, span, replayed.gap, episodes.clone(), &config.session, None);
        // Human-scored bouts under the engine's own, a bout's last frame drawn to its end.
        for (behaviour, bouts) in by_behaviour(truth.as_deref().unwrap_or_default()) {
            let spans = bouts.iter().map(|b| (b.start_s, b.end_s + 1.0 / main.fps)).collect();
            picture.labelled.push((format!("labels: {}", behaviour.name()), spans));
        }
        if let Some(problem) = run_dir.draw_timeline(&picture) {
            eprintln!("chaperone: {problem}");
        }
    }
    // Scored over the replayed frames, as `eval` scores a labelled recording.
    let true_intervals: Vec<TruthInterval> = truth
        .iter()
        .flatten()
        .map(|b| TruthInterval { behaviour: b.behaviour, start_s: b.start_s, end_s: b.end_s })
        .collect();
    let times: Vec<f64> = moments.iter().map(|m| m.time_s).collect();
    let score = |behaviour: Behaviour| eval::frame_scores(behaviour, &true_intervals, &times, &episodes);
    let labelled: BTreeMap<String, FrameScores> = by_behaviour(truth.as_deref().unwrap_or_default())
        .into_keys()
        .map(|b| (b.name().to_string(), score(b)))
        .collect();
    // Freezing, the behaviour a bouts file always labelled, also under its own key, as before.
    let scores = truth.as_ref().map(|_| score(Behaviour::Freezing));
    let summary = ReplaySummary {
        input: args.file.display().to_string(),
        animals: tracks.iter().map(|t| t.role).collect(),
        frames: main.frames,
        fps: main.fps,
        body_length: main.body_length,
        episodes,
        freezing_vs_labels: scores,
        labelled,
        outputs: run_dir.outputs().to_vec(),
    };
    run_dir.write_summary(&summary)?;
    print_summary(&summary, &args.out);
    Ok(Exit::Success)
}

/// The tracks the file holds (and `--other`'s), with the `--role` animal first. In a pose file the
/// individuals are those of `--individual` / `--other-individual`, else of the config's `[pose]`.
fn read_tracks(args: &Args, pose: &PoseConfig) -> Result<Vec<ReplayTrack>> {
    let role = match args.role {
        RoleArg::Rat => Role::Rat,
        RoleArg::Cat => Role::Cat,
    };
    let other_role = if role == Role::Rat { Role::Cat } else { Role::Rat };
    if !replay::is_pose_file(&args.file)? {
        // A tracks.csv holds both animals: replay whichever it has, the --role one at least.
        let mut tracks = vec![ReplayTrack::from_tracks_csv(&args.file, role)?];
        tracks.extend(ReplayTrack::from_tracks_csv(&args.file, other_role).ok());
        return Ok(tracks);
    }
    let fps = args.fps.ok_or_else(|| {
        Error::Config("a pose file records frame numbers, not times: pass its frame rate with --fps".into())
    })?;
    let min_likelihood = pose.min_likelihood;
    let individual = args.individual.as_deref().or(pose.individual(role));
    let choice = PoseChoice { individual, min_likelihood };
    let mut tracks = vec![ReplayTrack::from_pose(&args.file, fps, role, choice)?];
    let other_individual = args.other_individual.as_deref().or(pose.individual(other_role));
    let other_choice = PoseChoice { individual: other_individual, min_likelihood };
    match (&args.other, other_individual) {
        (Some(other), _) => tracks.push(ReplayTrack::from_pose(other, fps, other_role, other_choice)?),
        // The other animal from the same file, when it is named.
        (None, Some(_)) => tracks.push(ReplayTrack::from_pose(&args.file, fps, other_role, other_choice)?),
        (None, None) => {}
    }
    Ok(tracks)
}

fn print_summary(summary: &ReplaySummary, out: &Path) {
    let mut counts = std::collections::BTreeMap::<&str, (usize, f64)>::new();
    for e in &summary.episodes {
        let c = counts.entry(e.behaviour.name()).or_default();
        c.0 += 1;
        c.1 += e.duration_s(e.end_s.unwrap_or(e.onset_s));
    }
    let found: Vec<String> = counts.iter().map(|(b, (n, s))| format!("{b} x{n} ({s:.1} s)")).collect();
    println!(
        "{}: {} frames at {:.1} fps; {} -> {}",
        summary.input,
        summary.frames,
        summary.fps,
        if found.is_empty() { "no episodes".to_string() } else { found.join(", ") },
        out.display()
    );
    for (behaviour, s) in &summary.labelled {
        println!(
            "{behaviour} vs labels, per frame: agreement {:.3}, precision {:.3}, recall {:.3}, F1 {:.3}",
            s.agreement, s.precision, s.recall, s.f1
        );
    }
}

/// Labelled bouts grouped by behaviour.
fn by_behaviour(bouts: &[LabelledBout]) -> BTreeMap<Behaviour, Vec<LabelledBout>> {
    let mut grouped: BTreeMap<Behaviour, Vec<LabelledBout>> = BTreeMap::new();
    for b in bouts {
        grouped.entry(b.behaviour).or_default().push(*b);
    }
    grouped
}

fn parse_frame_size(s: &str) -> std::result::Result<(u32, u32), String> {
    let parsed = s.split_once('x').and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)));
    match parsed {
        Some((w, h)) if w > 0 && h > 0 => Ok((w, h)),
        _ => Err(format!("expected WIDTHxHEIGHT in pixels, like 640x480, got `{s}`")),
    }
}
