//! `behaviour.csv`: one row per analysed frame, `time_s,frame` and a 0/1 column per behaviour of the
//! animals (`cat_approach ... rat_hiding, rat_unseen, cat_unseen`), what ezTrack and SimBA users load
//! into their own analyses. A behaviour is 1 in the frames from its episode's onset to its end, both
//! included: the episodes of `events.jsonl`, frame by frame. Written at the end of the run, since an
//! onset is back-dated when the episode is confirmed; until then each frame's index and time wait in a
//! file beside it, not in memory, so a run of any length needs the same memory.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::behaviour::{Change, Episode};
use crate::error::{Error, Result};
use crate::kinds::{Behaviour, Role};
use crate::pipeline::{AnalysedFrame, RunEnd, Sink};

/// The behaviours with a column, in column order: the animals', not the machine's faults.
pub fn columns() -> impl Iterator<Item = Behaviour> {
    Behaviour::ALL.into_iter().filter(|b| b.animal() != Role::Other)
}

/// A behaviour's column name: the animal, then the behaviour (`rat_unseen` already says both).
pub fn column_name(behaviour: Behaviour) -> String {
    match behaviour {
        Behaviour::RatUnseen | Behaviour::CatUnseen => behaviour.name().to_string(),
        b => format!("{}_{}", b.animal(), b.name()),
    }
}

/// The header line.
pub fn header() -> String {
    std::iter::once("time_s,frame".to_string()).chain(columns().map(column_name)).collect::<Vec<_>>().join(",")
}

/// Writes the table for frames `(index, time_s)` and the run's ended episodes.
pub fn write(path: &Path, frames: impl IntoIterator<Item = (u64, f64)>, episodes: &[Episode]) -> Result<()> {
    let io = |e| Error::io(path, e);
    let mut out = BufWriter::new(File::create(path).map_err(io)?);
    writeln!(out, "{}", header()).map_err(io)?;
    let per_column: Vec<Vec<&Episode>> =
        columns().map(|b| episodes.iter().filter(|e| e.behaviour == b).collect()).collect();
    let mut line = String::new();
    for (index, t) in frames {
        line.clear();
        // The shortest text that reads back as the same number: a frame at an onset stays inside it.
        line += &format!("{t},{index}");
        for mine in &per_column {
            let running = mine.iter().any(|e| t >= e.onset_s && t <= e.end_s.unwrap_or(f64::MAX));
            line += if running { ",1" } else { ",0" };
        }
        writeln!(out, "{line}").map_err(io)?;
    }
    out.flush().map_err(io)
}

/// The sink: gathers each frame's index and time (in a file beside the table) and the episodes as they
/// end, and writes the table when the run ends (also a run cut short).
pub struct BehaviourCsv {
    path: PathBuf,
    /// `.behaviour.csv.frames` beside the table: each frame's index and time as two little-endian 8-byte
    /// numbers, until the table is written.
    pending_path: PathBuf,
    /// That file, opened at the first frame.
    pending: Option<BufWriter<File>>,
    ended: Vec<Episode>,
}

impl BehaviourCsv {
    pub fn new(path: &Path) -> BehaviourCsv {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let pending_path = path.with_file_name(format!(".{name}.frames"));
        BehaviourCsv { path: path.to_path_buf(), pending_path, pending: None, ended: Vec::new() }
    }

    fn gather(&mut self, changes: &[Change]) {
        self.ended.extend(changes.iter().filter_map(|c| match c {
            Change::Ended(e) => Some(e.clone()),
            Change::Started(_) => None,
        }));
    }

    /// Writes the table from the frames gathered so far, read back in order, and removes their file.
    fn write_gathered(&mut self) -> Result<()> {
        let Some(pending) = self.pending.take() else { return write(&self.path, [], &self.ended) };
        let path = &self.pending_path;
        let io = |e| Error::io(path, e);
        pending.into_inner().map_err(|e| io(e.into_error()))?;
        let mut reader = BufReader::new(File::open(path).map_err(io)?);
        let frames = std::iter::from_fn(|| {
            let mut record = [0u8; 16];
            reader.read_exact(&mut record).ok()?;
            let (index, time_s) = record.split_at(8);
            Some((u64::from_le_bytes(index.try_into().ok()?), f64::from_le_bytes(time_s.try_into().ok()?)))
        });
        write(&self.path, frames, &self.ended)?;
        let _ = std::fs::remove_file(path);
        Ok(())
    }
}

impl Sink for BehaviourCsv {
    fn frame(&mut self, a: &AnalysedFrame) -> Result<bool> {
        let path = &self.pending_path;
        let io = |e| Error::io(path, e);
        let pending = match &mut self.pending {
            Some(pending) => pending,
            None => self.pending.insert(BufWriter::new(File::create(path).map_err(io)?)),
        };
        pending.write_all(&a.frame.index.to_le_bytes()).map_err(io)?;
        pending.write_all(&a.frame.time_s.to_le_bytes()).map_err(io)?;
        self.gather(&a.changes);
        Ok(true)
    }

    fn finish(&mut self, end: &RunEnd) -> Result<()> {
        self.gather(&end.closing);
        if let Some((fault, _)) = &end.fault {
            self.gather(std::slice::from_ref(fault));
        }
        self.write_gathered()
    }
}
