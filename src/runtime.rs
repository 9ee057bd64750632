//! Finding and loading the ONNX Runtime shared library, and building sessions on it.
//!
//! ONNX Runtime is loaded at run time (`ort`'s `load-dynamic`) from the library that `scripts/setup.sh`
//! unpacks from the PyPI `onnxruntime` wheel, so nothing is downloaded at build time. ONNX Runtime allows
//! one environment per process, hence the process-wide [`OnceLock`].

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The ONNX Runtime version set-up installs and `ort`'s `api-31` feature expects.
pub const ORT_VERSION: &str = "1.31.1";

const SETUP_HINT: &str =
    "run `scripts/setup.sh` (it installs ONNX Runtime), or pass --ort-lib PATH / set ORT_DYLIB_PATH";

static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Where set-up puts the library when nothing else is said.
pub fn default_library_path() -> Option<PathBuf> {
    Some(cache_dir()?.join("onnxruntime").join(format!("libonnxruntime.so.{ORT_VERSION}")))
}

/// The library to load: the explicit path (flag or config) if given, else `ORT_DYLIB_PATH`, else
/// set-up's cache.
pub fn resolve_library_path(explicit: Option<&Path>) -> Result<PathBuf> {
    let (path, from) = if let Some(p) = explicit {
        (p.to_path_buf(), "--ort-lib / config runtime.ort_lib")
    } else if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        (PathBuf::from(p), "ORT_DYLIB_PATH")
    } else if let Some(p) = default_library_path() {
        (p, "set-up's cache")
    } else {
        return Err(Error::Runtime(format!("cannot locate the ONNX Runtime library: {SETUP_HINT}")));
    };
    if !path.is_file() {
        return Err(Error::Runtime(format!(
            "ONNX Runtime library not found at {} (from {from}): {SETUP_HINT}",
            path.display()
        )));
    }
    Ok(path)
}

/// The process's ONNX Runtime environment, loading the library on first use.
pub fn environment(explicit_library: Option<&Path>) -> Result<&'static Environment> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let _guard = INIT_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let path = resolve_library_path(explicit_library)?;
    let builder = ort::init_from(&path).map_err(|e| {
        Error::Runtime(format!(
            "cannot load ONNX Runtime from {}: {e}; it must be ONNX Runtime {ORT_VERSION} ({SETUP_HINT})",
            path.display()
        ))
    })?;
    let env = builder
        .with_name("chaperone")
        .build()
        .map_err(|e| Error::Runtime(format!("cannot start ONNX Runtime from {}: {e}", path.display())))?;
    Ok(ENVIRONMENT.get_or_init(|| env))
}

/// Opens a model file as a session with `threads` intra-op threads.
///
/// ONNX Runtime's full graph optimisation rewrites the convolutions' weights into its blocked layout and
/// holds both copies while it does. So the first load on a machine saves the optimised graph into the
/// cache (see [`optimized_copy`]), and later loads read that copy, which runs as fast and needs far less
/// memory (`detect` on one image: 176 MB at its peak, against 256 MB from the model itself, before set-up
/// reduced the SSD's score heads). The copy is
/// specific to this CPU and this ONNX Runtime, and is keyed by both and by the source file's size and
/// modification time.
pub fn open_session(env: &Environment, model: &Path, threads: usize) -> Result<Session> {
    if !model.is_file() {
        return Err(Error::model(
            model,
            "file not found: run `scripts/setup.sh` to produce the default models, or pass --model PATH",
        ));
    }
    let copy = optimized_copy(model);
    if let Some(copy) = copy.as_deref().filter(|c| c.is_file()) {
        match build(env, copy, threads, None) {
            Ok(session) => return Ok(session),
            Err(e) => {
                tracing::warn!("the optimised copy {} did not load ({e}); using {}", copy.display(), model.display());
                let _ = std::fs::remove_file(copy);
            }
        }
    }
    // Saved under a name of this process's own and renamed into place, so that a reader never sees half a
    // file and two processes saving at once do not mix their bytes.
    let partial = copy.as_ref().map(|c| c.with_extension(format!("{}.partial", std::process::id())));
    let saved = build(env, model, threads, partial.as_deref());
    let session = match (saved, &partial) {
        (Ok(session), _) => session,
        // Perhaps the cache cannot be written to: the model may still load without saving its copy.
        (Err(_), Some(partial)) => {
            let _ = std::fs::remove_file(partial);
            build(env, model, threads, None)
                .map_err(|e| Error::model(model, format!("not a loadable ONNX model: {e}")))?
        }
        (Err(e), None) => return Err(Error::model(model, format!("not a loadable ONNX model: {e}"))),
    };
    if let (Some(partial), Some(copy)) = (partial.filter(|p| p.is_file()), copy) {
        if std::fs::rename(&partial, &copy).is_ok() {
            remove_stale_copies(&copy);
        } else {
            let _ = std::fs::remove_file(&partial);
        }
    }
    Ok(session)
}

// Built in a function returning ort::Result: the builder's error type is not Send, so it cannot travel
// through our error type with `?` directly.
fn build(env: &Environment, model: &Path, threads: usize, save_to: Option<&Path>) -> ort::Result<Session> {
    let mut builder = Session::builder(env)?
        .with_optimization_level(GraphOptimizationLevel::All)?
        .with_intra_threads(threads)?
        // Idle inference threads sleep instead of spinning: on a 2-core laptop, decoding, motion and
        // encoding run beside inference and need those cycles.
        .with_intra_op_spinning(false)?
        // The memory pattern plans one block for all of a run's intermediate tensors and keeps it: 23 MB
        // more for the crop classifier, for no speed measured on this CPU.
        .with_memory_pattern(false)?
        // Without an arena each run's intermediate tensors go back to the system when it ends, where the
        // arena grows in doubling chunks and keeps them: 153 -> 138 MB at the peak of a 10-minute
        // `analyze`, for about 5% of bare inference speed (within this machine's noise in the loop).
        .with_execution_providers([ort::ep::CPU::default().with_arena_allocator(false).build()])?;
    if let Some(path) = save_to {
        builder = builder.with_optimized_model_path(path)?;
    }
    builder.commit_from_file(model)
}

/// Where the optimised copy of `model` for this machine lives: `optimized/` in the cache, named
/// `{stem}-{which file}-{what makes the copy valid}.onnx`, both hashes. `None` when there is no cache
/// directory to write to.
fn optimized_copy(model: &Path) -> Option<PathBuf> {
    let cache = cache_dir()?.join("optimized");
    std::fs::create_dir_all(&cache).ok()?;
    let source = std::fs::canonicalize(model).ok()?;
    let meta = std::fs::metadata(&source).ok()?;
    let modified = meta.modified().ok()?;
    // The blocked layout follows the vector instructions the CPU has.
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_flags = cpuinfo.lines().find(|l| l.starts_with("flags")).unwrap_or_default();
    let which = hash_of(&source);
    let valid = hash_of((meta.len(), modified, ORT_VERSION, cpu_flags));
    let stem = model.file_stem()?.to_string_lossy();
    Some(cache.join(format!("{stem}-{which:016x}-{valid:016x}.onnx")))
}

fn hash_of(value: impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Removes the copies of the same model file made for an earlier version of it (or another CPU or ONNX
/// Runtime), which would otherwise pile up in the cache at tens of megabytes each.
fn remove_stale_copies(current: &Path) {
    let (Some(dir), Some(name)) = (current.parent(), current.file_name().and_then(|n| n.to_str())) else { return };
    let Some((same_file, _valid)) = name.rsplit_once('-') else { return };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let other = entry.file_name();
        let Some(other) = other.to_str() else { continue };
        let stale = other != name
            && other.ends_with(".onnx")
            && other.rsplit_once('-').is_some_and(|(prefix, _)| prefix == same_file);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// set-up's cache: `$CHAPERONE_CACHE`, else `~/.cache/chaperone`.
fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("CHAPERONE_CACHE").map(PathBuf::from).or_else(|| dirs::cache_dir().map(|d| d.join("chaperone")))
}

/// How many threads inference should use: all cores, as the detector is the pipeline's bottleneck.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// The ONNX Runtime library (`libonnxruntime.so.1.31.1`). Unset: `ORT_DYLIB_PATH`, then set-up's cache.
    pub ort_lib: Option<PathBuf>,
    /// Inference threads. Unset: one per core.
    pub threads: Option<usize>,
}

impl RuntimeConfig {
    pub fn check(&self) -> Result<()> {
        if self.threads == Some(0) {
            return Err(Error::Config("runtime.threads must be at least 1".into()));
        }
        Ok(())
    }
}
