//! Scoring the behaviour engine against ground truth: labelled scenarios rendered with variations (see
//! [`crate::scenario`]), per behaviour.
//!
//! - Event level: a predicted episode counts when it overlaps a true interval of its behaviour (within
//!   `MATCH_TOLERANCE_S`); precision is over predicted episodes, recall over true intervals.
//! - Per frame: agreement of "an episode of this behaviour is running" with "it is truly happening".
//! - Latency: from a true interval's start to the confirmation of the first episode matching it (the
//!   alarm time).
//! - False alarms per hour: predicted episodes of an alarm-worthy behaviour that match no true interval,
//!   per hour of footage in which nothing alarm-worthy truly happens.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::behaviour::engine;
use crate::behaviour::{BehaviourConfig, Episode, Moment};
use crate::config::Config;
use crate::detect::Detector;
use crate::error::{Error, Result};
use crate::kinds::Behaviour;
use crate::labels::{LabelFile, LabelFormat, PoseConfig};
use crate::pipeline::quantile;
use crate::replay::{self, FrameScores, ReplayTrack};
use crate::runs::recording::{self, RecordingOptions};
use crate::scenario::{Scenario, TruthInterval};
pub use positions::{PositionScore, ReferencePositions};

pub mod positions;
use crate::scenario::tracks::{self, Variation};

/// A predicted episode may start or end this close to a true interval and still match it, seconds
/// (onsets are back-dated estimates; ends lag by the grace times).
pub const MATCH_TOLERANCE_S: f64 = 1.0;

/// Counts for one behaviour, summed over runs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    pub true_intervals: usize,
    pub intervals_found: usize,
    pub predicted: usize,
    pub predicted_matching: usize,
    pub frames: usize,
    pub frames_agreeing: usize,
    /// Frames labelled true, frames predicted, and frames both (for the per-frame F1).
    pub frames_true: usize,
    pub frames_predicted: usize,
    pub frames_both: usize,
    /// Seconds from each found interval's start to its alarm.
    pub latencies_s: Vec<f64>,
    /// Predicted episodes matching nothing.
    pub false_alarms: usize,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.true_intervals += other.true_intervals;
        self.intervals_found += other.intervals_found;
        self.predicted += other.predicted;
        self.predicted_matching += other.predicted_matching;
        self.frames += other.frames;
        self.frames_agreeing += other.frames_agreeing;
        self.frames_true += other.frames_true;
        self.frames_predicted += other.frames_predicted;
        self.frames_both += other.frames_both;
        self.latencies_s.extend(other.latencies_s);
        self.false_alarms += other.false_alarms;
    }
}

/// Scores of one behaviour.
#[derive(Debug, Clone, Serialize)]
pub struct BehaviourScore {
    pub behaviour: String,
    pub true_intervals: usize,
    pub predicted: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub frame_agreement: f64,
    /// Per-frame F1: of the frames labelled true and the frames predicted, how many are both.
    pub frame_f1: f64,
    pub latency_median_s: Option<f64>,
    pub latency_p95_s: Option<f64>,
    pub false_alarms: usize,
    pub false_alarms_per_hour: f64,
    /// The counts behind the scores.
    #[serde(skip)]
    pub tally: Tally,
}

/// The result of an evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenarios: usize,
    pub runs: usize,
    /// Hours of footage in which nothing alarm-worthy truly happens.
    pub quiet_hours: f64,
    pub behaviours: Vec<BehaviourScore>,
    /// Per scenario, what went wrong: true intervals missed and false alarms, per behaviour, over its runs.
    pub mistakes: Vec<ScenarioMistakes>,
    /// Labelled recordings with reference positions: where the boxes were, per animal.
    pub positions: Vec<PositionScore>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioMistakes {
    pub scenario: String,
    pub runs: usize,
    /// Behaviour -> true intervals missed, over all runs.
    pub missed: BTreeMap<String, usize>,
    /// Behaviour -> predicted episodes matching nothing, over all runs.
    pub false_alarms: BTreeMap<String, usize>,
}

/// Runs the engine on moments; every episode, ended at the last moment.
pub fn episodes(moments: &[Moment], config: &BehaviourConfig) -> Vec<Episode> {
    engine::run_recorded(config, moments, |_| Ok(()))
        .map(|r| r.episodes)
        .expect("a replay that writes nothing cannot fail")
}

/// Adds one run of `scenario` (its frames' times and the episodes predicted on them) to `tallies`.
pub fn tally_run(scenario: &Scenario, times: &[f64], predicted: &[Episode], tallies: &mut BTreeMap<String, Tally>) {
    let tol = MATCH_TOLERANCE_S;
    let overlaps =
        |e: &Episode, start: f64, end: f64| e.onset_s <= end + tol && e.end_s.unwrap_or(f64::MAX) >= start - tol;
    let mut names: Vec<&str> = scenario.truth.iter().map(|t| t.behaviour.name()).collect();
    names.extend(predicted.iter().map(|e| e.behaviour.name()));
    names.sort();
    names.dedup();
    for name in names {
        let tally = tallies.entry(name.to_string()).or_default();
        let truths: Vec<_> = scenario.truth.iter().filter(|t| t.behaviour.name() == name).collect();
        let mine: Vec<&Episode> = predicted.iter().filter(|e| e.behaviour.name() == name).collect();
        tally.true_intervals += truths.len();
        tally.predicted += mine.len();
        for t in &truths {
            let first = mine.iter().filter(|e| overlaps(e, t.start_s, t.end_s)).map(|e| e.confirmed_s).reduce(f64::min);
            if let Some(alarm) = first {
                tally.intervals_found += 1;
                tally.latencies_s.push((alarm - t.start_s).max(0.0));
            }
        }
        for e in &mine {
            if truths.iter().any(|t| overlaps(e, t.start_s, t.end_s)) {
                tally.predicted_matching += 1;
            } else {
                tally.false_alarms += 1;
            }
        }
        for &t in times {
            let truly = truths.iter().any(|i| i.contains(t));
            let running = mine.iter().any(|e| t >= e.onset_s && t <= e.end_s.unwrap_or(f64::MAX));
            tally.frames += 1;
            tally.frames_agreeing += (truly == running) as usize;
            tally.frames_true += truly as usize;
            tally.frames_predicted += running as usize;
            tally.frames_both += (truly && running) as usize;
        }
    }
}

/// Scores from tallies; `quiet_hours` of footage without true alarm-worthy behaviour.
pub fn scores(tallies: &BTreeMap<String, Tally>, quiet_hours: f64) -> Vec<BehaviourScore> {
    tallies
        .iter()
        .map(|(name, t)| {
            let ratio = |a: usize, b: usize| if b == 0 { if a == 0 { 1.0 } else { 0.0 } } else { a as f64 / b as f64 };
            let precision = ratio(t.predicted_matching, t.predicted);
            let recall = ratio(t.intervals_found, t.true_intervals);
            let f1_of = |p: f64, r: f64| if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
            let f1 = f1_of(precision, recall);
            let frame_f1 = f1_of(ratio(t.frames_both, t.frames_predicted), ratio(t.frames_both, t.frames_true));
            let mut lat = t.latencies_s.clone();
            lat.sort_by(f64::total_cmp);
            BehaviourScore {
                behaviour: name.clone(),
                true_intervals: t.true_intervals,
                predicted: t.predicted,
                precision,
                recall,
                f1,
                frame_agreement: ratio(t.frames_agreeing, t.frames),
                frame_f1,
                latency_median_s: quantile(&lat, 0.5),
                latency_p95_s: quantile(&lat, 0.95),
                false_alarms: t.false_alarms,
                false_alarms_per_hour: if quiet_hours > 0.0 { t.false_alarms as f64 / quiet_hours } else { 0.0 },
                tally: t.clone(),
            }
        })
        .collect()
}

/// Scenarios rendered once, to be scored under many configs (tuning).
pub struct Prepared {
    pub scenarios: Vec<Scenario>,
    /// Per scenario, the moments of each of its renderings.
    pub runs: Vec<Vec<Vec<Moment>>>,
}

impl Prepared {
    /// The scenarios of `self` whose indices `keep` says, in order.
    pub fn subset(&self, keep: &[usize]) -> Prepared {
        Prepared {
            scenarios: keep.iter().map(|&k| self.scenarios[k].clone()).collect(),
            runs: keep.iter().map(|&k| self.runs[k].clone()).collect(),
        }
    }

    /// `self` and `other` as one set.
    pub fn joined(&self, other: &Prepared) -> Prepared {
        let mut joined = Prepared { scenarios: self.scenarios.clone(), runs: self.runs.clone() };
        joined.scenarios.extend(other.scenarios.iter().cloned());
        joined.runs.extend(other.runs.iter().cloned());
        joined
    }
}

/// Renders every scenario with each of `variations`.
pub fn prepare(scenarios: &[Scenario], variations: &[Variation]) -> Prepared {
    let runs = scenarios.iter().map(|s| variations.iter().map(|v| tracks::render(s, v)).collect()).collect();
    Prepared { scenarios: scenarios.to_vec(), runs }
}

/// Evaluates `config` on every scenario, each rendered ideally and with `variations`.
pub fn evaluate(scenarios: &[Scenario], variations: &[Variation], config: &BehaviourConfig) -> Report {
    let all: Vec<Variation> = std::iter::once(Variation::ideal()).chain(variations.iter().cloned()).collect();
    evaluate_prepared(&prepare(scenarios, &all), config)
}

/// Evaluates `config` on scenarios already rendered.
pub fn evaluate_prepared(prepared: &Prepared, config: &BehaviourConfig) -> Report {
    let mut acc = Accumulator::default();
    for (scenario, renderings) in prepared.scenarios.iter().zip(&prepared.runs) {
        let config = scenario.config_for(config);
        acc.add(
            scenario,
            renderings.iter().map(|moments| {
                let times: Vec<f64> = moments.iter().map(|m| m.time_s).collect();
                (times, episodes(moments, &config))
            }),
        );
    }
    acc.report()
}

/// Two reports as one: the scenarios rendered into tracks and those run through the pipeline on video.
/// Scores are recomputed from the summed counts.
pub fn merge(a: Report, b: Report) -> Report {
    let quiet_hours = a.quiet_hours + b.quiet_hours;
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for score in a.behaviours.iter().chain(&b.behaviours) {
        tallies.entry(score.behaviour.clone()).or_default().add(score.tally.clone());
    }
    let mut mistakes = a.mistakes;
    mistakes.extend(b.mistakes);
    let mut positions = a.positions;
    positions.extend(b.positions);
    Report {
        scenarios: a.scenarios + b.scenarios,
        runs: a.runs + b.runs,
        quiet_hours,
        behaviours: scores(&tallies, quiet_hours),
        mistakes,
        positions,
    }
}

/// Tallies gathered scenario by scenario, from rendered tracks or from whole-pipeline runs on video.
#[derive(Default)]
pub struct Accumulator {
    tallies: BTreeMap<String, Tally>,
    quiet_s: f64,
    runs: usize,
    scenarios: usize,
    mistakes: Vec<ScenarioMistakes>,
    positions: Vec<PositionScore>,
}

impl Accumulator {
    /// Adds a recording's position scores.
    pub fn add_positions(&mut self, scores: Vec<PositionScore>) {
        self.positions.extend(scores);
    }

    /// Adds a scenario's runs: per run, the analysed frames' times and the predicted episodes.
    pub fn add(&mut self, scenario: &Scenario, runs: impl Iterator<Item = (Vec<f64>, Vec<Episode>)>) {
        let quiet = scenario.quiet_seconds();
        let mut mine = BTreeMap::new();
        let mut count = 0;
        for (times, predicted) in runs {
            tally_run(scenario, &times, &predicted, &mut mine);
            self.quiet_s += quiet;
            count += 1;
        }
        let wrong = |f: fn(&Tally) -> usize| -> BTreeMap<String, usize> {
            mine.iter().map(|(k, t)| (k.clone(), f(t))).filter(|(_, n)| *n > 0).collect()
        };
        self.mistakes.push(ScenarioMistakes {
            scenario: scenario.name.clone(),
            runs: count,
            missed: wrong(|t| t.true_intervals - t.intervals_found),
            false_alarms: wrong(|t| t.false_alarms),
        });
        for (name, t) in mine {
            self.tallies.entry(name).or_default().add(t);
        }
        self.runs += count;
        self.scenarios += 1;
    }

    pub fn report(self) -> Report {
        let quiet_hours = self.quiet_s / 3600.0;
        let behaviours = scores(&self.tallies, quiet_hours);
        Report {
            scenarios: self.scenarios,
            runs: self.runs,
            quiet_hours,
            behaviours,
            mistakes: self.mistakes,
            positions: self.positions,
        }
    }
}

/// What a labelled recording's run gave.
pub struct RecordingRun {
    /// The analysed frames' times (their own timestamps).
    pub times: Vec<f64>,
    pub episodes: Vec<Episode>,
    /// Where the boxes were, per animal with reference positions.
    pub positions: Vec<PositionScore>,
}

/// Per-frame scores of one labelled behaviour on one recording.
#[derive(Debug, Clone, Serialize)]
pub struct RecordingScore {
    pub recording: String,
    pub behaviour: String,
    pub labelled_bouts: usize,
    #[serde(flatten)]
    pub scores: FrameScores,
}

/// A labelled recording (a scenario with `video`) through the whole pipeline, as `analyze` runs it.
pub fn video_run(scenario: &Scenario, config: &Config, detector: &mut dyn Detector) -> Result<RecordingRun> {
    let video = scenario.video.as_ref().ok_or_else(|| Error::Config(format!("{}: no video", scenario.name)))?;
    let mut config = config.clone();
    config.behaviour = scenario.config_for(&config.behaviour);
    let out = std::env::temp_dir().join(format!("chaperone-eval-{}-{}", std::process::id(), scenario.name));
    let options = RecordingOptions {
        annotated_video: false,
        image_fps: 10.0,
        progress: false,
        view: None,
        keep_frame_boxes: true,
    };
    let analysed = recording::analyse(video, &out, &config, detector, &options);
    let _ = std::fs::remove_dir_all(&out);
    let analysed = analysed?;
    let mut positions = Vec::new();
    for (role, file) in scenario.positions.files() {
        let reference = ReferencePositions::read(file)?;
        positions.push(positions::score(&scenario.name, role, &reference, &analysed.frames));
    }
    Ok(RecordingRun {
        times: analysed.frames.iter().map(|f| f.time_s).collect(),
        episodes: analysed.summary.episodes,
        positions,
    })
}

/// A labelled recording of tracks (a scenario with `[tracks]`) replayed through the behaviour engine, as
/// `analyze-tracks` runs it.
pub fn tracks_run(scenario: &Scenario, config: &BehaviourConfig, pose: &PoseConfig) -> Result<RecordingRun> {
    let moments = recording_moments(scenario, pose)?;
    let episodes = episodes(&moments, &scenario.config_for(config));
    Ok(RecordingRun { times: moments.iter().map(|m| m.time_s).collect(), episodes, positions: Vec::new() })
}

/// What the behaviour engine sees of a labelled recording of tracks, frame by frame.
fn recording_moments(scenario: &Scenario, pose: &PoseConfig) -> Result<Vec<Moment>> {
    let mut tracks = Vec::new();
    for (role, file) in scenario.tracks.files() {
        tracks.push(match scenario.fps {
            _ if !replay::is_pose_file(file)? => ReplayTrack::from_tracks_csv(file, role)?,
            Some(fps) => {
                let choice =
                    replay::PoseChoice { individual: pose.individual(role), min_likelihood: pose.min_likelihood };
                ReplayTrack::from_pose(file, fps, role, choice)?
            }
            None => {
                return Err(Error::Config(format!(
                    "{}: pose tracks (DeepLabCut, SLEAP) count frames: give the recording's `fps`",
                    scenario.name
                )));
            }
        });
    }
    let refs: Vec<&ReplayTrack> = tracks.iter().collect();
    let frame_size = (scenario.frame != [0, 0]).then_some((scenario.frame[0], scenario.frame[1]));
    Ok(replay::moments(&refs, frame_size))
}

/// Labelled recordings of tracks read once, to be scored under many configs (tuning): each one a
/// scenario whose truth is its labels, with its one run.
pub fn prepare_recordings(recordings: &[Scenario], config: &Config) -> Result<Prepared> {
    let mut prepared = Prepared { scenarios: Vec::new(), runs: Vec::new() };
    for recording in recordings {
        let moments = recording_moments(recording, &config.pose)?;
        let times: Vec<f64> = moments.iter().map(|m| m.time_s).collect();
        prepared.scenarios.push(labelled(recording, config, &times)?);
        prepared.runs.push(vec![moments]);
    }
    Ok(prepared)
}

/// `scenario` with its `labels` file's bouts in its truth and its length from `times`: what a labelled
/// recording is scored against.
pub fn labelled(scenario: &Scenario, config: &Config, times: &[f64]) -> Result<Scenario> {
    let mut scenario = scenario.clone();
    if let (Some(first), Some(last)) = (times.first(), times.last())
        && scenario.duration_s == 0.0
    {
        scenario.duration_s = last - first + frame_interval(times).unwrap_or(0.0);
    }
    let Some(path) = &scenario.labels else { return Ok(scenario) };
    let format = scenario.labels_format.as_deref().map(LabelFormat::from_name).transpose()?;
    let file = LabelFile::read(path, format)?;
    let fps = scenario.fps.or_else(|| frame_interval(times).map(|dt| 1.0 / dt));
    let recording = scenario.video.clone().or_else(|| scenario.tracks.files().next().map(|(_, p)| p.clone()));
    let resolved = file.resolve(&config.labels, recording.as_deref(), fps)?;
    if resolved.bouts.is_empty() {
        return Err(Error::format(
            path,
            "no bout of any behaviour of chaperone's: map the file's names in the config's [labels.behaviours] (`chaperone labels FILE` lists them)",
        ));
    }
    let bouts = resolved.bouts.iter();
    scenario.truth.extend(bouts.map(|b| TruthInterval { behaviour: b.behaviour, start_s: b.start_s, end_s: b.end_s }));
    Ok(scenario)
}

/// The median time between frames.
fn frame_interval(times: &[f64]) -> Option<f64> {
    let mut gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).filter(|g| *g > 0.0).collect();
    gaps.sort_by(f64::total_cmp);
    quantile(&gaps, 0.5)
}

/// Per-frame scores of `behaviour`'s episodes against its true intervals, over the frames at `times`.
pub fn frame_scores(behaviour: Behaviour, truth: &[TruthInterval], times: &[f64], episodes: &[Episode]) -> FrameScores {
    let truths: Vec<&TruthInterval> = truth.iter().filter(|t| t.behaviour == behaviour).collect();
    let mine: Vec<&Episode> = episodes.iter().filter(|e| e.behaviour == behaviour).collect();
    let mut counts = replay::FrameCounts::default();
    for &t in times {
        let truly = truths.iter().any(|i| i.contains(t));
        counts.add(mine.iter().any(|e| t >= e.onset_s && t <= e.end_s.unwrap_or(f64::MAX)), truly);
    }
    counts.scores(times.len())
}

/// Per-frame scores of each labelled behaviour of a recording's run.
pub fn recording_scores(scenario: &Scenario, run: &RecordingRun) -> Vec<RecordingScore> {
    let mut labelled: Vec<Behaviour> = scenario.truth.iter().map(|t| t.behaviour).collect();
    labelled.sort();
    labelled.dedup();
    labelled
        .into_iter()
        .map(|behaviour| RecordingScore {
            recording: scenario.name.clone(),
            behaviour: behaviour.name().to_string(),
            labelled_bouts: scenario.truth.iter().filter(|t| t.behaviour == behaviour).count(),
            scores: frame_scores(behaviour, &scenario.truth, &run.times, &run.episodes),
        })
        .collect()
}

/// The report as a table.
pub fn table(report: &Report) -> String {
    let mut out = format!(
        "{} scenarios, {} runs, {:.2} h of quiet footage\n{:<12} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>15} {:>9}\n",
        report.scenarios,
        report.runs,
        report.quiet_hours,
        "behaviour",
        "truths",
        "found",
        "P",
        "R",
        "F1",
        "frames",
        "latency med/p95",
        "FA/hour"
    );
    let s = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    for b in &report.behaviours {
        out += &format!(
            "{:<12} {:>6} {:>6} {:>6.3} {:>6.3} {:>6.3} {:>7.3} {:>15} {:>9.1}\n",
            b.behaviour,
            b.true_intervals,
            b.predicted,
            b.precision,
            b.recall,
            b.f1,
            b.frame_agreement,
            format!("{} / {} s", s(b.latency_median_s), s(b.latency_p95_s)),
            b.false_alarms_per_hour
        );
    }
    let wrong: Vec<String> = report
        .mistakes
        .iter()
        .filter(|m| !m.missed.is_empty() || !m.false_alarms.is_empty())
        .map(|m| {
            let list = |map: &BTreeMap<String, usize>| {
                map.iter().map(|(b, n)| format!("{b} {n}")).collect::<Vec<_>>().join(", ")
            };
            let mut line = format!("  {} ({} runs):", m.scenario, m.runs);
            if !m.missed.is_empty() {
                line += &format!(" missed {}", list(&m.missed));
            }
            if !m.false_alarms.is_empty() {
                line += &format!(" false {}", list(&m.false_alarms));
            }
            line
        })
        .collect();
    if !wrong.is_empty() {
        out += &format!("mistakes:\n{}\n", wrong.join("\n"));
    }
    out + &positions::table(&report.positions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episode(behaviour: Behaviour, onset_s: f64, confirmed_s: f64, end_s: f64) -> Episode {
        Episode { end_s: Some(end_s), ..Episode::new(behaviour, crate::kinds::Role::Cat, onset_s, confirmed_s) }
    }

    /// One run scored by hand: a found approach and a false one, a freezing found late (within the
    /// tolerance), a stalk where nothing was true.
    #[test]
    fn a_run_is_tallied_and_scored_as_counted_by_hand() {
        let scenario: Scenario = toml::from_str(
            "duration_s = 20.0\nframe = [640, 480]\n\
             [[truth]]\nbehaviour = \"approach\"\nstart_s = 5.0\nend_s = 7.0\n\
             [[truth]]\nbehaviour = \"freezing\"\nstart_s = 10.0\nend_s = 14.0\n",
        )
        .unwrap();
        let predicted = [
            episode(Behaviour::Approach, 5.2, 5.5, 6.5),
            episode(Behaviour::Approach, 15.0, 15.2, 16.0),
            episode(Behaviour::Freezing, 14.8, 15.5, 16.0),
            episode(Behaviour::Stalking, 2.0, 3.0, 4.0),
        ];
        let times: Vec<f64> = (0..=20).map(f64::from).collect();
        let mut tallies = BTreeMap::new();
        tally_run(&scenario, &times, &predicted, &mut tallies);

        let approach = &tallies["approach"];
        assert_eq!((approach.true_intervals, approach.intervals_found), (1, 1));
        assert_eq!((approach.predicted, approach.predicted_matching, approach.false_alarms), (2, 1, 1));
        assert_eq!(approach.latencies_s, vec![0.5]);
        // True at 5, 6, 7; running at 6, 15, 16: 4 of the 21 frames disagree.
        assert_eq!((approach.frames, approach.frames_agreeing), (21, 17));
        let freezing = &tallies["freezing"];
        assert_eq!((freezing.intervals_found, freezing.predicted_matching, freezing.false_alarms), (1, 1, 0));
        assert_eq!(freezing.latencies_s, vec![5.5]);
        assert_eq!(freezing.frames_agreeing, 14);
        let stalking = &tallies["stalking"];
        assert_eq!((stalking.true_intervals, stalking.predicted, stalking.false_alarms), (0, 1, 1));

        let scores = scores(&tallies, 0.5);
        let of = |name: &str| scores.iter().find(|s| s.behaviour == name).unwrap();
        let a = of("approach");
        assert_eq!((a.precision, a.recall), (0.5, 1.0));
        assert!((a.f1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!((a.latency_median_s, a.false_alarms_per_hour), (Some(0.5), 2.0));
        assert!((a.frame_agreement - 17.0 / 21.0).abs() < 1e-12);
        // Frames true 5, 6, 7 and predicted 6, 15, 16: one of three each way.
        assert_eq!((a.tally.frames_true, a.tally.frames_predicted, a.tally.frames_both), (3, 3, 1));
        assert!((a.frame_f1 - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(of("freezing").frame_f1, 0.0, "running only after the true frames");
        let s = of("stalking");
        assert_eq!((s.precision, s.recall, s.f1), (0.0, 1.0, 0.0), "nothing true, one false alarm");
        assert_eq!(s.latency_median_s, None);
    }

    /// An episode just past the tolerance of a true interval matches nothing: a miss and a false alarm.
    #[test]
    fn an_episode_beyond_the_tolerance_is_a_miss_and_a_false_alarm() {
        let scenario: Scenario = toml::from_str(
            "duration_s = 10.0\nframe = [640, 480]\n[[truth]]\nbehaviour = \"hiding\"\nstart_s = 2.0\nend_s = 4.0\n",
        )
        .unwrap();
        let late = [episode(Behaviour::Hiding, 4.0 + MATCH_TOLERANCE_S + 0.01, 5.5, 6.0)];
        let mut tallies = BTreeMap::new();
        tally_run(&scenario, &[0.0, 5.0], &late, &mut tallies);
        let h = &tallies["hiding"];
        assert_eq!((h.intervals_found, h.predicted_matching, h.false_alarms), (0, 0, 1));
        let score = &scores(&tallies, 1.0)[0];
        assert_eq!((score.precision, score.recall, score.f1), (0.0, 0.0, 0.0));
    }

    /// An episode that ends shortly before a true interval starts (within the tolerance) still matches it.
    #[test]
    fn an_episode_just_before_a_true_interval_matches_it() {
        let scenario: Scenario = toml::from_str(
            "duration_s = 20.0\nframe = [640, 480]\n[[truth]]\nbehaviour = \"freezing\"\nstart_s = 10.0\nend_s = 14.0\n",
        )
        .unwrap();
        let early = [episode(Behaviour::Freezing, 8.5, 9.0, 9.5)];
        let mut tallies = BTreeMap::new();
        tally_run(&scenario, &[0.0], &early, &mut tallies);
        let f = &tallies["freezing"];
        assert_eq!((f.intervals_found, f.predicted_matching, f.false_alarms), (1, 1, 0));
    }

    /// Two scenarios' tallies add up, count by count.
    #[test]
    fn the_accumulator_sums_each_count_over_scenarios() {
        let scenario = |truths: &str| -> Scenario {
            toml::from_str(&format!("duration_s = 20.0\nframe = [640, 480]\n{truths}")).unwrap()
        };
        let truth =
            |start: f64| format!("[[truth]]\nbehaviour = \"approach\"\nstart_s = {start}\nend_s = {}\n", start + 1.0);
        let one = scenario(&truth(5.0));
        let three = scenario(&(truth(2.0) + &truth(8.0) + &truth(14.0)));
        let times: Vec<f64> = (0..=20).map(f64::from).collect();
        let mut acc = Accumulator::default();
        acc.add(&one, std::iter::once((times.clone(), vec![episode(Behaviour::Approach, 5.0, 5.5, 6.0)])));
        let predicted = vec![
            episode(Behaviour::Approach, 2.0, 2.25, 3.0),
            episode(Behaviour::Approach, 8.0, 8.75, 9.0),
            episode(Behaviour::Approach, 17.0, 17.5, 18.0),
        ];
        acc.add(&three, std::iter::once((times.clone(), predicted)));
        let report = acc.report();
        let t = &report.behaviours.iter().find(|b| b.behaviour == "approach").unwrap().tally;
        assert_eq!((t.true_intervals, t.intervals_found), (4, 3));
        assert_eq!((t.predicted, t.predicted_matching, t.false_alarms), (4, 3, 1));
        assert_eq!(t.frames, 42);
        // Disagreeing frames: none in the first (5, 6 both ways); the second: truly 14, 15, running at 17, 18.
        assert_eq!(t.frames_agreeing, 42 - 4);
        assert_eq!(t.latencies_s, vec![0.5, 0.25, 0.75]);
        assert_eq!((report.scenarios, report.runs), (2, 2));
    }

    /// A labelled recording's per-frame scores, counted by hand: per labelled behaviour only.
    #[test]
    fn a_recording_is_scored_frame_by_frame_per_labelled_behaviour() {
        let scenario: Scenario = toml::from_str(
            "duration_s = 10.0\nframe = [640, 480]\n\
             [[truth]]\nbehaviour = \"freezing\"\nstart_s = 2.0\nend_s = 5.0\n\
             [[truth]]\nbehaviour = \"hiding\"\nstart_s = 7.0\nend_s = 8.0\n",
        )
        .unwrap();
        let run = RecordingRun {
            times: (0..10).map(f64::from).collect(),
            // Freezing predicted at 4..=6 (true 2..=5), a stalk nobody labelled.
            episodes: vec![episode(Behaviour::Freezing, 4.0, 4.5, 6.0), episode(Behaviour::Stalking, 0.0, 1.0, 9.0)],
            positions: Vec::new(),
        };
        let scores = recording_scores(&scenario, &run);
        let names: Vec<&str> = scores.iter().map(|s| s.behaviour.as_str()).collect();
        assert_eq!(names, ["freezing", "hiding"]);
        let f = &scores[0];
        assert_eq!((f.labelled_bouts, f.scores.frames), (1, 10));
        // True 2, 3, 4, 5; predicted 4, 5, 6: tp 2, fp 1, fn 2; agreeing 10 - 3.
        assert!((f.scores.precision - 2.0 / 3.0).abs() < 1e-12 && (f.scores.recall - 0.5).abs() < 1e-12, "{f:?}");
        assert!((f.scores.agreement - 0.7).abs() < 1e-12, "{f:?}");
        let h = &scores[1];
        assert_eq!((h.scores.precision, h.scores.recall, h.scores.agreement), (0.0, 0.0, 0.8));
    }

    /// A tracks recording is replayed from this program's tracks.csv as from a DeepLabCut file (which
    /// needs its frame rate).
    #[test]
    fn a_tracks_recording_reads_tracks_csv_and_deeplabcut_files() {
        let dir = tempfile::tempdir().unwrap();
        let tracks_csv = dir.path().join("tracks.csv");
        let mut text = format!("{}\n", crate::output::tracks_csv::HEADER);
        for i in 0..50 {
            text += &format!("{:.2},{i},1,rat,100,100,140,120,0.6\n", i as f64 / 25.0);
        }
        std::fs::write(&tracks_csv, text).unwrap();
        let dlc = dir.path().join("dlc.csv");
        let mut text = "scorer,s,s,s,s,s,s\nbodyparts,nose,nose,nose,tailbase,tailbase,tailbase\ncoords,x,y,likelihood,x,y,likelihood\n".to_string();
        for i in 0..50 {
            text += &format!("{i},140,110,0.99,100,110,0.99\n");
        }
        std::fs::write(&dlc, text).unwrap();
        let recording = |file: &std::path::Path, fps: Option<f64>| {
            let mut s: Scenario = toml::from_str("").unwrap();
            s.tracks.rat = Some(file.to_path_buf());
            s.fps = fps;
            s
        };
        let run =
            tracks_run(&recording(&tracks_csv, None), &BehaviourConfig::default(), &PoseConfig::default()).unwrap();
        assert_eq!(run.times.len(), 50);
        assert!((run.times[49] - 1.96).abs() < 1e-9);
        let run =
            tracks_run(&recording(&dlc, Some(10.0)), &BehaviourConfig::default(), &PoseConfig::default()).unwrap();
        assert_eq!((run.times.len(), run.times[49]), (50, 4.9));
        let err = tracks_run(&recording(&dlc, None), &BehaviourConfig::default(), &PoseConfig::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("fps"), "{err}");
    }
}
