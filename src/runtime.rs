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
    let cache = std::env::var_os("CHAPERONE_CACHE")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("chaperone")))?;
    Some(cache.join("onnxruntime").join(format!("libonnxruntime.so.{ORT_VERSION}")))
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
pub fn open_session(env: &Environment, model: &Path, threads: usize) -> Result<Session> {
    if !model.is_file() {
        return Err(Error::model(
            model,
            "file not found: run `scripts/setup.sh` to produce the default models, or pass --model PATH",
        ));
    }
    // Built in a function returning ort::Result: the builder's error type is not Send, so it cannot
    // travel through our error type with `?` directly.
    fn build(env: &Environment, model: &Path, threads: usize) -> ort::Result<Session> {
        Session::builder(env)?
            .with_optimization_level(GraphOptimizationLevel::All)?
            .with_intra_threads(threads)?
            // Idle inference threads sleep instead of spinning: on a 2-core laptop, decoding, motion and
            // encoding run beside inference and need those cycles.
            .with_intra_op_spinning(false)?
            .commit_from_file(model)
    }
    build(env, model, threads).map_err(|e| Error::model(model, format!("not a loadable ONNX model: {e}")))
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
