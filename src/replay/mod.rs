//! Track replay: tracks recorded by this program (`tracks.csv`) or by pose tools (DeepLabCut and SLEAP,
//! CSV or `.h5`: see `pose`), fed to the behaviour engine without video, so thresholds can be tuned and
//! checked on other tools' tracking.

pub mod dlc;
pub mod h5;
pub mod pose;
pub mod sleap;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::behaviour::engine::{self, Recorded};
use crate::behaviour::{AnimalView, Moment};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::geometry::BBox;
use crate::kinds::Role;
use crate::output::EventLog;

/// Which animal of a pose file, and which of its points to trust.
#[derive(Debug, Clone, Copy)]
pub struct PoseChoice<'a> {
    /// The individual of a multi-animal file (a SLEAP track; `None`: the file's only animal).
    pub individual: Option<&'a str>,
    /// Points below this likelihood are ignored (the config's `pose.min_likelihood`).
    pub min_likelihood: f32,
}

/// One animal's recorded track: per frame, how the engine sees it (`None`: not seen in that frame).
pub struct ReplayTrack {
    pub role: Role,
    pub samples: Vec<(f64, Option<AnimalView>)>,
    /// Body length in the track's pixels.
    pub body_length: f64,
    /// Frames the recording has (for per-frame scores).
    pub frames: usize,
    pub fps: f64,
}

impl ReplayTrack {
    /// A pose file (DeepLabCut, SLEAP) at `fps`: its trunk points as the body, the box around all
    /// trusted points, and the facing from body centre to nose when the skeleton has a nose or head.
    pub fn from_pose(path: &Path, fps: f64, role: Role, choice: PoseChoice) -> Result<ReplayTrack> {
        check_fps(fps)?;
        let track = pose::PoseTrack::read(path, choice.individual)?;
        let min_likelihood = choice.min_likelihood;
        let trunk = track.trunk_parts();
        let nose = track.bodyparts.iter().position(|p| {
            let p = p.to_ascii_lowercase();
            p.contains("nose") || p.contains("snout") || p == "head"
        });
        // "Left Ear", "ear_r", "EarLeft"; not "rear paw" or "forearm".
        let is_ear = |p: &str| {
            let p = p.to_ascii_lowercase();
            p.contains("ear") && !p.contains("rear") && !p.contains("forearm")
        };
        let ears: Vec<usize> = (0..track.bodyparts.len()).filter(|&k| is_ear(&track.bodyparts[k])).collect();
        let body_length = track
            .body_length(min_likelihood)
            .ok_or_else(|| Error::format(path, "no frame has two trusted body points: cannot tell the body's size"))?;
        let samples = (0..track.frames.len())
            .map(|i| {
                let time_s = i as f64 / fps;
                let view = track.bbox(i, min_likelihood).map(|bbox| {
                    let points = track.points(i, &trunk, min_likelihood);
                    let nose_at = nose.and_then(|k| track.points(i, &[k], min_likelihood)[0]);
                    let head = heading(&track.points(i, &ears, min_likelihood), nose_at);
                    let heading = heading(&points, nose_at);
                    AnimalView { bbox, observed: true, points, heading, head, length: Some(body_length) }
                });
                (time_s, view)
            })
            .collect();
        Ok(ReplayTrack { role, samples, body_length, frames: track.frames.len(), fps })
    }

    /// This program's `tracks.csv`: the `role` animal's boxes (the median of their long sides as its
    /// length).
    pub fn from_tracks_csv(path: &Path, role: Role) -> Result<ReplayTrack> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut lines = text.lines();
        if lines.next().map(str::trim) != Some(crate::output::tracks_csv::HEADER) {
            return Err(Error::format(
                path,
                format!("not a chaperone tracks.csv (its header must be `{}`)", crate::output::tracks_csv::HEADER),
            ));
        }
        // Frame times, and this animal's box in the frames it was seen in.
        let mut times: BTreeMap<u64, f64> = BTreeMap::new();
        let mut boxes: BTreeMap<u64, BBox> = BTreeMap::new();
        for (i, line) in lines.enumerate() {
            let f: Vec<&str> = line.split(',').collect();
            let parse = |k: usize| f.get(k).and_then(|v| v.trim().parse::<f64>().ok());
            let (Some(t), Some(frame), Some(x1), Some(y1), Some(x2), Some(y2)) =
                (parse(0), parse(1), parse(4), parse(5), parse(6), parse(7))
            else {
                return Err(Error::format(
                    path,
                    format!("line {}: not `{}`", i + 2, crate::output::tracks_csv::HEADER),
                ));
            };
            times.insert(frame as u64, t);
            if f.get(3).map(|r| r.trim()) == Some(&role.to_string()) {
                boxes.insert(frame as u64, BBox::new(x1 as f32, y1 as f32, x2 as f32, y2 as f32));
            }
        }
        if boxes.is_empty() {
            return Err(Error::format(path, format!("no `{role}` rows: nothing to replay for that animal")));
        }
        let mut sizes: Vec<f32> = boxes.values().map(|b| b.width().max(b.height())).collect();
        sizes.sort_by(f32::total_cmp);
        let (first, last) =
            (times.values().next().copied().unwrap_or(0.0), times.values().last().copied().unwrap_or(0.0));
        let fps = if last > first { (times.len() - 1) as f64 / (last - first) } else { 25.0 };
        let samples =
            times.iter().map(|(frame, t)| (*t, boxes.get(frame).map(|b| AnimalView::boxed(*b, true)))).collect();
        let frames = times.keys().last().map_or(0, |f| *f as usize + 1);
        Ok(ReplayTrack { role, samples, body_length: sizes[sizes.len() / 2] as f64, frames, fps })
    }
}

/// The unit vector from the centre of the seen points of `body` to the nose. (With the ears as the body:
/// the head's own direction.)
fn heading(body: &[Option<(f32, f32)>], nose: Option<(f32, f32)>) -> Option<(f32, f32)> {
    let (nx, ny) = nose?;
    let seen: Vec<(f32, f32)> = body.iter().flatten().copied().collect();
    if seen.is_empty() {
        return None;
    }
    let n = seen.len() as f32;
    let (cx, cy) = seen.iter().fold((0.0, 0.0), |(a, b), p| (a + p.0 / n, b + p.1 / n));
    let (dx, dy) = (nx - cx, ny - cy);
    let len = dx.hypot(dy);
    (len > 1e-3).then(|| (dx / len, dy / len))
}

fn check_fps(fps: f64) -> Result<()> {
    if fps > 0.0 && fps.is_finite() {
        Ok(())
    } else {
        Err(Error::Config(format!("--fps must be a positive number of frames per second, got {fps}")))
    }
}

/// The moments of one or two recorded tracks, merged by time. A lost animal stays where it was last
/// seen, not observed, as the video pipeline reports it. `frame_size` places the config's zones
/// (shelters); without it, hiding cannot be judged.
pub fn moments(tracks: &[&ReplayTrack], frame_size: Option<(u32, u32)>) -> Vec<Moment> {
    let mut by_time: BTreeMap<i64, Moment> = BTreeMap::new();
    for track in tracks {
        let mut last_seen: Option<AnimalView> = None;
        for (t, view) in &track.samples {
            let view = match view {
                Some(v) => {
                    last_seen = Some(v.clone());
                    Some(v.clone())
                }
                None => last_seen.as_ref().map(|v| AnimalView {
                    observed: false,
                    points: vec![None; v.points.len()],
                    head: None,
                    ..v.clone()
                }),
            };
            let moment = by_time.entry((t * 1e6).round() as i64).or_insert_with(|| Moment {
                time_s: *t,
                frame_size,
                ..Default::default()
            });
            match track.role {
                Role::Cat => moment.cat = view,
                _ => moment.rat = view,
            }
        }
    }
    by_time.into_values().collect()
}

/// Runs the behaviour engine over `moments`, appending each change to `events` as it happens (flushed
/// per event: a crash loses nothing already seen).
pub fn replay(moments: &[Moment], config: &Config, events: &Path) -> Result<Recorded> {
    let mut log = EventLog::append_to(events, &config.session)?;
    engine::run_recorded(&config.behaviour, moments, |change| log.write_change(change))
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

/// Per-frame counts of predicted against true.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameCounts {
    pub true_positive: usize,
    pub false_positive: usize,
    pub false_negative: usize,
    pub agreeing: usize,
}

impl FrameCounts {
    pub fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.true_positive += 1,
            (true, false) => self.false_positive += 1,
            (false, true) => self.false_negative += 1,
            (false, false) => {}
        }
        self.agreeing += (predicted == actual) as usize;
    }

    pub fn scores(&self, frames: usize) -> FrameScores {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let tp = self.true_positive;
        let (precision, recall) = (ratio(tp, tp + self.false_positive), ratio(tp, tp + self.false_negative));
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        FrameScores { frames, agreement: ratio(self.agreeing, frames), precision, recall, f1 }
    }
}

/// Whether `path` is another tool's pose file (DeepLabCut, SLEAP), not this program's tracks.csv; only
/// its first bytes are read to tell.
pub fn is_pose_file(path: &Path) -> Result<bool> {
    Ok(pose::PoseFormat::sniff(path)?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_scores_count_overlap() {
        // 40 frames: predicted frames 10..=20, true 15..=24
        let mut counts = FrameCounts::default();
        for i in 0..40 {
            counts.add((10..=20).contains(&i), (15..=24).contains(&i));
        }
        let s = counts.scores(40);
        assert!((s.precision - 6.0 / 11.0).abs() < 1e-9, "{s:?}");
        assert!((s.recall - 6.0 / 10.0).abs() < 1e-9, "{s:?}");
        assert!((s.agreement - (40.0 - 5.0 - 4.0) / 40.0).abs() < 1e-9, "{s:?}");
    }
}
