//! `chaperone render`: labelled scenarios into real videos (real cat and rat sprites), each with a
//! scenario file pointing at its video, for `eval` to run through the whole pipeline.

use std::path::PathBuf;

use super::Exit;
use crate::error::{Error, Result};
use crate::runs::run_dir;
use crate::scenario::{self, Scenario, video};

#[derive(clap::Args)]
pub struct Args {
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

pub fn run(args: &Args) -> Result<Exit> {
    if !(args.fps > 0.0 && args.fps <= 240.0) {
        return Err(Error::Config(format!("--fps must be between 0 and 240, got {}", args.fps)));
    }
    let paths = if args.paths.is_empty() { vec![scenario::bundled_dir()] } else { args.paths.clone() };
    let files = scenario::find(&paths)?;
    let scenarios = files.iter().map(|p| Scenario::load(p)).collect::<Result<Vec<_>>>()?;
    let sprites = video::Sprites::load(&args.sprites.clone().unwrap_or_else(video::Sprites::default_dir))?;
    run_dir::create_dir(&args.out)?;
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
    Ok(Exit::Success)
}
