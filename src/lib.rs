//! chaperone: supervises a meeting between a pet cat and a pet rat through a camera.
//!
//! Data flows one way, one module per stage, and each module imports only the ones listed before it
//! (the README's "Architecture" shows the layers; `tests/architecture.rs` holds the code to it):
//!
//! ```text
//! source -> detect -> fusion -> track -> observe -> behaviour -> session (decision) -> sinks
//! ```
//!
//! [`pipeline`] runs the stages in that order; between them travel small plain values
//! ([`detect::Detection`], [`track::Track`], [`observe::Moment`], [`behaviour::Change`],
//! [`session::controller::Decision`]), all of them in one [`pipeline::AnalysedFrame`] per frame for the
//! sinks ([`output`], [`view`]). [`runs`] sets the pipeline up for a recording or a live session;
//! [`commands`] are the command line's subcommands.

// Layer 0: what every stage shares.
pub mod error;
pub mod geometry;
pub mod kinds;
pub mod checks;
pub mod zones;
// The stages, in the order a frame meets them.
pub mod runtime;
pub mod source;
pub mod detect;
pub mod fusion;
pub mod track;
pub mod observe;
pub mod behaviour;
pub mod session;
// Other tools' files.
pub mod labels;
// Composing and running them.
pub mod config;
pub mod pipeline;
// Sinks and pictures.
pub mod output;
pub mod plot;
pub mod view;
// Whole jobs, and the tools built on them.
pub mod runs;
pub mod replay;
pub mod scenario;
pub mod eval;
pub mod tune;
pub mod commands;

pub use error::{Error, Result};
