//! Fixation, the sustained stare: the cat holds still, oriented at the rat, within striking range, for
//! seconds. Orientation comes from a pose source's heading when there is one; otherwise from the
//! direction of the cat's last real move (at least `heading_move` body lengths), on the reasoning that a
//! cat which walked toward the rat and stopped is facing it. A cat whose last move took it away from the
//! rat is not fixating.
//!
//! A cat whose facing is unknown (it has not moved since it came into view) may be staring or may be
//! looking away, and nothing in a box tells which. Silence is the dangerous failure, so a cat that stays
//! still close to the rat (`unknown_facing_max_gap`) for long (`unknown_facing_min_s`) is taken as a
//! stare too, with `facing_known = 0` in its measurements: the session controller warns when it is
//! confirmed and stops once it has lasted `unknown_facing_stop_s`. A cat seen walking away before it
//! settled is known to face away and is left alone.
//!
//! Without a pose model a cat lying down relaxed after walking toward the rat cannot be told from a
//! crouched stare; the rule errs toward the alarm, as a supervision tool should.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::approach::gap_px;
use super::bout::Bout;
use super::{AnimalView, Behaviour, Change, Episode, Measure, measurements};
use crate::geometry::BBox;
use crate::kinds::Role;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FixationConfig {
    /// Still: the cat's centre moves slower than this over `speed_window_s`, body lengths per second.
    pub max_speed: f64,
    pub speed_window_s: f64,
    /// Oriented: facing within this angle of the direction to the rat, degrees.
    pub max_angle_deg: f64,
    /// The cat's facing is taken from a move of at least this many body lengths.
    pub heading_move: f64,
    /// Only within this gap of the rat, body lengths.
    pub max_gap: f64,
    /// Still and oriented for this long is fixation, seconds.
    pub min_duration_s: f64,
    /// It ends once the rule has not held for this long, seconds.
    pub end_grace_s: f64,
    /// Facing unknown: a cat still within this gap of the rat, body lengths...
    pub unknown_facing_max_gap: f64,
    /// ... for this long is taken as a stare (a warning), seconds ...
    pub unknown_facing_min_s: f64,
    /// ... and once it has lasted this long (from its onset), a stop, seconds.
    pub unknown_facing_stop_s: f64,
}

impl Default for FixationConfig {
    fn default() -> Self {
        FixationConfig {
            max_speed: 0.15,
            speed_window_s: 1.0,
            max_angle_deg: 45.0,
            heading_move: 0.5,
            max_gap: 8.0,
            min_duration_s: 3.0,
            end_grace_s: 0.5,
            unknown_facing_max_gap: 2.5,
            unknown_facing_min_s: 8.0,
            unknown_facing_stop_s: 20.0,
        }
    }
}

pub struct FixationDetector {
    config: FixationConfig,
    /// (time, centre) of the observed cat over the speed window.
    centres: VecDeque<(f64, (f32, f32))>,
    /// Where the cat was when its facing was last taken; the next move is measured from here.
    anchor: Option<(f32, f32)>,
    /// Unit vector of the cat's facing.
    pub heading: Option<(f32, f32)>,
    /// Still and facing the rat.
    facing: Bout,
    /// Still close to the rat, facing unknown.
    unknown_facing: Bout,
}

impl FixationDetector {
    pub fn new(config: &FixationConfig) -> FixationDetector {
        FixationDetector {
            config: config.clone(),
            centres: VecDeque::new(),
            anchor: None,
            heading: None,
            facing: Bout::new(Behaviour::Fixation, Role::Cat, config.min_duration_s, config.end_grace_s),
            unknown_facing: Bout::new(Behaviour::Fixation, Role::Cat, config.unknown_facing_min_s, config.end_grace_s),
        }
    }

    pub fn active(&self) -> Option<&Episode> {
        self.facing.active().or(self.unknown_facing.active())
    }

    /// Feeds the cat (when tracked), the rat as last known and the cat's body length in pixels.
    pub fn update(
        &mut self,
        time_s: f64,
        cat: Option<&AnimalView>,
        rat: Option<&BBox>,
        cat_length: f64,
    ) -> [Option<Change>; 2] {
        let c = &self.config;
        let Some(cat) = cat.filter(|_| cat_length > 0.0) else {
            // Out of sight: where it faces when it comes back is unknown.
            self.centres.clear();
            self.anchor = None;
            self.heading = None;
            return self.neither(time_s);
        };
        let centre = cat.bbox.center();
        if cat.observed {
            self.centres.push_back((time_s, centre));
        }
        while self.centres.front().is_some_and(|(t, _)| *t < time_s - c.speed_window_s) {
            self.centres.pop_front();
        }
        match cat.heading {
            Some(h) => self.heading = Some(h),
            None => {
                let anchor = *self.anchor.get_or_insert(centre);
                let (dx, dy) = (centre.0 - anchor.0, centre.1 - anchor.1);
                let moved = dx.hypot(dy);
                if moved as f64 >= c.heading_move * cat_length {
                    self.heading = Some((dx / moved, dy / moved));
                    self.anchor = Some(centre);
                }
            }
        }
        let speed = match (self.centres.front(), self.centres.back()) {
            (Some((t0, p0)), Some((t1, p1))) if t1 - t0 >= c.speed_window_s * 0.5 => {
                Some(((p1.0 - p0.0).hypot(p1.1 - p0.1) as f64) / (t1 - t0) / cat_length)
            }
            _ => None,
        };
        let Some(rat) = rat else {
            return self.neither(time_s);
        };
        let gap = gap_px(&cat.bbox, rat) / cat_length;
        let (rx, ry) = rat.center();
        let angle = self.heading.map(|(hx, hy)| {
            let (tx, ty) = (rx - centre.0, ry - centre.1);
            let cos = ((hx * tx + hy * ty) / tx.hypot(ty).max(1e-3)).clamp(-1.0, 1.0);
            (cos as f64).acos().to_degrees()
        });
        let still = speed.is_some_and(|s| s <= c.max_speed);
        let facing_it = still && angle.is_some_and(|a| a <= c.max_angle_deg) && gap <= c.max_gap;
        let close_facing_unknown = still && angle.is_none() && gap <= c.unknown_facing_max_gap;
        let measured = |facing_known: f64| {
            measurements(&[
                (Measure::SpeedBodyLengthsPerS, speed.unwrap_or(0.0)),
                (Measure::AngleToRatDeg, angle.unwrap_or(0.0)),
                (Measure::GapBodyLengths, gap),
                (Measure::FacingKnown, facing_known),
            ])
        };
        [
            self.facing.update(time_s, facing_it, || measured(1.0)),
            self.unknown_facing.update(time_s, close_facing_unknown, || measured(0.0)),
        ]
    }

    /// Neither rule holds (an animal out of sight).
    fn neither(&mut self, time_s: f64) -> [Option<Change>; 2] {
        [self.facing.update(time_s, false, BTreeMap::new), self.unknown_facing.update(time_s, false, BTreeMap::new)]
    }

    pub fn finish_at(&mut self, end_s: f64) -> [Option<Change>; 2] {
        [self.facing.finish_at(end_s), self.unknown_facing.finish_at(end_s)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAT: BBox = BBox { x1: 700.0, y1: 200.0, x2: 730.0, y2: 220.0 };

    /// A 100 px cat whose left edge moves per `x_at(t)`, for 10 s at 25 fps.
    fn run(x_at: impl Fn(f64) -> f32) -> Vec<Change> {
        let mut d = FixationDetector::new(&FixationConfig::default());
        let mut changes = Vec::new();
        for i in 0..250 {
            let t = i as f64 / 25.0;
            let x = x_at(t);
            let cat = AnimalView::boxed(BBox::new(x, 170.0, x + 100.0, 250.0), true);
            changes.extend(d.update(t, Some(&cat), Some(&RAT), 100.0).into_iter().flatten());
        }
        changes
    }

    #[test]
    fn walking_up_to_the_rat_and_staring_is_fixation() {
        let changes = run(|t| 200.0 + 100.0 * t.min(2.0) as f32);
        let Some(Change::Started(e)) = changes.first() else { panic!("{changes:?}") };
        // Still from 2 s (the speed window needs a second to see it), confirmed 3 s later.
        assert!(e.confirmed_s > 5.0 && e.confirmed_s < 6.5, "{e:?}");
    }

    #[test]
    fn stopping_after_walking_away_or_never_moving_far_off_is_not() {
        assert!(run(|t| 400.0 - 100.0 * t.min(2.0) as f32).is_empty(), "walked away");
        assert!(run(|_| 300.0).is_empty(), "facing unknown, 3 body lengths off");
    }

    #[test]
    fn a_cat_still_close_by_whose_facing_is_unknown_is_taken_as_a_stare_after_a_while() {
        // Never moved, 1.5 body lengths from the rat: confirmed once still for `unknown_facing_min_s`.
        let changes = run(|_| 450.0);
        let Some(Change::Started(e)) = changes.first() else { panic!("{changes:?}") };
        assert_eq!(e.measured(Measure::FacingKnown), 0.0, "{e:?}");
        let min = FixationConfig::default().unknown_facing_min_s;
        assert!(e.confirmed_s >= min && e.confirmed_s < min + 1.1, "{e:?}");
    }
}
