//! The claude-code agent's loop: a round of the CLI, the gates, and a repair round resuming the
//! same session while the decisions in [`super::decide`] say so.

use std::path::Path;
use std::time::{Duration, Instant};

use appgen_crd::task::TaskEventType;
use appgen_crd::{AgentSpec, GateResult, Usage};
use serde_json::json;

use super::decide::{self, FailReason, GateFailure, History, Limits, Next};
use super::invocation::{self, ClaudeSettings, Permissions, Round};
use super::run::{self, STOP_GRACE};
use super::session;
use crate::events::EventLog;
use crate::gates::{self, Target, Tools};

/// How the generator runs Claude Code, from its environment.
#[derive(Clone)]
pub struct ClaudeConfig {
    /// The CLI, `claude` on `PATH` unless configured.
    pub program: String,
    /// The model credentials the CLI gets (API key, gateway, Bedrock or Vertex), nothing else.
    pub credentials: Vec<(String, String)>,
    /// Whether the generator runs as root, where the CLI refuses bypass mode outside a sandbox.
    pub as_root: bool,
    /// Whether the task runs in a sandbox of its own (a container), where bypass mode is safe.
    pub in_sandbox: bool,
    /// Waits before new tries of a round the model API failed; their count bounds the tries.
    pub backoff: Vec<Duration>,
}

impl std::fmt::Debug for ClaudeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.credentials.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ClaudeConfig")
            .field("program", &self.program)
            .field("credentials", &names)
            .field("as_root", &self.as_root)
            .field("in_sandbox", &self.in_sandbox)
            .finish_non_exhaustive()
    }
}

impl ClaudeConfig {
    /// From the generator's environment: `APPGEN_CLAUDE` names the CLI, `APPGEN_SANDBOX=1` says
    /// the task is sandboxed, and only model credentials are kept.
    pub fn from_env(env: impl IntoIterator<Item = (String, String)>, as_root: bool) -> Self {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        ClaudeConfig {
            program: get("APPGEN_CLAUDE").unwrap_or_else(|| "claude".to_owned()),
            in_sandbox: get("APPGEN_SANDBOX").as_deref() == Some("1"),
            credentials: invocation::credentials(env),
            as_root,
            backoff: decide::BACKOFF.to_vec(),
        }
    }

    /// Values that must never be written down.
    pub fn secrets(&self) -> Vec<String> {
        invocation::secret_values(&self.credentials)
    }
}

/// What one task asks of the agent.
#[derive(Debug)]
pub(crate) struct Job<'a> {
    pub prompt: &'a str,
    pub agent: Option<&'a AgentSpec>,
    /// The session to start, or to continue when `continues` is set (a follow-up).
    pub session_id: String,
    pub continues: bool,
    pub workspace: &'a Path,
    pub deadline: Instant,
}

impl<'a> Job<'a> {
    /// A job with a session of its own, named after the Generation's uid and attempt.
    pub(crate) fn new(
        prompt: &'a str,
        agent: Option<&'a AgentSpec>,
        uid: &str,
        attempt: u32,
        workspace: &'a Path,
        deadline: Instant,
    ) -> Self {
        Job {
            prompt,
            agent,
            session_id: invocation::session_id(uid, attempt),
            continues: false,
            workspace,
            deadline,
        }
    }

    /// Puts a parent's saved source into `app_dir` and continues its session, when it saved one.
    pub(crate) async fn continue_from(
        &mut self,
        store: &std::sync::Arc<dyn appgen_artifacts::ArtifactStore>,
        parent_session: &str,
        app_dir: &Path,
    ) -> Result<(), session::SessionError> {
        let config_dir = invocation::config_dir(&invocation::home_under(self.workspace));
        if let Some(id) = session::restore(store, parent_session, &config_dir, app_dir).await? {
            self.session_id = id;
            self.continues = true;
        }
        Ok(())
    }
}

/// Why the agent did not deliver.
#[derive(Debug)]
pub(crate) struct Failure {
    pub reason: FailReason,
    pub message: String,
    /// The gates of the last round, when they ran.
    pub verification: Vec<GateResult>,
}

/// Runs rounds until the gates pass or a decision ends it. Returns the gate results and the
/// usage summed over every round, whatever the outcome.
pub(crate) async fn build(
    config: &ClaudeConfig,
    tools: &Tools,
    target: &Target<'_>,
    job: &Job<'_>,
    log: &mut EventLog,
) -> (Result<Vec<GateResult>, Failure>, Usage) {
    let limits = Limits {
        backoff: config.backoff.clone(),
        ..Limits::from_spec(job.agent)
    };
    let home = invocation::home_under(job.workspace);
    let settings = ClaudeSettings {
        program: config.program.clone(),
        model: job.agent.and_then(|a| a.model.clone()),
        session_id: job.session_id.clone(),
        permissions: Permissions::choose(config.as_root, config.in_sandbox),
        credentials: config.credentials.clone(),
        path: tools.path.clone(),
        home: home.clone(),
    };
    let mut history = History::default();
    let mut prompt = job.prompt.to_owned();
    let mut resume = job.continues;
    let mut round_number = 0u32;
    let outcome = loop {
        round_number += 1;
        let (max_turns, max_budget_usd) = limits.remaining(&history.spent);
        let round = Round {
            prompt: prompt.clone(),
            resume,
            max_turns,
            max_budget_usd,
            time_left: job.deadline.saturating_duration_since(Instant::now()),
        };
        let step = format!("agent/round-{round_number}");
        log.phase(
            &step,
            json!({ "state": "started", "agent": "claude-code", "resume": resume }),
        )
        .await;
        let started = Instant::now();
        let end = run::round(
            &invocation::command(&settings, &round),
            target.app_dir,
            STOP_GRACE,
            log,
        )
        .await;
        if let Some(outcome) = &end.outcome {
            history.spent.add(outcome);
        }
        log.phase(
            &step,
            json!({ "state": "finished", "durationMs": started.elapsed().as_millis() as u64 }),
        )
        .await;
        let judged = decide::judge_round(&end.ending, end.outcome.as_ref(), &end.stderr_tail);
        match decide::after_agent(&judged, &history, &limits) {
            Next::Verify => {}
            Next::Retry { after } => {
                log.log(format!(
                    "the model API is unavailable; trying again in {}s",
                    after.as_secs()
                ))
                .await;
                tokio::time::sleep(after).await;
                history.retries += 1;
                // The CLI refuses to start a session id twice; once it exists, continue it.
                resume =
                    session::find_transcript(&invocation::config_dir(&home), &settings.session_id).is_some();
                continue;
            }
            Next::Fail { reason, message } => {
                break Err(Failure {
                    reason,
                    message,
                    verification: Vec::new(),
                });
            }
            Next::Deliver | Next::Repair { .. } => {
                break Err(Failure {
                    reason: FailReason::AgentFailed,
                    message: "the agent's round ended in a state the loop does not know".to_owned(),
                    verification: Vec::new(),
                });
            }
        }
        let (verification, failure) = gates::run(tools, target, log).await;
        let failure = failure.map(|f| GateFailure::new(f.gate, &f.message));
        match decide::after_gates(failure.as_ref(), &history, &limits) {
            Next::Deliver => break Ok(verification),
            Next::Repair { prompt: next } => {
                log.emit(
                    TaskEventType::Agent,
                    json!({ "repair": history.repairs + 1, "gate": failure.as_ref().map(|f| f.gate.as_str()) }),
                )
                .await;
                history.repairs += 1;
                history.last_failure = failure;
                prompt = next;
                resume = true;
            }
            Next::Fail { reason, message } => {
                let message = match &failure {
                    Some(f) => format!("{message}:\n{}", f.message),
                    None => message,
                };
                break Err(Failure {
                    reason,
                    message,
                    verification,
                });
            }
            Next::Verify | Next::Retry { .. } => {
                break Err(Failure {
                    reason: FailReason::AgentFailed,
                    message: "the gates ended in a state the loop does not know".to_owned(),
                    verification,
                });
            }
        }
    };
    (outcome, history.spent.usage())
}

/// Saves the session and source to the store's `session/`, so a follow-up can resume them.
pub(crate) async fn save_session(
    store: &std::sync::Arc<dyn appgen_artifacts::ArtifactStore>,
    prefix: &str,
    job: &Job<'_>,
    app_dir: &Path,
) -> Result<(), session::SessionError> {
    let config_dir = invocation::config_dir(&invocation::home_under(job.workspace));
    session::save(store, prefix, &config_dir, app_dir, &job.session_id).await
}
