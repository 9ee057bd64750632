//! A directory of still images (PNG, JPEG, BMP), read in name order at a stated frame rate.

use std::path::{Path, PathBuf};

use super::{Frame, FrameSource, SourceInfo, read_image};
use crate::error::{Error, Result};

const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "bmp"];

/// Whether `path` names a still image (PNG, JPEG, BMP), by its extension.
pub fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

pub struct ImageDir {
    files: Vec<PathBuf>,
    next: usize,
    info: SourceInfo,
    fps: f64,
    problems: Vec<String>,
}

impl ImageDir {
    /// Lists the images in `dir`; frame `i` is at `i / fps` seconds.
    pub fn open(dir: &Path, fps: f64) -> Result<ImageDir> {
        if !(fps > 0.0 && fps.is_finite()) {
            return Err(Error::Config(format!("--fps must be a positive number of frames per second, got {fps}")));
        }
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        let mut files: Vec<PathBuf> =
            entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| is_image(p)).collect();
        files.sort();
        let first =
            files.first().ok_or_else(|| Error::source(dir, "the directory holds no PNG, JPEG or BMP images"))?;
        let first_image = read_image(first)?;
        let info = SourceInfo {
            name: dir.display().to_string(),
            width: first_image.width(),
            height: first_image.height(),
            fps: Some(fps),
            duration_s: Some(files.len() as f64 / fps),
            expected_frames: Some(files.len() as u64),
            live: false,
        };
        Ok(ImageDir { files, next: 0, info, fps, problems: Vec::new() })
    }
}

impl FrameSource for ImageDir {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        while self.next < self.files.len() {
            let index = self.next;
            self.next += 1;
            // A bad or differently sized image is skipped and reported; the rest of the sequence goes on.
            match read_image(&self.files[index]) {
                Ok(image) if image.dimensions() == (self.info.width, self.info.height) => {
                    return Ok(Some(Frame {
                        index: index as u64,
                        time_s: index as f64 / self.fps,
                        image,
                        captured_at: std::time::Instant::now(),
                        reconnected_after_s: None,
                    }));
                }
                Ok(image) => self.problems.push(format!(
                    "{}: skipped, {}x{} where the sequence is {}x{}",
                    self.files[index].display(),
                    image.width(),
                    image.height(),
                    self.info.width,
                    self.info.height
                )),
                Err(e) => self.problems.push(format!("skipped: {e}")),
            }
        }
        Ok(None)
    }

    fn problems(&self) -> Vec<String> {
        self.problems.clone()
    }
}
