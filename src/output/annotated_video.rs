//! `annotated.mp4` (and a live session's `session.mp4`, `live --record`): every frame with each track's
//! box, role, id and state, and the frame's time, encoded by an ffmpeg child process (H.264) fed raw
//! frames on its standard input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use image::RgbImage;

use super::annotate::draw_tracks;
use crate::error::{Error, Result};
use crate::pipeline::{AnalysedFrame, RunEnd, Sink};

pub struct AnnotatedVideo {
    path: PathBuf,
    fps: f64,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    canvas: RgbImage,
    /// Live frames come when they come (some dropped): each is written as often as the frame rate asks
    /// until the next one's capture time, so the video plays at the pace it was seen. `None` for a
    /// recording, whose every frame is written once.
    paced: Option<Pacing>,
}

struct Pacing {
    first_s: Option<f64>,
    written: u64,
    /// The encoder failed and said so: a live session goes on without its recording.
    failed: bool,
}

/// A live video holds a frame at most this long (a stalled camera jumps on): the session says the
/// stall, and a long run of copies would hold up the pipeline that writes them.
const MAX_REPEAT_S: f64 = 1.0;

impl AnnotatedVideo {
    /// Starts the encoder for frames of `width` x `height` at `fps`.
    pub fn create(path: &Path, width: u32, height: u32, fps: f64) -> Result<AnnotatedVideo> {
        let fps = if fps.is_finite() && fps > 0.0 { fps } else { 25.0 };
        let (child, stdin) = spawn(path, width, height, fps)?;
        let canvas = RgbImage::new(width, height);
        Ok(AnnotatedVideo { path: path.to_path_buf(), fps, child: Some(child), stdin, canvas, paced: None })
    }

    /// A live session's recording at `fps`, its size taken from the first frame (a stream's is known
    /// only then). ffmpeg is checked for now.
    pub fn live(path: &Path, fps: f64) -> Result<AnnotatedVideo> {
        let fps = if fps.is_finite() && fps > 0.0 { fps.min(60.0) } else { 25.0 };
        Command::new("ffmpeg").arg("-version").stdout(Stdio::null()).status().map_err(|_| {
            Error::output(path, "cannot run `ffmpeg` to record: install ffmpeg (scripts/setup.sh does)")
        })?;
        let pacing = Pacing { first_s: None, written: 0, failed: false };
        Ok(AnnotatedVideo {
            path: path.to_path_buf(),
            fps,
            child: None,
            stdin: None,
            canvas: RgbImage::new(0, 0),
            paced: Some(pacing),
        })
    }

    /// How many times to write the frame at `time_s`: none when frames come faster than the video's
    /// rate, several to fill a gap.
    fn copies(&mut self, time_s: f64) -> u64 {
        let fps = self.fps;
        let Some(p) = &mut self.paced else { return 1 };
        let first = *p.first_s.get_or_insert(time_s);
        let due = (((time_s - first).max(0.0) * fps).floor() as u64 + 1).max(p.written);
        let copies = (due - p.written).min((MAX_REPEAT_S * fps).ceil() as u64);
        p.written = due;
        copies
    }

    fn write_frame(&mut self, a: &AnalysedFrame) -> Result<()> {
        let copies = self.copies(a.frame.time_s);
        if copies == 0 || self.paced.as_ref().is_some_and(|p| p.failed) {
            return Ok(());
        }
        if self.paced.is_some() && self.child.is_none() {
            let (w, h) = a.frame.image.dimensions();
            let (child, stdin) = spawn(&self.path, w, h, self.fps)?;
            (self.child, self.stdin, self.canvas) = (Some(child), stdin, RgbImage::new(w, h));
        }
        if a.frame.image.dimensions() != self.canvas.dimensions() {
            return Err(Error::output(&self.path, "the frame size changed mid-video"));
        }
        self.canvas.copy_from_slice(a.frame.image.as_raw());
        draw_tracks(&mut self.canvas, a);
        for _ in 0..copies {
            let Some(stdin) = self.stdin.as_mut() else { return Err(self.encoder_failure()) };
            if stdin.write_all(self.canvas.as_raw()).is_err() {
                return Err(self.encoder_failure());
            }
        }
        Ok(())
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

/// An ffmpeg encoder for raw frames of `width` x `height` at `fps` into `path`, and its input.
fn spawn(path: &Path, width: u32, height: u32, fps: f64) -> Result<(Child, Option<ChildStdin>)> {
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
        .map_err(|_| Error::output(path, "cannot run `ffmpeg` to encode: install ffmpeg (scripts/setup.sh does)"))?;
    let stdin = child.stdin.take();
    Ok((child, stdin))
}

impl Sink for AnnotatedVideo {
    fn frame(&mut self, a: &AnalysedFrame) -> Result<bool> {
        match (self.write_frame(a), &mut self.paced) {
            (Ok(()), _) => {}
            // A recording's video is one of its outputs: a failure ends the run.
            (Err(e), None) => return Err(e),
            // A session's recording is an extra: supervision goes on without it.
            (Err(e), Some(pacing)) => {
                if !pacing.failed {
                    eprintln!("chaperone: {e}; the session goes on without its recording");
                }
                pacing.failed = true;
                (self.stdin, self.child) = (None, None);
            }
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
