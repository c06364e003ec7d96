//! `appgen generate`: the generator task, as a backend launches it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use appgen_crd::AgentName;
use appgen_generator::{ClaudeConfig, DeliveryConfig, Settings, Tools};

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Where the task's input.json is: `file:///…/generations/<ns>/<name>/<uid>/input.json` or `s3://bucket/prefix/generations/…`.
    #[arg(long)]
    input: String,
    /// The task's working directory; the app is written to `app/` in it [default: the current directory].
    #[arg(long, env = "APPGEN_WORKSPACE")]
    workspace: Option<PathBuf>,
    /// pnpm's package store, shared between tasks so installs from a warm store need no network.
    #[arg(long, env = "APPGEN_PNPM_STORE")]
    pnpm_store: Option<PathBuf>,
    /// The agent for Generations whose spec names none.
    #[arg(long, value_enum, env = "APPGEN_AGENT", default_value_t = Agent::Scaffold)]
    agent: Agent,
    /// Seconds to wait before each new try when the model API is unavailable; their count bounds
    /// the tries.
    #[arg(long, env = "APPGEN_AGENT_RETRY_SECONDS", value_delimiter = ',', default_values_t = [5u64, 20, 60], hide = true)]
    agent_retry_seconds: Vec<u64>,
    /// The Chromium the smoke gate drives.
    #[arg(long, env = "APPGEN_CHROMIUM", default_value = "/usr/bin/chromium")]
    chromium: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Agent {
    /// Offline and deterministic: prompt → data model → a complete CRUD app.
    Scaffold,
    /// The Claude Code CLI, with the model credentials in the environment.
    ClaudeCode,
}

impl From<Agent> for AgentName {
    fn from(agent: Agent) -> Self {
        match agent {
            Agent::Scaffold => AgentName::Scaffold,
            Agent::ClaudeCode => AgentName::ClaudeCode,
        }
    }
}

/// Names of environment variables whose values are credentials, which are redacted wherever they
/// could be written down.
fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"]
        .iter()
        .any(|word| upper.contains(word))
        && upper != "APPGEN_TASK_KEY"
}

/// The attempt number at the end of a task key `<uid>-<attempt>`.
fn attempt_of(task_key: &str) -> Option<u32> {
    task_key.rsplit_once('-')?.1.parse().ok()
}

pub fn run(args: GenerateArgs) -> ExitCode {
    let workspace = match args.workspace.map_or_else(std::env::current_dir, Ok) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("appgen generate: the current directory cannot be read ({e}); pass --workspace");
            return ExitCode::from(2);
        }
    };
    let mut claude = ClaudeConfig::from_env(std::env::vars(), rustix::process::geteuid().is_root());
    claude.backoff = args
        .agent_retry_seconds
        .iter()
        .map(|s| std::time::Duration::from_secs(*s))
        .collect();
    let settings = Settings {
        default_agent: args.agent.into(),
        claude,
        delivery: DeliveryConfig::from_env(std::env::vars()),
        workspace,
        tools: Tools {
            path: std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_owned()),
            chromium: args.chromium,
            pnpm_store: args.pnpm_store,
        },
        secrets: std::env::vars()
            .filter(|(name, _)| is_secret_name(name))
            .map(|(_, value)| value)
            .collect(),
        attempt: std::env::var("APPGEN_TASK_KEY")
            .ok()
            .as_deref()
            .and_then(attempt_of),
        clock: Arc::new(jiff::Timestamp::now),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("appgen generate: could not start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let ending = runtime.block_on(appgen_generator::run(&args.input, &settings));
    ExitCode::from(ending.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_recognised_by_name() {
        for name in [
            "ANTHROPIC_API_KEY",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "db_password",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["PATH", "HOME", "APPGEN_TASK_KEY", "AWS_REGION"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn the_attempt_is_the_end_of_the_task_key() {
        assert_eq!(attempt_of("8f1c2a9e-0d4b-4a53-9b1e-2c3d4e5f6a7b-3"), Some(3));
        assert_eq!(attempt_of("nodash"), None);
        assert_eq!(attempt_of("uid-x"), None);
    }
}
