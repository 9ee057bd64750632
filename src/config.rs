//! The typed configuration: every threshold has a name, a documented default, and a range check.
//!
//! Two layers, as in ripgrep: this module parses and validates plain values without touching models or
//! files; the stages turn them into live objects (sessions, zones) when they are built.
//! A config file is TOML with the sections below; any key may be left out to keep its default, and an
//! unknown key is an error (a typo must not silently fall back to a default).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::behaviour::approach::ApproachConfig;
use crate::behaviour::calm::CalmConfig;
use crate::behaviour::fixation::FixationConfig;
use crate::behaviour::freezing::FreezeConfig;
use crate::behaviour::hiding::HidingConfig;
use crate::behaviour::stalking::StalkingConfig;
use crate::behaviour::visibility::VisibilityConfig;
use crate::error::{Error, Result};
use crate::motion::MotionConfig;
use crate::session::controller::{BEHAVIOURS, SessionConfig};
use crate::track::TrackerConfig;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub runtime: RuntimeConfig,
    pub detector: DetectorConfig,
    pub roles: RoleConfig,
    pub motion: MotionConfig,
    pub tracker: TrackerConfig,
    pub behaviour: BehaviourConfig,
    pub session: SessionConfig,
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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// The ONNX Runtime library (`libonnxruntime.so.1.31.1`). Unset: `ORT_DYLIB_PATH`, then set-up's cache.
    pub ort_lib: Option<PathBuf>,
    /// Inference threads. Unset: one per core.
    pub threads: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// A model name in the models directory (`NAME.onnx` with its manifest `NAME.toml`), or a path to an
    /// `.onnx` file.
    pub model: String,
    /// The crop classifier that checks each animal's species; empty to go without it (roles then rest on
    /// the detector's class and the animal's size alone).
    pub classifier: String,
    /// Where model names are looked up. Unset: `$CHAPERONE_MODELS_DIR`, `./models`, then the source tree's
    /// `models/`.
    pub models_dir: Option<PathBuf>,
    /// Detections below this score are dropped, whatever their class.
    pub min_score: f32,
    /// Boxes of one class overlapping more than this (IoU) are merged by non-maximum suppression, for
    /// models that leave NMS to us (YOLO exports).
    pub nms_iou: f32,
    /// In video, an animal's crop is re-classified at most this often, seconds (the classifier costs
    /// about twice the detector per crop).
    pub evidence_refresh_s: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            model: "ssd_mobilenet_v2_coco".into(),
            classifier: "efficientnet_lite3".into(),
            models_dir: None,
            min_score: 0.3,
            nms_iou: 0.45,
            evidence_refresh_s: 1.0,
        }
    }
}

/// What a detector class means for this program, before evidence is weighed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassRole {
    /// The model says cat; the crop classifier and size can still overrule it (a rat seen as "cat").
    Cat,
    /// The model has a real rodent class: trusted as the rat.
    Rat,
    /// Some animal (COCO's dog, bird, teddy bear...): cat, rat or other, decided by evidence.
    Animal,
    /// Never an animal of ours (people, furniture).
    #[default]
    Other,
}

/// How detections become `cat`, `rat` or `other`. See `detect::roles` for the decision itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleConfig {
    /// Per class name, overriding the model manifest's grouping, e.g. `{ "teddy bear" = "other" }`.
    pub classes: BTreeMap<String, ClassRole>,
    /// Animal-class detections are considered from this score up (below `detector.min_score`, since the
    /// default model sees rodents only faintly).
    pub animal_min_score: f32,
    /// The classifier's summed cat-breed probability that makes any animal a cat.
    pub cat_min_family: f32,
    /// A detector "cat" without strong classifier support still counts as a cat from this score up,
    /// unless the classifier finds it more rodent-like or dog-like than cat-like.
    pub cat_min_score: f32,
    /// A rat-sized detector "cat" (no larger than `rat_max_frame_area`) also needs at least this much
    /// classifier cat-ness: the model calls small dark rodents "cat" when the classifier sees no cat at all.
    pub cat_min_support: f32,
    /// Smallest share of the frame a cat can take (a cat is never a speck).
    pub cat_min_frame_area: f32,
    /// The classifier's summed rodent-like probability (hamster, guinea pig, squirrel, mink...) that
    /// makes a non-cat animal a rat whatever its size.
    pub rat_min_rodent_like: f32,
    /// A non-cat animal no larger than this share of the frame is taken for the rat.
    pub rat_max_frame_area: f32,
    /// ...or no larger than this share of a cat seen in the same frame (a rat is far smaller than a cat).
    pub rat_max_cat_area_ratio: f32,
    /// The classifier's summed dog probability that makes an animal `other` (a dog in the room).
    pub dog_min_family: f32,
    /// Where the rat's enclosure is, as `[x1, y1, x2, y2]` fractions of the frame; a rat must be in or
    /// near it. Unset: anywhere.
    pub enclosure: Option<[f32; 4]>,
    /// How far outside the enclosure (fraction of its size) a rat may still be.
    pub enclosure_margin: f32,
}

impl Default for RoleConfig {
    fn default() -> Self {
        RoleConfig {
            classes: BTreeMap::new(),
            animal_min_score: 0.2,
            cat_min_family: 0.3,
            cat_min_score: 0.25,
            cat_min_support: 0.08,
            cat_min_frame_area: 0.005,
            rat_min_rodent_like: 0.2,
            rat_max_frame_area: 0.06,
            rat_max_cat_area_ratio: 0.4,
            dog_min_family: 0.4,
            enclosure: None,
            enclosure_margin: 0.1,
        }
    }
}

impl Config {
    /// Reads and validates a config file; `None` gives the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let config = match path {
            None => Config::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
                parse_toml(path, &text)?
            }
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks every value's range, naming the key and the value found.
    pub fn validate(&self) -> Result<()> {
        let d = &self.detector;
        unit("detector.min_score", d.min_score)?;
        unit("detector.nms_iou", d.nms_iou)?;
        if d.model.trim().is_empty() {
            return Err(Error::Config("detector.model must name a model or an .onnx path".into()));
        }
        if !(d.evidence_refresh_s >= 0.0 && d.evidence_refresh_s.is_finite()) {
            return Err(Error::Config(format!(
                "detector.evidence_refresh_s must be zero or more seconds, got {}",
                d.evidence_refresh_s
            )));
        }
        self.validate_motion_and_tracker()?;
        self.validate_behaviour_and_session()?;
        if self.runtime.threads == Some(0) {
            return Err(Error::Config("runtime.threads must be at least 1".into()));
        }
        let r = &self.roles;
        unit("roles.animal_min_score", r.animal_min_score)?;
        unit("roles.cat_min_family", r.cat_min_family)?;
        unit("roles.cat_min_score", r.cat_min_score)?;
        unit("roles.cat_min_support", r.cat_min_support)?;
        unit("roles.cat_min_frame_area", r.cat_min_frame_area)?;
        unit("roles.rat_min_rodent_like", r.rat_min_rodent_like)?;
        unit("roles.rat_max_frame_area", r.rat_max_frame_area)?;
        unit("roles.rat_max_cat_area_ratio", r.rat_max_cat_area_ratio)?;
        unit("roles.dog_min_family", r.dog_min_family)?;
        if !(0.0..=10.0).contains(&r.enclosure_margin) {
            return Err(Error::Config(format!(
                "roles.enclosure_margin must be between 0 and 10, got {}",
                r.enclosure_margin
            )));
        }
        if let Some(enclosure) = r.enclosure {
            fractions_box("roles.enclosure", enclosure)?;
        }
        Ok(())
    }
}

impl Config {
    fn validate_behaviour_and_session(&self) -> Result<()> {
        let b = &self.behaviour;
        let f = &b.freezing;
        positive("behaviour.freezing.smoothing_s", f.smoothing_s)?;
        positive("behaviour.freezing.lag_s", f.lag_s)?;
        positive("behaviour.freezing.min_duration_s", f.min_duration_s)?;
        positive("behaviour.freezing.stop_after_s", f.stop_after_s)?;
        amount("behaviour.freezing.max_speed", f.max_speed, "body lengths per second")?;
        amount("behaviour.freezing.max_pixel_change", f.max_pixel_change, "share of the body's area")?;
        let ap = &b.approach;
        positive("behaviour.approach.window_s", ap.window_s)?;
        if !(ap.calm_speed < ap.fast_speed && ap.calm_speed >= 0.0 && ap.max_gap > 0.0) {
            return Err(Error::Config(format!(
                "behaviour.approach needs 0 <= calm_speed ({}) < fast_speed ({}) and max_gap ({}) > 0",
                ap.calm_speed, ap.fast_speed, ap.max_gap
            )));
        }
        let st = &b.stalking;
        positive("behaviour.stalking.baseline_s", st.baseline_s)?;
        positive("behaviour.stalking.window_s", st.window_s)?;
        positive("behaviour.stalking.min_duration_s", st.min_duration_s)?;
        zero_or_more("behaviour.stalking.baseline_min_s", st.baseline_min_s)?;
        zero_or_more("behaviour.stalking.end_grace_s", st.end_grace_s)?;
        unit("behaviour.stalking.lowered_ratio", st.lowered_ratio as f32)?;
        amount("behaviour.stalking.min_creep_speed", st.min_creep_speed, "body lengths per second")?;
        amount("behaviour.stalking.max_gap", st.max_gap, "body lengths")?;
        let fx = &b.fixation;
        positive("behaviour.fixation.speed_window_s", fx.speed_window_s)?;
        positive("behaviour.fixation.min_duration_s", fx.min_duration_s)?;
        zero_or_more("behaviour.fixation.end_grace_s", fx.end_grace_s)?;
        amount("behaviour.fixation.max_speed", fx.max_speed, "body lengths per second")?;
        amount("behaviour.fixation.heading_move", fx.heading_move, "body lengths")?;
        amount("behaviour.fixation.max_gap", fx.max_gap, "body lengths")?;
        if !(0.0..=180.0).contains(&fx.max_angle_deg) {
            return Err(Error::Config(format!(
                "behaviour.fixation.max_angle_deg must be between 0 and 180 degrees, got {}",
                fx.max_angle_deg
            )));
        }
        let c = &b.calm;
        positive("behaviour.calm.window_s", c.window_s)?;
        positive("behaviour.calm.min_duration_s", c.min_duration_s)?;
        zero_or_more("behaviour.calm.end_grace_s", c.end_grace_s)?;
        amount("behaviour.calm.min_gap", c.min_gap, "body lengths")?;
        zero_or_more("behaviour.calm.max_closing_speed", c.max_closing_speed)?;
        let h = &b.hiding;
        positive("behaviour.hiding.min_duration_s", h.min_duration_s)?;
        positive("behaviour.hiding.stop_after_s", h.stop_after_s)?;
        zero_or_more("behaviour.hiding.margin", h.margin)?;
        unit("behaviour.hiding.shrink_ratio", h.shrink_ratio as f32)?;
        for (i, zone) in h.shelters.iter().enumerate() {
            fractions_box(&format!("behaviour.hiding.shelters[{i}]"), *zone)?;
        }
        positive("behaviour.visibility.rat_unseen_s", b.visibility.rat_unseen_s)?;
        positive("behaviour.visibility.cat_unseen_s", b.visibility.cat_unseen_s)?;
        let se = &self.session;
        positive("session.camera_timeout_s", se.camera_timeout_s)?;
        positive("session.max_latency_s", se.max_latency_s)?;
        positive("session.overload_s", se.overload_s)?;
        positive("session.first_sight_s", se.first_sight_s)?;
        for name in se.severity.keys() {
            if !BEHAVIOURS.contains(&name.as_str()) {
                return Err(Error::Config(format!(
                    "session.severity: no behaviour is called `{name}`; the names are {}",
                    BEHAVIOURS.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// Parses a TOML file's text; an error names the file and line.
pub fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let message = e.message().to_string();
        match e.span().map(|s| text[..s.start].matches('\n').count() + 1) {
            Some(line) => Error::Config(format!("{}:{line}: {message}", path.display())),
            None => Error::Config(format!("{}: {message}", path.display())),
        }
    })
}

/// `[x1, y1, x2, y2]` as fractions of the frame, a box of some size.
fn fractions_box(key: &str, [x1, y1, x2, y2]: [f32; 4]) -> Result<()> {
    let inside = [x1, y1, x2, y2].iter().all(|v| (0.0..=1.0).contains(v));
    if inside && x1 < x2 && y1 < y2 {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{key} must be [x1, y1, x2, y2] fractions of the frame with x1 < x2 and y1 < y2, got {:?}",
            [x1, y1, x2, y2]
        )))
    }
}

/// A positive amount in the named unit.
fn amount(key: &str, v: f64, unit_name: &str) -> Result<()> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(Error::Config(format!("{key} must be a positive number of {unit_name}, got {v}")))
    }
}

/// Zero or more (seconds, or a margin).
fn zero_or_more(key: &str, v: f64) -> Result<()> {
    if v >= 0.0 && v.is_finite() { Ok(()) } else { Err(Error::Config(format!("{key} must be zero or more, got {v}"))) }
}

/// A share, probability or score: between 0 and 1.
fn unit(key: &str, v: f32) -> Result<()> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::Config(format!("{key} must be between 0 and 1, got {v}")))
    }
}

/// A duration: positive seconds.
fn positive(key: &str, v: f64) -> Result<()> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(Error::Config(format!("{key} must be a positive number of seconds, got {v}")))
    }
}

impl Config {
    fn validate_motion_and_tracker(&self) -> Result<()> {
        let m = &self.motion;
        unit("motion.min_area", m.min_area)?;
        unit("motion.max_area", m.max_area)?;
        unit("motion.min_fill", m.min_fill)?;
        unit("motion.max_unexplained", m.max_unexplained)?;
        unit("motion.candidate_score", m.candidate_score)?;
        unit("motion.edge_candidate_score", m.edge_candidate_score)?;
        if m.min_area >= m.max_area {
            return Err(Error::Config(format!(
                "motion.min_area ({}) must be below motion.max_area ({})",
                m.min_area, m.max_area
            )));
        }
        if m.work_width < 32 {
            return Err(Error::Config(format!("motion.work_width must be at least 32 pixels, got {}", m.work_width)));
        }
        positive("motion.background_tau_s", m.background_tau_s as f64)?;
        let t = &self.tracker;
        unit("tracker.high_score", t.high_score)?;
        unit("tracker.low_score", t.low_score)?;
        unit("tracker.new_track_score", t.new_track_score)?;
        unit("tracker.match_iou", t.match_iou)?;
        unit("tracker.weak_match_iou", t.weak_match_iou)?;
        if t.low_score > t.high_score {
            return Err(Error::Config(format!(
                "tracker.low_score ({}) must not exceed tracker.high_score ({})",
                t.low_score, t.high_score
            )));
        }
        positive("tracker.coast_s", t.coast_s)?;
        positive("tracker.forget_s", t.forget_s)?;
        if t.confirm_hits == 0 {
            return Err(Error::Config("tracker.confirm_hits must be at least 1".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| Error::Config(e.message().to_string()))?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let c = parse("[roles]\ncat_min_family = 0.5\nclasses = { \"teddy bear\" = \"other\" }\n").unwrap();
        assert_eq!(c.roles.cat_min_family, 0.5);
        assert_eq!(c.roles.classes["teddy bear"], ClassRole::Other);
        assert_eq!(c.detector.model, "ssd_mobilenet_v2_coco");
    }

    #[test]
    fn out_of_range_value_names_key_and_value() {
        let err = parse("[roles]\ncat_min_family = 1.5\n").unwrap_err().to_string();
        assert!(err.contains("roles.cat_min_family") && err.contains("1.5"), "{err}");
    }

    #[test]
    fn unknown_key_is_refused() {
        let err = parse("[roles]\ncat_min_famly = 0.5\n").unwrap_err().to_string();
        assert!(err.contains("cat_min_famly"), "{err}");
    }

    #[test]
    fn inverted_enclosure_is_refused() {
        let err = parse("[roles]\nenclosure = [0.5, 0.1, 0.2, 0.9]\n").unwrap_err().to_string();
        assert!(err.contains("roles.enclosure"), "{err}");
    }
}
