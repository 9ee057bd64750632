//! The cat's approach: how fast the gap between the cat and the rat closes, in cat body lengths per
//! second. A fast approach or a pounce ends a session at once, so this rule is built to be quick:
//! the closing speed is the slope of a least-squares line through the last `window_s` of gaps (robust
//! to one jittery box, yet a fraction of a second behind), and an episode is confirmed as soon as that
//! slope passes `fast_speed` with the cat within `max_gap` body lengths of the rat.
//!
//! The gap is measured from the rat's centre to the nearest point of the cat's box, so a large cat
//! reaching over the rat reads as gap zero rather than as half its own length.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::{Behaviour, Change, Episode, Measure};
use crate::geometry::BBox;
use crate::kinds::Role;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApproachConfig {
    /// Closing speed is fitted over this much recent time, seconds.
    pub window_s: f64,
    /// A closing speed at or above this is a fast approach, cat body lengths per second.
    pub fast_speed: f64,
    /// The approach is over once the closing speed falls below this, body lengths per second.
    pub calm_speed: f64,
    /// Approaches that start farther than this from the rat are not counted yet, body lengths (a cat
    /// running across a large room toward something else).
    pub max_gap: f64,
}

impl Default for ApproachConfig {
    fn default() -> Self {
        ApproachConfig { window_s: 0.4, fast_speed: 1.5, calm_speed: 0.3, max_gap: 4.0 }
    }
}

pub struct ApproachDetector {
    config: ApproachConfig,
    /// (time, gap in body lengths) over the last window.
    gaps: VecDeque<(f64, f64)>,
    active: Option<Episode>,
    /// The last closing speed fitted, body lengths per second (positive: closing in).
    pub closing_speed: Option<f64>,
    /// The last gap measured, body lengths.
    pub gap: Option<f64>,
}

impl ApproachDetector {
    pub fn active(&self) -> Option<&Episode> {
        self.active.as_ref()
    }

    /// Ends a running episode at `end_s` (the end of a recording).
    pub fn finish_at(&mut self, end_s: f64) -> Option<Change> {
        let mut episode = self.active.take()?;
        episode.end_s = Some(end_s.max(episode.onset_s));
        Some(Change::Ended(episode))
    }

    /// Forgets how the gap moved: the next samples start a new fit (either animal reappeared somewhere
    /// else, which is not motion). A running episode goes on until the gap stops closing.
    pub fn restart(&mut self) {
        self.gaps.clear();
        self.closing_speed = None;
    }

    pub fn new(config: &ApproachConfig) -> ApproachDetector {
        ApproachDetector { config: config.clone(), gaps: VecDeque::new(), active: None, closing_speed: None, gap: None }
    }

    /// Feeds one moment: the cat's box when observed in this frame (`cat_tracked`: still tracked when
    /// not), the rat's box as last seen, and the cat's body length in the boxes' pixels. A tracked cat
    /// missed for a frame keeps the history; with either animal gone, history restarts.
    pub fn update(
        &mut self,
        time_s: f64,
        cat: Option<&BBox>,
        cat_tracked: bool,
        rat: Option<&BBox>,
        cat_length: f64,
    ) -> Option<Change> {
        let (Some(cat), Some(rat)) = (cat, rat) else {
            // Missed in this frame but still tracked: the history stands, old samples age out of the window.
            if !(cat_tracked && rat.is_some()) {
                self.restart();
                self.gap = None;
            }
            return None;
        };
        if cat_length <= 0.0 {
            return None;
        }
        let gap = gap_px(cat, rat) / cat_length;
        self.gap = Some(gap);
        self.gaps.push_back((time_s, gap));
        while self.gaps.front().is_some_and(|(t, _)| *t < time_s - self.config.window_s) {
            self.gaps.pop_front();
        }
        let covered = self.gaps.back()?.0 - self.gaps.front()?.0;
        if self.gaps.len() < 3 || covered < self.config.window_s * 0.5 {
            return None;
        }
        let speed = -slope(&self.gaps);
        self.closing_speed = Some(speed);
        let c = &self.config;
        match &self.active {
            None if speed >= c.fast_speed && gap <= c.max_gap => {
                let onset = self.gaps.front().map_or(time_s, |g| g.0);
                let episode = Episode::new(Behaviour::Approach, Role::Cat, onset, time_s)
                    .with(Measure::ClosingSpeedBodyLengthsPerS, speed)
                    .with(Measure::GapBodyLengths, gap);
                self.active = Some(episode.clone());
                Some(Change::Started(episode))
            }
            Some(_) if speed < c.calm_speed => {
                let mut episode = self.active.take()?;
                episode.end_s = Some(time_s);
                Some(Change::Ended(episode))
            }
            _ => None,
        }
    }
}

/// Distance from the rat's centre to the nearest point of the cat's box (0 when inside it).
pub fn gap_px(cat: &BBox, rat: &BBox) -> f64 {
    let (rx, ry) = rat.center();
    let dx = (cat.x1 - rx).max(0.0).max(rx - cat.x2);
    let dy = (cat.y1 - ry).max(0.0).max(ry - cat.y2);
    (dx as f64).hypot(dy as f64)
}

/// Least-squares slope of (time, value) points.
pub fn slope(points: &VecDeque<(f64, f64)>) -> f64 {
    let n = points.len() as f64;
    let (mt, mv) = points.iter().fold((0.0, 0.0), |(a, b), (t, v)| (a + t / n, b + v / n));
    let (num, den) =
        points.iter().fold((0.0, 0.0), |(num, den), (t, v)| (num + (t - mt) * (v - mv), den + (t - mt).powi(2)));
    if den > 0.0 { num / den } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAT_LEN: f64 = 100.0;

    fn cat_at(x: f32) -> BBox {
        BBox::new(x, 100.0, x + 100.0, 160.0)
    }

    const RAT: BBox = BBox { x1: 600.0, y1: 120.0, x2: 630.0, y2: 140.0 };

    /// Runs a cat whose left edge follows `x_at(t)` toward a still rat; returns (confirmed_s, onset_s)
    /// of the first approach.
    fn first_approach(fps: f64, seconds: f64, x_at: impl Fn(f64) -> f32) -> Option<(f64, f64)> {
        let mut d = ApproachDetector::new(&ApproachConfig::default());
        let mut t = 0.0;
        while t < seconds {
            if let Some(Change::Started(e)) = d.update(t, Some(&cat_at(x_at(t))), true, Some(&RAT), CAT_LEN) {
                return Some((e.confirmed_s, e.onset_s));
            }
            t += 1.0 / fps;
        }
        None
    }

    #[test]
    fn a_dash_at_the_rat_is_confirmed_within_half_a_second_at_any_frame_rate() {
        // Still for 2 s at 2.5 body lengths from the rat, then a 3 body lengths/s dash.
        for fps in [10.0, 25.0, 60.0] {
            let hit = first_approach(fps, 4.0, |t| if t < 2.0 { 250.0 } else { 250.0 + 300.0 * (t - 2.0) as f32 });
            let (confirmed, _) = hit.unwrap_or_else(|| panic!("{fps} fps: no approach"));
            assert!(confirmed > 2.0 && confirmed < 2.5, "{fps} fps: confirmed at {confirmed}");
        }
    }

    #[test]
    fn a_slow_stroll_and_a_cat_walking_away_are_not_approaches() {
        assert!(first_approach(25.0, 4.0, |t| 100.0 + 50.0 * t as f32).is_none(), "0.5 body lengths/s");
        assert!(first_approach(25.0, 3.0, |t| 400.0 - 300.0 * t as f32).is_none(), "moving away");
    }

    #[test]
    fn a_dash_far_across_the_room_is_not_yet_an_approach() {
        let far_rat = BBox::new(3000.0, 120.0, 3030.0, 140.0);
        let mut d = ApproachDetector::new(&ApproachConfig::default());
        for i in 0..50 {
            let t = i as f64 / 25.0;
            let e = d.update(t, Some(&cat_at(300.0 * t as f32)), true, Some(&far_rat), CAT_LEN);
            assert!(e.is_none(), "{t}: {e:?}");
        }
    }

    #[test]
    fn gap_is_zero_when_the_rat_is_under_the_cat() {
        assert_eq!(gap_px(&cat_at(590.0), &RAT), 0.0);
        assert_eq!(gap_px(&cat_at(400.0), &RAT), 115.0);
    }
}
