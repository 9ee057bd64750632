//! The two slow stages on threads of their own: capture (decoding, or waiting for the camera) and
//! detection (the model), each handing frames to the next through a bounded channel, so the three run
//! at once on different cores.
//!
//! The detector need not see every frame (see [`Cadence`]): while the stages after it report nothing
//! for it to watch, it looks at one frame every `idle_interval_s` and passes the others on unseen.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};

use super::Mode;
use crate::detect::{Detection, Detector};
use crate::error::{Error, Result};
use crate::source::{Frame, FrameSource};

type Captured = Result<(Frame, Duration)>;
/// A frame with the detector's boxes, or `None` where the detector did not look at it.
type Detected = Result<(Frame, Option<Vec<Detection>>, Duration)>;

/// What the stages after the detector say after each frame.
pub(super) enum Next {
    Stop,
    /// Go on; `detector_wanted`: something is in view that the detector must follow frame by frame.
    Continue {
        detector_wanted: bool,
    },
}

/// How many frames the detector's decision lags behind the frame it is for: the detector may run this
/// far ahead of the stages after it (so the two overlap on two cores), and frame `n`'s decision rests on
/// what the stages made of frame `n - DECISION_LAG`. A fixed lag, not "the latest word", so that a batch
/// run gives the same result however the threads are scheduled.
const DECISION_LAG: usize = 3;

/// When the detector looks: at every frame while the stages want it (an animal it follows is in view,
/// the motion detector met something it cannot explain), else at one frame every `idle_interval_s` of
/// capture time, a sentinel for anything coming into view. A lab's rodent-only video is analysed by
/// motion between the sentinels; a meeting with the cat in view is detected at every frame.
struct Cadence {
    idle_interval_s: f64,
    /// The stages' word after each frame, in frame order; `None` when every frame is detected.
    wanted: Option<Receiver<bool>>,
    frames: usize,
    last_look_s: Option<f64>,
}

impl Cadence {
    fn looks_at(&mut self, time_s: f64) -> bool {
        let Some(wanted) = &self.wanted else { return true };
        // The stages ending early close the channel: look, as with no word at all.
        let wanted_now = self.frames < DECISION_LAG || wanted.recv().unwrap_or(true);
        self.frames += 1;
        // (Tolerance: frame times are rounded; a time going back is a new start.)
        let due = self.last_look_s.is_none_or(|t| time_s - t >= self.idle_interval_s - 1e-6 || time_s < t);
        let looks = wanted_now || due;
        if looks {
            self.last_look_s = Some(time_s);
        }
        looks
    }
}

/// Hands every frame (with the detector's boxes where it looked, and the decode time) to `on_frame` on
/// this thread, until the source ends, something fails, or `on_frame` says stop. `idle_interval_s` of
/// 0 runs the detector on every frame. Returns the frames live mode dropped as stale, and the error
/// that ended the run, if any.
pub(super) fn drive(
    source: &mut dyn FrameSource,
    detector: &mut dyn Detector,
    mode: Mode,
    idle_interval_s: f64,
    on_frame: &mut dyn FnMut(Frame, Option<Vec<Detection>>, Duration) -> Result<Next>,
) -> (u64, Option<Error>) {
    let (capacity, detect_capacity) = match mode {
        Mode::Batch => (4, 4),
        Mode::Live { .. } => (1, 2),
    };
    let (frame_tx, frame_rx) = bounded::<Captured>(capacity);
    let (det_tx, det_rx) = bounded::<Detected>(detect_capacity);
    // Unbounded: the stages never wait on the detector's decisions (they run at most DECISION_LAG ahead).
    let (wanted_tx, wanted_rx) = match idle_interval_s > 0.0 {
        true => {
            let (tx, rx) = crossbeam_channel::unbounded::<bool>();
            (Some(tx), Some(rx))
        }
        false => (None, None),
    };
    let cadence = Cadence { idle_interval_s, wanted: wanted_rx, frames: 0, last_look_s: None };
    let stopping = AtomicBool::new(false);
    let mut error = None;
    let dropped = std::thread::scope(|scope| {
        // Live mode's capture thread takes stale frames back out of the queue itself. (In batch mode it
        // must not hold a receiver: the queue closing is how it learns the run is over.)
        let stale_rx = matches!(mode, Mode::Live { .. }).then(|| frame_rx.clone());
        let stopping = &stopping;
        let capture = scope.spawn(move || capture_loop(source, frame_tx, stale_rx, stopping));
        scope.spawn(move || detect_loop(detector, cadence, frame_rx, det_tx));
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
                Ok(Next::Continue { detector_wanted }) => {
                    if let Some(tx) = &wanted_tx {
                        let _ = tx.send(detector_wanted);
                    }
                }
                Ok(Next::Stop) => break,
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
        drop(wanted_tx);
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

fn detect_loop(detector: &mut dyn Detector, mut cadence: Cadence, rx: Receiver<Captured>, tx: Sender<Detected>) {
    for item in rx.iter() {
        let out = item.and_then(|(frame, decode)| {
            let detections = match cadence.looks_at(frame.time_s) {
                true => Some(detector.detect_frame(&frame)?),
                false => None,
            };
            Ok((frame, detections, decode))
        });
        let failed = out.is_err();
        if tx.send(out).is_err() || failed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use image::RgbImage;

    use super::*;
    use crate::source::SourceInfo;

    /// Frames 0.1 s apart, `frames` of them (endless with `None`), failing at `fail_at`, each read
    /// taking `read_pause`.
    struct Synthetic {
        info: SourceInfo,
        next: u64,
        reads: u64,
        frames: Option<u64>,
        fail_at: Option<u64>,
        read_pause: Duration,
    }

    fn synthetic(frames: Option<u64>) -> Synthetic {
        let info = SourceInfo {
            name: "synthetic".into(),
            width: 4,
            height: 4,
            fps: Some(10.0),
            duration_s: None,
            expected_frames: frames,
            live: false,
        };
        Synthetic { info, next: 0, reads: 0, frames, fail_at: None, read_pause: Duration::ZERO }
    }

    impl FrameSource for Synthetic {
        fn info(&self) -> &SourceInfo {
            &self.info
        }

        fn next_frame(&mut self) -> Result<Option<Frame>> {
            std::thread::sleep(self.read_pause);
            self.reads += 1;
            let index = self.next;
            if self.frames.is_some_and(|n| index >= n) {
                return Ok(None);
            }
            if self.fail_at == Some(index) {
                return Err(Error::Source { path: PathBuf::from("synthetic"), message: "unreadable".into() });
            }
            self.next += 1;
            let image = RgbImage::new(4, 4);
            let time_s = index as f64 * 0.1;
            Ok(Some(Frame { index, time_s, image, captured_at: Instant::now(), reconnected_after_s: None }))
        }
    }

    /// Finds nothing, after `pause`; fails on its `fail_on`-th call.
    struct Blind {
        pause: Duration,
        calls: usize,
        fail_on: Option<usize>,
    }

    fn blind(pause: Duration) -> Blind {
        Blind { pause, calls: 0, fail_on: None }
    }

    impl Detector for Blind {
        fn detect(&mut self, _image: &RgbImage) -> Result<Vec<Detection>> {
            std::thread::sleep(self.pause);
            self.calls += 1;
            match self.fail_on == Some(self.calls) {
                true => Err(Error::Inference { model: "blind".into(), message: "out of memory".into() }),
                false => Ok(Vec::new()),
            }
        }
    }

    /// What `drive` handed on: each frame's index and whether the detector looked at it.
    struct Handed {
        frames: Vec<(u64, bool)>,
        dropped: u64,
        error: Option<Error>,
    }

    fn drive_all(
        source: &mut Synthetic,
        detector: &mut Blind,
        mode: Mode,
        idle_interval_s: f64,
        consume: impl Fn(&Frame) -> Next,
    ) -> Handed {
        let mut frames = Vec::new();
        let (dropped, error) = drive(source, detector, mode, idle_interval_s, &mut |frame, detections, _| {
            frames.push((frame.index, detections.is_some()));
            Ok(consume(&frame))
        });
        Handed { frames, dropped, error }
    }

    fn go_on(pause: Duration) -> impl Fn(&Frame) -> Next {
        move |_| {
            std::thread::sleep(pause);
            Next::Continue { detector_wanted: false }
        }
    }

    const LIVE: Mode = Mode::Live { stall_after: Duration::from_secs(5) };

    #[test]
    fn batch_mode_hands_on_every_frame_in_order_however_slow_the_stages_are() {
        let mut source = synthetic(Some(40));
        let handed =
            drive_all(&mut source, &mut blind(Duration::ZERO), Mode::Batch, 0.0, go_on(Duration::from_millis(3)));
        assert_eq!(handed.frames, (0..40).map(|i| (i, true)).collect::<Vec<_>>());
        assert_eq!(handed.dropped, 0);
        assert!(handed.error.is_none());
    }

    #[test]
    fn live_mode_drops_stale_frames_keeps_the_newest_and_counts_every_drop() {
        let mut source = synthetic(Some(60));
        source.read_pause = Duration::from_millis(1);
        let handed = drive_all(&mut source, &mut blind(Duration::ZERO), LIVE, 0.0, go_on(Duration::from_millis(8)));
        let indices: Vec<u64> = handed.frames.iter().map(|(i, _)| *i).collect();
        assert!(handed.dropped > 10, "a source 8 times faster than the stages: {} dropped", handed.dropped);
        assert_eq!(indices.len() as u64 + handed.dropped, 60, "every frame is either handed on or counted");
        assert!(indices.windows(2).all(|w| w[0] < w[1]), "frames out of order: {indices:?}");
        // The newest frame wins: the last one read is analysed, not one the stages were too slow for.
        assert_eq!(indices.last(), Some(&59));
        // Frames handed on are the fresh ones: never many frames behind the capture.
        let gaps = indices.windows(2).filter(|w| w[1] - w[0] > 1).count();
        assert!(gaps > indices.len() / 3, "only {gaps} skips in {indices:?}");
    }

    #[test]
    fn with_nothing_to_follow_the_detector_skips_frames_between_its_looks() {
        let mut source = synthetic(Some(13));
        let handed = drive_all(&mut source, &mut blind(Duration::ZERO), Mode::Batch, 0.5, go_on(Duration::ZERO));
        let looked: Vec<u64> = handed.frames.iter().filter(|(_, looked)| *looked).map(|(i, _)| *i).collect();
        assert_eq!(handed.frames.len(), 13);
        assert_eq!(looked, vec![0, 1, 2, 7, 12]);
    }

    #[test]
    fn a_source_error_ends_the_run_with_it_after_the_frames_before_it() {
        for mode in [Mode::Batch, LIVE] {
            let mut source = synthetic(Some(30));
            source.fail_at = Some(5);
            source.read_pause = Duration::from_millis(2);
            let handed = drive_all(&mut source, &mut blind(Duration::ZERO), mode, 0.0, go_on(Duration::ZERO));
            assert!(matches!(handed.error, Some(Error::Source { .. })), "{:?}", handed.error);
            assert_eq!(handed.frames.last().map(|(i, _)| *i), Some(4));
            assert_eq!(source.reads, 6, "the source is not read again after its error");
        }
    }

    #[test]
    fn a_detector_error_ends_the_run_with_it() {
        let mut source = synthetic(None);
        let mut detector = Blind { fail_on: Some(3), ..blind(Duration::ZERO) };
        let handed = drive_all(&mut source, &mut detector, Mode::Batch, 0.0, go_on(Duration::ZERO));
        assert!(matches!(handed.error, Some(Error::Inference { .. })), "{:?}", handed.error);
        assert_eq!(handed.frames.len(), 2);
        assert_eq!(detector.calls, 3, "the detector is not called again after its error");
    }

    #[test]
    fn stages_saying_stop_end_an_endless_source() {
        for mode in [Mode::Batch, LIVE] {
            let mut source = synthetic(None);
            source.read_pause = Duration::from_millis(1);
            let stop_at_10 = |frame: &Frame| match frame.index >= 10 {
                true => Next::Stop,
                false => Next::Continue { detector_wanted: true },
            };
            let handed = drive_all(&mut source, &mut blind(Duration::ZERO), mode, 0.0, stop_at_10);
            assert!(handed.error.is_none(), "{:?}", handed.error);
            assert!(handed.frames.last().is_some_and(|(i, _)| *i >= 10));
            assert!(source.next < 10_000, "capture went on after the stop: {} frames read", source.next);
        }
    }

    #[test]
    fn a_live_detector_that_stops_answering_is_a_processing_stall() {
        let mut source = synthetic(None);
        source.read_pause = Duration::from_millis(5);
        let mut detector = blind(Duration::from_millis(400));
        let mode = Mode::Live { stall_after: Duration::from_millis(150) };
        let handed = drive_all(&mut source, &mut detector, mode, 0.0, go_on(Duration::ZERO));
        assert!(matches!(handed.error, Some(Error::ProcessingStalled { .. })), "{:?}", handed.error);
        assert!(handed.frames.is_empty());
    }

    /// A cadence over frames 0.1 s apart, the stages' word for each frame sent beforehand.
    fn looks(idle_interval_s: f64, words: &[bool]) -> Vec<bool> {
        let (tx, rx) = crossbeam_channel::unbounded();
        words.iter().for_each(|&w| tx.send(w).unwrap());
        // Closed, so that a cadence asking for more words than frames fails the test instead of hanging.
        drop(tx);
        let mut cadence = Cadence { idle_interval_s, wanted: Some(rx), frames: 0, last_look_s: None };
        (0..words.len() + DECISION_LAG).map(|i| cadence.looks_at(i as f64 * 0.1)).collect()
    }

    #[test]
    fn with_nothing_to_follow_the_detector_looks_once_an_interval() {
        let seen = looks(0.5, &[false; 12]);
        let at: Vec<usize> = seen.iter().enumerate().filter(|(_, l)| **l).map(|(i, _)| i).collect();
        // The first DECISION_LAG frames have no word yet, so they are looked at.
        assert_eq!(at, vec![0, 1, 2, 7, 12]);
    }

    #[test]
    fn the_stages_word_takes_effect_decision_lag_frames_later() {
        let mut words = vec![false; 12];
        words[4] = true;
        words[5] = true;
        let seen = looks(10.0, &words);
        let at: Vec<usize> = seen.iter().enumerate().filter(|(_, l)| **l).map(|(i, _)| i).collect();
        assert_eq!(at, vec![0, 1, 2, 4 + DECISION_LAG, 5 + DECISION_LAG]);
    }

    #[test]
    fn a_time_going_back_is_a_new_start_and_a_repeated_time_is_not() {
        let (tx, rx) = crossbeam_channel::unbounded();
        (0..8).for_each(|_| tx.send(false).unwrap());
        drop(tx);
        let mut cadence = Cadence { idle_interval_s: 1.0, wanted: Some(rx), frames: 0, last_look_s: None };
        let times = [5.0, 5.1, 5.2, 5.2, 5.3, 0.0, 0.1, 0.1];
        let seen: Vec<bool> = times.iter().map(|&t| cadence.looks_at(t)).collect();
        // 5.2 again, and 0.1 after the look at 0.0, are not due; 0.0 after 5.3 is a new start.
        assert_eq!(seen, [true, true, true, false, false, true, false, false]);
    }

    #[test]
    fn stages_that_ended_leave_the_detector_looking() {
        let (tx, rx) = crossbeam_channel::unbounded::<bool>();
        drop(tx);
        let mut cadence = Cadence { idle_interval_s: 10.0, wanted: Some(rx), frames: 0, last_look_s: None };
        assert!((0..6).all(|i| cadence.looks_at(i as f64 * 0.1)));
    }
}
