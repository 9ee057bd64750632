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
    let scenarios = scenario::find(&paths)?.iter().map(|p| Scenario::load(p)).collect::<Result<Vec<_>>>()?;
    let (mut recordings, rendered): (Vec<Scenario>, Vec<Scenario>) =
        scenarios.into_iter().partition(Scenario::is_recording);
    let videos = recordings.iter().filter(|s| s.video.is_some()).count();
    if videos > 0 {
        eprintln!(
            "tune: {videos} labelled recording(s) with a video left out: the search replays tracks (name the \
             tracks.csv that `chaperone analyze` wrote for it under [tracks] instead)"
        );
        recordings.retain(|s| s.video.is_none());
    }
    if let [only] = recordings.as_slice() {
        return Err(Error::Config(format!(
            "tune holds labelled recordings out whole, so it needs two or more: {} is the only one (add \
             another, or tune on rendered scenarios alone)",
            only.name
        )));
    }
    if rendered.is_empty() && recordings.is_empty() {
        return Err(Error::Config("tune: no scenario or labelled recording to tune on".into()));
    }
    // Renderings: tuned on the ideal ones and one set of noise; scored again on another set it never saw.
    let train_set: Vec<Variation> =
        std::iter::once(Variation::ideal()).chain(Variation::set(args.variations, args.seed)).collect();
    let held_set = Variation::set(args.variations.max(1), args.seed.wrapping_add(7919));
    let rendered_train = eval::prepare(&rendered, &train_set);
    let rendered_held = eval::prepare(&rendered, &held_set);
    let recorded = eval::prepare_recordings(&recordings, config)?;
    let goal = tune::Goal {
        max_false_alarms_per_hour: args.max_false_alarms_per_hour,
        max_approach_latency_s: args.max_approach_latency,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let search = Search { start: &config.behaviour, goal: &goal, rounds: args.rounds, threads };
    let folds = cross_validate(&rendered_train, &recorded, &search);
    // The config written is tuned on everything; the figures that judge it are the held-out ones above.
    let everything = rendered_train.joined(&recorded);
    let tuned = tune::search(&everything, search.start, &goal, args.rounds, threads);

    // NAME.toml -> NAME.pr.png and NAME.pr.svg
    let curves = tune::pr_curves(&everything, &tuned.config, threads);
    let pictures = plot::pr_curves(&curves, &args.out.with_extension("pr"))?;
    let held_out = HeldOut {
        variations: held_set.len(),
        before: eval::evaluate_prepared(&rendered_held, search.start),
        after: eval::evaluate_prepared(&rendered_held, &tuned.config),
    };
    let pooled = pooled(&folds);
    let header = config_header(&rendered, &recorded, &train_set, &goal, &tuned, &held_out, pooled.as_ref());
    write_config(&args.out, header, &tuned.config)?;
    write_folds(&args.out.with_extension("folds.json"), &recorded, &folds)?;
    if !rendered.is_empty() {
        print_report(config, &held_out, &tuned, &goal, search.start, recordings.is_empty())?;
    }
    print_cross_validation(&recorded, &folds, pooled.as_ref(), &goal);
    print_changes(&tuned);
    println!(
        "{} evaluations on {threads} threads in {:.1} s -> {} ({})",
        tuned.evaluations + folds.iter().map(|f| f.evaluations).sum::<usize>(),
        started.elapsed().as_secs_f64(),
        args.out.display(),
        pictures.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    Ok(Exit::Success)
}

/// Where a search starts and what it aims at.
struct Search<'a> {
    start: &'a BehaviourConfig,
    goal: &'a tune::Goal,
    rounds: usize,
    threads: usize,
}

/// One fold of the cross-validation by recording: the search ran on every recording but `held_out`
/// (and on the renderings), and is scored on `held_out` alone.
struct Fold {
    held_out: Vec<usize>,
    before: eval::Report,
    after: eval::Report,
    /// Per held-out recording and labelled behaviour: per-frame scores before and after.
    frame_scores: Vec<(eval::RecordingScore, eval::RecordingScore)>,
    changes: Vec<(&'static str, f64, f64)>,
    evaluations: usize,
}

/// Leave-one-recording-out (or, with many, folds of recordings): no recording's frames are ever on both
/// sides. No recordings: no folds.
fn cross_validate(rendered_train: &eval::Prepared, recorded: &eval::Prepared, search: &Search) -> Vec<Fold> {
    let count = recorded.scenarios.len();
    if count == 0 {
        return Vec::new();
    }
    tune::folds(count)
        .into_iter()
        .map(|held_out| {
            let train = rendered_train.joined(&recorded.subset(&tune::trained_on(count, &held_out)));
            let tuned = tune::search(&train, search.start, search.goal, search.rounds, search.threads);
            let held = recorded.subset(&held_out);
            let frame_scores = frame_scores(&held, search.start).into_iter().zip(frame_scores(&held, &tuned.config));
            Fold {
                before: eval::evaluate_prepared(&held, search.start),
                after: eval::evaluate_prepared(&held, &tuned.config),
                frame_scores: frame_scores.collect(),
                changes: tuned.changes,
                evaluations: tuned.evaluations,
                held_out,
            }
        })
        .collect()
}

/// Per recording and labelled behaviour of `prepared`, the per-frame scores under `config`.
fn frame_scores(prepared: &eval::Prepared, config: &BehaviourConfig) -> Vec<eval::RecordingScore> {
    let mut scores = Vec::new();
    for (recording, runs) in prepared.scenarios.iter().zip(&prepared.runs) {
        for moments in runs {
            let times = moments.iter().map(|m| m.time_s).collect();
            let episodes = eval::episodes(moments, &recording.config_for(config));
            let run = eval::RecordingRun { times, episodes, positions: Vec::new() };
            scores.extend(eval::recording_scores(recording, &run));
        }
    }
    scores
}

/// Every fold's held-out scores as one report each for before and after: each recording scored by the
/// config tuned without it.
fn pooled(folds: &[Fold]) -> Option<(eval::Report, eval::Report)> {
    let mut folds = folds.iter();
    let first = folds.next()?;
    Some(folds.fold((first.before.clone(), first.after.clone()), |(before, after), f| {
        (eval::merge(before, f.before.clone()), eval::merge(after, f.after.clone()))
    }))
}

/// The scores on the held-out renderings, before and after the search.
struct HeldOut {
    variations: usize,
    before: eval::Report,
    after: eval::Report,
}

/// The written config's header: how it was chosen, held-out figures first.
fn config_header(
    rendered: &[Scenario],
    recorded: &eval::Prepared,
    train_set: &[Variation],
    goal: &tune::Goal,
    tuned: &tune::Tuned,
    held: &HeldOut,
    pooled: Option<&(eval::Report, eval::Report)>,
) -> String {
    let mut header = format!(
        "# Written by `chaperone tune` on {} rendered scenarios ({} renderings each) and {} labelled recordings.\n\
         # Goal: mean of event and per-frame F1, with at most {} false alarms per quiet hour per behaviour and approach alarms within {} s (p95).\n",
        rendered.len(),
        train_set.len(),
        recorded.scenarios.len(),
        goal.max_false_alarms_per_hour,
        goal.max_approach_latency_s,
    );
    if let Some((before, after)) = pooled {
        header += &format!(
            "# Goal on the held-out recordings (each scored by a search that never saw it): {:.3} -> {:.3}.\n",
            tune::objective(before, goal),
            tune::objective(after, goal),
        );
    }
    if !rendered.is_empty() {
        header += &format!(
            "# Goal on held-out renderings: {:.3} -> {:.3}.\n",
            tune::objective(&held.before, goal),
            tune::objective(&held.after, goal)
        );
    }
    header
        + &format!(
            "# Goal on everything it was tuned on: {:.3} -> {:.3}.\n",
            tuned.objective_before, tuned.objective_after
        )
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

/// `NAME.folds.json`: which recordings each fold held out and trained on, and its held-out scores, so
/// the split can be checked.
fn write_folds(path: &Path, recorded: &eval::Prepared, folds: &[Fold]) -> Result<()> {
    let name = |k: &usize| recorded.scenarios[*k].name.clone();
    let count = recorded.scenarios.len();
    let folds: Vec<serde_json::Value> = folds
        .iter()
        .map(|f| {
            serde_json::json!({
                "held_out": f.held_out.iter().map(name).collect::<Vec<_>>(),
                "trained_on": tune::trained_on(count, &f.held_out).iter().map(name).collect::<Vec<_>>(),
                "changes": f.changes.iter().map(|(k, from, to)| serde_json::json!({"key": k, "from": from, "to": to})).collect::<Vec<_>>(),
                "held_out_scores": f.frame_scores.iter().map(|(before, after)| serde_json::json!({
                    "recording": after.recording,
                    "behaviour": after.behaviour,
                    "frame_f1_before": before.scores.f1,
                    "frame_f1_after": after.scores.f1,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let text = serde_json::to_string_pretty(&serde_json::json!({ "folds": folds })).expect("JSON serialises");
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}

/// The held-out renderings' scores, then how the change carries over to the bundled human-labelled
/// recordings (`bundled`: when no recording was given to tune on).
fn print_report(
    config: &Config,
    held: &HeldOut,
    tuned: &tune::Tuned,
    goal: &tune::Goal,
    start: &BehaviourConfig,
    bundled: bool,
) -> Result<()> {
    println!("held-out set ({} renderings per scenario, noise the search never saw):", held.variations);
    print_table(&held.before, &held.after);
    println!(
        "goal: training {:.3} -> {:.3}, held-out {:.3} -> {:.3}",
        tuned.objective_before,
        tuned.objective_after,
        tune::objective(&held.before, goal),
        tune::objective(&held.after, goal)
    );
    // The bundled labelled recordings (real, human-scored), never tuned on: how the change carries over.
    for path in scenario::bundled_recordings_without_video().into_iter().filter(|_| bundled) {
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
    Ok(())
}

/// Per behaviour: event F1 before and after, false alarms per quiet hour after.
fn print_table(before: &eval::Report, after: &eval::Report) {
    println!("{:<12} {:>14} {:>14} {:>16}", "behaviour", "F1 before", "F1 after", "FA/hour after");
    for b in &after.behaviours {
        let was = before.behaviours.iter().find(|x| x.behaviour == b.behaviour).map_or(0.0, |x| x.f1);
        println!("{:<12} {:>14.3} {:>14.3} {:>16.1}", b.behaviour, was, b.f1, b.false_alarms_per_hour);
    }
}

/// The headline when recordings were given: every recording scored by the search that never saw it.
fn print_cross_validation(
    recorded: &eval::Prepared,
    folds: &[Fold],
    pooled: Option<&(eval::Report, eval::Report)>,
    goal: &tune::Goal,
) {
    let Some((before, after)) = pooled else { return };
    let kind =
        if folds.iter().all(|f| f.held_out.len() == 1) { "leave-one-recording-out" } else { "folds of recordings" };
    println!(
        "held-out recordings ({kind}, {} folds: each recording scored by a search that never saw it):",
        folds.len()
    );
    print_table(before, after);
    for fold in folds {
        for (was, now) in &fold.frame_scores {
            println!(
                "  {} (held out): {} per-frame F1 {:.3} -> {:.3}",
                now.recording, now.behaviour, was.scores.f1, now.scores.f1
            );
        }
    }
    println!(
        "goal on held-out recordings: {:.3} -> {:.3} ({} recordings)",
        tune::objective(before, goal),
        tune::objective(after, goal),
        recorded.scenarios.len()
    );
}

fn print_changes(tuned: &tune::Tuned) {
    for (key, from, to) in &tuned.changes {
        println!("  {key}: {from} -> {to}");
    }
    if tuned.changes.is_empty() {
        println!("  no threshold changed: the starting config scores best");
    }
}
