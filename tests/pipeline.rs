//! The pipeline's two modes with a scripted detector (the `Detector` trait boundary): batch loses no frame
//! however slow inference is; live keeps only the newest frames and counts what it drops.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use chaperone::config::Config;
use chaperone::detect::{Detection, Detector};
use chaperone::error::Result;
use chaperone::pipeline::{self, AnalysedFrame, Mode, RunStart, Sink, Stages};
use chaperone::source::FrameSource;
use chaperone::source::paced::Paced;
use chaperone::source::video::VideoFile;
use image::RgbImage;

/// A detector that finds nothing and takes `delay` to do it.
struct SlowDetector {
    delay: Duration,
}

impl Detector for SlowDetector {
    fn detect(&mut self, _image: &RgbImage) -> Result<Vec<Detection>> {
        std::thread::sleep(self.delay);
        Ok(Vec::new())
    }
}

/// Records the time of each analysed frame, and how old it was (since its capture) once analysed.
#[derive(Default)]
struct Times {
    times: Vec<f64>,
    ages: Vec<Duration>,
}

impl Sink for Times {
    fn frame(&mut self, a: &AnalysedFrame) -> Result<bool> {
        self.times.push(a.frame.time_s);
        self.ages.push(a.frame.captured_at.elapsed());
        Ok(true)
    }
}

/// Two seconds of a 25 fps test pattern, made by the real ffmpeg.
fn test_clip(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("pattern.mp4");
    let ok = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2"])
        .args(["-pix_fmt", "yuv420p"])
        .arg(&path)
        .status()
        .expect("ffmpeg runs (scripts/setup.sh installs it)");
    assert!(ok.success());
    path
}

fn run(source: &mut dyn FrameSource, mode: Mode, delay_ms: u64) -> (pipeline::RunOutcome, Times) {
    let config = Config::default();
    let info = source.info().clone();
    let mut detector = SlowDetector { delay: Duration::from_millis(delay_ms) };
    let mut stages = Stages::new(&config, info.width, info.height);
    let mut times = Times::default();
    let start = RunStart { source: info, started: pipeline::now_rfc3339(), session: None };
    let outcome = {
        let mut sinks: Vec<&mut dyn Sink> = vec![&mut times];
        pipeline::run(source, &mut detector, &mut stages, &mut sinks, &start, mode, &mut |_| {})
    };
    (outcome, times)
}

#[test]
fn batch_mode_loses_no_frame_and_keeps_their_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let mut source = VideoFile::open(&test_clip(dir.path())).unwrap();
    let (outcome, Times { times, .. }) = run(&mut source, Mode::Batch, 5);
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(outcome.stats.frames, 50);
    assert_eq!(outcome.stats.dropped_frames, 0);
    for (i, t) in times.iter().enumerate() {
        assert!((t - i as f64 / 25.0).abs() < 1e-3, "frame {i} at {t}");
    }
}

#[test]
fn live_mode_works_on_the_newest_frame_and_counts_the_stale_ones() {
    let dir = tempfile::tempdir().unwrap();
    // Frames arrive every 40 ms; the detector needs 150 ms: most frames must be dropped, none queued.
    let mut source = Paced::new(VideoFile::open(&test_clip(dir.path())).unwrap());
    let started = std::time::Instant::now();
    let (outcome, Times { times, mut ages }) =
        run(&mut source, Mode::Live { stall_after: std::time::Duration::from_secs(10) }, 150);
    let wall = started.elapsed().as_secs_f64();
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let s = &outcome.stats;
    assert!(s.frames >= 8 && s.frames <= 20, "{} frames analysed", s.frames);
    assert!(s.dropped_frames >= 25, "{} dropped", s.dropped_frames);
    assert_eq!(s.frames + s.dropped_frames, 50, "every frame is either analysed or counted as dropped");
    // Work never queues up: the run ends about when the source does, not 50 x 150 ms later.
    assert!(wall < 3.0, "took {wall:.1} s");
    assert!(times.windows(2).all(|w| w[1] > w[0]));
    assert!(*times.last().unwrap() >= 1.7, "the last frames analysed are the newest: {times:?}");
    // Each frame analysed is the newest one when the detector comes free: analysed 150 ms after that, it
    // is at most one frame interval (40 ms) older. Keeping the frame that waited while the detector was
    // busy instead would make most of them 150 ms older still.
    ages.sort();
    let median = ages[ages.len() / 2];
    assert!(median < Duration::from_millis(215), "analysed frames were {median:?} old (median): {ages:?}");
}
