//! Evidence on disk: a short video of what led to each warning and to the stop. The annotated frames of
//! the last seconds are kept, JPEG-encoded, in a ring buffer on a thread of their own (never re-read from
//! the camera); when a warning is confirmed its clip waits for the seconds after it and is then written,
//! and a stop's clip (the seconds before it: the session ends there) is written at once, each by a thread
//! of its own so that the keeping goes on meanwhile. ffmpeg turns the kept JPEGs into an H.264 MP4 a
//! phone plays, each frame shown until the next one's capture time. A clip that cannot be written is said on stderr, once per
//! clip, and supervision goes on.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{Sender, unbounded};
use image::RgbImage;

use super::annotate::{draw_tracks, encode_jpeg};
use super::event_log::{STOP_CLIP, warning_clip};
use crate::error::Result;
use crate::pipeline::{AnalysedFrame, RunEnd, Sink};
use crate::session::controller::{Decision, SessionConfig};

/// Frames a second kept for the clips: enough to see what happened, cheap enough to leave inference its
/// cores.
const CLIP_MAX_FPS: f64 = 12.0;
const JPEG_QUALITY: u8 = 80;
/// Frames waiting for the encoder thread at most; more are skipped (the pipeline never waits).
const MAX_WAITING: usize = 2;

enum Work {
    Frame {
        time_s: f64,
        image: RgbImage,
    },
    /// A frame drawn and encoded elsewhere (the live view's encoder), through a [`ClipFeed`].
    Encoded {
        time_s: f64,
        jpeg: Arc<Vec<u8>>,
    },
    /// Write `name` (relative to the run folder) from `from_s` to `until_s`, once frames reach `until_s`.
    Clip {
        name: String,
        from_s: f64,
        until_s: f64,
    },
    /// The run is over: write what is pending. Said rather than told by the channel's closing, which a
    /// [`ClipFeed`] still held elsewhere would put off.
    End,
}

/// The sink: hands frames and clip requests to the keeper thread.
pub struct ClipSink {
    work: Option<Sender<Work>>,
    waiting: Arc<AtomicUsize>,
    keeper: Option<std::thread::JoinHandle<()>>,
    before_s: f64,
    after_s: f64,
    last_sent_s: Option<f64>,
    last_time_s: f64,
    /// The frames come through a [`ClipFeed`]: this sink draws none itself.
    fed: bool,
}

/// Annotated frames for the clips from a sink that draws and JPEG-encodes them anyway (the live view's,
/// at the same rate), so that each frame is drawn and encoded once.
#[derive(Clone)]
pub struct ClipFeed {
    work: Sender<Work>,
}

impl ClipFeed {
    pub fn send(&self, time_s: f64, jpeg: Arc<Vec<u8>>) {
        let _ = self.work.send(Work::Encoded { time_s, jpeg });
    }
}

impl ClipSink {
    /// Clips into `run_dir` (warnings' under `clips/`); `None` when the config asks for none.
    pub fn new(run_dir: &Path, session: &SessionConfig) -> Option<ClipSink> {
        if session.clip_before_s <= 0.0 && session.clip_after_s <= 0.0 {
            return None;
        }
        let (work, received) = unbounded();
        let waiting = Arc::new(AtomicUsize::new(0));
        let mut keeper = Keeper {
            run_dir: run_dir.to_path_buf(),
            keep_s: session.clip_before_s,
            frames: VecDeque::new(),
            pending: Vec::new(),
            writers: Vec::new(),
        };
        let counter = waiting.clone();
        let thread = std::thread::Builder::new()
            .name("clips".into())
            .spawn(move || {
                for item in received.iter() {
                    if matches!(item, Work::End) {
                        break;
                    }
                    keeper.take(item, &counter);
                }
                keeper.write_all_pending();
                for writer in keeper.writers.drain(..) {
                    let _ = writer.join();
                }
            })
            .ok()?;
        Some(ClipSink {
            work: Some(work),
            waiting,
            keeper: Some(thread),
            before_s: session.clip_before_s,
            after_s: session.clip_after_s,
            last_sent_s: None,
            last_time_s: 0.0,
            fed: false,
        })
    }

    /// From now on the clips' frames come through the returned feed, not drawn and encoded here.
    pub fn feed(&mut self) -> Option<ClipFeed> {
        let work = self.work.clone()?;
        self.fed = true;
        Some(ClipFeed { work })
    }

    fn request(&self, name: String, from_s: f64, until_s: f64) {
        if let Some(work) = &self.work {
            let _ = work.send(Work::Clip { name, from_s, until_s });
        }
    }

    fn keep(&mut self, a: &AnalysedFrame, deciding: bool) {
        let Some(work) = self.work.as_ref().filter(|_| !self.fed) else { return };
        let t = a.frame.time_s;
        let due = self.last_sent_s.is_none_or(|last| t - last >= 1.0 / CLIP_MAX_FPS || t < last);
        // The frame that decided a stop or a warning is always kept.
        if !deciding && (!due || self.waiting.load(Ordering::Relaxed) >= MAX_WAITING) {
            return;
        }
        let mut image = a.frame.image.clone();
        draw_tracks(&mut image, a);
        self.waiting.fetch_add(1, Ordering::Relaxed);
        if work.send(Work::Frame { time_s: t, image }).is_ok() {
            self.last_sent_s = Some(t);
        }
    }
}

impl Sink for ClipSink {
    fn frame(&mut self, a: &AnalysedFrame) -> Result<bool> {
        self.last_time_s = a.frame.time_s;
        let decisions = a.verdict.as_ref().map_or(&[][..], |v| &v.decisions[..]);
        // The request first: the deciding frame is then already one the clip waits for.
        for decision in decisions {
            match decision {
                Decision::Stop(reason) => {
                    self.request(STOP_CLIP.to_string(), reason.time_s - self.before_s, reason.time_s)
                }
                Decision::Warn(e) => {
                    self.request(warning_clip(e), e.confirmed_s - self.before_s, e.confirmed_s + self.after_s)
                }
                Decision::Cue(_) => {}
            }
        }
        let deciding = decisions.iter().any(|d| !matches!(d, Decision::Cue(_)));
        self.keep(a, deciding);
        Ok(true)
    }

    fn finish(&mut self, end: &RunEnd) -> Result<()> {
        // A fault found between frames (a camera gone silent): the seconds before it.
        if let Some((_, reason)) = &end.fault {
            let t = self.last_time_s;
            self.request(STOP_CLIP.to_string(), t - self.before_s, t.max(reason.time_s));
        }
        if let Some(work) = self.work.take() {
            let _ = work.send(Work::End);
        }
        if let Some(keeper) = self.keeper.take() {
            let _ = keeper.join();
        }
        Ok(())
    }
}

/// The keeper thread's state: the last seconds' frames and the clips waiting for theirs.
struct Keeper {
    run_dir: PathBuf,
    keep_s: f64,
    frames: VecDeque<(f64, Arc<Vec<u8>>)>,
    pending: Vec<(String, f64, f64)>,
    /// Clips being written.
    writers: Vec<std::thread::JoinHandle<()>>,
}

impl Keeper {
    fn take(&mut self, item: Work, waiting: &AtomicUsize) {
        match item {
            Work::Clip { name, from_s, until_s } => self.pending.push((name, from_s, until_s)),
            Work::Frame { time_s, image } => {
                waiting.fetch_sub(1, Ordering::Relaxed);
                if let Ok(jpeg) = encode_jpeg(&image, JPEG_QUALITY) {
                    self.keep(time_s, Arc::new(jpeg));
                }
            }
            Work::Encoded { time_s, jpeg } => self.keep(time_s, jpeg),
            Work::End => {}
        }
    }

    /// Keeps one encoded frame, and writes the clips it completes.
    fn keep(&mut self, time_s: f64, jpeg: Arc<Vec<u8>>) {
        if self.frames.back().is_some_and(|(last, _)| time_s < *last) {
            // Time went back (a new start): what was kept belongs to another stretch.
            self.frames.clear();
        }
        self.frames.push_back((time_s, jpeg));
        let (ready, waiting): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|p| time_s >= p.2);
        self.pending = waiting;
        for (name, from_s, until_s) in ready {
            self.write(&name, from_s, until_s);
        }
        let oldest_needed = self.pending.iter().map(|p| p.1).fold(time_s - self.keep_s, f64::min);
        while self.frames.front().is_some_and(|(t, _)| *t < oldest_needed) {
            self.frames.pop_front();
        }
    }

    /// The end of the run: every clip still waiting gets what there is.
    fn write_all_pending(&mut self) {
        for (name, from_s, until_s) in std::mem::take(&mut self.pending) {
            self.write(&name, from_s, until_s);
        }
    }

    fn write(&mut self, name: &str, from_s: f64, until_s: f64) {
        let frames: Vec<(f64, Arc<Vec<u8>>)> =
            self.frames.iter().filter(|(t, _)| *t >= from_s - 1e-6 && *t <= until_s + 1e-6).cloned().collect();
        let (path, run_dir) = (self.run_dir.join(name), self.run_dir.clone());
        let writer = std::thread::Builder::new().name("clip-writer".into()).spawn(move || {
            if let Err(why) = write_clip(&path, &frames) {
                eprintln!(
                    "chaperone: could not write the clip {}: {why} (is {} writable, and ffmpeg installed? supervision goes on)",
                    path.display(),
                    run_dir.display()
                );
            }
        });
        self.writers.extend(writer.ok());
    }
}

/// The frames as H.264 in MP4 at `CLIP_MAX_FPS`, each repeated until the next one's time.
fn write_clip(path: &Path, frames: &[(f64, Arc<Vec<u8>>)]) -> std::result::Result<(), String> {
    if frames.is_empty() {
        return Err("no frame was kept for it".into());
    }
    let fps = CLIP_MAX_FPS;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let mut child = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(["-f", "image2pipe", "-c:v", "mjpeg", "-framerate", &format!("{fps:.3}"), "-i", "pipe:0"])
        .args(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"])
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("ffmpeg has no input")?;
    // Each frame is written until the clip's clock reaches the next one's time (none when frames come
    // closer than the clip's rate; a gap is held for 2 s at most).
    let start = frames[0].0;
    let mut written = 0usize;
    let fed = frames.iter().enumerate().try_for_each(|(i, (_, jpeg))| {
        let due = frames.get(i + 1).map_or(written + 1, |(next, _)| ((next - start) * fps).round() as usize);
        let copies = due.saturating_sub(written).min((2.0 * fps) as usize);
        written += copies;
        (0..copies).try_for_each(|_| stdin.write_all(jpeg))
    });
    drop(stdin);
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    match (fed, out.status.success()) {
        (Ok(()), true) => Ok(()),
        _ => Err(String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("ffmpeg failed").to_string()),
    }
}
