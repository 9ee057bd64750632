//! The webcam's frame conversion, the code `live --camera` runs on every frame (`source::camera::to_rgb`),
//! on real buffers: a frame of real footage turned by ffmpeg into the two formats webcams deliver (YUYV
//! and MJPEG), compared with ffmpeg's own RGB of the same frame. (No camera exists on CI machines; this
//! is the part of the camera path that can be tested without one.)
#![cfg(feature = "camera")]

mod common;

use std::path::Path;
use std::process::Command;

use chaperone::source::camera::to_rgb;
use nokhwa::utils::{FrameFormat, Resolution};

/// Frame 2 s into `video` as ffmpeg writes it in `format` (`-f`, and `-pix_fmt` or `-c:v`).
fn ffmpeg_frame(video: &Path, args: &[&str], out: &Path) -> Vec<u8> {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-ss", "2", "-i"])
        .arg(video)
        .args(["-frames:v", "1"])
        .args(args)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg {args:?}");
    std::fs::read(out).unwrap()
}

/// Mean absolute difference per sample.
fn mean_difference(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (*x as f64 - *y as f64).abs()).sum::<f64>() / a.len() as f64
}

#[test]
fn yuyv_and_mjpeg_camera_buffers_of_real_footage_convert_to_its_colours() {
    let Some(video) = common::media("mouse-openfield/openfield-mouse.mp4") else { return };
    let dir = tempfile::tempdir().unwrap();
    let reference = ffmpeg_frame(&video, &["-f", "rawvideo", "-pix_fmt", "rgb24"], &dir.path().join("frame.rgb"));
    let yuyv = ffmpeg_frame(&video, &["-f", "rawvideo", "-pix_fmt", "yuyv422"], &dir.path().join("frame.yuyv"));
    let mjpeg = ffmpeg_frame(&video, &["-f", "mjpeg", "-q:v", "2"], &dir.path().join("frame.mjpg"));
    assert_eq!((reference.len(), yuyv.len()), (640 * 480 * 3, 640 * 480 * 2));
    let resolution = Resolution::new(640, 480);
    for (format, bytes, tolerance) in [(FrameFormat::YUYV, &yuyv, 1.0), (FrameFormat::MJPEG, &mjpeg, 2.0)] {
        let image = to_rgb(&nokhwa::Buffer::new(resolution, bytes, format)).unwrap();
        assert_eq!(image.dimensions(), (640, 480), "{format:?}");
        let difference = mean_difference(image.as_raw(), &reference);
        assert!(difference < tolerance, "{format:?}: {difference:.2} grey levels from ffmpeg's RGB on average");
        // The mouse (dark) and the floor (light) keep their places: the darkest tenth of the pixels
        // agree with ffmpeg's.
        let dark = |rgb: &[u8]| -> Vec<bool> {
            rgb.chunks(3).map(|p| (p[0] as u32 + p[1] as u32 + p[2] as u32) < 150).collect()
        };
        let (ours, theirs) = (dark(image.as_raw()), dark(&reference));
        let agree = ours.iter().zip(&theirs).filter(|(a, b)| a == b).count() as f64 / ours.len() as f64;
        assert!(agree > 0.99, "{format:?}: dark pixels agree in {agree:.3}");
    }
    // A truncated buffer is an error, not a panic or a picture.
    assert!(to_rgb(&nokhwa::Buffer::new(resolution, &yuyv[..1000], FrameFormat::YUYV)).is_err());
}
