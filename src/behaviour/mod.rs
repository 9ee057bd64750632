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

pub mod approach;
pub mod bout;
pub mod calm;
pub mod engine;
pub mod fixation;
pub mod freezing;
pub mod hiding;
pub mod pixel_change;
pub mod stalking;
pub mod visibility;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::detect::Role;
use crate::geometry::BBox;
use freezing::BodyPoints;

/// One stretch of a behaviour, as reported in `events.jsonl` and `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// `approach`, `stalking`, `fixation`, `freezing`, `hiding`, `calm`, or a fault state (`rat_unseen`,
    /// `cat_unseen`, `camera_lost`, `overload`, `pipeline_failed`).
    pub behaviour: String,
    pub animal: Role,
    /// When it began, as best known (back-dated to the first moment that met the rule).
    pub onset_s: f64,
    /// When the engine became sure: the alarm time.
    pub confirmed_s: f64,
    /// When it ended; `None` while it lasts.
    pub end_s: Option<f64>,
    /// The measurements that triggered it.
    pub measurements: BTreeMap<String, f64>,
}

impl Episode {
    pub fn new(behaviour: &str, animal: Role, onset_s: f64, confirmed_s: f64) -> Episode {
        Episode {
            behaviour: behaviour.to_string(),
            animal,
            onset_s,
            confirmed_s,
            end_s: None,
            measurements: BTreeMap::new(),
        }
    }

    pub fn with(mut self, measurement: &str, value: f64) -> Episode {
        self.measurements.insert(measurement.to_string(), value);
        self
    }

    /// How long it has lasted by `now` (or lasted, once ended).
    pub fn duration_s(&self, now: f64) -> f64 {
        (self.end_s.unwrap_or(now) - self.onset_s).max(0.0)
    }
}

/// Measurements by name, for an episode.
pub fn measurements(named: &[(&str, f64)]) -> BTreeMap<String, f64> {
    named.iter().map(|(k, v)| (k.to_string(), *v)).collect()
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

/// One animal at one moment, as the engine sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnimalView {
    /// Where the animal is: its box this frame when `observed`, else the tracker's prediction or the last
    /// box seen.
    pub bbox: BBox,
    /// Seen in this frame, not predicted or remembered.
    pub observed: bool,
    /// Body points from a pose source (DeepLabCut); empty when there are none, and the box centre stands
    /// in for the body.
    pub points: BodyPoints,
    /// Unit vector the animal faces, when a pose source tells (nose ahead of the body).
    pub heading: Option<(f32, f32)>,
    /// Body length in pixels, when the source knows it better than the box does (a pose's nose to tail
    /// base); else the engine follows the box's long side.
    pub length: Option<f64>,
}

impl AnimalView {
    /// A box without keypoints, as the video pipeline gives.
    pub fn boxed(bbox: BBox, observed: bool) -> AnimalView {
        AnimalView { bbox, observed, points: Vec::new(), heading: None, length: None }
    }

    /// The body points, or the box centre when there are none.
    pub fn body_points(&self) -> BodyPoints {
        if self.points.is_empty() {
            if self.observed { vec![Some(self.bbox.center())] } else { vec![None] }
        } else {
            self.points.clone()
        }
    }
}

/// Everything the engine is told about one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Moment {
    /// Capture time, seconds.
    pub time_s: f64,
    pub cat: Option<AnimalView>,
    /// The rat, observed or as last seen (a lost rat is still somewhere near where it was last seen).
    pub rat: Option<AnimalView>,
    /// When there are pixels: how many pixels of the rat's box changed over the last `freezing.lag_s`
    /// (see [`pixel_change`]).
    pub rat_changed_px: Option<f64>,
    /// When there are pixels and the rat is not seen now: how many pixels of its last box changed since
    /// the frame it was last seen in (a rat still there leaves them as they were).
    pub rat_changed_since_seen_px: Option<f64>,
    /// The moment comes from video (pixels were looked at), not from recorded tracks.
    pub pixels: bool,
    /// Frame size in pixels, when known: zones are given as fractions of it.
    pub frame_size: Option<(u32, u32)>,
}
