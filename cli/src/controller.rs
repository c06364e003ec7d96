//! Running the controller: in `appgen serve` against the embedded API server, or alone as
//! `appgen controller` against any cluster.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use appgen_artifacts::{ArtifactStore, LocalStore};
use appgen_controller::backend::{
    Backend, KubernetesBackend, KubernetesConfig, ProcessBackend, ProcessConfig, SecretEnv, SimulatedBackend,
    SimulatedConfig,
};
use appgen_controller::plan::Policy;
use appgen_controller::{Clock, ControllerConfig, Metrics};
use clap::ValueEnum;
use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::Error;
use crate::generate::Agent;
use appgen_crd::AgentName;
use appgen_generator::delivery::{DELIVERY_ENV, DELIVERY_SECRET_ENV};

/// Where generator tasks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// A child process per task on this machine (the default).
    Process,
    /// Tasks that only pretend to run, for control-plane tests and benchmarks.
    Simulated,
    /// A Job per task in the Generation's namespace, in the cluster of the kubeconfig.
    Kubernetes,
}

/// Where the Generations live, which decides whether Jobs may name them as owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generations {
    /// In the cluster the kubeconfig names (`appgen controller`).
    InTheCluster,
    /// In `serve`'s embedded API server, which the cluster's garbage collector cannot see: it
    /// would delete a Job whose owner it cannot find.
    Embedded,
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
    /// The artifact store tasks read their input from and write to, e.g. `s3://bucket/prefix`; it
    /// must be one the tasks reach, which generator pods reach a local directory rarely
    /// [default: `artifacts` in the data directory].
    #[arg(long, env = "APPGEN_ARTIFACTS")]
    pub artifacts: Option<String>,
    /// The generator image of `--backend kubernetes`; it runs `appgen generate --input <uri>`.
    #[arg(long, env = "APPGEN_GENERATOR_IMAGE")]
    pub generator_image: Option<String>,
    /// The ServiceAccount of generator pods (`--backend kubernetes`).
    #[arg(long, env = "APPGEN_GENERATOR_SERVICE_ACCOUNT")]
    pub generator_service_account: Option<String>,
    /// The uid generator pods run as, for an image whose USER is a name (`--backend kubernetes`).
    #[arg(long, env = "APPGEN_GENERATOR_RUN_AS_USER")]
    pub generator_run_as_user: Option<i64>,
    /// A RuntimeClass for generator pods, such as `gvisor` (`--backend kubernetes`).
    #[arg(long, env = "APPGEN_GENERATOR_RUNTIME_CLASS")]
    pub generator_runtime_class: Option<String>,
    /// CPU each generator pod requests and is limited to, e.g. `2` (`--backend kubernetes`).
    #[arg(long)]
    pub generator_cpu: Option<String>,
    /// Memory each generator pod requests and is limited to, e.g. `4Gi` (`--backend kubernetes`).
    #[arg(long)]
    pub generator_memory: Option<String>,
    /// A node label generator pods need, `key=value`; repeatable (`--backend kubernetes`).
    #[arg(long, value_parser = parse_node_label)]
    pub generator_node_selector: Vec<(String, String)>,
    /// A taint generator pods tolerate, `key=value:Effect` or `key:Effect`; repeatable
    /// (`--backend kubernetes`).
    #[arg(long, value_parser = parse_toleration)]
    pub generator_toleration: Vec<Toleration>,
    /// A Secret for pulling the generator image; repeatable (`--backend kubernetes`).
    #[arg(long)]
    pub generator_image_pull_secret: Vec<String>,
    /// An environment variable of generator pods read from a Secret in the Generation's
    /// namespace, `NAME=secret/key`; repeatable (`--backend kubernetes`).
    #[arg(long, value_parser = parse_secret_env)]
    pub generator_secret_env: Vec<SecretEnv>,
    /// Seconds a generator pod may wait for a node before its attempt fails to start.
    #[arg(long, default_value_t = 300)]
    pub generator_unschedulable_seconds: u64,
    /// Seconds a finished Job and its pod stay for `kubectl logs`.
    #[arg(long, default_value_t = 3600)]
    pub job_ttl_seconds: u64,
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

/// Where the artifact store is, none of it secret: generator pods get the controller's, so that they
/// open the same store.
const STORE_ENV: &[&str] = &[
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "APPGEN_S3_FORCE_PATH_STYLE",
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

pub async fn build(
    args: &ControllerArgs,
    data_dir: &Path,
    metrics_clock: Clock,
    generations: Generations,
) -> Result<Parts, Error> {
    let store: Arc<dyn ArtifactStore> = match &args.artifacts {
        Some(uri) => appgen_artifacts::open(uri)
            .await
            .map_err(|e| Error::Controller(format!("opening the artifact store {uri}: {e}")))?,
        None => {
            let artifacts = data_dir.join("artifacts");
            std::fs::create_dir_all(&artifacts).map_err(|source| Error::DataDir {
                path: artifacts.clone(),
                source,
            })?;
            Arc::new(LocalStore::new(artifacts).map_err(|e| Error::Controller(e.to_string()))?)
        }
    };
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
        BackendKind::Kubernetes => {
            let (config, chosen) = kubernetes_config(args, generations)?;
            agent = Some(chosen);
            // The Jobs run in the cluster of the kubeconfig, also under `serve`, whose own client
            // reaches only its embedded API server, where no pod can run.
            let client = kube::Client::try_default().await?;
            Arc::new(KubernetesBackend::new(client, config, metrics_clock.clone()))
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

/// The Jobs' shape, from the flags, and the agent they run.
fn kubernetes_config(
    args: &ControllerArgs,
    generations: Generations,
) -> Result<(KubernetesConfig, AgentName), Error> {
    let image = args.generator_image.clone().ok_or_else(|| {
        Error::Controller(
            "--backend kubernetes needs --generator-image (or APPGEN_GENERATOR_IMAGE)".to_owned(),
        )
    })?;
    let mut config = KubernetesConfig::new(image);
    config.service_account = args.generator_service_account.clone();
    config.runtime_class = args.generator_runtime_class.clone();
    config.run_as_user = args.generator_run_as_user;
    let quantities: std::collections::BTreeMap<_, _> =
        [("cpu", &args.generator_cpu), ("memory", &args.generator_memory)]
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), Quantity(value.clone()?))))
            .collect();
    config.resources = (!quantities.is_empty()).then(|| ResourceRequirements {
        requests: Some(quantities.clone()),
        limits: Some(quantities),
        ..ResourceRequirements::default()
    });
    config.node_selector = args.generator_node_selector.iter().cloned().collect();
    config.tolerations = args.generator_toleration.clone();
    config.image_pull_secrets = args.generator_image_pull_secret.clone();
    config.secret_env = args.generator_secret_env.clone();
    config.unschedulable_timeout = Duration::from_secs(args.generator_unschedulable_seconds);
    config.ttl_after_finished = Duration::from_secs(args.job_ttl_seconds);
    config.owner_references = generations == Generations::InTheCluster;
    // The image holds the claude CLI; credentials can only come from a Secret.
    let credentials = config
        .secret_env
        .iter()
        .any(|s| ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"].contains(&s.name.as_str()));
    let agent = args.agent.unwrap_or(if credentials {
        Agent::ClaudeCode
    } else {
        Agent::Scaffold
    });
    let agent = AgentName::from(agent);
    tracing::info!(agent = agent.as_str(), "agent for generator Jobs");
    config
        .env
        .push(("APPGEN_AGENT".to_owned(), agent.as_str().to_owned()));
    config
        .env
        .extend(std::env::vars().filter(|(name, _)| STORE_ENV.contains(&name.as_str())));
    let secret_names: Vec<&str> = config.secret_env.iter().map(|s| s.name.as_str()).collect();
    let (settings, unsent) = delivery_env_for_jobs(std::env::vars(), &secret_names);
    config.env.extend(settings);
    for name in unsent {
        tracing::warn!(
            "{name} is set but does not reach generator Jobs as a value; pass it from a Secret with \
             --generator-secret-env {name}=SECRET/KEY"
        );
    }
    Ok((config, agent))
}

/// Splits the controller's delivery settings for generator Jobs: the plain ones (author, GitHub
/// owner and API, Fly.io org and region) go as values; credentials never do, since a Job's spec
/// is readable by anyone who can read Jobs. Returns the values to pass and the names of
/// credentials that are set here but not given from a Secret.
fn delivery_env_for_jobs(
    vars: impl IntoIterator<Item = (String, String)>,
    from_secrets: &[&str],
) -> (Vec<(String, String)>, Vec<String>) {
    let mut plain = Vec::new();
    let mut unsent = Vec::new();
    for (name, value) in vars {
        if !DELIVERY_ENV.contains(&name.as_str()) || from_secrets.contains(&name.as_str()) {
            continue;
        }
        if DELIVERY_SECRET_ENV.contains(&name.as_str()) {
            unsent.push(name);
        } else {
            plain.push((name, value));
        }
    }
    (plain, unsent)
}

fn parse_node_label(s: &str) -> Result<(String, String), String> {
    let (key, value) = s.split_once('=').ok_or("expected key=value")?;
    Ok((key.to_owned(), value.to_owned()))
}

/// `key=value:Effect` tolerates that taint; `key:Effect` any value of the key.
fn parse_toleration(s: &str) -> Result<Toleration, String> {
    let (taint, effect) = s
        .rsplit_once(':')
        .ok_or("expected key=value:Effect or key:Effect")?;
    let (key, operator, value) = match taint.split_once('=') {
        Some((key, value)) => (key, "Equal", Some(value.to_owned())),
        None => (taint, "Exists", None),
    };
    Ok(Toleration {
        key: Some(key.to_owned()),
        operator: Some(operator.to_owned()),
        value,
        effect: Some(effect.to_owned()),
        toleration_seconds: None,
    })
}

fn parse_secret_env(s: &str) -> Result<SecretEnv, String> {
    let (name, source) = s.split_once('=').ok_or("expected NAME=secret/key")?;
    let (secret, key) = source.split_once('/').ok_or("expected NAME=secret/key")?;
    Ok(SecretEnv {
        name: name.to_owned(),
        secret: secret.to_owned(),
        key: key.to_owned(),
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

    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        controller: ControllerArgs,
    }

    fn parse(flags: &[&str]) -> ControllerArgs {
        use clap::Parser;
        Flags::try_parse_from(std::iter::once("appgen").chain(flags.iter().copied()))
            .unwrap()
            .controller
    }

    #[test]
    fn kubernetes_flags_shape_the_generator_jobs() {
        let args = parse(&[
            "--backend=kubernetes",
            "--generator-image=ghcr.io/appgen-dev/generator:0.1.0",
            "--generator-service-account=appgen-generator",
            "--generator-runtime-class=gvisor",
            "--generator-run-as-user=10001",
            "--generator-cpu=2",
            "--generator-memory=4Gi",
            "--generator-node-selector=appgen.dev/pool=generators",
            "--generator-toleration=dedicated=generators:NoSchedule",
            "--generator-toleration=spot:NoExecute",
            "--generator-image-pull-secret=ghcr",
            "--generator-secret-env=ANTHROPIC_API_KEY=anthropic/api-key",
        ]);
        let (config, agent) = kubernetes_config(&args, Generations::InTheCluster).unwrap();
        assert_eq!(config.image, "ghcr.io/appgen-dev/generator:0.1.0");
        assert_eq!(config.service_account.as_deref(), Some("appgen-generator"));
        assert_eq!(config.runtime_class.as_deref(), Some("gvisor"));
        assert_eq!(config.run_as_user, Some(10001));
        let resources = config.resources.unwrap();
        assert_eq!(resources.limits, resources.requests);
        assert_eq!(resources.limits.unwrap()["memory"], Quantity("4Gi".to_owned()));
        assert_eq!(config.node_selector["appgen.dev/pool"], "generators");
        let tolerations: Vec<_> = config
            .tolerations
            .iter()
            .map(|t| {
                (
                    t.key.as_deref(),
                    t.operator.as_deref(),
                    t.value.as_deref(),
                    t.effect.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            tolerations,
            [
                (
                    Some("dedicated"),
                    Some("Equal"),
                    Some("generators"),
                    Some("NoSchedule")
                ),
                (Some("spot"), Some("Exists"), None, Some("NoExecute")),
            ]
        );
        assert_eq!(config.image_pull_secrets, ["ghcr"]);
        assert_eq!(
            config.secret_env,
            [SecretEnv {
                name: "ANTHROPIC_API_KEY".to_owned(),
                secret: "anthropic".to_owned(),
                key: "api-key".to_owned(),
            }]
        );
        assert!(config.owner_references);
        assert_eq!(
            agent,
            AgentName::ClaudeCode,
            "credentials from a Secret choose claude-code"
        );
        assert!(
            config
                .env
                .contains(&("APPGEN_AGENT".to_owned(), "claude-code".to_owned()))
        );
    }

    #[test]
    fn delivery_tokens_reach_jobs_only_from_secrets_and_plain_settings_as_values() {
        let vars = [
            ("APPGEN_GITHUB_TOKEN", "ghp_value"),
            ("APPGEN_FLY_API_TOKEN", "fly_value"),
            ("APPGEN_GIT_TOKEN", "git_value"),
            ("APPGEN_GITHUB_OWNER", "acme"),
            ("APPGEN_FLY_ORG", "acme-org"),
            ("PATH", "/usr/bin"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let (plain, unsent) = delivery_env_for_jobs(vars, &["APPGEN_GITHUB_TOKEN"]);
        assert_eq!(
            plain,
            [
                ("APPGEN_GITHUB_OWNER".to_owned(), "acme".to_owned()),
                ("APPGEN_FLY_ORG".to_owned(), "acme-org".to_owned()),
            ]
        );
        assert_eq!(unsent, ["APPGEN_FLY_API_TOKEN", "APPGEN_GIT_TOKEN"]);
    }

    #[test]
    fn jobs_of_serves_generations_name_no_owner_and_need_an_image() {
        let args = parse(&["--backend=kubernetes", "--generator-image=generator"]);
        let (config, agent) = kubernetes_config(&args, Generations::Embedded).unwrap();
        assert!(!config.owner_references);
        assert_eq!(agent, AgentName::Scaffold);
        let error = kubernetes_config(&parse(&["--backend=kubernetes"]), Generations::Embedded).unwrap_err();
        assert!(error.to_string().contains("--generator-image"), "{error}");
    }

    #[test]
    fn malformed_kubernetes_flags_are_refused() {
        for flags in [
            ["--generator-node-selector=pool"],
            ["--generator-toleration=spot"],
            ["--generator-secret-env=KEY=anthropic"],
        ] {
            assert!(
                <Flags as clap::Parser>::try_parse_from(std::iter::once("appgen").chain(flags)).is_err(),
                "{flags:?}"
            );
        }
    }

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
