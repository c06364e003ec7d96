//! The controller: reconciles each `Generation` toward Delivered by running one generator task
//! at a time on a backend, and runs delivered apps as live previews ([`preview`]). Decisions are
//! pure ([`plan`], [`preview::plan`]); the executors only carry them out.
//!
//! It must never launch a second task for an attempt, nor write status the planner did not decide.

pub mod backend;
mod metrics;
pub mod plan;
pub mod preview;
mod reconcile;

pub use metrics::Metrics;
pub use reconcile::{Clock, ControllerConfig, Error, FINALIZER, run};

#[cfg(test)]
mod fixtures;
