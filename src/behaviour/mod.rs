//! The behaviour engine: turns tracks (and poses, when there are keypoints) into behaviour episodes.
//!
//! Every threshold is in seconds and body lengths, never frames or pixels, so that the same defaults
//! hold at any frame rate and camera distance. Each behaviour has its own module and detector; the
//! [`engine::BehaviourEngine`] feeds them one [`Moment`] at a time:
//!
//! - the cat: [`approach`] (fast approach or pounce), [`stalking`] (lowered body creeping closer),
//!   [`fixation`] (still and oriented at the rat), [`calm`] (ignoring the rat: a cue to reward);
//! - the rat: [`freezing`], [`hiding`];
//! - fault states: [`visibility`] (the rat or the cat unseen during a meeting).
//!
//! Its input is the observe stage's [`Moment`]; its output, the [`Change`]s to episodes.

pub mod approach;
pub mod bout;
pub mod calm;
pub mod engine;
pub mod fixation;
pub mod freezing;
pub mod hiding;
pub mod stalking;
pub mod visibility;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checks::{amount, at_least, positive, share, unit, zero_or_more};
use crate::error::{Error, Result};
pub use crate::kinds::Behaviour;
use crate::kinds::Role;
pub use crate::observe::{AnimalView, BodyPoints, BodySource, Moment};
use approach::ApproachConfig;
use calm::CalmConfig;
use fixation::FixationConfig;
use freezing::FreezeConfig;
use hiding::HidingConfig;
use stalking::StalkingConfig;
use visibility::VisibilityConfig;

/// What an episode measured when it was confirmed. A closed set, so that a detector and the words that
/// describe its episode cannot disagree on a name; serialised under the names `events.jsonl` has always
/// used. (Declared in alphabetical order: a map of them is written in that order, as before.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Fixation: angle between the cat's facing and the direction to the rat.
    AngleToRatDeg,
    /// Freezing from pixels: changed pixels in the rat's box over its body's area.
    ChangedShareOfBody,
    /// Approach: how fast the gap closed.
    ClosingSpeedBodyLengthsPerS,
    /// Stalking: net creep toward the rat.
    CreepSpeedBodyLengthsPerS,
    /// Fixation: 1 when the cat's facing was known (pose or its last move), 0 when it was not.
    FacingKnown,
    /// Cat to rat, in cat body lengths.
    GapBodyLengths,
    /// Overload: capture-to-decision latency.
    LatencyS,
    /// An unseen fault raised because the animal was never seen at all (1).
    NeverSeen,
    /// Stalking: box height/width over the cat's own baseline.
    PostureRatioToBaseline,
    /// Fixation: the cat's speed.
    SpeedBodyLengthsPerS,
    /// Freezing: the threshold the pixel change was held to.
    ThresholdChangedShareOfBody,
    /// Freezing: the threshold the keypoint speed was held to.
    ThresholdSpeedBodyLengthsPerS,
    /// Hiding: the rat's visible area over its usual area.
    VisibleShareOfUsualArea,
}

/// One stretch of a behaviour, as reported in `events.jsonl` and `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    pub behaviour: Behaviour,
    pub animal: Role,
    /// When it began, as best known (back-dated to the first moment that met the rule).
    pub onset_s: f64,
    /// When the engine became sure: the alarm time.
    pub confirmed_s: f64,
    /// When it ended; `None` while it lasts.
    pub end_s: Option<f64>,
    /// The measurements that triggered it.
    pub measurements: BTreeMap<Measure, f64>,
}

impl Episode {
    pub fn new(behaviour: Behaviour, animal: Role, onset_s: f64, confirmed_s: f64) -> Episode {
        Episode { behaviour, animal, onset_s, confirmed_s, end_s: None, measurements: BTreeMap::new() }
    }

    pub fn with(mut self, measure: Measure, value: f64) -> Episode {
        self.measurements.insert(measure, value);
        self
    }

    /// A measurement it was confirmed with (0 for one its detector does not take).
    pub fn measured(&self, measure: Measure) -> f64 {
        self.measurements.get(&measure).copied().unwrap_or(0.0)
    }

    /// A fixation taken as such although the cat's facing was not known (see [`fixation`]).
    pub fn facing_unknown(&self) -> bool {
        self.behaviour == Behaviour::Fixation && self.measurements.get(&Measure::FacingKnown) == Some(&0.0)
    }

    /// How long it has lasted by `now` (or lasted, once ended).
    pub fn duration_s(&self, now: f64) -> f64 {
        (self.end_s.unwrap_or(now) - self.onset_s).max(0.0)
    }

    /// The episode in words, with the measurement that matters most, as the owner reads it at `now`.
    pub fn describe(&self, now: f64) -> String {
        let m = |k| self.measured(k);
        match self.behaviour {
            Behaviour::Approach => format!(
                "the cat approached the rat fast ({:.1} body lengths/s from {:.1} body lengths away)",
                m(Measure::ClosingSpeedBodyLengthsPerS),
                m(Measure::GapBodyLengths)
            ),
            Behaviour::Stalking => format!(
                "the cat is stalking the rat (body at {:.0}% of its usual height/width, creeping at {:.2} body lengths/s)",
                100.0 * m(Measure::PostureRatioToBaseline),
                m(Measure::CreepSpeedBodyLengthsPerS)
            ),
            Behaviour::Fixation if self.facing_unknown() => format!(
                "the cat has sat still {:.1} body lengths from the rat for {:.1} s; which way it faces is unknown, \
                 so it is taken as a stare",
                m(Measure::GapBodyLengths),
                self.duration_s(now)
            ),
            Behaviour::Fixation => format!(
                "the cat is fixated on the rat (still and facing it, {:.1} body lengths away, for {:.1} s)",
                m(Measure::GapBodyLengths),
                self.duration_s(now)
            ),
            Behaviour::Freezing => "the rat is freezing".to_string(),
            Behaviour::Hiding => "the rat is hiding".to_string(),
            Behaviour::Calm => {
                format!("the cat is calm, {:.1} body lengths from the rat: reward it", m(Measure::GapBodyLengths))
            }
            Behaviour::RatUnseen => format!("cannot see the rat (for {:.1} s)", self.duration_s(now)),
            Behaviour::CatUnseen => format!("cannot see the cat (for {:.1} s)", self.duration_s(now)),
            other => other.name().replace('_', " "),
        }
    }
}

/// Measurements by name, for an episode.
pub fn measurements(named: &[(Measure, f64)]) -> BTreeMap<Measure, f64> {
    named.iter().copied().collect()
}

/// What one update of a behaviour detector changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The episode was confirmed (it has no end yet).
    Started(Episode),
    /// The episode ended.
    Ended(Episode),
}

impl Change {
    pub fn episode(&self) -> &Episode {
        match self {
            Change::Started(e) | Change::Ended(e) => e,
        }
    }
}

/// Thresholds of the behaviour engine, in seconds and body lengths.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BehaviourConfig {
    pub approach: ApproachConfig,
    pub stalking: StalkingConfig,
    pub fixation: FixationConfig,
    pub calm: CalmConfig,
    pub freezing: FreezeConfig,
    pub hiding: HidingConfig,
    pub visibility: VisibilityConfig,
}

impl BehaviourConfig {
    /// Checks every threshold's range, naming the key and the value found.
    pub fn check(&self) -> Result<()> {
        let f = &self.freezing;
        positive("behaviour.freezing.smoothing_s", f.smoothing_s)?;
        positive("behaviour.freezing.lag_s", f.lag_s)?;
        positive("behaviour.freezing.min_duration_s", f.min_duration_s)?;
        positive("behaviour.freezing.stop_after_s", f.stop_after_s)?;
        amount("behaviour.freezing.max_speed", f.max_speed, "body lengths per second")?;
        amount("behaviour.freezing.max_box_speed", f.max_box_speed, "body lengths per second")?;
        amount("behaviour.freezing.max_head_turn_deg_s", f.max_head_turn_deg_s, "degrees per second")?;
        share("behaviour.freezing.max_pixel_change", f.max_pixel_change, "the body's area")?;
        // A cut-off of 0 counts every pixel as changed: the rat would never look still.
        at_least("behaviour.freezing.pixel_cutoff", f.pixel_cutoff as f64, 1.0, " grey level")?;
        let ap = &self.approach;
        positive("behaviour.approach.window_s", ap.window_s)?;
        if !(ap.calm_speed < ap.fast_speed && ap.calm_speed >= 0.0 && ap.max_gap > 0.0) {
            return Err(Error::Config(format!(
                "behaviour.approach needs 0 <= calm_speed ({}) < fast_speed ({}) and max_gap ({}) > 0",
                ap.calm_speed, ap.fast_speed, ap.max_gap
            )));
        }
        let st = &self.stalking;
        positive("behaviour.stalking.baseline_s", st.baseline_s)?;
        positive("behaviour.stalking.window_s", st.window_s)?;
        positive("behaviour.stalking.min_duration_s", st.min_duration_s)?;
        zero_or_more("behaviour.stalking.baseline_min_s", st.baseline_min_s, " seconds")?;
        zero_or_more("behaviour.stalking.end_grace_s", st.end_grace_s, " seconds")?;
        unit("behaviour.stalking.lowered_ratio", st.lowered_ratio as f32)?;
        amount("behaviour.stalking.min_creep_speed", st.min_creep_speed, "body lengths per second")?;
        if st.max_creep_speed <= st.min_creep_speed {
            return Err(Error::Config(format!(
                "behaviour.stalking.max_creep_speed ({}) must be above min_creep_speed ({})",
                st.max_creep_speed, st.min_creep_speed
            )));
        }
        amount("behaviour.stalking.max_gap", st.max_gap, "body lengths")?;
        let fx = &self.fixation;
        positive("behaviour.fixation.speed_window_s", fx.speed_window_s)?;
        positive("behaviour.fixation.min_duration_s", fx.min_duration_s)?;
        zero_or_more("behaviour.fixation.end_grace_s", fx.end_grace_s, " seconds")?;
        amount("behaviour.fixation.max_speed", fx.max_speed, "body lengths per second")?;
        amount("behaviour.fixation.heading_move", fx.heading_move, "body lengths")?;
        amount("behaviour.fixation.max_gap", fx.max_gap, "body lengths")?;
        amount("behaviour.fixation.unknown_facing_max_gap", fx.unknown_facing_max_gap, "body lengths")?;
        positive("behaviour.fixation.unknown_facing_min_s", fx.unknown_facing_min_s)?;
        if fx.unknown_facing_stop_s < fx.unknown_facing_min_s {
            return Err(Error::Config(format!(
                "behaviour.fixation.unknown_facing_stop_s ({}) must be at least unknown_facing_min_s ({})",
                fx.unknown_facing_stop_s, fx.unknown_facing_min_s
            )));
        }
        if !(0.0..=180.0).contains(&fx.max_angle_deg) {
            return Err(Error::Config(format!(
                "behaviour.fixation.max_angle_deg must be between 0 and 180 degrees, got {}",
                fx.max_angle_deg
            )));
        }
        self.check_calm_hiding_visibility()
    }

    fn check_calm_hiding_visibility(&self) -> Result<()> {
        let c = &self.calm;
        positive("behaviour.calm.window_s", c.window_s)?;
        positive("behaviour.calm.min_duration_s", c.min_duration_s)?;
        zero_or_more("behaviour.calm.end_grace_s", c.end_grace_s, " seconds")?;
        amount("behaviour.calm.min_gap", c.min_gap, "body lengths")?;
        zero_or_more("behaviour.calm.max_closing_speed", c.max_closing_speed, "")?;
        let h = &self.hiding;
        positive("behaviour.hiding.min_duration_s", h.min_duration_s)?;
        positive("behaviour.hiding.stop_after_s", h.stop_after_s)?;
        zero_or_more("behaviour.hiding.margin", h.margin, "")?;
        unit("behaviour.hiding.shrink_ratio", h.shrink_ratio as f32)?;
        for (i, shelter) in h.shelters.iter().enumerate() {
            shelter.area.check(&format!("behaviour.hiding.shelters[{i}]"))?;
        }
        positive("behaviour.visibility.rat_unseen_s", self.visibility.rat_unseen_s)?;
        positive("behaviour.visibility.cat_unseen_s", self.visibility.cat_unseen_s)
    }
}

/// Every episode of a run, kept up to date as changes come: a confirmed episode is replaced by its ended
/// form.
#[derive(Debug, Default, Clone)]
pub struct EpisodeBook {
    pub episodes: Vec<Episode>,
}

impl EpisodeBook {
    pub fn record(&mut self, change: &Change) {
        let e = change.episode();
        match self.episodes.iter_mut().rev().find(|k| k.behaviour == e.behaviour && k.onset_s == e.onset_s) {
            Some(known) => *known = e.clone(),
            None => self.episodes.push(e.clone()),
        }
    }
}

/// Total seconds of `behaviour` among `episodes` by `now`.
pub fn total_s(episodes: &[Episode], behaviour: Behaviour, now: f64) -> f64 {
    // (+ 0.0: an empty float sum is -0.0, which prints as "-0")
    episodes.iter().filter(|e| e.behaviour == behaviour).map(|e| e.duration_s(now)).sum::<f64>() + 0.0
}

/// How often the gap is sampled for the picture, seconds: finer than anyone can see at this width.
pub const GAP_SAMPLE_S: f64 = 0.1;

/// The cat-rat gap over a run, sampled every [`GAP_SAMPLE_S`]; `None` where it was not known (an animal
/// unseen), which breaks the line.
#[derive(Debug, Clone, Default)]
pub struct GapTrace {
    pub samples: Vec<(f64, Option<f64>)>,
}

impl GapTrace {
    pub fn push(&mut self, time_s: f64, gap_body_lengths: Option<f64>) {
        if let Some(&(last_t, last_gap)) = self.samples.last() {
            // A change between known and unknown is always kept, so that breaks in the line are exact.
            if time_s - last_t < GAP_SAMPLE_S && last_gap.is_some() == gap_body_lengths.is_some() {
                return;
            }
        }
        self.samples.push((time_s, gap_body_lengths));
    }
}
