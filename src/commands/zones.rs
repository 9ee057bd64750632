//! `chaperone zones`: the enclosure and shelters of a config drawn on a real frame (an image, a video's
//! first frame, a camera's or a stream's), so that a misplaced shelter is seen before a session, not
//! after it silently judged no hiding; each zone with what it turns on, and warnings for zones that
//! cannot work.

use std::path::PathBuf;
use std::time::Duration;

use super::Exit;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::output::annotate::draw_zones;
use crate::runs::session::{self, LiveSource};
use crate::source::{CameraChoice, CameraDevice, read_image};
use crate::zones::ZoneKind;

#[derive(clap::Args)]
pub struct Args {
    /// A picture of the meeting area: an image, a video (its first frame), or a stream URL.
    #[arg(value_name = "VIDEO|IMAGE|URL", required_unless_present = "camera")]
    input: Option<String>,
    /// Take the picture from this camera instead (index, /dev/videoN or name, as `chaperone cameras`).
    #[arg(long, value_name = "N|NAME", conflicts_with = "input")]
    camera: Option<String>,
    /// Where to write the picture.
    #[arg(long, value_name = "FILE", default_value = "zones.png")]
    out: PathBuf,
}

pub fn run(config: &Config, args: &Args) -> Result<Exit> {
    let (name, mut picture) = grab(config, args)?;
    draw_zones(&mut picture, &config.zones());
    picture.save(&args.out).map_err(|e| Error::io(&args.out, std::io::Error::other(e)))?;
    let (w, h) = picture.dimensions();
    let file = config.file.as_ref().map_or("the default config".into(), |f| f.display().to_string());
    println!("zones of {file} on {name} ({w}x{h}):");
    let zones = config.zones();
    for zone in zones.named() {
        let corners: Vec<String> = zone.area.corners_px(w, h).iter().map(|(x, y)| format!("({x:.0},{y:.0})")).collect();
        println!(
            "  {:<16} {}, {:.1}% of the frame: {}",
            zone.label(),
            zone.area.describe(),
            100.0 * zone.area.share_of_frame(),
            corners.join(" ")
        );
        println!("      {}", zone.kind.enables());
    }
    let mut warnings = zones.warnings(config.roles.enclosure_margin);
    if zones.enclosure.is_none() {
        println!("  no enclosure: the rat may be anywhere in the frame (roles.enclosure, or draw it in the live view)");
    }
    if zones.shelters.is_empty() {
        warnings.push(format!(
            "no shelter: {} is never judged, and a rat out of sight is `rat_unseen` (behaviour.hiding.shelters, or \
             draw them in the live view)",
            ZoneKind::Shelter.enables().split(':').next().unwrap_or("hiding")
        ));
    }
    for warning in &warnings {
        println!("warning: {warning}");
    }
    println!("picture: {}", args.out.display());
    Ok(Exit::Success)
}

/// The frame to draw on, and what it came from.
fn grab(config: &Config, args: &Args) -> Result<(String, image::RgbImage)> {
    let timeout = Duration::from_secs_f64(config.session.camera_timeout_s);
    let source = match (&args.camera, &args.input) {
        (Some(camera), _) => {
            LiveSource::Camera(CameraChoice { device: CameraDevice::parse(camera), ..CameraChoice::default() })
        }
        (None, Some(input)) if input.contains("://") => LiveSource::Stream(input.clone()),
        (None, Some(input)) => {
            let path = PathBuf::from(input);
            if crate::source::is_image(&path) {
                return Ok((input.clone(), read_image(&path)?));
            }
            LiveSource::File { path, realtime: false }
        }
        (None, None) => return Err(Error::Config("zones needs a picture: VIDEO, IMAGE, URL or --camera N".into())),
    };
    let (mut frames, _) = session::open(&source, timeout)?;
    let name = frames.info().name.clone();
    match frames.next_frame()? {
        Some(frame) => Ok((name, frame.image)),
        None => Err(Error::source(&name, "it holds no frame to draw the zones on")),
    }
}
