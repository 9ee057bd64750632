use chaperone::config::Config;
use chaperone::motion::MotionDetector;
use chaperone::source::FrameSource;
use chaperone::source::video::{VideoFile, sample_frames};
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = Path::new(&args[1]);
    let from: u64 = args[2].parse().unwrap();
    let to: u64 = args[3].parse().unwrap();
    let config = Config::default();
    let mut src = VideoFile::open(path).unwrap();
    let info = src.info().clone();
    let mut m = MotionDetector::new(&config.motion, info.width, info.height);
    let frames = sample_frames(path, info.expected_frames, 25).unwrap();
    let w: Vec<_> = frames.iter().map(|f| m.working_copy(f)).collect();
    m.seed_background(&w);
    while let Some(f) = src.next_frame().unwrap() {
        let r = m.analyse(&f.image, f.time_s, &[], &[]);
        if f.index >= from && f.index <= to {
            println!(
                "{} {:?} sc={} {}",
                f.index,
                r.candidates.iter().map(|c| (c.bbox.x1, c.bbox.y1, c.bbox.x2, c.bbox.y2, c.area)).collect::<Vec<_>>(),
                r.scene_changed,
                m.debug_line()
            );
        }
        if f.index > to {
            break;
        }
    }
}
