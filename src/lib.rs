//! chaperone: supervises a meeting between a pet cat and a pet rat through a camera.
//!
//! Data flows one way, one module per stage:
//! source -> [`detect`] -> [`track`] -> [`behaviour`] engine -> [`session`] controller -> sinks ([`output`]).
//! Between stages travel small plain values ([`detect::Detection`], ...), so each stage can be tested alone.

pub mod analyze;
pub mod annotate;
pub mod behaviour;
pub mod config;
pub mod detect;
pub mod error;
pub mod eval;
pub mod geometry;
pub mod motion;
pub mod output;
pub mod pipeline;
pub mod plot;
pub mod replay;
pub mod runtime;
pub mod scenario;
pub mod session;
pub mod source;
pub mod track;
pub mod tune;
pub mod view;

pub use error::{Error, Result};
