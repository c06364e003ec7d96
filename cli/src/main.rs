//! `appgen`: idea to URL. One binary for every part: `serve` runs everything on one machine,
//! `crd` prints the Generation CRD, `kubeconfig` points kubectl at a running `serve`.

mod api;
mod controller;
mod data_dir;
mod generate;
mod listener;
mod serve;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "appgen",
    version,
    about = "appgen: describe a web app, get it built, tested and delivered."
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
        Command::Serve(args) => serve::run(args),
        Command::Controller(args) => serve::run_controller(args),
        Command::Api(args) => api::run(args),
        Command::Kubeconfig { data_dir } => data_dir::kubeconfig(&data_dir).map(|yaml| print!("{yaml}")),
        // Its exit code says whether the app was delivered; its errors are in result.json.
        Command::Generate(args) => return generate::run(args),
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
