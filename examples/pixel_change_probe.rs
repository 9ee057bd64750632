//! Calibration probe: how many pixels of an animal's box change over the freezing lag, per frame, for
//! the tracked animal of a role (`cargo run --release --example pixel_change_probe VIDEO cat|rat`).
//! Prints `time_s changed_pixels box_long_side centre_speed_px_per_s`.

use chaperone::config::Config;
use chaperone::detect::{AnimalDetector, Role};
use chaperone::error::Error;
use chaperone::observe::pixel_change::PixelChange;
use chaperone::pipeline::{self, AnalysedFrame, Mode, RunStart, Sink, Stages};
use chaperone::source::FrameSource;
use chaperone::source::video::VideoFile;

struct Probe {
    role: Role,
    pixels: PixelChange,
}

impl Sink for Probe {
    fn frame(&mut self, a: &AnalysedFrame) -> chaperone::Result<bool> {
        self.pixels.push(a.frame.time_s, &a.frame.image);
        if let Some(t) = a.tracks.iter().find(|t| t.role == self.role && t.is_observed()) {
            let changed = self.pixels.changed_pixels(&t.bbox);
            let speed = (t.velocity.0 as f64).hypot(t.velocity.1 as f64);
            let long_side = t.bbox.width().max(t.bbox.height());
            println!("{:.3} {:.0} {long_side:.0} {speed:.1}", a.frame.time_s, changed.unwrap_or(-1.0));
        }
        Ok(true)
    }
}

fn main() -> chaperone::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, video, role] = &args[..] else {
        return Err(Error::Config("usage: pixel_change_probe VIDEO cat|rat".into()));
    };
    let role = if role == "cat" { Role::Cat } else { Role::Rat };
    let config = Config::default();
    let video = std::path::Path::new(video);
    let mut source = VideoFile::open(video)?;
    let info = source.info().clone();
    let mut stages = Stages::new(&config, info.width, info.height);
    stages.fusion().seed_background(video, &info)?;
    let mut detector = AnimalDetector::load(&config.runtime, &config.detector, &config.roles)?;
    let mut probe = Probe {
        role,
        pixels: PixelChange::new(config.behaviour.freezing.lag_s, config.behaviour.freezing.pixel_cutoff),
    };
    let mut sinks: Vec<&mut dyn Sink> = vec![&mut probe];
    let start = RunStart { source: info, started: pipeline::now_rfc3339(), session: None };
    let outcome = pipeline::run(&mut source, &mut detector, &mut stages, &mut sinks, &start, Mode::Batch, &mut |_| {});
    outcome.error.map_or(Ok(()), Err)
}
