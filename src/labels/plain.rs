//! Plain bouts: `start,end[,behaviour]` rows, in frames numbered from 1 (ends included) or in seconds,
//! with or without a header.

use super::tables::Table;
use super::{LabelFormat, LabelRow, Parsed, Time};

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Unit {
    Frames,
    Seconds,
}

/// Plain bouts by their first line: a header that says seconds, else frames.
pub(super) fn recognise(cells: &[String]) -> Option<LabelFormat> {
    let first = cells.first()?.to_lowercase();
    let numeric = |c: Option<&String>| c.is_some_and(|c| c.parse::<f64>().is_ok());
    if numeric(cells.first()) && numeric(cells.get(1)) {
        return Some(LabelFormat::Frames);
    }
    if !first.starts_with("start") {
        return None;
    }
    let seconds = first.ends_with("_s") || first.contains("(s)") || first.contains("sec") || first.contains("time");
    Some(if seconds { LabelFormat::Seconds } else { LabelFormat::Frames })
}

pub(super) fn bouts(text: &str, unit: Unit) -> Result<Parsed, String> {
    let table = Table::parse(text, 0)?;
    let header_is_data = table.header.first().is_some_and(|c| c.parse::<f64>().is_ok());
    let first_line = (1, table.header.clone());
    let rows = header_is_data.then_some(&first_line).into_iter().chain(&table.rows);
    let expected = match unit {
        Unit::Frames => "`start,end` in frames from 1, start <= end",
        Unit::Seconds => "`start,end` in seconds, start <= end",
    };
    let mut out = Vec::new();
    for (line, row) in rows {
        let bad = || format!("line {line}: expected {expected}, got `{}`", row.join(","));
        let (start, end) = match unit {
            Unit::Frames => {
                let frame = |k: usize| row.get(k).and_then(|c| c.parse::<u64>().ok());
                match (frame(0), frame(1)) {
                    (Some(a), Some(b)) if a >= 1 && b >= a => (Time::Frame(a - 1), Time::Frame(b - 1)),
                    _ => return Err(bad()),
                }
            }
            Unit::Seconds => {
                let second = |k: usize| row.get(k).and_then(|c| c.parse::<f64>().ok()).filter(|v| v.is_finite());
                match (second(0), second(1)) {
                    (Some(a), Some(b)) if a >= 0.0 && b >= a => (Time::Seconds(a), Time::Seconds(b)),
                    _ => return Err(bad()),
                }
            }
        };
        out.push(LabelRow {
            behaviour: row.get(2).cloned().unwrap_or_default(),
            subject: String::new(),
            media: None,
            start,
            end,
        });
    }
    Ok(Parsed { rows: out, ..Parsed::default() })
}
