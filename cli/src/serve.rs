//! `appgen serve`: everything on one machine, on one port.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use appgen_local_apiserver::{Config, LocalApiServer};
use axum::Router;
use axum::routing::get;

use std::sync::Arc;

use appgen_controller::Metrics;
use appgen_crd::AgentName;

use crate::api::ApiArgs;
use crate::controller::{self, ControllerArgs, Generations};
use crate::data_dir::DataDir;
use crate::{Error, listener, preview, tls};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on. Everything is served here: the web UI, the REST API, the Kubernetes API, live previews and health.
    #[arg(long, env = "APPGEN_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the database, the admin token and artifacts live.
    #[arg(long, env = "APPGEN_DATA_DIR", default_value = "./.appgen")]
    data_dir: PathBuf,
    /// How many changes are kept for watches resuming from a resourceVersion.
    #[arg(long, default_value_t = 4_096, hide = true)]
    watch_history: usize,
    /// Seconds an Event is kept before it is deleted.
    #[arg(long, default_value_t = 3600, hide = true)]
    event_ttl_seconds: u64,
    /// Seconds between watch bookmarks.
    #[arg(long, default_value_t = 30, hide = true)]
    bookmark_seconds: u64,
    /// Append one JSON line per Kubernetes API request (user agent, verb, resource, namespace)
    /// to this file, to learn which permissions the controller and the api use.
    #[arg(long, env = "APPGEN_AUDIT_LOG", hide = true)]
    audit_log: Option<PathBuf>,
    /// Serve the API only; run the controller elsewhere (`appgen controller`).
    #[arg(long)]
    no_controller: bool,
    #[command(flatten)]
    controller: ControllerArgs,
    #[command(flatten)]
    preview: preview::PreviewArgs,
    #[command(flatten)]
    api: ApiArgs,
}

#[derive(Debug, clap::Args)]
pub struct ControllerOnlyArgs {
    /// Where artifacts and process tasks live.
    #[arg(long, env = "APPGEN_DATA_DIR", default_value = "./.appgen")]
    data_dir: PathBuf,
    /// Where `/metrics` is served.
    #[arg(long, default_value = "127.0.0.1:9090")]
    metrics_listen: SocketAddr,
    #[command(flatten)]
    controller: ControllerArgs,
}

/// The real clock, for the controller's decisions.
fn system_clock() -> appgen_controller::Clock {
    Arc::new(jiff::Timestamp::now)
}

fn metrics_route(metrics: Arc<Metrics>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    metrics.encode(),
                )
            }
        }),
    )
}

/// Resolves once `stop` says so; many can wait on one signal.
async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Runs the controller and starts it again should it ever end before shutdown, so a bug in one
/// reconcile cannot leave `serve` answering requests with nobody acting on them.
async fn supervise(
    client: kube::Client,
    first: controller::Parts,
    args: ControllerArgs,
    data_dir: PathBuf,
    metrics: Arc<Metrics>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut parts = Some(first);
    loop {
        let current = match parts.take() {
            Some(p) => p,
            None => match controller::build(&args, &data_dir, system_clock(), Generations::Embedded).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "cannot restart the controller");
                    return;
                }
            },
        };
        let run = tokio::spawn(controller::run(
            client.clone(),
            current,
            metrics.clone(),
            stopped(stop.clone()),
        ));
        let outcome = run.await;
        if *stop.borrow() {
            return;
        }
        match outcome {
            Ok(()) => tracing::error!("the controller stopped on its own; starting it again in 1s"),
            Err(e) => tracing::error!(error = %e, "the controller crashed; starting it again in 1s"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `appgen controller`: the controller alone, with its own metrics port.
pub fn run_controller(args: ControllerOnlyArgs) -> Result<(), Error> {
    on_runtime(async move {
        let client = cluster_client(Component::Controller).await?;
        let parts = controller::build(
            &args.controller,
            &args.data_dir,
            system_clock(),
            Generations::InTheCluster,
        )
        .await?;
        let metrics = Arc::new(Metrics::default());
        let listener = bind(args.metrics_listen).await?;
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let metrics_server = axum::serve(listener, metrics_route(metrics.clone()))
            .with_graceful_shutdown(stopped(stop_rx.clone()));
        let signal = async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        };
        tokio::spawn(signal);
        tokio::spawn(async move { metrics_server.await });
        controller::run(client, parts, metrics, stopped(stop_rx)).await;
        Ok(())
    })
}

/// Runs `work` to its end on a multi-threaded runtime.
pub fn on_runtime<T>(work: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Serve)?
        .block_on(work)
}

/// A listener on `address`, or an error that says what to do when the port is taken.
pub async fn bind(address: SocketAddr) -> Result<tokio::net::TcpListener, Error> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| Error::Listen {
            address: address.to_string(),
            source,
        })
}

pub fn run(args: ServeArgs) -> Result<(), Error> {
    on_runtime(serve(args))
}

async fn serve(mut args: ServeArgs) -> Result<(), Error> {
    let dir = DataDir::create(&args.data_dir)?;
    let token = dir.admin_token()?;
    let mut config = Config::new(dir.database(), vec![appgen_crd::crd()], vec![token.clone()]);
    config.watch_history = args.watch_history;
    config.bookmark_interval = Duration::from_secs(args.bookmark_seconds.max(1));
    config.event_ttl = Duration::from_secs(args.event_ttl_seconds.max(1));
    config.audit_log = args.audit_log.clone();
    let apiserver = LocalApiServer::open(config)?;
    let metrics = Arc::new(Metrics::default());

    let listener = bind(args.listen).await?;
    let address = listener.local_addr().map_err(Error::Serve)?;
    let tls = tls::server_config(dir.root(), address)?;
    let host = tls::client_host(address);
    dir.record_server(&format!("https://{host}"))?;
    args.controller
        .public_url
        .get_or_insert_with(|| format!("http://{host}"));
    let parts = controller::build(
        &args.controller,
        dir.root(),
        system_clock(),
        Generations::Embedded,
    )
    .await?;

    // One client per component, each with its own user agent, so audit trails tell them apart.
    let client = in_process_client(apiserver.router(), &token, Component::Controller)?;
    let api_client = in_process_client(apiserver.router(), &token, Component::Api)?;
    let preview_client = in_process_client(apiserver.router(), &token, Component::Preview)?;
    let agents = match parts.agent {
        Some(AgentName::ClaudeCode) => vec![AgentName::ClaudeCode, AgentName::Scaffold],
        _ => vec![AgentName::Scaffold],
    };
    let api_config = crate::api::config(&args.api, agents, args.controller.public_url.as_deref());
    let api = crate::api::start(api_config, &dir, token, api_client, parts.store.clone())?;
    let api = appgen_api::router(api);
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .merge(metrics_route(metrics.clone()))
        .merge(api)
        .merge(apiserver.router())
        // One span per request (method, path, status, latency) at debug level: `RUST_LOG=tower_http=debug`.
        .layer(tower_http::trace::TraceLayer::new_for_http());
    tracing::info!(
        url = %format!("http://{host}"),
        kubernetes_api = %format!("https://{host}"),
        "appgen serve is ready; `appgen kubeconfig --data-dir {}` prints a kubeconfig for kubectl",
        args.data_dir.display()
    );

    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let previews = preview::Serve {
        controller: (!args.no_controller).then_some(&args.controller),
        data_dir: dir.root(),
        port: address.port(),
        public_url: args.controller.public_url.as_deref(),
        client: preview_client,
        store: parts.store.clone(),
        clock: system_clock(),
    };
    let routing = preview::start(&args.preview, previews, stopped(stop_rx.clone()))?;
    let controller = (!args.no_controller).then(|| {
        let supervisor = supervise(
            client,
            parts,
            args.controller.clone(),
            dir.root().to_owned(),
            metrics,
            stop_rx,
        );
        tokio::spawn(supervisor)
    });

    let stopping = apiserver.clone();
    listener::serve(listener, tls, routing.around(router), async move {
        shutdown_signal().await;
        tracing::info!(
            "shutting down: stopping the controller, ending watches, finishing requests in flight"
        );
        let _ = stop.send(true);
        stopping.stop_watches();
    })
    .await;
    if let Some(controller) = controller {
        let _ = controller.await;
    }
    apiserver.close();
    tracing::info!("stopped");
    Ok(())
}

/// A kube client for the controller and the api that calls this process's own Kubernetes API
/// routes directly: the same requests and responses as over the network, without a socket, TLS
/// or HTTP parsing in between, which on a small machine is much of the control plane's CPU.
fn in_process_client(
    kubernetes_api: Router,
    token: &str,
    component: Component,
) -> Result<kube::Client, Error> {
    let bearer = http::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|e| Error::Controller(format!("the admin token cannot be sent as a header: {e}")))?;
    let agent = component.user_agent();
    let service = tower::ServiceBuilder::new()
        .map_request(move |mut request: http::Request<kube::client::Body>| {
            let headers = request.headers_mut();
            headers.insert(http::header::AUTHORIZATION, bearer.clone());
            headers.insert(http::header::USER_AGENT, agent.clone());
            request
        })
        .service(kubernetes_api);
    Ok(kube::Client::new(service, "default"))
}

/// The parts of appgen that call the Kubernetes API, each under its own user agent, so a cluster's
/// audit log (and the chart's RBAC test) can tell which part sent a request.
#[derive(Debug, Clone, Copy)]
pub enum Component {
    Controller,
    Api,
    /// `serve`'s live previews, which only `serve` runs.
    Preview,
}

impl Component {
    fn user_agent(self) -> http::HeaderValue {
        let name = match self {
            Component::Controller => "appgen-controller",
            Component::Api => "appgen-api",
            Component::Preview => "appgen-preview",
        };
        http::HeaderValue::from_str(&format!("{name}/{}", env!("CARGO_PKG_VERSION")))
            .unwrap_or_else(|_| http::HeaderValue::from_static("appgen"))
    }
}

/// A client for the cluster of the kubeconfig (or the pod's service account), sending
/// `component`'s user agent.
pub async fn cluster_client(component: Component) -> Result<kube::Client, Error> {
    let mut config = kube::Config::infer()
        .await
        .map_err(|e| Error::Kube(kube::Error::InferConfig(e)))?;
    config
        .headers
        .push((http::header::USER_AGENT, component.user_agent()));
    Ok(kube::Client::try_from(config)?)
}

pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stop with Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
