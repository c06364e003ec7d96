//! `appgen serve`: everything on one machine, on one port.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use appgen_local_apiserver::{Config, LocalApiServer};
use axum::Router;
use axum::routing::get;

use crate::data_dir::DataDir;
use crate::{Error, listener, tls};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on. Everything is served here: the Kubernetes API, health and (later) the UI.
    #[arg(long, env = "APPGEN_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the database, the admin token and artifacts live.
    #[arg(long, env = "APPGEN_DATA_DIR", default_value = "./.appgen")]
    data_dir: PathBuf,
    /// How many changes are kept for watches resuming from a resourceVersion.
    #[arg(long, default_value_t = 10_000, hide = true)]
    watch_history: usize,
    /// Seconds an Event is kept before it is deleted.
    #[arg(long, default_value_t = 3600, hide = true)]
    event_ttl_seconds: u64,
    /// Seconds between watch bookmarks.
    #[arg(long, default_value_t = 30, hide = true)]
    bookmark_seconds: u64,
}

pub fn run(args: ServeArgs) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Serve)?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> Result<(), Error> {
    let dir = DataDir::create(&args.data_dir)?;
    let token = dir.admin_token()?;
    let mut config = Config::new(dir.database(), vec![appgen_crd::crd()], vec![token]);
    config.watch_history = args.watch_history;
    config.bookmark_interval = Duration::from_secs(args.bookmark_seconds.max(1));
    config.event_ttl = Duration::from_secs(args.event_ttl_seconds.max(1));
    let apiserver = LocalApiServer::open(config)?;
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .merge(apiserver.router())
        // One span per request (method, path, status, latency) at debug level: `RUST_LOG=tower_http=debug`.
        .layer(tower_http::trace::TraceLayer::new_for_http());

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| Error::Listen {
            address: args.listen.to_string(),
            source,
        })?;
    let address = listener.local_addr().map_err(Error::Serve)?;
    let tls = tls::server_config(dir.root(), address)?;
    let host = tls::client_host(address);
    dir.record_server(&format!("https://{host}"))?;
    tracing::info!(
        url = %format!("http://{host}"),
        kubernetes_api = %format!("https://{host}"),
        "appgen serve is ready; `appgen kubeconfig --data-dir {}` prints a kubeconfig for kubectl",
        args.data_dir.display()
    );

    let stopping = apiserver.clone();
    listener::serve(listener, tls, router, async move {
        shutdown_signal().await;
        tracing::info!("shutting down: ending watches, finishing requests in flight");
        stopping.stop_watches();
    })
    .await;
    apiserver.close();
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
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
