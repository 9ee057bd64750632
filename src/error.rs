//! The one error type of the library. Every message says what went wrong and, where the user can act,
//! what to do about it: the binary prints it on a single line and exits non-zero.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ONNX Runtime shared library could not be found or loaded.
    #[error("{0}")]
    Runtime(String),

    /// A model file is missing, unreadable, or not a model this program understands.
    #[error("model {path}: {message}")]
    Model { path: PathBuf, message: String },

    /// Running a loaded model failed.
    #[error("inference failed in {model}: {message}")]
    Inference { model: String, message: String },

    /// An input image is missing, empty or corrupt.
    #[error("image {path}: {message}")]
    Image { path: PathBuf, message: String },

    /// A frame source (a video file, a stream, a camera) cannot be opened or read. During a session this
    /// is the camera lost.
    #[error("{path}: {message}")]
    Source { path: PathBuf, message: String },

    /// An input file is not in the format expected (tracks, pose files, labels, the history): the
    /// message says which line or column and what was expected.
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },

    /// A result cannot be written where it was asked for (an output folder, the video encoder).
    #[error("{path}: {message}")]
    Output { path: PathBuf, message: String },

    /// A live source stopped delivering frames (camera unplugged, driver hung).
    #[error(
        "{source_name}: no frame for {seconds:.1} s: the camera is lost (check its cable and that no other program holds it)"
    )]
    SourceStalled { source_name: String, seconds: f64 },

    /// Frames arrive but analysis returned nothing for too long (the machine is overloaded).
    #[error(
        "no frame analysed for {seconds:.1} s although frames arrive: the machine cannot keep up (close other programs or use a smaller model)"
    )]
    ProcessingStalled { seconds: f64 },

    /// A signal (Ctrl-C, SIGTERM) asked the program to end before the input did.
    #[error(
        "interrupted before the end of the input: what was analysed so far is written; run it again to analyse it all"
    )]
    Interrupted,

    /// Another program run for a job (`bench`'s `analyze` in a process of its own, the Python peer)
    /// could not start or failed.
    #[error("{program}: {message}")]
    Program { program: String, message: String },

    /// A configuration value is wrong.
    #[error("config: {0}")]
    Config(String),

    /// Any other file-system failure, with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn model(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Model { path: path.into(), message: message.into() }
    }

    pub fn inference(model: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Error::Inference { model: model.into(), message: err.to_string() }
    }

    pub fn source(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Source { path: path.into(), message: message.into() }
    }

    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Format { path: path.into(), message: message.into() }
    }

    pub fn output(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Output { path: path.into(), message: message.into() }
    }

    pub fn program(program: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Program { program: program.into(), message: message.into() }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}
