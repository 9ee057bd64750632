//! `chaperone tune`: the threshold search (see [`crate::tune`]) from the command line: the training and
//! held-out sets, the chosen config written as TOML, the precision-recall pictures, the report.

use std::path::{Path, PathBuf};

use super::Exit;
use crate::behaviour::BehaviourConfig;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::scenario::{self, Scenario, tracks::Variation};
use crate::{eval, plot, tune};

#[derive(clap::Args)]
pub struct Args {
    /// Scenario files or directories of them (default: fixtures/scenarios).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Where to write the chosen config (TOML); the precision-recall pictures go beside it
    /// (NAME.pr.png, NAME.pr.svg).
    #[arg(long, value_name = "CONFIG")]
    out: PathBuf,
    /// Noisy renderings per scenario to tune on; as many others, with other noise, are held out.
    #[arg(long, default_value_t = 20)]
    variations: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Passes of the coordinate search.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// The goal's cap on false alarms per quiet hour, per alarm-worthy behaviour.
    #[arg(long, default_value_t = 1.0)]
    max_false_alarms_per_hour: f64,
    /// The goal's cap on a fast approach's alarm latency (p95), seconds.
    #[arg(long, default_value_t = 1.0)]
    max_approach_latency: f64,
}

pub fn run(config: &Config, args: &Args) -> Result<Exit> {
    let started = std::time::Instant::now();
    for (name, v) in [
        ("--max-false-alarms-per-hour", args.max_false_alarms_per_hour),
        ("--max-approach-latency", args.max_approach_latency),
    ] {
        if !(v > 0.0 && v.is_finite()) {
            return Err(Error::Config(format!("{name} must be a positive number, got {v}")));
        }
    }
    let paths = if args.paths.is_empty() { vec![scenario::bundled_dir()] } else { args.paths.clone() };
    let mut scenarios = scenario::find(&paths)?.iter().map(|p| Scenario::load(p)).collect::<Result<Vec<_>>>()?;
    let videos = scenarios.iter().filter(|s| s.video.is_some()).count();
    if videos > 0 {
        eprintln!("tune: {videos} scenario(s) with a video left out: the search runs on rendered tracks");
        scenarios.retain(|s| s.video.is_none());
    }
    // Tuned on the ideal renderings and one set of noise; scored again on another set it never saw.
    let train_set: Vec<Variation> =
        std::iter::once(Variation::ideal()).chain(Variation::set(args.variations, args.seed)).collect();
    let held_set = Variation::set(args.variations.max(1), args.seed.wrapping_add(7919));
    let train = eval::prepare(&scenarios, &train_set);
    let held = eval::prepare(&scenarios, &held_set);
    let goal = tune::Goal {
        max_false_alarms_per_hour: args.max_false_alarms_per_hour,
        max_approach_latency_s: args.max_approach_latency,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let start = &config.behaviour;
    let tuned = tune::search(&train, start, &goal, args.rounds, threads);

    // NAME.toml -> NAME.pr.png and NAME.pr.svg
    let curves = tune::pr_curves(&train, &tuned.config, threads);
    let pictures = plot::pr_curves(&curves, &args.out.with_extension("pr"))?;
    let held_out = HeldOut {
        variations: held_set.len(),
        before: eval::evaluate_prepared(&held, start),
        after: eval::evaluate_prepared(&held, &tuned.config),
    };
    let header = format!(
        "# Written by `chaperone tune` on {} scenarios ({} renderings each to tune on).\n\
         # Goal: mean event F1, with at most {} false alarms per quiet hour per behaviour and approach alarms within {} s (p95).\n\
         # Goal on the training set: {:.3} -> {:.3}; on the held-out set: {:.3} -> {:.3}.\n",
        scenarios.len(),
        train_set.len(),
        goal.max_false_alarms_per_hour,
        goal.max_approach_latency_s,
        tuned.objective_before,
        tuned.objective_after,
        tune::objective(&held_out.before, &goal),
        tune::objective(&held_out.after, &goal),
    );
    write_config(&args.out, header, &tuned.config)?;
    print_report(config, &held_out, &tuned, &goal, start)?;
    println!(
        "{} evaluations on {threads} threads in {:.1} s -> {} ({})",
        tuned.evaluations,
        started.elapsed().as_secs_f64(),
        args.out.display(),
        pictures.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    Ok(Exit::Success)
}

/// The scores on the held-out set, before and after the search.
struct HeldOut {
    variations: usize,
    before: eval::Report,
    after: eval::Report,
}

/// The chosen thresholds as a config file, under a header that says how they were chosen.
fn write_config(path: &Path, header: String, behaviour: &BehaviourConfig) -> Result<()> {
    #[derive(serde::Serialize)]
    struct Written<'a> {
        behaviour: &'a BehaviourConfig,
    }
    let text = header + &toml::to_string(&Written { behaviour }).expect("configs serialise");
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

fn print_report(
    config: &Config,
    held: &HeldOut,
    tuned: &tune::Tuned,
    goal: &tune::Goal,
    start: &BehaviourConfig,
) -> Result<()> {
    println!("held-out set ({} renderings per scenario, noise the search never saw):", held.variations);
    println!("{:<12} {:>14} {:>14} {:>16}", "behaviour", "F1 before", "F1 after", "FA/hour after");
    for b in &held.after.behaviours {
        let before = held.before.behaviours.iter().find(|x| x.behaviour == b.behaviour).map_or(0.0, |x| x.f1);
        println!("{:<12} {:>14.3} {:>14.3} {:>16.1}", b.behaviour, before, b.f1, b.false_alarms_per_hour);
    }
    println!(
        "goal: training {:.3} -> {:.3}, held-out {:.3} -> {:.3}",
        tuned.objective_before,
        tuned.objective_after,
        tune::objective(&held.before, goal),
        tune::objective(&held.after, goal)
    );
    // The bundled labelled recordings (real, human-scored), never tuned on: how the change carries over.
    for path in scenario::bundled_recordings_without_video() {
        let recording = Scenario::load(&path)?;
        let score = |behaviour: &BehaviourConfig| -> Result<Vec<eval::RecordingScore>> {
            let run = eval::tracks_run(&recording, behaviour, &config.pose)?;
            Ok(eval::recording_scores(&eval::labelled(&recording, config, &run.times)?, &run))
        };
        for (before, after) in score(start)?.iter().zip(score(&tuned.config)?) {
            println!(
                "labelled recording {} (never tuned on): {} per-frame F1 {:.3} -> {:.3}",
                before.recording, before.behaviour, before.scores.f1, after.scores.f1
            );
        }
    }
    for (key, from, to) in &tuned.changes {
        println!("  {key}: {from} -> {to}");
    }
    if tuned.changes.is_empty() {
        println!("  no threshold changed: the starting config scores best");
    }
    Ok(())
}
