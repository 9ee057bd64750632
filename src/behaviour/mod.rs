//! The behaviour engine: turns tracks (and poses, when there are keypoints) into behaviour episodes.
//!
//! Every threshold is in seconds and body lengths, never frames or pixels, so that the same defaults
//! hold at any frame rate and camera distance. Built so far: rat freezing ([`freezing`]) and the cat's fast
//! approach ([`approach`]).

pub mod approach;
pub mod engine;
pub mod freezing;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::detect::Role;

/// One stretch of a behaviour, as reported in `events.jsonl` and `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Episode {
    /// `freezing`, ...
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
