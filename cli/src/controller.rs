//! Running the controller: in `appgen serve` against the embedded API server, or alone as
//! `appgen controller` against any cluster.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use appgen_artifacts::{ArtifactStore, LocalStore};
use appgen_controller::backend::{
    Backend, BindMount, DockerBackend, DockerConfig, KubernetesBackend, KubernetesConfig, ProcessBackend,
    ProcessConfig, SecretEnv, SimulatedBackend, SimulatedConfig,
};
use appgen_controller::plan::Policy;
use appgen_controller::{Clock, ControllerConfig, Metrics};
use clap::ValueEnum;
use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::Error;
use crate::generate::Agent;
use appgen_crd::AgentName;
use appgen_ecs::{CapacityProvider, EcsBackend, EcsConfig, Placement};
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
    /// An ECS task per attempt (RunTask), on Fargate or a capacity provider; see docs/ecs.md.
    Ecs,
    /// A container per task on a Docker-compatible engine (Docker, or `podman system service`).
    Docker,
}

/// How generator tasks reach the artifact store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskAccess {
    /// With the credentials of wherever they run (a task role, a pod's identity, this machine's user).
    Ambient,
    /// Through a grant of presigned URLs for their own Generation's files and nothing else, so
    /// tasks need no rights on the bucket at all (S3 stores only).
    Grant,
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
    /// How generator tasks reach the artifact store.
    #[arg(long, value_enum, default_value_t = TaskAccess::Ambient, env = "APPGEN_TASK_ACCESS")]
    pub task_access: TaskAccess,
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
    /// Seconds a finished Job and its pod (`--backend kubernetes`), or a finished container
    /// (`--backend docker`), stay for their logs.
    #[arg(long, default_value_t = 3600)]
    pub job_ttl_seconds: u64,
    #[command(flatten)]
    pub ecs: EcsArgs,
    /// The engine of `--backend docker`: its unix socket, `unix:///path` [default: DOCKER_HOST, else
    /// unix:///var/run/docker.sock].
    #[arg(long, env = "DOCKER_HOST")]
    pub docker_host: Option<String>,
    /// The generator image of `--backend docker`, already on the engine (it is never pulled); it
    /// runs `appgen generate --input <uri>`.
    #[arg(long, env = "APPGEN_DOCKER_IMAGE")]
    pub docker_image: Option<String>,
    /// The network generator containers join, e.g. `none` [default: the engine's].
    #[arg(long, env = "APPGEN_DOCKER_NETWORK")]
    pub docker_network: Option<String>,
    /// CPUs a generator container may use, e.g. `1.5` (`--backend docker`).
    #[arg(long)]
    pub docker_cpus: Option<f64>,
    /// Memory a generator container may use: bytes, or with a suffix k, m or g, e.g. `4g`
    /// (`--backend docker`).
    #[arg(long, value_parser = parse_bytes)]
    pub docker_memory: Option<i64>,
    /// The most processes a generator container may have (`--backend docker`).
    #[arg(long)]
    pub docker_pids: Option<i64>,
    /// The user generator containers run as, `uid[:gid]` or a name [default: the image's].
    #[arg(long)]
    pub docker_user: Option<String>,
    /// A host path mounted read-only into generator containers, `HOST` (at the same path) or
    /// `HOST:CONTAINER`, e.g. the host's Node; repeatable (`--backend docker`).
    #[arg(long, value_parser = parse_mount)]
    pub docker_mount: Vec<BindMount>,
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
    if args.task_access == TaskAccess::Grant
        && !args
            .artifacts
            .as_deref()
            .is_some_and(|uri| uri.starts_with("s3://"))
    {
        return Err(Error::Controller(
            "--task-access grant needs an S3 artifact store (--artifacts s3://bucket/prefix): only S3 can grant a task its own files"
                .to_owned(),
        ));
    }
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
        BackendKind::Ecs => {
            let (config, chosen) = ecs_config(args, |name| std::env::var(name).ok())?;
            agent = Some(chosen);
            Arc::new(
                EcsBackend::connect(config)
                    .await
                    .map_err(|e| Error::Controller(e.to_string()))?,
            )
        }
        BackendKind::Kubernetes => {
            let (config, chosen) = kubernetes_config(args, generations)?;
            agent = Some(chosen);
            // The Jobs run in the cluster of the kubeconfig, also under `serve`, whose own client
            // reaches only its embedded API server, where no pod can run.
            let client = crate::serve::cluster_client(crate::serve::Component::Controller).await?;
            Arc::new(KubernetesBackend::new(client, config, metrics_clock.clone()))
        }
        BackendKind::Docker => {
            let artifacts = match &args.artifacts {
                None => Some(
                    std::path::absolute(data_dir.join("artifacts"))
                        .map_err(|e| Error::Controller(format!("resolving the artifact directory: {e}")))?,
                ),
                Some(uri) if uri.starts_with("file://") => Some(
                    LocalStore::from_uri(uri)
                        .map_err(|e| Error::Controller(e.to_string()))?
                        .root()
                        .to_owned(),
                ),
                Some(_) => None,
            };
            let (config, chosen) = docker_config(args, artifacts, pnpm_store(args, data_dir)?, |name| {
                std::env::var(name).ok()
            })?;
            agent = Some(chosen);
            let host = args
                .docker_host
                .clone()
                .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned());
            Arc::new(
                DockerBackend::connect(&host, config, metrics_clock.clone())
                    .map_err(|e| Error::Controller(e.to_string()))?,
            )
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
        task_grants: args.task_access == TaskAccess::Grant,
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

/// The ecs backend's flags (`--backend ecs`); docs/ecs.md says what each needs on the AWS side.
#[derive(Debug, Clone, clap::Args)]
pub struct EcsArgs {
    /// The cluster's name or ARN.
    #[arg(long, env = "APPGEN_ECS_CLUSTER")]
    pub ecs_cluster: Option<String>,
    /// The task definition (`family`, `family:revision` or ARN) whose container runs
    /// `appgen generate`; its `secrets` hold the generator's credentials.
    #[arg(long, env = "APPGEN_ECS_TASK_DEFINITION")]
    pub ecs_task_definition: Option<String>,
    /// The container of that task definition that runs the generator.
    #[arg(long, env = "APPGEN_ECS_CONTAINER", default_value = "generator")]
    pub ecs_container: String,
    /// The awsvpc subnets of generator tasks, comma-separated.
    #[arg(long, env = "APPGEN_ECS_SUBNETS", value_delimiter = ',')]
    pub ecs_subnets: Vec<String>,
    /// The security groups of generator tasks, comma-separated (outbound HTTPS is all they need).
    #[arg(long, env = "APPGEN_ECS_SECURITY_GROUPS", value_delimiter = ',')]
    pub ecs_security_groups: Vec<String>,
    /// `ENABLED` gives generator tasks a public IP, for public subnets without a NAT gateway;
    /// `DISABLED` (the default) for private subnets. The bare flag means `ENABLED`.
    #[arg(
        long,
        env = "APPGEN_ECS_ASSIGN_PUBLIC_IP",
        default_value = "DISABLED",
        num_args = 0..=1,
        default_missing_value = "ENABLED",
        value_parser = parse_assign_public_ip
    )]
    pub ecs_assign_public_ip: bool,
    /// The launch type when no capacity provider is named.
    #[arg(long, env = "APPGEN_ECS_LAUNCH_TYPE", default_value = "FARGATE")]
    pub ecs_launch_type: String,
    /// A capacity provider, `name[:weight[:base]]`, instead of the launch type, e.g.
    /// `FARGATE_SPOT:3,FARGATE:1:1`; comma-separated or repeated.
    #[arg(long, env = "APPGEN_ECS_CAPACITY_PROVIDER", value_delimiter = ',', value_parser = parse_capacity_provider)]
    pub ecs_capacity_provider: Vec<CapacityProvider>,
    /// Task CPU units instead of the task definition's, e.g. `2048` (two vCPU).
    #[arg(long, env = "APPGEN_ECS_CPU")]
    pub ecs_cpu: Option<String>,
    /// Task memory in MiB instead of the task definition's, e.g. `4096`.
    #[arg(long, env = "APPGEN_ECS_MEMORY")]
    pub ecs_memory: Option<String>,
    /// What marks this installation's tasks for ListTasks; one value per installation sharing a
    /// cluster, since the orphan sweep stops the tasks it lists whose Generation is gone.
    #[arg(long, env = "APPGEN_ECS_STARTED_BY", default_value = "appgen")]
    pub ecs_started_by: String,
}

/// The ecs backend's settings from the flags, the region and endpoint from the standard AWS
/// environment, and the agent its tasks run.
fn ecs_config(
    args: &ControllerArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(EcsConfig, AgentName), Error> {
    let ecs = &args.ecs;
    let needed = |value: &Option<String>, flag: &str| {
        value
            .clone()
            .ok_or_else(|| Error::Controller(format!("--backend ecs needs {flag}")))
    };
    let mut config = EcsConfig::new(
        needed(&ecs.ecs_cluster, "--ecs-cluster (or APPGEN_ECS_CLUSTER)")?,
        needed(
            &ecs.ecs_task_definition,
            "--ecs-task-definition (or APPGEN_ECS_TASK_DEFINITION)",
        )?,
        ecs.ecs_container.clone(),
    );
    config.placement = if ecs.ecs_capacity_provider.is_empty() {
        Placement::LaunchType(ecs.ecs_launch_type.clone())
    } else {
        Placement::CapacityProviders(ecs.ecs_capacity_provider.clone())
    };
    config.subnets = ecs.ecs_subnets.clone();
    config.security_groups = ecs.ecs_security_groups.clone();
    config.assign_public_ip = ecs.ecs_assign_public_ip;
    config.cpu = ecs.ecs_cpu.clone();
    config.memory = ecs.ecs_memory.clone();
    config.started_by = ecs.ecs_started_by.clone();
    // An empty variable counts as unset, as it does for the AWS CLI.
    let first_set = |names: &[&str]| names.iter().find_map(|name| env(name).filter(|v| !v.is_empty()));
    config.region = first_set(&["AWS_REGION", "AWS_DEFAULT_REGION"]);
    config.endpoint = first_set(&["AWS_ENDPOINT_URL_ECS", "AWS_ENDPOINT_URL"]);
    config.validate().map_err(|e| Error::Controller(e.to_string()))?;
    // The model's credentials live in the task definition's secrets, which appgen cannot see.
    let agent = AgentName::from(args.agent.unwrap_or(Agent::Scaffold));
    tracing::info!(
        agent = agent.as_str(),
        "agent for ECS tasks (--agent claude-code when the task definition's secrets hold ANTHROPIC_API_KEY)"
    );
    config
        .env
        .push(("APPGEN_AGENT".to_owned(), agent.as_str().to_owned()));
    config.env.extend(
        STORE_ENV
            .iter()
            .filter_map(|name| Some(((*name).to_owned(), env(name)?))),
    );
    Ok((config, agent))
}

/// ECS's own words, `ENABLED` or `DISABLED`, or `true` or `false`.
fn parse_assign_public_ip(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "enabled" | "true" => Ok(true),
        "disabled" | "false" => Ok(false),
        _ => Err("expected ENABLED or DISABLED".to_owned()),
    }
}

/// `name`, `name:weight` or `name:weight:base`; the weight is 1 unless given.
fn parse_capacity_provider(s: &str) -> Result<CapacityProvider, String> {
    let mut parts = s.split(':');
    let name = parts
        .next()
        .filter(|n| !n.is_empty())
        .ok_or("expected name[:weight[:base]]")?;
    let number = |part: Option<&str>, default: i32, what: &str| {
        part.map_or(Ok(default), |p| {
            p.parse::<i32>()
                .map_err(|_| format!("the {what} of {name} is not a number: {p:?}"))
        })
    };
    let weight = number(parts.next(), 1, "weight")?;
    let base = number(parts.next(), 0, "base")?;
    if parts.next().is_some() {
        return Err("expected name[:weight[:base]]".to_owned());
    }
    Ok(CapacityProvider {
        name: name.to_owned(),
        weight,
        base,
    })
}

/// The containers' shape, from the flags, the local artifact directory (None: the store is remote),
/// pnpm's store and the controller's environment, and the agent they run.
fn docker_config(
    args: &ControllerArgs,
    artifacts: Option<PathBuf>,
    pnpm_store: PathBuf,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(DockerConfig, AgentName), Error> {
    let image = args.docker_image.clone().ok_or_else(|| {
        Error::Controller("--backend docker needs --docker-image (or APPGEN_DOCKER_IMAGE)".to_owned())
    })?;
    let mut config = DockerConfig::new(image);
    config.network = args.docker_network.clone();
    config.cpus = args.docker_cpus;
    config.memory_bytes = args.docker_memory;
    config.pids = args.docker_pids;
    config.user = args.docker_user.clone();
    config.keep_finished = Duration::from_secs(args.job_ttl_seconds);
    config.mounts = args.docker_mount.clone();
    config.artifacts_dir = artifacts;
    // The store is shared with every task (and the host's own runs), so installs after the first
    // need no network: containers often have none.
    config.mounts.push(BindMount {
        host: pnpm_store.clone(),
        container: pnpm_store.clone(),
        read_only: false,
    });
    config
        .env
        .push(("APPGEN_PNPM_STORE".to_owned(), pnpm_store.display().to_string()));
    // The image holds the claude CLI; the model's credentials come from the controller's
    // environment, as for process tasks.
    let credentials = ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"]
        .into_iter()
        .any(|name| env(name).is_some_and(|v| !v.is_empty()));
    let agent = AgentName::from(args.agent.unwrap_or(if credentials {
        Agent::ClaudeCode
    } else {
        Agent::Scaffold
    }));
    tracing::info!(agent = agent.as_str(), "agent for generator containers");
    config
        .env
        .push(("APPGEN_AGENT".to_owned(), agent.as_str().to_owned()));
    // APPGEN_CLAUDE names a program on this host, not in the image.
    let passed = MODEL_ENV
        .iter()
        .chain(DELIVERY_ENV)
        .chain(STORE_ENV)
        .filter(|name| **name != "APPGEN_CLAUDE");
    config
        .env
        .extend(passed.filter_map(|name| Some(((*name).to_owned(), env(name)?))));
    Ok((config, agent))
}

/// `4g`, `512m`, `64k` or plain bytes, as `docker run --memory` reads them.
fn parse_bytes(s: &str) -> Result<i64, String> {
    let lower = s.trim().to_ascii_lowercase();
    let (number, unit) = match lower.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((at, _)) => lower.split_at(at),
        None => (lower.as_str(), ""),
    };
    let scale: i64 = match unit.trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return Err(format!("{s}: expected bytes or a number with k, m or g")),
    };
    number
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{s}: expected a positive size such as 512m or 4g"))
}

/// `HOST` mounts at the same path; `HOST:CONTAINER` elsewhere. Both absolute; always read-only.
fn parse_mount(s: &str) -> Result<BindMount, String> {
    let (host, container) = s.split_once(':').unwrap_or((s, s));
    if !host.starts_with('/') || !container.starts_with('/') {
        return Err(format!("{s}: expected /host/path or /host/path:/container/path"));
    }
    Ok(BindMount {
        host: host.into(),
        container: container.into(),
        read_only: true,
    })
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
    fn docker_flags_shape_the_generator_containers() {
        let args = parse(&[
            "--backend=docker",
            "--docker-image=localhost/appgen-generator:1",
            "--docker-network=none",
            "--docker-cpus=1.5",
            "--docker-memory=4g",
            "--docker-pids=512",
            "--docker-user=1000:1000",
            "--docker-mount=/opt/node-22",
            "--docker-mount=/usr/local/bin/appgen:/opt/appgen/appgen",
            "--job-ttl-seconds=60",
        ]);
        let env = |name: &str| match name {
            "ANTHROPIC_API_KEY" => Some("sk-test".to_owned()),
            "APPGEN_CLAUDE" => Some("/home/me/bin/claude".to_owned()),
            "AWS_REGION" => Some("eu-west-1".to_owned()),
            _ => None,
        };
        let (config, agent) = docker_config(
            &args,
            Some("/data/artifacts".into()),
            "/data/pnpm-store".into(),
            env,
        )
        .unwrap();
        assert_eq!(config.image, "localhost/appgen-generator:1");
        assert_eq!(config.network.as_deref(), Some("none"));
        assert_eq!(config.cpus, Some(1.5));
        assert_eq!(config.memory_bytes, Some(4 << 30));
        assert_eq!(config.pids, Some(512));
        assert_eq!(config.user.as_deref(), Some("1000:1000"));
        assert_eq!(config.keep_finished, Duration::from_secs(60));
        assert_eq!(config.artifacts_dir, Some(PathBuf::from("/data/artifacts")));
        let mounts: Vec<_> = config
            .mounts
            .iter()
            .map(|m| {
                (
                    m.host.to_str().unwrap(),
                    m.container.to_str().unwrap(),
                    m.read_only,
                )
            })
            .collect();
        assert_eq!(
            mounts,
            [
                ("/opt/node-22", "/opt/node-22", true),
                ("/usr/local/bin/appgen", "/opt/appgen/appgen", true),
                ("/data/pnpm-store", "/data/pnpm-store", false),
            ]
        );
        assert_eq!(agent, AgentName::ClaudeCode, "credentials choose claude-code");
        let names: Vec<_> = config.env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "APPGEN_PNPM_STORE",
                "APPGEN_AGENT",
                "ANTHROPIC_API_KEY",
                "AWS_REGION"
            ],
            "a host path to claude means nothing in the image"
        );
    }

    #[test]
    fn docker_needs_an_image_and_well_formed_sizes_and_mounts() {
        let error = docker_config(&parse(&["--backend=docker"]), None, "/s".into(), |_| None).unwrap_err();
        assert!(error.to_string().contains("--docker-image"), "{error}");
        for (size, bytes) in [
            ("512m", 512 << 20),
            ("4G", 4 << 30),
            ("64kb", 64 << 10),
            ("1000", 1000),
        ] {
            assert_eq!(parse_bytes(size), Ok(bytes), "{size}");
        }
        for flags in [
            ["--docker-memory=lots"],
            ["--docker-memory=-1g"],
            ["--docker-mount=relative/path"],
            ["--docker-mount=/host:relative"],
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

    #[test]
    fn ecs_flags_and_the_aws_environment_shape_the_tasks() {
        let args = parse(&[
            "--backend=ecs",
            "--ecs-cluster=appgen",
            "--ecs-task-definition=appgen-generator:7",
            "--ecs-subnets=subnet-a,subnet-b",
            "--ecs-security-groups=sg-1",
            "--ecs-assign-public-ip=ENABLED",
            "--ecs-capacity-provider=FARGATE_SPOT:3,FARGATE:1:1",
            "--ecs-cpu=2048",
            "--ecs-memory=4096",
            "--ecs-started-by=appgen-prod",
        ]);
        let env = |name: &str| match name {
            "AWS_REGION" => Some("eu-west-1".to_owned()),
            "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:5000".to_owned()),
            "AWS_ENDPOINT_URL_ECS" => Some(String::new()),
            _ => None,
        };
        let (config, agent) = ecs_config(&args, env).unwrap();
        assert_eq!(
            (
                config.cluster.as_str(),
                config.task_definition.as_str(),
                config.container.as_str()
            ),
            ("appgen", "appgen-generator:7", "generator")
        );
        assert_eq!(config.subnets, ["subnet-a", "subnet-b"]);
        assert_eq!(config.security_groups, ["sg-1"]);
        assert!(config.assign_public_ip);
        assert_eq!(
            config.placement,
            Placement::CapacityProviders(vec![
                CapacityProvider {
                    name: "FARGATE_SPOT".to_owned(),
                    weight: 3,
                    base: 0
                },
                CapacityProvider {
                    name: "FARGATE".to_owned(),
                    weight: 1,
                    base: 1
                },
            ])
        );
        assert_eq!(
            (config.cpu.as_deref(), config.memory.as_deref()),
            (Some("2048"), Some("4096"))
        );
        assert_eq!(config.started_by, "appgen-prod");
        assert_eq!(config.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            config.endpoint.as_deref(),
            Some("http://127.0.0.1:5000"),
            "an empty AWS_ENDPOINT_URL_ECS counts as unset"
        );
        assert_eq!(agent, AgentName::Scaffold);
        assert!(
            config
                .env
                .contains(&("AWS_REGION".to_owned(), "eu-west-1".to_owned()))
        );
    }

    #[test]
    fn the_ecs_backend_names_the_flag_it_misses() {
        let no_cluster = parse(&[
            "--backend=ecs",
            "--ecs-task-definition=appgen-generator",
            "--ecs-subnets=subnet-a",
        ]);
        let error = ecs_config(&no_cluster, |_| None).err().unwrap().to_string();
        assert!(error.contains("--ecs-cluster"), "{error}");
        let no_subnets = parse(&[
            "--backend=ecs",
            "--ecs-cluster=appgen",
            "--ecs-task-definition=appgen-generator",
        ]);
        let error = ecs_config(&no_subnets, |_| None).err().unwrap().to_string();
        assert!(error.contains("--ecs-subnets"), "{error}");
        for bad in ["", "FARGATE:x", "FARGATE:1:2:3"] {
            assert!(parse_capacity_provider(bad).is_err(), "{bad:?}");
        }
        assert!(parse_assign_public_ip("sometimes").is_err());
    }

    #[test]
    fn a_public_ip_is_asked_for_in_ecss_words_or_by_the_bare_flag() {
        let base = [
            "--backend=ecs",
            "--ecs-cluster=appgen",
            "--ecs-task-definition=g",
            "--ecs-subnets=s",
        ];
        let assigned = |extra: &[&str]| {
            let flags: Vec<&str> = base.iter().chain(extra).copied().collect();
            parse(&flags).ecs.ecs_assign_public_ip
        };
        assert!(!assigned(&[]), "DISABLED unless asked");
        assert!(assigned(&["--ecs-assign-public-ip"]));
        assert!(assigned(&["--ecs-assign-public-ip=ENABLED"]));
        assert!(!assigned(&["--ecs-assign-public-ip=DISABLED"]));
    }
}
