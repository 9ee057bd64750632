//! Annotation text files of the Caltech lineage: Bento `.annot` (times in seconds) and the Caltech
//! Behavior Annotator's `.txt` (frames from 1).

use super::{LabelRow, Parsed, Time};

/// Bento: a header (`Annotation framerate: 30.0`), then per channel (`Ch1----------`) sections
/// `>behaviour`, a `Start Stop Duration` line and TAB-separated rows in seconds.
pub(super) fn bento(text: &str) -> Result<Parsed, String> {
    let fps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Annotation framerate:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|f| *f > 0.0);
    let (mut channel, mut behaviour) = (None::<String>, None::<String>);
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(name) = line.strip_suffix("----------") {
            channel = Some(name.trim_end_matches('-').to_string());
            behaviour = None;
        } else if let Some(name) = line.strip_prefix('>') {
            behaviour = Some(name.trim().to_string());
        } else if line.is_empty() || line.starts_with("Start") {
            continue;
        } else if let (Some(channel), Some(behaviour)) = (&channel, &behaviour) {
            let cells: Vec<&str> = line.split_whitespace().collect();
            let times: Vec<f64> = cells.iter().take(2).filter_map(|c| c.parse().ok()).collect();
            let [start, stop] = times[..] else {
                return Err(format!("line {}: expected `start stop duration` in seconds, got `{line}`", i + 1));
            };
            if stop < start {
                return Err(format!("line {}: stop {stop} is before start {start}", i + 1));
            }
            rows.push(LabelRow {
                behaviour: behaviour.clone(),
                subject: channel.clone(),
                media: None,
                start: Time::Seconds(start),
                end: Time::Seconds(stop),
            });
        }
    }
    if channel.is_none() {
        return Err("expected channel sections (`Ch1----------`) with `>behaviour` bouts".into());
    }
    // The header lists every annotation name, bouts or none, up to the first blank line.
    let declared = text
        .lines()
        .skip_while(|l| !l.trim().starts_with("List of annotations"))
        .skip(1)
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    Ok(Parsed { rows, fps, declared })
}

/// Caltech Behavior Annotator: per stream a `S1: start end type` header and a dashed line, then rows
/// `start end type` in frames numbered from 1, ends included.
pub(super) fn caltech(text: &str) -> Result<Parsed, String> {
    let mut stream = None::<String>;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        let cells: Vec<&str> = trimmed.split_whitespace().collect();
        if let Some(name) = cells.first().and_then(|c| c.strip_suffix(':')).filter(|_| cells.contains(&"start")) {
            stream = Some(name.to_string());
            continue;
        }
        let Some(stream) = &stream else { continue };
        if trimmed.is_empty() || trimmed.starts_with('-') {
            continue;
        }
        let parsed =
            (cells.first().and_then(|c| c.parse::<u64>().ok()), cells.get(1).and_then(|c| c.parse::<u64>().ok()));
        let ((Some(start), Some(end)), Some(kind)) = (parsed, cells.get(2)) else {
            return Err(format!("line {}: expected `start end type` (frames from 1), got `{trimmed}`", i + 1));
        };
        if start == 0 || end < start {
            return Err(format!(
                "line {}: frames count from 1 and end at or after the start, got {start} {end}",
                i + 1
            ));
        }
        rows.push(LabelRow {
            behaviour: kind.to_string(),
            subject: stream.clone(),
            media: None,
            start: Time::Frame(start - 1),
            end: Time::Frame(end - 1),
        });
    }
    if stream.is_none() {
        return Err("expected a stream header such as `S1: start end type`".into());
    }
    Ok(Parsed { rows, ..Parsed::default() })
}
