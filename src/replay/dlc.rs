//! DeepLabCut pose CSV: header rows `scorer`, (for multi-animal projects) `individuals`, `bodyparts`
//! and `coords`, then one row per frame: the frame index, then `x, y, likelihood` per body part (of each
//! individual).

use std::path::Path;

use super::pose::{PoseColumn, PoseTrack, from_columns};
use crate::error::{Error, Result};

/// One animal's track from a DeepLabCut CSV: the file's only one, or in a multi-animal file the
/// `individual` named (which must then be given when there are several).
pub fn read_csv(path: &Path, individual: Option<&str>) -> Result<PoseTrack> {
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
    let width = parts.len();
    if coords.len() != width || owners.as_ref().is_some_and(|o| o.len() != width) || width < 4 {
        return Err(bad(2, "the header rows do not describe x, y, likelihood columns per body part".into()));
    }
    // Column 0 is the frame index.
    let columns: Vec<PoseColumn> = (1..width)
        .map(|k| PoseColumn {
            individual: owners.as_ref().map(|o| o[k].clone()),
            bodypart: parts[k].clone(),
            coord: coords[k].clone(),
        })
        .collect();
    let mut rows = Vec::new();
    let mut first_row_line = None;
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        first_row_line.get_or_insert(i + 1);
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != width {
            return Err(bad(i + 1, format!("{} cells where the header has {width}", cells.len())));
        }
        // An empty cell (DeepLabCut leaves them for missing points) reads as not seen.
        rows.push(cells[1..].iter().map(|c| c.trim().parse::<f64>().unwrap_or(f64::NAN)).collect());
    }
    if rows.is_empty() {
        return Err(bad(4, "no frames after the header".into()));
    }
    from_columns(&columns, &rows, individual).map_err(|m| bad(2, m))
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
        let t = read_csv(&path, None).unwrap();
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
        let err = read_csv(&path, None).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("scorer"), "{err}");
        let multi = "scorer,S,S,S,S,S,S\nindividuals,a,a,a,b,b,b\nbodyparts,N,N,N,N,N,N\ncoords,x,y,likelihood,x,y,likelihood\n0,1,2,1,3,4,1\n";
        let (_g, path) = write(multi);
        let err = read_csv(&path, None).unwrap_err().to_string();
        assert!(err.contains("multi-animal") && err.contains("--individual (a, b)"), "{err}");
        let err = read_csv(&path, Some("c")).unwrap_err().to_string();
        assert!(err.contains("no individual `c`"), "{err}");
        assert_eq!(read_csv(&path, Some("b")).unwrap().frames[0], vec![(3.0, 4.0, 1.0)]);
        let (_g, path) = write(&SMALL.replace("0,10,20,0.99,", "0,10,"));
        let err = read_csv(&path, None).unwrap_err().to_string();
        assert!(err.contains("line 4") && err.contains("cells"), "{err}");
        let (_g, path) =
            write(&SMALL.replace("x,y,likelihood,x,y,likelihood,x,y,", "x,y,likelihood,x,y,likelihood,x,z,"));
        let err = read_csv(&path, None).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("`z`"), "{err}");
    }
}
