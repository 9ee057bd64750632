//! TF Object Detection API SSD exports (the default SSD-MobileNet-v2 COCO): uint8 NHWC input of any size,
//! outputs already non-max-suppressed, boxes normalised as `[y1, x1, y2, x2]`, COCO 91-id class labels.

use std::sync::Arc;

use image::RgbImage;
use ort::session::Session;
use ort::value::TensorRef;

use super::resize::FrameResizer;
use super::{ModelLocation, ObjectModel, RawDetection};
use crate::error::{Error, Result};
use crate::geometry::BBox;

/// The graph resizes to 300x300 inside; handing it 300x300 makes that a no-op and keeps the input small.
const INPUT_SIZE: u32 = 300;

pub struct SsdModel {
    session: Session,
    name: String,
    labels: Vec<Arc<str>>,
    resizer: FrameResizer,
    input: Vec<u8>,
    /// Size of the last preprocessed frame: boxes are scaled back to it.
    frame_size: (u32, u32),
    boxes: Vec<f32>,
    scores: Vec<f32>,
    classes: Vec<f32>,
    count: usize,
    output_names: [String; 3],
}

impl SsdModel {
    pub fn new(session: Session, location: &ModelLocation) -> Result<SsdModel> {
        let find = |needle: &str| -> Result<String> {
            session.outputs().iter().find(|o| o.name().contains(needle)).map(|o| o.name().to_string()).ok_or_else(
                || {
                    Error::model(
                        &location.onnx,
                        format!("an SSD export needs a `{needle}` output; found {}", super::describe_io(&session)),
                    )
                },
            )
        };
        let output_names = [find("detection_boxes")?, find("detection_scores")?, find("detection_classes")?];
        let labels: Vec<Arc<str>> = match &location.manifest {
            Some(m) if !m.labels.is_empty() => m.labels.iter().map(|l| Arc::from(l.as_str())).collect(),
            _ => {
                return Err(Error::model(
                    &location.onnx,
                    "an SSD export carries no class names: its manifest (same name, .toml) must list `labels`",
                ));
            }
        };
        Ok(SsdModel {
            session,
            name: location.onnx.display().to_string(),
            labels,
            resizer: FrameResizer::default(),
            input: vec![0; (INPUT_SIZE * INPUT_SIZE * 3) as usize],
            frame_size: (0, 0),
            boxes: Vec::new(),
            scores: Vec::new(),
            classes: Vec::new(),
            count: 0,
            output_names,
        })
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
        let copy = |name: &str, dst: &mut Vec<f32>| -> Result<usize> {
            let (_, data) = outputs[name].try_extract_tensor::<f32>().map_err(|e| Error::inference(&self.name, e))?;
            dst.clear();
            dst.extend_from_slice(data);
            Ok(data.len())
        };
        let n_boxes = copy(&self.output_names[0], &mut self.boxes)? / 4;
        let n_scores = copy(&self.output_names[1], &mut self.scores)?;
        let n_classes = copy(&self.output_names[2], &mut self.classes)?;
        // num_detections is implied: scores are sorted and zero-padded past the real ones.
        self.count = n_boxes.min(n_scores).min(n_classes);
        Ok(())
    }

    fn postprocess(&mut self, min_score: f32, out: &mut Vec<RawDetection>) {
        out.clear();
        let (w, h) = (self.frame_size.0 as f32, self.frame_size.1 as f32);
        for i in 0..self.count {
            let score = self.scores[i];
            if score < min_score {
                continue;
            }
            let class_id = self.classes[i].round().max(0.0) as usize;
            if class_id >= self.labels.len() || self.labels[class_id].is_empty() {
                continue;
            }
            let b = &self.boxes[i * 4..i * 4 + 4];
            let bbox = BBox::new(b[1] * w, b[0] * h, b[3] * w, b[2] * h).clamp_to(self.frame_size.0, self.frame_size.1);
            out.push(RawDetection { bbox, score, class_id });
        }
    }
}
