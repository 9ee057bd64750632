//! The `chaperone` command line: the arguments, and a dispatch to the library's commands
//! (`chaperone::commands`). Errors are printed once, on one line, and turned into a non-zero exit code.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use chaperone::commands::{self, CommonArgs, Exit};

#[derive(Parser)]
#[command(name = "chaperone", version, about = "Supervises a cat meeting a pet rat through a camera")]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Find the cat, the rat and anything else in still images.
    Detect(commands::detect::Args),
    /// Track the cat and the rat through recorded videos (or image directories).
    Analyze(commands::analyze::Args),
    /// Run the behaviour engine on recorded tracks without video: this program's tracks.csv, or
    /// DeepLabCut CSVs.
    AnalyzeTracks(commands::analyze_tracks::Args),
    /// Score the behaviour engine on labelled scenarios (default: the bundled ones), per behaviour.
    Eval(commands::eval::Args),
    /// Render labelled scenarios into real videos (real cat and rat sprites), each with a scenario file
    /// pointing at its video, for `eval` to run through the whole pipeline.
    Render(commands::render::Args),
    /// Search the behaviour thresholds on labelled scenarios; write the chosen config and precision-recall
    /// pictures, and report scores on a held-out set.
    Tune(commands::tune::Args),
    /// Supervise a meeting: camera (or a recording replayed in real time) in, a stop with an alarm the
    /// moment the cat fixates or the rat is stressed.
    Live(commands::live::Args),
    /// The enclosure and shelters of the config drawn on a picture of the meeting area (an image, a
    /// video, a stream or a camera), each with what it turns on, and warnings for zones that cannot work.
    Zones(commands::zones::Args),
    /// The cameras this machine has (index, name, formats and sizes), for `live --camera N`.
    Cameras(commands::cameras::Args),
    /// What a label file from BORIS, ezTrack, SimBA, Bento or Caltech holds, and how it maps onto
    /// chaperone's behaviours.
    Labels(commands::labels::Args),
    /// Many runs' summaries as one table (CSV, or JSON): per recording and behaviour, episodes, total
    /// seconds and first onset; the animals' seen shares; problems. Merges the shards of a cluster job.
    Report(commands::report::Args),
    /// Past sessions, and how long the next one should be.
    History(commands::history::Args),
    /// Measure a video's pipeline speed against the detector's bare inference speed on its frames.
    Bench(commands::bench::Args),
}

fn main() -> ExitCode {
    chaperone::pipeline::note_launch();
    // Output piped into `head` and the like: end quietly when the reader goes, as command-line tools do,
    // instead of panicking on the broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env("CHAPERONE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,ort=error"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();

    let cli = Cli::parse();
    let result = commands::load_config(&cli.common).and_then(|config| match &cli.command {
        Command::Detect(args) => commands::detect::run(&config, args),
        Command::Analyze(args) => commands::analyze::run(&config, args),
        Command::Bench(args) => commands::bench::run(&config, args),
        Command::AnalyzeTracks(args) => commands::analyze_tracks::run(&config, args),
        Command::Live(args) => commands::live::run(&config, args),
        Command::History(args) => commands::history::run(args),
        Command::Cameras(args) => commands::cameras::run(args),
        Command::Zones(args) => commands::zones::run(&config, args),
        Command::Labels(args) => commands::labels::run(&config, args),
        Command::Eval(args) => commands::eval::run(&config, args),
        Command::Tune(args) => commands::tune::run(&config, args),
        Command::Render(args) => commands::render::run(args),
        Command::Report(args) => commands::report::run(args),
    });
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(err) => {
            eprintln!("chaperone: {err}");
            ExitCode::from(Exit::Failed.code())
        }
    }
}
