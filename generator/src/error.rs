use appgen_artifacts::ArtifactError;

use crate::blueprint::BlueprintError;
use crate::package::PackageError;
use crate::workspace::WorkspaceError;

/// Why a generation did not deliver; each message names what failed and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{key:?} is not an input.json of the artifact layout (generations/<namespace>/<name>/<uid>/input.json)"
    )]
    NotAnInput { key: String },
    #[error("there is no input at {uri}; the controller writes it before launching the task")]
    InputMissing { uri: String },
    #[error("the input at {uri} is not a generator input: {source}")]
    InputInvalid { uri: String, source: serde_json::Error },
    #[error("the prompt is empty; describe the app to build")]
    EmptyPrompt,
    #[error("the prompt has no words in it; describe the app to build in a sentence or more")]
    PromptWithoutWords,
    #[error("the prompt is longer than {limit} characters; shorten it")]
    PromptTooLong { limit: usize },
    #[error("{message}")]
    Agent { message: String },
    #[error("the parent's saved work cannot be restored: {0}")]
    Parent(#[from] crate::claude::session::SessionError),
    #[error("the blueprint cannot be used: {0}")]
    Blueprint(#[from] BlueprintError),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error("the {gate} gate failed: {message}")]
    GateFailed { gate: &'static str, message: String },
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("the smoke gate passed but its screenshot cannot be read: {source}")]
    Screenshot { source: std::io::Error },
    #[error("delivery failed: {0}")]
    Delivery(#[from] crate::delivery::DeliveryError),
    #[error("the artifact store failed: {0}")]
    Store(#[from] ArtifactError),
    #[error("the input at {uri} is not a preview input: {source}")]
    PreviewInputInvalid { uri: String, source: serde_json::Error },
    #[error("the delivered archive {key} is not in the artifact store; deliver the app again")]
    ArchiveMissing { key: String },
    #[error(
        "the stored archive {key} is gone, so there is nothing to deliver again; create a new Generation"
    )]
    StoredArchiveMissing { key: String },
    #[error(
        "the stored archive {key} has sha256 {found}, not the {expected} it was made with; it is not delivered again: create a new Generation"
    )]
    ArchiveChanged {
        key: String,
        expected: String,
        found: String,
    },
    #[error(
        "the archive holds {entry:?}, which is not a plain file inside the app's folder; nothing of it was started"
    )]
    UnsafeArchive { entry: String },
    #[error("could not {action} {}: {source}", path.display())]
    PreviewFiles {
        action: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("the app could not be prepared for its preview: {message}")]
    PreviewPrepare { message: String },
}
