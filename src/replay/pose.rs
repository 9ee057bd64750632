//! Pose tracks written by other tools: DeepLabCut (CSV and `.h5`, single or multi-animal) and SLEAP
//! (analysis `.h5` and CSV). Each reader makes the same thing of its file: one animal's body parts,
//! and per frame each part's position and likelihood.

use std::path::Path;

use crate::error::{Error, Result};
use crate::geometry::BBox;

/// One animal's pose track.
#[derive(Debug, Clone)]
pub struct PoseTrack {
    pub bodyparts: Vec<String>,
    /// Per frame, per body part: position and likelihood (a point not seen is NaN with likelihood 0).
    pub frames: Vec<Vec<(f32, f32, f32)>>,
}

/// The pose file formats read, told apart by the file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoseFormat {
    /// DeepLabCut's CSV: header rows `scorer`, (multi-animal) `individuals`, `bodyparts`, `coords`.
    DeepLabCutCsv,
    /// An HDF5 file: DeepLabCut's `.h5` (a pandas DataFrame) or SLEAP's analysis file.
    Hdf5,
    /// SLEAP's CSV export: `track,frame_idx,instance.score,<node>.x,<node>.y,<node>.score,...`.
    SleapCsv,
}

/// The first 8 bytes of every HDF5 file (with no user block).
const HDF5_SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

impl PoseFormat {
    /// The pose format of `path`, or `None` for anything else (such as this program's `tracks.csv`,
    /// whose own reader then names what it expected).
    pub fn sniff(path: &Path) -> Result<Option<PoseFormat>> {
        use std::io::Read;
        let mut head = Vec::with_capacity(64);
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        file.take(64).read_to_end(&mut head).map_err(|e| Error::io(path, e))?;
        if head.starts_with(HDF5_SIGNATURE) {
            return Ok(Some(PoseFormat::Hdf5));
        }
        let text = String::from_utf8_lossy(&head);
        let text = text.trim_start_matches('\u{feff}');
        Ok(if text.starts_with("scorer") {
            Some(PoseFormat::DeepLabCutCsv)
        } else if text.starts_with("track,frame_idx") {
            Some(PoseFormat::SleapCsv)
        } else {
            None
        })
    }
}

impl PoseTrack {
    /// One animal's track from a pose file of any format read: the file's only animal, or the
    /// `individual` named (a DeepLabCut individual, a SLEAP track), which must be given when the file
    /// holds several.
    pub fn read(path: &Path, individual: Option<&str>) -> Result<PoseTrack> {
        match PoseFormat::sniff(path)? {
            Some(PoseFormat::DeepLabCutCsv) => super::dlc::read_csv(path, individual),
            Some(PoseFormat::Hdf5) => super::h5::read(path, individual),
            Some(PoseFormat::SleapCsv) => super::sleap::read_csv(path, individual),
            None => Err(Error::format(
                path,
                "not a pose file (expected a DeepLabCut CSV or .h5, or a SLEAP analysis .h5 or CSV)",
            )),
        }
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
    /// trunk points (nose to tail base on a typical skeleton).
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

/// Which of a file's animals `individual` names, among `names` (in the file's order); without a name,
/// the file's only one.
pub fn choose_individual(names: &[String], individual: Option<&str>) -> std::result::Result<usize, String> {
    match individual {
        Some(n) => names
            .iter()
            .position(|name| name == n)
            .ok_or_else(|| format!("no individual `{n}`: the file has {}", names.join(", "))),
        None if names.len() == 1 => Ok(0),
        None => Err(format!("a multi-animal file: say which animal with --individual ({})", names.join(", "))),
    }
}

/// One column of a DeepLabCut table: whose (multi-animal files), which body part, which coordinate.
#[derive(Debug, Clone, PartialEq)]
pub struct PoseColumn {
    pub individual: Option<String>,
    pub bodypart: String,
    pub coord: String,
}

/// One animal's track from a DeepLabCut table of `columns` (any order) and `rows` of values: the
/// `individual`'s (or the only animal's) body parts in the order they first appear, each with its
/// `x`, `y` and `likelihood` columns. A value that is not finite is a point not seen.
pub fn from_columns(
    columns: &[PoseColumn],
    rows: &[Vec<f64>],
    individual: Option<&str>,
) -> std::result::Result<PoseTrack, String> {
    let mut owners: Vec<String> = Vec::new();
    for owner in columns.iter().filter_map(|c| c.individual.clone()) {
        if !owners.contains(&owner) {
            owners.push(owner);
        }
    }
    let owner = match (owners.is_empty(), individual) {
        (true, Some(name)) => {
            return Err(format!("--individual {name}: this file tracks one animal and names no individuals"));
        }
        (true, None) => None,
        (false, _) => Some(owners[choose_individual(&owners, individual)?].clone()),
    };
    // Per body part: the columns of its x, y and likelihood.
    let mut bodyparts: Vec<String> = Vec::new();
    let mut slots: Vec<[Option<usize>; 3]> = Vec::new();
    for (k, column) in columns.iter().enumerate().filter(|(_, c)| c.individual == owner) {
        let part = match bodyparts.iter().position(|p| *p == column.bodypart) {
            Some(part) => part,
            None => {
                bodyparts.push(column.bodypart.clone());
                slots.push([None; 3]);
                bodyparts.len() - 1
            }
        };
        let slot = match column.coord.as_str() {
            "x" => 0,
            "y" => 1,
            "likelihood" => 2,
            other => {
                return Err(format!(
                    "body part {} has a coordinate `{other}`, not x, y or likelihood",
                    column.bodypart
                ));
            }
        };
        slots[part][slot] = Some(k);
    }
    let mut triples = Vec::with_capacity(slots.len());
    for (part, slot) in bodyparts.iter().zip(&slots) {
        match slot {
            [Some(x), Some(y), Some(l)] => triples.push([*x, *y, *l]),
            _ => return Err(format!("body part {part} lacks one of its x, y and likelihood columns")),
        }
    }
    if triples.is_empty() {
        return Err("no body part columns".into());
    }
    let frames = rows
        .iter()
        .map(|row| {
            triples
                .iter()
                .map(|&[x, y, l]| {
                    let (x, y, l) = (row[x] as f32, row[y] as f32, row[l] as f32);
                    match x.is_finite() && y.is_finite() && l.is_finite() {
                        true => (x, y, l),
                        false => (f32::NAN, f32::NAN, 0.0),
                    }
                })
                .collect()
        })
        .collect();
    Ok(PoseTrack { bodyparts, frames })
}
