//! The crop classifier: an ImageNet classifier run on each animal detection's crop, whose class
//! probabilities are summed into cat-, rodent- and dog-ness. It is what lets the COCO detector, which has
//! no rodent class, tell a rat it calls "dog" from a real dog.

use image::RgbImage;
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef};

use super::resize::FrameResizer;
use super::{ModelLocation, RoleEvidence};
use crate::error::{Error, Result};
use crate::geometry::BBox;

/// How much context around the box the classifier sees, as a fraction of the box on each side.
const CROP_MARGIN: f32 = 0.1;

pub struct CropClassifier {
    session: Session,
    name: String,
    input_w: u32,
    input_h: u32,
    input: Vec<u8>,
    resizer: FrameResizer,
    labels: Vec<String>,
    cat_family: Vec<usize>,
    rodent_like: Vec<usize>,
    dog_family: Vec<usize>,
    probs: Vec<f32>,
}

impl CropClassifier {
    pub fn new(session: Session, location: &ModelLocation) -> Result<CropClassifier> {
        let bad = |message: String| Error::model(&location.onnx, message);
        let io = super::describe_io(&session);
        let input = &session.inputs()[0];
        let shape = input.dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default();
        if session.inputs().len() != 1
            || input.dtype().tensor_type() != Some(TensorElementType::Uint8)
            || shape.len() != 4
            || shape[3] != 3
            || shape[1] <= 0
            || shape[2] <= 0
        {
            return Err(bad(format!("the crop classifier must take one uint8 [1, H, W, 3] image; found {io}")));
        }
        let manifest = location.manifest.as_ref().ok_or_else(|| {
            bad("the crop classifier needs its manifest (same name, .toml) listing its class groups".into())
        })?;
        let group = |name: &str| -> Result<Vec<usize>> {
            let ranges = manifest
                .groups
                .get(name)
                .ok_or_else(|| bad(format!("its manifest has no `{name}` group under [groups]")))?;
            Ok(ranges.iter().flat_map(|[a, b]| *a..=*b).collect())
        };
        let labels = location.read_labels_file()?.unwrap_or_default();
        let (input_h, input_w) = (shape[1] as u32, shape[2] as u32);
        Ok(CropClassifier {
            name: location.onnx.display().to_string(),
            input_w,
            input_h,
            input: vec![0; (input_w * input_h * 3) as usize],
            resizer: FrameResizer::default(),
            cat_family: group("cat_family")?,
            rodent_like: group("rodent_like")?,
            dog_family: group("dog_family")?,
            labels,
            probs: Vec::new(),
            session,
        })
    }

    /// Classifies the crop of `image` around `bbox`.
    pub fn classify(&mut self, image: &RgbImage, bbox: &BBox) -> Result<RoleEvidence> {
        let crop = bbox.expand(CROP_MARGIN).clamp_to(image.width(), image.height());
        self.resizer.resize_into(image, Some(crop), &mut self.input, self.input_w, self.input_h)?;
        let shape = [1usize, self.input_h as usize, self.input_w as usize, 3];
        let input =
            TensorRef::from_array_view((shape, self.input.as_slice())).map_err(|e| Error::inference(&self.name, e))?;
        let outputs = self.session.run(ort::inputs![input]).map_err(|e| Error::inference(&self.name, e))?;
        let output = &outputs[0];
        self.probs.clear();
        match output.dtype().tensor_type() {
            // A quantised model's uint8 scores are probabilities in 1/256 steps.
            Some(TensorElementType::Uint8) => {
                let (_, data) = output.try_extract_tensor::<u8>().map_err(|e| Error::inference(&self.name, e))?;
                self.probs.extend(data.iter().map(|&v| v as f32 / 256.0));
            }
            _ => {
                let (_, data) = output.try_extract_tensor::<f32>().map_err(|e| Error::inference(&self.name, e))?;
                self.probs.extend_from_slice(data);
                let sum: f32 = self.probs.iter().sum();
                if self.probs.iter().any(|&p| p < 0.0) || sum > 1.5 {
                    softmax(&mut self.probs);
                }
            }
        }
        let sum_of = |ids: &[usize]| ids.iter().filter_map(|&i| self.probs.get(i)).sum::<f32>();
        let (top, top_score) =
            self.probs.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, &p)| (i, p)).unwrap_or((0, 0.0));
        Ok(RoleEvidence {
            cat_family: sum_of(&self.cat_family),
            rodent_like: sum_of(&self.rodent_like),
            dog_family: sum_of(&self.dog_family),
            top_label: self.labels.get(top).cloned().unwrap_or_else(|| format!("class {top}")),
            top_score,
        })
    }
}

/// Something that can say how cat-, rodent- and dog-like a box's pixels are.
pub trait EvidenceSource {
    fn evidence(&mut self, image: &RgbImage, bbox: &BBox) -> Result<RoleEvidence>;
}

impl EvidenceSource for CropClassifier {
    fn evidence(&mut self, image: &RgbImage, bbox: &BBox) -> Result<RoleEvidence> {
        self.classify(image, bbox)
    }
}

/// Evidence classified at `time_s` for a box.
#[derive(Debug, Clone)]
pub struct CachedEvidence {
    bbox: BBox,
    time_s: f64,
    evidence: RoleEvidence,
}

/// A box overlapping this much with one classified recently is the same animal.
const SAME_ANIMAL_IOU: f32 = 0.5;

/// The classifier with a short memory: in a sequence, a box overlapping one classified less than
/// `refresh_s` ago reuses that evidence instead of running the classifier again.
pub struct Cached<'a> {
    pub classifier: &'a mut CropClassifier,
    pub cache: &'a mut Vec<CachedEvidence>,
    pub time_s: f64,
    pub refresh_s: f64,
}

impl EvidenceSource for Cached<'_> {
    fn evidence(&mut self, image: &RgbImage, bbox: &BBox) -> Result<RoleEvidence> {
        let (now, refresh) = (self.time_s, self.refresh_s);
        // Time going backwards means a new sequence: forget everything.
        self.cache.retain(|c| c.time_s <= now && now - c.time_s < refresh);
        if let Some(hit) = self.cache.iter().find(|c| c.bbox.iou(bbox) > SAME_ANIMAL_IOU) {
            return Ok(hit.evidence.clone());
        }
        let evidence = self.classifier.classify(image, bbox)?;
        self.cache.push(CachedEvidence { bbox: *bbox, time_s: now, evidence: evidence.clone() });
        Ok(evidence)
    }
}

fn softmax(values: &mut [f32]) {
    let max = values.iter().copied().fold(f32::MIN, f32::max);
    let mut sum = 0.0;
    for v in values.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in values.iter_mut() {
        *v /= sum;
    }
}
