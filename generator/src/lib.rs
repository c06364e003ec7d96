//! The generator task (DESIGN.md, "Generator pipeline"): read `input.json`, let an agent write the
//! app, check it with the gates, package it, and always write `result.json`.

pub mod blueprint;
mod claude;
mod command;
pub mod delivery;
mod error;
mod events;
pub mod gates;
pub mod package;
mod pipeline;
pub mod preview;
pub mod render;
mod workspace;

pub use claude::agent::ClaudeConfig;
pub use delivery::DeliveryConfig;
pub use error::Error;
pub use gates::Tools;
pub use pipeline::{Ending, Settings, run};

/// The clock for event timestamps; injected so tests are deterministic.
pub type Clock = std::sync::Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;
