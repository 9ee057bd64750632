//! The two slow stages on threads of their own: capture (decoding, or waiting for the camera) and
//! detection (the model), each handing frames to the next through a bounded channel, so the three run
//! at once on different cores.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};

use super::Mode;
use crate::detect::{Detection, Detector};
use crate::error::{Error, Result};
use crate::source::{Frame, FrameSource};

type Captured = Result<(Frame, Duration)>;
type Detected = Result<(Frame, Vec<Detection>, Duration)>;

/// Hands every detected frame (with its decode time) to `on_frame` on this thread, until the source
/// ends, something fails, or `on_frame` returns `false`. Returns the frames live mode dropped as stale,
/// and the error that ended the run, if any.
pub(super) fn drive(
    source: &mut dyn FrameSource,
    detector: &mut dyn Detector,
    mode: Mode,
    on_frame: &mut dyn FnMut(Frame, Vec<Detection>, Duration) -> Result<bool>,
) -> (u64, Option<Error>) {
    let (capacity, detect_capacity) = match mode {
        Mode::Batch => (4, 4),
        Mode::Live { .. } => (1, 2),
    };
    let (frame_tx, frame_rx) = bounded::<Captured>(capacity);
    let (det_tx, det_rx) = bounded::<Detected>(detect_capacity);
    let stopping = AtomicBool::new(false);
    let mut error = None;
    let dropped = std::thread::scope(|scope| {
        // Live mode's capture thread takes stale frames back out of the queue itself. (In batch mode it
        // must not hold a receiver: the queue closing is how it learns the run is over.)
        let stale_rx = matches!(mode, Mode::Live { .. }).then(|| frame_rx.clone());
        let stopping = &stopping;
        let capture = scope.spawn(move || capture_loop(source, frame_tx, stale_rx, stopping));
        scope.spawn(move || detect_loop(detector, frame_rx, det_tx));
        loop {
            let item = match mode {
                Mode::Batch => det_rx.recv().ok(),
                Mode::Live { stall_after } => match det_rx.recv_timeout(stall_after) {
                    Ok(item) => Some(item),
                    Err(RecvTimeoutError::Timeout) => {
                        error = Some(Error::ProcessingStalled { seconds: stall_after.as_secs_f64() });
                        break;
                    }
                    Err(RecvTimeoutError::Disconnected) => None,
                },
            };
            let Some(item) = item else { break };
            match item.and_then(|(frame, detections, decode)| on_frame(frame, detections, decode)) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        // Stop the other threads: dropping the receiver makes their sends fail, and the flag stops a live
        // capture loop (which holds a receiver of its own).
        stopping.store(true, Ordering::Relaxed);
        drop(det_rx);
        capture.join().unwrap_or(0)
    });
    (dropped, error)
}

/// Reads frames into the channel; in live mode (`stale` given) replaces a frame nobody has taken yet.
/// Returns how many frames were dropped.
fn capture_loop(
    source: &mut dyn FrameSource,
    tx: Sender<Captured>,
    stale: Option<Receiver<Captured>>,
    stopping: &AtomicBool,
) -> u64 {
    let mut dropped = 0;
    while !stopping.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        let item = match source.next_frame() {
            Ok(Some(frame)) => Ok((frame, t0.elapsed())),
            Ok(None) => return dropped,
            Err(e) => Err(e),
        };
        let failed = item.is_err();
        let sent = match &stale {
            None => tx.send(item).is_ok(),
            Some(stale) => match tx.try_send(item) {
                Ok(()) => true,
                Err(TrySendError::Full(item)) => {
                    if stale.try_recv().is_ok() {
                        dropped += 1;
                    }
                    tx.send(item).is_ok()
                }
                Err(TrySendError::Disconnected(_)) => false,
            },
        };
        if !sent || failed {
            return dropped;
        }
    }
    dropped
}

fn detect_loop(detector: &mut dyn Detector, rx: Receiver<Captured>, tx: Sender<Detected>) {
    for item in rx.iter() {
        let out = item.and_then(|(frame, decode)| {
            let detections = detector.detect_frame(&frame)?;
            Ok((frame, detections, decode))
        });
        let failed = out.is_err();
        if tx.send(out).is_err() || failed {
            return;
        }
    }
}
