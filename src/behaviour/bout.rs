//! A bout: a condition that must hold for a minimum time before it counts, and stop holding for a grace
//! time before it ends. The shared hysteresis of stalking, fixation, hiding, calm and the unseen faults,
//! so none of them flickers on one odd frame.

use std::collections::BTreeMap;

use super::{Behaviour, Change, Episode, Measure};
use crate::kinds::Role;

pub struct Bout {
    behaviour: Behaviour,
    animal: Role,
    min_duration_s: f64,
    end_grace_s: f64,
    /// When the condition began to hold (while it holds, or while an episode runs).
    since: Option<f64>,
    last_held: f64,
    active: Option<Episode>,
}

impl Bout {
    pub fn new(behaviour: Behaviour, animal: Role, min_duration_s: f64, end_grace_s: f64) -> Bout {
        Bout { behaviour, animal, min_duration_s, end_grace_s, since: None, last_held: 0.0, active: None }
    }

    pub fn active(&self) -> Option<&Episode> {
        self.active.as_ref()
    }

    /// Since when the condition has held, if it holds now (before or after confirmation).
    pub fn holding_since(&self) -> Option<f64> {
        self.since
    }

    /// Feeds whether the condition holds at `time_s`; `measurements` describe this moment and are taken
    /// into the episode when it is confirmed.
    pub fn update(
        &mut self,
        time_s: f64,
        holds: bool,
        measurements: impl FnOnce() -> BTreeMap<Measure, f64>,
    ) -> Option<Change> {
        if holds {
            let since = *self.since.get_or_insert(time_s);
            self.last_held = time_s;
            if self.active.is_none() && time_s - since >= self.min_duration_s {
                let mut episode = Episode::new(self.behaviour, self.animal, since, time_s);
                episode.measurements = measurements();
                self.active = Some(episode.clone());
                return Some(Change::Started(episode));
            }
            return None;
        }
        if self.active.is_none() {
            self.since = None;
            return None;
        }
        if time_s - self.last_held >= self.end_grace_s {
            return self.finish_at(self.last_held);
        }
        None
    }

    /// Ends a running episode at `end_s` (also at the end of a recording).
    pub fn finish_at(&mut self, end_s: f64) -> Option<Change> {
        self.since = None;
        let mut episode = self.active.take()?;
        episode.end_s = Some(end_s.max(episode.onset_s));
        Some(Change::Ended(episode))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bout: &mut Bout, fps: f64, seconds: f64, holds: impl Fn(f64) -> bool) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut t = 0.0;
        while t < seconds {
            changes.extend(bout.update(t, holds(t), BTreeMap::new));
            t += 1.0 / fps;
        }
        changes
    }

    #[test]
    fn confirms_after_the_minimum_and_backdates_the_onset() {
        let mut bout = Bout::new(Behaviour::Calm, Role::Cat, 2.0, 0.5);
        let changes = run(&mut bout, 10.0, 10.0, |t| (3.0..7.0).contains(&t));
        assert_eq!(changes.len(), 2, "{changes:?}");
        let Change::Started(started) = &changes[0] else { panic!("{changes:?}") };
        assert!((started.onset_s - 3.0).abs() < 0.11 && (started.confirmed_s - 5.0).abs() < 0.11, "{started:?}");
        let Change::Ended(ended) = &changes[1] else { panic!("{changes:?}") };
        assert!((ended.end_s.unwrap() - 6.9).abs() < 0.11, "{ended:?}");
    }

    #[test]
    fn a_dropout_shorter_than_the_grace_does_not_split_an_episode() {
        let mut bout = Bout::new(Behaviour::Calm, Role::Cat, 1.0, 0.5);
        let changes = run(&mut bout, 10.0, 10.0, |t| t < 8.0 && !(4.0..4.3).contains(&t));
        assert_eq!(changes.len(), 2, "one episode, started and ended: {changes:?}");
        // Before confirmation, a dropout restarts the clock.
        let mut bout = Bout::new(Behaviour::Calm, Role::Cat, 1.0, 0.5);
        assert!(run(&mut bout, 10.0, 3.0, |t| !(0.6..0.7).contains(&t) && t < 1.5).is_empty());
    }
}
