//! The behaviour engine as a pipeline sink: each analysed frame becomes a moment, the engine's changes
//! go to `events.jsonl` as they happen (with what they would mean in a session) and into the run's
//! list of episodes. `analyze` uses it as is; a live session drives it and acts on the changes.

use std::path::Path;

use crate::behaviour::engine::{BehaviourEngine, EpisodeBook, VideoObserver};
use crate::behaviour::{Change, Moment};
use crate::config::Config;
use crate::error::Result;
use crate::output::event_log::EventLog;
use crate::pipeline::{AnalysedFrame, Sink};
use crate::plot::timeline::{GapTrace, Timeline};
use crate::session::controller::{SessionConfig, Severity, StopReason, describe};

pub struct BehaviourLog {
    pub engine: BehaviourEngine,
    observer: VideoObserver,
    pub log: EventLog,
    pub book: EpisodeBook,
    session: SessionConfig,
    pub last_moment: Option<Moment>,
    /// The cat-rat gap over the run, for the timeline picture.
    pub gap: GapTrace,
}

impl BehaviourLog {
    /// Appends to `events` (the caller removes an old log when it wants a fresh one).
    pub fn new(config: &Config, events: &Path) -> Result<BehaviourLog> {
        Ok(BehaviourLog {
            engine: BehaviourEngine::new(&config.behaviour),
            observer: VideoObserver::new(&config.behaviour),
            log: EventLog::append_to(events)?,
            book: EpisodeBook::default(),
            session: config.session.clone(),
            last_moment: None,
            gap: GapTrace::default(),
        })
    }

    /// Runs the engine on one frame; logs and books its changes, and returns them.
    pub fn observe(&mut self, a: &AnalysedFrame) -> Result<Vec<Change>> {
        let Some(moment) = self.observer.observe(a) else {
            return Ok(Vec::new());
        };
        let changes = self.engine.step(&moment);
        // `CHAPERONE_LOG=chaperone::output::behaviour_log=debug` traces what the engine saw, frame by frame.
        tracing::debug!(
            t = moment.time_s,
            rat_observed = moment.rat.as_ref().map(|r| r.observed),
            rat_changed_px = moment.rat_changed_px,
            rat_changed_since_seen_px = moment.rat_changed_since_seen_px,
            cat_observed = moment.cat.as_ref().map(|c| c.observed),
            cat = self.engine.status.cat,
            rat = self.engine.status.rat,
            gap = self.engine.status.gap_body_lengths,
        );
        self.gap.push(moment.time_s, self.engine.status.gap_body_lengths);
        if let Some(view) = &self.log.view {
            let status = &self.engine.status;
            let warnings: Vec<String> = self
                .engine
                .active()
                .into_iter()
                .filter(|e| self.session.severity(&e.behaviour) != Severity::Cue)
                .map(|e| describe(e, moment.time_s))
                .collect();
            view.status(|s| {
                s.cat = status.cat;
                s.rat = status.rat;
                s.gap_body_lengths = status.gap_body_lengths;
                s.closing_speed = status.closing_speed;
                s.warnings = warnings;
            });
        }
        self.last_moment = Some(moment);
        for change in &changes {
            self.record(change)?;
        }
        Ok(changes)
    }

    /// Logs and books a change (also one that did not come from the engine: a fault).
    pub fn record(&mut self, change: &Change) -> Result<()> {
        self.book.record(change);
        self.log.write_change(change, self.session.severity(&change.episode().behaviour))
    }

    /// What the run looked like from `start_s` to `end_s`, for `timeline.png`.
    pub fn timeline(&self, title: String, start_s: f64, end_s: f64, stop: Option<StopReason>) -> Timeline {
        Timeline::new(title, (start_s, end_s), self.gap.clone(), self.book.episodes.clone(), &self.session, stop)
    }

    /// Ends what is still running at `end_s`.
    pub fn close(&mut self, end_s: f64) -> Result<()> {
        for change in self.engine.finish(end_s) {
            self.record(&change)?;
        }
        Ok(())
    }
}

impl Sink for BehaviourLog {
    fn frame(&mut self, a: &AnalysedFrame) -> Result<()> {
        self.observe(a).map(drop)
    }

    fn finish(&mut self) -> Result<()> {
        match self.last_moment.as_ref().map(|m| m.time_s) {
            Some(t) => self.close(t),
            None => Ok(()),
        }
    }
}
