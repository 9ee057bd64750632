//! Runs: the pipeline set up for one job, from its input to its output folder. A [`recording`] is
//! analysed in batch (every frame); a [`session`] is supervised live (the newest frame, the decision
//! stage, the alarm). Both own their folder through one [`run_dir::RunDir`].

pub mod recording;
pub mod report;
pub mod run_dir;
pub mod session;
