//! The live view as a pipeline sink, and the only writer of what the page shows: the status panel and
//! the events from what flows through the pipeline, the end of the run, and the frames. Each frame is
//! drawn on a copy and handed to an encoder thread, at most `max_fps` a second and never more than one
//! waiting; while the encoder is busy, frames are skipped: the pipeline does not wait for the view.

use std::sync::Arc;

use crossbeam_channel::{Sender, TrySendError, bounded};
use image::RgbImage;

use super::{ViewEnd, ViewHandle};
use crate::error::Result;
use crate::kinds::Severity;
use crate::output::EventLines;
use crate::output::annotate::{draw_tracks, encode_jpeg};
use crate::output::clips::ClipFeed;
use crate::pipeline::{AnalysedFrame, FrameRate, RunEnd, RunStart, Sink};
use crate::session::controller::SessionConfig;

/// JPEG quality of the stream: boxes and labels stay legible at about 30 KB a 640x480 frame.
const JPEG_QUALITY: u8 = 75;

pub struct ViewSink {
    view: ViewHandle,
    /// `live` or `analyze`, as the page names the run.
    mode: &'static str,
    session: SessionConfig,
    lines: EventLines,
    /// Frames arrive in real time: their latency is shown.
    realtime: bool,
    tx: Option<Sender<(f64, RgbImage)>>,
    encoder: Option<std::thread::JoinHandle<()>>,
    min_interval_s: f64,
    last_sent_s: Option<f64>,
    rate: FrameRate,
    expected_frames: Option<u64>,
    frames: u64,
    start_s: Option<f64>,
}

impl ViewSink {
    /// Streams at most `max_fps` frames a second to `view`; `expected_frames` (a recording's length)
    /// gives the page its progress. `session` says what each behaviour means (warnings are shown, reward
    /// cues are not). Each frame encoded is also handed to `clips`, when given.
    pub fn new(
        view: ViewHandle,
        mode: &'static str,
        session: &SessionConfig,
        max_fps: f64,
        expected_frames: Option<u64>,
        clips: Option<ClipFeed>,
    ) -> ViewSink {
        let (tx, rx) = bounded::<(f64, RgbImage)>(1);
        let publisher = view.clone();
        let encoder = std::thread::Builder::new()
            .name("view-encoder".into())
            .spawn(move || {
                for (time_s, image) in rx.iter() {
                    match encode_jpeg(&image, JPEG_QUALITY) {
                        Ok(jpeg) => {
                            // One encoded frame, shared by the page and the clips without a copy.
                            let jpeg = Arc::new(jpeg);
                            if let Some(clips) = &clips {
                                clips.send(time_s, jpeg.clone());
                            }
                            publisher.publish(time_s, jpeg);
                        }
                        Err(e) => tracing::warn!("the live view could not encode a frame: {e}"),
                    }
                }
            })
            .ok();
        ViewSink {
            view,
            mode,
            session: session.clone(),
            lines: EventLines::new(session),
            realtime: false,
            tx: encoder.is_some().then_some(tx),
            encoder,
            min_interval_s: 1.0 / max_fps.max(0.1),
            last_sent_s: None,
            rate: FrameRate::default(),
            expected_frames,
            frames: 0,
            start_s: None,
        }
    }
}

impl ViewSink {
    /// The status panel and the event list from one frame.
    fn show(&mut self, a: &AnalysedFrame) {
        let fps = self.rate.tick();
        self.frames += 1;
        let t = a.frame.time_s;
        let start = *self.start_s.get_or_insert(t);
        let (done, expected, realtime) = (self.frames, self.expected_frames, self.realtime);
        let warnings: Vec<String> =
            a.running.iter().filter(|e| self.session.severity_of(e) != Severity::Cue).map(|e| e.describe(t)).collect();
        self.view.status(|s| {
            s.fps = fps;
            s.elapsed_s = t - start;
            s.progress = expected.filter(|n| *n > 0).map(|n| (done as f64 / n as f64).min(1.0));
            if a.moment.is_some() {
                s.cat = a.status.cat;
                s.rat = a.status.rat;
                s.gap_body_lengths = a.status.gap_body_lengths;
                s.closing_speed = a.status.closing_speed;
                s.warnings = warnings;
            }
            if let Some(v) = &a.verdict {
                s.latency_ms = realtime.then_some(v.latency_s * 1000.0);
                s.left_s = Some(v.left_s);
            }
        });
        for line in self.lines.frame(a) {
            self.view.event(line);
        }
        if let Some(reason) = a.stop() {
            self.view.end(ViewEnd::stop(reason));
        }
    }

    /// Draws the frame and hands it to the encoder, unless it is too soon or the encoder is busy.
    fn send(&mut self, a: &AnalysedFrame) {
        let Some(tx) = &self.tx else { return };
        let t = a.frame.time_s;
        // The frame that ended a run (a stop) is always shown, even if it has to wait for the encoder.
        let ending = self.view.has_ended();
        let due = self.last_sent_s.is_none_or(|last| t - last >= self.min_interval_s || t < last);
        if !ending && (!due || tx.is_full()) {
            return;
        }
        let mut canvas = a.frame.image.clone();
        draw_tracks(&mut canvas, a);
        let sent = if ending {
            tx.send((t, canvas)).is_ok()
        } else {
            !matches!(tx.try_send((t, canvas)), Err(TrySendError::Disconnected(_)))
        };
        if sent {
            self.last_sent_s = Some(t);
        }
    }
}

impl Sink for ViewSink {
    fn begin(&mut self, start: &RunStart) -> Result<()> {
        self.view.begin(&start.source.name, self.mode);
        self.realtime = start.session.as_ref().is_some_and(|s| s.realtime);
        for line in self.lines.start(start) {
            self.view.event(line);
        }
        Ok(())
    }

    fn frame(&mut self, a: &AnalysedFrame) -> Result<bool> {
        self.show(a);
        self.send(a);
        Ok(true)
    }

    fn finish(&mut self, end: &RunEnd) -> Result<()> {
        for line in self.lines.end(end) {
            self.view.event(line);
        }
        // Every frame handed over is encoded before the run is called over.
        drop(self.tx.take());
        if let Some(encoder) = self.encoder.take() {
            let _ = encoder.join();
        }
        self.view.frames_flushed();
        if !self.view.has_ended() {
            self.view.end(match (&end.stop, end.outcome) {
                (Some(reason), _) => ViewEnd::stop(reason),
                (None, Some(outcome)) => ViewEnd::without_stop(outcome.name(), end.time_s),
                (None, None) => ViewEnd::without_stop("finished", end.time_s),
            });
        }
        Ok(())
    }
}
