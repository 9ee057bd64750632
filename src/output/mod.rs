//! The sinks that write what the pipeline found: `events.jsonl` ([`EventLog`]), `tracks.csv`
//! ([`TracksCsv`]), `behaviour.csv` ([`BehaviourCsv`]), `annotated.mp4` ([`AnnotatedVideo`]) and the owner's alarm ([`AlarmSink`]); and the
//! drawing they share ([`annotate`]). (The live view is a sink of its own, in `view`; a run's summary
//! and pictures are written by the run that owns the folder, in `runs`.)

pub mod alarm;
pub mod annotate;
pub mod annotated_video;
pub mod behaviour_csv;
pub mod clips;
pub mod event_log;
pub mod notify;
pub mod tracks_csv;

pub use alarm::{Alarm, AlarmSink, Hooks};
pub use annotated_video::AnnotatedVideo;
pub use behaviour_csv::BehaviourCsv;
pub use event_log::{EventLines, EventLog};
pub use tracks_csv::TracksCsv;

/// The version of the output formats (`summary.json`, `events.jsonl`, `tracks.csv`, `behaviour.csv`, the
/// `--json` reports): raised when a field changes meaning or goes; new fields may come without it.
pub const SCHEMA_VERSION: u32 = 1;

/// `value` (a JSON object) with `schema_version` and `chaperone_version` first: what every JSON
/// document this program writes carries, so a lab's scripts can tell which rules wrote it.
pub fn versioned(value: &impl serde::Serialize) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    out.insert("schema_version".into(), SCHEMA_VERSION.into());
    out.insert("chaperone_version".into(), env!("CARGO_PKG_VERSION").into());
    match serde_json::to_value(value).expect("outputs serialise") {
        serde_json::Value::Object(fields) => out.extend(fields),
        other => {
            out.insert("data".into(), other);
        }
    }
    serde_json::Value::Object(out)
}
