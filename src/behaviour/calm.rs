//! Calm, the moment to reward: the cat in view and not attending to the rat (far enough, not closing in,
//! no alarm-worthy behaviour running) for a while. A cue to the owner, never an alarm.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::approach::slope;
use super::bout::Bout;
use super::{Behaviour, Change, Episode, Measure};
use crate::kinds::Role;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalmConfig {
    /// The cat at least this far from the rat, body lengths.
    pub min_gap: f64,
    /// And closing in no faster than this, body lengths per second, over `window_s`.
    pub max_closing_speed: f64,
    /// The closing speed is the trend over this long, seconds (a sway or a jittery box is not closing in).
    pub window_s: f64,
    /// For this long, seconds, before the cue.
    pub min_duration_s: f64,
    /// Calm ends once the rule has not held for this long, seconds.
    pub end_grace_s: f64,
}

impl Default for CalmConfig {
    fn default() -> Self {
        CalmConfig { min_gap: 3.0, max_closing_speed: 0.3, window_s: 2.0, min_duration_s: 5.0, end_grace_s: 1.0 }
    }
}

/// What the calm rule looks at, one moment.
pub struct CalmInputs {
    pub cat_in_view: bool,
    /// Gap from the cat to the rat, body lengths.
    pub gap: Option<f64>,
    /// Anything worrying running: the cat's approach, stalking or fixation, the rat's freezing or hiding
    /// (a meeting with a stressed rat is not going well, however still the cat).
    pub alarm: bool,
}

pub struct CalmDetector {
    config: CalmConfig,
    /// (time, gap) over `window_s`.
    gaps: VecDeque<(f64, f64)>,
    bout: Bout,
}

impl CalmDetector {
    pub fn new(config: &CalmConfig) -> CalmDetector {
        CalmDetector {
            config: config.clone(),
            gaps: VecDeque::new(),
            bout: Bout::new(Behaviour::Calm, Role::Cat, config.min_duration_s, config.end_grace_s),
        }
    }

    pub fn active(&self) -> Option<&Episode> {
        self.bout.active()
    }

    pub fn update(&mut self, time_s: f64, i: &CalmInputs) -> Option<Change> {
        let c = &self.config;
        match i.gap {
            Some(g) => self.gaps.push_back((time_s, g)),
            None => self.gaps.clear(),
        }
        while self.gaps.front().is_some_and(|(t, _)| *t < time_s - c.window_s) {
            self.gaps.pop_front();
        }
        let closing = (self.gaps.len() >= 3).then(|| -slope(&self.gaps));
        let holds = i.cat_in_view
            && !i.alarm
            && i.gap.is_some_and(|g| g >= c.min_gap)
            && closing.is_none_or(|s| s <= c.max_closing_speed);
        self.bout.update(time_s, holds, || BTreeMap::from([(Measure::GapBodyLengths, i.gap.unwrap_or(0.0))]))
    }

    pub fn finish_at(&mut self, end_s: f64) -> Option<Change> {
        self.bout.finish_at(end_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds 10 frames a second over `seconds` from `from`, the gap given by `gap(t)`; the time the calm
    /// cue was given, if it was.
    fn cue(
        d: &mut CalmDetector,
        from: f64,
        seconds: f64,
        alarm: bool,
        gap: impl Fn(f64) -> Option<f64>,
    ) -> Option<f64> {
        let mut given = None;
        for k in 0..(seconds * 10.0) as usize {
            let t = from + k as f64 / 10.0;
            let inputs = CalmInputs { cat_in_view: gap(t).is_some(), gap: gap(t), alarm };
            if let Some(Change::Started(e)) = d.update(t, &inputs) {
                given = given.or(Some(e.confirmed_s));
            }
        }
        given
    }

    #[test]
    fn a_cat_far_and_not_closing_in_for_five_seconds_is_calm() {
        let mut d = CalmDetector::new(&CalmConfig::default());
        let at = cue(&mut d, 0.0, 8.0, false, |_| Some(4.0)).expect("a calm cue");
        assert!((at - 5.0).abs() < 0.15, "after min_duration_s: {at}");
    }

    #[test]
    fn closing_in_an_alarm_or_nearness_is_not_calm() {
        let config = CalmConfig::default();
        // Far, but closing in at 0.5 body lengths a second (faster than the 0.3 allowed).
        assert_eq!(cue(&mut CalmDetector::new(&config), 0.0, 8.0, false, |t| Some(8.0 - 0.5 * t)), None);
        // Far and still, but an alarm-worthy behaviour runs.
        assert_eq!(cue(&mut CalmDetector::new(&config), 0.0, 8.0, true, |_| Some(4.0)), None);
        // Still, but nearer than min_gap.
        assert_eq!(cue(&mut CalmDetector::new(&config), 0.0, 8.0, false, |_| Some(2.5)), None);
        // No cat in view: nothing to reward.
        assert_eq!(cue(&mut CalmDetector::new(&config), 0.0, 8.0, false, |_| None), None);
    }
}
