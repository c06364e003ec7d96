//! `appgen generate`: prepare → agent → gates → package → deliver, with a `phase` event at every
//! step and `result.json` written at the end whatever happened.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use appgen_artifacts::{ArtifactStore, Layout};
use appgen_crd::task::{Redelivery, TaskError, TaskEventType, TaskInput, TaskResult};
use appgen_crd::{AgentName, Blueprint, DeployTarget, MAX_PROMPT_CHARS, Outputs, StartFrom, Usage};
use bytes::Bytes;
use serde_json::json;

use crate::claude::agent::ClaudeConfig;
use crate::delivery::{self, DeliveryConfig};
use crate::events::EventLog;
use crate::gates::{self, Target, Tools};
use crate::{Clock, Error, blueprint, claude, package, render, workspace};

/// What a run needs besides its input.
#[derive(Clone)]
pub struct Settings {
    /// The task's own directory; the app is written to `app/` inside it.
    pub workspace: PathBuf,
    pub tools: Tools,
    /// Values that must never reach the event log or the result.
    pub secrets: Vec<String>,
    /// The agent when the spec names none.
    pub default_agent: AgentName,
    pub claude: ClaudeConfig,
    /// Credentials and defaults for Git delivery and Fly.io deploys.
    pub delivery: DeliveryConfig,
    /// The attempt this task is, when the backend says (`APPGEN_TASK_KEY` ends in it); used to put
    /// `result.json` in the right place even when `input.json` cannot be read.
    pub attempt: Option<u32>,
    pub clock: Clock,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("workspace", &self.workspace)
            .field("tools", &self.tools)
            .field("attempt", &self.attempt)
            .field("default_agent", &self.default_agent)
            .field("claude", &self.claude)
            .field("delivery", &self.delivery)
            .finish_non_exhaustive()
    }
}

/// How a run ended, which decides the exit code.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    Delivered,
    /// The run failed and `result.json` says why.
    Failed,
    /// Not even `result.json` could be written; the reason went to stderr.
    Unreported,
}

impl Ending {
    pub fn exit_code(&self) -> u8 {
        match self {
            Ending::Delivered => 0,
            Ending::Failed => 1,
            Ending::Unreported => 2,
        }
    }
}

/// Runs the whole pipeline for the input at `input_uri`.
pub async fn run(input_uri: &str, settings: &Settings) -> Ending {
    let (store, key) = match appgen_artifacts::open_object(input_uri).await {
        Ok(found) => found,
        Err(e) => {
            eprintln!("appgen generate: {e}");
            return Ending::Unreported;
        }
    };
    let layout = match layout_of_input(&key) {
        Ok(layout) => layout,
        Err(e) => {
            eprintln!("appgen generate: {e}");
            return Ending::Unreported;
        }
    };
    let attempt = settings.attempt.unwrap_or(1);
    let mut log = EventLog::new(
        store.clone(),
        layout.events_prefix(attempt),
        attempt,
        settings.secrets.clone(),
        settings.clock.clone(),
    );
    let started = Instant::now();
    let mut result = TaskResult::default();
    let outcome = Run {
        store: store.clone(),
        layout: layout.clone(),
        settings,
        log: &mut log,
        result: &mut result,
    }
    // Named by its place in the store: a grant's URL is a credential and never appears in a message.
    .steps(&key, &store.uri(&key))
    .await;
    let usage = result.usage.get_or_insert_with(Usage::default);
    usage.duration_seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(()) => {
            result.delivered = true;
            log.emit(TaskEventType::Result, json!({ "delivered": true }))
                .await;
        }
        Err(StepError { step, error, reason }) => {
            let message = log.redact_str(&error.to_string());
            log.emit(TaskEventType::Error, json!({ "step": step, "message": message }))
                .await;
            result.delivered = false;
            result.error = Some(TaskError {
                step,
                message,
                reason: reason.map(str::to_owned),
            });
        }
    }
    log.flush().await;
    let bytes = match serde_json::to_vec_pretty(&result) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("appgen generate: could not encode result.json: {e}");
            return Ending::Unreported;
        }
    };
    if let Err(e) = store.put(&layout.result(attempt), Bytes::from(bytes)).await {
        eprintln!("appgen generate: could not write result.json: {e}");
        return Ending::Unreported;
    }
    if result.delivered {
        Ending::Delivered
    } else {
        Ending::Failed
    }
}

/// The Layout whose `input.json` is `key`.
fn layout_of_input(key: &str) -> Result<Layout, Error> {
    let parts: Vec<&str> = key.split('/').collect();
    match parts.as_slice() {
        ["generations", namespace, name, uid, "input.json"] => Ok(Layout::new(namespace, name, uid)?),
        _ => Err(Error::NotAnInput { key: key.to_owned() }),
    }
}

#[derive(Debug)]
struct StepError {
    step: String,
    error: Box<Error>,
    /// The condition reason to report, when the step knows better than its name.
    reason: Option<&'static str>,
}

/// Tags a failure with the step it happened in.
trait AtStep<T> {
    fn at(self, step: &str) -> Result<T, StepError>;
}

impl<T, E: Into<Error>> AtStep<T> for Result<T, E> {
    fn at(self, step: &str) -> Result<T, StepError> {
        self.map_err(|e| StepError {
            step: step.to_owned(),
            error: Box::new(e.into()),
            reason: None,
        })
    }
}

/// Tags a delivery failure with its step and the reason it names.
fn failed_delivery(step: &'static str) -> impl Fn(delivery::DeliveryError) -> StepError {
    move |error| StepError {
        step: step.to_owned(),
        reason: Some(error.reason()),
        error: Box::new(error.into()),
    }
}

struct Run<'a> {
    store: Arc<dyn ArtifactStore>,
    layout: Layout,
    settings: &'a Settings,
    log: &'a mut EventLog,
    result: &'a mut TaskResult,
}

impl Run<'_> {
    async fn steps(mut self, key: &str, input_uri: &str) -> Result<(), StepError> {
        let step = Instant::now();
        self.log.phase("prepare", json!({ "state": "started" })).await;
        let input = self.read_input(key, input_uri).await.at("prepare")?;
        let app_dir = self.settings.workspace.join("app");
        let scratch = self.settings.workspace.join("scratch");
        workspace::prepare(&app_dir).at("prepare")?;
        workspace::prepare(&scratch).at("prepare")?;
        self.finished("prepare", step).await;
        let app_name = app_name(&input);
        if let Some(redelivery) = &input.redelivery {
            let files = self.stored_app(redelivery, &app_name, &app_dir).await?;
            return self
                .deliver_elsewhere(&input, &app_name, &app_dir, &scratch, &files)
                .await;
        }

        let agent = input
            .spec
            .agent
            .as_ref()
            .and_then(|a| a.name)
            .unwrap_or(self.settings.default_agent);
        let start_from = input.spec.agent.as_ref().and_then(|a| a.start_from);
        self.log.log(format!("agent: {}", agent.as_str())).await;
        let screenshot = scratch.join("home.png");

        // The scaffold agent writes the whole app from the blueprint; Claude Code starts from the
        // template, or from the scaffold's app when the spec asks for it.
        let expected = if agent == AgentName::Scaffold || start_from == Some(StartFrom::Scaffold) {
            let step = Instant::now();
            self.log
                .phase(
                    "agent/understand",
                    json!({ "state": "started", "agent": "scaffold" }),
                )
                .await;
            let blueprint = self.understand(&input).await.at("agent/understand")?;
            self.finished("agent/understand", step).await;
            self.write(&blueprint, &app_name, &input, &app_dir).await?;
            render::home_page_labels(&blueprint)
        } else {
            self.write(&Blueprint::default(), &app_name, &input, &app_dir)
                .await?;
            Vec::new()
        };
        let target = Target {
            app_dir: &app_dir,
            scratch: &scratch,
            expected_texts: &expected,
            screenshot: &screenshot,
        };

        match agent {
            AgentName::Scaffold => {
                let (verification, failure) = gates::run(&self.settings.tools, &target, self.log).await;
                self.result.verification = verification;
                if let Some(failure) = failure {
                    let gate = failure.gate.as_str();
                    return Err(Error::GateFailed {
                        gate,
                        message: failure.message,
                    })
                    .at(&format!("verify/{gate}"));
                }
            }
            AgentName::ClaudeCode => {
                let mut job = claude::agent::Job::new(
                    &input.spec.prompt,
                    input.spec.agent.as_ref(),
                    &input.uid,
                    input.attempt,
                    &self.settings.workspace,
                    self.deadline(&input),
                );
                if let (Some(parent), Some(uid)) = (&input.spec.parent, &input.parent_uid) {
                    let session = Layout::new(&input.namespace, parent, uid).at("agent")?.session();
                    job.continue_from(&self.store, &session, &app_dir)
                        .await
                        .at("agent")?;
                    self.log
                        .log(format!(
                            "continuing {parent}: its source, and its session when it saved one"
                        ))
                        .await;
                }
                let (outcome, usage) = claude::agent::build(
                    &self.settings.claude,
                    &self.settings.tools,
                    &target,
                    &job,
                    self.log,
                )
                .await;
                self.result.usage = Some(usage);
                if let Err(e) =
                    claude::agent::save_session(&self.store, &self.layout.session(), &job, &app_dir).await
                {
                    self.log
                        .log(format!("could not save the agent's session: {e}"))
                        .await;
                }
                match outcome {
                    Ok(verification) => self.result.verification = verification,
                    Err(failure) => {
                        self.result.verification = failure.verification;
                        return Err(StepError {
                            step: "agent".to_owned(),
                            error: Box::new(Error::Agent {
                                message: failure.message,
                            }),
                            reason: Some(failure.reason.as_str()),
                        });
                    }
                }
            }
        }

        let step = Instant::now();
        self.log.phase("package", json!({ "state": "started" })).await;
        let archive = package::pack(&app_dir, &app_name).at("package")?;
        self.finished("package", step).await;

        let step = Instant::now();
        self.log.phase("deliver", json!({ "state": "started" })).await;
        let size = archive.bytes.len();
        let archive_key = self.layout.archive();
        self.store
            .put(&archive_key, Bytes::from(archive.bytes))
            .await
            .at("deliver")?;
        self.log
            .emit(
                TaskEventType::Artifact,
                json!({ "name": "app.tar.gz", "key": archive_key, "sha256": archive.sha256, "size": size, "files": archive.files.len() }),
            )
            .await;
        let shot_key = format!("{}home.png", self.layout.screenshots());
        let shot = std::fs::read(&screenshot)
            .map_err(|source| Error::Screenshot { source })
            .at("deliver")?;
        self.store.put(&shot_key, Bytes::from(shot)).await.at("deliver")?;
        self.log
            .emit(
                TaskEventType::Artifact,
                json!({ "name": "screenshots/home.png", "key": shot_key }),
            )
            .await;
        self.result.outputs = Some(Outputs {
            archive_url: Some(self.store.uri(&archive_key)),
            sha256: Some(archive.sha256),
            size: i64::try_from(size).ok(),
            ..Outputs::default()
        });
        self.finished("deliver", step).await;
        self.deliver_elsewhere(&input, &app_name, &app_dir, &scratch, &archive.files)
            .await
    }

    /// A redelivery's app: the stored archive, checked against the sha256 it was made with and
    /// laid out in `app_dir`; its outputs are the archive's. Returns the files it holds.
    async fn stored_app(
        &mut self,
        redelivery: &Redelivery,
        app_name: &str,
        app_dir: &std::path::Path,
    ) -> Result<Vec<String>, StepError> {
        let step = Instant::now();
        self.log
            .phase("deliver", json!({ "state": "started", "redelivery": true }))
            .await;
        self.log
            .log("delivering the stored archive again: no agent, no gates")
            .await;
        let key = self.layout.archive();
        let bytes = self
            .store
            .get(&key)
            .await
            .at("deliver")?
            .ok_or_else(|| Error::StoredArchiveMissing { key: key.clone() })
            .at("deliver")?;
        let found = package::sha256(&bytes);
        if found != redelivery.sha256 {
            return Err(Error::ArchiveChanged {
                key,
                expected: redelivery.sha256.clone(),
                found,
            })
            .at("deliver");
        }
        crate::preview::lay_out(&bytes, app_dir).at("deliver")?;
        let files = package::pack(app_dir, app_name).at("deliver")?.files;
        self.result.outputs = Some(Outputs {
            archive_url: Some(self.store.uri(&key)),
            sha256: Some(found),
            size: i64::try_from(bytes.len()).ok(),
            ..Outputs::default()
        });
        self.finished("deliver", step).await;
        Ok(files)
    }

    /// The deliveries beyond the archive that the spec asks for: the Git push, then the deploy.
    async fn deliver_elsewhere(
        &mut self,
        input: &TaskInput,
        app_name: &str,
        app_dir: &std::path::Path,
        scratch: &std::path::Path,
        files: &[String],
    ) -> Result<(), StepError> {
        if let Some(git) = input.spec.delivery.as_ref().and_then(|d| d.git.as_ref()) {
            let step = Instant::now();
            self.log.phase("deliver/git", json!({ "state": "started" })).await;
            let source = delivery::Source { dir: app_dir, files };
            let expected = delivery::Expected {
                parent: input.parent_commit.clone(),
                delivered: input.redelivery.as_ref().and_then(|r| r.commit.clone()),
            };
            // A failed push fails only this step: the archive and its outputs stay delivered.
            let pushed = delivery::push(
                git,
                app_name,
                &input.spec.prompt,
                &self.settings.delivery,
                source,
                &expected,
                scratch,
                &self.settings.tools.path,
            )
            .await
            .map_err(failed_delivery("deliver/git"))?;
            self.log
                .log(format!("pushed {} to {}", pushed.commit, pushed.repository_url))
                .await;
            if let Some(outputs) = self.result.outputs.as_mut() {
                outputs.repository_url = Some(pushed.repository_url);
                outputs.commit = Some(pushed.commit);
            }
            self.finished("deliver/git", step).await;
        }

        let target = input
            .spec
            .delivery
            .as_ref()
            .and_then(|d| d.deploy.as_ref())
            .map(|d| d.target);
        if target == Some(DeployTarget::Fly) {
            let step = Instant::now();
            self.log
                .phase("deliver/deploy", json!({ "state": "started", "target": "fly" }))
                .await;
            let url = self.deploy_to_fly(&self.layout.archive(), app_name).await?;
            self.log.log(format!("deployed to {url}")).await;
            if let Some(outputs) = self.result.outputs.as_mut() {
                outputs.url = Some(url);
            }
            self.finished("deliver/deploy", step).await;
        }
        Ok(())
    }

    /// Deploys the stored archive to Fly.io, which fetches it through a short-lived URL.
    async fn deploy_to_fly(&mut self, archive_key: &str, app_name: &str) -> Result<String, StepError> {
        let failed = failed_delivery("deliver/deploy");
        // Long enough for a machine to be created and to fetch it, short enough to be useless later.
        let url = self
            .store
            .download_url(archive_key, std::time::Duration::from_secs(30 * 60))
            .await
            .at("deliver/deploy")?
            .ok_or(delivery::DeliveryError::NoDownloadUrl)
            .map_err(&failed)?;
        delivery::fly::deploy(
            &self.settings.delivery,
            app_name,
            &url,
            delivery::fly::Patience::default(),
        )
        .await
        .map_err(&failed)
    }

    /// Renders the app for `blueprint` and writes it into `app_dir`.
    async fn write(
        &mut self,
        blueprint: &Blueprint,
        app_name: &str,
        input: &TaskInput,
        app_dir: &std::path::Path,
    ) -> Result<(), StepError> {
        let step = Instant::now();
        self.log.phase("agent/write", json!({ "state": "started" })).await;
        let title = blueprint.title.clone().unwrap_or_else(|| app_name.to_owned());
        let files = render::render(
            blueprint,
            &render::AppInfo {
                name: app_name,
                title: &title,
                prompt: &input.spec.prompt,
            },
        );
        let written = workspace::write_all(
            app_dir,
            files.iter().map(|f| (f.path.as_str(), f.contents.as_str())),
        )
        .at("agent/write")?;
        self.log.log(format!("wrote {written} files")).await;
        self.finished("agent/write", step).await;
        Ok(())
    }

    /// When the agent must stop: the Generation's timeout from now, less time for the gates and
    /// delivery, since the controller stops the whole task at the timeout itself.
    fn deadline(&self, input: &TaskInput) -> Instant {
        let timeout = input
            .spec
            .timeout_seconds
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(3600);
        let margin = (timeout / 5).clamp(30, 300);
        Instant::now() + std::time::Duration::from_secs(timeout.saturating_sub(margin).max(30))
    }

    async fn finished(&mut self, step: &str, started: Instant) {
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.log
            .phase(step, json!({ "state": "finished", "durationMs": duration_ms }))
            .await;
    }

    /// Reads and checks `input.json`.
    async fn read_input(&mut self, key: &str, uri: &str) -> Result<TaskInput, Error> {
        let bytes = self
            .store
            .get(key)
            .await?
            .ok_or_else(|| Error::InputMissing { uri: uri.to_owned() })?;
        let input: TaskInput = serde_json::from_slice(&bytes).map_err(|source| Error::InputInvalid {
            uri: uri.to_owned(),
            source,
        })?;
        let prompt = input.spec.prompt.trim();
        if input.spec.prompt.chars().count() > MAX_PROMPT_CHARS {
            return Err(Error::PromptTooLong {
                limit: MAX_PROMPT_CHARS,
            });
        }
        if prompt.is_empty() {
            return Err(Error::EmptyPrompt);
        }
        if input.spec.blueprint.is_none() && !prompt.chars().any(char::is_alphanumeric) {
            return Err(Error::PromptWithoutWords);
        }
        Ok(input)
    }

    /// The data model: the user's own blueprint when given, else what the prompt says.
    async fn understand(&mut self, input: &TaskInput) -> Result<Blueprint, Error> {
        let blueprint = match &input.spec.blueprint {
            Some(given) => {
                self.log.log("using the blueprint given in the spec").await;
                given.clone()
            }
            None => {
                let understood = blueprint::understand(&input.spec.prompt);
                for note in &understood.notes {
                    self.log.log(note.clone()).await;
                }
                if understood.fell_back {
                    self.log
                        .log("could not find a data model in the prompt; made one entity named after it")
                        .await;
                }
                understood.blueprint
            }
        };
        blueprint::check(&blueprint)?;
        self.log
            .emit(TaskEventType::Agent, json!({ "blueprint": blueprint }))
            .await;
        self.result.blueprint = Some(blueprint.clone());
        Ok(blueprint)
    }
}

/// The app's name: `spec.app`, else the Generation's name, as a DNS label.
fn app_name(input: &TaskInput) -> String {
    let raw = input.spec.app.as_deref().unwrap_or(&input.name);
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    let trimmed = cleaned.trim_matches('-');
    if trimmed.is_empty() {
        "app".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_input_keys_of_the_layout_are_accepted() {
        let layout = layout_of_input("generations/default/todo/u-1/input.json").unwrap();
        assert_eq!(
            layout.result(2),
            "generations/default/todo/u-1/attempts/2/result.json"
        );
        for bad in [
            "input.json",
            "generations/default/todo/input.json",
            "generations/a/b/c/result.json",
            "x/a/b/c/input.json",
        ] {
            assert!(layout_of_input(bad).is_err(), "{bad}");
        }
    }
}
