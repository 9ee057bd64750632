//! TF Object Detection API SSD exports (the default SSD-MobileNet-v2 COCO): uint8 NHWC input of any size,
//! boxes normalised as `[y1, x1, y2, x2]`, COCO 91-id class labels. Two forms are read:
//! - as exported, with the graph's own postprocessing (`detection_boxes`, `detection_scores`,
//!   `detection_classes`: already non-max-suppressed, nothing below the export's score threshold);
//! - cut before that postprocessing (`raw_boxes`, `raw_scores`: every anchor's decoded box and per-class
//!   score), as set-up writes the default model. The graph's postprocessing is a loop that unrolls
//!   suppression for each of its 90 classes; ONNX Runtime takes seconds to open it and a third of each
//!   frame's inference to run it, where the same suppression here takes well under a millisecond.
//!   Set-up also keeps only the score heads of the classes the manifest names: four fifths of the SSD's
//!   weights scored classes nothing here reads. Such a model says in its metadata
//!   ([`SCORE_CLASS_IDS_KEY`]) which class id each score column is.

use std::sync::Arc;

use image::RgbImage;
use ort::session::Session;
use ort::value::TensorRef;

use super::resize::FrameResizer;
use super::{ModelLocation, ObjectModel, RawDetection, non_max_suppression};
use crate::error::{Error, Result};
use crate::geometry::BBox;

/// The graph resizes to 300x300 inside; handing it 300x300 makes that a no-op and keeps the input small.
const INPUT_SIZE: u32 = 300;
/// The suppression the export's own postprocessing applies (its pipeline config): same-class boxes
/// overlapping more than this are one, at most this many boxes in all.
const EXPORT_NMS_IOU: f32 = 0.6;
const EXPORT_MAX_DETECTIONS: usize = 100;
/// The export's own score threshold. Boxes below it never came out of the uncut model, and nothing
/// downstream (role thresholds, the tracker's scores) was measured with them: the cut model keeps it.
const EXPORT_MIN_SCORE: f32 = 0.3;

/// The ONNX metadata key of a cut SSD whose score heads were reduced: the class ids of its `raw_scores`
/// columns, comma-separated (`1,16,17`). Without it, column `c` is class id `c + 1`.
pub const SCORE_CLASS_IDS_KEY: &str = "score_class_ids";

/// Which outputs the export has, by name.
enum Outputs {
    Postprocessed {
        boxes: String,
        scores: String,
        classes: String,
    },
    /// Scores come per class with the background column dropped: column `c` is class id
    /// `column_ids[c]`.
    Raw {
        boxes: String,
        scores: String,
        column_ids: Vec<usize>,
    },
}

impl Outputs {
    fn find(session: &Session) -> Option<Outputs> {
        let name =
            |needle: &str| session.outputs().iter().find(|o| o.name().contains(needle)).map(|o| o.name().to_string());
        if let (Some(boxes), Some(scores), Some(classes)) =
            (name("detection_boxes"), name("detection_scores"), name("detection_classes"))
        {
            return Some(Outputs::Postprocessed { boxes, scores, classes });
        }
        let (boxes, scores) = (name("raw_boxes")?, name("raw_scores")?);
        Some(Outputs::Raw { boxes, scores, column_ids: Vec::new() })
    }
}

/// The class ids of a cut SSD's score columns: from its metadata when set-up reduced its heads, else one
/// column per label after the background.
fn score_column_ids(session: &Session, labels: usize, model: &std::path::Path) -> Result<Vec<usize>> {
    let declared = session.metadata().ok().and_then(|m| m.custom(SCORE_CLASS_IDS_KEY));
    let ids: Vec<usize> = match declared {
        None => (1..labels).collect(),
        Some(text) => text.split(',').map(|id| id.trim().parse().ok()).collect::<Option<_>>().ok_or_else(|| {
            Error::model(model, format!("its metadata `{SCORE_CLASS_IDS_KEY}` is not a list of class ids: {text:?}"))
        })?,
    };
    if let Some(id) = ids.iter().find(|&&id| id == 0 || id >= labels) {
        return Err(Error::model(
            model,
            format!("its metadata names class id {id}, which its manifest's {labels} labels do not have"),
        ));
    }
    let columns = session
        .outputs()
        .iter()
        .find(|o| o.name() == "raw_scores")
        .and_then(|o| o.dtype().tensor_shape().and_then(|s| s.last().copied()).filter(|&d| d > 0));
    match columns {
        Some(c) if c as usize != ids.len() => Err(Error::model(
            model,
            format!(
                "`raw_scores` has {c} columns, but {} class ids (from its metadata `{SCORE_CLASS_IDS_KEY}`, else \
                 its manifest's labels after the background)",
                ids.len()
            ),
        )),
        _ => Ok(ids),
    }
}

pub struct SsdModel {
    session: Session,
    name: String,
    labels: Vec<Arc<str>>,
    resizer: FrameResizer,
    input: Vec<u8>,
    /// Size of the last preprocessed frame: boxes are scaled back to it.
    frame_size: (u32, u32),
    outputs: Outputs,
    boxes: Vec<f32>,
    scores: Vec<f32>,
    /// Class id of each score (postprocessed form only).
    classes: Vec<f32>,
}

impl SsdModel {
    pub fn new(session: Session, location: &ModelLocation) -> Result<SsdModel> {
        let mut outputs = Outputs::find(&session).ok_or_else(|| {
            Error::model(
                &location.onnx,
                format!(
                    "an SSD export needs `detection_boxes`, `detection_scores` and `detection_classes` outputs \
                     (or `raw_boxes` and `raw_scores`); found {}",
                    super::describe_io(&session)
                ),
            )
        })?;
        let mut labels: Vec<Arc<str>> = match &location.manifest {
            Some(m) if !m.labels.is_empty() => m.labels.iter().map(|l| Arc::from(l.as_str())).collect(),
            _ => {
                return Err(Error::model(
                    &location.onnx,
                    "an SSD export carries no class names: its manifest (same name, .toml) must list `labels`",
                ));
            }
        };
        if let Outputs::Raw { column_ids, .. } = &mut outputs {
            *column_ids = score_column_ids(&session, labels.len(), &location.onnx)?;
            // A class without a score column is never found: its name goes, so roles never count on it.
            for (id, label) in labels.iter_mut().enumerate().skip(1) {
                if !column_ids.contains(&id) {
                    *label = Arc::from("");
                }
            }
        }
        Ok(SsdModel {
            session,
            name: location.onnx.display().to_string(),
            labels,
            resizer: FrameResizer::default(),
            input: vec![0; (INPUT_SIZE * INPUT_SIZE * 3) as usize],
            frame_size: (0, 0),
            outputs,
            boxes: Vec::new(),
            scores: Vec::new(),
            classes: Vec::new(),
        })
    }

    fn is_named_class(&self, class_id: usize) -> bool {
        self.labels.get(class_id).is_some_and(|l| !l.is_empty())
    }
}

impl ObjectModel for SsdModel {
    fn class_names(&self) -> &[Arc<str>] {
        &self.labels
    }

    fn preprocess(&mut self, image: &RgbImage) -> Result<()> {
        self.frame_size = image.dimensions();
        self.resizer.resize_into(image, None, &mut self.input, INPUT_SIZE, INPUT_SIZE)
    }

    fn infer(&mut self) -> Result<()> {
        let shape = [1usize, INPUT_SIZE as usize, INPUT_SIZE as usize, 3];
        let input =
            TensorRef::from_array_view((shape, self.input.as_slice())).map_err(|e| Error::inference(&self.name, e))?;
        let outputs = self.session.run(ort::inputs![input]).map_err(|e| Error::inference(&self.name, e))?;
        let copy = |name: &str, dst: &mut Vec<f32>| -> Result<()> {
            let (_, data) = outputs[name].try_extract_tensor::<f32>().map_err(|e| Error::inference(&self.name, e))?;
            dst.clear();
            dst.extend_from_slice(data);
            Ok(())
        };
        match &self.outputs {
            Outputs::Postprocessed { boxes, scores, classes } => {
                copy(boxes, &mut self.boxes)?;
                copy(scores, &mut self.scores)?;
                copy(classes, &mut self.classes)?;
            }
            Outputs::Raw { boxes, scores, .. } => {
                copy(boxes, &mut self.boxes)?;
                copy(scores, &mut self.scores)?;
            }
        }
        Ok(())
    }

    fn postprocess(&mut self, min_score: f32, out: &mut Vec<RawDetection>) {
        out.clear();
        match self.outputs {
            Outputs::Postprocessed { .. } => {
                // num_detections is implied: scores are sorted and zero-padded past the real ones.
                let count = (self.boxes.len() / 4).min(self.scores.len()).min(self.classes.len());
                for i in 0..count {
                    let (score, class_id) = (self.scores[i], self.classes[i].round().max(0.0) as usize);
                    if score >= min_score && self.is_named_class(class_id) {
                        let bbox = to_frame(&self.boxes[i * 4..i * 4 + 4], self.frame_size);
                        out.push(RawDetection { bbox, score, class_id });
                    }
                }
            }
            Outputs::Raw { ref column_ids, .. } => {
                let (labels, frame) = (&self.labels, self.frame_size);
                let named = |class_id: usize| labels.get(class_id).is_some_and(|l| !l.is_empty());
                suppress_raw(&self.boxes, &self.scores, column_ids, frame, min_score, named, out);
            }
        }
    }
}

/// A normalised `[y1, x1, y2, x2]` box in the pixels of a `frame` (width, height), clipped to it.
fn to_frame(b: &[f32], frame: (u32, u32)) -> BBox {
    let (w, h) = (frame.0 as f32, frame.1 as f32);
    BBox::new(b[1] * w, b[0] * h, b[3] * w, b[2] * h).clamp_to(frame.0, frame.1)
}

/// The export's postprocessing, done here: every anchor's box for each named class scoring at least
/// `min_score` (and the export's own threshold), clipped to the frame, then class-wise suppression.
/// `boxes` is `[N, 4]` normalised `[y1, x1, y2, x2]`, `scores` `[N, C]` with column `c` = class id
/// `column_ids[c]`.
fn suppress_raw(
    boxes: &[f32],
    scores: &[f32],
    column_ids: &[usize],
    frame: (u32, u32),
    min_score: f32,
    named: impl Fn(usize) -> bool,
    out: &mut Vec<RawDetection>,
) {
    let anchors = boxes.len() / 4;
    if anchors == 0 || column_ids.is_empty() || scores.len() != anchors * column_ids.len() {
        return;
    }
    let floor = min_score.max(EXPORT_MIN_SCORE);
    for (b, anchor_scores) in boxes.chunks_exact(4).zip(scores.chunks_exact(column_ids.len())) {
        for (&class_id, &score) in column_ids.iter().zip(anchor_scores) {
            if score < floor || !named(class_id) {
                continue;
            }
            let bbox = to_frame(b, frame);
            if bbox.width() > 0.0 && bbox.height() > 0.0 {
                out.push(RawDetection { bbox, score, class_id });
            }
        }
    }
    non_max_suppression(out, EXPORT_NMS_IOU);
    out.truncate(EXPORT_MAX_DETECTIONS);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_outputs_are_suppressed_as_the_export_would() {
        // Three anchors, two classes (columns 0 and 1 = class ids 1 and 2) on a 200x100 frame.
        let boxes = [
            0.0, 0.0, 0.5, 0.5, // anchor 0
            0.0, 0.05, 0.5, 0.55, // anchor 1: overlaps anchor 0 (IoU 0.82)
            0.5, 0.5, 1.2, 1.1, // anchor 2: reaches past the frame
        ];
        let scores = [
            0.9, 0.1, // anchor 0: class 1
            0.8, 0.7, // anchor 1: class 1 (suppressed by anchor 0), class 2 (kept: another class)
            0.25, 0.35, // anchor 2: class 1 below the export's threshold; class 2 kept, clipped
        ];
        let mut out = Vec::new();
        suppress_raw(&boxes, &scores, &[1, 2], (200, 100), 0.2, |id| id == 1 || id == 2, &mut out);
        let found: Vec<(usize, f32)> = out.iter().map(|d| (d.class_id, d.score)).collect();
        assert_eq!(found, vec![(1, 0.9), (2, 0.7), (2, 0.35)]);
        assert_eq!(out[0].bbox, BBox::new(0.0, 0.0, 100.0, 50.0));
        assert_eq!(out[2].bbox, BBox::new(100.0, 50.0, 200.0, 100.0), "clipped to the frame");

        let mut only_named = Vec::new();
        suppress_raw(&boxes, &scores, &[1, 2], (200, 100), 0.2, |id| id == 1, &mut only_named);
        assert_eq!(only_named.len(), 1, "only named classes: {only_named:?}");

        // A model with reduced heads: the same two columns are class ids 17 and 88.
        let mut reduced = Vec::new();
        suppress_raw(&boxes, &scores, &[17, 88], (200, 100), 0.2, |_| true, &mut reduced);
        let found: Vec<(usize, f32)> = reduced.iter().map(|d| (d.class_id, d.score)).collect();
        assert_eq!(found, vec![(17, 0.9), (88, 0.7), (88, 0.35)]);
    }
}
