//! Sinks that write what the pipeline found: `tracks.csv` and the annotated video. (The run summary is
//! written by the command that ran the pipeline, from its statistics.)

pub mod annotated_video;
pub mod tracks_csv;

pub use annotated_video::AnnotatedVideo;
pub use tracks_csv::TracksCsv;
