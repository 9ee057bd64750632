//! `chaperone cameras`: the cameras this machine has, by index, with the formats and sizes each offers,
//! what `live --camera N` opens. Network and phone cameras are not listed: they are URLs
//! (`live --source rtsp://...`).

use super::Exit;
use crate::error::Result;

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON (an array, one object per camera) instead of lines.
    #[arg(long)]
    json: bool,
}

#[cfg(feature = "camera")]
pub fn run(args: &Args) -> Result<Exit> {
    let cameras = crate::source::camera::list()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&cameras).expect("listings serialise"));
        return Ok(Exit::Success);
    }
    if cameras.is_empty() {
        println!(
            "no cameras found (none under /dev/video*: is one connected, and may this user open it? A phone or \
             network camera is a URL: live --source rtsp://... or http://...)"
        );
    }
    for c in &cameras {
        println!("{}  {}  ({})  -> live --camera {}", c.index, c.name, c.description, c.index);
        for f in &c.formats {
            println!("     {f}");
        }
        if let Some(p) = &c.problem {
            println!("     formats unknown: {p}");
        }
    }
    Ok(Exit::Success)
}

#[cfg(not(feature = "camera"))]
pub fn run(_args: &Args) -> Result<Exit> {
    Err(crate::error::Error::Config(
        "this build has no camera support: rebuild with the `camera` feature (the default)".into(),
    ))
}
