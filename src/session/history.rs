//! The session history: one JSON line per session in `history.jsonl` in the user's data directory
//! (`$CHAPERONE_DATA_DIR`, else e.g. `~/.local/share/chaperone`), and the protocol's advice for the next
//! session's length: longer only after sessions that ended without a stop.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::controller::StopReason;
use crate::behaviour::Episode;
use crate::error::{Error, Result};

/// The first session's length when there is no history, seconds.
pub const FIRST_SESSION_S: f64 = 120.0;
const SHORTEST_S: f64 = 60.0;
const LONGEST_S: f64 = 3600.0;
/// After a session without a stop, the next may be this much longer.
const GROWTH: f64 = 1.5;

/// Where the history and session folders live.
pub fn data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CHAPERONE_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir().map(|d| d.join("chaperone")).ok_or_else(|| {
        Error::Config("cannot tell this user's data directory: set CHAPERONE_DATA_DIR to a writable directory".into())
    })
}

pub fn history_path() -> Result<PathBuf> {
    Ok(data_dir()?.join("history.jsonl"))
}

/// Where a session's files go when `--out` is not given: a folder per session under the data directory,
/// named after its start.
pub fn default_session_dir(started: &str) -> Result<PathBuf> {
    Ok(data_dir()?.join("sessions").join(started.replace(':', "-")))
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Ran its planned length without a stop.
    Completed,
    /// A replayed recording ended before the planned length, without a stop.
    SourceEnded,
    /// The owner ended it early (Ctrl-C), without a stop.
    Interrupted,
    /// Stopped by an animal's behaviour.
    Stopped,
    /// Stopped because the program could not see or keep up (camera lost, an animal unseen, overload).
    Fault,
}

impl Outcome {
    /// The name used in `history.jsonl` and `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::SourceEnded => "source_ended",
            Outcome::Interrupted => "interrupted",
            Outcome::Stopped => "stopped",
            Outcome::Fault => "fault",
        }
    }
}

/// One line of `history.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Wall-clock start, RFC 3339 (UTC).
    pub started: String,
    pub ended: String,
    pub source: String,
    pub planned_s: f64,
    /// How long it ran, seconds of stream time.
    pub length_s: f64,
    pub outcome: Outcome,
    pub reason: Option<StopReason>,
    pub episodes: Vec<Episode>,
    /// Seconds the cat spent calm (rewardable).
    pub calm_s: f64,
    /// Where its events.jsonl and summary.json are.
    pub out_dir: String,
}

pub fn append(path: &Path, entry: &HistoryEntry) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::io(path, e))?;
    let line = serde_json::to_string(entry).expect("history entries serialise");
    writeln!(file, "{line}").and_then(|_| file.flush()).map_err(|e| Error::io(path, e))
}

/// Reads the history; a missing file is an empty history, and a line that does not parse is reported
/// by number (a hand-edited file must not silently lose sessions).
pub fn read(path: &Path) -> Result<Vec<HistoryEntry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                Error::format(path, format!("line {} is not a session record ({e}); fix or delete that line", i + 1))
            })
        })
        .collect()
}

/// The next session's length in seconds, and why.
pub fn recommend(history: &[HistoryEntry]) -> (f64, String) {
    let Some(last) = history.last() else {
        return (FIRST_SESSION_S, "no sessions yet: start short".into());
    };
    let round = |s: f64| ((s / 10.0).round() * 10.0).clamp(SHORTEST_S, LONGEST_S);
    match last.outcome {
        Outcome::Completed => (
            round(last.planned_s * GROWTH),
            format!("the last session ran its full {} without a stop: lengthen it", minutes(last.planned_s)),
        ),
        Outcome::SourceEnded => {
            (round(last.planned_s), "the last session's source ended early: repeat the same length".into())
        }
        Outcome::Interrupted => {
            (round(last.planned_s), "the last session was ended early: repeat the same length".into())
        }
        Outcome::Stopped => {
            let why = last.reason.as_ref().map_or("a stop".to_string(), |r| r.words.clone());
            (
                round(0.5 * last.length_s.min(last.planned_s)),
                format!("the last session stopped after {}: {why}; go shorter", minutes(last.length_s)),
            )
        }
        Outcome::Fault => {
            let why = last.reason.as_ref().map_or("a fault".to_string(), |r| r.words.clone());
            (
                round(last.planned_s),
                format!("the last session stopped on a fault ({why}): fix it and repeat the same length"),
            )
        }
    }
}

/// Seconds as `m:ss`.
pub fn minutes(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(outcome: Outcome, planned_s: f64, length_s: f64) -> HistoryEntry {
        HistoryEntry {
            started: String::new(),
            ended: String::new(),
            source: String::new(),
            planned_s,
            length_s,
            outcome,
            reason: None,
            episodes: Vec::new(),
            calm_s: 0.0,
            out_dir: String::new(),
        }
    }

    #[test]
    fn sessions_grow_only_after_a_session_without_a_stop() {
        assert_eq!(recommend(&[]).0, FIRST_SESSION_S);
        assert_eq!(recommend(&[entry(Outcome::Completed, 120.0, 120.0)]).0, 180.0);
        assert_eq!(recommend(&[entry(Outcome::Stopped, 300.0, 200.0)]).0, 100.0);
        assert_eq!(recommend(&[entry(Outcome::Stopped, 300.0, 20.0)]).0, SHORTEST_S);
        assert_eq!(recommend(&[entry(Outcome::Fault, 300.0, 20.0)]).0, 300.0);
    }
}
