//! BORIS exports: "aggregated events" (a bout a row) and "events" (START/STOP rows), in the column sets
//! of v7 (events after a header block of observation details) and v8 (one flat table).

use std::collections::BTreeMap;

use super::tables::{Table, number};
use super::{LabelRow, Parsed, Time};

/// The media column under its names across versions.
const MEDIA: &[&str] = &["Media file", "Media file name", "Media file path", "Source"];

/// The frame rate the first row states (BORIS writes one per media file).
fn fps(table: &Table) -> Option<f64> {
    let k = table.find(&["FPS"])?;
    table.rows.iter().find_map(|(_, r)| r.get(k)?.split(';').next()?.parse::<f64>().ok()).filter(|f| *f > 0.0)
}

fn cell(row: &[String], k: Option<usize>) -> String {
    k.and_then(|k| row.get(k)).cloned().unwrap_or_default()
}

pub(super) fn aggregated(text: &str) -> Result<Parsed, String> {
    let table = Table::parse(text, 0)?;
    let behaviour = table.column(&["Behavior"])?;
    let (start, stop) = (table.column(&["Start (s)"])?, table.column(&["Stop (s)"])?);
    let (subject, media) = (table.find(&["Subject"]), table.find(MEDIA));
    let mut rows = Vec::new();
    for (line, row) in &table.rows {
        let start_s = number(row.get(start), *line, "Start (s)")?;
        // A point event has no stop (`NA` in some versions): it is an instant.
        let stop_s = match row.get(stop).map(String::as_str) {
            Some("NA" | "") | None => start_s,
            _ => number(row.get(stop), *line, "Stop (s)")?,
        };
        if stop_s < start_s {
            return Err(format!("line {line}: `Stop (s)` {stop_s} is before `Start (s)` {start_s}"));
        }
        rows.push(LabelRow {
            behaviour: cell(row, Some(behaviour)),
            subject: cell(row, subject),
            media: media.map(|k| cell(row, Some(k))).filter(|m| !m.is_empty()),
            start: Time::Seconds(start_s),
            end: Time::Seconds(stop_s),
        });
    }
    Ok(Parsed { rows, fps: fps(&table), declared: Vec::new() })
}

pub(super) fn events(text: &str) -> Result<Parsed, String> {
    // v7 puts the observation's details first; the table starts at the row whose first cell is `Time`.
    let header_line = text
        .lines()
        .position(|l| {
            let first = super::tables::split_line(l).first().map(|c| c.trim()).unwrap_or("");
            first == "Time" || first == "Observation id" && l.contains("Behavior type")
        })
        .ok_or("expected a table whose header has `Time` and `Status` (or `Behavior type`) columns")?;
    let table = Table::parse(text, header_line)?;
    let time = table.column(&["Time"])?;
    let behaviour = table.column(&["Behavior"])?;
    // v7 calls it Status; v8 moved START/STOP into Behavior type.
    let status = table.column(&["Status", "Behavior type"])?;
    let (subject, media) = (table.find(&["Subject"]), table.find(MEDIA));
    let mut open: BTreeMap<(String, String, String), (u64, f64)> = BTreeMap::new();
    let mut rows = Vec::new();
    for (line, row) in &table.rows {
        let t = number(row.get(time), *line, "Time")?;
        let key = (cell(row, media), cell(row, subject), cell(row, Some(behaviour)));
        let make = |(media, subject, behaviour): &(String, String, String), start: f64, end: f64| LabelRow {
            behaviour: behaviour.clone(),
            subject: subject.clone(),
            media: Some(media.clone()).filter(|m| !m.is_empty()),
            start: Time::Seconds(start),
            end: Time::Seconds(end),
        };
        match cell(row, Some(status)).as_str() {
            "START" => {
                if let Some((first, _)) = open.insert(key.clone(), (*line, t)) {
                    return Err(format!("line {line}: `{}` starts again without the STOP of line {first}", key.2));
                }
            }
            "STOP" => {
                let (_, start) =
                    open.remove(&key).ok_or_else(|| format!("line {line}: STOP of `{}` without its START", key.2))?;
                if t < start {
                    return Err(format!("line {line}: `{}` stops at {t} s, before it started ({start} s)", key.2));
                }
                rows.push(make(&key, start, t));
            }
            "POINT" => rows.push(make(&key, t, t)),
            other => return Err(format!("line {line}: status must be START, STOP or POINT, got `{other}`")),
        }
    }
    if let Some(((_, _, behaviour), (line, _))) = open.into_iter().next() {
        return Err(format!("line {line}: `{behaviour}` starts and never stops (the export is cut short?)"));
    }
    rows.sort_by(|a, b| match (a.start, b.start) {
        (Time::Seconds(x), Time::Seconds(y)) => x.total_cmp(&y),
        _ => std::cmp::Ordering::Equal,
    });
    Ok(Parsed { rows, fps: fps(&table), declared: Vec::new() })
}
