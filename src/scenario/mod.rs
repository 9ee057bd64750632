//! Labelled scenarios: a meeting described in a small TOML file (the animals' boxes over time, shelters,
//! and the behaviours truly happening in which intervals), so the engine can be scored and tuned on
//! ground truth. [`tracks`] renders a scenario into the engine's moments, with the noise, dropped
//! detections, jitter and frame rates of real tracking.
//!
//! ```toml
//! description = "The cat watches calmly, then dashes at the rat."
//! duration_s = 10.0
//! frame = [960, 480]                  # pixels
//! shelters = [[0.81, 0.58, 0.94, 0.79]] # fractions of the frame, as in the config
//! gaps = [[6.0, 6.5]]                 # camera stutter: no frame at all in these spans
//!
//! [cat]
//! # keyframes [t, x, y, w, h]: the box's left, top, width and height in pixels; linear in between
//! path = [[0, 20, 230, 180, 135], [4, 20, 230, 180, 135], [5.5, 620, 230, 180, 135]]
//! wiggle = [3, 0, 0.5]                # in-place motion: x and y amplitude (px), frequency (Hz)
//! hidden = [[7, 8]]                   # out of sight (occluded, in a shelter, out of view)
//!
//! [rat]
//! path = [[0, 800, 340, 46, 24]]
//!
//! [[truth]]
//! behaviour = "approach"
//! start_s = 4.0
//! end_s = 5.5
//! ```

pub mod tracks;
pub mod video;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::behaviour::BehaviourConfig;
use crate::error::{Error, Result};
use crate::geometry::BBox;
use crate::kinds::{Behaviour, Role};
use crate::zones::Shelter;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The file's stem, when read from a file.
    #[serde(skip)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Seconds (a labelled recording's own length when left out).
    #[serde(default)]
    pub duration_s: f64,
    /// Frame size in pixels (a labelled recording's video says its own).
    #[serde(default)]
    pub frame: [u32; 2],
    #[serde(default)]
    pub shelters: Vec<[f32; 4]>,
    /// Spans without any frame (camera stutter), seconds.
    #[serde(default)]
    pub gaps: Vec<[f64; 2]>,
    pub cat: Option<Actor>,
    pub rat: Option<Actor>,
    /// Someone else's animal in the room: drawn in rendered videos (a hard negative for the detector),
    /// never the cat or the rat.
    pub dog: Option<Actor>,
    #[serde(default)]
    pub truth: Vec<TruthInterval>,
    /// A labelled recording: this video, scored through the whole pipeline instead of rendered tracks
    /// (relative to the scenario file).
    pub video: Option<PathBuf>,
    /// A labelled recording's reference positions per animal (`frame,x,y` files, relative to the
    /// scenario file): `eval` scores where the boxes are against them.
    #[serde(default)]
    pub positions: Positions,
    /// A labelled recording without video: tracks per animal (DeepLabCut CSV, or this program's
    /// tracks.csv), replayed through the behaviour engine (relative to the scenario file).
    #[serde(default)]
    pub tracks: Positions,
    /// The frame rate of `tracks` files that count frames (DeepLabCut).
    pub fps: Option<f64>,
    /// A labelled recording's human labels, in any format `chaperone labels` reads (relative to the
    /// scenario file); their bouts join `truth`.
    pub labels: Option<PathBuf>,
    /// The labels' format, when it cannot be told from the file (`chaperone labels --help`).
    pub labels_format: Option<String>,
}

/// Files per animal: reference positions, or recorded tracks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Positions {
    pub rat: Option<PathBuf>,
    pub cat: Option<PathBuf>,
}

impl Positions {
    /// Each animal with its file.
    pub fn files(&self) -> impl Iterator<Item = (Role, &PathBuf)> {
        [(Role::Rat, &self.rat), (Role::Cat, &self.cat)].into_iter().filter_map(|(r, p)| p.as_ref().map(|p| (r, p)))
    }
}

/// Where a labelled recording's frames come from.
pub enum RecordingSource {
    /// A video, run through the whole pipeline.
    Video(PathBuf),
    /// Tracks of the rat (DeepLabCut CSV, or this program's tracks.csv), replayed.
    Tracks(PathBuf),
}

/// One animal's movement.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// Keyframes `[t, x, y, w, h]`: the box's left, top, width and height at time `t`, linear in between
    /// and held before the first and after the last.
    pub path: Vec<[f64; 5]>,
    /// In-place motion (grooming, a shuffle, breathing): `[x amplitude px, y amplitude px, frequency Hz]`.
    #[serde(default)]
    pub wiggle: [f64; 3],
    /// Intervals `[start, end]` when the animal cannot be seen.
    #[serde(default)]
    pub hidden: Vec<[f64; 2]>,
}

/// A behaviour truly happening.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruthInterval {
    pub behaviour: Behaviour,
    pub start_s: f64,
    pub end_s: f64,
}

impl Actor {
    /// The box at `t`, before any tracking noise.
    pub fn bbox_at(&self, t: f64) -> BBox {
        let p = &self.path;
        let k = p.iter().position(|k| k[0] > t).unwrap_or(p.len());
        let v: [f64; 5] = match k {
            0 => p[0],
            k if k == p.len() => p[p.len() - 1],
            k => {
                let (a, b) = (p[k - 1], p[k]);
                let f = (t - a[0]) / (b[0] - a[0]);
                std::array::from_fn(|i| a[i] + f * (b[i] - a[i]))
            }
        };
        let [ax, ay, hz] = self.wiggle;
        let phase = 2.0 * std::f64::consts::PI * hz * t;
        let (x, y) = (v[1] + ax * phase.sin(), v[2] + ay * (1.3 * phase).sin());
        BBox::new(x as f32, y as f32, (x + v[3]) as f32, (y + v[4]) as f32)
    }

    pub fn hidden_at(&self, t: f64) -> bool {
        self.hidden.iter().any(|[a, b]| t >= *a && t < *b)
    }
}

impl TruthInterval {
    pub fn animal(&self) -> Role {
        self.behaviour.animal()
    }

    pub fn contains(&self, t: f64) -> bool {
        // Half a microsecond of slack: labels written in seconds to three decimals keep their frames.
        const SLACK_S: f64 = 5e-7;
        t >= self.start_s - SLACK_S && t <= self.end_s + SLACK_S
    }
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut scenario: Scenario = crate::config::parse_toml(path, &text)?;
        scenario.name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let dir = path.parent().unwrap_or(Path::new("."));
        if let Some(video) = &scenario.video {
            scenario.video = Some(dir.join(video));
        }
        let files = [&mut scenario.positions.rat, &mut scenario.positions.cat, &mut scenario.tracks.rat];
        for file in files.into_iter().chain([&mut scenario.tracks.cat, &mut scenario.labels]).flatten() {
            *file = dir.join(&*file);
        }
        if scenario.video.is_none() && scenario.positions.files().next().is_some() {
            return Err(Error::Config(format!("{}: positions need a `video` to be scored on", path.display())));
        }
        if scenario.video.is_some() && scenario.tracks.files().next().is_some() {
            return Err(Error::Config(format!(
                "{}: a recording is scored from its `video` or from its `tracks`, not both",
                path.display()
            )));
        }
        if scenario.labels.is_some() && !scenario.is_recording() {
            return Err(Error::Config(format!(
                "{}: `labels` label a recording: give its `video` or its `[tracks]`",
                path.display()
            )));
        }
        scenario.check().map_err(|m| Error::Config(format!("{}: {m}", path.display())))?;
        Ok(scenario)
    }

    /// A labelled recording given on the command line rather than in a file: `source` and its `labels`.
    pub fn recording(
        source: RecordingSource,
        labels: PathBuf,
        labels_format: Option<String>,
        fps: Option<f64>,
    ) -> Result<Scenario> {
        let (video, tracks) = match source {
            RecordingSource::Video(v) => (Some(v), Positions::default()),
            RecordingSource::Tracks(t) => (None, Positions { rat: Some(t), cat: None }),
        };
        let path = video.clone().or_else(|| tracks.rat.clone()).unwrap_or_default();
        let scenario = Scenario {
            name: path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            description: format!("{} labelled by {}", path.display(), labels.display()),
            duration_s: 0.0,
            frame: [0, 0],
            shelters: vec![],
            gaps: vec![],
            cat: None,
            rat: None,
            dog: None,
            truth: vec![],
            video,
            positions: Positions::default(),
            tracks,
            fps,
            labels: Some(labels),
            labels_format,
        };
        scenario.check().map_err(|m| Error::Config(format!("{}: {m}", path.display())))?;
        Ok(scenario)
    }

    /// A real (or rendered) recording scored from its video or tracks, not a description rendered here.
    pub fn is_recording(&self) -> bool {
        self.video.is_some() || self.tracks.files().next().is_some()
    }

    fn check(&self) -> std::result::Result<(), String> {
        let recording = self.is_recording();
        // A recording may leave its length and frame size to the recording itself.
        let length_ok = self.duration_s > 0.0 && self.duration_s.is_finite() || recording && self.duration_s == 0.0;
        if !length_ok {
            return Err(format!("duration_s must be positive, got {}", self.duration_s));
        }
        if (self.frame[0] == 0 || self.frame[1] == 0) && !(recording && self.frame == [0, 0]) {
            return Err("frame must be [width, height] in pixels".into());
        }
        if let Some(fps) = self.fps
            && !(fps > 0.0 && fps.is_finite())
        {
            return Err(format!("fps must be a positive number of frames per second, got {fps}"));
        }
        for (name, actor) in [("cat", &self.cat), ("rat", &self.rat), ("dog", &self.dog)] {
            let Some(a) = actor else { continue };
            if a.path.is_empty() {
                return Err(format!("{name}.path needs at least one keyframe [t, x, y, w, h]"));
            }
            if a.path.windows(2).any(|w| w[1][0] <= w[0][0]) {
                return Err(format!("{name}.path keyframe times must increase"));
            }
            if a.path.iter().any(|k| k[3] <= 0.0 || k[4] <= 0.0) {
                return Err(format!("{name}.path boxes need a positive width and height"));
            }
        }
        for t in &self.truth {
            if t.end_s < t.start_s {
                return Err(format!("truth {}: end_s before start_s", t.behaviour));
            }
        }
        Ok(())
    }

    /// `config` with this scenario's shelters (the owner would mark them in the config).
    pub fn config_for(&self, config: &BehaviourConfig) -> BehaviourConfig {
        let mut config = config.clone();
        if !self.shelters.is_empty() {
            config.hiding.shelters = self.shelters.iter().map(|r| Shelter::from(*r)).collect();
        }
        config
    }

    /// Seconds of the scenario in which no alarm-worthy behaviour is truly happening (calm footage, for
    /// false alarms per hour).
    pub fn quiet_seconds(&self) -> f64 {
        // The duration less the union of the alarm-worthy true intervals.
        let mut spans: Vec<(f64, f64)> = self
            .truth
            .iter()
            .filter(|i| i.behaviour != Behaviour::Calm)
            .map(|i| (i.start_s.max(0.0), i.end_s.min(self.duration_s)))
            .filter(|(a, b)| b > a)
            .collect();
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (mut covered, mut reach) = (0.0, 0.0f64);
        for (a, b) in spans {
            covered += (b - a.max(reach)).max(0.0);
            reach = reach.max(b);
        }
        self.duration_s - covered
    }
}

/// The scenario files named by `paths` (files, or directories of `*.toml`), sorted by name.
pub fn find(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|e| Error::io(p, e))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            return Err(Error::Config(format!("{}: no such scenario file or directory", p.display())));
        }
    }
    if files.is_empty() {
        return Err(Error::Config("no scenario files (*.toml) found in the paths given".into()));
    }
    Ok(files)
}

/// The bundled labelled recordings scored from tracks (`fixtures/recordings` files with `[tracks]` and
/// no video: quick to score) whose files are here; a missing one is named on stderr.
pub fn bundled_recordings_without_video() -> Vec<PathBuf> {
    let dir = bundled_dir().with_file_name("recordings");
    let Ok(files) = find(&[dir]) else { return Vec::new() };
    files
        .into_iter()
        .filter(|f| match Scenario::load(f) {
            Ok(s) if s.video.is_none() && s.tracks.files().next().is_some() => {
                let missing: Vec<_> =
                    s.tracks.files().map(|(_, p)| p).chain(&s.labels).filter(|p| !p.is_file()).collect();
                for p in &missing {
                    eprintln!("chaperone: {} not scored: {} is missing", f.display(), p.display());
                }
                missing.is_empty()
            }
            _ => false,
        })
        .collect()
}

/// The bundled scenarios: `fixtures/scenarios` in the working directory, else in the source tree.
pub fn bundled_dir() -> PathBuf {
    let here = PathBuf::from("fixtures/scenarios");
    if here.is_dir() { here } else { PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_follow_the_keyframes() {
        let a = Actor {
            path: vec![[0.0, 0.0, 0.0, 10.0, 10.0], [2.0, 100.0, 0.0, 30.0, 10.0]],
            wiggle: [0.0; 3],
            hidden: vec![],
        };
        assert_eq!(a.bbox_at(-1.0), BBox::new(0.0, 0.0, 10.0, 10.0));
        assert_eq!(a.bbox_at(1.0), BBox::new(50.0, 0.0, 70.0, 10.0));
        assert_eq!(a.bbox_at(5.0), BBox::new(100.0, 0.0, 130.0, 10.0));
    }

    #[test]
    fn bouts_written_in_seconds_to_three_decimals_keep_their_frames() {
        // Frames 3..=5 and 9 at 25 fps, written to three decimals as BORIS writes them.
        let bouts = [(0.120, 0.200), (0.360, 0.360)].map(|(start_s, end_s)| TruthInterval {
            behaviour: Behaviour::Freezing,
            start_s,
            end_s,
        });
        let frames: Vec<usize> = (0..20).filter(|&i| bouts.iter().any(|b| b.contains(i as f64 / 25.0))).collect();
        assert_eq!(frames, vec![3, 4, 5, 9]);
    }

    #[test]
    fn quiet_time_is_the_duration_less_overlapping_alarms() {
        let truth = |behaviour: Behaviour, start_s, end_s| TruthInterval { behaviour, start_s, end_s };
        let s = Scenario {
            name: String::new(),
            description: String::new(),
            duration_s: 10.0,
            frame: [640, 480],
            shelters: vec![],
            gaps: vec![],
            cat: None,
            rat: None,
            dog: None,
            truth: vec![
                truth(Behaviour::Approach, 2.0, 4.0),
                truth(Behaviour::Freezing, 3.0, 5.0),
                truth(Behaviour::Calm, 0.0, 10.0),
            ],
            video: None,
            positions: Positions::default(),
            tracks: Positions::default(),
            fps: None,
            labels: None,
            labels_format: None,
        };
        assert!((s.quiet_seconds() - 7.0).abs() < 1e-9, "{}", s.quiet_seconds());
    }
}
