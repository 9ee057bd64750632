//! `chaperone bench`: what a video costs, whole process and per frame, against the detector's bare
//! inference on its frames and, when asked, against the Python peer on the same video.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::Deserialize;

use super::Exit;
use crate::config::Config;
use crate::detect::{AnimalDetector, manifest};
use crate::error::{Error, Result};
use crate::runs::recording;
use crate::source::FrameSource;
use crate::source::video::VideoFile;

#[derive(clap::Args)]
pub struct Args {
    /// The video to measure on.
    #[arg(value_name = "VIDEO")]
    video: PathBuf,
    /// Frames held in memory for the bare-inference measurement.
    #[arg(long, default_value_t = 200)]
    frames: usize,
    /// Also write annotated.mp4 during the pipeline run.
    #[arg(long)]
    with_video: bool,
    /// Also run the Python peer (`../shared/peers/py_pipeline.py`) on the same video with this Python
    /// interpreter (one that has its packages: see the peer's README).
    #[arg(long, value_name = "PYTHON")]
    vs_peer: Option<PathBuf>,
    /// The peer's script.
    #[arg(long, value_name = "SCRIPT", default_value = "../shared/peers/py_pipeline.py")]
    peer_script: PathBuf,
    /// The model the peer runs: it needs the SSD export with its own postprocessing [default: the export
    /// as converted, beside the cut model chaperone runs].
    #[arg(long, value_name = "ONNX")]
    peer_model: Option<PathBuf>,
}

/// What `analyze` wrote of its run, as far as the benchmark reads it.
#[derive(Deserialize)]
struct AnalyzeSummary {
    frames: u64,
    fps_processed: f64,
    detector_frames: u64,
    first_frame_after_launch_s: Option<f64>,
    source: AnalyzeSource,
}

#[derive(Deserialize)]
struct AnalyzeSource {
    width: u32,
    height: u32,
}

/// The peer's one JSON line, as far as the benchmark reads it.
#[derive(Deserialize)]
struct PeerReport {
    frames: u64,
    fps: f64,
    model_load_s: f64,
    frames_with_track: std::collections::BTreeMap<String, u64>,
}

/// One whole process, timed from outside.
struct Timed<T> {
    wall_s: f64,
    report: T,
}

/// The pipeline: `analyze` in a process of its own, so that its cold start and whole-process time are
/// what a person running it waits for. Bare inference: the first frames decoded into memory
/// beforehand, then preprocess + inference + postprocess alone, one frame after another.
pub fn run(config: &Config, args: &Args) -> Result<Exit> {
    recording::check_input(&args.video, 10.0)?;
    let scratch = std::env::temp_dir().join(format!("chaperone-bench-{}", std::process::id()));
    let measured = measure(config, args, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    let (analysed, bare_fps, bare_frames, peer) = measured?;
    let s = &analysed.report;
    println!("video: {} ({}x{}, {} frames analysed)", args.video.display(), s.source.width, s.source.height, s.frames);
    let video = if args.with_video { "with annotated.mp4" } else { "--no-video" };
    match s.first_frame_after_launch_s {
        Some(cold) => println!("cold start (launch to the first frame analysed): {cold:.2} s"),
        None => println!("cold start: not reported"),
    }
    println!(
        "whole process (`analyze {video}`): {:.2} s, {:.1} frames/s",
        analysed.wall_s,
        s.frames as f64 / analysed.wall_s
    );
    println!("in the loop (decode, detect + classify, motion, track, outputs): {:.1} frames/s", s.fps_processed);
    println!(
        "detector cadence: looked at {} of {} frames (every {:.1}th on average; detector.idle_interval_s = {} s)",
        s.detector_frames,
        s.frames,
        s.frames as f64 / s.detector_frames.max(1) as f64,
        config.detector.idle_interval_s
    );
    println!("bare inference (pre + inference + post, {bare_frames} frames in memory): {bare_fps:.1} frames/s");
    println!("in the loop / bare inference: {:.2}x", s.fps_processed / bare_fps);
    if let Some(peer) = peer {
        let p = &peer.report;
        let found: Vec<String> = p.frames_with_track.iter().map(|(role, n)| format!("{role} in {n}")).collect();
        println!(
            "peer (`{}`): whole process {:.2} s ({:.2} s loading its model), in its loop {:.1} frames/s, {} frames, tracks: {}",
            args.peer_script.display(),
            peer.wall_s,
            p.model_load_s,
            p.fps,
            p.frames,
            found.join(", ")
        );
        println!("chaperone / peer, whole process: {:.2}x", peer.wall_s / analysed.wall_s);
    }
    Ok(Exit::Success)
}

type Measured = (Timed<AnalyzeSummary>, f64, usize, Option<Timed<PeerReport>>);

fn measure(config: &Config, args: &Args, scratch: &Path) -> Result<Measured> {
    let analysed = run_analyze(config, args, &scratch.join("analyze"))?;
    let (bare_fps, bare_frames) = bare_inference(config, args)?;
    let peer = match &args.vs_peer {
        Some(python) => Some(run_peer(config, args, python, &scratch.join("peer"))?),
        None => None,
    };
    Ok((analysed, bare_fps, bare_frames, peer))
}

/// This program's `analyze` on the video, with the same config, model and runtime as the benchmark.
fn run_analyze(config: &Config, args: &Args, out: &Path) -> Result<Timed<AnalyzeSummary>> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::program("chaperone", format!("cannot find this program's own path: {e}")))?;
    let mut command = Command::new(exe);
    command.arg("analyze").arg(&args.video).arg("--out").arg(out).arg("--quiet");
    if !args.with_video {
        command.arg("--no-video");
    }
    if let Some(file) = &config.file {
        command.arg("--config").arg(file);
    }
    if let Some(lib) = &config.runtime.ort_lib {
        command.arg("--ort-lib").arg(lib);
    }
    command.args(["--model", &config.detector.model]);
    let classifier = config.detector.classifier.trim();
    command.args(["--classifier", if classifier.is_empty() { "none" } else { classifier }]);
    let started = Instant::now();
    let output = command.output().map_err(|e| Error::program("chaperone analyze", format!("cannot start: {e}")))?;
    let wall_s = started.elapsed().as_secs_f64();
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let said = last_line(&said);
        return Err(Error::program("chaperone analyze", said.strip_prefix("chaperone: ").unwrap_or(said)));
    }
    let summary_path = std::fs::read_dir(out)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("summary.json"))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::program("chaperone analyze", format!("wrote no summary.json under {}", out.display())))?;
    let text = std::fs::read_to_string(&summary_path).map_err(|e| Error::io(&summary_path, e))?;
    let report = serde_json::from_str(&text)
        .map_err(|e| Error::format(&summary_path, format!("not a summary this benchmark reads: {e}")))?;
    Ok(Timed { wall_s, report })
}

/// Frames per second of the detector alone, on the video's first `args.frames` frames, and how many.
fn bare_inference(config: &Config, args: &Args) -> Result<(f64, usize)> {
    let mut source = VideoFile::open(&args.video)?;
    let mut frames = Vec::new();
    while frames.len() < args.frames.max(1) {
        match source.next_frame()? {
            Some(f) => frames.push(f.image),
            None => break,
        }
    }
    drop(source);
    if frames.is_empty() {
        return Err(Error::source(&args.video, "no frame could be decoded"));
    }
    let mut detector = AnimalDetector::load(&config.runtime, &config.detector, &config.roles)?;
    let model = detector.object_model();
    let mut raw = Vec::new();
    model.preprocess(&frames[0])?;
    model.infer()?; // warm-up
    let started = Instant::now();
    for image in &frames {
        model.preprocess(image)?;
        model.infer()?;
        model.postprocess(config.detector.min_score, &mut raw);
    }
    Ok((frames.len() as f64 / started.elapsed().as_secs_f64(), frames.len()))
}

/// The Python peer on the whole video, timed from outside.
fn run_peer(config: &Config, args: &Args, python: &Path, out: &Path) -> Result<Timed<PeerReport>> {
    if !args.peer_script.is_file() {
        return Err(Error::program(
            args.peer_script.display().to_string(),
            "no such script: pass --peer-script PATH (the peer is ../shared/peers/py_pipeline.py)",
        ));
    }
    let model = match &args.peer_model {
        Some(m) => m.clone(),
        None => uncut_export(config)?,
    };
    let started = Instant::now();
    let output = Command::new(python)
        .arg(&args.peer_script)
        .arg(&args.video)
        .arg("--out")
        .arg(out)
        .arg("--model")
        .arg(&model)
        .output()
        .map_err(|e| Error::program(python.display().to_string(), format!("cannot start the peer: {e}")))?;
    let wall_s = started.elapsed().as_secs_f64();
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(Error::program(
            "the peer",
            format!(
                "{} (does {} have the peer's packages? see ../shared/peers/README.md)",
                last_line(&said),
                python.display()
            ),
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = serde_json::from_str(last_line(&stdout)).map_err(|e| {
        Error::program("the peer", format!("its last line is not its JSON report ({e}): {}", last_line(&stdout)))
    })?;
    Ok(Timed { wall_s, report })
}

/// The SSD export as converted (with its own postprocessing, which the peer needs), kept by set-up beside
/// the cut model that chaperone runs (`NAME.slim.onnx` or `NAME.raw.onnx` -> `NAME.onnx`).
fn uncut_export(config: &Config) -> Result<PathBuf> {
    let location = manifest::locate(&config.detector.model, &config.detector)?;
    let cut = std::fs::canonicalize(&location.onnx).map_err(|e| Error::io(&location.onnx, e))?;
    let name = cut.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    match name.strip_suffix(".slim.onnx").or_else(|| name.strip_suffix(".raw.onnx")) {
        Some(stem) if cut.with_file_name(format!("{stem}.onnx")).is_file() => {
            Ok(cut.with_file_name(format!("{stem}.onnx")))
        }
        _ => Err(Error::model(
            &cut,
            "not a cut SSD with its export beside it: pass --peer-model PATH (the SSD export the peer runs)",
        )),
    }
}

fn last_line(text: &str) -> &str {
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("(nothing said)").trim()
}
