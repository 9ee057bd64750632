//! Pose files in HDF5, read through the HDF5 C library (Debian's libhdf5, which set-up installs):
//! SLEAP's analysis file (see `sleap.rs`) and DeepLabCut's `.h5`, a pandas DataFrame that PyTables
//! wrote in one of its two layouts:
//! - "fixed" (`pandas_type` `frame`): the column MultiIndex as `blockK_items_levelL` (the names) and
//!   `blockK_items_labelL` (each column's code), the values as `blockK_values`, rows by columns;
//! - "table" (`frame_table`): one compound row per frame, the values in `values_block_K` arrays, whose
//!   column names are Python pickles in the attributes (`values_block_K_kind`).

use std::path::Path;

use hdf5_metno as hdf5;
use hdf5_metno::types::{CompoundField, CompoundType, FloatSize, TypeDescriptor, VarLenUnicode};

use super::pose::{PoseColumn, PoseTrack, from_columns};
use crate::error::{Error, Result};

/// What went wrong inside a file, said in words; the caller adds the file's name.
type Found<T> = std::result::Result<T, String>;

fn words(e: hdf5::Error) -> String {
    e.to_string()
}

/// One animal's track from a DeepLabCut or SLEAP `.h5` file (`individual`: as for the CSVs).
pub fn read(path: &Path, individual: Option<&str>) -> Result<PoseTrack> {
    let file = hdf5::File::open(path).map_err(|e| Error::format(path, format!("cannot open it as HDF5: {e}")))?;
    let found = if file.link_exists("tracks") && file.link_exists("node_names") {
        super::sleap::from_analysis(&file, individual)
    } else if file.link_exists("instances") && file.link_exists("pred_points") {
        Err("a SLEAP labels file (.slp), not its analysis: export one from it (SLEAP's File > Export \
             Analysis HDF5, or `sleap-convert --format analysis FILE.slp`)"
            .into())
    } else {
        deeplabcut(&file, individual)
    };
    found.map_err(|what| Error::format(path, what))
}

fn deeplabcut(file: &hdf5::File, individual: Option<&str>) -> Found<PoseTrack> {
    // DeepLabCut's keys are `df_with_missing` (single animal) and `tracks` (multi-animal); take any
    // DataFrame the file holds.
    let mut frame = None;
    for name in file.member_names().map_err(words)? {
        if let Ok(group) = file.group(&name)
            && let Ok(kind) = attr_text(&group, "pandas_type")
        {
            frame = Some((name, group, kind));
            break;
        }
    }
    let Some((key, group, kind)) = frame else {
        return Err("no pandas DataFrame in the file (no group with a `pandas_type`): expected a DeepLabCut .h5 \
                    or a SLEAP analysis .h5"
            .into());
    };
    let (columns, rows) = match kind.as_str() {
        "frame" => fixed_frame(&group),
        "frame_table" => table_frame(&group),
        other => Err(format!("`{key}` is a pandas `{other}`, not a DataFrame")),
    }
    .map_err(|e| format!("`{key}`: {e}"))?;
    from_columns(&columns, &rows, individual)
}

/// A DataFrame in PyTables' fixed layout: its columns and its rows of values.
fn fixed_frame(group: &hdf5::Group) -> Found<(Vec<PoseColumn>, Vec<Vec<f64>>)> {
    let blocks: usize = attr_text(group, "nblocks").ok().and_then(|n| n.parse().ok()).unwrap_or(1);
    let mut columns = Vec::new();
    let mut by_block: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut frames = None;
    for b in 0..blocks {
        let prefix = format!("block{b}_items");
        let names = multi_index(group, &prefix)?;
        let values = group.dataset(&format!("block{b}_values")).map_err(words)?;
        let shape = values.shape();
        // PyTables stores the block (columns by rows in pandas) transposed, as rows by columns.
        let transposed = attr_text(&values, "transposed").map_or(true, |t| t != "0");
        let (rows, cols) = match (shape.as_slice(), transposed) {
            ([r, c], true) => (*r, *c),
            ([c, r], false) => (*r, *c),
            _ => return Err(format!("block{b}_values has shape {shape:?}, not rows by columns")),
        };
        if cols != names.len() || frames.is_some_and(|f| f != rows) {
            return Err(format!("block{b}_values has shape {shape:?} for {} columns", names.len()));
        }
        frames = Some(rows);
        let mut data = values.read_raw::<f64>().map_err(words)?;
        if !transposed {
            data = (0..rows * cols).map(|k| data[(k % cols) * rows + k / cols]).collect();
        }
        columns.extend(names);
        by_block.push((cols, data));
    }
    Ok((columns, rows_of(frames.unwrap_or(0), &by_block)))
}

/// The DataFrame's rows: each block's values (its column count, then its rows of that many, row by
/// row) laid side by side.
fn rows_of(frames: usize, by_block: &[(usize, Vec<f64>)]) -> Vec<Vec<f64>> {
    (0..frames)
        .map(|r| by_block.iter().flat_map(|(cols, data)| data[r * cols..(r + 1) * cols].iter().copied()).collect())
        .collect()
}

/// The column MultiIndex stored under `prefix` (`_levelL` names, `_labelL` codes), as pose columns.
fn multi_index(group: &hdf5::Group, prefix: &str) -> Found<Vec<PoseColumn>> {
    let levels: usize = attr_text(group, &format!("{prefix}_nlevels"))
        .ok()
        .and_then(|n| n.parse().ok())
        .ok_or("its columns are a plain index, not DeepLabCut's (scorer, bodyparts, coords)")?;
    let mut names = Vec::new();
    let mut tuples: Vec<Vec<String>> = Vec::new();
    for l in 0..levels {
        let level = group.dataset(&format!("{prefix}_level{l}")).map_err(words)?;
        names.push(attr_text(&level, "name").unwrap_or_default());
        let values = strings(&level)?;
        let codes = group.dataset(&format!("{prefix}_label{l}")).map_err(words)?.read_raw::<i64>().map_err(words)?;
        tuples.resize(codes.len(), Vec::new());
        for (tuple, code) in tuples.iter_mut().zip(codes) {
            let value = usize::try_from(code).ok().and_then(|c| values.get(c));
            tuple.push(value.cloned().ok_or_else(|| format!("{prefix}_label{l} has code {code}"))?);
        }
    }
    tuples.iter().map(|t| pose_column(&names, t)).collect()
}

/// A DataFrame in PyTables' table layout: its columns and its rows of values.
fn table_frame(group: &hdf5::Group) -> Found<(Vec<PoseColumn>, Vec<Vec<f64>>)> {
    let table = group.dataset("table").map_err(words)?;
    let level_names = level_names_of_table(group);
    let frames = table.shape().first().copied().unwrap_or(0);
    let blocks = match pickle(group, "values_cols") {
        Ok(serde_pickle::Value::List(names)) => names.into_iter().filter_map(as_text).collect(),
        _ => vec!["values_block_0".to_string()],
    };
    let mut columns = Vec::new();
    let mut by_block = Vec::new();
    for block in &blocks {
        let serde_pickle::Value::List(kinds) = pickle(&table, &format!("{block}_kind"))? else {
            return Err(format!("{block}_kind is not a list of columns"));
        };
        let mut names = Vec::with_capacity(kinds.len());
        for kind in kinds {
            let tuple: Vec<String> = match kind {
                serde_pickle::Value::Tuple(parts) | serde_pickle::Value::List(parts) => {
                    parts.into_iter().filter_map(as_text).collect()
                }
                other => vec![as_text(other).unwrap_or_default()],
            };
            names.push(pose_column(&level_names, &tuple)?);
        }
        let values = table_block(&table, block, names.len())?;
        by_block.push((names.len(), values));
        columns.extend(names);
    }
    Ok((columns, rows_of(frames, &by_block)))
}

/// The names of the column MultiIndex's levels, from the table group's pickled `info`
/// (`{1: {'names': [...]}}`); empty when it cannot be read.
fn level_names_of_table(group: &hdf5::Group) -> Vec<String> {
    let Ok(serde_pickle::Value::Dict(info)) = pickle(group, "info") else { return Vec::new() };
    let columns = info.into_iter().find(|(k, _)| matches!(k, serde_pickle::HashableValue::I64(1)));
    let Some((_, serde_pickle::Value::Dict(columns))) = columns else { return Vec::new() };
    let names = columns.into_iter().find(|(k, _)| matches!(k, serde_pickle::HashableValue::String(s) if s == "names"));
    match names {
        Some((_, serde_pickle::Value::List(names))) => {
            names.into_iter().map(|n| as_text(n).unwrap_or_default()).collect()
        }
        _ => Vec::new(),
    }
}

/// A pose column from a MultiIndex tuple, by its level names where they are DeepLabCut's, else by
/// position: (scorer, bodyparts, coords) or (scorer, individuals, bodyparts, coords).
fn pose_column(level_names: &[String], tuple: &[String]) -> Found<PoseColumn> {
    let level = |name: &str| level_names.iter().position(|n| n == name).and_then(|k| tuple.get(k)).cloned();
    let (individual, bodypart, coord) = match (level("bodyparts"), level("coords")) {
        (Some(bodypart), Some(coord)) => (level("individuals"), bodypart, coord),
        _ => match tuple {
            [_, bodypart, coord] => (None, bodypart.clone(), coord.clone()),
            [_, individual, bodypart, coord] => (Some(individual.clone()), bodypart.clone(), coord.clone()),
            _ => return Err(format!("a column named {tuple:?}, not (scorer, bodyparts, coords)")),
        },
    };
    Ok(PoseColumn { individual, bodypart, coord })
}

/// The `block` field of every row of a PyTables table, `columns` numbers a row, as f64s row by row.
fn table_block(table: &hdf5::Dataset, block: &str, columns: usize) -> Found<Vec<f64>> {
    // A memory type holding only this field: HDF5 picks it out of each row by its name and converts
    // its numbers to f64.
    let field = TypeDescriptor::FixedArray(Box::new(TypeDescriptor::Float(FloatSize::U8)), columns);
    let row = TypeDescriptor::Compound(CompoundType {
        fields: vec![CompoundField::new(block, field, 0, 0)],
        size: 8 * columns,
    });
    let memory = hdf5::Datatype::from_descriptor(&row).map_err(words)?;
    let bytes = read_whole(table, &memory)?;
    Ok(bytes.chunks_exact(8).map(|b| f64::from_ne_bytes(b.try_into().expect("8 bytes"))).collect())
}

/// The whole of `dataset` read in `memory`'s layout, as bytes (HDF5 converting where the file's type
/// differs, and picking compound fields by name).
fn read_whole(dataset: &hdf5::Dataset, memory: &hdf5::Datatype) -> Found<Vec<u8>> {
    let mut bytes = vec![0u8; dataset.space().map_err(words)?.size() * memory.size()];
    // SAFETY: `bytes` holds every element of the dataset's whole selection at `memory`'s size, and
    // both ids are open for the call's duration. (This program reads HDF5 files on one thread at a
    // time, so the crate's global lock is not needed.)
    let status = unsafe {
        hdf5_metno_sys::h5d::H5Dread(
            dataset.id(),
            memory.id(),
            hdf5_metno_sys::h5s::H5S_ALL,
            hdf5_metno_sys::h5s::H5S_ALL,
            hdf5_metno_sys::h5p::H5P_DEFAULT,
            bytes.as_mut_ptr().cast(),
        )
    };
    match status < 0 {
        true => Err(format!("cannot read `{}`", dataset.name())),
        false => Ok(bytes),
    }
}

/// A text attribute (fixed-size or variable-length string).
pub(super) fn attr_text(location: &hdf5::Location, name: &str) -> Found<String> {
    let attr = location.attr(name).map_err(words)?;
    let dtype = attr.dtype().map_err(words)?;
    match dtype.to_descriptor().map_err(words)? {
        TypeDescriptor::FixedAscii(_) | TypeDescriptor::FixedUnicode(_) => {
            let mut bytes = vec![0u8; dtype.size() * attr.space().map_err(words)?.size().max(1)];
            // SAFETY: `bytes` holds the attribute's every element in its own file type (read with no
            // conversion), and both ids are open for the call.
            let status = unsafe { hdf5_metno_sys::h5a::H5Aread(attr.id(), dtype.id(), bytes.as_mut_ptr().cast()) };
            if status < 0 {
                return Err(format!("cannot read the attribute `{name}`"));
            }
            Ok(String::from_utf8_lossy(&bytes).trim_end_matches('\0').to_string())
        }
        TypeDescriptor::VarLenAscii | TypeDescriptor::VarLenUnicode => {
            Ok(attr.read_scalar::<VarLenUnicode>().map_err(words)?.as_str().to_string())
        }
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => {
            Ok(attr.read_scalar::<i64>().map_err(words)?.to_string())
        }
        other => Err(format!("the attribute `{name}` is {other}, not text")),
    }
}

/// A one-dimensional dataset of strings (fixed-size or variable-length).
pub(super) fn strings(dataset: &hdf5::Dataset) -> Found<Vec<String>> {
    let dtype = dataset.dtype().map_err(words)?;
    match dtype.to_descriptor().map_err(words)? {
        TypeDescriptor::FixedAscii(size) | TypeDescriptor::FixedUnicode(size) => {
            let bytes = read_whole(dataset, &dtype)?;
            Ok(bytes
                .chunks(size.max(1))
                .map(|s| String::from_utf8_lossy(s).trim_end_matches('\0').to_string())
                .collect())
        }
        TypeDescriptor::VarLenAscii | TypeDescriptor::VarLenUnicode => {
            Ok(dataset.read_raw::<VarLenUnicode>().map_err(words)?.iter().map(|s| s.as_str().to_string()).collect())
        }
        other => Err(format!("`{}` holds {other}, not strings", dataset.name())),
    }
}

/// A Python object pickled into a text attribute, as PyTables keeps pandas' metadata.
fn pickle(location: &hdf5::Location, name: &str) -> Found<serde_pickle::Value> {
    let text = attr_text(location, name)?;
    serde_pickle::value_from_slice(text.as_bytes(), serde_pickle::DeOptions::new())
        .map_err(|e| format!("the attribute `{name}` is not a readable pickle: {e}"))
}

fn as_text(value: serde_pickle::Value) -> Option<String> {
    match value {
        serde_pickle::Value::String(s) => Some(s),
        serde_pickle::Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        _ => None,
    }
}
