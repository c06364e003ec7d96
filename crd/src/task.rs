//! The contract between the controller and a generator task, as files in the artifact store:
//! `input.json` (what to do, written before launch), the event log (what is happening) and
//! `attempts/<n>/result.json` (what came of it, written last). A preview task has only its
//! `preview/<run>/input.json`: it serves the app until it is stopped and reports nothing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Blueprint, GateResult, GenerationSpec, Outputs, Usage};

/// What a generator task must do. Holds no secrets: those reach the task through its environment.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskInput {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// `metadata.generation` of the spec this task works from.
    pub observed_generation: i64,
    pub spec: GenerationSpec,
    /// Where this Generation's artifacts live, e.g. `file:///var/lib/appgen/artifacts/generations/default/todo/<uid>/`.
    pub artifacts: String,
    /// The uid of `spec.parent` (same namespace), whose saved source and session a follow-up
    /// continues from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_uid: Option<String>,
    /// The commit the parent pushed (its `status.outputs.commit`): a follow-up's commit goes on
    /// top of exactly it, and a branch that moved past it fails the push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_commit: Option<String>,
    /// Set when the task must only deliver the stored archive again: no agent, no gates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redelivery: Option<Redelivery>,
}

/// The stored app a deliver-only task delivers again.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Redelivery {
    /// The `sha256` the archive had when it was made; a stored archive that differs is refused.
    pub sha256: String,
    /// The commit an earlier attempt already pushed, if any: when the branch's head is still that
    /// commit, it is delivered as it is instead of being committed twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// What one run of a live preview must do: lay out the delivered archive, install and build it
/// (once per version), and serve it on `port`. Written by the controller before each launch.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PreviewInput {
    pub namespace: String,
    /// The Generation whose delivered app this run serves.
    pub name: String,
    pub uid: String,
    pub app: String,
    /// 1 for the first run of this Generation; each restart is a new run.
    pub run: u32,
    /// The key of the delivered `app.tar.gz`, in the same store as this input.
    pub archive: String,
    /// The loopback port the app must listen on; `appgen serve` proxies the app's address to it.
    pub port: u16,
    /// This version's folder on the machine that runs it: the app is laid out, installed and built
    /// in `app/` there once, and later runs of the same Generation start from it.
    pub version_dir: String,
    /// The app's `DATA_DIR`, kept across runs and versions so records outlive restarts.
    pub data_dir: String,
}

/// What a generator task achieved. A task that exits without writing one has failed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    /// True only when every gate passed and the app was delivered.
    pub delivered: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Outputs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verification: Vec<GateResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blueprint: Option<Blueprint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
}

/// Why a task did not deliver.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskError {
    /// The step that failed, e.g. `verify/build`.
    pub step: String,
    /// What went wrong, ending with what the user can do about it.
    pub message: String,
    /// A CamelCase word for the Generation's condition, e.g. `RepairLoop` or `ModelUnavailable`;
    /// when absent the controller names the failure from its step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The kinds of event-log lines.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum TaskEventType {
    Phase,
    Log,
    Agent,
    Tool,
    Gate,
    Artifact,
    Usage,
    Result,
    Error,
}

/// One line of a task's event log (`attempts/<n>/events/*.ndjson`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TaskEvent {
    /// Increases by one per line within an attempt, from 1.
    pub seq: u64,
    pub ts: jiff::Timestamp,
    pub attempt: u32,
    #[serde(rename = "type")]
    pub event_type: TaskEventType,
    /// Type-specific; a `phase` event carries `{"step": "verify/build"}`.
    #[serde(default)]
    pub body: Value,
}

impl TaskEvent {
    /// The progress step a `phase` event reports.
    pub fn step(&self) -> Option<&str> {
        match self.event_type {
            TaskEventType::Phase => self.body.get("step").and_then(Value::as_str),
            _ => None,
        }
    }
}
