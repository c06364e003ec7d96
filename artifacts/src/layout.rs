use crate::error::{ArtifactError, Result};

/// The keys of one Generation's artifacts, as DESIGN.md's "Artifact layout" fixes them:
///
/// ```text
/// generations/<namespace>/<name>/<uid>/
///   input.json
///   attempts/<n>/events/*.ndjson
///   attempts/<n>/result.json
///   attempts/<n>/grant.json     (only when tasks work through grants)
///   app.tar.gz
///   screenshots/*.png
///   session/
///   preview/<run>/input.json
/// ```
///
/// Keys ending in `/` are prefixes. The uid keeps a re-created Generation of the same name from
/// seeing its predecessor's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    prefix: String,
}

/// The longest DNS subdomain Kubernetes allows for a name.
const MAX_NAME_LEN: usize = 253;

impl Layout {
    pub fn new(namespace: &str, name: &str, uid: &str) -> Result<Self> {
        validate_name("namespace", namespace)?;
        validate_name("name", name)?;
        validate_name("uid", uid)?;
        Ok(Layout {
            prefix: format!("generations/{namespace}/{name}/{uid}/"),
        })
    }

    /// `generations/<namespace>/<name>/<uid>/`: everything this Generation owns.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// What the generator must do, written by the controller before launch.
    pub fn input(&self) -> String {
        format!("{}input.json", self.prefix)
    }

    /// `.../attempts/<attempt>/`: everything one attempt writes.
    pub fn attempt_prefix(&self, attempt: u32) -> String {
        format!("{}attempts/{attempt}/", self.prefix)
    }

    /// An attempt's outputs, usage, gate results and error, written last.
    pub fn result(&self, attempt: u32) -> String {
        format!("{}result.json", self.attempt_prefix(attempt))
    }

    /// The prefix to pass to [`crate::ArtifactStore::append_events`] and
    /// [`crate::ArtifactStore::read_events`]; the chunks land in its `events/`.
    pub fn events_prefix(&self, attempt: u32) -> String {
        self.attempt_prefix(attempt)
    }

    /// The grant an attempt's task works through, when tasks get grants instead of credentials.
    pub fn grant(&self, attempt: u32) -> String {
        format!("{}grant.json", self.attempt_prefix(attempt))
    }

    /// The delivered source.
    pub fn archive(&self) -> String {
        format!("{}app.tar.gz", self.prefix)
    }

    /// The prefix of the app's screenshots.
    pub fn screenshots(&self) -> String {
        format!("{}screenshots/", self.prefix)
    }

    /// The prefix of the agent's session, which a follow-up resumes.
    pub fn session(&self) -> String {
        format!("{}session/", self.prefix)
    }

    /// What run `run` of the delivered app's live preview must do, written by the controller
    /// before it launches that run.
    pub fn preview_input(&self, run: u32) -> String {
        format!("{}preview/{run}/input.json", self.prefix)
    }
}

/// Accepts DNS-ish names (letters, digits, `-` and `.`, starting and ending with a letter or
/// digit), which is every Kubernetes namespace, name and uid, and can never leave its segment.
fn validate_name(field: &'static str, value: &str) -> Result<()> {
    let refuse = |reason| ArtifactError::InvalidName {
        field,
        value: value.to_owned(),
        reason,
    };
    let is_alphanumeric = |c: char| c.is_ascii_alphanumeric();
    if value.is_empty() {
        return Err(refuse("it is empty"));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(refuse("it is longer than 253 characters"));
    }
    if !value.chars().all(|c| is_alphanumeric(c) || c == '-' || c == '.') {
        return Err(refuse("only letters, digits, '-' and '.' are allowed"));
    }
    if !value.starts_with(is_alphanumeric) || !value.ends_with(is_alphanumeric) {
        return Err(refuse("it must start and end with a letter or digit"));
    }
    if value.contains("..") {
        return Err(refuse("it contains '..'"));
    }
    Ok(())
}
