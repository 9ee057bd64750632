//! Model manifests (`models/NAME.toml`): where a model comes from, how it is produced, its licence, its
//! input and output format, its class names and which classes are animals. The weights themselves are
//! produced by set-up beside the manifest (`models/NAME.onnx`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::DetectorConfig;
use crate::error::{Error, Result};

/// The model families this program can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelFamily {
    /// TF Object Detection API SSD export: uint8 NHWC input, normalised [y1,x1,y2,x2] boxes, NMS inside.
    TfSsd,
    /// YOLOv8/YOLO11 export: float NCHW letterboxed input, raw [1, 4+C, N] output, NMS left to us.
    Yolo,
    /// An image classifier (the crop classifier).
    Classifier,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassGroups {
    pub cat: Vec<String>,
    pub rat: Vec<String>,
    pub animal: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelManifest {
    pub name: String,
    pub family: ModelFamily,
    pub file: String,
    pub source: String,
    pub produced_by: String,
    pub licence: String,
    pub input: String,
    pub output: String,
    /// Class names by class id, for models that do not carry them.
    #[serde(default)]
    pub labels: Vec<String>,
    /// A file of class names, one per line, beside the manifest (classifiers).
    #[serde(default)]
    pub labels_file: Option<String>,
    #[serde(default)]
    pub classes: ClassGroups,
    /// Classifier evidence groups: inclusive ranges of class indices per group name.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<[usize; 2]>>,
}

/// A model file located on disk, with its manifest when it has one.
#[derive(Debug, Clone)]
pub struct ModelLocation {
    pub onnx: PathBuf,
    pub manifest: Option<ModelManifest>,
}

impl ModelLocation {
    /// Labels listed in the manifest's `labels_file`, if any.
    pub fn read_labels_file(&self) -> Result<Option<Vec<String>>> {
        let Some(file) = self.manifest.as_ref().and_then(|m| m.labels_file.as_ref()) else {
            return Ok(None);
        };
        let path = self.onnx.with_file_name(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::model(&path, format!("cannot read the labels file ({e}): run `scripts/setup.sh`")))?;
        Ok(Some(text.lines().map(|l| l.split(',').next().unwrap_or(l).trim().to_string()).collect()))
    }
}

/// Directories searched for model names, in order.
pub fn model_dirs(config: &DetectorConfig) -> Vec<PathBuf> {
    if let Some(dir) = &config.models_dir {
        return vec![dir.clone()];
    }
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("CHAPERONE_MODELS_DIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(PathBuf::from("models"));
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
    dirs
}

/// Finds a model given as a name (`ssd_mobilenet_v2_coco`) or a path (`my/model.onnx`), and reads the
/// manifest beside it (`NAME.toml`) when there is one.
pub fn locate(model: &str, config: &DetectorConfig) -> Result<ModelLocation> {
    let as_path = Path::new(model);
    let onnx = if model.ends_with(".onnx") || model.contains('/') {
        as_path.to_path_buf()
    } else {
        let dirs = model_dirs(config);
        let found = dirs.iter().map(|d| d.join(format!("{model}.onnx"))).find(|p| p.is_file());
        match found {
            Some(p) => p,
            None => {
                let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
                return Err(Error::model(
                    format!("{model}.onnx"),
                    format!(
                        "not found in {}: run `scripts/setup.sh` to produce the default models, or pass --model PATH",
                        looked.join(", ")
                    ),
                ));
            }
        }
    };
    if !onnx.is_file() {
        return Err(Error::model(&onnx, "file not found: check the path, or run `scripts/setup.sh`"));
    }
    let manifest_path = onnx.with_extension("toml");
    let manifest = if manifest_path.is_file() {
        let text = std::fs::read_to_string(&manifest_path).map_err(|e| Error::io(&manifest_path, e))?;
        Some(
            toml::from_str::<ModelManifest>(&text)
                .map_err(|e| Error::model(&manifest_path, format!("bad manifest: {}", e.message())))?,
        )
    } else {
        None
    };
    Ok(ModelLocation { onnx, manifest })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manifests in `models/` are part of the product: they must parse.
    #[test]
    fn bundled_manifests_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let m: ModelManifest = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(Path::new(&m.file).with_extension("toml"), path.file_name().map(PathBuf::from).unwrap());
                seen += 1;
            }
        }
        assert!(seen >= 2);
    }

    #[test]
    fn coco_labels_sit_at_their_ids() {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ssd_mobilenet_v2_coco.toml"))
                .unwrap();
        let m: ModelManifest = toml::from_str(&text).unwrap();
        assert_eq!(m.labels.len(), 91);
        assert_eq!(m.labels[1], "person");
        assert_eq!(m.labels[16], "bird");
        assert_eq!(m.labels[17], "cat");
        assert_eq!(m.labels[18], "dog");
        assert_eq!(m.labels[74], "mouse");
        assert_eq!(m.labels[88], "teddy bear");
        assert_eq!(m.labels[90], "toothbrush");
    }
}
