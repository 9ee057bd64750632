//! `chaperone analyze`: recorded videos (or image directories) in, each analysed into a folder of its own
//! (see [`crate::runs::recording`]); inputs that cannot be opened are reported before the models load.

use std::path::{Path, PathBuf};

use super::{Exit, VIEW_LINGER, ViewArgs, signals, start_view};
use crate::config::Config;
use crate::detect::AnimalDetector;
use crate::error::Result;
use crate::runs::recording::{self, RecordingOptions, Summary};
use crate::runs::run_dir;
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
    #[command(flatten)]
    view: ViewArgs,
}

pub fn run(config: &Config, args: &Args) -> Result<Exit> {
    run_dir::create_dir(&args.out)?;
    let view = start_view(&args.view, args.view.view)?;
    let options = RecordingOptions {
        annotated_video: !args.no_video,
        image_fps: args.fps,
        progress: !args.quiet,
        view: view.as_ref().map(ViewServer::handle),
    };
    // Inputs that cannot even be opened are reported before the models load (which takes seconds).
    let mut failed = false;
    let mut readable = Vec::new();
    for input in &args.inputs {
        match recording::check_input(input, args.fps) {
            Ok(()) => readable.push(input),
            Err(err) => {
                eprintln!("chaperone: {err}");
                failed = true;
            }
        }
    }
    if readable.is_empty() {
        return Ok(Exit::Failed);
    }
    let mut detector = AnimalDetector::load(&config.runtime, &config.detector, &config.roles)?;
    signals::install("the analysis");
    let mut taken = Vec::new();
    for input in readable {
        if let Some(ending) = signals::received() {
            eprintln!("chaperone: {}: not analysed, {} ended the program", input.display(), ending.name());
            continue;
        }
        let dir = recording::output_dir_for(input, &args.out, &mut taken);
        match recording::analyse(input, &dir, config, &mut detector, &options) {
            Ok(recording::Analysed { summary, .. }) => {
                print_summary(&summary, &dir);
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
    if let Some(view) = &view {
        view.linger(VIEW_LINGER);
    }
    Ok(match signals::received() {
        Some(ending) => Exit::Signalled(ending),
        None if failed => Exit::Failed,
        None => Exit::Success,
    })
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
}
