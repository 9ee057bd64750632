//! Track replay: tracks recorded by this program (`tracks.csv`) or by other tools (DeepLabCut CSV), fed to
//! the behaviour engine without video, so thresholds can be tuned and checked on other tools' tracking.

pub mod dlc;

use std::path::Path;

use serde::Serialize;

use crate::behaviour::Episode;
use crate::behaviour::engine::EventLog;
use crate::behaviour::freezing::{BodyPoints, FreezeConfig, FreezeDetector, FreezeEvent};
use crate::detect::Role;
use crate::error::{Error, Result};

/// DeepLabCut points below this likelihood are ignored.
pub const MIN_LIKELIHOOD: f32 = 0.6;

/// One animal's track as the behaviour engine needs it: per moment, body points and the body length.
pub struct ReplayTrack {
    pub role: Role,
    /// (time in seconds, body points) per frame; frames where the animal was not seen have no points.
    pub samples: Vec<(f64, BodyPoints)>,
    /// Body length in the points' units.
    pub body_length: f64,
    /// Frames the recording has (for per-frame scores).
    pub frames: usize,
    pub fps: f64,
}

impl ReplayTrack {
    /// A DeepLabCut CSV at `fps`, its trunk points as the body.
    pub fn from_dlc(path: &Path, fps: f64, role: Role) -> Result<ReplayTrack> {
        check_fps(fps)?;
        let track = dlc::DlcTrack::read(path)?;
        let trunk = track.trunk_parts();
        let body_length = track
            .body_length(MIN_LIKELIHOOD)
            .ok_or_else(|| Error::video(path, "no frame has two trusted body points: cannot tell the body's size"))?;
        let samples =
            (0..track.frames.len()).map(|i| (i as f64 / fps, track.points(i, &trunk, MIN_LIKELIHOOD))).collect();
        Ok(ReplayTrack { role, samples, body_length, frames: track.frames.len(), fps })
    }

    /// This program's `tracks.csv`: the `role` animal's box centre as its body, the median of its boxes'
    /// long sides as its length.
    pub fn from_tracks_csv(path: &Path, role: Role) -> Result<ReplayTrack> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut lines = text.lines();
        if lines.next().map(str::trim) != Some(crate::output::tracks_csv::HEADER) {
            return Err(Error::video(
                path,
                format!("not a chaperone tracks.csv (its header must be `{}`)", crate::output::tracks_csv::HEADER),
            ));
        }
        let mut rows: Vec<(u64, f64, (f32, f32), f32)> = Vec::new();
        let mut last_frame = 0;
        for (i, line) in lines.enumerate() {
            let f: Vec<&str> = line.split(',').collect();
            let parse = |k: usize| f.get(k).and_then(|v| v.trim().parse::<f64>().ok());
            let (Some(t), Some(frame), Some(x1), Some(y1), Some(x2), Some(y2)) =
                (parse(0), parse(1), parse(4), parse(5), parse(6), parse(7))
            else {
                return Err(Error::video(path, format!("line {}: not `{}`", i + 2, crate::output::tracks_csv::HEADER)));
            };
            last_frame = last_frame.max(frame as u64);
            if f.get(3).map(|r| r.trim()) == Some(&role.to_string()) {
                let centre = (((x1 + x2) / 2.0) as f32, ((y1 + y2) / 2.0) as f32);
                rows.push((frame as u64, t, centre, (x2 - x1).max(y2 - y1) as f32));
            }
        }
        if rows.is_empty() {
            return Err(Error::video(path, format!("no `{role}` rows: nothing to replay for that animal")));
        }
        let mut sizes: Vec<f32> = rows.iter().map(|r| r.3).collect();
        sizes.sort_by(f32::total_cmp);
        let duration = rows.last().map_or(0.0, |r| r.1) - rows[0].1;
        let fps = if duration > 0.0 { (rows.len() - 1) as f64 / duration } else { 25.0 };
        let samples = rows.iter().map(|r| (r.1, vec![Some(r.2)])).collect();
        Ok(ReplayTrack {
            role,
            samples,
            body_length: sizes[sizes.len() / 2] as f64,
            frames: last_frame as usize + 1,
            fps,
        })
    }
}

fn check_fps(fps: f64) -> Result<()> {
    if fps > 0.0 && fps.is_finite() {
        Ok(())
    } else {
        Err(Error::Config(format!("--fps must be a positive number of frames per second, got {fps}")))
    }
}

/// Runs the freezing detector over `track`, appending each confirmation and end to `events` as it
/// happens (flushed per event: a crash loses nothing already seen). Returns the finished episodes.
pub fn replay_freezing(track: &ReplayTrack, config: &FreezeConfig, events: &Path) -> Result<Vec<Episode>> {
    let mut log = EventLog::append_to(events)?;
    let mut write = |event: &str, episode: &Episode| log.write(event, episode);
    let mut detector = FreezeDetector::new(config, track.role);
    let mut episodes = Vec::new();
    for (t, points) in &track.samples {
        match detector.update(*t, points.clone(), track.body_length) {
            Some(FreezeEvent::Started(e)) => write("confirmed", &e)?,
            Some(FreezeEvent::Ended(e)) => {
                write("ended", &e)?;
                episodes.push(e);
            }
            None => {}
        }
    }
    let last = track.samples.last().map_or(0.0, |s| s.0);
    if let Some(FreezeEvent::Ended(e)) = detector.finish_at(last) {
        write("ended", &e)?;
        episodes.push(e);
    }
    Ok(episodes)
}

/// Per-frame agreement of predicted episodes with true intervals.
#[derive(Debug, Clone, Serialize)]
pub struct FrameScores {
    pub frames: usize,
    pub agreement: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Scores episodes against true `(first, last)` frame bouts (0-based, inclusive), frame `i` being at
/// `i / fps` seconds.
pub fn frame_scores(episodes: &[Episode], truth: &[(usize, usize)], frames: usize, fps: f64) -> FrameScores {
    let (mut tp, mut fp, mut fn_, mut agree) = (0usize, 0usize, 0usize, 0usize);
    for i in 0..frames {
        let t = i as f64 / fps;
        let predicted = episodes.iter().any(|e| t >= e.onset_s && t <= e.end_s.unwrap_or(f64::MAX));
        let actual = truth.iter().any(|&(a, b)| i >= a && i <= b);
        match (predicted, actual) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => {}
        }
        agree += (predicted == actual) as usize;
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let (precision, recall) = (ratio(tp, tp + fp), ratio(tp, tp + fn_));
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    FrameScores { frames, agreement: ratio(agree, frames), precision, recall, f1 }
}

/// Reads true bouts from a CSV of `start_frame,end_frame` rows, frames numbered from 1, ends included
/// (the form of BehaviorDEPOT's and most hand-scoring exports); returns 0-based inclusive pairs.
pub fn read_bouts(path: &Path) -> Result<Vec<(usize, usize)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut bouts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        match (cells.first().and_then(|c| c.parse::<usize>().ok()), cells.get(1).and_then(|c| c.parse::<usize>().ok()))
        {
            (Some(a), Some(b)) if a >= 1 && b >= a => bouts.push((a - 1, b - 1)),
            _ if i == 0 => {} // header
            _ => {
                return Err(Error::video(
                    path,
                    format!("line {}: expected `start_frame,end_frame` (1-based, start <= end), got `{line}`", i + 1),
                ));
            }
        }
    }
    Ok(bouts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_scores_count_overlap() {
        let e = Episode {
            behaviour: "freezing".into(),
            animal: Role::Rat,
            onset_s: 1.0,
            confirmed_s: 2.0,
            end_s: Some(2.0),
            measurements: Default::default(),
        };
        // 10 fps, 40 frames: predicted frames 10..=20, true 15..=24
        let s = frame_scores(&[e], &[(15, 24)], 40, 10.0);
        assert!((s.precision - 6.0 / 11.0).abs() < 1e-9, "{s:?}");
        assert!((s.recall - 6.0 / 10.0).abs() < 1e-9, "{s:?}");
        assert!((s.agreement - (40.0 - 5.0 - 4.0) / 40.0).abs() < 1e-9, "{s:?}");
    }
}
