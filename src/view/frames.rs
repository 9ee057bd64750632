//! Frames for the live view: a pipeline sink that draws the tracks on a copy of a frame and hands it to
//! an encoder thread, at most `max_fps` a second and never more than one waiting. While the encoder is
//! busy, frames are skipped: the pipeline does not wait for the view.

use crossbeam_channel::{Sender, TrySendError, bounded};
use image::RgbImage;

use super::ViewHandle;
use crate::error::Result;
use crate::output::annotated_video::draw_tracks;
use crate::pipeline::{AnalysedFrame, FrameRate, Sink};

/// JPEG quality of the stream: boxes and labels stay legible at about 30 KB a 640x480 frame.
const JPEG_QUALITY: u8 = 75;

pub struct ViewFrames {
    view: ViewHandle,
    tx: Option<Sender<(f64, RgbImage)>>,
    encoder: Option<std::thread::JoinHandle<()>>,
    min_interval_s: f64,
    last_sent_s: Option<f64>,
    rate: FrameRate,
    expected_frames: Option<u64>,
    frames: u64,
    start_s: Option<f64>,
}

impl ViewFrames {
    /// Streams at most `max_fps` frames a second to `view`; `expected_frames` (a recording's length)
    /// gives the page its progress.
    pub fn new(view: ViewHandle, max_fps: f64, expected_frames: Option<u64>) -> ViewFrames {
        let (tx, rx) = bounded::<(f64, RgbImage)>(1);
        let publisher = view.clone();
        let encoder = std::thread::Builder::new()
            .name("view-encoder".into())
            .spawn(move || {
                for (time_s, image) in rx.iter() {
                    let mut jpeg = Vec::with_capacity(64 * 1024);
                    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY);
                    match image.write_with_encoder(encoder) {
                        Ok(()) => publisher.publish(time_s, jpeg),
                        Err(e) => tracing::warn!("the live view could not encode a frame: {e}"),
                    }
                }
            })
            .ok();
        ViewFrames {
            view,
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

impl Sink for ViewFrames {
    fn frame(&mut self, a: &AnalysedFrame) -> Result<()> {
        let fps = self.rate.tick();
        self.frames += 1;
        let t = a.frame.time_s;
        let start = *self.start_s.get_or_insert(t);
        let (done, expected) = (self.frames, self.expected_frames);
        self.view.status(|s| {
            s.fps = fps;
            s.elapsed_s = t - start;
            s.progress = expected.filter(|n| *n > 0).map(|n| (done as f64 / n as f64).min(1.0));
        });
        let Some(tx) = &self.tx else { return Ok(()) };
        // The frame that ended a run (a stop) is always shown, even if it has to wait for the encoder.
        let ending = self.view.has_ended();
        let due = self.last_sent_s.is_none_or(|last| t - last >= self.min_interval_s || t < last);
        if !ending && (!due || tx.is_full()) {
            return Ok(());
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
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        // Every frame handed over is encoded before the run is called over.
        drop(self.tx.take());
        if let Some(encoder) = self.encoder.take() {
            let _ = encoder.join();
        }
        self.view.frames_flushed();
        Ok(())
    }
}
