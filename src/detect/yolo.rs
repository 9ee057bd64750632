//! YOLOv8 / YOLO11 ONNX exports: how a user brings a model with a real rat class.
//!
//! Input: float32 NCHW `[1, 3, H, W]`, RGB, letterboxed (aspect kept, grey 114 padding), scaled to 0..1.
//! Output: `[1, 4 + C, N]` (or its transpose `[1, N, 4 + C]`): per candidate `cx, cy, w, h` in input
//! pixels, then one score per class; no NMS inside, so it is done here. Class names come from the ONNX
//! metadata key `names` (`{0: 'cat', 1: 'rat'}`), or from a manifest's `labels`.

use std::sync::Arc;

use image::RgbImage;
use ort::session::Session;
use ort::value::TensorRef;

use super::resize::FrameResizer;
use super::{ModelLocation, ObjectModel, RawDetection, non_max_suppression};
use crate::error::{Error, Result};
use crate::geometry::BBox;

/// Used when the export leaves the input size dynamic and says nothing in its metadata.
const DEFAULT_INPUT_SIZE: u32 = 640;
/// Ultralytics' padding grey.
const PAD_VALUE: f32 = 114.0 / 255.0;

/// How a frame maps into a letterboxed model input, and back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub scale: f32,
    /// Size of the resized frame inside the input.
    pub resized_w: u32,
    pub resized_h: u32,
    /// Offset of the resized frame inside the input.
    pub pad_left: u32,
    pub pad_top: u32,
}

impl Letterbox {
    pub fn new(src_w: u32, src_h: u32, dst_w: u32, dst_h: u32) -> Letterbox {
        let scale = (dst_w as f32 / src_w as f32).min(dst_h as f32 / src_h as f32);
        let resized_w = ((src_w as f32 * scale).round() as u32).clamp(1, dst_w);
        let resized_h = ((src_h as f32 * scale).round() as u32).clamp(1, dst_h);
        Letterbox { scale, resized_w, resized_h, pad_left: (dst_w - resized_w) / 2, pad_top: (dst_h - resized_h) / 2 }
    }

    /// A box in input pixels, back in frame pixels.
    pub fn to_frame(&self, b: BBox) -> BBox {
        let (px, py) = (self.pad_left as f32, self.pad_top as f32);
        BBox::new(
            (b.x1 - px) / self.scale,
            (b.y1 - py) / self.scale,
            (b.x2 - px) / self.scale,
            (b.y2 - py) / self.scale,
        )
    }
}

pub struct YoloModel {
    session: Session,
    name: String,
    labels: Vec<Arc<str>>,
    input_w: u32,
    input_h: u32,
    nms_iou: f32,
    resizer: FrameResizer,
    resized: Vec<u8>,
    input: Vec<f32>,
    /// Letterbox of the last preprocessed frame (the padding is only refilled when it changes).
    letterbox: Option<Letterbox>,
    frame_size: (u32, u32),
    output: Vec<f32>,
    output_shape: [usize; 2],
}

impl YoloModel {
    pub fn new(session: Session, location: &ModelLocation, nms_iou: f32) -> Result<YoloModel> {
        let bad = |message: String| Error::model(&location.onnx, message);
        let input_shape = session.inputs()[0].dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default();
        if input_shape.len() != 4 || input_shape[1] != 3 {
            return Err(bad(format!("a YOLO export needs input [1, 3, H, W]; found {}", super::describe_io(&session))));
        }
        let (meta_size, meta_names) = match session.metadata() {
            Ok(m) => (m.custom("imgsz").and_then(|s| parse_imgsz(&s)), m.custom("names")),
            Err(_) => (None, None),
        };
        let dim = |d: i64, fallback: u32| if d > 0 { d as u32 } else { fallback };
        let (input_h, input_w) = match meta_size {
            Some((h, w)) => (dim(input_shape[2], h), dim(input_shape[3], w)),
            None => (dim(input_shape[2], DEFAULT_INPUT_SIZE), dim(input_shape[3], DEFAULT_INPUT_SIZE)),
        };
        let labels: Vec<String> = match &location.manifest {
            Some(m) if !m.labels.is_empty() => m.labels.clone(),
            _ => meta_names
                .as_deref()
                .and_then(parse_names)
                .ok_or_else(|| {
                    bad("a YOLO export must carry its class names in the ONNX metadata key `names` (Ultralytics does), or in a manifest's `labels`".into())
                })?,
        };
        Ok(YoloModel {
            name: location.onnx.display().to_string(),
            session,
            labels: labels.iter().map(|l| Arc::from(l.as_str())).collect(),
            input_w,
            input_h,
            nms_iou,
            resizer: FrameResizer::default(),
            resized: Vec::new(),
            input: vec![PAD_VALUE; (3 * input_w * input_h) as usize],
            letterbox: None,
            frame_size: (0, 0),
            output: Vec::new(),
            output_shape: [0, 0],
        })
    }

    pub fn input_size(&self) -> (u32, u32) {
        (self.input_w, self.input_h)
    }
}

impl ObjectModel for YoloModel {
    fn class_names(&self) -> &[Arc<str>] {
        &self.labels
    }

    fn preprocess(&mut self, image: &RgbImage) -> Result<()> {
        let (w, h) = image.dimensions();
        let lb = Letterbox::new(w, h, self.input_w, self.input_h);
        if self.letterbox != Some(lb) {
            self.input.fill(PAD_VALUE);
            self.letterbox = Some(lb);
        }
        self.frame_size = (w, h);
        self.resized.resize((lb.resized_w * lb.resized_h * 3) as usize, 0);
        self.resizer.resize_into(image, None, &mut self.resized, lb.resized_w, lb.resized_h)?;
        // HWC u8 -> CHW f32 in the letterbox's inner rectangle.
        let plane = (self.input_w * self.input_h) as usize;
        let (r, rest) = self.input.split_at_mut(plane);
        let (g, b) = rest.split_at_mut(plane);
        for (y, row) in self.resized.chunks_exact((lb.resized_w * 3) as usize).enumerate() {
            let start = (lb.pad_top as usize + y) * self.input_w as usize + lb.pad_left as usize;
            let (r, g, b) = (&mut r[start..], &mut g[start..], &mut b[start..]);
            for (x, px) in row.chunks_exact(3).enumerate() {
                r[x] = px[0] as f32 / 255.0;
                g[x] = px[1] as f32 / 255.0;
                b[x] = px[2] as f32 / 255.0;
            }
        }
        Ok(())
    }

    fn infer(&mut self) -> Result<()> {
        let shape = [1usize, 3, self.input_h as usize, self.input_w as usize];
        let input =
            TensorRef::from_array_view((shape, self.input.as_slice())).map_err(|e| Error::inference(&self.name, e))?;
        let outputs = self.session.run(ort::inputs![input]).map_err(|e| Error::inference(&self.name, e))?;
        let (shape, data) = outputs[0].try_extract_tensor::<f32>().map_err(|e| Error::inference(&self.name, e))?;
        if shape.len() != 3 {
            return Err(Error::inference(&self.name, format!("expected a [1, 4+C, N] output, got {shape:?}")));
        }
        self.output_shape = [shape[1] as usize, shape[2] as usize];
        self.output.clear();
        self.output.extend_from_slice(data);
        Ok(())
    }

    fn postprocess(&mut self, min_score: f32, out: &mut Vec<RawDetection>) {
        out.clear();
        let Some(lb) = self.letterbox else { return };
        let classes = self.labels.len();
        // Channel-major [4+C, N] is the usual layout; some exports transpose to [N, 4+C].
        let (channels, n, channel_major) = if self.output_shape[0] == 4 + classes {
            (self.output_shape[0], self.output_shape[1], true)
        } else {
            (self.output_shape[1], self.output_shape[0], false)
        };
        if channels != 4 + classes {
            return;
        }
        let at = |c: usize, i: usize| {
            if channel_major { self.output[c * n + i] } else { self.output[i * channels + c] }
        };
        for i in 0..n {
            let (mut best, mut best_score) = (0, f32::MIN);
            for c in 0..classes {
                let s = at(4 + c, i);
                if s > best_score {
                    (best, best_score) = (c, s);
                }
            }
            if best_score < min_score {
                continue;
            }
            let input_box = BBox::from_center(at(0, i), at(1, i), at(2, i), at(3, i));
            let bbox = lb.to_frame(input_box).clamp_to(self.frame_size.0, self.frame_size.1);
            out.push(RawDetection { bbox, score: best_score, class_id: best });
        }
        non_max_suppression(out, self.nms_iou);
    }
}

/// Parses Ultralytics' `names` metadata, a Python dict literal such as `{0: 'cat', 1: "rat's"}`, into
/// names by class id. `None` if it is not of that form or ids are not 0..n.
pub fn parse_names(text: &str) -> Option<Vec<String>> {
    let body = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut entries: Vec<(usize, String)> = Vec::new();
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let colon = rest.find(':')?;
        let id: usize = rest[..colon].trim().parse().ok()?;
        rest = rest[colon + 1..].trim_start();
        let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let close = rest[1..].find(quote)? + 1;
        entries.push((id, rest[1..close].to_string()));
        rest = rest[close + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    entries.sort_by_key(|(id, _)| *id);
    let ids_dense = entries.iter().enumerate().all(|(i, (id, _))| i == *id);
    (ids_dense && !entries.is_empty()).then(|| entries.into_iter().map(|(_, name)| name).collect())
}

/// Parses the `imgsz` metadata (`[640, 640]`, height then width).
fn parse_imgsz(text: &str) -> Option<(u32, u32)> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    let mut parts = inner.split(',').map(|p| p.trim().parse::<u32>().ok());
    let h = parts.next()??;
    let w = parts.next().flatten().unwrap_or(h);
    Some((h, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterbox_landscape_frame_pads_top_and_bottom() {
        let lb = Letterbox::new(640, 480, 320, 320);
        assert_eq!(lb.scale, 0.5);
        assert_eq!((lb.resized_w, lb.resized_h), (320, 240));
        assert_eq!((lb.pad_left, lb.pad_top), (0, 40));
    }

    #[test]
    fn letterbox_portrait_frame_pads_left_and_right() {
        let lb = Letterbox::new(300, 600, 640, 640);
        assert!((lb.scale - 640.0 / 600.0).abs() < 1e-6);
        assert_eq!((lb.resized_w, lb.resized_h), (320, 640));
        assert_eq!((lb.pad_left, lb.pad_top), (160, 0));
    }

    #[test]
    fn letterbox_round_trips_a_box() {
        let lb = Letterbox::new(1280, 720, 640, 640);
        let frame_box = BBox::new(100.0, 50.0, 400.0, 300.0);
        let input_box = BBox::new(
            frame_box.x1 * lb.scale + lb.pad_left as f32,
            frame_box.y1 * lb.scale + lb.pad_top as f32,
            frame_box.x2 * lb.scale + lb.pad_left as f32,
            frame_box.y2 * lb.scale + lb.pad_top as f32,
        );
        let back = lb.to_frame(input_box);
        for (a, b) in [(back.x1, 100.0), (back.y1, 50.0), (back.x2, 400.0), (back.y2, 300.0)] {
            assert!((a - b).abs() < 1e-3, "{back:?}");
        }
    }

    #[test]
    fn names_metadata_parses() {
        assert_eq!(parse_names("{0: 'cat', 1: 'rat'}").unwrap(), vec!["cat", "rat"]);
        assert_eq!(parse_names("{1: \"b, c\", 0: 'a'}").unwrap(), vec!["a", "b, c"]);
        assert_eq!(parse_names("{0: 'teddy bear'}").unwrap(), vec!["teddy bear"]);
        assert!(parse_names("{0: 'a', 2: 'c'}").is_none(), "ids must be dense");
        assert!(parse_names("cat,rat").is_none());
        assert!(parse_names("{}").is_none());
    }

    #[test]
    fn imgsz_metadata_parses() {
        assert_eq!(parse_imgsz("[640, 480]"), Some((640, 480)));
        assert_eq!(parse_imgsz("[320]"), Some((320, 320)));
        assert_eq!(parse_imgsz("640"), None);
    }
}
