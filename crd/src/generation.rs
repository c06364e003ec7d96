use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use schemars::transform::RecursiveTransform;
use serde::{Deserialize, Serialize};

/// The most a prompt may hold, in characters (64 KiB).
pub const MAX_PROMPT_CHARS: usize = 65_536;

/// The template every generation starts from unless it names another.
pub const DEFAULT_TEMPLATE: &str = "react-vite-express";

/// A request to build one version of a web app from an idea written in plain language.
///
/// The api and users write `spec`; only the controller writes `status`.
// Each `printcolumn(...)` repeats `type_ = ...`, which clippy mistakes for a duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "appgen.dev",
    version = "v1alpha1",
    kind = "Generation",
    plural = "generations",
    namespaced,
    status = "GenerationStatus",
    derive = "PartialEq",
    shortname = "gen",
    category = "appgen",
    doc = "A request to build one version of a web app from an idea written in plain language.",
    printcolumn(
        name = "App",
        type_ = "string",
        json_path = ".spec.app",
        description = "The app this generation builds."
    ),
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Pending, Running, Delivered, Failed or Cancelled."
    ),
    printcolumn(
        name = "Step",
        type_ = "string",
        json_path = ".status.step",
        description = "The latest progress step."
    ),
    printcolumn(
        name = "URL",
        type_ = "string",
        json_path = ".status.outputs.url",
        description = "The live URL of the delivered app."
    ),
    printcolumn(
        name = "Cost",
        type_ = "number",
        json_path = ".status.usage.costUsd",
        description = "What the AI agent cost, in US dollars."
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    selectable = ".spec.app"
)]
#[serde(rename_all = "camelCase")]
pub struct GenerationSpec {
    /// The app idea in plain language: a sentence or a page.
    #[schemars(length(min = 1, max = 65536))]
    pub prompt: String,

    /// The app's name, a DNS label. Generations of one app share its repository and live URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub app: Option<String>,

    /// The name of an earlier Generation of the same app to continue from (its source and agent session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,

    /// Which coding agent builds the app, and its limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentSpec>,

    /// The starting stack.
    #[serde(default = "default_template")]
    pub template: String,

    /// An explicit data model, for exact control over what is built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blueprint: Option<Blueprint>,

    /// Where the app goes once it passes its gates. The archive is always delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliverySpec>,

    /// How long one attempt may run before it is stopped and the generation fails with `DeadlineExceeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 86400))]
    pub timeout_seconds: Option<i64>,

    /// How many times a failed attempt is tried again. Infrastructure failures do not count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10))]
    pub retries: Option<i32>,

    /// Set to true to stop the generation; it ends Cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel: Option<bool>,

    /// Seconds after it finishes that a generation is deleted. Unset keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub ttl_seconds_after_finished: Option<i64>,

    /// Raise to deliver the stored archive again (Git push, deploy) without regenerating the app,
    /// e.g. after a rejected push or a taken name is fixed; `status.observedRedeliver` follows it.
    /// The delivery uses `spec.delivery` as it is then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub redeliver: Option<i64>,
}

/// schemars lists `null` among an optional enum's values; Kubernetes expresses "may be absent"
/// with `nullable` instead, and `kubectl explain` would print the `null`.
impl GenerationSpec {
    /// A spec with only a prompt; every other field is unset and takes its default.
    pub fn from_prompt(prompt: impl Into<String>) -> Self {
        GenerationSpec {
            prompt: prompt.into(),
            app: None,
            parent: None,
            agent: None,
            template: default_template(),
            blueprint: None,
            delivery: None,
            timeout_seconds: None,
            retries: None,
            cancel: None,
            ttl_seconds_after_finished: None,
            redeliver: None,
        }
    }
}

fn drop_null_from_enums(schema: &mut schemars::Schema) {
    if let Some(serde_json::Value::Array(values)) = schema.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
}

fn default_template() -> String {
    DEFAULT_TEMPLATE.to_owned()
}

/// The coding agent and its limits.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = RecursiveTransform(drop_null_from_enums))]
pub struct AgentSpec {
    /// `scaffold` (offline, deterministic) or `claude-code`. Unset lets the server choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<AgentName>,
    /// The model the AI agent uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The most turns the AI agent may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_turns: Option<i32>,
    /// The most the AI agent may spend, in US dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("minimum" = 0, "exclusiveMinimum" = true))]
    pub max_budget_usd: Option<f64>,
    /// How many times a failed gate goes back to the agent for repair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10))]
    pub max_repairs: Option<i32>,
    /// What the AI agent starts from: the bare template, or the scaffold's working app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_from: Option<StartFrom>,
}

/// The coding agents appgen knows.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AgentName {
    Scaffold,
    ClaudeCode,
}

impl AgentName {
    /// The name as a spec writes it: `scaffold`, `claude-code`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentName::Scaffold => "scaffold",
            AgentName::ClaudeCode => "claude-code",
        }
    }
}

/// What an AI agent starts from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum StartFrom {
    Template,
    Scaffold,
}

/// A data model: the entities of an app and their fields.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Blueprint {
    /// The app's title as people see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The entities, each a list/detail/create/edit page and a REST collection.
    #[schemars(length(min = 1, max = 50))]
    pub entities: Vec<Entity>,
}

/// One kind of thing the app keeps (a Task, a Recipe, a Client).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    /// A name in PascalCase, e.g. `MealPlan`.
    #[schemars(length(min = 1, max = 63), regex(pattern = r"^[A-Za-z][A-Za-z0-9]*$"))]
    pub name: String,
    #[schemars(length(max = 100))]
    pub fields: Vec<Field>,
}

/// One field of an entity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    /// A name in camelCase, e.g. `dueDate`.
    #[schemars(length(min = 1, max = 63), regex(pattern = r"^[A-Za-z][A-Za-z0-9]*$"))]
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// The allowed values of an `enum` field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// The entity a `reference` field points to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<String>,
    /// The smallest allowed value of a numeric field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The largest allowed value of a numeric field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl Field {
    /// An optional field of `field_type` with no values, reference or bounds.
    pub fn new(name: impl Into<String>, field_type: FieldType) -> Self {
        Field {
            name: name.into(),
            field_type,
            required: false,
            values: Vec::new(),
            references: None,
            min: None,
            max: None,
        }
    }
}

/// The types a blueprint field can have.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FieldType {
    Text,
    LongText,
    Number,
    Integer,
    Money,
    Boolean,
    Date,
    Datetime,
    Email,
    Url,
    Enum,
    Reference,
}

/// Where a delivered app goes besides the archive.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliverySpec {
    /// Push the source to a Git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitDelivery>,
    /// Run the app somewhere with a live URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeploySpec>,
}

/// A Git repository to push the app's source to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitDelivery {
    /// `owner/name` on GitHub, or the URL of any Git remote. Unset: a repository named after the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The branch to push to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

/// Where the app runs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploySpec {
    pub target: DeployTarget,
}

/// Hosting targets.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DeployTarget {
    /// A long-lived task on the backend, routed by `appgen serve` (one machine).
    Preview,
    /// Fly.io.
    Fly,
    /// No live URL.
    None,
}

/// What the controller observed and decided. Written only by the controller.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = RecursiveTransform(drop_null_from_enums))]
pub struct GenerationStatus {
    /// A summary for people and printer columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// The latest progress step, e.g. `verify/build`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// A human-readable word on the current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Accepted, Launched, Generated, Verified, Delivered, and Previewing for a live preview.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// One entry per launched attempt, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Outputs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// One entry per verification gate, in the order they ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verification: Vec<GateResult>,
    /// The data model the agent understood.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blueprint: Option<Blueprint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// The `spec.redeliver` the controller last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_redeliver: Option<i64>,
}

/// The summary phase of a generation.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Phase {
    Pending,
    Running,
    Delivered,
    Failed,
    Cancelled,
}

/// One launch of the generator task.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// 1 for the first attempt.
    pub number: i32,
    /// The backend that ran it: process, docker, kubernetes, ecs, simulated.
    pub backend: String,
    /// The backend's id for the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Why it ended, e.g. `GateFailed`, `DeadlineExceeded`, `TaskFailedToStart`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// True when the attempt only delivered the stored archive again (`spec.redeliver`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redelivery: bool,
}

/// Where the delivered app can be found.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Outputs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The archive's size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The live URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// What the agent consumed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: i64,
    #[serde(default)]
    pub output_tokens: i64,
    #[serde(default)]
    pub cost_usd: f64,
    #[serde(default)]
    pub turns: i32,
    #[serde(default)]
    pub duration_seconds: f64,
}

/// The verification gates, in the order they run.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Gate {
    Install,
    Typecheck,
    Build,
    Test,
    Boot,
    Smoke,
}

impl Gate {
    /// Every gate, in the order they run.
    pub const ALL: [Gate; 6] = [
        Gate::Install,
        Gate::Typecheck,
        Gate::Build,
        Gate::Test,
        Gate::Boot,
        Gate::Smoke,
    ];

    /// The name used in status, events and steps (`verify/<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::Install => "install",
            Gate::Typecheck => "typecheck",
            Gate::Build => "build",
            Gate::Test => "test",
            Gate::Boot => "boot",
            Gate::Smoke => "smoke",
        }
    }
}

/// The outcome of one verification gate.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateResult {
    pub gate: Gate,
    pub passed: bool,
    pub duration_ms: i64,
    /// A short word on the outcome; for a failure, the tail of the gate's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
