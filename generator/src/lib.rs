//! The generator task (DESIGN.md, "Generator pipeline"): read `input.json`, let an agent write the
//! app, check it with the gates, package it, and always write `result.json`.

pub mod blueprint;
pub mod render;
