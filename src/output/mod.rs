//! The sinks that write what the pipeline found: `events.jsonl` ([`EventLog`]), `tracks.csv`
//! ([`TracksCsv`]), `annotated.mp4` ([`AnnotatedVideo`]) and the owner's alarm ([`AlarmSink`]); and the
//! drawing they share ([`annotate`]). (The live view is a sink of its own, in `view`; a run's summary
//! and pictures are written by the run that owns the folder, in `runs`.)

pub mod alarm;
pub mod annotate;
pub mod annotated_video;
pub mod event_log;
pub mod tracks_csv;

pub use alarm::{Alarm, AlarmSink};
pub use annotated_video::AnnotatedVideo;
pub use event_log::{EventLines, EventLog};
pub use tracks_csv::TracksCsv;
