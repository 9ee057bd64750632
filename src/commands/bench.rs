//! `chaperone bench`: a video's pipeline speed against the detector's bare inference speed on its frames.

use std::path::PathBuf;

use super::Exit;
use crate::config::Config;
use crate::detect::AnimalDetector;
use crate::error::{Error, Result};
use crate::runs::recording::{self, RecordingOptions};
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
}

/// Bare inference: the first frames decoded into memory beforehand, then preprocess + inference +
/// postprocess alone, one frame after another. Pipeline: `analyze` on the whole video (decode, detection
/// with crop classification, motion, tracking and output, overlapping on their threads).
pub fn run(config: &Config, args: &Args) -> Result<Exit> {
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
    let started = std::time::Instant::now();
    for image in &frames {
        model.preprocess(image)?;
        model.infer()?;
        model.postprocess(config.detector.min_score, &mut raw);
    }
    let bare_fps = frames.len() as f64 / started.elapsed().as_secs_f64();
    let out = std::env::temp_dir().join(format!("chaperone-bench-{}", std::process::id()));
    let options = RecordingOptions { annotated_video: args.with_video, image_fps: 10.0, progress: false, view: None };
    let analysed = recording::analyse(&args.video, &out, config, &mut detector, &options);
    let _ = std::fs::remove_dir_all(&out);
    let summary = analysed?.summary;
    let (w, h) = (summary.source.width, summary.source.height);
    println!("video: {} ({w}x{h}, {} frames)", args.video.display(), summary.frames);
    println!("bare inference (pre + inference + post, {} frames in memory): {bare_fps:.1} frames/s", frames.len());
    println!(
        "pipeline (decode, detect + classify, motion, track, tracks.csv{}): {:.1} frames/s",
        if args.with_video { ", annotated.mp4" } else { "" },
        summary.fps_processed
    );
    println!("pipeline / bare inference: {:.0}%", 100.0 * summary.fps_processed / bare_fps);
    Ok(Exit::Success)
}
