//! The session controller: decides what each behaviour episode means for the meeting. `stop` ends the
//! session, `warn` tells the owner early, `cue` prompts a reward. It also owns the fault states that only
//! exist in real time: the machine falling behind (`overload`), the camera going silent (`camera_lost`)
//! and the pipeline failing (`pipeline_failed`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::behaviour::bout::Bout;
use crate::behaviour::engine::EngineStatus;
use crate::behaviour::{BehaviourConfig, Change, Episode, Measure};
use crate::checks::{positive, within};
use crate::error::{Error, Result};
use crate::kinds::{Behaviour, Role, Severity};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// No frame from the camera for this long: the camera is lost, seconds.
    pub camera_timeout_s: f64,
    /// Capture-to-decision latency above this is falling behind, seconds.
    pub max_latency_s: f64,
    /// Falling behind for this long is overload, seconds.
    pub overload_s: f64,
    /// An animal not seen at all this long after the session starts is a fault (`rat_unseen` or
    /// `cat_unseen`): the camera may not show it, or a rat too still from the start is invisible to
    /// motion detection. Seconds.
    pub first_sight_s: f64,
    /// Evidence on disk: each warning's clip holds this many seconds before it was confirmed and after,
    /// and a stop's clip the seconds before it (0 and 0: no clips). Seconds.
    pub clip_before_s: f64,
    pub clip_after_s: f64,
    /// Overrides of what a behaviour means, e.g. `{ fixation = "warn" }`. Names as in `events.jsonl`.
    pub severity: BTreeMap<String, Severity>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            camera_timeout_s: 3.0,
            max_latency_s: 1.0,
            overload_s: 3.0,
            first_sight_s: 30.0,
            clip_before_s: 5.0,
            clip_after_s: 5.0,
            severity: BTreeMap::new(),
        }
    }
}

impl SessionConfig {
    /// What `behaviour` means in this config.
    pub fn severity(&self, behaviour: Behaviour) -> Severity {
        self.severity.get(behaviour.name()).copied().unwrap_or_else(|| behaviour.default_severity())
    }

    /// What this episode means when it is confirmed: its behaviour's severity, except that a stare taken
    /// with the cat's facing unknown warns first (it stops only once it lasts, see [`Controller`]).
    pub fn severity_of(&self, episode: &Episode) -> Severity {
        match self.severity(episode.behaviour) {
            Severity::Stop if episode.facing_unknown() => Severity::Warn,
            severity => severity,
        }
    }

    /// Checks every value's range, naming the key and the value found.
    pub fn check(&self) -> Result<()> {
        positive("session.camera_timeout_s", self.camera_timeout_s)?;
        positive("session.max_latency_s", self.max_latency_s)?;
        positive("session.overload_s", self.overload_s)?;
        positive("session.first_sight_s", self.first_sight_s)?;
        // The clips' frames are kept in memory (JPEG, 12 a second): half a minute each way at most.
        within("session.clip_before_s", self.clip_before_s, 0.0..=30.0, " seconds")?;
        within("session.clip_after_s", self.clip_after_s, 0.0..=30.0, " seconds")?;
        for name in self.severity.keys() {
            if Behaviour::from_name(name).is_none() {
                return Err(Error::Config(format!(
                    "session.severity: no behaviour is called `{name}`; the names are {}",
                    Behaviour::names()
                )));
            }
        }
        Ok(())
    }
}

/// Why a session stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StopReason {
    /// The episode's behaviour or fault state.
    pub behaviour: Behaviour,
    pub animal: Role,
    /// A fault of sight or speed, not something an animal did.
    pub fault: bool,
    /// Stream time of the decision, seconds.
    pub time_s: f64,
    /// The reason in words, for the owner.
    pub words: String,
}

/// What the controller asks of the session.
#[derive(Debug, Clone)]
pub enum Decision {
    Stop(StopReason),
    Warn(Episode),
    Cue(Episode),
}

pub struct Controller {
    config: SessionConfig,
    freezing_stop_s: f64,
    hiding_stop_s: f64,
    /// A fixation taken with the cat's facing unknown warns at first and stops once it lasts this long.
    unknown_facing_stop_s: f64,
    overload: Bout,
    start_s: Option<f64>,
    /// An episode the controller itself started with its last decision (overload, an animal never seen):
    /// the session records it.
    pub new_episode: Option<Episode>,
}

impl Controller {
    pub fn new(config: &SessionConfig, behaviour: &BehaviourConfig) -> Controller {
        Controller {
            config: config.clone(),
            freezing_stop_s: behaviour.freezing.stop_after_s,
            hiding_stop_s: behaviour.hiding.stop_after_s,
            unknown_facing_stop_s: behaviour.fixation.unknown_facing_stop_s,
            overload: Bout::new(Behaviour::Overload, Role::Other, config.overload_s, 0.0),
            start_s: None,
            new_episode: None,
        }
    }

    pub fn severity(&self, behaviour: Behaviour) -> Severity {
        self.config.severity(behaviour)
    }

    /// What a confirmed episode means.
    pub fn on_change(&self, change: &Change) -> Option<Decision> {
        let Change::Started(e) = change else { return None };
        Some(match self.config.severity_of(e) {
            Severity::Stop => Decision::Stop(stop_for(e, e.confirmed_s, e.describe(e.confirmed_s))),
            Severity::Warn => Decision::Warn(e.clone()),
            Severity::Cue => Decision::Cue(e.clone()),
        })
    }

    /// Checks, each moment, what has lasted too long: stress signs past their limit, and the machine
    /// falling behind (`latency_s`, capture to decision).
    pub fn on_moment(
        &mut self,
        time_s: f64,
        running: &[&Episode],
        latency_s: Option<f64>,
        status: &EngineStatus,
    ) -> Option<Decision> {
        self.new_episode = None;
        let start = *self.start_s.get_or_insert(time_s);
        if time_s - start >= self.config.first_sight_s {
            for (seen, behaviour, animal) in [
                (status.rat_seen_ever, Behaviour::RatUnseen, Role::Rat),
                (status.cat_seen_ever, Behaviour::CatUnseen, Role::Cat),
            ] {
                if !seen {
                    let e = Episode::new(behaviour, animal, start, time_s).with(Measure::NeverSeen, 1.0);
                    let words = format!(
                        "the {animal} has not been seen at all in {:.0} s: is it in view? (a {animal} that has not moved \
                         at all since the start cannot be told from the background)",
                        time_s - start
                    );
                    self.new_episode = Some(e.clone());
                    return Some(Decision::Stop(stop_for(&e, time_s, words)));
                }
            }
        }
        for e in running {
            let limit = match e.behaviour {
                Behaviour::Freezing => self.freezing_stop_s,
                Behaviour::Hiding => self.hiding_stop_s,
                Behaviour::Fixation if e.facing_unknown() && self.severity(e.behaviour) == Severity::Stop => {
                    self.unknown_facing_stop_s
                }
                _ => continue,
            };
            if e.duration_s(time_s) >= limit {
                let words =
                    format!("{} for {:.1} s (the limit is {limit} s)", e.describe(time_s), e.duration_s(time_s));
                return Some(Decision::Stop(stop_for(e, time_s, words)));
            }
        }
        let behind = latency_s.is_some_and(|l| l > self.config.max_latency_s);
        let measurements = || BTreeMap::from([(Measure::LatencyS, latency_s.unwrap_or(0.0))]);
        if let Some(Change::Started(e)) = self.overload.update(time_s, behind, measurements) {
            self.new_episode = Some(e.clone());
            let words = format!(
                "the machine cannot keep up: decisions come {:.1} s after capture (the limit is {} s)",
                latency_s.unwrap_or(0.0),
                self.config.max_latency_s
            );
            return Some(Decision::Stop(stop_for(&e, time_s, words)));
        }
        None
    }

    /// The fault episode and stop reason for an error that ended the pipeline at `time_s`.
    pub fn on_error(&self, error: &Error, onset_s: f64, time_s: f64) -> (Episode, StopReason) {
        let behaviour = match error {
            Error::SourceStalled { .. } | Error::Source { .. } => Behaviour::CameraLost,
            Error::ProcessingStalled { .. } => Behaviour::Overload,
            _ => Behaviour::PipelineFailed,
        };
        let episode = Episode::new(behaviour, Role::Other, onset_s, time_s);
        let reason = stop_for(&episode, time_s, error.to_string());
        (episode, reason)
    }
}

fn stop_for(e: &Episode, time_s: f64, words: String) -> StopReason {
    StopReason { behaviour: e.behaviour, animal: e.animal, fault: e.behaviour.is_fault(), time_s, words }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen() -> EngineStatus {
        EngineStatus { cat_seen_ever: true, rat_seen_ever: true, ..Default::default() }
    }

    #[test]
    fn an_animal_never_seen_is_a_fault_after_the_first_sight_limit() {
        let mut c = Controller::new(&SessionConfig::default(), &BehaviourConfig::default());
        let no_rat = EngineStatus { cat_seen_ever: true, ..Default::default() };
        assert!(c.on_moment(0.0, &[], None, &no_rat).is_none());
        assert!(c.on_moment(29.0, &[], None, &no_rat).is_none());
        let Some(Decision::Stop(r)) = c.on_moment(30.0, &[], None, &no_rat) else { panic!() };
        assert!(r.fault && r.behaviour == Behaviour::RatUnseen, "{r:?}");
        assert_eq!(c.new_episode.as_ref().map(|e| e.behaviour), Some(Behaviour::RatUnseen));
    }

    #[test]
    fn stress_signs_warn_first_and_stop_past_their_limit() {
        let c = Controller::new(&SessionConfig::default(), &BehaviourConfig::default());
        let freezing = Episode::new(Behaviour::Freezing, Role::Rat, 10.0, 10.9);
        assert!(matches!(c.on_change(&Change::Started(freezing.clone())), Some(Decision::Warn(_))));
        let mut c = c;
        assert!(c.on_moment(12.0, &[&freezing], Some(0.05), &seen()).is_none());
        let Some(Decision::Stop(r)) = c.on_moment(13.0, &[&freezing], Some(0.05), &seen()) else { panic!() };
        assert_eq!(r.behaviour, Behaviour::Freezing);
        assert!(!r.fault);
    }

    #[test]
    fn overload_stops_only_when_it_lasts() {
        let mut c = Controller::new(&SessionConfig::default(), &BehaviourConfig::default());
        assert!(c.on_moment(0.0, &[], Some(2.0), &seen()).is_none());
        assert!(c.on_moment(1.0, &[], Some(0.1), &seen()).is_none(), "one slow frame");
        for i in 0..30 {
            if let Some(Decision::Stop(r)) = c.on_moment(2.0 + i as f64 * 0.2, &[], Some(1.5), &seen()) {
                assert!(r.fault && r.behaviour == Behaviour::Overload, "{r:?}");
                assert!((r.time_s - 5.0).abs() < 0.25, "{r:?}");
                return;
            }
        }
        panic!("no overload stop");
    }

    #[test]
    fn a_stare_with_the_facing_unknown_warns_first_and_stops_once_it_lasts() {
        let mut c = Controller::new(&SessionConfig::default(), &BehaviourConfig::default());
        let stare = Episode::new(Behaviour::Fixation, Role::Cat, 2.0, 10.0).with(Measure::FacingKnown, 0.0);
        assert!(matches!(c.on_change(&Change::Started(stare.clone())), Some(Decision::Warn(_))));
        assert!(c.on_moment(21.9, &[&stare], Some(0.05), &seen()).is_none());
        let Some(Decision::Stop(r)) = c.on_moment(22.0, &[&stare], Some(0.05), &seen()) else { panic!() };
        assert_eq!(r.behaviour, Behaviour::Fixation);
        assert!(r.words.contains("unknown"), "{}", r.words);
        // With the facing known, a stare stops at once.
        let facing = stare.with(Measure::FacingKnown, 1.0);
        assert!(matches!(c.on_change(&Change::Started(facing)), Some(Decision::Stop(_))));
    }

    #[test]
    fn the_config_can_make_fixation_a_warning() {
        let config =
            SessionConfig { severity: BTreeMap::from([("fixation".into(), Severity::Warn)]), ..Default::default() };
        let c = Controller::new(&config, &BehaviourConfig::default());
        let e = Episode::new(Behaviour::Fixation, Role::Cat, 1.0, 4.0);
        assert!(matches!(c.on_change(&Change::Started(e)), Some(Decision::Warn(_))));
    }

    #[test]
    fn the_first_sight_limit_counts_from_the_first_moment_not_from_zero() {
        let mut c = Controller::new(&SessionConfig::default(), &BehaviourConfig::default());
        let no_rat = EngineStatus { cat_seen_ever: true, ..Default::default() };
        assert!(c.on_moment(100.0, &[], None, &no_rat).is_none());
        assert!(c.on_moment(129.0, &[], None, &no_rat).is_none(), "29 s after the first moment");
        assert!(matches!(c.on_moment(130.0, &[], None, &no_rat), Some(Decision::Stop(_))));
    }

    #[test]
    fn hiding_stops_past_its_own_limit() {
        let behaviour = BehaviourConfig::default();
        let mut c = Controller::new(&SessionConfig::default(), &behaviour);
        let hiding = Episode::new(Behaviour::Hiding, Role::Rat, 0.0, 3.0);
        let limit = behaviour.hiding.stop_after_s;
        assert!(c.on_moment(limit - 0.1, &[&hiding], Some(0.05), &seen()).is_none());
        let Some(Decision::Stop(r)) = c.on_moment(limit, &[&hiding], Some(0.05), &seen()) else { panic!() };
        assert_eq!(r.behaviour, Behaviour::Hiding);
    }

    #[test]
    fn a_stare_the_owner_made_a_warning_never_stops_however_long() {
        let config =
            SessionConfig { severity: BTreeMap::from([("fixation".into(), Severity::Warn)]), ..Default::default() };
        let mut c = Controller::new(&config, &BehaviourConfig::default());
        let unknown = Episode::new(Behaviour::Fixation, Role::Cat, 0.0, 2.0).with(Measure::FacingKnown, 0.0);
        let known = unknown.clone().with(Measure::FacingKnown, 1.0);
        for t in [30.0, 60.0, 120.0] {
            assert!(c.on_moment(t, &[&unknown], Some(0.05), &seen()).is_none(), "facing unknown at {t} s");
            assert!(c.on_moment(t, &[&known], Some(0.05), &seen()).is_none(), "facing known at {t} s");
        }
        // A stare with the facing known is stopped when it is confirmed, not by how long it runs.
        let mut c = Controller::new(&SessionConfig::default(), &BehaviourConfig::default());
        assert!(c.on_moment(120.0, &[&known], Some(0.05), &seen()).is_none());
    }

    #[test]
    fn a_latency_at_the_limit_is_not_behind() {
        let config = SessionConfig::default();
        let mut c = Controller::new(&config, &BehaviourConfig::default());
        for i in 0..100 {
            let t = i as f64 * 0.1;
            assert!(c.on_moment(t, &[], Some(config.max_latency_s), &seen()).is_none(), "at {t} s");
        }
    }

    #[test]
    fn each_error_that_ends_a_session_is_named_for_what_it_is() {
        let c = Controller::new(&SessionConfig::default(), &BehaviourConfig::default());
        let cases = [
            (Error::SourceStalled { source_name: "cam".into(), seconds: 3.0 }, Behaviour::CameraLost),
            (Error::source("cam", "unplugged"), Behaviour::CameraLost),
            (Error::ProcessingStalled { seconds: 4.0 }, Behaviour::Overload),
            (Error::inference("ssd", "out of memory"), Behaviour::PipelineFailed),
        ];
        for (error, behaviour) in cases {
            let (episode, stop) = c.on_error(&error, 1.0, 2.0);
            assert_eq!((episode.behaviour, stop.behaviour, stop.fault), (behaviour, behaviour, true), "{error}");
            assert_eq!(stop.words, error.to_string());
        }
    }

    #[test]
    fn session_values_out_of_range_are_refused() {
        assert!(SessionConfig::default().check().is_ok());
        let bad = SessionConfig { camera_timeout_s: 0.0, ..Default::default() };
        assert!(bad.check().unwrap_err().to_string().contains("session.camera_timeout_s"));
    }
}
