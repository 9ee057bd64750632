//! `chaperone tune`: a coordinate search over the behaviour thresholds, scored on labelled scenarios.
//!
//! The goal, stated: the mean over the labelled behaviours of their event-level and per-frame F1 (an
//! alarm must come, and an episode must cover what the person labelled), less a penalty for every
//! alarm-worthy behaviour whose false alarms per quiet hour exceed a cap, and for a fast approach whose
//! alarm comes (p95) later than a cap after it starts. Candidates are scored on a training set of noisy
//! renderings and of labelled recordings; the result is reported on renderings with other noise and on
//! recordings the search never saw (held out whole, one fold at a time).

use serde::Serialize;

use crate::behaviour::BehaviourConfig;
use crate::eval::{self, Prepared, Report};
pub use crate::plot::pr::{CurvePoint, PrCurve};

/// One threshold the search may move, with the values it tries.
pub struct Param {
    pub key: &'static str,
    /// The behaviour it serves (its precision-recall curve is drawn over these values).
    pub behaviour: &'static str,
    pub values: &'static [f64],
    get: fn(&BehaviourConfig) -> f64,
    set: fn(&mut BehaviourConfig, f64),
}

impl Param {
    pub fn get(&self, c: &BehaviourConfig) -> f64 {
        (self.get)(c)
    }
    pub fn set(&self, c: &mut BehaviourConfig, v: f64) {
        (self.set)(c, v)
    }
    /// `config` with this parameter at each of its values in turn.
    pub fn candidates(&self, config: &BehaviourConfig) -> Vec<BehaviourConfig> {
        let with = |v: &f64| {
            let mut c = config.clone();
            self.set(&mut c, *v);
            c
        };
        self.values.iter().map(with).collect()
    }
}

macro_rules! param {
    ($key:literal, $behaviour:literal, [$($v:expr),+], $($field:ident).+) => {
        Param {
            key: $key,
            behaviour: $behaviour,
            values: &[$($v),+],
            get: |c| c.$($field).+ as f64,
            set: |c, v| c.$($field).+ = v as _,
        }
    };
}

/// The search space. The first parameter of each behaviour is the one its precision-recall curve sweeps.
pub const PARAMS: &[Param] = &[
    param!("approach.fast_speed", "approach", [0.8, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0], approach.fast_speed),
    param!("approach.window_s", "approach", [0.25, 0.4, 0.6], approach.window_s),
    param!("stalking.lowered_ratio", "stalking", [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95], stalking.lowered_ratio),
    param!("stalking.min_creep_speed", "stalking", [0.05, 0.1, 0.15, 0.2], stalking.min_creep_speed),
    param!("fixation.max_speed", "fixation", [0.05, 0.1, 0.15, 0.2, 0.3, 0.5], fixation.max_speed),
    param!("fixation.min_duration_s", "fixation", [2.0, 3.0, 4.0], fixation.min_duration_s),
    param!("freezing.max_speed", "freezing", [0.04, 0.08, 0.12, 0.16, 0.2, 0.3, 0.4], freezing.max_speed),
    param!("freezing.max_box_speed", "freezing", [0.06, 0.08, 0.12, 0.16, 0.2], freezing.max_box_speed),
    param!("freezing.smoothing_s", "freezing", [0.1, 0.15, 0.25, 0.4], freezing.smoothing_s),
    param!("freezing.lag_s", "freezing", [0.2, 0.3, 0.4], freezing.lag_s),
    param!("freezing.max_head_turn_deg_s", "freezing", [10.0, 15.0, 20.0, 30.0, 45.0], freezing.max_head_turn_deg_s),
    param!("hiding.min_duration_s", "hiding", [1.0, 2.0, 3.0, 4.0, 6.0], hiding.min_duration_s),
    param!("calm.min_gap", "calm", [1.0, 1.5, 2.0, 2.5, 3.0, 4.0], calm.min_gap),
    param!("calm.min_duration_s", "calm", [3.0, 5.0, 8.0], calm.min_duration_s),
    param!("visibility.rat_unseen_s", "rat_unseen", [2.0, 3.0, 5.0, 8.0], visibility.rat_unseen_s),
];

/// The caps in the goal.
#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    pub max_false_alarms_per_hour: f64,
    pub max_approach_latency_s: f64,
}

/// The goal's value for a report (higher is better).
pub fn objective(report: &Report, goal: &Goal) -> f64 {
    let labelled: Vec<_> = report.behaviours.iter().filter(|b| b.true_intervals > 0).collect();
    if labelled.is_empty() {
        return 0.0;
    }
    let mut value = labelled.iter().map(|b| (b.f1 + b.frame_f1) / 2.0).sum::<f64>() / labelled.len() as f64;
    for b in report.behaviours.iter().filter(|b| b.behaviour != "calm") {
        if b.false_alarms_per_hour > goal.max_false_alarms_per_hour {
            let excess = (b.false_alarms_per_hour - goal.max_false_alarms_per_hour) / goal.max_false_alarms_per_hour;
            value -= 0.1 * excess.min(5.0);
        }
        if b.behaviour == "approach" && b.latency_p95_s.is_some_and(|l| l > goal.max_approach_latency_s) {
            value -= 0.5;
        }
    }
    value
}

/// What a search did.
pub struct Tuned {
    pub config: BehaviourConfig,
    pub objective_before: f64,
    pub objective_after: f64,
    pub evaluations: usize,
    /// Parameters whose value changed: (key, before, after).
    pub changes: Vec<(&'static str, f64, f64)>,
}

/// Scores every candidate config on `threads` threads; the reports come back in order.
fn evaluate_all(train: &Prepared, candidates: &[BehaviourConfig], threads: usize) -> Vec<Report> {
    let chunk = candidates.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = candidates
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|c| eval::evaluate_prepared(train, c)).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("an evaluation thread panicked")).collect()
    })
}

/// Coordinate search from `start`: each parameter in turn takes the value that scores best (ties keep the
/// current one), for `rounds` passes.
pub fn search(train: &Prepared, start: &BehaviourConfig, goal: &Goal, rounds: usize, threads: usize) -> Tuned {
    let mut config = start.clone();
    let objective_before = objective(&eval::evaluate_prepared(train, &config), goal);
    let mut best = objective_before;
    let mut evaluations = 1;
    for _ in 0..rounds {
        let mut improved = false;
        for p in PARAMS {
            let candidates = p.candidates(&config);
            let reports = evaluate_all(train, &candidates, threads);
            evaluations += reports.len();
            for (c, r) in candidates.into_iter().zip(&reports) {
                let value = objective(r, goal);
                if value > best + 1e-9 {
                    best = value;
                    config = c;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
    let changes = PARAMS
        .iter()
        .filter(|p| (p.get(start) - p.get(&config)).abs() > 1e-9)
        .map(|p| (p.key, p.get(start), p.get(&config)))
        .collect();
    Tuned { config, objective_before, objective_after: best, evaluations, changes }
}

/// The most folds a cross-validation by recording makes: up to this many recordings, each is held out
/// alone (leave-one-recording-out); beyond, they are dealt into this many folds.
pub const MAX_FOLDS: usize = 10;

/// The held-out sets of a cross-validation over `recordings` recordings (by index): every recording is
/// held out exactly once, and a fold's training set is every recording not in it. A recording is never
/// split: its frames are all on one side.
pub fn folds(recordings: usize) -> Vec<Vec<usize>> {
    let count = recordings.min(MAX_FOLDS);
    (0..count).map(|f| (f..recordings).step_by(count).collect()).collect()
}

/// The recordings a fold trains on: all those it does not hold out.
pub fn trained_on(recordings: usize, held_out: &[usize]) -> Vec<usize> {
    (0..recordings).filter(|r| !held_out.contains(r)).collect()
}

/// Per behaviour, its precision and recall as one parameter sweeps its values: the first of its parameters
/// (in [`PARAMS`] order) that moves them on `train`. (Box-only scenarios do not feel the keypoints'
/// `freezing.max_speed`, for one, and the box centre's `max_box_speed` is swept instead.)
pub fn pr_curves(train: &Prepared, config: &BehaviourConfig, threads: usize) -> Vec<PrCurve> {
    let mut curves: Vec<PrCurve> = Vec::new();
    for p in PARAMS {
        let earlier = curves.iter().position(|c| c.behaviour == p.behaviour);
        if earlier.is_some_and(|k| !is_flat(&curves[k])) {
            continue;
        }
        let candidates = p.candidates(config);
        let reports = evaluate_all(train, &candidates, threads);
        let points = p
            .values
            .iter()
            .zip(&reports)
            .filter_map(|(v, r)| {
                let b = r.behaviours.iter().find(|b| b.behaviour == p.behaviour)?;
                Some(CurvePoint { value: *v, precision: b.precision, recall: b.recall })
            })
            .collect();
        let curve = PrCurve { behaviour: p.behaviour.into(), key: p.key.into(), chosen: p.get(config), points };
        match earlier {
            Some(k) if !is_flat(&curve) => curves[k] = curve,
            Some(_) => {}
            None => curves.push(curve),
        }
    }
    curves
}

/// Every value of the sweep gave the same precision and recall.
fn is_flat(curve: &PrCurve) -> bool {
    curve.points.windows(2).all(|w| (w[0].precision, w[0].recall) == (w[1].precision, w[1].recall))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recording_is_held_out_once_and_never_trained_on_in_its_fold() {
        for recordings in [2, 3, 7, 10, 11, 23] {
            let folds = folds(recordings);
            assert_eq!(folds.len(), recordings.min(MAX_FOLDS));
            let mut held: Vec<usize> = folds.iter().flatten().copied().collect();
            held.sort();
            assert_eq!(held, (0..recordings).collect::<Vec<_>>(), "each held out exactly once");
            for fold in &folds {
                let train = trained_on(recordings, fold);
                assert!(fold.iter().all(|r| !train.contains(r)), "a leak: {fold:?} in {train:?}");
                assert_eq!(train.len() + fold.len(), recordings);
            }
        }
        // Few recordings: leave one out.
        assert_eq!(folds(3), vec![vec![0], vec![1], vec![2]]);
    }
}
