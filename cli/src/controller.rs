//! Running the controller: in `appgen serve` against the embedded API server, or alone as
//! `appgen controller` against any cluster.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use appgen_artifacts::{ArtifactStore, LocalStore};
use appgen_controller::backend::{Backend, ProcessBackend, ProcessConfig, SimulatedBackend, SimulatedConfig};
use appgen_controller::plan::Policy;
use appgen_controller::{Clock, ControllerConfig, Metrics};
use clap::ValueEnum;

use crate::Error;
use crate::generate::Agent;
use appgen_crd::AgentName;
use appgen_generator::delivery::DELIVERY_ENV;

/// Where generator tasks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// A child process per task on this machine (the default).
    Process,
    /// Tasks that only pretend to run, for control-plane tests and benchmarks.
    Simulated,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ControllerArgs {
    /// Where generator tasks run.
    #[arg(long, value_enum, default_value_t = BackendKind::Process, env = "APPGEN_BACKEND")]
    pub backend: BackendKind,
    /// The most generator tasks running at once [default: the number of cores].
    #[arg(long, env = "APPGEN_MAX_RUNNING")]
    pub max_running: Option<usize>,
    /// How long a simulated task runs, in seconds (`--backend simulated` only).
    #[arg(long, default_value_t = 0.0)]
    pub simulated_task_seconds: f64,
    /// The program a process task runs, given `--input <uri>` [default: this binary's `generate`].
    #[arg(long, env = "APPGEN_GENERATOR")]
    pub generator: Option<PathBuf>,
    /// CPU seconds a process task may use (`ulimit -t`).
    #[arg(long)]
    pub task_cpu_seconds: Option<u64>,
    /// Virtual memory a process task may use, in MiB (`ulimit -v`). Node reserves much address
    /// space; keep this generous.
    #[arg(long)]
    pub task_memory_mib: Option<u64>,
    /// Open files a process task may hold (`ulimit -n`).
    #[arg(long)]
    pub task_open_files: Option<u64>,
    /// The agent for Generations whose spec names none [default: claude-code when
    /// ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL is set and `claude` is found, else scaffold].
    #[arg(long, value_enum, env = "APPGEN_AGENT")]
    pub agent: Option<Agent>,
    /// pnpm's package store for process tasks, shared so installs after the first need no network
    /// [default: `pnpm-store` in the data directory].
    #[arg(long, env = "APPGEN_PNPM_STORE")]
    pub pnpm_store: Option<PathBuf>,
    /// The address people reach appgen at; archive links in status point there
    /// [default for `serve`: its own address].
    #[arg(long, env = "APPGEN_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds between sweeps that stop tasks whose Generation is gone.
    #[arg(long, default_value_t = 30, hide = true)]
    pub sweep_seconds: u64,
    /// The first wait before a retry, in seconds; it doubles per retry.
    #[arg(long, default_value_t = 5, hide = true)]
    pub backoff_seconds: u64,
}

/// The environment that configures the model for the claude-code agent.
const MODEL_ENV: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_MAX_RETRIES",
    "APPGEN_CLAUDE",
];

/// The PATH tasks search for `claude`.
fn config_path() -> String {
    std::env::var("PATH").unwrap_or_default()
}

/// The agent to use, and a log line saying which and why.
fn choose_agent(asked: Option<Agent>, env: impl Fn(&str) -> Option<String>, path: &str) -> Agent {
    if let Some(agent) = asked {
        tracing::info!(agent = AgentName::from(agent).as_str(), "agent chosen by --agent");
        return agent;
    }
    let credentials = ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"]
        .into_iter()
        .find(|name| env(name).is_some_and(|v| !v.is_empty()));
    let program = env("APPGEN_CLAUDE").unwrap_or_else(|| "claude".to_owned());
    let found = program.contains('/') && Path::new(&program).is_file()
        || std::env::split_paths(path).any(|dir| dir.join(&program).is_file());
    match (credentials, found) {
        (Some(name), true) => {
            tracing::info!(
                agent = "claude-code",
                "agent: claude-code ({name} is set and {program} is found)"
            );
            Agent::ClaudeCode
        }
        (Some(name), false) => {
            tracing::info!(
                agent = "scaffold",
                "agent: scaffold ({name} is set, but {program} is not on PATH)"
            );
            Agent::Scaffold
        }
        (None, _) => {
            tracing::info!(
                agent = "scaffold",
                "agent: scaffold (no ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL for claude-code)"
            );
            Agent::Scaffold
        }
    }
}

/// pnpm's store for tasks, as an absolute path: the flag's, else `pnpm-store` in the data directory.
pub fn pnpm_store(args: &ControllerArgs, data_dir: &Path) -> Result<PathBuf, Error> {
    let store = args
        .pnpm_store
        .clone()
        .unwrap_or_else(|| data_dir.join("pnpm-store"));
    std::path::absolute(&store).map_err(|e| Error::Controller(format!("resolving {}: {e}", store.display())))
}

/// Everything the controller needs, built from the flags and a data directory.
pub struct Parts {
    pub backend: Arc<dyn Backend>,
    pub store: Arc<dyn ArtifactStore>,
    pub config: ControllerConfig,
    /// The agent for Generations whose spec names none; None when tasks only pretend to run.
    pub agent: Option<AgentName>,
}

pub fn build(args: &ControllerArgs, data_dir: &Path, metrics_clock: Clock) -> Result<Parts, Error> {
    let artifacts = data_dir.join("artifacts");
    std::fs::create_dir_all(&artifacts).map_err(|source| Error::DataDir {
        path: artifacts.clone(),
        source,
    })?;
    let store: Arc<dyn ArtifactStore> =
        Arc::new(LocalStore::new(artifacts).map_err(|e| Error::Controller(e.to_string()))?);
    let mut agent = None;
    let backend: Arc<dyn Backend> = match args.backend {
        BackendKind::Process => {
            let command = match &args.generator {
                Some(program) => vec![program.display().to_string()],
                None => {
                    let me = std::env::current_exe()
                        .map_err(|e| Error::Controller(format!("finding this binary: {e}")))?;
                    vec![me.display().to_string(), "generate".to_owned()]
                }
            };
            let mut config = ProcessConfig::new(data_dir.join("tasks"), command);
            config.cpu_seconds = args.task_cpu_seconds;
            config.memory_bytes = args.task_memory_mib.map(|mib| mib.saturating_mul(1024 * 1024));
            config.open_files = args.task_open_files;
            let store = pnpm_store(args, data_dir)?;
            config
                .env
                .push(("APPGEN_PNPM_STORE".to_owned(), store.display().to_string()));
            let chosen = AgentName::from(choose_agent(
                args.agent,
                |name| std::env::var(name).ok(),
                &config_path(),
            ));
            config
                .env
                .push(("APPGEN_AGENT".to_owned(), chosen.as_str().to_owned()));
            agent = Some(chosen);
            // Only the model's credentials and switches reach tasks; the generator hands them to
            // the CLI alone, never to the app it checks.
            config.env.extend(std::env::vars().filter(|(name, _)| {
                MODEL_ENV.contains(&name.as_str()) || DELIVERY_ENV.contains(&name.as_str())
            }));
            Arc::new(ProcessBackend::new(config))
        }
        BackendKind::Simulated => {
            let task_time = Duration::from_secs_f64(args.simulated_task_seconds.max(0.0));
            Arc::new(SimulatedBackend::new(
                SimulatedConfig { task_time },
                store.clone(),
                metrics_clock.clone(),
            ))
        }
    };
    let policy = Policy {
        backend: backend.name(),
        backoff_base: Duration::from_secs(args.backoff_seconds.max(1)),
        archive_url: args.public_url.as_ref().map(|base| {
            format!(
                "{}{}",
                base.trim_end_matches('/'),
                appgen_api::archive_path("{namespace}", "{name}")
            )
        }),
        ..Policy::default()
    };
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let config = ControllerConfig {
        policy,
        max_running: args.max_running.unwrap_or(cores).max(1),
        sweep_interval: Duration::from_secs(args.sweep_seconds.max(1)),
        clock: metrics_clock,
    };
    Ok(Parts {
        backend,
        store,
        config,
        agent,
    })
}

/// Runs the controller with `client` until `shutdown`.
pub async fn run(
    client: kube::Client,
    parts: Parts,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    tracing::info!(
        backend = parts.backend.name(),
        max_running = parts.config.max_running,
        "controller started"
    );
    appgen_controller::run(
        client,
        parts.backend,
        parts.store,
        parts.config,
        metrics,
        shutdown,
    )
    .await;
    tracing::info!("controller stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_code_is_the_default_only_with_credentials_and_the_cli() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("claude"), "").unwrap();
        let path = dir.path().display().to_string();
        let with = |name: &'static str| move |n: &str| (n == name).then(|| "x".to_owned());
        assert_eq!(
            choose_agent(None, with("ANTHROPIC_API_KEY"), &path),
            Agent::ClaudeCode
        );
        assert_eq!(
            choose_agent(None, with("ANTHROPIC_BASE_URL"), &path),
            Agent::ClaudeCode
        );
        assert_eq!(
            choose_agent(None, with("ANTHROPIC_API_KEY"), "/nowhere"),
            Agent::Scaffold
        );
        assert_eq!(choose_agent(None, |_| None, &path), Agent::Scaffold);
        assert_eq!(
            choose_agent(Some(Agent::Scaffold), with("ANTHROPIC_API_KEY"), &path),
            Agent::Scaffold
        );
    }
}
