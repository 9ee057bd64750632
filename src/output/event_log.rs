//! `events.jsonl`: one JSON object per line, appended and flushed the moment something happens, so a
//! crash or a kill loses nothing already seen. Every line has `event` (what happened) and `time_s`
//! (stream time, seconds) or the episode's times; the README lists the lines.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::behaviour::Change;
use crate::error::{Error, Result};
use crate::session::controller::Severity;
use crate::view::ViewHandle;

pub struct EventLog {
    path: PathBuf,
    out: BufWriter<File>,
    /// The live view, shown every line as it is written.
    pub view: Option<ViewHandle>,
}

impl EventLog {
    pub fn append_to(path: &Path) -> Result<EventLog> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::io(path, e))?;
        Ok(EventLog { path: path.to_path_buf(), out: BufWriter::new(file), view: None })
    }

    /// Writes `{"event": EVENT, ...fields of body}` as one line and flushes it to disk.
    pub fn write(&mut self, event: &str, body: &impl Serialize) -> Result<()> {
        let mut value = serde_json::to_value(body).expect("event bodies serialise");
        match value.as_object_mut() {
            Some(fields) => {
                fields.insert("event".into(), event.into());
            }
            None => value = serde_json::json!({ "event": event, "value": value }),
        }
        writeln!(self.out, "{value}").and_then(|_| self.out.flush()).map_err(|e| Error::io(&self.path, e))?;
        if let Some(view) = &self.view {
            view.event(value);
        }
        Ok(())
    }

    /// An episode confirmed (`confirmed`) or ended (`ended`), with what it means for a session.
    pub fn write_change(&mut self, change: &Change, severity: Severity) -> Result<()> {
        #[derive(Serialize)]
        struct Line<'a> {
            #[serde(flatten)]
            episode: &'a crate::behaviour::Episode,
            severity: Severity,
        }
        let event = match change {
            Change::Started(_) => "confirmed",
            Change::Ended(_) => "ended",
        };
        self.write(event, &Line { episode: change.episode(), severity })
    }
}
