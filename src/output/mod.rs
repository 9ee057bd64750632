//! Sinks and files that record what the pipeline found: `tracks.csv`, the annotated video, the behaviour
//! log (`events.jsonl`). (The run summary is written by the command that ran the pipeline, from its
//! statistics.)

pub mod annotated_video;
pub mod behaviour_log;
pub mod event_log;
pub mod tracks_csv;

pub use annotated_video::AnnotatedVideo;
pub use behaviour_log::BehaviourLog;
pub use event_log::EventLog;
pub use tracks_csv::TracksCsv;
