//! Stalking: the cat's body lowered and lengthened (its box's height-to-width ratio well below the cat's
//! own recent baseline) while it creeps toward the rat, slowly but steadily. Creeping is measured as the
//! net closing speed over a couple of seconds, so the creep-freeze-creep pattern counts as one creep;
//! anything at or above the fast-approach speed is an approach instead.
//!
//! A box cut by the frame's edge says nothing of posture (a cat walking in from the side has a narrow,
//! tall box that would make its full body read as lowered), so such boxes count for neither the posture
//! nor its baseline.
//!
//! Without a pose model the posture comes from the box alone. That works from the side (a crouching cat
//! gets flatter and longer); a cat creeping straight at the camera changes its box little, and then only
//! the approach and fixation rules can catch it.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::approach::{gap_px, slope};
use super::bout::Bout;
use super::{AnimalView, Behaviour, Change, Episode, Measure, measurements};
use crate::geometry::BBox;
use crate::kinds::Role;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StalkingConfig {
    /// The cat's usual height/width ratio is a running mean over about this long, seconds.
    pub baseline_s: f64,
    /// The baseline needs this much observed time before stalking can be judged, seconds.
    pub baseline_min_s: f64,
    /// Lowered: the height/width ratio at or below this fraction of the baseline.
    pub lowered_ratio: f64,
    /// Creeping is the net closing speed over this long, seconds.
    pub window_s: f64,
    /// Slowest net closing speed that is still creeping closer, body lengths per second.
    pub min_creep_speed: f64,
    /// A cat covering ground faster than this over `window_s` is walking, not creeping, body lengths per
    /// second (a cat strolling past the rat closes the gap for a while too).
    pub max_creep_speed: f64,
    /// Only within this gap of the rat, body lengths.
    pub max_gap: f64,
    /// Lowered and creeping for this long is stalking, seconds.
    pub min_duration_s: f64,
    /// It ends once the rule has not held for this long, seconds.
    pub end_grace_s: f64,
}

impl Default for StalkingConfig {
    fn default() -> Self {
        StalkingConfig {
            baseline_s: 20.0,
            baseline_min_s: 2.0,
            lowered_ratio: 0.8,
            window_s: 2.0,
            min_creep_speed: 0.1,
            max_creep_speed: 0.8,
            max_gap: 6.0,
            min_duration_s: 1.0,
            end_grace_s: 1.0,
        }
    }
}

/// Posture is averaged over this long, seconds: one box's jitter is not a crouch.
const POSTURE_SMOOTHING_S: f64 = 0.5;

pub struct StalkingDetector {
    config: StalkingConfig,
    /// (time, height/width) of observed boxes over the posture smoothing span.
    aspects: VecDeque<(f64, f64)>,
    baseline: Option<f64>,
    baseline_time_s: f64,
    last_observed_s: Option<f64>,
    /// (time, centre-to-centre distance in body lengths) over `window_s`.
    gaps: VecDeque<(f64, f64)>,
    /// (time, the cat's centre) over `window_s`: how fast it covers ground.
    centres: VecDeque<(f64, (f32, f32))>,
    bout: Bout,
    /// The last posture measured: height/width relative to the baseline.
    pub posture_ratio: Option<f64>,
}

impl StalkingDetector {
    pub fn new(config: &StalkingConfig) -> StalkingDetector {
        StalkingDetector {
            config: config.clone(),
            aspects: VecDeque::new(),
            baseline: None,
            baseline_time_s: 0.0,
            last_observed_s: None,
            gaps: VecDeque::new(),
            centres: VecDeque::new(),
            bout: Bout::new(Behaviour::Stalking, Role::Cat, config.min_duration_s, config.end_grace_s),
            posture_ratio: None,
        }
    }

    pub fn active(&self) -> Option<&Episode> {
        self.bout.active()
    }

    /// Feeds the cat (when in view; `clipped`: its box is cut by the frame's edge), the rat as last known,
    /// the cat's body length in pixels and the fast approach speed (creeping is slower than that).
    pub fn update(
        &mut self,
        time_s: f64,
        cat: Option<&AnimalView>,
        clipped: bool,
        rat: Option<&BBox>,
        cat_length: f64,
        fast_speed: f64,
    ) -> Option<Change> {
        let c = &self.config;
        let mut observed_dt = None;
        if let Some(cat) = cat.filter(|v| v.observed && v.bbox.width() > 0.0 && !clipped) {
            let aspect = (cat.bbox.height() / cat.bbox.width()) as f64;
            self.aspects.push_back((time_s, aspect));
            // Gaps in sight count for at most a second of baseline.
            let dt = self.last_observed_s.map_or(0.0, |prev| (time_s - prev).clamp(0.0, 1.0));
            self.baseline_time_s += dt;
            self.last_observed_s = Some(time_s);
            observed_dt = Some(dt);
        }
        while self.aspects.front().is_some_and(|(t, _)| *t < time_s - POSTURE_SMOOTHING_S) {
            self.aspects.pop_front();
        }
        let posture = (!self.aspects.is_empty())
            .then(|| self.aspects.iter().map(|a| a.1).sum::<f64>() / self.aspects.len() as f64);
        let ratio = match (posture, self.baseline) {
            (Some(p), Some(b)) if b > 0.0 => Some(p / b),
            _ => None,
        };
        self.posture_ratio = ratio;
        let lowered = ratio.is_some_and(|r| r <= c.lowered_ratio) && self.baseline_time_s >= c.baseline_min_s;
        // The baseline follows the cat's ordinary posture, never its crouch (a long stalk must not become
        // the new normal).
        if let (Some(p), Some(dt), false) = (posture, observed_dt, lowered) {
            let weight = (dt.max(0.01) / c.baseline_s).min(1.0);
            let b = self.baseline.get_or_insert(p);
            *b += weight * (p - *b);
        }

        let (Some(cat), Some(rat)) = (cat, rat) else {
            self.restart();
            return self.bout.update(time_s, false, BTreeMap::new);
        };
        if cat_length <= 0.0 {
            return None;
        }
        let gap = gap_px(&cat.bbox, rat) / cat_length;
        // Creeping is measured between centres: a crouch that stretches the box toward the rat is posture,
        // not progress.
        let ((cx, cy), (rx, ry)) = (cat.bbox.center(), rat.center());
        self.gaps.push_back((time_s, ((rx - cx) as f64).hypot((ry - cy) as f64) / cat_length));
        self.centres.push_back((time_s, (cx, cy)));
        while self.gaps.front().is_some_and(|(t, _)| *t < time_s - c.window_s) {
            self.gaps.pop_front();
        }
        while self.centres.front().is_some_and(|(t, _)| *t < time_s - c.window_s) {
            self.centres.pop_front();
        }
        let covered = self.gaps.back().map_or(0.0, |g| g.0) - self.gaps.front().map_or(0.0, |g| g.0);
        let creep = (self.gaps.len() >= 3 && covered >= c.window_s * 0.5).then(|| -slope(&self.gaps));
        let ground_speed = match (self.centres.front(), self.centres.back()) {
            (Some((t0, p0)), Some((t1, p1))) if t1 > t0 => {
                ((p1.0 - p0.0).hypot(p1.1 - p0.1) as f64) / (t1 - t0) / cat_length
            }
            _ => 0.0,
        };
        let creeping =
            creep.is_some_and(|s| s >= c.min_creep_speed && s < fast_speed) && ground_speed <= c.max_creep_speed;
        let holds = lowered && creeping && gap <= c.max_gap;
        self.bout.update(time_s, holds, || {
            measurements(&[
                (Measure::PostureRatioToBaseline, ratio.unwrap_or(0.0)),
                (Measure::CreepSpeedBodyLengthsPerS, creep.unwrap_or(0.0)),
                (Measure::GapBodyLengths, gap),
            ])
        })
    }

    /// Forgets how the gap moved: the next samples start a new measurement (either animal reappeared
    /// somewhere else, which is not motion).
    pub fn restart(&mut self) {
        self.gaps.clear();
        self.centres.clear();
    }

    pub fn finish_at(&mut self, end_s: f64) -> Option<Change> {
        self.bout.finish_at(end_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAT: BBox = BBox { x1: 900.0, y1: 200.0, x2: 930.0, y2: 220.0 };

    /// A cat 100 px long walking (height 80) until 5 s, then crouched (height `crouch_h`, length 120)
    /// moving at `speed` px/s toward the rat from x = 300.
    fn run(crouch_h: f32, speed: f32) -> Vec<Change> {
        let mut d = StalkingDetector::new(&StalkingConfig::default());
        let mut changes = Vec::new();
        for i in 0..250 {
            let t = i as f64 / 25.0;
            let (x, w, h) =
                if t < 5.0 { (300.0, 100.0, 80.0) } else { (300.0 + speed * (t as f32 - 5.0), 120.0, crouch_h) };
            let cat = AnimalView::boxed(BBox::new(x, 300.0 - h, x + w, 300.0), true);
            changes.extend(d.update(t, Some(&cat), false, Some(&RAT), 100.0, 1.5));
        }
        changes
    }

    #[test]
    fn a_crouched_creep_toward_the_rat_is_stalking() {
        let changes = run(50.0, 30.0);
        let Some(Change::Started(e)) = changes.first() else { panic!("{changes:?}") };
        assert!(e.confirmed_s > 5.0 && e.confirmed_s < 7.5, "{e:?}");
    }

    #[test]
    fn an_upright_walk_or_a_crouch_in_place_is_not() {
        assert!(run(80.0, 30.0).is_empty(), "upright creep");
        assert!(run(50.0, 0.0).is_empty(), "crouched but not moving closer");
    }
}
