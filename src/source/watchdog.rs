//! A watchdog around a live source: the source runs on a thread of its own, and a read that waits longer
//! than the timeout fails with [`Error::SourceStalled`] instead of hanging. A camera driver that blocks
//! forever in a read cannot be interrupted, so that thread is left behind; the session ends loudly
//! instead of waiting on it.

use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, bounded};

use super::{Frame, FrameSource, SourceInfo};
use crate::error::{Error, Result};

pub struct Watchdog {
    info: SourceInfo,
    frames: Receiver<Result<Option<Frame>>>,
    problems: Receiver<Vec<String>>,
    last_problems: Vec<String>,
    timeout: Duration,
    finished: bool,
}

impl Watchdog {
    /// Starts reading `source` on its own thread; each [`FrameSource::next_frame`] waits at most `timeout`.
    pub fn new(mut source: Box<dyn FrameSource>, timeout: Duration) -> Watchdog {
        let info = source.info().clone();
        // One frame in hand at most: the reader does not run ahead of the pipeline.
        let (tx, frames) = bounded(1);
        let (problems_tx, problems) = bounded(1);
        std::thread::Builder::new()
            .name("source".into())
            .spawn(move || {
                loop {
                    let item = source.next_frame();
                    let last = !matches!(item, Ok(Some(_)));
                    if last {
                        let _ = problems_tx.send(source.problems());
                    }
                    if tx.send(item).is_err() || last {
                        return;
                    }
                }
            })
            .expect("the source thread starts");
        Watchdog { info, frames, problems, last_problems: Vec::new(), timeout, finished: false }
    }
}

impl FrameSource for Watchdog {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.finished {
            return Ok(None);
        }
        match self.frames.recv_timeout(self.timeout) {
            Ok(item) => {
                if !matches!(item, Ok(Some(_))) {
                    self.finished = true;
                    self.last_problems = self.problems.recv_timeout(Duration::from_secs(1)).unwrap_or_default();
                }
                item
            }
            Err(RecvTimeoutError::Timeout) => {
                Err(Error::SourceStalled { source_name: self.info.name.clone(), seconds: self.timeout.as_secs_f64() })
            }
            Err(RecvTimeoutError::Disconnected) => Ok(None),
        }
    }

    fn problems(&self) -> Vec<String> {
        self.last_problems.clone()
    }
}
