//! A webcam through nokhwa (V4L2 on Linux). Frames are stamped with the time they were captured, from
//! the moment the stream opened. A camera that stops delivering is reported as an error, never a hang:
//! the live pipeline turns a silent camera into a `camera lost` stop.

use std::time::Instant;

use image::RgbImage;
use nokhwa::Camera;
use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution};

use super::{CameraChoice, CameraDevice, Frame, FrameSource, SourceInfo};
use crate::error::{Error, Result};

pub struct CameraSource {
    camera: Camera,
    info: SourceInfo,
    start: Instant,
    next_index: u64,
}

// nokhwa's Camera holds platform handles that are used from one thread at a time here: the capture thread
// owns the source outright.
unsafe impl Send for CameraSource {}

impl CameraSource {
    pub fn open(choice: &CameraChoice) -> Result<CameraSource> {
        let index = match &choice.device {
            CameraDevice::Index(index) => *index,
            CameraDevice::Name(name) => index_named(name)?,
        };
        let name = format!("camera {index}");
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            Error::source(&name, format!("{what}: {e} (is a camera connected? `chaperone cameras` lists them)"))
        };
        let mut camera = None;
        let mut last_error = String::new();
        for wanted in formats_wanted(choice) {
            match Camera::new(CameraIndex::Index(index), RequestedFormat::new::<RgbFormat>(wanted)) {
                Ok(opened) => {
                    camera = Some(opened);
                    break;
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        let Some(mut camera) = camera else {
            let asked = describe(choice);
            return Err(fail(&format!("cannot open{asked}"), &last_error));
        };
        camera.open_stream().map_err(|e| fail("cannot start streaming", &e))?;
        let res = camera.resolution();
        if choice.size.is_some_and(|(w, h)| (w, h) != (res.width(), res.height()))
            || choice.fps.is_some_and(|f| f != camera.frame_rate())
        {
            eprintln!(
                "{name}: asked for{}, got {}x{} at {} fps (the nearest it offers)",
                describe(choice),
                res.width(),
                res.height(),
                camera.frame_rate()
            );
        }
        let info = SourceInfo {
            name,
            width: res.width(),
            height: res.height(),
            fps: Some(camera.frame_rate() as f64),
            duration_s: None,
            expected_frames: None,
            live: true,
        };
        Ok(CameraSource { camera, info, start: Instant::now(), next_index: 0 })
    }
}

/// A camera's buffer as it arrives (YUYV, MJPEG, NV12...) converted to RGB.
pub fn to_rgb(buffer: &nokhwa::Buffer) -> std::result::Result<RgbImage, String> {
    let decoded = buffer.decode_image::<RgbFormat>().map_err(|e| format!("undecodable camera frame: {e}"))?;
    let (w, h) = (decoded.width(), decoded.height());
    RgbImage::from_raw(w, h, decoded.into_raw()).ok_or_else(|| "camera frame of the wrong size".to_string())
}

/// What to ask nokhwa for, in turn: the size and frame rate asked, the nearest in either of the two
/// formats webcams offer; without them, the highest frame rate.
fn formats_wanted(choice: &CameraChoice) -> Vec<RequestedFormatType> {
    match (choice.size, choice.fps) {
        (None, None) => vec![RequestedFormatType::AbsoluteHighestFrameRate],
        (Some((w, h)), None) => vec![RequestedFormatType::HighestResolution(Resolution::new(w, h))],
        (None, Some(fps)) => vec![RequestedFormatType::HighestFrameRate(fps)],
        (Some((w, h)), Some(fps)) => [FrameFormat::MJPEG, FrameFormat::YUYV]
            .map(|f| RequestedFormatType::Closest(CameraFormat::new(Resolution::new(w, h), f, fps)))
            .to_vec(),
    }
}

/// " 1280x720 at 30 fps", as asked (empty when nothing was).
fn describe(choice: &CameraChoice) -> String {
    let size = choice.size.map(|(w, h)| format!(" {w}x{h}")).unwrap_or_default();
    let fps = choice.fps.map(|f| format!(" at {f} fps")).unwrap_or_default();
    size + &fps
}

/// The index of the camera whose name holds `name` (case does not matter).
fn index_named(name: &str) -> Result<u32> {
    let cameras = list()?;
    let wanted = name.to_lowercase();
    let found: Vec<&CameraListing> = cameras.iter().filter(|c| c.name.to_lowercase().contains(&wanted)).collect();
    match found.as_slice() {
        [one] => Ok(one.index),
        [] if cameras.is_empty() => Err(Error::source(
            name,
            "no camera by that name: this machine has no camera (a phone camera is a URL: --source)",
        )),
        [] => {
            let names: Vec<String> = cameras.iter().map(|c| format!("{} ({})", c.name, c.index)).collect();
            Err(Error::source(name, format!("no camera by that name; there are: {}", names.join(", "))))
        }
        several => {
            let names: Vec<String> = several.iter().map(|c| format!("{} ({})", c.name, c.index)).collect();
            Err(Error::source(name, format!("several cameras match: {}; say which by index", names.join(", "))))
        }
    }
}

impl FrameSource for CameraSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let buffer = self.camera.frame().map_err(|e| Error::source(&self.info.name, format!("camera lost: {e}")))?;
        let time_s = self.start.elapsed().as_secs_f64();
        let image = to_rgb(&buffer).map_err(|e| Error::source(&self.info.name, e))?;
        let frame =
            Frame { index: self.next_index, time_s, image, captured_at: Instant::now(), reconnected_after_s: None };
        self.next_index += 1;
        Ok(Some(frame))
    }
}

/// A camera this machine has: what `live --camera N` can open.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CameraListing {
    pub index: u32,
    pub name: String,
    pub description: String,
    /// Each format it offers, as "MJPEG 1280x720 at 30 fps".
    pub formats: Vec<String>,
    /// Why its formats could not be read (another program holds it), if so.
    pub problem: Option<String>,
}

/// The cameras V4L2 lists, each with its formats (opening it briefly to ask).
pub fn list() -> Result<Vec<CameraListing>> {
    let found = nokhwa::query(nokhwa::utils::ApiBackend::Auto)
        .map_err(|e| Error::source("cameras", format!("cannot list the cameras: {e}")))?;
    Ok(found
        .into_iter()
        .filter_map(|info| {
            let CameraIndex::Index(index) = *info.index() else { return None };
            let (formats, problem) = match formats_of(index) {
                Ok(formats) => (formats, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            Some(CameraListing {
                index,
                name: info.human_name(),
                description: info.description().to_string(),
                formats,
                problem,
            })
        })
        .collect())
}

fn formats_of(index: u32) -> std::result::Result<Vec<String>, String> {
    let format = RequestedFormat::new::<RgbFormat>(RequestedFormatType::None);
    let mut camera = Camera::new(CameraIndex::Index(index), format).map_err(|e| e.to_string())?;
    let mut formats: Vec<String> = camera
        .compatible_camera_formats()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|f| {
            format!("{} {}x{} at {} fps", f.format(), f.resolution().width(), f.resolution().height(), f.frame_rate())
        })
        .collect();
    formats.sort();
    formats.dedup();
    Ok(formats)
}
