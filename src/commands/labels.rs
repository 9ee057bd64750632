//! `chaperone labels FILE`: what a label file from another tool holds (its format, behaviours,
//! subjects, media and frame rate) and what this program makes of it under the config's `[labels]`
//! mapping: the bouts per behaviour of ours, and the names it leaves out.

use std::path::{Path, PathBuf};

use super::Exit;
use crate::config::Config;
use crate::error::Result;
use crate::labels::{LabelFile, LabelFormat, Resolved};

#[derive(clap::Args)]
pub struct Args {
    /// A label file: BORIS (aggregated or events export), ezTrack FreezingOutput, SimBA table, Bento
    /// .annot, Caltech .txt, or `start,end` bouts.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    source: LabelSource,
    /// The recording the labels are for: its file name selects the rows of a file that labels several.
    #[arg(long, value_name = "VIDEO")]
    recording: Option<PathBuf>,
    /// The recording's frame rate, for files that count frames and do not say their rate.
    #[arg(long, value_name = "FPS")]
    fps: Option<f64>,
    /// Print JSON instead of lines.
    #[arg(long)]
    json: bool,
}

/// How a label file's format is chosen, shared by every command that takes `--labels`.
#[derive(clap::Args, Clone, Default)]
pub struct LabelSource {
    /// The label file's format when it cannot be told from its content: boris-aggregated, boris-events,
    /// eztrack, simba, bento, caltech, frames (start,end from 1) or seconds (start,end).
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub labels_format: Option<LabelFormat>,
}

impl LabelSource {
    pub fn read(&self, path: &Path) -> Result<LabelFile> {
        LabelFile::read(path, self.labels_format)
    }
}

fn parse_format(name: &str) -> std::result::Result<LabelFormat, String> {
    LabelFormat::from_name(name).map_err(|e| e.to_string())
}

pub fn run(config: &Config, args: &Args) -> Result<Exit> {
    let file = args.source.read(&args.file)?;
    let resolved = file.resolve(&config.labels, args.recording.as_deref(), args.fps);
    if args.json {
        let behaviours: Vec<_> =
            file.behaviours().into_iter().map(|(n, c)| serde_json::json!({"name": n, "bouts": c})).collect();
        let json = serde_json::json!({
            "file": file.path,
            "format": file.format,
            "fps": file.fps,
            "behaviours": behaviours,
            "subjects": file.subjects(),
            "media": file.media(),
            "resolved": resolved.as_ref().ok(),
            "problem": resolved.as_ref().err().map(|e| e.to_string()),
        });
        let json = crate::output::versioned(&json);
        println!("{}", serde_json::to_string_pretty(&json).expect("label summaries serialise"));
        return resolved.map(|_| Exit::Success);
    }
    let fps = file.fps.map_or("not stated".to_string(), |f| format!("{f} fps"));
    println!("{}: {} labels, {} rows, {fps}", file.path.display(), file.format, file.rows.len());
    let named = |n: &str| if n.is_empty() { "(unnamed)".to_string() } else { n.to_string() };
    let behaviours: Vec<String> = file.behaviours().iter().map(|(n, c)| format!("{} x{c}", named(n))).collect();
    println!("  behaviours: {}", behaviours.join(", "));
    let subjects: Vec<String> = file.subjects().into_iter().map(named).collect();
    println!("  subjects: {}", if subjects.is_empty() { "(none)".to_string() } else { subjects.join(", ") });
    let media = file.media();
    if !media.is_empty() {
        println!("  media: {}", media.into_iter().collect::<Vec<_>>().join(", "));
    }
    print_resolved(&resolved?);
    Ok(Exit::Success)
}

fn print_resolved(resolved: &Resolved) {
    let mut per: std::collections::BTreeMap<&str, (usize, f64)> = Default::default();
    for b in &resolved.bouts {
        let e = per.entry(b.behaviour.name()).or_default();
        e.0 += 1;
        e.1 += b.end_s - b.start_s;
    }
    if per.is_empty() {
        println!("  as chaperone's behaviours: none (map the file's names in the config's [labels.behaviours])");
    }
    for (name, (n, s)) in per {
        println!("  as chaperone's {name}: {n} bouts, {s:.1} s");
    }
    let list = |m: &std::collections::BTreeMap<String, usize>| {
        m.iter().map(|(k, v)| format!("{k} x{v}")).collect::<Vec<_>>().join(", ")
    };
    if !resolved.unmapped_behaviours.is_empty() {
        println!("  left out, not behaviours of chaperone's: {}", list(&resolved.unmapped_behaviours));
    }
    if !resolved.other_subjects.is_empty() {
        println!("  left out, other subjects: {}", list(&resolved.other_subjects));
    }
    if resolved.other_media > 0 {
        println!("  left out, rows of other media files: {}", resolved.other_media);
    }
}
