//! The controller: reconciles each `Generation` toward Delivered by running one generator task
//! at a time on a backend. Decisions are pure ([`plan`]); the reconciler only carries them out.
//!
//! It must never launch a second task for an attempt, nor write status the planner did not decide.

pub mod backend;
mod metrics;
pub mod plan;
mod reconcile;

pub use metrics::Metrics;
pub use reconcile::{Clock, ControllerConfig, Error, FINALIZER, run};

#[cfg(test)]
mod fixtures;
