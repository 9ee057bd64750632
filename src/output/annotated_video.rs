//! `annotated.mp4`: every frame with each track's box, role, id and state, and the frame's time, encoded
//! by an ffmpeg child process (H.264) fed raw frames on its standard input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use image::{Rgb, RgbImage};

use crate::annotate::{draw_labelled_box, draw_text, role_colour};
use crate::error::{Error, Result};
use crate::pipeline::{AnalysedFrame, Sink};
use crate::track::TrackState;

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
            .map_err(|_| Error::video(path, "cannot run `ffmpeg` to encode: install ffmpeg (scripts/setup.sh does)"))?;
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
        Error::video(&self.path, format!("the video encoder failed: {detail}"))
    }
}

/// Draws the tracks and the time onto `canvas` (a copy of the frame).
pub fn draw_tracks(canvas: &mut RgbImage, a: &AnalysedFrame) {
    for t in a.tracks.iter().filter(|t| t.state != TrackState::Tentative) {
        let colour = role_colour(t.role);
        let label = match t.state {
            TrackState::Tracked => format!("{} #{} {:.2}", t.role, t.id, t.score),
            TrackState::Coasting => format!("{} #{} predicted", t.role, t.id),
            TrackState::Lost => format!("{} #{} last seen {:.1}s", t.role, t.id, a.frame.time_s - t.last_seen_s),
            TrackState::Tentative => unreachable!(),
        };
        let colour =
            if t.state == TrackState::Tracked { colour } else { Rgb([colour[0] / 2, colour[1] / 2, colour[2] / 2]) };
        draw_labelled_box(canvas, &t.bbox, &label, colour);
    }
    let mut header = format!("t={:.2}s frame {}", a.frame.time_s, a.frame.index);
    if a.motion.scene_changed {
        header.push_str("  scene changed");
    }
    let width = 8 * header.len() as u32 + 6;
    for y in 0..14u32.min(canvas.height()) {
        for x in 0..width.min(canvas.width()) {
            canvas.put_pixel(x, y, Rgb([0, 0, 0]));
        }
    }
    draw_text(canvas, 3, 3, &header, Rgb([255, 255, 255]));
}

impl Sink for AnnotatedVideo {
    fn frame(&mut self, a: &AnalysedFrame) -> Result<()> {
        self.canvas.copy_from_slice(a.frame.image.as_raw());
        draw_tracks(&mut self.canvas, a);
        let Some(stdin) = self.stdin.as_mut() else { return Err(self.encoder_failure()) };
        if stdin.write_all(self.canvas.as_raw()).is_err() {
            return Err(self.encoder_failure());
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        drop(self.stdin.take());
        let Some(child) = self.child.take() else { return Ok(()) };
        let out = child.wait_with_output().map_err(|e| Error::io(&self.path, e))?;
        if !out.status.success() {
            let detail = String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("").to_string();
            return Err(Error::video(&self.path, format!("the video encoder failed: {detail}")));
        }
        Ok(())
    }
}
