use std::path::PathBuf;

/// Everything that can go wrong in this crate; each variant names the key, path or value at fault.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// A key or prefix that could name something outside the store, or that no store can hold.
    #[error("artifact key {key:?} is refused: {reason}")]
    InvalidKey { key: String, reason: &'static str },

    /// A namespace, name or uid that cannot be one segment of an artifact path.
    #[error("{field} {value:?} cannot name artifacts: {reason}")]
    InvalidName {
        field: &'static str,
        value: String,
        reason: &'static str,
    },

    /// An artifact store location that this crate cannot open.
    #[error("artifact store URI {uri:?} is refused: {reason}")]
    InvalidUri { uri: String, reason: String },

    /// The file system failed; `action` says what was being attempted.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An event could not be written as a JSON line.
    #[error("could not encode event {seq} as JSON: {source}")]
    EncodeEvent {
        seq: u64,
        #[source]
        source: serde_json::Error,
    },

    /// An S3 store that cannot be set up as configured; nothing was sent yet.
    #[error("S3 store for bucket {bucket:?} cannot be set up: {reason}")]
    S3Config { bucket: String, reason: String },

    /// An S3 request failed. `key` is the full object key or prefix in the bucket; `hint` says
    /// what usually fixes it. Never holds credentials: the SDK's error text carries none.
    #[error("could not {action} s3://{bucket}/{key}: {reason}; {hint}")]
    S3 {
        action: &'static str,
        bucket: String,
        key: String,
        reason: String,
        hint: &'static str,
    },

    /// A task working through its grant tried something the grant does not cover.
    #[error(
        "the task's grant does not allow it to {action} {key:?}: it may write only under {prefix:?} and read what the controller listed for it"
    )]
    NotGranted {
        action: &'static str,
        key: String,
        prefix: String,
    },

    /// A request through a task's grant failed. Names the key, never the URL: a presigned URL is a
    /// credential.
    #[error("could not {action} {key} through the task's grant: {reason}")]
    GrantRequest {
        action: &'static str,
        key: String,
        reason: String,
    },

    /// A store that cannot hand out grants was asked for one.
    #[error(
        "the artifact store {store} cannot grant a task access of its own; use an S3 store, or let tasks use their own credentials"
    )]
    NoGrants { store: String },

    /// A lifecycle rule that S3 cannot hold.
    #[error(
        "generations cannot expire after {days} days: S3 needs a whole number of days from 1 to {}",
        i32::MAX
    )]
    InvalidExpiry { days: u32 },

    /// Readers find events by the first seq of each chunk, which only works when seqs increase.
    #[error("events appended under {prefix:?} must increase in seq, but {next} follows {previous}")]
    EventsOutOfOrder {
        prefix: String,
        previous: u64,
        next: u64,
    },
}

pub type Result<T, E = ArtifactError> = std::result::Result<T, E>;

impl ArtifactError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| ArtifactError::Io { action, path, source }
    }
}
