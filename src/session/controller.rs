//! The session controller: decides what each behaviour episode means for the meeting. `stop` ends the
//! session, `warn` tells the owner early, `cue` prompts a reward. It also owns the fault states that only
//! exist in real time: the machine falling behind (`overload`), the camera going silent (`camera_lost`)
//! and the pipeline failing (`pipeline_failed`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::behaviour::bout::Bout;
use crate::behaviour::engine::EngineStatus;
use crate::behaviour::{Change, Episode};
use crate::config::BehaviourConfig;
use crate::detect::Role;
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// End the session now.
    Stop,
    /// Tell the owner; the session goes on.
    Warn,
    /// Prompt the owner to reward the cat.
    Cue,
}

/// Every episode name the engine and controller produce; the fault states are the last five.
pub const BEHAVIOURS: [&str; 11] = [
    "approach",
    "stalking",
    "fixation",
    "freezing",
    "hiding",
    "calm",
    "rat_unseen",
    "cat_unseen",
    "camera_lost",
    "overload",
    "pipeline_failed",
];

/// The episodes that mean the program cannot see or keep up, rather than something an animal did.
pub fn is_fault(behaviour: &str) -> bool {
    BEHAVIOURS[6..].contains(&behaviour)
}

/// What a behaviour means when nothing in the config overrides it.
pub fn default_severity(behaviour: &str) -> Severity {
    match behaviour {
        // Stress signs: a warning at once, a stop once they last (`stop_after_s`).
        "freezing" | "hiding" => Severity::Warn,
        "calm" => Severity::Cue,
        _ => Severity::Stop,
    }
}

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
            severity: BTreeMap::new(),
        }
    }
}

impl SessionConfig {
    /// What `behaviour` means in this config.
    pub fn severity(&self, behaviour: &str) -> Severity {
        self.severity.get(behaviour).copied().unwrap_or_else(|| default_severity(behaviour))
    }
}

/// Why a session stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StopReason {
    /// The episode's name: a behaviour or a fault state.
    pub behaviour: String,
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
            overload: Bout::new("overload", Role::Other, config.overload_s, 0.0),
            start_s: None,
            new_episode: None,
        }
    }

    pub fn severity(&self, behaviour: &str) -> Severity {
        self.config.severity(behaviour)
    }

    /// What a confirmed episode means.
    pub fn on_change(&self, change: &Change) -> Option<Decision> {
        let Change::Started(e) = change else { return None };
        Some(match self.severity(&e.behaviour) {
            Severity::Stop => Decision::Stop(stop_for(e, e.confirmed_s, describe(e, e.confirmed_s))),
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
            for (seen, behaviour, animal) in
                [(status.rat_seen_ever, "rat_unseen", Role::Rat), (status.cat_seen_ever, "cat_unseen", Role::Cat)]
            {
                if !seen {
                    let e = Episode::new(behaviour, animal, start, time_s).with("never_seen", 1.0);
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
            let limit = match e.behaviour.as_str() {
                "freezing" => self.freezing_stop_s,
                "hiding" => self.hiding_stop_s,
                _ => continue,
            };
            if e.duration_s(time_s) >= limit {
                let words =
                    format!("{} for {:.1} s (the limit is {limit} s)", describe(e, time_s), e.duration_s(time_s));
                return Some(Decision::Stop(stop_for(e, time_s, words)));
            }
        }
        let behind = latency_s.is_some_and(|l| l > self.config.max_latency_s);
        let measurements = || BTreeMap::from([("latency_s".to_string(), latency_s.unwrap_or(0.0))]);
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
            Error::SourceStalled { .. } | Error::Video { .. } => "camera_lost",
            Error::ProcessingStalled { .. } => "overload",
            _ => "pipeline_failed",
        };
        let episode = Episode::new(behaviour, Role::Other, onset_s, time_s);
        let reason = stop_for(&episode, time_s, error.to_string());
        (episode, reason)
    }
}

fn stop_for(e: &Episode, time_s: f64, words: String) -> StopReason {
    StopReason { behaviour: e.behaviour.clone(), animal: e.animal, fault: is_fault(&e.behaviour), time_s, words }
}

/// An episode in words, with the measurement that matters most.
pub fn describe(e: &Episode, now: f64) -> String {
    let m = |k: &str| e.measurements.get(k).copied().unwrap_or(0.0);
    match e.behaviour.as_str() {
        "approach" => format!(
            "the cat approached the rat fast ({:.1} body lengths/s from {:.1} body lengths away)",
            m("closing_speed_body_lengths_per_s"),
            m("gap_body_lengths")
        ),
        "stalking" => format!(
            "the cat is stalking the rat (body at {:.0}% of its usual height/width, creeping at {:.2} body lengths/s)",
            100.0 * m("posture_ratio_to_baseline"),
            m("creep_speed_body_lengths_per_s")
        ),
        "fixation" => format!(
            "the cat is fixated on the rat (still and facing it, {:.1} body lengths away, for {:.1} s)",
            m("gap_body_lengths"),
            e.duration_s(now)
        ),
        "freezing" => "the rat is freezing".to_string(),
        "hiding" => "the rat is hiding".to_string(),
        "calm" => format!("the cat is calm, {:.1} body lengths from the rat: reward it", m("gap_body_lengths")),
        "rat_unseen" => format!("cannot see the rat (for {:.1} s)", e.duration_s(now)),
        "cat_unseen" => format!("cannot see the cat (for {:.1} s)", e.duration_s(now)),
        other => other.replace('_', " "),
    }
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
        assert!(r.fault && r.behaviour == "rat_unseen", "{r:?}");
        assert_eq!(c.new_episode.as_ref().map(|e| e.behaviour.as_str()), Some("rat_unseen"));
    }

    #[test]
    fn stress_signs_warn_first_and_stop_past_their_limit() {
        let c = Controller::new(&SessionConfig::default(), &BehaviourConfig::default());
        let freezing = Episode::new("freezing", Role::Rat, 10.0, 10.9);
        assert!(matches!(c.on_change(&Change::Started(freezing.clone())), Some(Decision::Warn(_))));
        let mut c = c;
        assert!(c.on_moment(12.0, &[&freezing], Some(0.05), &seen()).is_none());
        let Some(Decision::Stop(r)) = c.on_moment(13.0, &[&freezing], Some(0.05), &seen()) else { panic!() };
        assert_eq!(r.behaviour, "freezing");
        assert!(!r.fault);
    }

    #[test]
    fn overload_stops_only_when_it_lasts() {
        let mut c = Controller::new(&SessionConfig::default(), &BehaviourConfig::default());
        assert!(c.on_moment(0.0, &[], Some(2.0), &seen()).is_none());
        assert!(c.on_moment(1.0, &[], Some(0.1), &seen()).is_none(), "one slow frame");
        for i in 0..30 {
            if let Some(Decision::Stop(r)) = c.on_moment(2.0 + i as f64 * 0.2, &[], Some(1.5), &seen()) {
                assert!(r.fault && r.behaviour == "overload", "{r:?}");
                assert!((r.time_s - 5.0).abs() < 0.25, "{r:?}");
                return;
            }
        }
        panic!("no overload stop");
    }

    #[test]
    fn the_config_can_make_fixation_a_warning() {
        let config =
            SessionConfig { severity: BTreeMap::from([("fixation".into(), Severity::Warn)]), ..Default::default() };
        let c = Controller::new(&config, &BehaviourConfig::default());
        let e = Episode::new("fixation", Role::Cat, 1.0, 4.0);
        assert!(matches!(c.on_change(&Change::Started(e)), Some(Decision::Warn(_))));
    }
}
