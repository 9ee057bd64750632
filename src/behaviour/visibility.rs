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

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds 10 frames a second from `from` to `to` (excluded) with the same sightings; returns the
    /// behaviours started, with when.
    fn feed(w: &mut VisibilityWatch, (from, to): (f64, f64), seen: (bool, bool, bool)) -> Vec<(Behaviour, f64)> {
        let mut started = Vec::new();
        let mut t = from;
        while t < to - 1e-9 {
            for c in w.update(t, seen.0, seen.1, seen.2) {
                if let Change::Started(e) = c {
                    started.push((e.behaviour, e.confirmed_s));
                }
            }
            t += 0.1;
        }
        started
    }

    #[test]
    fn an_animal_out_of_sight_is_a_fault_only_once_the_meeting_is_on() {
        let mut w = VisibilityWatch::new(&VisibilityConfig::default());
        // Only the rat for 20 s: no meeting yet, so no cat is missing.
        assert!(feed(&mut w, (0.0, 20.0), (true, false, false)).is_empty());
        assert!(!w.meeting_started());
        // Both seen: the meeting is on. Then the rat goes, unaccounted for: a fault 5 s later.
        assert!(feed(&mut w, (20.0, 21.0), (true, false, true)).is_empty());
        let started = feed(&mut w, (21.0, 27.0), (false, false, true));
        assert_eq!(started.len(), 1, "{started:?}");
        assert_eq!(started[0].0, Behaviour::RatUnseen);
        assert!((started[0].1 - 26.0).abs() < 0.15, "{started:?}");
        // Then the cat goes too: 10 s allowed.
        let started = feed(&mut w, (27.0, 38.0), (false, false, false));
        assert_eq!(started.iter().map(|s| s.0).collect::<Vec<_>>(), vec![Behaviour::CatUnseen], "{started:?}");
        assert!((started[0].1 - 37.0).abs() < 0.15, "{started:?}");
    }

    #[test]
    fn a_rat_accounted_for_is_not_missing() {
        let mut w = VisibilityWatch::new(&VisibilityConfig::default());
        feed(&mut w, (0.0, 1.0), (true, false, true));
        // Hiding at a shelter, or measured still where it was last seen: 30 s without a fault.
        assert!(feed(&mut w, (1.0, 31.0), (false, true, true)).is_empty());
        assert_eq!(w.active().count(), 0);
    }
}
