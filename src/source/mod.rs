//! Frame sources: where frames come from, each stamped with its capture or presentation time in seconds.
//!
//! - [`video::VideoFile`]: any file ffmpeg reads, decoded through the ffmpeg CLI (timestamps from the
//!   stream, so variable frame rates and gaps are honest);
//! - [`image_dir::ImageDir`]: a directory of images at a stated frame rate;
//! - [`camera::CameraSource`] (feature `camera`): a webcam through nokhwa;
//! - [`stream::NetworkStream`]: a network or phone camera (`rtsp://`, `http://`...), reopened when it drops;
//! - [`paced::Paced`]: any source delivered at its own frame rate in real time, the way a camera would
//!   (how live mode is tested: no camera exists on CI machines).

pub mod image_dir;
pub use image_dir::is_image;
pub mod paced;
pub mod stream;
pub mod video;
pub mod watchdog;

#[cfg(feature = "camera")]
pub mod camera;

use std::time::Instant;

use image::RgbImage;
use serde::Serialize;

use std::path::Path;

use crate::error::{Error, Result};

/// Which webcam: `live --camera N|/dev/videoN|NAME`.
#[derive(Debug, Clone, PartialEq)]
pub enum CameraDevice {
    Index(u32),
    /// A part of the name `chaperone cameras` lists (case does not matter).
    Name(String),
}

impl CameraDevice {
    /// `0`, `/dev/video2` (the index 2) or a name.
    pub fn parse(text: &str) -> CameraDevice {
        let index = text.strip_prefix("/dev/video").unwrap_or(text);
        match index.parse() {
            Ok(index) => CameraDevice::Index(index),
            Err(_) => CameraDevice::Name(text.to_string()),
        }
    }
}

/// A webcam and, when the owner asks, its picture size and frame rate.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraChoice {
    pub device: CameraDevice,
    pub size: Option<(u32, u32)>,
    pub fps: Option<u32>,
}

impl Default for CameraChoice {
    fn default() -> Self {
        CameraChoice { device: CameraDevice::Index(0), size: None, fps: None }
    }
}

/// One frame: its position in the source, its time in seconds, and its pixels.
#[derive(Debug, Clone)]
pub struct Frame {
    /// 0-based position among the frames the source delivered (dropped frames still count in live mode).
    pub index: u64,
    /// Capture or presentation time in seconds from the start of the source.
    pub time_s: f64,
    pub image: RgbImage,
    /// When this program received the frame: capture-to-decision latency is measured from here.
    pub captured_at: Instant,
    /// The first frame of a stream that had dropped and came back: how long it was silent, seconds.
    pub reconnected_after_s: Option<f64>,
}

/// What is known about a source before reading it.
#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// Nominal frames per second, when the source states one.
    pub fps: Option<f64>,
    pub duration_s: Option<f64>,
    /// Frames the container announces, when it does (for progress and truncation checks).
    pub expected_frames: Option<u64>,
    /// A live source: frames arrive in real time whether or not we keep up.
    pub live: bool,
}

pub trait FrameSource: Send {
    fn info(&self) -> &SourceInfo;
    /// The next frame; `Ok(None)` at the end of the source.
    fn next_frame(&mut self) -> Result<Option<Frame>>;
    /// Problems met so far that did not stop reading (corrupt packets, a truncated file, an unreadable
    /// image skipped), for the run summary.
    fn problems(&self) -> Vec<String> {
        Vec::new()
    }
}

impl<S: FrameSource + ?Sized> FrameSource for Box<S> {
    fn info(&self) -> &SourceInfo {
        (**self).info()
    }
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        (**self).next_frame()
    }
    fn problems(&self) -> Vec<String> {
        (**self).problems()
    }
}

/// Reads an image file as RGB, with a one-line error for a missing, empty or corrupt file.
pub fn read_image(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::Image { path: path.into(), message: e.to_string() })?;
    if bytes.is_empty() {
        return Err(Error::Image { path: path.into(), message: "the file is empty".into() });
    }
    let image = image::load_from_memory(&bytes)
        .map_err(|e| Error::Image { path: path.into(), message: format!("not a readable image ({e})") })?;
    if image.width() == 0 || image.height() == 0 {
        return Err(Error::Image { path: path.into(), message: "the image has no pixels".into() });
    }
    Ok(image.to_rgb8())
}
