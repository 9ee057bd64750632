//! The `chaperone` command line. Each subcommand is a thin shell over the library; errors are printed
//! once, on one line, and turned into a non-zero exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use chaperone::analyze::{self, AnalyzeOptions, Summary};
use chaperone::annotate;
use chaperone::config::Config;
use chaperone::detect::{self, AnimalDetector, Detection, Detector};
use chaperone::error::{Error, Result};
use chaperone::view::ViewServer;

/// Exit codes, documented in the README.
mod exit {
    /// A fatal problem: bad config, missing model or runtime, unreadable input.
    pub const ERROR: u8 = 1;
    /// `live`: the session stopped because of an animal's behaviour.
    pub const STOPPED: u8 = 3;
    /// `live`: the session stopped because it could not supervise (camera lost, an animal unseen,
    /// overload, the model failing).
    pub const FAULT: u8 = 4;
}

#[derive(Parser)]
#[command(name = "chaperone", version, about = "Supervises a cat meeting a pet rat through a camera")]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct CommonArgs {
    /// TOML config file (see README: every key is optional).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The ONNX Runtime library (overrides the config and ORT_DYLIB_PATH).
    #[arg(long, global = true, value_name = "PATH")]
    ort_lib: Option<PathBuf>,
    /// Detection model: a name in models/ or a path to an .onnx file (overrides the config).
    #[arg(long, global = true, value_name = "NAME|PATH")]
    model: Option<String>,
    /// Crop classifier: a name in models/, a path, or "none" (overrides the config).
    #[arg(long, global = true, value_name = "NAME|PATH|none")]
    classifier: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Find the cat, the rat and anything else in still images.
    Detect(DetectArgs),
    /// Track the cat and the rat through recorded videos (or image directories).
    Analyze(AnalyzeArgs),
    /// Run the behaviour engine on recorded tracks without video: this program's tracks.csv, or
    /// DeepLabCut CSVs.
    AnalyzeTracks(AnalyzeTracksArgs),
    /// Score the behaviour engine on labelled scenarios (default: the bundled ones), per behaviour.
    Eval(EvalArgs),
    /// Render labelled scenarios into real videos (real cat and rat sprites), each with a scenario file
    /// pointing at its video, for `eval` to run through the whole pipeline.
    Render(RenderArgs),
    /// Search the behaviour thresholds on labelled scenarios; write the chosen config and precision-recall
    /// pictures, and report scores on a held-out set.
    Tune(TuneArgs),
    /// Supervise a meeting: camera (or a recording replayed in real time) in, a stop with an alarm the
    /// moment the cat fixates or the rat is stressed.
    Live(LiveArgs),
    /// Past sessions, and how long the next one should be.
    History(HistoryArgs),
    /// Measure a video's pipeline speed against the detector's bare inference speed on its frames.
    Bench(BenchArgs),
}

#[derive(Args)]
struct AnalyzeTracksArgs {
    /// A tracks.csv written by `analyze`, or a DeepLabCut CSV (scorer / bodyparts / coords header rows).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Output directory: events.jsonl and summary.json are written into it.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Frame rate of a DeepLabCut file (it records frame numbers, not times).
    #[arg(long, value_name = "FPS")]
    fps: Option<f64>,
    /// Which animal the file tracks (DeepLabCut); for a tracks.csv, the animal that must be in it.
    #[arg(long, value_enum, default_value = "rat")]
    role: RoleArg,
    /// A second DeepLabCut file tracking the other animal (same frame rate, same frames).
    #[arg(long, value_name = "FILE")]
    other: Option<PathBuf>,
    /// The video's frame size, e.g. 640x480: places the config's shelter zones, for hiding.
    #[arg(long, value_name = "WxH", value_parser = parse_frame_size)]
    frame_size: Option<(u32, u32)>,
    /// Human-scored freezing bouts (`start_frame,end_frame`, 1-based, ends included): prints per-frame
    /// agreement, precision, recall and F1 against them.
    #[arg(long, value_name = "BOUTS.csv")]
    labels: Option<PathBuf>,
}

#[derive(Args)]
struct LiveArgs {
    /// Camera index (0 is the first webcam). The default source.
    #[arg(long, value_name = "N", conflicts_with = "source")]
    camera: Option<u32>,
    /// A recording instead of a camera (tests, demos, drills).
    #[arg(long, value_name = "VIDEO")]
    source: Option<PathBuf>,
    /// Deliver --source at its own frame rate, as a camera would (newest frame wins).
    #[arg(long, requires = "source")]
    realtime: bool,
    /// Planned session length in seconds. Default: the history's recommendation.
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
    /// Session folder. Default: a new folder under the data directory's sessions/.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Shell command run when the session stops (env: CHAPERONE_STOP_BEHAVIOUR, CHAPERONE_STOP_REASON,
    /// CHAPERONE_STOP_FAULT, CHAPERONE_EVENTS).
    #[arg(long, value_name = "CMD")]
    on_stop: Option<String>,
    /// No alarm sound (the banner and terminal bell remain).
    #[arg(long)]
    no_sound: bool,
    /// Do not append this session to the history.
    #[arg(long)]
    no_history: bool,
    #[command(flatten)]
    view: ViewArgs,
    /// No live view in the browser (it is on by default with a camera).
    #[arg(long, conflicts_with_all = ["view", "view_addr"])]
    no_view: bool,
}

#[derive(Args)]
struct ViewArgs {
    /// Serve the live view: a web page with the annotated stream, the status and the events.
    #[arg(long)]
    view: bool,
    /// Where the view listens. Default 127.0.0.1:8470 (this machine only). An address beyond loopback
    /// (e.g. 0.0.0.0:8470, to watch from a phone) requires the access token printed at the start.
    #[arg(long, value_name = "IP:PORT")]
    view_addr: Option<std::net::SocketAddr>,
}

#[derive(Args)]
struct EvalArgs {
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

#[derive(Args)]
struct RenderArgs {
    /// Scenario files or directories of them (default: fixtures/scenarios).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output directory: NAME.mp4 and NAME.toml per scenario.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[arg(long, default_value_t = 25.0)]
    fps: f64,
    /// Where chelsea.png, rat.png and dog.png are (default: fixtures/generated, made by set-up).
    #[arg(long, value_name = "DIR")]
    sprites: Option<PathBuf>,
}

#[derive(Args)]
struct TuneArgs {
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

#[derive(Args)]
struct HistoryArgs {
    /// Print the history as JSON.
    #[arg(long)]
    json: bool,
    /// Also draw the sessions over days to STEM.png and STEM.svg (default: history.png and .svg in the
    /// data directory).
    #[arg(long, value_name = "STEM", num_args = 0..=1)]
    plot: Option<Option<PathBuf>>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Rat,
    Cat,
}

#[derive(Args)]
struct BenchArgs {
    /// The video to measure on.
    #[arg(value_name = "VIDEO")]
    video: PathBuf,
    /// Frames held in memory for the bare-inference measurement.
    #[arg(long, default_value_t = 200)]
    frames: usize,
    /// Also write annotated.mp4 during the pipeline run.
    #[arg(long)]
    with_video: bool,
}

#[derive(Args)]
struct AnalyzeArgs {
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

#[derive(Args)]
struct DetectArgs {
    /// Image files (PNG, JPEG, BMP).
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
    /// Print JSON (an array, one object per image) instead of a table.
    #[arg(long)]
    json: bool,
    /// Write the image with labelled boxes here; with several images, a directory to write into.
    #[arg(long, value_name = "OUT")]
    annotate: Option<PathBuf>,
}

fn main() -> ExitCode {
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
    let result = load_config(&cli.common).and_then(|config| match &cli.command {
        Command::Detect(args) => run_detect(&config, args),
        Command::Analyze(args) => run_analyze(&config, args),
        Command::Bench(args) => run_bench(&config, args),
        Command::AnalyzeTracks(args) => run_analyze_tracks(&config, args),
        Command::Live(args) => run_live(&config, args),
        Command::History(args) => run_history(args),
        Command::Eval(args) => run_eval(&config, args),
        Command::Tune(args) => run_tune(&config, args),
        Command::Render(args) => run_render(args),
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("chaperone: {err}");
            ExitCode::from(exit::ERROR)
        }
    }
}

/// The config file with the command line's overrides applied.
fn load_config(common: &CommonArgs) -> Result<Config> {
    let mut config = Config::load(common.config.as_deref())?;
    if let Some(lib) = &common.ort_lib {
        config.runtime.ort_lib = Some(lib.clone());
    }
    if let Some(model) = &common.model {
        config.detector.model = model.clone();
    }
    if let Some(classifier) = &common.classifier {
        config.detector.classifier = if classifier == "none" { String::new() } else { classifier.clone() };
    }
    config.validate()?;
    Ok(config)
}

#[derive(serde::Serialize)]
struct ImageReport<'a> {
    image: &'a Path,
    width: u32,
    height: u32,
    detections: Vec<Detection>,
}

fn run_detect(config: &Config, args: &DetectArgs) -> Result<ExitCode> {
    // Loaded on the first readable image: a run over bad files answers at once, without the seconds
    // the SSD takes to load. A model that cannot load is fatal, not a per-image error.
    let mut detector: Option<AnimalDetector> = None;
    let annotate_dir = args.annotate.as_ref().filter(|p| args.images.len() > 1 || p.is_dir());
    if let Some(dir) = annotate_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut reports = Vec::new();
    let mut failed = false;
    for path in &args.images {
        // One bad image does not stop the others; it is reported and the exit code says so.
        let image = match detect::read_image(path) {
            Ok(image) => image,
            Err(err) => {
                eprintln!("chaperone: {err}");
                failed = true;
                continue;
            }
        };
        let detector = match &mut detector {
            Some(d) => d,
            None => detector.insert(AnimalDetector::load(config)?),
        };
        let out = args.annotate.as_ref().map(|out| match annotate_dir {
            Some(dir) => dir.join(annotated_name(path)),
            None => out.clone(),
        });
        let outcome = detect_one(detector, path, &image, out.as_deref());
        match outcome {
            Ok(report) => {
                if !args.json {
                    print_report(&report);
                }
                reports.push(report);
            }
            Err(err) => {
                eprintln!("chaperone: {err}");
                failed = true;
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports).expect("detections serialise"));
    }
    Ok(if failed { ExitCode::from(exit::ERROR) } else { ExitCode::SUCCESS })
}

fn run_analyze(config: &Config, args: &AnalyzeArgs) -> Result<ExitCode> {
    create_out_dir(&args.out)?;
    let view = start_view(&args.view, args.view.view)?;
    let options = AnalyzeOptions {
        out_dir: args.out.clone(),
        annotated_video: !args.no_video,
        image_fps: args.fps,
        progress: !args.quiet,
        view: view.as_ref().map(ViewServer::handle),
    };
    // Inputs that cannot even be opened are reported before the models load (which takes seconds).
    let mut failed = false;
    let mut readable = Vec::new();
    for input in &args.inputs {
        match analyze::check_input(input, args.fps) {
            Ok(()) => readable.push(input),
            Err(err) => {
                eprintln!("chaperone: {err}");
                failed = true;
            }
        }
    }
    if readable.is_empty() {
        return Ok(ExitCode::from(exit::ERROR));
    }
    let mut detector = AnimalDetector::load(config)?;
    let mut taken = Vec::new();
    for input in readable {
        let dir = analyze::output_dir_for(input, &args.out, &mut taken);
        match analyze::analyze_input(input, &dir, config, &mut detector, &options) {
            Ok(summary) => {
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
    Ok(if failed { ExitCode::from(exit::ERROR) } else { ExitCode::SUCCESS })
}

/// How long the program waits at its end for a watching browser to fetch how the run ended.
const VIEW_LINGER: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts the live view when asked (or `by_default`), and says where to open it.
fn start_view(args: &ViewArgs, wanted: bool) -> Result<Option<ViewServer>> {
    if !wanted && args.view_addr.is_none() {
        return Ok(None);
    }
    let server = match args.view_addr {
        Some(addr) => ViewServer::start(addr)?,
        None => ViewServer::start_or_any_port(chaperone::view::DEFAULT_ADDR.parse().expect("a valid address"))?,
    };
    if server.addr().ip().is_loopback() {
        eprintln!("live view: {} (open it in a browser on this machine)", server.url());
    } else {
        eprintln!(
            "live view on the network: {} (anyone with this address and token can watch; requests without the token are refused)",
            server.url()
        );
    }
    Ok(Some(server))
}

fn run_analyze_tracks(config: &Config, args: &AnalyzeTracksArgs) -> Result<ExitCode> {
    use chaperone::detect::Role;
    use chaperone::replay::{self, ReplayTrack};
    let role = match args.role {
        RoleArg::Rat => Role::Rat,
        RoleArg::Cat => Role::Cat,
    };
    let other_role = if role == Role::Rat { Role::Cat } else { Role::Rat };
    let tracks = if is_dlc(&args.file)? {
        let fps = args.fps.ok_or_else(|| {
            Error::Config("a DeepLabCut file records frame numbers, not times: pass its frame rate with --fps".into())
        })?;
        let mut tracks = vec![ReplayTrack::from_dlc(&args.file, fps, role)?];
        if let Some(other) = &args.other {
            tracks.push(ReplayTrack::from_dlc(other, fps, other_role)?);
        }
        tracks
    } else {
        // A tracks.csv holds both animals: replay whichever it has, the --role one at least.
        let mut tracks = vec![ReplayTrack::from_tracks_csv(&args.file, role)?];
        tracks.extend(ReplayTrack::from_tracks_csv(&args.file, other_role).ok());
        tracks
    };
    let truth = args.labels.as_deref().map(replay::read_bouts).transpose()?;
    create_out_dir(&args.out)?;
    let events = args.out.join("events.jsonl");
    let _ = std::fs::remove_file(&events);
    let refs: Vec<&ReplayTrack> = tracks.iter().collect();
    if args.frame_size.is_none() && !config.behaviour.hiding.shelters.is_empty() {
        eprintln!("chaperone: shelters are set but --frame-size is not: hiding is not judged");
    }
    let moments = replay::moments(&refs, args.frame_size);
    let replayed = replay::replay(&moments, config, &events)?;
    let episodes = replayed.episodes;
    let main = &tracks[0];
    let mut outputs = vec![events.display().to_string()];
    if let (Some(first), Some(last)) = (moments.first(), moments.last()) {
        use chaperone::plot::timeline::{self, Timeline};
        let name = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let title = format!("{name} (replayed tracks): {} episodes", episodes.len());
        let span = (first.time_s, last.time_s);
        let mut picture = Timeline::new(title, span, replayed.gap, episodes.clone(), &config.session, None);
        if let Some(bouts) = &truth {
            // Human-scored bouts under the engine's own, frame i at i / fps seconds, ends included.
            let span = |&(a, b): &(usize, usize)| (a as f64 / main.fps, (b + 1) as f64 / main.fps);
            picture.labelled.push(("labels: freezing".into(), bouts.iter().map(span).collect()));
        }
        match timeline::write(&picture, &args.out.join("timeline")) {
            Ok(paths) => outputs.extend(paths.iter().map(|p| p.display().to_string())),
            Err(e) => eprintln!("chaperone: timeline.png not drawn: {e}"),
        }
    }
    let freezing: Vec<_> = episodes.iter().filter(|e| e.behaviour == "freezing").cloned().collect();
    let scores = truth.as_ref().map(|t| replay::frame_scores(&freezing, t, main.frames, main.fps));
    let summary = serde_json::json!({
        "input": args.file.display().to_string(),
        "animals": tracks.iter().map(|t| t.role).collect::<Vec<_>>(),
        "frames": main.frames,
        "fps": main.fps,
        "body_length": main.body_length,
        "episodes": episodes,
        "freezing_vs_labels": scores,
        "outputs": outputs,
    });
    let path = args.out.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary).expect("summary serialises") + "\n")
        .map_err(|e| Error::io(&path, e))?;
    let mut counts = std::collections::BTreeMap::<&str, (usize, f64)>::new();
    for e in &episodes {
        let c = counts.entry(&e.behaviour).or_default();
        c.0 += 1;
        c.1 += e.duration_s(e.end_s.unwrap_or(e.onset_s));
    }
    let found: Vec<String> = counts.iter().map(|(b, (n, s))| format!("{b} x{n} ({s:.1} s)")).collect();
    println!(
        "{}: {} frames at {:.1} fps; {} -> {}",
        args.file.display(),
        main.frames,
        main.fps,
        if found.is_empty() { "no episodes".to_string() } else { found.join(", ") },
        args.out.display()
    );
    if let Some(s) = scores {
        println!(
            "freezing vs labels, per frame: agreement {:.3}, precision {:.3}, recall {:.3}, F1 {:.3}",
            s.agreement, s.precision, s.recall, s.f1
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_frame_size(s: &str) -> std::result::Result<(u32, u32), String> {
    let parsed = s.split_once('x').and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)));
    match parsed {
        Some((w, h)) if w > 0 && h > 0 => Ok((w, h)),
        _ => Err(format!("expected WIDTHxHEIGHT in pixels, like 640x480, got `{s}`")),
    }
}

/// A DeepLabCut CSV starts with its `scorer` row; only the first line is read to tell.
fn is_dlc(path: &Path) -> Result<bool> {
    let mut first_line = String::new();
    std::fs::File::open(path)
        .and_then(|f| std::io::BufRead::read_line(&mut std::io::BufReader::new(f), &mut first_line))
        .map_err(|e| Error::io(path, e))?;
    Ok(first_line.starts_with("scorer"))
}

fn run_live(config: &Config, args: &LiveArgs) -> Result<ExitCode> {
    use chaperone::session::history;
    use chaperone::session::live::{self, LiveOptions, LiveSource};
    let source = match (&args.source, args.camera) {
        (Some(path), _) => {
            analyze::check_input(path, 10.0)?;
            LiveSource::File { path: path.clone(), realtime: args.realtime }
        }
        (None, camera) => LiveSource::Camera(camera.unwrap_or(0)),
    };
    let history_path = if args.no_history { None } else { Some(history::history_path()?) };
    let duration_s = match args.duration {
        Some(d) if d > 0.0 && d.is_finite() => d,
        Some(d) => return Err(Error::Config(format!("--duration must be a positive number of seconds, got {d}"))),
        None => {
            let past = history_path.as_deref().map(history::read).transpose()?.unwrap_or_default();
            let (s, why) = history::recommend(&past);
            eprintln!("session length {} ({why}); set it with --duration", history::minutes(s));
            s
        }
    };
    let started = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let out_dir = match &args.out {
        Some(dir) => dir.clone(),
        None => history::default_session_dir(&started)?,
    };
    create_out_dir(&out_dir)?;
    let camera = matches!(source, LiveSource::Camera(_));
    let view = start_view(&args.view, args.view.view || (camera && !args.no_view))?;
    let options = LiveOptions {
        view: view.as_ref().map(ViewServer::handle),
        source,
        duration_s,
        out_dir: out_dir.clone(),
        history: history_path,
        on_stop: args.on_stop.clone(),
        sound: !args.no_sound,
    };
    let mut detector = AnimalDetector::load(config)?;
    let summary = live::run_session(config, &mut detector, &options)?;
    if let Some(view) = &view {
        view.linger(VIEW_LINGER);
    }
    let latency = summary
        .latency
        .as_ref()
        .map(|l| format!("; capture-to-decision latency p50 {:.0} ms, p95 {:.0} ms", l.p50_ms, l.p95_ms))
        .unwrap_or_default();
    let how = match &summary.reason {
        Some(r) => format!("STOPPED at {:.1} s: {}", r.time_s, r.words),
        None => format!("ended without a stop ({})", summary.outcome.name()),
    };
    println!(
        "session {how}; {} of {} planned, {} frames at {:.1} frames/s, {} dropped{latency}; calm {:.0} s -> {}",
        history::minutes(summary.length_s),
        history::minutes(summary.planned_s),
        summary.frames,
        summary.fps_processed,
        summary.dropped_frames,
        summary.calm_s,
        out_dir.display()
    );
    Ok(match &summary.reason {
        Some(r) if r.fault => ExitCode::from(exit::FAULT),
        Some(_) => ExitCode::from(exit::STOPPED),
        None => ExitCode::SUCCESS,
    })
}

fn run_eval(config: &Config, args: &EvalArgs) -> Result<ExitCode> {
    use chaperone::eval;
    use chaperone::scenario::{self, Scenario, tracks::Variation};
    let paths = if args.paths.is_empty() { vec![scenario::bundled_dir()] } else { args.paths.clone() };
    let scenarios = scenario::find(&paths)?.iter().map(|p| Scenario::load(p)).collect::<Result<Vec<_>>>()?;
    let variations = Variation::set(args.variations, args.seed);
    // Scenarios with a video (rendered, or labelled recordings) go through the whole pipeline once;
    // the others are rendered into tracks, ideally and with each variation.
    let (videos, synthetic): (Vec<Scenario>, Vec<Scenario>) = scenarios.into_iter().partition(|s| s.video.is_some());
    let mut report = eval::evaluate(&synthetic, &variations, &config.behaviour);
    if !videos.is_empty() {
        let mut detector = AnimalDetector::load(config)?;
        let mut acc = eval::Accumulator::default();
        for s in &videos {
            acc.add(s, std::iter::once(eval::video_run(s, config, &mut detector)?));
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
    Ok(ExitCode::SUCCESS)
}

fn run_render(args: &RenderArgs) -> Result<ExitCode> {
    use chaperone::scenario::{self, Scenario, video};
    if !(args.fps > 0.0 && args.fps <= 240.0) {
        return Err(Error::Config(format!("--fps must be between 0 and 240, got {}", args.fps)));
    }
    let paths = if args.paths.is_empty() { vec![scenario::bundled_dir()] } else { args.paths.clone() };
    let files = scenario::find(&paths)?;
    let scenarios = files.iter().map(|p| Scenario::load(p)).collect::<Result<Vec<_>>>()?;
    let sprites = video::Sprites::load(&args.sprites.clone().unwrap_or_else(video::Sprites::default_dir))?;
    create_out_dir(&args.out)?;
    for (file, s) in files.iter().zip(&scenarios) {
        let mp4 = args.out.join(format!("{}.mp4", s.name));
        video::render(s, &sprites, &mp4, args.fps)?;
        // The same scenario, pointing at its video: `eval` then runs it through the whole pipeline.
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
        let labelled = args.out.join(format!("{}.toml", s.name));
        std::fs::write(&labelled, format!("video = \"{}.mp4\"\n{text}", s.name))
            .map_err(|e| Error::io(&labelled, e))?;
        println!("{} -> {} ({:.1} s at {} fps)", file.display(), mp4.display(), s.duration_s, args.fps);
    }
    Ok(ExitCode::SUCCESS)
}

fn run_tune(config: &Config, args: &TuneArgs) -> Result<ExitCode> {
    use chaperone::scenario::{self, Scenario, tracks::Variation};
    use chaperone::{eval, plot, tune};
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

    let stem = args.out.with_extension("pr");
    // NAME.toml -> NAME.pr.png and NAME.pr.svg
    let curves = tune::pr_curves(&train, &tuned.config, threads);
    let pictures = plot::pr_curves(&curves, &stem)?;
    let before_held = eval::evaluate_prepared(&held, start);
    let after_held = eval::evaluate_prepared(&held, &tuned.config);
    let human = eval::default_freezing_labels()
        .map(|dir| -> Result<_> {
            Ok((eval::human_freezing(&dir, start)?, eval::human_freezing(&dir, &tuned.config)?))
        })
        .transpose()?;

    #[derive(serde::Serialize)]
    struct Written<'a> {
        behaviour: &'a chaperone::config::BehaviourConfig,
    }
    let mut text = format!(
        "# Written by `chaperone tune` on {} scenarios ({} renderings each to tune on).\n\
         # Goal: mean event F1, with at most {} false alarms per quiet hour per behaviour and approach alarms within {} s (p95).\n\
         # Goal on the training set: {:.3} -> {:.3}; on the held-out set: {:.3} -> {:.3}.\n",
        scenarios.len(),
        train_set.len(),
        goal.max_false_alarms_per_hour,
        goal.max_approach_latency_s,
        tuned.objective_before,
        tuned.objective_after,
        tune::objective(&before_held, &goal),
        tune::objective(&after_held, &goal),
    );
    text += &toml::to_string(&Written { behaviour: &tuned.config }).expect("configs serialise");
    std::fs::write(&args.out, text).map_err(|e| Error::io(&args.out, e))?;

    println!("held-out set ({} renderings per scenario, noise the search never saw):", held_set.len());
    println!("{:<12} {:>14} {:>14} {:>16}", "behaviour", "F1 before", "F1 after", "FA/hour after");
    for b in &after_held.behaviours {
        let before = before_held.behaviours.iter().find(|x| x.behaviour == b.behaviour).map_or(0.0, |x| x.f1);
        println!("{:<12} {:>14.3} {:>14.3} {:>16.1}", b.behaviour, before, b.f1, b.false_alarms_per_hour);
    }
    println!(
        "goal: training {:.3} -> {:.3}, held-out {:.3} -> {:.3}",
        tuned.objective_before,
        tuned.objective_after,
        tune::objective(&before_held, &goal),
        tune::objective(&after_held, &goal)
    );
    if let Some((before, after)) = human {
        println!("human-labelled freezing (never tuned on), per-frame F1: {:.3} -> {:.3}", before.f1, after.f1);
    }
    for (key, from, to) in &tuned.changes {
        println!("  {key}: {from} -> {to}");
    }
    if tuned.changes.is_empty() {
        println!("  no threshold changed: the starting config scores best");
    }
    println!(
        "{} evaluations on {threads} threads in {:.1} s -> {} ({})",
        tuned.evaluations,
        started.elapsed().as_secs_f64(),
        args.out.display(),
        pictures.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

fn run_history(args: &HistoryArgs) -> Result<ExitCode> {
    use chaperone::session::history;
    let path = history::history_path()?;
    let entries = history::read(&path)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries).expect("history serialises"));
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        println!("no sessions yet in {}", path.display());
    } else {
        println!("{:<21} {:>7} {:>7} {:>6}  ended", "started (UTC)", "planned", "ran", "calm");
    }
    for e in &entries {
        let how = match &e.reason {
            Some(r) => format!("{}: {}", if r.fault { "FAULT" } else { "STOP" }, r.words),
            None => e.outcome.name().to_string(),
        };
        println!(
            "{:<21} {:>7} {:>7} {:>5.0}s  {how}",
            e.started,
            history::minutes(e.planned_s),
            history::minutes(e.length_s),
            e.calm_s
        );
    }
    let (next, why) = history::recommend(&entries);
    println!("next session: {} ({why})", history::minutes(next));
    if let Some(stem) = &args.plot {
        let stem = match stem {
            Some(stem) => stem.clone(),
            None => history::data_dir()?.join("history"),
        };
        let written = chaperone::plot::history::write(&entries, &stem)?;
        println!("drawn: {}", written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// Bare inference: the first frames decoded into memory beforehand, then preprocess + inference +
/// postprocess alone, one frame after another. Pipeline: `analyze` on the whole video (decode, detection
/// with crop classification, motion, tracking and output, overlapping on their threads).
fn run_bench(config: &Config, args: &BenchArgs) -> Result<ExitCode> {
    use chaperone::source::FrameSource;
    let mut source = chaperone::source::video::VideoFile::open(&args.video)?;
    let mut frames = Vec::new();
    while frames.len() < args.frames.max(1) {
        match source.next_frame()? {
            Some(f) => frames.push(f.image),
            None => break,
        }
    }
    drop(source);
    if frames.is_empty() {
        return Err(Error::video(&args.video, "no frame could be decoded"));
    }
    let mut detector = AnimalDetector::load(config)?;
    let model = detector.object_model();
    let mut raw = Vec::new();
    model.preprocess(&frames[0])?;
    model.infer()?; // warm-up
    let started = std::time::Instant::now();
    for image in &frames {
        model.preprocess(image)?;
        model.infer()?;
        model.postprocess(config.detector.min_score, &mut raw);
    }
    let bare_fps = frames.len() as f64 / started.elapsed().as_secs_f64();
    let out = std::env::temp_dir().join(format!("chaperone-bench-{}", std::process::id()));
    let options = AnalyzeOptions {
        out_dir: out.clone(),
        annotated_video: args.with_video,
        image_fps: 10.0,
        progress: false,
        view: None,
    };
    let summary = analyze::analyze_input(&args.video, &out, config, &mut detector, &options);
    let _ = std::fs::remove_dir_all(&out);
    let summary = summary?;
    let (w, h) = (summary.source.width, summary.source.height);
    println!("video: {} ({w}x{h}, {} frames)", args.video.display(), summary.frames);
    println!("bare inference (pre + inference + post, {} frames in memory): {bare_fps:.1} frames/s", frames.len());
    println!(
        "pipeline (decode, detect + classify, motion, track, tracks.csv{}): {:.1} frames/s",
        if args.with_video { ", annotated.mp4" } else { "" },
        summary.fps_processed
    );
    println!("pipeline / bare inference: {:.0}%", 100.0 * summary.fps_processed / bare_fps);
    Ok(ExitCode::SUCCESS)
}

fn create_out_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::Config(format!("cannot create the output directory {}: {e}; pass another --out", dir.display()))
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

fn detect_one<'a>(
    detector: &mut AnimalDetector,
    path: &'a Path,
    image: &image::RgbImage,
    annotate_to: Option<&Path>,
) -> Result<ImageReport<'a>> {
    let detections = detector.detect(image)?;
    if let Some(out) = annotate_to {
        let mut canvas = image.clone();
        annotate::draw_detections(&mut canvas, &detections);
        canvas.save(out).map_err(|e| Error::Image { path: out.into(), message: format!("cannot write: {e}") })?;
    }
    Ok(ImageReport { image: path, width: image.width(), height: image.height(), detections })
}

fn annotated_name(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into());
    format!("{stem}.annotated.png")
}

fn print_report(report: &ImageReport) {
    let n = report.detections.len();
    println!(
        "{} ({}x{}): {n} detection{}",
        report.image.display(),
        report.width,
        report.height,
        if n == 1 { "" } else { "s" }
    );
    for d in &report.detections {
        let b = &d.bbox;
        let mut line = format!(
            "  {:<5} {:<12} {:.2}  [{:.0}, {:.0}, {:.0}, {:.0}]",
            d.role.to_string(),
            d.class_name,
            d.score,
            b.x1,
            b.y1,
            b.x2,
            b.y2
        );
        if let Some(e) = &d.evidence {
            line.push_str(&format!(
                "  crop: {} {:.2} (cat {:.2}, rodent {:.2}, dog {:.2})",
                e.top_label, e.top_score, e.cat_family, e.rodent_like, e.dog_family
            ));
        }
        println!("{line}");
    }
}
