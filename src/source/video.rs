//! Video files through the ffmpeg CLI: `ffprobe` for the stream's facts, `ffmpeg` piping raw RGB frames.
//!
//! Timestamps come from ffmpeg's `showinfo` filter (each frame's own presentation time), read from its
//! stderr on a helper thread; decoding errors seen there are kept as problems. The file is always decoded
//! from the start: seeking lands on undecodable frames in some real files (openfield-mouse.mp4).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::Receiver;
use image::RgbImage;

use super::{Frame, FrameSource, SourceInfo};
use crate::error::{Error, Result};

/// At most this many distinct problem lines are kept from ffmpeg (a broken file can print thousands).
const MAX_PROBLEMS: usize = 20;

pub struct VideoFile {
    path: PathBuf,
    info: SourceInfo,
    child: Child,
    stdout: ChildStdout,
    /// Each frame's presentation time and picture size, from ffmpeg's `showinfo` lines.
    times: Receiver<(f64, Option<(u32, u32)>)>,
    /// A time already taken from `times` (a stream's first frame, read to learn its size).
    pending_time: Option<f64>,
    problems: Arc<Mutex<Vec<String>>>,
    next_index: u64,
    /// The first frame's presentation time: times are reported from it, so every source starts at 0.
    first_time: Option<f64>,
    finished: bool,
}

/// The facts ffprobe gives about a file's first video stream.
#[derive(Debug, Clone)]
pub struct Probe {
    pub width: u32,
    pub height: u32,
    pub fps: Option<f64>,
    pub duration_s: Option<f64>,
    pub frames: Option<u64>,
    pub codec: String,
}

fn ffmpeg_missing(tool: &str) -> String {
    format!("cannot run `{tool}`: install ffmpeg (scripts/setup.sh does)")
}

/// Reads a file's video stream facts, failing with one line for an unreadable file or one without video.
pub fn probe(path: &Path) -> Result<Probe> {
    if !path.is_file() {
        return Err(Error::source(path, "no such file"));
    }
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .arg("stream=width,height,avg_frame_rate,r_frame_rate,nb_frames,codec_name,duration:format=duration")
        .args(["-of", "json"])
        .arg(path)
        .output()
        .map_err(|_| Error::source(path, ffmpeg_missing("ffprobe")))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let why = stderr.lines().last().unwrap_or("unknown error").trim();
        return Err(Error::source(path, format!("not a readable video ({why})")));
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::source(path, format!("ffprobe gave unreadable output: {e}")))?;
    let Some(stream) = json["streams"].as_array().and_then(|s| s.first()) else {
        return Err(Error::source(path, "has no video stream"));
    };
    let width = stream["width"].as_u64().unwrap_or(0) as u32;
    let height = stream["height"].as_u64().unwrap_or(0) as u32;
    if width == 0 || height == 0 {
        return Err(Error::source(path, "its video stream has no picture size (corrupt header?)"));
    }
    let rate = |key: &str| -> Option<f64> {
        let text = stream[key].as_str()?;
        let (n, d) = text.split_once('/').unwrap_or((text, "1"));
        let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
        (d > 0.0 && n > 0.0).then_some(n / d)
    };
    let number = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<f64>().ok());
    Ok(Probe {
        width,
        height,
        fps: rate("avg_frame_rate").or_else(|| rate("r_frame_rate")),
        duration_s: number(&stream["duration"]).or_else(|| number(&json["format"]["duration"])),
        frames: stream["nb_frames"].as_str().and_then(|s| s.parse().ok()),
        codec: stream["codec_name"].as_str().unwrap_or("unknown").to_string(),
    })
}

impl VideoFile {
    pub fn open(path: &Path) -> Result<VideoFile> {
        let probe = probe(path)?;
        let info = SourceInfo {
            name: path.display().to_string(),
            width: probe.width,
            height: probe.height,
            fps: probe.fps,
            duration_s: probe.duration_s,
            expected_frames: probe.frames.or_else(|| Some((probe.duration_s? * probe.fps?).round() as u64)),
            live: false,
        };
        VideoFile::start(path, &[], info)
    }

    /// A live stream ffmpeg reads (`rtsp://`, `http://`...), with `input_args` for its protocol. Nothing
    /// is probed ahead (a camera may take one client at a time): the picture size comes with the first
    /// frame, which must arrive within `wait`.
    pub fn open_stream(url: &str, input_args: &[&str], wait: std::time::Duration) -> Result<VideoFile> {
        let info = SourceInfo {
            name: url.to_string(),
            width: 0,
            height: 0,
            fps: None,
            duration_s: None,
            expected_frames: None,
            live: true,
        };
        let mut stream = VideoFile::start(Path::new(url), input_args, info)?;
        let first = stream.times.recv_timeout(wait);
        if let Ok((pts, Some((w, h)))) = first
            && w > 0
            && h > 0
        {
            stream.pending_time = Some(pts);
            (stream.info.width, stream.info.height) = (w, h);
            return Ok(stream);
        }
        let _ = stream.child.kill();
        let _ = stream.child.wait();
        stream.finished = true;
        let why = stream.problems().last().cloned();
        let what = match (first, why) {
            (Err(crossbeam_channel::RecvTimeoutError::Timeout), why) => {
                format!(
                    "no picture within {:.1} s{}",
                    wait.as_secs_f64(),
                    why.map_or(String::new(), |w| format!(" ({w})"))
                )
            }
            (_, Some(why)) => format!("it gives no video ({why})"),
            (_, None) => "nothing answers there, or it sent no video".to_string(),
        };
        Err(Error::source(
            url,
            format!(
                "{what}: is the camera on, and is the address right? (a phone webcam app shows its stream's address)"
            ),
        ))
    }

    fn start(path: &Path, input_args: &[&str], info: SourceInfo) -> Result<VideoFile> {
        let mut child = spawn_decoder(path, input_args, Some("showinfo"), true)?;
        let stdout = child.stdout.take().expect("stdout was piped");
        let stderr = child.stderr.take().expect("stderr was piped");
        let (time_tx, times) = crossbeam_channel::unbounded();
        let problems = Arc::new(Mutex::new(Vec::new()));
        let problems_writer = Arc::clone(&problems);
        std::thread::Builder::new()
            .name("ffmpeg-stderr".into())
            .spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(t) = showinfo_time(&line) {
                        if time_tx.send((t, showinfo_size(&line))).is_err() {
                            break;
                        }
                    } else if is_problem(&line) {
                        let mut p = problems_writer.lock().unwrap_or_else(|e| e.into_inner());
                        let line = line.trim().to_string();
                        if p.len() < MAX_PROBLEMS && !p.contains(&line) {
                            p.push(line);
                        }
                    }
                }
            })
            .map_err(|e| Error::io(path, e))?;
        Ok(VideoFile {
            path: path.to_path_buf(),
            info,
            child,
            stdout,
            times,
            pending_time: None,
            problems,
            next_index: 0,
            first_time: None,
            finished: false,
        })
    }
}

/// Starts ffmpeg decoding the first video stream of `path` to raw RGB frames on its stdout, every frame
/// passed through as decoded. With `log`, its stderr is piped at info level (for `showinfo` times and
/// decoding errors); without, it is silenced.
fn spawn_decoder(path: &Path, input_args: &[&str], filter: Option<&str>, log: bool) -> Result<Child> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", if log { "info" } else { "quiet" }]);
    cmd.arg("-noautorotate").args(input_args).arg("-i").arg(path);
    cmd.args(["-map", "0:v:0", "-fps_mode", "passthrough"]);
    if let Some(f) = filter {
        cmd.args(["-vf", f]);
    }
    cmd.args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if log { Stdio::piped() } else { Stdio::null() })
        .spawn()
        .map_err(|_| Error::source(path, ffmpeg_missing("ffmpeg")))
}

/// `[Parsed_showinfo_0 @ 0x..] n: 3 pts: 12 pts_time:0.12 ... s:640x480 ...` -> (640, 480)
fn showinfo_size(line: &str) -> Option<(u32, u32)> {
    let rest = &line[line.find(" s:")? + 3..];
    let (w, h) = rest.split_whitespace().next()?.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

/// `[Parsed_showinfo_0 @ 0x..] n:   3 pts:  12 pts_time:0.12 ...` -> 0.12
fn showinfo_time(line: &str) -> Option<f64> {
    if !line.contains("showinfo") {
        return None;
    }
    let rest = &line[line.find("pts_time:")? + "pts_time:".len()..];
    rest.split_whitespace().next()?.parse().ok()
}

fn is_problem(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    ["error", "invalid", "corrupt", "truncat", "missing", "partial file", "could not find"]
        .iter()
        .any(|w| l.contains(w))
}

impl FrameSource for VideoFile {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.finished {
            return Ok(None);
        }
        let (w, h) = (self.info.width, self.info.height);
        let mut buf = vec![0u8; (w * h * 3) as usize];
        let mut filled = 0;
        while filled < buf.len() {
            match self.stdout.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::source(&self.path, format!("reading decoded frames failed: {e}")));
                }
            }
        }
        if filled < buf.len() {
            self.finished = true;
            let status = self.child.wait().map_err(|e| Error::io(&self.path, e))?;
            let mut problems = self.problems.lock().unwrap_or_else(|e| e.into_inner());
            if filled > 0 {
                problems.push(format!("the last frame was cut short ({filled} of {} bytes)", buf.len()));
            }
            if !status.success() {
                problems.push(format!("ffmpeg stopped with {status}"));
            }
            return Ok(None);
        }
        // showinfo reports each frame before ffmpeg writes it, so its time is (nearly) always there; if
        // ffmpeg's log was lost, fall back to the nominal rate.
        let fallback = self.next_index as f64 / self.info.fps.unwrap_or(25.0);
        let pts = match self.pending_time.take() {
            Some(t) => t,
            None => self.times.recv_timeout(std::time::Duration::from_secs(2)).map_or(fallback, |(t, _)| t),
        };
        let time_s = pts - *self.first_time.get_or_insert(pts);
        let image = RgbImage::from_raw(w, h, buf).expect("buffer sized to the frame");
        let frame =
            Frame { index: self.next_index, time_s, image, captured_at: Instant::now(), reconnected_after_s: None };
        self.next_index += 1;
        Ok(Some(frame))
    }

    fn problems(&self) -> Vec<String> {
        self.problems.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for VideoFile {
    fn drop(&mut self) {
        // Stopping early (an error downstream, Ctrl-C): do not leave ffmpeg decoding into a closed pipe.
        if !self.finished {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Up to `max` frames spread over the whole video, for a background that no animal's pause can fool:
/// the key frames when there are enough of them (only those are decoded: fast), else every n-th frame.
/// Each frame is handed to `shrink` as it is decoded and only what it returns is kept (the motion model
/// keeps a small greyscale copy), so memory stays small and bounded however long or large the video is.
pub fn sample_frames<T>(
    path: &Path,
    expected_frames: Option<u64>,
    max: usize,
    mut shrink: impl FnMut(&RgbImage) -> T,
) -> Result<Vec<T>> {
    let probe = probe(path)?;
    // `-discard nokey` lets the demuxer skip the other frames' packets unread: the same keyframes, three
    // to seven times sooner on a long recording, which is most of the wait before its first frame.
    let keyframes =
        decode_sampled(path, &probe, &["-discard", "nokey", "-skip_frame", "nokey"], None, max, &mut shrink)?;
    if keyframes.len() >= 7 {
        return Ok(keyframes);
    }
    let every = (expected_frames.unwrap_or(300) / max as u64).max(1);
    let select = format!("select='not(mod(n\\,{every}))'");
    decode_sampled(path, &probe, &[], Some(&select), max, &mut shrink)
}

fn decode_sampled<T>(
    path: &Path,
    probe: &Probe,
    input_args: &[&str],
    filter: Option<&str>,
    max: usize,
    shrink: &mut impl FnMut(&RgbImage) -> T,
) -> Result<Vec<T>> {
    let mut child = spawn_decoder(path, input_args, filter, false)?;
    let mut stdout = child.stdout.take().expect("stdout was piped");
    let mut frame = RgbImage::new(probe.width, probe.height);
    let (mut kept, mut stride, mut seen) = (Vec::new(), 1usize, 0usize);
    loop {
        if stdout.read_exact(&mut frame).is_err() {
            break;
        }
        if seen % stride == 0 {
            kept.push(shrink(&frame));
            if kept.len() >= 2 * max {
                // Thin out: keep every other frame and sample half as often from now on.
                kept = kept.into_iter().step_by(2).collect();
                stride *= 2;
            }
        }
        seen += 1;
    }
    let _ = child.wait();
    if kept.len() > max {
        let step = kept.len().div_ceil(max);
        kept = kept.into_iter().step_by(step).collect();
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn showinfo_lines_give_times() {
        let line = "[Parsed_showinfo_0 @ 0x55d] n:  12 pts:  12288 pts_time:0.48    duration:512 pos: 1234 fmt:yuv420p";
        assert_eq!(showinfo_time(line), Some(0.48));
        assert_eq!(showinfo_time("[h264 @ 0x1] error while decoding MB 3 0"), None);
        assert!(is_problem("[h264 @ 0x1] error while decoding MB 3 0"));
        assert!(!is_problem("Stream mapping:"));
        let line = "[Parsed_showinfo_0 @ 0x55] n:   1 pts:      1 pts_time:0.2     pos:       -1 fmt:rgb24 sar:1/1 s:64x48 i:P iskey:1";
        assert_eq!(showinfo_size(line), Some((64, 48)));
        assert_eq!(showinfo_size("[Parsed_showinfo_0 @ 0x55] n: 1 pts_time:0.2 fmt:rgb24"), None);
    }
}
