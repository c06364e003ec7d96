//! `appgen`: idea to URL. One binary for every part: `serve` runs everything on one machine,
//! `crd` prints the Generation CRD, `kubeconfig` points kubectl at a running `serve`, and the
//! user verbs (`new`, `get`, `logs`, ...) talk to its REST API.

mod api;
mod controller;
mod data_dir;
mod generate;
mod listener;
mod preview;
mod proxy;
mod serve;
mod tls;
mod verbs;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "appgen",
    version,
    about = "appgen: describe a web app, get it built, tested and delivered.",
    after_help = verbs::EXIT_CODES
)]
struct Cli {
    /// How log lines are written.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "APPGEN_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Verb(verbs::Verb),
    /// Print a shell completion script.
    ///
    /// Example: appgen completions bash > /etc/bash_completion.d/appgen
    ///
    /// Example: appgen completions zsh > "${fpath[1]}/_appgen"
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Run appgen on this machine: the Kubernetes-compatible API, on one port.
    ///
    /// Example: appgen serve --listen 127.0.0.1:8080 --data-dir ./.appgen
    Serve(serve::ServeArgs),
    /// Print a kubeconfig for kubectl against a running `appgen serve`.
    ///
    /// Example: appgen kubeconfig --data-dir ./.appgen > appgen.kubeconfig && kubectl --kubeconfig appgen.kubeconfig get gen
    Kubeconfig {
        /// The data directory of the `appgen serve` to connect to.
        #[arg(long, env = "APPGEN_DATA_DIR", default_value = "./.appgen")]
        data_dir: PathBuf,
    },
    /// Run only the controller, against the cluster of the current kubeconfig (or in-cluster config).
    ///
    /// Example: appgen controller --data-dir /var/lib/appgen --max-running 8
    Controller(serve::ControllerOnlyArgs),
    /// Print the Generation CustomResourceDefinition as YAML.
    ///
    /// Example: appgen crd | kubectl apply -f -
    Crd,
    /// Run one generator task: read its input, build and check the app, write result.json.
    /// Backends launch this; exit code 0 only when the app was delivered.
    ///
    /// Example: appgen generate --input file:///var/lib/appgen/artifacts/generations/default/todo/<uid>/input.json
    Generate(generate::GenerateArgs),
    /// Run one delivered app as its live preview: lay it out from its archive, install and build
    /// it, then serve it on the port its input names. The preview backend launches this; it
    /// becomes the app's server.
    ///
    /// Example: appgen preview --input file:///var/lib/appgen/artifacts/generations/default/todo/<uid>/preview/1/input.json
    Preview(preview::TaskArgs),
    /// Run only the REST API and web UI, against the cluster of the current kubeconfig.
    ///
    /// Example: appgen api --artifacts s3://appgen-artifacts/prod --signup invite
    Api(api::ApiOnlyArgs),
}

/// What can stop the binary, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error(
        "no appgen serve has run with data directory {0}: start one with `appgen serve --data-dir {0}` first"
    )]
    NotServed(String),
    #[error("listening on {address}: {source} (is another appgen serve running? choose another --listen)")]
    Listen { address: String, source: std::io::Error },
    #[error("the controller: {0}")]
    Controller(String),
    #[error("connecting to the Kubernetes API: {0} (check your kubeconfig, or run inside a cluster)")]
    Kube(#[from] kube::Error),
    #[error("setting up TLS: {0}")]
    Tls(String),
    #[error("serving HTTP: {0}")]
    Serve(std::io::Error),
    #[error("starting the API server: {0}")]
    ApiServer(Box<appgen_local_apiserver::Error>),
    #[error("{0}")]
    Crd(#[from] appgen_crd::Error),
    #[error("the REST API: {0}")]
    Api(String),
    #[error("rendering YAML: {0}")]
    Yaml(String),
}

impl From<appgen_local_apiserver::Error> for Error {
    fn from(e: appgen_local_apiserver::Error) -> Self {
        Error::ApiServer(Box::new(e))
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    // kube and the AWS SDK can each enable a rustls crypto backend; naming one here keeps
    // TLS set-up from failing at run time when both are linked.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match cli.command {
        // The verbs print their own errors; their exit codes say what kind each was.
        Command::Verb(verb) => return verbs::run(verb),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "appgen", &mut std::io::stdout());
            Ok(())
        }
        Command::Serve(args) => serve::run(args),
        Command::Controller(args) => serve::run_controller(args),
        Command::Api(args) => api::run(args),
        Command::Kubeconfig { data_dir } => data_dir::kubeconfig(&data_dir).map(|yaml| print!("{yaml}")),
        // Its exit code says whether the app was delivered; its errors are in result.json.
        Command::Generate(args) => return generate::run(args),
        // Exits only when it could not become the app's server.
        Command::Preview(args) => return preview::run_task(args),
        Command::Crd => appgen_crd::crd_yaml()
            .map(|yaml| print!("{yaml}"))
            .map_err(Error::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("appgen: {e}");
            ExitCode::FAILURE
        }
    }
}
