//! The detector stage: an image in, animals out, each with a role (`cat`, `rat` or `other`).
//!
//! Three steps, each timed ([`StageTimings`]): an [`ObjectModel`] (SSD or YOLO family) proposes boxes with
//! class names; the [`classifier::CropClassifier`] scores each animal's crop for cat-, rodent- and dog-ness;
//! [`roles::RoleResolver`] weighs class, evidence and size into a [`Role`].

pub mod classifier;
pub mod manifest;
pub mod resize;
pub mod roles;
pub mod ssd;
pub mod yolo;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::RgbImage;
use ort::session::Session;
use ort::value::TensorElementType;
use serde::{Deserialize, Serialize};

use crate::checks;
use crate::error::{Error, Result};
use crate::geometry::BBox;
pub use crate::kinds::{ClassRole, Role};
use crate::runtime::{self, RuntimeConfig};
use crate::source::Frame;

pub use manifest::{ModelFamily, ModelLocation};
pub use roles::RoleConfig;

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
    /// In video, with nothing in view for the detector to follow (no cat, dog or person; motion explains
    /// every change), it looks at one frame this often, seconds, and motion finds the rodent in between:
    /// a rodent-only recording runs several times faster. An animal or person in view, or a change that
    /// motion cannot explain, has it look at every frame again. 0 looks at every frame always.
    pub idle_interval_s: f64,
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
            idle_interval_s: 0.5,
        }
    }
}

impl DetectorConfig {
    pub fn check(&self) -> Result<()> {
        checks::unit("detector.min_score", self.min_score)?;
        checks::unit("detector.nms_iou", self.nms_iou)?;
        if self.model.trim().is_empty() {
            return Err(Error::Config("detector.model must name a model or an .onnx path".into()));
        }
        checks::zero_or_more("detector.evidence_refresh_s", self.evidence_refresh_s, " seconds")?;
        checks::zero_or_more("detector.idle_interval_s", self.idle_interval_s, " seconds")
    }
}

/// The crop classifier's view of one detection, kept so a role can be explained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleEvidence {
    /// Summed probability of the domestic cat classes.
    pub cat_family: f32,
    /// Summed probability of the rodent-like classes.
    pub rodent_like: f32,
    /// Summed probability of the dog classes.
    pub dog_family: f32,
    /// The classifier's single best label and its probability.
    pub top_label: String,
    pub top_score: f32,
}

/// One detected object in frame pixels, with what the model called it and what it is to us.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub role: Role,
    #[serde(rename = "class")]
    pub class_name: Arc<str>,
    pub score: f32,
    #[serde(rename = "box")]
    pub bbox: BBox,
    /// Present when the crop classifier looked at it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub evidence: Option<RoleEvidence>,
    /// What the class means before evidence (an `other` dog is still an animal class): motion near an
    /// animal or person is theirs, not the rat's.
    #[serde(skip)]
    pub class_role: ClassRole,
}

/// What an object model proposes before roles: a box, a score and a class id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawDetection {
    pub bbox: BBox,
    pub score: f32,
    pub class_id: usize,
}

/// One detection model, split in its three steps so each can be timed and benchmarked alone.
/// Implementations keep their buffers between frames: no allocation per frame once warmed up.
pub trait ObjectModel: Send {
    /// The model's class names, indexed by class id.
    fn class_names(&self) -> &[Arc<str>];
    /// Turns the frame into the model's input tensor (kept inside).
    fn preprocess(&mut self, image: &RgbImage) -> Result<()>;
    /// Runs the model on the last preprocessed input; keeps the raw outputs inside.
    fn infer(&mut self) -> Result<()>;
    /// Decodes the last outputs into boxes in the preprocessed frame's pixels, at or above `min_score`.
    fn postprocess(&mut self, min_score: f32, out: &mut Vec<RawDetection>);
}

/// Anything that turns an image into detections: the real [`AnimalDetector`], or a scripted fake in tests.
pub trait Detector: Send {
    /// Detects in a still image, with no memory of other images.
    fn detect(&mut self, image: &RgbImage) -> Result<Vec<Detection>>;

    /// Detects in a frame of a sequence, where what was learnt in the last moments may be reused.
    fn detect_frame(&mut self, frame: &Frame) -> Result<Vec<Detection>> {
        self.detect(&frame.image)
    }

    /// Time spent per step so far, for detectors that keep it.
    fn timings(&self) -> StageTimings {
        StageTimings::default()
    }
}

/// Time spent per step, summed over the frames seen.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StageTimings {
    pub frames: u64,
    pub preprocess: Duration,
    pub inference: Duration,
    pub postprocess: Duration,
    pub classify: Duration,
}

/// `roles.classes` may not give a role to a class its manifest lists but the model scores no more (set-up
/// keeps the default SSD's score heads only for the classes the manifest groups): it would never be found.
fn unscored_classes_named(roles: &RoleConfig, scored: &[Arc<str>], location: &ModelLocation) -> Result<()> {
    let listed = location.manifest.as_ref().map_or(&[][..], |m| m.labels.as_slice());
    let unscored = roles.classes.keys().find(|name| listed.contains(name) && !scored.iter().any(|s| **s == **name));
    match unscored {
        None => Ok(()),
        Some(name) => Err(Error::Config(format!(
            "roles.classes gives a role to `{name}`, which {} no longer scores (set-up keeps only the classes \
             its manifest's [classes] groups): add `{name}` to a group there and run scripts/setup.sh again",
            location.onnx.display()
        ))),
    }
}

/// The default detector: object model, crop classifier, role resolver.
pub struct AnimalDetector {
    model: Box<dyn ObjectModel>,
    classifier: Option<classifier::CropClassifier>,
    /// In a sequence, an animal's species is re-checked at most this often (the classifier costs twice
    /// the detector per crop): evidence for a box overlapping one classified recently is reused.
    evidence_refresh_s: f64,
    evidence_cache: Vec<classifier::CachedEvidence>,
    roles: roles::RoleResolver,
    min_score: f32,
    raw: Vec<RawDetection>,
    pub timings: StageTimings,
}

impl AnimalDetector {
    /// Loads the models named in `detector`, failing with a message that says what to do.
    pub fn load(runtime: &RuntimeConfig, detector: &DetectorConfig, roles: &RoleConfig) -> Result<AnimalDetector> {
        let env = runtime::environment(runtime.ort_lib.as_deref())?;
        let threads = runtime.threads.unwrap_or_else(runtime::default_threads);
        let location = manifest::locate(&detector.model, detector)?;
        let session = runtime::open_session(env, &location.onnx, threads)?;
        let model = load_object_model(session, &location, detector.nms_iou)?;
        let classifier = if detector.classifier.trim().is_empty() {
            None
        } else {
            let loc = manifest::locate(&detector.classifier, detector)?;
            let session = runtime::open_session(env, &loc.onnx, threads)?;
            Some(classifier::CropClassifier::new(session, &loc)?)
        };
        unscored_classes_named(roles, model.class_names(), &location)?;
        let min_score = detector.min_score.min(roles.animal_min_score);
        let roles = roles::RoleResolver::new(roles, model.class_names(), location.manifest.as_ref());
        Ok(AnimalDetector {
            model,
            classifier,
            evidence_refresh_s: detector.evidence_refresh_s,
            evidence_cache: Vec::new(),
            roles,
            min_score,
            raw: Vec::new(),
            timings: StageTimings::default(),
        })
    }

    /// Runs the role logic (classifier and resolver) on boxes proposed by someone else: how the role
    /// logic is checked on hand-located animals, and how fused detections get roles.
    pub fn assign_roles(&mut self, image: &RgbImage, raw: &[RawDetection]) -> Result<Vec<Detection>> {
        let classifier = self.classifier.as_mut().map(|c| c as &mut dyn classifier::EvidenceSource);
        self.roles.resolve(image, raw, classifier)
    }

    fn run(&mut self, image: &RgbImage, time_s: Option<f64>) -> Result<Vec<Detection>> {
        let t0 = Instant::now();
        self.model.preprocess(image)?;
        let t1 = Instant::now();
        self.model.infer()?;
        let t2 = Instant::now();
        self.model.postprocess(self.min_score, &mut self.raw);
        let t3 = Instant::now();
        let detections = match (&mut self.classifier, time_s) {
            (Some(classifier), Some(time_s)) => {
                let mut cached = classifier::Cached {
                    classifier,
                    cache: &mut self.evidence_cache,
                    time_s,
                    refresh_s: self.evidence_refresh_s,
                };
                self.roles.resolve(image, &self.raw, Some(&mut cached))?
            }
            (Some(classifier), None) => self.roles.resolve(image, &self.raw, Some(classifier))?,
            (None, _) => self.roles.resolve(image, &self.raw, None)?,
        };
        let t4 = Instant::now();
        let t = &mut self.timings;
        t.frames += 1;
        t.preprocess += t1 - t0;
        t.inference += t2 - t1;
        t.postprocess += t3 - t2;
        t.classify += t4 - t3;
        Ok(detections)
    }

    /// The id of a class name in the object model, if it has that class.
    pub fn class_id(&self, name: &str) -> Option<usize> {
        self.model.class_names().iter().position(|n| &**n == name)
    }

    /// The object model alone, for benchmarks of its steps.
    pub fn object_model(&mut self) -> &mut dyn ObjectModel {
        self.model.as_mut()
    }
}

impl Detector for AnimalDetector {
    fn detect(&mut self, image: &RgbImage) -> Result<Vec<Detection>> {
        self.run(image, None)
    }

    fn detect_frame(&mut self, frame: &Frame) -> Result<Vec<Detection>> {
        self.run(&frame.image, Some(frame.time_s))
    }

    fn timings(&self) -> StageTimings {
        self.timings.clone()
    }
}

fn load_object_model(session: Session, location: &ModelLocation, nms_iou: f32) -> Result<Box<dyn ObjectModel>> {
    let family = match location.manifest.as_ref().map(|m| m.family) {
        Some(ModelFamily::Classifier) => {
            return Err(Error::model(
                &location.onnx,
                "its manifest says it is a classifier, not a detector: pass a detection model as --model",
            ));
        }
        Some(family) => family,
        None => recognise_family(&session).ok_or_else(|| {
            Error::model(
                &location.onnx,
                format!(
                    "not a supported detector (expected a TF Object Detection API SSD export or a YOLOv8/YOLO11 export); found {}",
                    describe_io(&session)
                ),
            )
        })?,
    };
    Ok(match family {
        ModelFamily::TfSsd => Box::new(ssd::SsdModel::new(session, location)?),
        ModelFamily::Yolo => Box::new(yolo::YoloModel::new(session, location, nms_iou)?),
        ModelFamily::Classifier => unreachable!("handled above"),
    })
}

/// Greedy class-wise non-maximum suppression: keeps the best box and drops same-class boxes overlapping
/// it by more than `iou`; the result is sorted by score, best first.
pub fn non_max_suppression(dets: &mut Vec<RawDetection>, iou: f32) {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept = 0;
    for i in 0..dets.len() {
        let candidate = dets[i];
        let suppressed =
            dets[..kept].iter().any(|k| k.class_id == candidate.class_id && k.bbox.iou(&candidate.bbox) > iou);
        if !suppressed {
            dets[kept] = candidate;
            kept += 1;
        }
    }
    dets.truncate(kept);
}

/// Recognises a detector family from its inputs and outputs alone.
pub fn recognise_family(session: &Session) -> Option<ModelFamily> {
    let inputs = session.inputs();
    let outputs = session.outputs();
    let has_output = |needle: &str| outputs.iter().any(|o| o.name().contains(needle));
    if inputs.len() == 1 {
        let dtype = inputs[0].dtype();
        let shape = dtype.tensor_shape().map(|s| s.to_vec()).unwrap_or_default();
        let elem = dtype.tensor_type();
        if elem == Some(TensorElementType::Uint8)
            && shape.len() == 4
            && shape[3] == 3
            && ((has_output("detection_boxes") && has_output("detection_scores") && has_output("detection_classes"))
                || (has_output("raw_boxes") && has_output("raw_scores")))
        {
            return Some(ModelFamily::TfSsd);
        }
        if elem == Some(TensorElementType::Float32) && shape.len() == 4 && shape[1] == 3 && outputs.len() == 1 {
            let out_shape = outputs[0].dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default();
            if out_shape.len() == 3 && (out_shape[1] < 0 || out_shape[1] >= 5) {
                return Some(ModelFamily::Yolo);
            }
        }
    }
    None
}

/// "inputs: x float32 [1, 10]; outputs: y float32 [1, 10]", for error messages.
pub fn describe_io(session: &Session) -> String {
    let list = |outlets: &[ort::value::Outlet]| -> String {
        outlets
            .iter()
            .map(|o| {
                let ty =
                    o.dtype().tensor_type().map(|t| format!("{t:?}").to_lowercase()).unwrap_or("non-tensor".into());
                let shape = o.dtype().tensor_shape().map(|s| format!("{:?}", s.to_vec())).unwrap_or_default();
                format!("{} {ty} {shape}", o.name())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("inputs: {}; outputs: {}", list(session.inputs()), list(session.outputs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(x: f32, score: f32, class_id: usize) -> RawDetection {
        RawDetection { bbox: BBox::new(x, 0.0, x + 10.0, 10.0), score, class_id }
    }

    #[test]
    fn nms_keeps_best_of_overlapping_same_class() {
        let mut dets = vec![raw(1.0, 0.6, 0), raw(0.0, 0.9, 0), raw(50.0, 0.5, 0)];
        non_max_suppression(&mut dets, 0.45);
        assert_eq!(dets, vec![raw(0.0, 0.9, 0), raw(50.0, 0.5, 0)]);
    }

    #[test]
    fn nms_never_suppresses_across_classes() {
        let mut dets = vec![raw(0.0, 0.9, 0), raw(0.0, 0.8, 1)];
        non_max_suppression(&mut dets, 0.45);
        assert_eq!(dets.len(), 2);
    }
}
