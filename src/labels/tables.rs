//! Delimited tables (CSV or TSV, as the tool wrote them), and the per-frame tables of ezTrack and SimBA.

use super::{LabelRow, Parsed, Time};

/// A table: its header cells and its rows, each with the line it came from (1-based, in the file).
pub(super) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<(u64, Vec<String>)>,
}

impl Table {
    /// The table whose header is the file's line `header_line` (0-based), to the end of the file.
    /// Blank rows are skipped; cells are trimmed.
    pub fn parse(text: &str, header_line: usize) -> Result<Table, String> {
        let mut lines = text.split_inclusive('\n');
        let skipped: usize = lines.by_ref().take(header_line).map(str::len).sum();
        let rest = &text[skipped..];
        let first = rest.lines().next().unwrap_or("");
        let delimiter = if first.contains('\t') { b'\t' } else { b',' };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(rest.as_bytes());
        let mut records = reader.records();
        let header = match records.next() {
            Some(Ok(r)) => r.iter().map(str::to_string).collect(),
            _ => return Err("no header row".into()),
        };
        let mut rows = Vec::new();
        for record in records {
            let record = record.map_err(|e| format!("unreadable row: {e}"))?;
            if record.iter().all(str::is_empty) {
                continue;
            }
            let line = record.position().map_or(0, |p| p.line()) + header_line as u64;
            rows.push((line, record.iter().map(str::to_string).collect()));
        }
        Ok(Table { header, rows })
    }

    /// The index of the first column named any of `names`, or an error naming the first.
    pub fn column(&self, names: &[&str]) -> Result<usize, String> {
        self.find(names).ok_or_else(|| format!("expected a `{}` column", names[0]))
    }

    pub fn find(&self, names: &[&str]) -> Option<usize> {
        self.header.iter().position(|h| names.contains(&h.as_str()))
    }
}

/// The cells of one line, split on tabs when it has any, else on commas (for recognising a header).
pub(super) fn split_line(line: &str) -> Vec<&str> {
    if line.contains('\t') { line.split('\t').collect() } else { line.split(',').collect() }
}

/// A number cell, or a message naming the line and column.
pub(super) fn number(cell: Option<&String>, line: u64, column: &str) -> Result<f64, String> {
    let cell = cell.map(String::as_str).unwrap_or("");
    cell.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("line {line}: `{column}` must be a number, got `{cell}`"))
}

/// Runs of consecutive set frames as bouts of `behaviour`.
fn runs_to_rows(frames: &[(u64, bool)], behaviour: &str, media: Option<&str>) -> Vec<LabelRow> {
    let mut rows: Vec<LabelRow> = Vec::new();
    let mut open: Option<(u64, u64)> = None;
    let close = |rows: &mut Vec<LabelRow>, (a, b): (u64, u64)| {
        rows.push(LabelRow {
            behaviour: behaviour.to_string(),
            subject: String::new(),
            media: media.map(str::to_string),
            start: Time::Frame(a),
            end: Time::Frame(b),
        })
    };
    for &(frame, set) in frames {
        open = match (open, set) {
            (Some((a, b)), true) if frame == b + 1 => Some((a, frame)),
            (Some(run), true) => {
                close(&mut rows, run);
                Some((frame, frame))
            }
            (None, true) => Some((frame, frame)),
            (Some(run), false) => {
                close(&mut rows, run);
                None
            }
            (None, false) => None,
        };
    }
    if let Some(run) = open {
        close(&mut rows, run);
    }
    rows
}

/// ezTrack FreezeAnalysis output: `File, FPS, MotionCutoff, FreezeThresh, MinFreezeDuration, Frame,
/// Motion, Freezing`, one row per frame (`Frame` from 0); `Freezing` is 100 (or 1) while frozen.
pub(super) fn eztrack(text: &str) -> Result<Parsed, String> {
    let table = Table::parse(text, 0)?;
    let (frame, freezing) = (table.column(&["Frame"])?, table.column(&["Freezing"])?);
    let media = table.find(&["File"]).and_then(|k| table.rows.first().and_then(|(_, r)| r.get(k).cloned()));
    let fps = table.find(&["FPS"]).and_then(|k| table.rows.first().and_then(|(_, r)| r.get(k)?.parse::<f64>().ok()));
    let mut frames = Vec::with_capacity(table.rows.len());
    for (line, row) in &table.rows {
        let f = number(row.get(frame), *line, "Frame")?;
        let v = number(row.get(freezing), *line, "Freezing")?;
        if f < 0.0 {
            return Err(format!("line {line}: `Frame` must not be negative"));
        }
        frames.push((f as u64, v > 0.0));
    }
    Ok(Parsed { rows: runs_to_rows(&frames, "Freezing", media.as_deref()), fps, declared: vec!["Freezing".into()] })
}

/// SimBA's per-frame tables: an index column (unnamed, the frame from 0), pose and feature columns, and
/// per classifier `X` a 0/1 column `X` beside its `Probability_X`. The classifiers are the columns that
/// have a probability beside them.
pub(super) fn simba(text: &str) -> Result<Parsed, String> {
    let table = Table::parse(text, 0)?;
    let behaviours: Vec<(usize, String)> = table
        .header
        .iter()
        .filter_map(|h| h.strip_prefix("Probability_"))
        .map(|name| table.column(&[name]).map(|k| (k, name.to_string())))
        .collect::<Result<_, _>>()?;
    if behaviours.is_empty() {
        return Err("expected `Probability_<behaviour>` columns beside 0/1 `<behaviour>` columns".into());
    }
    let index = table.header.first().filter(|h| h.is_empty()).map(|_| 0);
    let mut rows = Vec::new();
    for (k, name) in &behaviours {
        let mut frames = Vec::with_capacity(table.rows.len());
        for (i, (line, row)) in table.rows.iter().enumerate() {
            let frame = match index {
                Some(c) => number(row.get(c), *line, "index")? as u64,
                None => i as u64,
            };
            let v = number(row.get(*k), *line, name)?;
            if v != 0.0 && v != 1.0 {
                return Err(format!("line {line}: `{name}` must be 0 or 1, got {v}"));
            }
            frames.push((frame, v == 1.0));
        }
        rows.extend(runs_to_rows(&frames, name, None));
    }
    Ok(Parsed { rows, fps: None, declared: behaviours.into_iter().map(|(_, name)| name).collect() })
}
