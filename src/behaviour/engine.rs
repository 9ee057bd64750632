//! The behaviour engine as a pipeline sink: reads each analysed frame's tracks, runs the behaviour rules
//! and appends every confirmation and end to `events.jsonl` the moment it happens (flushed per event, so
//! a crash loses nothing already seen). Built so far: the cat's fast approach.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Episode;
use super::approach::{ApproachDetector, ApproachEvent};
use crate::config::BehaviourConfig;
use crate::detect::Role;
use crate::error::{Error, Result};
use crate::pipeline::{AnalysedFrame, Sink};
use crate::track::TrackState;

/// `events.jsonl`: one JSON object per line, appended and flushed as things happen.
pub struct EventLog {
    path: PathBuf,
    out: BufWriter<File>,
}

#[derive(Serialize)]
struct EventLine<'a> {
    event: &'a str,
    #[serde(flatten)]
    episode: &'a Episode,
}

impl EventLog {
    pub fn append_to(path: &Path) -> Result<EventLog> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::io(path, e))?;
        Ok(EventLog { path: path.to_path_buf(), out: BufWriter::new(file) })
    }

    /// Writes `{"event": EVENT, ...episode}` and flushes it to disk.
    pub fn write(&mut self, event: &str, episode: &Episode) -> Result<()> {
        let line = serde_json::to_string(&EventLine { event, episode }).expect("episodes serialise");
        writeln!(self.out, "{line}").and_then(|_| self.out.flush()).map_err(|e| Error::io(&self.path, e))
    }
}

/// Smoothing of the cat's body length from its observed boxes (a running mean that follows slowly).
const LENGTH_SMOOTHING: f64 = 0.05;

pub struct BehaviourEngine {
    approach: ApproachDetector,
    cat_length: Option<f64>,
    log: EventLog,
    /// Every episode confirmed so far, ended or not.
    pub episodes: Vec<Episode>,
}

impl BehaviourEngine {
    pub fn new(config: &BehaviourConfig, events: &Path) -> Result<BehaviourEngine> {
        Ok(BehaviourEngine {
            approach: ApproachDetector::new(&config.approach),
            cat_length: None,
            log: EventLog::append_to(events)?,
            episodes: Vec::new(),
        })
    }

    fn record(&mut self, event: &str, episode: Episode) -> Result<()> {
        self.log.write(event, &episode)?;
        match self.episodes.iter_mut().rev().find(|e| e.behaviour == episode.behaviour && e.onset_s == episode.onset_s)
        {
            Some(known) => *known = episode,
            None => self.episodes.push(episode),
        }
        Ok(())
    }
}

impl Sink for BehaviourEngine {
    fn frame(&mut self, a: &AnalysedFrame) -> Result<()> {
        let cat = a
            .tracks
            .iter()
            .find(|t| t.role == Role::Cat && matches!(t.state, TrackState::Tracked | TrackState::Coasting));
        // The rat as last seen, even when lost: where it was is what the cat is heading for.
        let rat = a.tracks.iter().find(|t| t.role == Role::Rat && t.state != TrackState::Tentative);
        if let Some(c) = cat.filter(|c| c.is_observed()) {
            let long_side = c.last_seen_box.width().max(c.last_seen_box.height()) as f64;
            let length = self.cat_length.get_or_insert(long_side);
            *length += LENGTH_SMOOTHING * (long_side - *length);
        }
        let event = self.approach.update(
            a.frame.time_s,
            cat.map(|t| &t.bbox),
            rat.map(|t| &t.bbox),
            self.cat_length.unwrap_or(0.0),
        );
        match event {
            Some(ApproachEvent::Started(e)) => self.record("confirmed", e),
            Some(ApproachEvent::Ended(e)) => self.record("ended", e),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}
