//! Human labels from the tools labs already score with: BORIS (aggregated events, and "export events"
//! START/STOP tables of v7 and v8), ezTrack's FreezingOutput, SimBA's per-frame 0/1 columns, Bento
//! `.annot` and Caltech Behavior Annotator `.txt` files, and plain `start,end` bouts in frames or seconds.
//!
//! Reading is in two steps, as the files are: [`LabelFile::read`] keeps what the file says in its own
//! words (behaviour and subject names, media files, times in seconds or frames); [`LabelFile::resolve`]
//! maps those names onto this program's behaviours and animals ([`LabelsConfig`]), keeps the rows of one
//! recording, and gives times in seconds. So a file that names behaviours nobody mapped still reads, and
//! says what it holds.

mod annot;
mod boris;
mod plain;
mod tables;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kinds::{Behaviour, Role};

/// The label file formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelFormat {
    /// BORIS "Export aggregated events": one row per bout, `Start (s)` and `Stop (s)`.
    BorisAggregated,
    /// BORIS "Export events": START/STOP rows (v7 with its header block, v8 as one flat table).
    BorisEvents,
    /// ezTrack FreezeAnalysis `*_FreezingOutput.csv`: a `Freezing` value per `Frame`.
    Eztrack,
    /// SimBA per-frame tables (`targets_inserted`, `machine_results`): one 0/1 column per behaviour.
    Simba,
    /// Bento `.annot`: per channel, `>behaviour` sections of `Start Stop Duration` rows in seconds.
    Bento,
    /// Caltech Behavior Annotator `.txt`: per stream, `start end type` rows in frames from 1.
    Caltech,
    /// `start,end` rows in frames numbered from 1, ends included (BehaviorDEPOT's bouts, most hand
    /// scoring); an optional third column names the behaviour.
    Frames,
    /// `start,end` rows in seconds; an optional third column names the behaviour.
    Seconds,
}

impl LabelFormat {
    pub const ALL: [LabelFormat; 8] = [
        LabelFormat::BorisAggregated,
        LabelFormat::BorisEvents,
        LabelFormat::Eztrack,
        LabelFormat::Simba,
        LabelFormat::Bento,
        LabelFormat::Caltech,
        LabelFormat::Frames,
        LabelFormat::Seconds,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LabelFormat::BorisAggregated => "boris-aggregated",
            LabelFormat::BorisEvents => "boris-events",
            LabelFormat::Eztrack => "eztrack",
            LabelFormat::Simba => "simba",
            LabelFormat::Bento => "bento",
            LabelFormat::Caltech => "caltech",
            LabelFormat::Frames => "frames",
            LabelFormat::Seconds => "seconds",
        }
    }

    /// The format called `name` (as `--labels-format` takes it).
    pub fn from_name(name: &str) -> Result<LabelFormat> {
        LabelFormat::ALL.into_iter().find(|f| f.name() == name).ok_or_else(|| {
            let names: Vec<&str> = LabelFormat::ALL.iter().map(|f| f.name()).collect();
            Error::Config(format!("unknown label format `{name}`: use one of {}", names.join(", ")))
        })
    }
}

impl fmt::Display for LabelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A moment as a label file states it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Time {
    Seconds(f64),
    /// A frame index, counted from 0.
    Frame(u64),
}

impl Time {
    /// Seconds from the recording's start; a frame needs the frame rate.
    fn seconds(self, fps: Option<f64>) -> Option<f64> {
        match self {
            Time::Seconds(s) => Some(s),
            Time::Frame(f) => fps.map(|fps| f as f64 / fps),
        }
    }
}

/// One labelled bout (or a point event, `start == end`), in the file's own words.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRow {
    pub behaviour: String,
    /// Empty when the file names no subject.
    pub subject: String,
    /// The media file the row belongs to, as the file writes it (a path from the scorer's machine).
    pub media: Option<String>,
    pub start: Time,
    /// Included: a bout of frames 3..=5 ends at frame 5.
    pub end: Time,
}

/// A label file as read.
#[derive(Debug, Clone)]
pub struct LabelFile {
    pub path: PathBuf,
    pub format: LabelFormat,
    /// The frame rate the file states, when it states one.
    pub fps: Option<f64>,
    pub rows: Vec<LabelRow>,
    /// Behaviours the file lists besides those of its rows (SimBA's classifiers, Bento's annotations),
    /// bouts or none.
    pub declared: Vec<String>,
}

/// What a format's reader found.
#[derive(Default)]
struct Parsed {
    rows: Vec<LabelRow>,
    fps: Option<f64>,
    declared: Vec<String>,
}

/// How label files' names map onto this program's: the `[labels]` config section.
///
/// ```toml
/// [labels]
/// plain_behaviour = "freezing"   # what a `start,end` file without a behaviour column labels
/// [labels.behaviours]
/// Freezing = "freezing"          # the tool's name = ours
/// "in shelter" = "hiding"
/// [labels.subjects]
/// "rat 1" = "rat"
/// "Mouse 2" = "other"            # rows of this subject are left out
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LabelsConfig {
    pub behaviours: BTreeMap<String, Behaviour>,
    pub subjects: BTreeMap<String, Role>,
    pub plain_behaviour: Behaviour,
}

impl Default for LabelsConfig {
    fn default() -> Self {
        LabelsConfig { behaviours: BTreeMap::new(), subjects: BTreeMap::new(), plain_behaviour: Behaviour::Freezing }
    }
}

/// How pose files of other tools (DeepLabCut, SLEAP) are read: the `[pose]` config section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoseConfig {
    /// Keypoints below this likelihood are not trusted (DeepLabCut's own plots cut at 0.6).
    pub min_likelihood: f32,
    /// In files of several animals, the individual (DeepLabCut) or track (SLEAP) that is the rat, and
    /// the one that is the cat, so a lab names its animals once instead of on every command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rat: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cat: Option<String>,
}

impl Default for PoseConfig {
    fn default() -> Self {
        PoseConfig { min_likelihood: 0.6, rat: None, cat: None }
    }
}

impl PoseConfig {
    pub fn check(&self) -> Result<()> {
        crate::checks::unit("pose.min_likelihood", self.min_likelihood)?;
        for (key, name) in [("pose.rat", &self.rat), ("pose.cat", &self.cat)] {
            if name.as_ref().is_some_and(|n| n.trim().is_empty()) {
                return Err(Error::Config(format!("{key} must name an individual or track, got an empty name")));
            }
        }
        Ok(())
    }

    /// The individual named for `role`, if any.
    pub fn individual(&self, role: Role) -> Option<&str> {
        match role {
            Role::Rat => self.rat.as_deref(),
            Role::Cat => self.cat.as_deref(),
            Role::Other => None,
        }
    }
}

/// A labelled bout of one of this program's behaviours, in seconds from the recording's start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LabelledBout {
    pub behaviour: Behaviour,
    pub start_s: f64,
    /// Included (the last labelled frame's time).
    pub end_s: f64,
}

/// The bouts of one recording, and what of the file was left out and why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Resolved {
    pub bouts: Vec<LabelledBout>,
    /// Behaviour names of the file that map to none of ours -> rows.
    pub unmapped_behaviours: BTreeMap<String, usize>,
    /// Rows left out because their subject is neither the behaviour's animal nor unnamed.
    pub other_subjects: BTreeMap<String, usize>,
    /// Rows of other media files than the recording's.
    pub other_media: usize,
}

impl LabelFile {
    /// Reads a label file, its format recognised from its content unless `format` is given.
    pub fn read(path: &Path, format: Option<LabelFormat>) -> Result<LabelFile> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::format(
                path,
                "not a text file: label files are CSV, TSV or text exports (BORIS, ezTrack, SimBA, Bento, Caltech)",
            )
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let format = match format {
            Some(f) => f,
            None => recognise(text).ok_or_else(|| {
                Error::format(
                    path,
                    "not a label file this program reads: expected a BORIS export (`Behavior` and `Start (s)` or `Status` columns), an ezTrack FreezingOutput (`Frame`, `Freezing`), a SimBA table (`Probability_<behaviour>` columns), a Bento or Caltech annotation, or `start,end` rows; name it with --labels-format",
                )
            })?,
        };
        let parsed = match format {
            LabelFormat::BorisAggregated => boris::aggregated(text),
            LabelFormat::BorisEvents => boris::events(text),
            LabelFormat::Eztrack => tables::eztrack(text),
            LabelFormat::Simba => tables::simba(text),
            LabelFormat::Bento => annot::bento(text),
            LabelFormat::Caltech => annot::caltech(text),
            LabelFormat::Frames => plain::bouts(text, plain::Unit::Frames),
            LabelFormat::Seconds => plain::bouts(text, plain::Unit::Seconds),
        }
        .map_err(|message| Error::format(path, format!("{format} labels: {message}")))?;
        Ok(LabelFile {
            path: path.to_path_buf(),
            format,
            fps: parsed.fps.filter(|f| *f > 0.0 && f.is_finite()),
            rows: parsed.rows,
            declared: parsed.declared,
        })
    }

    /// The behaviour names the file uses, each with its bouts (0 for one it lists without bouts).
    pub fn behaviours(&self) -> BTreeMap<&str, usize> {
        let mut counts = count(self.rows.iter().map(|r| r.behaviour.as_str()));
        for name in &self.declared {
            counts.entry(name.as_str()).or_default();
        }
        counts
    }

    pub fn subjects(&self) -> BTreeSet<&str> {
        self.rows.iter().map(|r| r.subject.as_str()).collect()
    }

    /// The media files the rows name.
    pub fn media(&self) -> BTreeSet<&str> {
        self.rows.iter().filter_map(|r| r.media.as_deref()).collect()
    }

    /// The bouts of this program's behaviours for the recording `recording` (its file name selects the
    /// rows of a file that labels several media; `None` keeps every row), in seconds. `fps` is the
    /// recording's frame rate, for files that count frames and do not say their rate.
    pub fn resolve(&self, config: &LabelsConfig, recording: Option<&Path>, fps: Option<f64>) -> Result<Resolved> {
        let media = self.media();
        let wanted = recording.and_then(|r| r.file_name()).map(|n| n.to_string_lossy().to_string());
        let keep_media: Option<String> = match (&wanted, media.len()) {
            // A file about one recording often names it by a path from another machine: keep it all.
            (None, _) | (_, 0) | (_, 1) => None,
            (Some(name), _) => {
                let found = media.iter().find(|m| file_name(m) == name.as_str());
                match found {
                    Some(m) => Some(m.to_string()),
                    None => {
                        let names: Vec<&str> = media.iter().map(|m| file_name(m)).collect();
                        return Err(Error::format(
                            &self.path,
                            format!(
                                "no rows for the recording `{name}`: the file labels {}; rename the video to match its `Media file` column",
                                names.join(", ")
                            ),
                        ));
                    }
                }
            }
        };
        let fps = fps.or(self.fps);
        let mut resolved = Resolved::default();
        for row in &self.rows {
            if let (Some(keep), Some(m)) = (&keep_media, &row.media)
                && keep != m
            {
                resolved.other_media += 1;
                continue;
            }
            let Some(behaviour) = behaviour_for(config, self.format, &row.behaviour) else {
                *resolved.unmapped_behaviours.entry(row.behaviour.clone()).or_default() += 1;
                continue;
            };
            if !subject_fits(config, &row.subject, behaviour.animal()) {
                *resolved.other_subjects.entry(row.subject.clone()).or_default() += 1;
                continue;
            }
            let (Some(start_s), Some(end_s)) = (row.start.seconds(fps), row.end.seconds(fps)) else {
                return Err(Error::format(
                    &self.path,
                    "the file counts frames and states no frame rate: give the recording's (--fps, or the recording's video)",
                ));
            };
            resolved.bouts.push(LabelledBout { behaviour, start_s, end_s });
        }
        resolved.bouts.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        Ok(resolved)
    }
}

/// Our behaviour for a file's name: the config's mapping first, then our own names in any case.
fn behaviour_for(config: &LabelsConfig, format: LabelFormat, name: &str) -> Option<Behaviour> {
    if let Some(b) = config.behaviours.get(name) {
        return Some(*b);
    }
    if name.is_empty() && matches!(format, LabelFormat::Frames | LabelFormat::Seconds) {
        return Some(config.plain_behaviour);
    }
    let lower = name.trim().to_lowercase().replace([' ', '-'], "_");
    match lower.as_str() {
        "freeze" | "frozen" => Some(Behaviour::Freezing),
        "hide" | "hidden" => Some(Behaviour::Hiding),
        "stalk" => Some(Behaviour::Stalking),
        _ => Behaviour::from_name(&lower),
    }
}

/// Whether a row of `subject` labels the animal a behaviour concerns: by the config's mapping, else an
/// unnamed subject or one whose name says its species.
fn subject_fits(config: &LabelsConfig, subject: &str, animal: Role) -> bool {
    if let Some(role) = config.subjects.get(subject) {
        return *role == animal;
    }
    let lower = subject.to_lowercase();
    let says = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    let (rodent, cat) = (says(&["rat", "mouse", "mice", "rodent"]), says(&["cat", "kitten"]));
    match animal {
        Role::Rat if rodent => true,
        Role::Cat if cat => true,
        _ => !rodent && !cat,
    }
}

/// The file name of a media path written on Windows or Unix.
fn file_name(media: &str) -> &str {
    let media = media.rsplit_once(':').filter(|(scheme, _)| scheme.starts_with("player")).map_or(media, |(_, p)| p);
    media.rsplit(['/', '\\']).next().unwrap_or(media).trim()
}

fn count<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut counts = BTreeMap::new();
    for n in names {
        *counts.entry(n).or_default() += 1;
    }
    counts
}

/// The format a file's first lines show.
fn recognise(text: &str) -> Option<LabelFormat> {
    let first = text.lines().next().unwrap_or("").trim();
    if first.starts_with("Bento annotation file") {
        return Some(LabelFormat::Bento);
    }
    if first.starts_with("Caltech Behavior Annotator") {
        return Some(LabelFormat::Caltech);
    }
    let header = |line: &str| tables::split_line(line).into_iter().map(|c| c.trim().to_string()).collect::<Vec<_>>();
    let cells = header(first);
    let has = |cells: &[String], name: &str| cells.iter().any(|c| c == name);
    if has(&cells, "Start (s)") && has(&cells, "Stop (s)") {
        return Some(LabelFormat::BorisAggregated);
    }
    if has(&cells, "Behavior type") && has(&cells, "Time") {
        return Some(LabelFormat::BorisEvents);
    }
    // BORIS v7 export events: a header block, then a table whose header starts with `Time`.
    if cells.first().is_some_and(|c| c == "Observation id")
        && text.lines().take(200).any(|l| {
            let c = header(l);
            c.first().is_some_and(|c| c == "Time") && has(&c, "Status")
        })
    {
        return Some(LabelFormat::BorisEvents);
    }
    if has(&cells, "Frame") && has(&cells, "Freezing") {
        return Some(LabelFormat::Eztrack);
    }
    if cells.iter().any(|c| c.starts_with("Probability_")) {
        return Some(LabelFormat::Simba);
    }
    plain::recognise(&cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_by_config_then_by_our_own_names() {
        let mut config = LabelsConfig::default();
        config.behaviours.insert("immobile".into(), Behaviour::Freezing);
        assert_eq!(behaviour_for(&config, LabelFormat::BorisEvents, "immobile"), Some(Behaviour::Freezing));
        assert_eq!(behaviour_for(&config, LabelFormat::BorisEvents, "Freezing"), Some(Behaviour::Freezing));
        assert_eq!(behaviour_for(&config, LabelFormat::BorisEvents, "sniffing"), None);
        assert_eq!(behaviour_for(&config, LabelFormat::Frames, ""), Some(Behaviour::Freezing));
    }

    #[test]
    fn subjects_fit_by_config_then_by_the_species_they_name() {
        let mut config = LabelsConfig::default();
        assert!(subject_fits(&config, "", Role::Rat));
        assert!(subject_fits(&config, "Mouse 1", Role::Rat));
        assert!(!subject_fits(&config, "Mouse 1", Role::Cat));
        assert!(subject_fits(&config, "No focal subject", Role::Cat));
        config.subjects.insert("Mouse 2".into(), Role::Other);
        assert!(!subject_fits(&config, "Mouse 2", Role::Rat));
    }

    #[test]
    fn media_names_lose_their_paths_and_players() {
        assert_eq!(file_name("Z:/lab/CSDS/Video10.mp4"), "Video10.mp4");
        assert_eq!(file_name(r"D:\ANNOTATION\Mouse06_Top.seq"), "Mouse06_Top.seq");
        assert_eq!(file_name("player #1:videos/testExp/Video11.mp4"), "Video11.mp4");
    }
}
