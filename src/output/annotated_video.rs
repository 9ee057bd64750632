//! `annotated.mp4`: every frame with each track's box, role, id and state, and the frame's time, encoded
//! by an ffmpeg child process (H.264) fed raw frames on its standard input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use image::RgbImage;

use super::annotate::draw_tracks;
use crate::error::{Error, Result};
use crate::pipeline::{AnalysedFrame, RunEnd, Sink};

pub struct AnnotatedVideo {
    path: PathBuf,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    canvas: RgbImage,
}

impl AnnotatedVideo {
    /// Starts the encoder for frames of `width` x `height` at `fps`.
    pub fn create(path: &Path, width: u32, height: u32, fps: f64) -> Result<AnnotatedVideo> {
        let fps = if fps.is_finite() && fps > 0.0 { fps } else { 25.0 };
        let mut child = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", &format!("{width}x{height}")])
            .args(["-framerate", &format!("{fps:.6}"), "-i", "pipe:0"])
            // H.264 in yuv420p needs even sizes.
            .args(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"])
            .args(["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"])
            .args(["-movflags", "+faststart"])
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|_| {
                Error::output(path, "cannot run `ffmpeg` to encode: install ffmpeg (scripts/setup.sh does)")
            })?;
        let stdin = child.stdin.take();
        Ok(AnnotatedVideo { path: path.to_path_buf(), child: Some(child), stdin, canvas: RgbImage::new(width, height) })
    }

    fn encoder_failure(&mut self) -> Error {
        let mut detail = String::new();
        if let Some(child) = self.child.take() {
            drop(self.stdin.take());
            if let Ok(out) = child.wait_with_output() {
                detail = String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("").to_string();
            }
        }
        Error::output(&self.path, format!("the video encoder failed: {detail}"))
    }
}

impl Sink for AnnotatedVideo {
    fn frame(&mut self, a: &AnalysedFrame) -> Result<bool> {
        self.canvas.copy_from_slice(a.frame.image.as_raw());
        draw_tracks(&mut self.canvas, a);
        let Some(stdin) = self.stdin.as_mut() else { return Err(self.encoder_failure()) };
        if stdin.write_all(self.canvas.as_raw()).is_err() {
            return Err(self.encoder_failure());
        }
        Ok(true)
    }

    fn finish(&mut self, _end: &RunEnd) -> Result<()> {
        drop(self.stdin.take());
        let Some(child) = self.child.take() else { return Ok(()) };
        let out = child.wait_with_output().map_err(|e| Error::io(&self.path, e))?;
        if !out.status.success() {
            let detail = String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("").to_string();
            return Err(Error::output(&self.path, format!("the video encoder failed: {detail}")));
        }
        Ok(())
    }
}
