//! Builders for test Generations and observations, so tests read like the situation they set up.

use appgen_crd::task::{TaskError, TaskResult};
use appgen_crd::{Attempt, Generation, GenerationSpec, GenerationStatus, Outputs, Phase};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::backend::{TaskObservation, TaskState};

pub const UID: &str = "5f0c6c2e-0000-4000-8000-000000000001";

/// A fixed point in time, plus `seconds`.
pub fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000 + seconds).unwrap_or_default()
}

pub fn time(seconds: i64) -> Time {
    Time(at(seconds))
}

/// A freshly created Generation: accepted by the API server, untouched by the controller.
pub fn generation() -> Generation {
    let mut g = Generation::new(
        "todo",
        GenerationSpec {
            app: Some("todo".into()),
            timeout_seconds: Some(600),
            retries: Some(1),
            ..GenerationSpec::from_prompt("A todo app")
        },
    );
    g.metadata.namespace = Some("default".into());
    g.metadata.uid = Some(UID.into());
    g.metadata.generation = Some(1);
    g.metadata.creation_timestamp = Some(time(0));
    g
}

pub trait GenerationExt {
    fn with_status(self, f: impl FnOnce(&mut GenerationStatus)) -> Self;
    fn with_spec(self, f: impl FnOnce(&mut GenerationSpec)) -> Self;
    fn with_generation(self, generation: i64) -> Self;
}

impl GenerationExt for Generation {
    fn with_status(mut self, f: impl FnOnce(&mut GenerationStatus)) -> Self {
        f(self.status.get_or_insert_with(GenerationStatus::default));
        self
    }

    fn with_spec(mut self, f: impl FnOnce(&mut GenerationSpec)) -> Self {
        f(&mut self.spec);
        self
    }

    fn with_generation(mut self, generation: i64) -> Self {
        self.metadata.generation = Some(generation);
        self
    }
}

/// An attempt record as the planner writes it when it records the launch intent.
pub fn intent(number: i32) -> Attempt {
    Attempt {
        number,
        backend: "process".into(),
        task_id: Some(format!("{UID}-{number}")),
        ..Attempt::default()
    }
}

/// An attempt that started at `started` and is still running.
pub fn started(number: i32, started: i64) -> Attempt {
    Attempt {
        start_time: Some(time(started)),
        ..intent(number)
    }
}

/// An attempt that ended at `finished` for `reason`.
pub fn ended(number: i32, finished: i64, reason: &str, exit_code: Option<i32>) -> Attempt {
    Attempt {
        finish_time: Some(time(finished)),
        reason: Some(reason.into()),
        exit_code,
        ..started(number, finished - 10)
    }
}

/// A status with attempt `n` launched at `started` and running.
pub fn running_since(status: &mut GenerationStatus, attempts: Vec<Attempt>, started: i64) {
    status.phase = Some(Phase::Running);
    status.start_time = Some(time(started));
    status.observed_generation = Some(1);
    status.attempts = attempts;
}

pub fn observed(state: TaskState, started: Option<i64>, finished: Option<i64>) -> TaskObservation {
    TaskObservation {
        state,
        started_at: started.map(at),
        finished_at: finished.map(at),
    }
}

pub fn task_running(started: i64) -> TaskObservation {
    observed(TaskState::Running, Some(started), None)
}

pub fn task_exited(code: i32, finished: i64) -> TaskObservation {
    observed(
        TaskState::Exited {
            code: Some(code),
            signal: None,
        },
        Some(finished - 10),
        Some(finished),
    )
}

pub fn delivered_result() -> TaskResult {
    TaskResult {
        delivered: true,
        outputs: Some(Outputs {
            archive_url: Some("file:///artifacts/app.tar.gz".into()),
            sha256: Some("ab".repeat(32)),
            size: Some(12_345),
            ..Outputs::default()
        }),
        ..TaskResult::default()
    }
}

pub fn failed_result(step: &str, message: &str) -> TaskResult {
    TaskResult {
        delivered: false,
        error: Some(TaskError {
            step: step.into(),
            message: message.into(),
            reason: None,
        }),
        ..TaskResult::default()
    }
}
