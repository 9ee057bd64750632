//! A run's output folder: the one place that names its files and writes the ones a run writes once at
//! its end (`summary.json`, `timeline.png` / `.svg`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::output::EventLog;
use crate::plot::timeline::{self, Timeline};
use crate::session::controller::SessionConfig;

pub struct RunDir {
    dir: PathBuf,
    /// Every file written into it so far, for the summary's `outputs`.
    outputs: Vec<String>,
}

impl RunDir {
    /// Creates the folder (and its parents) if needed.
    pub fn create(dir: &Path) -> Result<RunDir> {
        create_dir(dir)?;
        Ok(RunDir { dir: dir.to_path_buf(), outputs: Vec::new() })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn events_path(&self) -> PathBuf {
        self.dir.join("events.jsonl")
    }

    pub fn tracks_path(&self) -> PathBuf {
        self.dir.join("tracks.csv")
    }

    pub fn behaviour_path(&self) -> PathBuf {
        self.dir.join("behaviour.csv")
    }

    pub fn annotated_video_path(&self) -> PathBuf {
        self.dir.join("annotated.mp4")
    }

    pub fn summary_path(&self) -> PathBuf {
        self.dir.join("summary.json")
    }

    /// Names a file as one of the run's outputs.
    pub fn written(&mut self, path: &Path) -> PathBuf {
        self.outputs.push(path.display().to_string());
        path.to_path_buf()
    }

    pub fn outputs(&self) -> &[String] {
        &self.outputs
    }

    /// A fresh `events.jsonl`: a re-run starts a new log rather than appending to an old one.
    pub fn fresh_event_log(&mut self, session: &SessionConfig) -> Result<EventLog> {
        let path = self.events_path();
        let _ = std::fs::remove_file(&path);
        let log = EventLog::append_to(&path, session)?;
        self.written(&path);
        Ok(log)
    }

    /// Draws the run's timeline; a picture that cannot be drawn is returned as a problem, never as an
    /// error: it is a view of what is already on disk, and losing it must not lose the run.
    pub fn draw_timeline(&mut self, picture: &Timeline) -> Option<String> {
        match timeline::write(picture, &self.dir.join("timeline")) {
            Ok(paths) => {
                self.outputs.extend(paths.iter().map(|p| p.display().to_string()));
                None
            }
            Err(e) => Some(format!("timeline.png not drawn: {e}")),
        }
    }

    /// Writes `summary.json`, versioned.
    pub fn write_summary(&self, summary: &impl Serialize) -> Result<()> {
        let path = self.summary_path();
        let json = serde_json::to_string_pretty(&crate::output::versioned(summary)).expect("summaries serialise");
        std::fs::write(&path, json + "\n").map_err(|e| Error::io(&path, e))
    }
}

/// Creates an output folder, with a message that says what to do when it cannot be.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::output(dir, format!("cannot create the output directory: {e}; pass another --out")))
}
