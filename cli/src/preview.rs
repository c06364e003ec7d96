//! Live previews on one machine: `appgen serve`'s flag for them, the preview executor it starts
//! beside the controller (on a process backend of its own, under `<data dir>/previews/`), and
//! `appgen preview`, the task that runs one delivered app.

use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use appgen_artifacts::ArtifactStore;
use appgen_controller::Clock;
use appgen_controller::backend::{ProcessBackend, ProcessConfig};
use appgen_controller::preview::{PreviewAddress, PreviewConfig, PreviewPolicy, Previews};

use crate::Error;
use crate::controller::{BackendKind, ControllerArgs, pnpm_store};
use crate::proxy::HostRouting;

#[derive(Debug, Clone, clap::Args)]
pub struct PreviewArgs {
    /// The most delivered apps running as live previews at once. Over it, the least recently used
    /// preview is stopped, and a visit to its address starts it again. 0 turns previews off.
    #[arg(long, env = "APPGEN_MAX_PREVIEWS", default_value_t = 10)]
    max_previews: usize,
}

/// What the preview executor takes from the `appgen serve` it runs in.
pub struct Serve<'a> {
    /// None when this serve runs no controller (`--no-controller`), which previews are part of.
    pub controller: Option<&'a ControllerArgs>,
    pub data_dir: &'a Path,
    /// Serve's port, where every preview is reached.
    pub port: u16,
    /// Where people reach serve's own pages, which may show previews in frames.
    pub public_url: Option<&'a str>,
    pub client: kube::Client,
    pub store: Arc<dyn ArtifactStore>,
    pub clock: Clock,
}

/// Starts the preview executor, when previews are on, and returns the routing by `Host` that
/// sends each preview address to its app.
pub fn start(
    args: &PreviewArgs,
    serve: Serve<'_>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<HostRouting, Error> {
    let address = PreviewAddress::localhost(serve.port);
    let previews = Previews::new(address.clone(), serve.clock.clone());
    let routing = HostRouting {
        previews: previews.clone(),
        frame_ancestors: frame_ancestors(serve.public_url, serve.port),
    };
    let controller = match serve.controller {
        Some(controller) if args.max_previews > 0 && controller.backend == BackendKind::Process => controller,
        _ => {
            tracing::info!(
                "live previews are off (they need the controller, the process backend and --max-previews above 0)"
            );
            return Ok(routing);
        }
    };
    let root = std::path::absolute(serve.data_dir.join("previews")).map_err(|source| Error::DataDir {
        path: serve.data_dir.join("previews"),
        source,
    })?;
    let me = std::env::current_exe().map_err(|e| Error::Controller(format!("finding this binary: {e}")))?;
    let mut backend = ProcessConfig::new(
        root.join("tasks"),
        vec![me.display().to_string(), "preview".to_owned()],
    );
    // The task limits that suit a server; a CPU-seconds budget (`ulimit -t`) would kill a
    // long-lived app once it had used it up, so it is left off.
    backend.memory_bytes = controller
        .task_memory_mib
        .map(|mib| mib.saturating_mul(1024 * 1024));
    backend.open_files = controller.task_open_files;
    backend.env.push((
        "APPGEN_PNPM_STORE".to_owned(),
        pnpm_store(controller, serve.data_dir)?.display().to_string(),
    ));
    let config = PreviewConfig {
        policy: PreviewPolicy::new(address, args.max_previews),
        root,
        clock: serve.clock,
    };
    tokio::spawn(appgen_controller::preview::run(
        serve.client,
        Arc::new(ProcessBackend::new(backend)),
        serve.store,
        config,
        previews,
        shutdown,
    ));
    Ok(routing)
}

/// The origins that may show a preview in a frame: serve's own pages, however they are reached
/// on this machine.
fn frame_ancestors(public_url: Option<&str>, port: u16) -> Vec<String> {
    let mut origins: Vec<String> = public_url
        .map(|url| url.trim_end_matches('/').to_owned())
        .into_iter()
        .collect();
    for local in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ] {
        if !origins.contains(&local) {
            origins.push(local);
        }
    }
    origins
}

#[derive(Debug, clap::Args)]
pub struct TaskArgs {
    /// Where the run's input is: `file:///…/generations/<ns>/<name>/<uid>/preview/<run>/input.json`.
    #[arg(long)]
    input: String,
    /// pnpm's package store, shared with the generator so that installing needs no network.
    #[arg(long, env = "APPGEN_PNPM_STORE")]
    pnpm_store: Option<PathBuf>,
}

/// `appgen preview`: prepares the app, then becomes its server (exec), so that stopping the task
/// stops the app and the task's exit status is the app's.
pub fn run_task(args: TaskArgs) -> ExitCode {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_owned());
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("/"));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("appgen preview: could not start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let prepared = runtime.block_on(async {
        let prepare =
            appgen_generator::preview::prepare(&args.input, &path, &home, args.pnpm_store.as_deref());
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            // Stopped while preparing: returning drops the install or build under way, which kills
            // its process group, so nothing keeps writing into the version's folder.
            Ok(mut terminate) => tokio::select! {
                prepared = prepare => Some(prepared),
                _ = terminate.recv() => None,
            },
            Err(_) => Some(prepare.await),
        }
    });
    drop(runtime);
    match prepared {
        None => ExitCode::from(128 + 15),
        Some(Err(e)) => {
            eprintln!("appgen preview: {e}");
            ExitCode::FAILURE
        }
        Some(Ok(start)) => {
            let error = std::process::Command::new(&start.program)
                .args(&start.args)
                .current_dir(&start.dir)
                .env_clear()
                .envs(start.env)
                .exec();
            eprintln!("appgen preview: could not start `{}`: {error}", start.program);
            ExitCode::FAILURE
        }
    }
}
