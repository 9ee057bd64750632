//! `tracks.csv`: one row per animal per frame in which it was seen, a stable format:
//! `time_s,frame,track_id,role,x1,y1,x2,y2,score`. A frame without a row for an animal is a frame in which
//! it was not seen (coasting and lost tracks are not written: their boxes are guesses).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::pipeline::{AnalysedFrame, RunEnd, Sink};

pub const HEADER: &str = "time_s,frame,track_id,role,x1,y1,x2,y2,score";

pub struct TracksCsv {
    path: PathBuf,
    out: BufWriter<File>,
}

impl TracksCsv {
    pub fn create(path: &Path) -> Result<TracksCsv> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let mut out = BufWriter::new(file);
        writeln!(out, "{HEADER}").map_err(|e| Error::io(path, e))?;
        Ok(TracksCsv { path: path.to_path_buf(), out })
    }
}

impl Sink for TracksCsv {
    fn frame(&mut self, a: &AnalysedFrame) -> Result<bool> {
        for t in a.tracks.iter().filter(|t| t.is_observed()) {
            let b = &t.last_seen_box;
            writeln!(
                self.out,
                "{:.4},{},{},{},{:.1},{:.1},{:.1},{:.1},{:.3}",
                a.frame.time_s, a.frame.index, t.id, t.role, b.x1, b.y1, b.x2, b.y2, t.score
            )
            .map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(true)
    }

    fn finish(&mut self, _end: &RunEnd) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }
}
