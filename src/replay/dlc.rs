//! DeepLabCut pose CSV: header rows `scorer`, (for multi-animal projects) `individuals`, `bodyparts`
//! and `coords`, then one row per frame: the frame index, then `x, y, likelihood` per body part (of each
//! individual).

use std::path::Path;

use crate::error::{Error, Result};
use crate::geometry::BBox;

/// One animal's pose track from a DeepLabCut CSV.
#[derive(Debug, Clone)]
pub struct DlcTrack {
    pub bodyparts: Vec<String>,
    /// Per frame, per body part: position and likelihood.
    pub frames: Vec<Vec<(f32, f32, f32)>>,
}

impl DlcTrack {
    /// One animal's track: the file's only one, or in a multi-animal file the `individual` named (which
    /// must then be given when there are several).
    pub fn read(path: &Path, individual: Option<&str>) -> Result<DlcTrack> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let bad = |line: usize, what: String| {
            Error::format(
                path,
                format!(
                    "line {line}: {what} (expected a DeepLabCut CSV: scorer / bodyparts / coords header rows, then x, y, likelihood per body part)"
                ),
            )
        };
        let mut lines = text.lines().enumerate().peekable();
        let mut header = |name: &str| -> Result<Option<Vec<String>>> {
            let Some((i, line)) = lines.next_if(|(_, l)| {
                let first = l.split(',').next().unwrap_or("").trim();
                first.eq_ignore_ascii_case(name) || name != "individuals"
            }) else {
                return Ok(None);
            };
            let cells: Vec<String> = line.split(',').map(|c| c.trim().to_string()).collect();
            if !cells[0].eq_ignore_ascii_case(name) {
                return Err(bad(i + 1, format!("the header row `{name}` is missing, found `{}`", cells[0])));
            }
            Ok(Some(cells))
        };
        let too_short = || bad(1, "the file is empty or too short".into());
        header("scorer")?.ok_or_else(too_short)?;
        // Only multi-animal projects have this row.
        let owners = header("individuals")?;
        let parts = header("bodyparts")?.ok_or_else(too_short)?;
        let coords = header("coords")?.ok_or_else(too_short)?;
        let columns = match &owners {
            None if individual.is_some() => {
                let name = individual.unwrap_or_default();
                return Err(bad(
                    2,
                    format!("--individual {name}: this file tracks one animal and names no individuals"),
                ));
            }
            None => (0..parts.len()).collect(),
            Some(owners) => columns_of(owners, individual).map_err(|m| bad(2, m))?,
        };
        let width = parts.len();
        let pick =
            |cells: &[String]| -> Vec<String> { columns.iter().filter_map(|&k| cells.get(k).cloned()).collect() };
        let (parts, coords) = (pick(&parts), pick(&coords));
        if parts.len() != coords.len() || (parts.len() - 1) % 3 != 0 || parts.len() < 4 {
            return Err(bad(2, "the bodyparts and coords rows do not describe x, y, likelihood triples".into()));
        }
        for (k, triple) in coords[1..].chunks(3).enumerate() {
            if triple != ["x", "y", "likelihood"] {
                return Err(bad(3, format!("body part {} has coords {triple:?}, not x, y, likelihood", k + 1)));
            }
        }
        let bodyparts: Vec<String> = parts[1..].chunks(3).map(|c| c[0].clone()).collect();
        let mut frames = Vec::new();
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let all: Vec<&str> = line.split(',').collect();
            if all.len() != width {
                return Err(bad(i + 1, format!("{} cells where the header has {width}", all.len())));
            }
            let cells: Vec<&str> = columns.iter().map(|&k| all[k]).collect();
            // An empty cell (DeepLabCut leaves them for missing points) reads as not seen.
            let number = |s: &str| s.trim().parse::<f32>().ok().filter(|v| v.is_finite());
            let pose = cells[1..]
                .chunks(3)
                .map(|c| match (number(c[0]), number(c[1]), number(c[2])) {
                    (Some(x), Some(y), Some(l)) => (x, y, l),
                    _ => (f32::NAN, f32::NAN, 0.0),
                })
                .collect();
            frames.push(pose);
        }
        if frames.is_empty() {
            return Err(bad(4, "no frames after the header".into()));
        }
        Ok(DlcTrack { bodyparts, frames })
    }

    /// Indices of the body parts that move with the body: not the tail (the tail base is body), not legs
    /// or paws, which move while an animal freezes or are often occluded.
    pub fn trunk_parts(&self) -> Vec<usize> {
        let is_trunk = |name: &str| {
            let n = name.to_ascii_lowercase();
            let tail = n.contains("tail") && !(n.contains("base") || n.contains("root"));
            let limb = ["leg", "paw", "foot", "feet", "hand", "knee"].iter().any(|w| n.contains(w));
            !tail && !limb
        };
        let trunk: Vec<usize> = (0..self.bodyparts.len()).filter(|&k| is_trunk(&self.bodyparts[k])).collect();
        if trunk.is_empty() { (0..self.bodyparts.len()).collect() } else { trunk }
    }

    /// Trusted points of frame `i` among `parts`.
    pub fn points(&self, i: usize, parts: &[usize], min_likelihood: f32) -> Vec<Option<(f32, f32)>> {
        parts
            .iter()
            .map(|&k| {
                let (x, y, l) = self.frames[i][k];
                (l >= min_likelihood && x.is_finite() && y.is_finite()).then_some((x, y))
            })
            .collect()
    }

    /// The box around frame `i`'s trusted points.
    pub fn bbox(&self, i: usize, min_likelihood: f32) -> Option<BBox> {
        let all: Vec<usize> = (0..self.bodyparts.len()).collect();
        let pts: Vec<(f32, f32)> = self.points(i, &all, min_likelihood).into_iter().flatten().collect();
        let (first, rest) = pts.split_first()?;
        let mut b = BBox::new(first.0, first.1, first.0, first.1);
        for &(x, y) in rest {
            b = BBox::new(b.x1.min(x), b.y1.min(y), b.x2.max(x), b.y2.max(y));
        }
        Some(b)
    }

    /// The animal's length in pixels: the median over frames of the longest distance between trusted
    /// trunk points (nose to tail base on a typical DeepLabCut skeleton).
    pub fn body_length(&self, min_likelihood: f32) -> Option<f64> {
        let trunk = self.trunk_parts();
        let mut lengths: Vec<f64> = (0..self.frames.len())
            .filter_map(|i| {
                let pts: Vec<(f32, f32)> = self.points(i, &trunk, min_likelihood).into_iter().flatten().collect();
                let mut best = 0.0f64;
                for (a, p) in pts.iter().enumerate() {
                    for q in &pts[a + 1..] {
                        best = best.max(((p.0 - q.0) as f64).hypot((p.1 - q.1) as f64));
                    }
                }
                (pts.len() >= 2).then_some(best)
            })
            .collect();
        if lengths.is_empty() {
            return None;
        }
        lengths.sort_by(f64::total_cmp);
        Some(lengths[lengths.len() / 2])
    }
}

/// The columns (the frame index's, then its body parts') of the individual asked for in a multi-animal
/// file whose `individuals` row is `owners`; without a name, the file's only individual.
fn columns_of(owners: &[String], individual: Option<&str>) -> std::result::Result<Vec<usize>, String> {
    let mut names: Vec<&str> = Vec::new();
    for cell in owners.iter().skip(1) {
        if !names.contains(&cell.as_str()) {
            names.push(cell);
        }
    }
    let name = match individual {
        Some(n) if names.contains(&n) => n,
        Some(n) => return Err(format!("no individual `{n}`: the file has {}", names.join(", "))),
        None if names.len() == 1 => names[0],
        None => return Err(format!("a multi-animal file: say which animal with --individual ({})", names.join(", "))),
    };
    Ok(std::iter::once(0).chain((1..owners.len()).filter(|&k| owners[k] == name)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pose.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    const SMALL: &str = "scorer,S,S,S,S,S,S,S,S,S\nbodyparts,Nose,Nose,Nose,Tailbase,Tailbase,Tailbase,Tail,Tail,Tail\ncoords,x,y,likelihood,x,y,likelihood,x,y,likelihood\n0,10,20,0.99,110,20,0.98,150,20,0.2\n1,12,20,0.99,,,,150,20,0.9\n";

    #[test]
    fn reads_points_and_likelihoods() {
        let (_guard, path) = write(SMALL);
        let t = DlcTrack::read(&path, None).unwrap();
        assert_eq!(t.bodyparts, vec!["Nose", "Tailbase", "Tail"]);
        assert_eq!(t.frames.len(), 2);
        assert_eq!(t.trunk_parts(), vec![0, 1], "the tail is not trunk, the tail base is");
        assert_eq!(t.points(1, &[0, 1], 0.6), vec![Some((12.0, 20.0)), None], "an empty cell is not seen");
        assert_eq!(t.points(0, &[2], 0.6), vec![None], "a low-likelihood point is not trusted");
        assert_eq!(t.body_length(0.6), Some(100.0));
    }

    #[test]
    fn wrong_files_are_refused_with_the_line() {
        let (_g, path) = write("frame,x,y\n1,2,3\n");
        let err = DlcTrack::read(&path, None).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("scorer"), "{err}");
        let (_g, path) = write(
            "scorer,S,S,S,S,S,S\nindividuals,a,a,a,b,b,b\nbodyparts,N,N,N,N,N,N\ncoords,x,y,likelihood,x,y,likelihood\n",
        );
        let err = DlcTrack::read(&path, None).unwrap_err().to_string();
        assert!(err.contains("multi-animal") && err.contains("--individual (a, b)"), "{err}");
        let err = DlcTrack::read(&path, Some("c")).unwrap_err().to_string();
        assert!(err.contains("no individual `c`"), "{err}");
        let (_g, path) = write(&SMALL.replace("0,10,20,0.99,", "0,10,"));
        let err = DlcTrack::read(&path, None).unwrap_err().to_string();
        assert!(err.contains("line 4") && err.contains("cells"), "{err}");
    }
}
