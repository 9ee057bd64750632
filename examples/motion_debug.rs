//! Debug probe of the motion model: the rodent candidates it finds in frames FROM..=TO of a video, with
//! its own state (`cargo run --release --example motion_debug VIDEO FROM TO`).

use std::path::Path;

use chaperone::config::Config;
use chaperone::error::{Error, Result};
use chaperone::fusion::Fusion;
use chaperone::source::FrameSource;
use chaperone::source::video::VideoFile;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = || Error::Config("usage: motion_debug VIDEO FROM TO (frame numbers)".into());
    let (path, from, to) = match &args[1..] {
        [path, from, to] => {
            (Path::new(path), from.parse::<u64>().map_err(|_| usage())?, to.parse::<u64>().map_err(|_| usage())?)
        }
        _ => return Err(usage()),
    };
    let config = Config::default();
    let mut src = VideoFile::open(path)?;
    let info = src.info().clone();
    let mut fusion = Fusion::new(&config.motion, &config.roles, info.width, info.height);
    fusion.seed_background(path, &info)?;
    let motion = fusion.motion().ok_or_else(|| Error::Config("motion is turned off in the config".into()))?;
    while let Some(f) = src.next_frame()? {
        let r = motion.analyse(&f.image, f.time_s, &[], &[], true);
        if f.index >= from && f.index <= to {
            println!(
                "{} {:?} sc={} {}",
                f.index,
                r.candidates.iter().map(|c| (c.bbox.x1, c.bbox.y1, c.bbox.x2, c.bbox.y2, c.area)).collect::<Vec<_>>(),
                r.scene_changed,
                motion.debug_line()
            );
        }
        if f.index > to {
            break;
        }
    }
    Ok(())
}
