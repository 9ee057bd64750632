//! Network and phone cameras: `rtsp://`, `http(s)://` (MJPEG from phone IP-webcam apps included),
//! `udp://`, `tcp://`, `srt://`, `rtmp://`, read through ffmpeg as a live stream (RTSP over TCP: UDP
//! drops packets on Wi-Fi and smears the picture). A stream that drops is opened again with backoff until
//! `give_up_after` has passed without a frame; the first frame after it says how long the silence was
//! (`camera_reconnected` in the event log). Wrapped in a [`super::watchdog::Watchdog`] by the session, as
//! every live source is, so a stream that hangs without closing ends the session as `camera_lost`.

use std::time::{Duration, Instant};

use super::video::VideoFile;
use super::{Frame, FrameSource, SourceInfo};
use crate::error::{Error, Result};

/// URL schemes read as live streams.
const STREAM_SCHEMES: [&str; 8] = ["rtsp", "rtsps", "http", "https", "udp", "tcp", "srt", "rtmp"];
/// First wait before opening a dropped stream again; doubled each try up to the longest.
const FIRST_RETRY: Duration = Duration::from_millis(200);
const LONGEST_RETRY: Duration = Duration::from_secs(2);
/// The first frame of a session may take this long (a camera waking up, a slow network), at least.
const FIRST_FRAME_WAIT: Duration = Duration::from_secs(10);

/// Whether `source` names a live stream rather than a file.
pub fn is_stream_url(source: &str) -> bool {
    source.split_once("://").is_some_and(|(scheme, _)| STREAM_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()))
}

/// ffmpeg's input options for a stream: RTSP over TCP, and a socket timeout so that a dead server makes
/// ffmpeg give up instead of waiting forever.
/// Its stream is probed briefly (ffmpeg's default buffers 5 s before the first frame), and not buffered.
fn input_args(url: &str, timeout: Duration) -> Vec<String> {
    let micros = timeout.as_micros().to_string();
    let scheme = url.split_once("://").map_or("", |(s, _)| s).to_ascii_lowercase();
    let mut args: Vec<String> =
        ["-analyzeduration", "300000", "-probesize", "200000", "-fflags", "nobuffer"].map(String::from).into();
    match scheme.as_str() {
        "rtsp" | "rtsps" => args.extend(["-rtsp_transport".into(), "tcp".into(), "-timeout".into(), micros]),
        "http" | "https" | "tcp" => args.extend(["-rw_timeout".into(), micros]),
        _ => {}
    }
    args
}

pub struct NetworkStream {
    url: String,
    info: SourceInfo,
    current: Option<VideoFile>,
    give_up_after: Duration,
    next_index: u64,
    /// Added to the open connection's times: a reopened stream starts its clock again.
    time_offset: f64,
    last_time_s: f64,
    /// When the stream last dropped, while it is down.
    dropped_at: Option<Instant>,
    problems: Vec<String>,
}

impl NetworkStream {
    /// Connects and waits for the first frame (at most `give_up_after`): a wrong address or a camera that
    /// sends nothing is an error here, before any session starts.
    pub fn open(url: &str, give_up_after: Duration) -> Result<NetworkStream> {
        let stream = connect(url, give_up_after.max(FIRST_FRAME_WAIT))?;
        let info = stream.info().clone();
        Ok(NetworkStream {
            url: url.to_string(),
            info,
            current: Some(stream),
            give_up_after,
            next_index: 0,
            time_offset: 0.0,
            last_time_s: 0.0,
            dropped_at: None,
            problems: Vec::new(),
        })
    }

    /// Opens the stream again after it dropped, trying with backoff until `give_up_after` has passed.
    fn reconnect(&mut self) -> Result<()> {
        let dropped = *self.dropped_at.get_or_insert_with(Instant::now);
        let mut wait = FIRST_RETRY;
        loop {
            let left = self.give_up_after.saturating_sub(dropped.elapsed());
            if left.is_zero() {
                return Err(Error::source(
                    &self.url,
                    format!(
                        "the stream dropped and did not come back within {:.1} s",
                        self.give_up_after.as_secs_f64()
                    ),
                ));
            }
            std::thread::sleep(wait.min(left));
            wait = (wait * 2).min(LONGEST_RETRY);
            match connect(&self.url, self.give_up_after.saturating_sub(dropped.elapsed()).max(FIRST_RETRY)) {
                Ok(stream) if (stream.info().width, stream.info().height) == (self.info.width, self.info.height) => {
                    // The new connection's clock starts at 0: carry on from the last frame plus the silence.
                    self.time_offset = self.last_time_s + dropped.elapsed().as_secs_f64();
                    self.current = Some(stream);
                    return Ok(());
                }
                Ok(stream) => {
                    let (w, h) = (stream.info().width, stream.info().height);
                    return Err(Error::source(
                        &self.url,
                        format!("came back at {w}x{h} instead of {}x{}", self.info.width, self.info.height),
                    ));
                }
                Err(e) => self.note(e.to_string()),
            }
        }
    }

    fn note(&mut self, problem: String) {
        if self.problems.len() < 20 && !self.problems.contains(&problem) {
            self.problems.push(problem);
        }
    }
}

fn connect(url: &str, wait: Duration) -> Result<VideoFile> {
    let args = input_args(url, wait);
    VideoFile::open_stream(url, &args.iter().map(String::as_str).collect::<Vec<_>>(), wait)
}

impl FrameSource for NetworkStream {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        loop {
            if let Some(stream) = &mut self.current {
                match stream.next_frame() {
                    Ok(Some(mut frame)) => {
                        frame.index = self.next_index;
                        frame.time_s += self.time_offset;
                        frame.reconnected_after_s = self.dropped_at.take().map(|d| d.elapsed().as_secs_f64());
                        self.next_index += 1;
                        self.last_time_s = frame.time_s;
                        return Ok(Some(frame));
                    }
                    Ok(None) => {
                        let why = stream.problems().last().cloned().unwrap_or_else(|| "the stream ended".into());
                        self.note(why);
                    }
                    Err(e) => self.note(e.to_string()),
                }
                self.current = None;
                self.dropped_at = Some(Instant::now());
            }
            self.reconnect()?;
        }
    }

    fn problems(&self) -> Vec<String> {
        self.problems.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls_are_told_from_files() {
        for url in ["rtsp://cam.local:554/live", "HTTP://192.168.1.20:8080/video", "udp://0.0.0.0:5000"] {
            assert!(is_stream_url(url), "{url}");
        }
        for path in ["meeting.mp4", "/home/me/clips/a.mkv", "file://x.mp4", "C:/videos/x.mp4"] {
            assert!(!is_stream_url(path), "{path}");
        }
        assert!(input_args("rtsp://x/y", Duration::from_secs(3)).ends_with(&[
            "-rtsp_transport".into(),
            "tcp".into(),
            "-timeout".into(),
            "3000000".into()
        ]));
        assert!(
            input_args("http://x/y", Duration::from_millis(1500)).ends_with(&["-rw_timeout".into(), "1500000".into()])
        );
    }
}
