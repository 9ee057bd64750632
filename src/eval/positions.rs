//! Position accuracy: is the box where the animal is? Scored against reference positions of an animal
//! in every frame of a real recording (`frame,x,y` in pixels, frames from 0; an empty `x` means the
//! animal is not in view), the way a box on an empty floor is caught even though "a rat was found".
//!
//! The box judged is the one the behaviour engine acts on (see [`crate::observe::engine_boxes`]): the
//! animal's box when it is seen, else its prediction or where it was last seen.

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::kinds::Role;
use crate::pipeline::quantile;
use crate::runs::recording::FrameBoxes;

/// An animal's reference position per frame (`None`: not in view).
#[derive(Debug, Clone)]
pub struct ReferencePositions {
    pub points: Vec<Option<(f32, f32)>>,
}

impl ReferencePositions {
    /// Reads `frame,x,y` (a header line first; frames from 0, in any order, gaps allowed).
    pub fn read(path: &Path) -> Result<ReferencePositions> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut lines = text.lines();
        let header = lines.next().unwrap_or("").trim().to_ascii_lowercase();
        if header.replace(' ', "") != "frame,x,y" {
            return Err(Error::format(path, format!("expected the header `frame,x,y`, found `{header}`")));
        }
        let mut points = Vec::new();
        for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let bad = || {
                Error::format(path, format!("line {}: expected `frame,x,y` (x and y empty when not in view)", n + 2))
            };
            let mut fields = line.split(',').map(str::trim);
            let frame: usize = fields.next().and_then(|f| f.parse().ok()).ok_or_else(bad)?;
            let point = match (fields.next().unwrap_or(""), fields.next().unwrap_or("")) {
                ("", _) | (_, "") => None,
                (x, y) => Some((x.parse::<f32>().map_err(|_| bad())?, y.parse::<f32>().map_err(|_| bad())?)),
            };
            if points.len() <= frame {
                points.resize(frame + 1, None);
            }
            points[frame] = point;
        }
        Ok(ReferencePositions { points })
    }
}

/// How well one animal's box followed its reference positions over a recording.
#[derive(Debug, Clone, Serialize)]
pub struct PositionScore {
    pub recording: String,
    pub animal: Role,
    /// Frames analysed in which the animal is in view.
    pub frames_in_view: usize,
    /// ...of which the box held the reference point.
    pub frames_held: usize,
    pub held_share: f64,
    /// ...of which the box was seen there (not predicted or remembered) and held the point.
    pub frames_seen_and_held: usize,
    /// ...of which there was no box at all.
    pub frames_without_box: usize,
    /// Distance from the box's centre to the reference point, over frames with both, pixels.
    pub median_centre_error_px: Option<f64>,
    pub p95_centre_error_px: Option<f64>,
    /// Frames in which the animal is out of view, and those in which a box was seen for it anyway.
    pub frames_absent: usize,
    pub frames_absent_but_seen: usize,
    /// Times the track holding the animal changed id.
    pub identity_swaps: usize,
}

/// Scores `role`'s boxes (one entry per analysed frame) against `reference`.
pub fn score(recording: &str, role: Role, reference: &ReferencePositions, frames: &[FrameBoxes]) -> PositionScore {
    let mut s = PositionScore {
        recording: recording.to_string(),
        animal: role,
        frames_in_view: 0,
        frames_held: 0,
        held_share: 0.0,
        frames_seen_and_held: 0,
        frames_without_box: 0,
        median_centre_error_px: None,
        p95_centre_error_px: None,
        frames_absent: 0,
        frames_absent_but_seen: 0,
        identity_swaps: 0,
    };
    let mut errors = Vec::new();
    let mut holder = None;
    for f in frames {
        let held = f.of(role);
        let Some(Some((x, y))) = reference.points.get(f.index as usize) else {
            s.frames_absent += 1;
            s.frames_absent_but_seen += held.is_some_and(|b| b.observed) as usize;
            continue;
        };
        s.frames_in_view += 1;
        let Some(b) = held else {
            s.frames_without_box += 1;
            continue;
        };
        let (cx, cy) = b.bbox.center();
        errors.push(((cx - x) as f64).hypot((cy - y) as f64));
        if b.bbox.contains_point(*x, *y) {
            s.frames_held += 1;
            s.frames_seen_and_held += b.observed as usize;
            if holder.is_some_and(|id| id != b.track_id) {
                s.identity_swaps += 1;
            }
            holder = Some(b.track_id);
        }
    }
    s.held_share = if s.frames_in_view > 0 { s.frames_held as f64 / s.frames_in_view as f64 } else { 0.0 };
    errors.sort_by(f64::total_cmp);
    s.median_centre_error_px = quantile(&errors, 0.5);
    s.p95_centre_error_px = quantile(&errors, 0.95);
    s
}

/// One line per score, for the eval table.
pub fn table(scores: &[PositionScore]) -> String {
    let mut out = String::new();
    if scores.is_empty() {
        return out;
    }
    out += &format!(
        "{:<24} {:<6} {:>9} {:>8} {:>8} {:>13} {:>9} {:>7}\n",
        "position accuracy", "animal", "in view", "held", "seen", "centre err px", "absent*", "swaps"
    );
    let px = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
    for s in scores {
        out += &format!(
            "{:<24} {:<6} {:>9} {:>7.1}% {:>7.1}% {:>13} {:>9} {:>7}\n",
            s.recording,
            s.animal,
            s.frames_in_view,
            100.0 * s.held_share,
            if s.frames_in_view > 0 { 100.0 * s.frames_seen_and_held as f64 / s.frames_in_view as f64 } else { 0.0 },
            format!("{} / {}", px(s.median_centre_error_px), px(s.p95_centre_error_px)),
            format!("{}/{}", s.frames_absent_but_seen, s.frames_absent),
            s.identity_swaps
        );
    }
    out += "  (held: the box the engine acts on holds the reference point; seen: a box seen in that frame\n   holds it; centre err: median / p95; absent*: frames out of view with a box seen anyway)\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::BBox;
    use crate::runs::recording::HeldBox;

    fn frame(index: u64, rat: Option<(u32, BBox, bool)>) -> FrameBoxes {
        FrameBoxes {
            index,
            time_s: index as f64 / 10.0,
            rat: rat.map(|(track_id, bbox, observed)| HeldBox { track_id, bbox, observed }),
            cat: None,
        }
    }

    #[test]
    fn a_box_on_an_empty_floor_holds_nothing_however_often_it_is_found() {
        let reference =
            ReferencePositions { points: (0..10).map(|i| Some((100.0 + 10.0 * i as f32, 100.0))).collect() };
        let floor = BBox::new(400.0, 300.0, 440.0, 330.0);
        let frames: Vec<_> = (0..10).map(|i| frame(i, Some((1, floor, true)))).collect();
        let s = score("x", Role::Rat, &reference, &frames);
        assert_eq!((s.frames_in_view, s.frames_held, s.frames_without_box), (10, 0, 0));
        assert!(s.median_centre_error_px.unwrap() > 200.0);
    }

    #[test]
    fn held_frames_swaps_and_absences_are_counted() {
        let mut points: Vec<_> = (0..6).map(|_| Some((50.0, 50.0))).collect();
        points.push(None);
        let reference = ReferencePositions { points };
        let on = BBox::new(40.0, 40.0, 60.0, 60.0);
        let frames = vec![
            frame(0, Some((1, on, true))),
            frame(1, Some((1, on, false))),
            frame(2, None),
            frame(3, Some((2, on, true))),
            frame(4, Some((2, on, true))),
            frame(5, Some((2, BBox::new(0.0, 0.0, 10.0, 10.0), true))),
            frame(6, Some((2, on, true))),
        ];
        let s = score("x", Role::Rat, &reference, &frames);
        assert_eq!(s.frames_in_view, 6);
        assert_eq!(s.frames_held, 4);
        assert_eq!(s.frames_seen_and_held, 3);
        assert_eq!(s.frames_without_box, 1);
        assert_eq!(s.identity_swaps, 1);
        assert_eq!((s.frames_absent, s.frames_absent_but_seen), (1, 1));
        assert_eq!(s.median_centre_error_px, Some(0.0));
    }

    #[test]
    fn a_reference_file_without_its_header_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ref.csv");
        std::fs::write(&path, "0,1,2\n").unwrap();
        let err = ReferencePositions::read(&path).unwrap_err().to_string();
        assert!(err.contains("frame,x,y"), "{err}");
        std::fs::write(&path, "frame,x,y\n0,10,20\n2,,\n1,11,21\n").unwrap();
        let r = ReferencePositions::read(&path).unwrap();
        assert_eq!(r.points, vec![Some((10.0, 20.0)), Some((11.0, 21.0)), None]);
    }
}
