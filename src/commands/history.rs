//! `chaperone history`: past sessions, and how long the next one should be.

use std::path::PathBuf;

use super::Exit;
use crate::error::Result;
use crate::session::history;

#[derive(clap::Args)]
pub struct Args {
    /// Print the history as JSON.
    #[arg(long)]
    json: bool,
    /// Also draw the sessions over days to STEM.png and STEM.svg (default: history.png and .svg in the
    /// data directory).
    #[arg(long, value_name = "STEM", num_args = 0..=1)]
    plot: Option<Option<PathBuf>>,
}

pub fn run(args: &Args) -> Result<Exit> {
    let path = history::history_path()?;
    let entries = history::read(&path)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries).expect("history serialises"));
        return Ok(Exit::Success);
    }
    if entries.is_empty() {
        println!("no sessions yet in {}", path.display());
    } else {
        println!("{:<21} {:>7} {:>7} {:>6}  ended", "started (UTC)", "planned", "ran", "calm");
    }
    for e in &entries {
        let how = match &e.reason {
            Some(r) => format!("{}: {}", if r.fault { "FAULT" } else { "STOP" }, r.words),
            None => e.outcome.name().to_string(),
        };
        println!(
            "{:<21} {:>7} {:>7} {:>5.0}s  {how}",
            e.started,
            history::minutes(e.planned_s),
            history::minutes(e.length_s),
            e.calm_s
        );
    }
    let (next, why) = history::recommend(&entries);
    println!("next session: {} ({why})", history::minutes(next));
    if let Some(stem) = &args.plot {
        let stem = match stem {
            Some(stem) => stem.clone(),
            None => history::data_dir()?.join("history"),
        };
        let written = crate::plot::history::write(&entries, &stem)?;
        println!("drawn: {}", written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    Ok(Exit::Success)
}
