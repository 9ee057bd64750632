//! Delivers another source's frames at their own timestamps in real time, as a camera would: the stand-in
//! for a live camera in tests and demos (`live --source VIDEO --realtime`).

use std::time::{Duration, Instant};

use super::{Frame, FrameSource, SourceInfo};
use crate::error::Result;

pub struct Paced<S> {
    inner: S,
    info: SourceInfo,
    start: Option<Instant>,
}

impl<S: FrameSource> Paced<S> {
    pub fn new(inner: S) -> Paced<S> {
        let info = SourceInfo { live: true, ..inner.info().clone() };
        Paced { inner, info, start: None }
    }
}

impl<S: FrameSource> FrameSource for Paced<S> {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let Some(mut frame) = self.inner.next_frame()? else {
            return Ok(None);
        };
        let start = *self.start.get_or_insert_with(Instant::now);
        let due = start + Duration::from_secs_f64(frame.time_s.max(0.0));
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        // Delivered now, as a camera would deliver it: latency counts from here.
        frame.captured_at = Instant::now();
        Ok(Some(frame))
    }

    fn problems(&self) -> Vec<String> {
        self.inner.problems()
    }
}
