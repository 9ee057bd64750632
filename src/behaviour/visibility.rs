//! Fault states of sight: during a meeting (from the moment both animals have been seen), the rat or the
//! cat out of sight for longer than allowed. A supervision tool that cannot see must say so: these are
//! episodes like any behaviour, and the session controller stops on them.
//!
//! The rat's absence is accounted for, and not a fault, while it hides at a shelter or while it is
//! measured still at the place it was last seen (a frozen rat fades into the background of motion
//! detection, but its last box shows no change: it has not left).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::bout::Bout;
use super::{Behaviour, Change, Episode};
use crate::kinds::Role;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VisibilityConfig {
    /// The rat unseen (and not accounted for) this long during a meeting is a fault, seconds.
    pub rat_unseen_s: f64,
    /// The cat unseen this long during a meeting is a fault, seconds (it may be creeping up out of view).
    pub cat_unseen_s: f64,
}

impl Default for VisibilityConfig {
    fn default() -> Self {
        VisibilityConfig { rat_unseen_s: 5.0, cat_unseen_s: 10.0 }
    }
}

pub struct VisibilityWatch {
    rat_seen: bool,
    cat_seen: bool,
    rat: Bout,
    cat: Bout,
}

impl VisibilityWatch {
    pub fn new(config: &VisibilityConfig) -> VisibilityWatch {
        VisibilityWatch {
            rat_seen: false,
            cat_seen: false,
            rat: Bout::new(Behaviour::RatUnseen, Role::Rat, config.rat_unseen_s, 0.0),
            cat: Bout::new(Behaviour::CatUnseen, Role::Cat, config.cat_unseen_s, 0.0),
        }
    }

    /// Both animals have been seen: the meeting is on.
    pub fn meeting_started(&self) -> bool {
        self.rat_seen && self.cat_seen
    }

    pub fn active(&self) -> impl Iterator<Item = &Episode> {
        self.rat.active().into_iter().chain(self.cat.active())
    }

    /// Feeds whether each animal is seen now, and whether the rat's absence is accounted for.
    pub fn update(&mut self, time_s: f64, rat_seen: bool, rat_accounted: bool, cat_seen: bool) -> Vec<Change> {
        self.rat_seen |= rat_seen;
        self.cat_seen |= cat_seen;
        let on = self.meeting_started();
        let mut changes = Vec::new();
        changes.extend(self.rat.update(time_s, on && !rat_seen && !rat_accounted, BTreeMap::new));
        changes.extend(self.cat.update(time_s, on && !cat_seen, BTreeMap::new));
        changes
    }

    pub fn finish_at(&mut self, end_s: f64) -> Vec<Change> {
        self.rat.finish_at(end_s).into_iter().chain(self.cat.finish_at(end_s)).collect()
    }
}
