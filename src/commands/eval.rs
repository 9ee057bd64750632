//! `chaperone eval`: the behaviour engine scored on labelled scenarios (default: the bundled ones), per
//! behaviour, and on the real human-scored freezing recording.

use std::path::PathBuf;

use super::Exit;
use crate::config::Config;
use crate::detect::AnimalDetector;
use crate::error::Result;
use crate::eval;
use crate::scenario::{self, Scenario, tracks::Variation};

#[derive(clap::Args)]
pub struct Args {
    /// Scenario files or directories of them (default: fixtures/scenarios).
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
    /// The human-scored freezing recording's folder (DeepLabCut tracks + bouts at 50 fps), scored as its
    /// own line. Default: ../shared/media/freezing-labels when it exists.
    #[arg(long, value_name = "DIR")]
    freezing_labels: Option<PathBuf>,
}

pub fn run(config: &Config, args: &Args) -> Result<Exit> {
    let paths = if args.paths.is_empty() { vec![scenario::bundled_dir()] } else { args.paths.clone() };
    let scenarios = scenario::find(&paths)?.iter().map(|p| Scenario::load(p)).collect::<Result<Vec<_>>>()?;
    let variations = Variation::set(args.variations, args.seed);
    // Scenarios with a video (rendered, or labelled recordings) go through the whole pipeline once;
    // the others are rendered into tracks, ideally and with each variation.
    let (videos, synthetic): (Vec<Scenario>, Vec<Scenario>) = scenarios.into_iter().partition(|s| s.video.is_some());
    let mut report = eval::evaluate(&synthetic, &variations, &config.behaviour);
    if !videos.is_empty() {
        let mut detector = AnimalDetector::load(&config.runtime, &config.detector, &config.roles)?;
        let mut acc = eval::Accumulator::default();
        for s in &videos {
            let run = eval::video_run(s, config, &mut detector)?;
            acc.add(s, std::iter::once((run.times, run.episodes)));
            acc.add_positions(run.positions);
        }
        let video_report = acc.report();
        report = if synthetic.is_empty() { video_report } else { eval::merge(report, video_report) };
    }

    // The real, human-scored freezing recording, as its own line.
    let labels_dir = args.freezing_labels.clone().or_else(eval::default_freezing_labels);
    let human = labels_dir.map(|dir| eval::human_freezing(&dir, &config.behaviour)).transpose()?;
    if args.json {
        let json = serde_json::json!({ "scenarios": report, "human_labelled_freezing": human });
        println!("{}", serde_json::to_string_pretty(&json).expect("reports serialise"));
    } else {
        print!("{}", eval::table(&report));
        match human {
            Some(s) => println!(
                "human-labelled freezing (real DeepLabCut tracks, 50 fps, per frame): agreement {:.3}, precision {:.3}, recall {:.3}, F1 {:.3}",
                s.agreement, s.precision, s.recall, s.f1
            ),
            None => println!(
                "human-labelled freezing: not scored (../shared/media/freezing-labels not found; --freezing-labels DIR)"
            ),
        }
    }
    Ok(Exit::Success)
}
