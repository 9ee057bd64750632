//! `chaperone analyze`: recorded videos (or image directories) in, each analysed into a folder of its own
//! (see [`crate::runs::recording`]); inputs that cannot be opened are reported before the models load.

use std::path::{Path, PathBuf};

use super::{Exit, VIEW_LINGER, ViewArgs, signals, start_view};
use crate::config::Config;
use crate::detect::AnimalDetector;
use crate::error::{Error, Result};
use crate::runs::recording::{self, RecordingOptions, Summary};
use crate::runs::{report, run_dir};
use crate::view::ViewServer;

#[derive(clap::Args)]
pub struct Args {
    /// Video files (anything ffmpeg reads: mp4, avi, mkv, wmv...) or directories of images.
    #[arg(required = true, value_name = "VIDEO")]
    inputs: Vec<PathBuf>,
    /// Output directory; each input gets a directory in it named after the input.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Do not write annotated.mp4.
    #[arg(long)]
    no_video: bool,
    /// Frame rate of image directories (frames per second).
    #[arg(long, default_value_t = 10.0, value_name = "FPS")]
    fps: f64,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
    /// Analyse only shard K of N (K from 0): the inputs sorted by path, every N-th from the K-th, each
    /// in the folder an unsharded run gives it. For cluster job arrays (Slurm's
    /// SLURM_ARRAY_TASK_ID, Kubernetes' JOB_COMPLETION_INDEX); `chaperone report OUT` merges the shards.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    #[command(flatten)]
    view: ViewArgs,
}

pub fn run(config: &Config, args: &Args) -> Result<Exit> {
    run_dir::create_dir(&args.out)?;
    let inputs = inputs_of_shard(args);
    if inputs.is_empty() {
        let (k, n) = args.shard.unwrap_or((0, 1));
        eprintln!("chaperone: shard {k}/{n} has no input ({} inputs in all): nothing to do", args.inputs.len());
        return Ok(Exit::Success);
    }
    let view = start_view(&args.view, args.view.view)?;
    let options = RecordingOptions {
        annotated_video: !args.no_video,
        image_fps: args.fps,
        progress: !args.quiet,
        view: view.as_ref().map(ViewServer::handle),
        keep_frame_boxes: false,
    };
    // Inputs that cannot even be opened are reported before the models load (which takes seconds).
    let mut failed = false;
    let mut readable = Vec::new();
    for (input, dir) in &inputs {
        match recording::check_input(input, args.fps) {
            Ok(()) => readable.push((input, dir)),
            Err(err) => {
                eprintln!("chaperone: {err}");
                failed = true;
            }
        }
    }
    if readable.is_empty() {
        return Ok(Exit::Failed);
    }
    // The first input is opened and its background sampled while the models load: the two take about
    // as long each, and together they are the wait before the first frame.
    let first = readable[0].0.clone();
    let (first_opened, loaded) = std::thread::scope(|scope| {
        let opening = scope.spawn(|| recording::OpenedInput::open(&first, config, &options));
        let loaded = AnimalDetector::load(&config.runtime, &config.detector, &config.roles);
        (opening.join().unwrap_or_else(|_| Err(Error::source(&first, "opening it failed unexpectedly"))), loaded)
    });
    let mut detector = loaded?;
    let mut first_opened = Some(first_opened);
    signals::install("the analysis");
    let mut run_dirs = Vec::new();
    for (input, dir) in readable {
        if let Some(ending) = signals::received() {
            eprintln!("chaperone: {}: not analysed, {} ended the program", input.display(), ending.name());
            continue;
        }
        run_dirs.push(dir.clone());
        let opened = match first_opened.take().filter(|_| *input == first) {
            Some(opened) => opened,
            None => recording::OpenedInput::open(input, config, &options),
        };
        match opened.and_then(|opened| recording::analyse_opened(opened, dir, config, &mut detector, &options)) {
            Ok(recording::Analysed { summary, .. }) => {
                print_summary(&summary, dir);
                if !summary.complete {
                    failed = true;
                    for p in &summary.problems {
                        eprintln!("chaperone: {}: {p}", input.display());
                    }
                }
            }
            Err(err) => {
                eprintln!("chaperone: {err}");
                failed = true;
            }
        }
    }
    write_batch_summary(args, &run_dirs);
    if let Some(view) = &view {
        view.linger(VIEW_LINGER);
    }
    Ok(match signals::received() {
        Some(ending) => Exit::Signalled(ending),
        None if failed => Exit::Failed,
        None => Exit::Success,
    })
}

/// This shard's inputs (all of them, unsharded), sorted by path, each with its output folder: the
/// folders are given over the whole sorted list, so a shard writes where an unsharded run would.
fn inputs_of_shard(args: &Args) -> Vec<(PathBuf, PathBuf)> {
    let mut sorted = args.inputs.clone();
    sorted.sort();
    let mut taken = Vec::new();
    let all: Vec<(PathBuf, PathBuf)> = sorted
        .into_iter()
        .map(|input| {
            let dir = recording::output_dir_for(&input, &args.out, &mut taken);
            (input, dir)
        })
        .collect();
    match args.shard {
        None => all,
        Some((k, n)) => all.into_iter().skip(k).step_by(n).collect(),
    }
}

/// `summary.csv` of an unsharded batch of two or more inputs, beside their folders (a sharded run leaves
/// it to `chaperone report`, which sees every shard's folders). A table that cannot be written is
/// reported; the runs are on disk either way.
fn write_batch_summary(args: &Args, run_dirs: &[PathBuf]) {
    if args.shard.is_some() || run_dirs.len() < 2 {
        return;
    }
    let path = args.out.join("summary.csv");
    let written = report::rows_of(run_dirs, &args.out)
        .and_then(|rows| std::fs::write(&path, report::to_csv(&rows)).map_err(|e| Error::io(&path, e)));
    match written {
        Ok(()) => eprintln!("chaperone: the batch's table -> {}", path.display()),
        Err(e) => eprintln!("chaperone: summary.csv not written: {e}"),
    }
}

fn parse_shard(text: &str) -> std::result::Result<(usize, usize), String> {
    let parsed = text.split_once('/').and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((k, n)) if n > 0 && k < n => Ok((k, n)),
        _ => Err(format!("expected K/N with 0 <= K < N (shard K of N, counted from 0), got `{text}`")),
    }
}

fn print_summary(s: &Summary, dir: &Path) {
    let animal = |role: &str| match s.animals.get(role) {
        Some(a) if a.frames_seen > 0 => format!(
            "{role} in {:.1}% of frames ({} track{})",
            100.0 * a.fraction_of_frames,
            a.track_ids.len(),
            if a.track_ids.len() == 1 { "" } else { "s" }
        ),
        _ => format!("no {role}"),
    };
    println!(
        "{}: {} frames, {:.1} s of video at {:.1} frames/s; {}, {}{} -> {}",
        s.input,
        s.frames,
        s.duration_s,
        s.fps_processed,
        animal("cat"),
        animal("rat"),
        if s.complete { "" } else { " (INCOMPLETE)" },
        dir.display()
    );
    for (role, a) in &s.animals {
        if let Some(why) = &a.why_unseen {
            eprintln!("chaperone: no {role} in {}: {why}", s.input);
        }
    }
}
