//! Benchmark of one generator task: `appgen generate` on the todo example with the scaffold agent,
//! from input to packaged archive through every gate, with a warm pnpm store (the median of
//! several runs) and with a cold one (a new, empty store, so packages come from the registry).
//!
//! Run: `cargo bench -p appgen --bench generate` (`APPGEN_BENCH_RUNS` changes the 5 warm runs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use appgen_crd::GenerationSpec;
use appgen_crd::task::{TaskInput, TaskResult};

const APPGEN: &str = env!("CARGO_BIN_EXE_appgen");
const TODO: &str =
    "A todo app where tasks have a title, a due date, a priority (low, medium, high) and a done flag.";

struct Measured {
    total: Duration,
    gates: Vec<(String, i64)>,
}

fn run_once(store: &Path) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let generation = dir.path().join("store/generations/default/todo/bench-uid");
    std::fs::create_dir_all(&generation).unwrap();
    let input = TaskInput {
        namespace: "default".into(),
        name: "todo".into(),
        uid: "bench-uid".into(),
        attempt: 1,
        observed_generation: 1,
        spec: serde_json::from_value::<GenerationSpec>(serde_json::json!({ "prompt": TODO, "app": "todo" }))
            .unwrap(),
        artifacts: format!("file://{}/", generation.display()),
        parent_commit: None,
        redelivery: None,
        parent_uid: None,
    };
    std::fs::write(generation.join("input.json"), serde_json::to_vec(&input).unwrap()).unwrap();
    let started = Instant::now();
    let status = Command::new(APPGEN)
        .args(["generate", "--input"])
        .arg(format!("file://{}/input.json", generation.display()))
        .arg("--workspace")
        .arg(dir.path().join("work"))
        .env("APPGEN_PNPM_STORE", store)
        .env("APPGEN_TASK_KEY", "bench-uid-1")
        .status()
        .unwrap();
    let total = started.elapsed();
    let result: TaskResult =
        serde_json::from_slice(&std::fs::read(generation.join("attempts/1/result.json")).unwrap()).unwrap();
    assert!(
        status.success() && result.delivered,
        "the run did not deliver: {:?}",
        result.error
    );
    Measured {
        total,
        gates: result
            .verification
            .iter()
            .map(|g| {
                (
                    serde_json::to_value(g.gate).unwrap().as_str().unwrap().to_owned(),
                    g.duration_ms,
                )
            })
            .collect(),
    }
}

fn report(label: &str, m: &Measured) {
    let gates: Vec<String> = m
        .gates
        .iter()
        .map(|(g, ms)| format!("{g} {:.1}s", *ms as f64 / 1000.0))
        .collect();
    println!(
        "{label}: total {:.1}s — {}",
        m.total.as_secs_f64(),
        gates.join(", ")
    );
}

fn main() {
    let runs: usize = std::env::var("APPGEN_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let cold_store = tempfile::tempdir().unwrap();
    let cold = run_once(cold_store.path());
    report("cold store (first run, packages from the registry)", &cold);

    // The same store, now warm: every later install is offline.
    let mut warm: Vec<Measured> = (0..runs).map(|_| run_once(cold_store.path())).collect();
    for (i, m) in warm.iter().enumerate() {
        report(&format!("warm run {}", i + 1), m);
    }
    warm.sort_by_key(|m| m.total);
    let median = &warm[warm.len() / 2];
    report("warm median", median);
}
