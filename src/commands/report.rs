//! `chaperone report DIR...`: many runs' summaries as one table (see [`crate::runs::report`]).

use std::path::PathBuf;

use super::Exit;
use crate::error::{Error, Result};
use crate::runs::report;

#[derive(clap::Args)]
pub struct Args {
    /// Folders of runs: the --out folders of analyze, analyze-tracks or live (searched three levels down
    /// for summary.json).
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Print JSON instead of CSV.
    #[arg(long)]
    json: bool,
    /// Write the table to this file instead of printing it (`.json` for JSON, else CSV).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(args: &Args) -> Result<Exit> {
    let rows = report::collect(&args.dirs)?;
    let json = args.json || args.out.as_ref().is_some_and(|p| p.extension().is_some_and(|e| e == "json"));
    let text = if json {
        serde_json::to_string_pretty(&report::to_json(&rows)).expect("reports serialise") + "\n"
    } else {
        report::to_csv(&rows)
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| Error::output(path, format!("cannot write the report: {e}")))?;
            eprintln!("chaperone: {} runs -> {}", rows.len(), path.display());
        }
        None => print!("{text}"),
    }
    Ok(Exit::Success)
}
