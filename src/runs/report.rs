//! A table of many runs: every `summary.json` under the folders given (from `analyze`, `analyze-tracks`
//! or `live`), one row per recording with, per behaviour, how many episodes, their total seconds and
//! the first onset; the share of frames each animal was seen in; and the run's problems. What a lab
//! reads after a batch, and what merges the shards of a cluster job (`analyze --shard K/N`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::kinds::Behaviour;
use crate::output::SCHEMA_VERSION;

/// One behaviour in one recording.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BehaviourTotals {
    pub count: usize,
    pub total_s: f64,
    pub first_onset_s: Option<f64>,
}

/// One run's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    /// The run's folder, relative to the folder given.
    pub run: String,
    /// What was analysed (a video, a tracks file, a camera).
    pub recording: String,
    pub complete: bool,
    pub frames: u64,
    pub length_s: f64,
    pub rat_seen_share: Option<f64>,
    pub cat_seen_share: Option<f64>,
    /// Per behaviour (every behaviour, in the ethogram's order; zero when none happened).
    pub behaviours: BTreeMap<Behaviour, BehaviourTotals>,
    pub problems: Vec<String>,
}

/// The `summary.json` files under `dirs` (a run's folder, or a folder of them, to three levels down),
/// sorted by path, read into rows.
pub fn collect(dirs: &[PathBuf]) -> Result<Vec<RunRow>> {
    let mut rows = Vec::new();
    for dir in dirs {
        if !dir.is_dir() {
            return Err(Error::Config(format!("{}: no such folder of runs", dir.display())));
        }
        let mut found = Vec::new();
        find_summaries(dir, 0, &mut found);
        found.sort();
        for path in found {
            rows.push(read_row(&path, dir)?);
        }
    }
    if rows.is_empty() {
        let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(Error::Config(format!(
            "no summary.json under {}: give the --out folders of analyze, analyze-tracks or live",
            names.join(", ")
        )));
    }
    Ok(rows)
}

/// The rows of the runs in `run_dirs` (those that wrote a summary), named relative to `root`.
pub fn rows_of(run_dirs: &[PathBuf], root: &Path) -> Result<Vec<RunRow>> {
    run_dirs.iter().map(|d| d.join("summary.json")).filter(|p| p.is_file()).map(|p| read_row(&p, root)).collect()
}

fn find_summaries(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    let summary = dir.join("summary.json");
    if summary.is_file() {
        found.push(summary);
    }
    if depth >= 3 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            find_summaries(&entry.path(), depth + 1, found);
        }
    }
}

fn read_row(path: &Path, root: &Path) -> Result<RunRow> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::format(path, format!("not JSON ({e}): a run cut off while writing it? Run it again")))?;
    if let Some(v) = json["schema_version"].as_u64()
        && v > SCHEMA_VERSION as u64
    {
        return Err(Error::format(
            path,
            format!(
                "written in output format {v}, newer than this chaperone's {SCHEMA_VERSION}: use a newer chaperone"
            ),
        ));
    }
    let episodes = json["episodes"]
        .as_array()
        .ok_or_else(|| Error::format(path, "no `episodes` list: not a summary.json of chaperone's"))?;
    let mut behaviours: BTreeMap<Behaviour, BehaviourTotals> =
        Behaviour::ALL.into_iter().map(|b| (b, BehaviourTotals::default())).collect();
    let end_of_run = json["duration_s"].as_f64().or(json["length_s"].as_f64());
    for e in episodes {
        let Some(behaviour) = e["behaviour"].as_str().and_then(Behaviour::from_name) else {
            return Err(Error::format(path, format!("an episode of an unknown behaviour: {e}")));
        };
        let onset = e["onset_s"].as_f64().unwrap_or(0.0);
        let end = e["end_s"].as_f64().or(end_of_run).unwrap_or(onset);
        let totals = behaviours.get_mut(&behaviour).expect("every behaviour has its totals");
        totals.count += 1;
        totals.total_s += (end - onset).max(0.0);
        totals.first_onset_s = Some(totals.first_onset_s.map_or(onset, |f| f.min(onset)));
    }
    let share = |role: &str| json["animals"][role]["fraction_of_frames"].as_f64();
    let run_dir = path.parent().unwrap_or(path);
    let run = run_dir.strip_prefix(root).unwrap_or(run_dir).display().to_string();
    let recording = ["input", "source"]
        .iter()
        .find_map(|k| json[k].as_str().map(str::to_string).or_else(|| json[k]["name"].as_str().map(str::to_string)))
        .unwrap_or_default();
    let frames = json["frames"].as_u64().unwrap_or(0);
    let fps = json["fps"].as_f64().filter(|f| *f > 0.0);
    let length_s = end_of_run.or_else(|| fps.map(|fps| frames as f64 / fps)).unwrap_or(0.0);
    let problems = json["problems"]
        .as_array()
        .map_or_else(Vec::new, |p| p.iter().filter_map(|v| v.as_str().map(str::to_string)).collect());
    Ok(RunRow {
        run: if run.is_empty() { ".".into() } else { run },
        recording,
        complete: json["complete"].as_bool().unwrap_or(true),
        frames,
        length_s,
        rat_seen_share: share("rat"),
        cat_seen_share: share("cat"),
        behaviours,
        problems,
    })
}

/// The rows as CSV: one line per run, three columns per behaviour.
pub fn to_csv(rows: &[RunRow]) -> String {
    let mut header: Vec<String> =
        ["run", "recording", "complete", "frames", "length_s", "rat_seen_share", "cat_seen_share"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    for b in Behaviour::ALL {
        header.extend(["count", "total_s", "first_onset_s"].map(|k| format!("{}_{k}", b.name())));
    }
    header.push("problems".into());
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&header).expect("writing to memory");
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
    for r in rows {
        let mut cells = vec![
            r.run.clone(),
            r.recording.clone(),
            r.complete.to_string(),
            r.frames.to_string(),
            format!("{:.3}", r.length_s),
            opt(r.rat_seen_share),
            opt(r.cat_seen_share),
        ];
        for b in Behaviour::ALL {
            let t = &r.behaviours[&b];
            cells.extend([t.count.to_string(), format!("{:.3}", t.total_s), opt(t.first_onset_s)]);
        }
        cells.push(r.problems.join("; "));
        writer.write_record(&cells).expect("writing to memory");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory")).expect("CSV of text is text")
}

/// The rows as a versioned JSON document.
pub fn to_json(rows: &[RunRow]) -> serde_json::Value {
    crate::output::versioned(&serde_json::json!({ "runs": rows }))
}
