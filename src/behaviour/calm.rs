//! Calm, the moment to reward: the cat in view and not attending to the rat (far enough, not closing in,
//! no alarm-worthy behaviour running) for a while. A cue to the owner, never an alarm.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::bout::Bout;
use super::{Change, Episode};
use crate::detect::Role;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalmConfig {
    /// The cat at least this far from the rat, body lengths.
    pub min_gap: f64,
    /// And closing in no faster than this, body lengths per second.
    pub max_closing_speed: f64,
    /// For this long, seconds, before the cue.
    pub min_duration_s: f64,
    /// Calm ends once the rule has not held for this long, seconds.
    pub end_grace_s: f64,
}

impl Default for CalmConfig {
    fn default() -> Self {
        CalmConfig { min_gap: 3.0, max_closing_speed: 0.3, min_duration_s: 5.0, end_grace_s: 1.0 }
    }
}

/// What the calm rule looks at, one moment.
pub struct CalmInputs {
    pub cat_in_view: bool,
    pub gap: Option<f64>,
    pub closing_speed: Option<f64>,
    /// Any alarm-worthy behaviour of the cat running (approach, stalking, fixation).
    pub cat_alarm: bool,
}

pub struct CalmDetector {
    config: CalmConfig,
    bout: Bout,
}

impl CalmDetector {
    pub fn new(config: &CalmConfig) -> CalmDetector {
        CalmDetector {
            config: config.clone(),
            bout: Bout::new("calm", Role::Cat, config.min_duration_s, config.end_grace_s),
        }
    }

    pub fn active(&self) -> Option<&Episode> {
        self.bout.active()
    }

    pub fn update(&mut self, time_s: f64, i: &CalmInputs) -> Option<Change> {
        let c = &self.config;
        let holds = i.cat_in_view
            && !i.cat_alarm
            && i.gap.is_some_and(|g| g >= c.min_gap)
            && i.closing_speed.is_none_or(|s| s <= c.max_closing_speed);
        self.bout.update(time_s, holds, || BTreeMap::from([("gap_body_lengths".to_string(), i.gap.unwrap_or(0.0))]))
    }

    pub fn finish_at(&mut self, end_s: f64) -> Option<Change> {
        self.bout.finish_at(end_s)
    }
}
