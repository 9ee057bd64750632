//! SLEAP's exports: the analysis `.h5` (`tracks`: positions by track, x/y, node and frame, as SLEAP
//! writes it for MATLAB; `point_scores` likewise; `node_names`, `track_names`) and the CSV
//! (`track,frame_idx,instance.score,<node>.x,<node>.y,<node>.score,...`, a row per instance). A track
//! is an individual: `--individual` names it.

use std::collections::BTreeMap;
use std::path::Path;

use hdf5_metno as hdf5;

use super::h5::strings;
use super::pose::{PoseTrack, choose_individual};
use crate::error::{Error, Result};

/// One track's instances: frame -> its points there (position and score).
type Instances = BTreeMap<usize, Vec<(f32, f32, f32)>>;

/// A point SLEAP gives no score (a point a person placed) is trusted.
const UNSCORED: f32 = 1.0;

/// One track of an analysis file.
pub(super) fn from_analysis(file: &hdf5::File, individual: Option<&str>) -> std::result::Result<PoseTrack, String> {
    let words = |e: hdf5::Error| e.to_string();
    let nodes = strings(&file.dataset("node_names").map_err(words)?)?;
    let tracks = file.dataset("tracks").map_err(words)?;
    let shape = tracks.shape();
    // SLEAP writes (tracks, 2, nodes, frames) by default, (frames, nodes, 2, tracks) untransposed.
    let n = nodes.len();
    let (track_count, frame_count, transposed) = match *shape.as_slice() {
        [t, 2, nn, f] if nn == n => (t, f, true),
        [f, nn, 2, t] if nn == n => (t, f, false),
        _ => return Err(format!("`tracks` has shape {shape:?}, not tracks x 2 x {n} nodes x frames")),
    };
    let at = |track: usize, xy: usize, node: usize, frame: usize| match transposed {
        true => ((track * 2 + xy) * n + node) * frame_count + frame,
        false => ((frame * n + node) * 2 + xy) * track_count + track,
    };
    let mut names = match file.dataset("track_names") {
        Ok(names) => strings(&names)?,
        Err(_) => Vec::new(),
    };
    if names.len() != track_count {
        names = (0..track_count).map(|k| format!("track_{k}")).collect();
    }
    let track = choose_individual(&names, individual)?;
    let positions = tracks.read_raw::<f64>().map_err(words)?;
    // Scores are laid out as the positions are, without the x/y axis.
    let scores = match file.dataset("point_scores") {
        Ok(scores) if scores.shape().iter().product::<usize>() * 2 == positions.len() => {
            Some(scores.read_raw::<f64>().map_err(words)?)
        }
        _ => None,
    };
    let score_at = |node: usize, frame: usize| match (&scores, transposed) {
        (Some(s), true) => s[(track * n + node) * frame_count + frame] as f32,
        (Some(s), false) => s[(frame * n + node) * track_count + track] as f32,
        (None, _) => UNSCORED,
    };
    let frames = (0..frame_count)
        .map(|frame| {
            (0..n)
                .map(|node| {
                    let x = positions[at(track, 0, node, frame)] as f32;
                    let y = positions[at(track, 1, node, frame)] as f32;
                    let score = score_at(node, frame);
                    match x.is_finite() && y.is_finite() {
                        true => (x, y, if score.is_finite() { score } else { UNSCORED }),
                        false => (f32::NAN, f32::NAN, 0.0),
                    }
                })
                .collect()
        })
        .collect();
    Ok(PoseTrack { bodyparts: nodes, frames })
}

/// One track of a SLEAP CSV. Rows with no track (instances SLEAP's tracker did not assign) belong to
/// the animal only in a file that names no track at all.
pub fn read_csv(path: &Path, individual: Option<&str>) -> Result<PoseTrack> {
    let bad = |line: usize, what: String| {
        Error::format(
            path,
            format!(
                "line {line}: {what} (expected SLEAP's CSV: track, frame_idx, instance.score, then x, y, score per node)"
            ),
        )
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| Error::format(path, format!("cannot read it as CSV: {e}")))?;
    let header: Vec<String> =
        reader.headers().map_err(|e| bad(1, e.to_string()))?.iter().map(|h| h.trim().to_string()).collect();
    if header.len() < 6
        || header[..3] != ["track", "frame_idx", "instance.score"]
        || !(header.len() - 3).is_multiple_of(3)
    {
        return Err(bad(1, format!("the header is {}", header.join(","))));
    }
    let mut nodes = Vec::new();
    for (k, triple) in header[3..].chunks(3).enumerate() {
        let node = triple[0].strip_suffix(".x").unwrap_or_default();
        if node.is_empty() || triple[1] != format!("{node}.y") || triple[2] != format!("{node}.score") {
            return Err(bad(1, format!("node {} has columns {triple:?}, not <node>.x, <node>.y, <node>.score", k + 1)));
        }
        nodes.push(node.to_string());
    }
    // Per track (in the order first met): frame -> the points of its instance there.
    let mut tracks: Vec<(String, Instances)> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| bad(line, e.to_string()))?;
        let frame: usize = record[1]
            .trim()
            .parse()
            .map_err(|_| bad(line, format!("frame_idx `{}` is not a frame number", &record[1])))?;
        let number = |k: usize| record[k].trim().parse::<f32>().ok().filter(|v| v.is_finite());
        let points = (0..nodes.len())
            .map(|n| match (number(3 + 3 * n), number(4 + 3 * n)) {
                (Some(x), Some(y)) => (x, y, number(5 + 3 * n).unwrap_or(UNSCORED)),
                _ => (f32::NAN, f32::NAN, 0.0),
            })
            .collect();
        let name = record[0].trim().to_string();
        let k = match tracks.iter().position(|(n, _)| *n == name) {
            Some(k) => k,
            None => {
                tracks.push((name, BTreeMap::new()));
                tracks.len() - 1
            }
        };
        // A second instance of one track in one frame: the first one stands.
        tracks[k].1.entry(frame).or_insert(points);
    }
    if tracks.is_empty() {
        return Err(bad(2, "no instances after the header".into()));
    }
    let frame_count = tracks.iter().filter_map(|(_, t)| t.keys().last()).max().map_or(0, |f| f + 1);
    if tracks.iter().any(|(n, _)| !n.is_empty()) {
        tracks.retain(|(n, _)| !n.is_empty());
    }
    let names: Vec<String> = tracks.iter().map(|(n, _)| n.clone()).collect();
    let chosen = match (names.as_slice(), individual) {
        ([only], Some(name)) if only.is_empty() => {
            return Err(bad(2, format!("--individual {name}: this file names no tracks")));
        }
        _ => choose_individual(&names, individual).map_err(|m| bad(2, m))?,
    };
    let instances = &tracks[chosen].1;
    let unseen = vec![(f32::NAN, f32::NAN, 0.0); nodes.len()];
    let frames = (0..frame_count).map(|f| instances.get(&f).cloned().unwrap_or_else(|| unseen.clone())).collect();
    Ok(PoseTrack { bodyparts: nodes, frames })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sleap.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    const TWO_MICE: &str = "track,frame_idx,instance.score,nose.x,nose.y,nose.score,tail.x,tail.y,tail.score\n\
        black,0,0.9,10,20,0.95,60,20,0.9\n\
        white,0,0.8,100,200,0.7,150,200,0.6\n\
        black,2,0.9,12,20,0.95,,,\n\
        ,1,nan,1,1,,2,2,\n";

    #[test]
    fn a_track_is_an_individual_with_its_frames_in_place() {
        let (_g, path) = write(TWO_MICE);
        let black = read_csv(&path, Some("black")).unwrap();
        assert_eq!(black.bodyparts, vec!["nose", "tail"]);
        assert_eq!(black.frames.len(), 3, "frames 0 to 2");
        assert_eq!(black.frames[0], vec![(10.0, 20.0, 0.95), (60.0, 20.0, 0.9)]);
        assert!(black.frames[1][0].0.is_nan(), "frame 1 has no black instance (only an unassigned one)");
        assert_eq!(black.frames[2][0], (12.0, 20.0, 0.95));
        assert!(black.frames[2][1].0.is_nan(), "an empty point is not seen");
        let white = read_csv(&path, Some("white")).unwrap();
        assert_eq!(white.frames[0][1], (150.0, 200.0, 0.6));
        let err = read_csv(&path, None).unwrap_err().to_string();
        assert!(err.contains("--individual (black, white)"), "{err}");
    }

    #[test]
    fn an_untracked_file_is_one_animal_and_an_unscored_point_is_trusted() {
        let (_g, path) =
            write("track,frame_idx,instance.score,A.x,A.y,A.score,B.x,B.y,B.score\n,0,nan,205.9,187.8,,278.6,203.3,\n");
        let t = read_csv(&path, None).unwrap();
        assert_eq!(t.frames, vec![vec![(205.9, 187.8, UNSCORED), (278.6, 203.3, UNSCORED)]]);
        let err = read_csv(&path, Some("a")).unwrap_err().to_string();
        assert!(err.contains("names no tracks"), "{err}");
    }

    #[test]
    fn a_foreign_csv_is_refused_naming_what_was_expected() {
        let (_g, path) = write("track,frame_idx,instance.score,A.x,A.y,B.score\n,0,1,1,1,1\n");
        let err = read_csv(&path, None).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("<node>.x, <node>.y, <node>.score"), "{err}");
    }
}
