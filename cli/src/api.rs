//! The REST API and web UI: mounted by `appgen serve`, or alone with `appgen api` against the
//! cluster of the current kubeconfig.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use appgen_api::{ApiConfig, ApiDeps, ApiState, RateLimit, Signup};
use appgen_crd::AgentName;

use crate::Error;
use crate::data_dir::DataDir;
use crate::generate::Agent;

/// The API's settings that `serve` and `api` share.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    /// Who may create an account: `open` (anyone), `invite` (with an administrator's invite code;
    /// without one the account waits for approval) or `closed`. The first account on a server is
    /// always created, as an administrator.
    #[arg(long, env = "APPGEN_SIGNUP", default_value = "open")]
    pub signup: Signup,
    /// Requests each user may make: `<per second>,<burst>`. Beyond it, 429 with Retry-After.
    #[arg(long, env = "APPGEN_USER_RATE", default_value_t = ApiConfig::default().per_user)]
    pub user_rate: RateLimit,
    /// Requests each client address may make: `<per second>,<burst>`.
    #[arg(long, env = "APPGEN_IP_RATE", default_value_t = ApiConfig::default().per_ip)]
    pub ip_rate: RateLimit,
    /// Sign-up and sign-in attempts each client address may make: `<per second>,<burst>`.
    #[arg(long, env = "APPGEN_SIGN_IN_RATE", default_value_t = ApiConfig::default().sign_in)]
    pub sign_in_rate: RateLimit,
}

#[derive(Debug, clap::Args)]
pub struct ApiOnlyArgs {
    /// The address to listen on (plain HTTP; put TLS in front, e.g. an Ingress).
    #[arg(long, env = "APPGEN_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the account database and the admin token live.
    #[arg(long, env = "APPGEN_DATA_DIR", default_value = "./.appgen")]
    data_dir: PathBuf,
    /// The artifact store the generators write to, e.g. `s3://bucket/prefix` or
    /// `file:///var/lib/appgen/artifacts`.
    #[arg(long, env = "APPGEN_ARTIFACTS")]
    artifacts: String,
    /// The agents users may pick; the first is the default.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        env = "APPGEN_AGENTS",
        default_value = "scaffold"
    )]
    agents: Vec<Agent>,
    /// The address people reach appgen at; https makes session cookies `Secure`.
    #[arg(long, env = "APPGEN_PUBLIC_URL")]
    public_url: Option<String>,
    #[command(flatten)]
    api: ApiArgs,
}

/// The API's configuration from the shared flags, the agents on offer and the public URL.
pub fn config(args: &ApiArgs, agents: Vec<AgentName>, public_url: Option<&str>) -> ApiConfig {
    let mut config = ApiConfig {
        signup: args.signup,
        per_user: args.user_rate,
        per_ip: args.ip_rate,
        sign_in: args.sign_in_rate,
        secure_cookies: public_url.is_some_and(|url| url.starts_with("https://")),
        ..ApiConfig::default()
    };
    if let Some(first) = agents.first() {
        config.default_agent = *first;
        config.agents = agents;
    }
    config
}

pub fn start(
    config: ApiConfig,
    data_dir: &DataDir,
    admin_token: String,
    client: kube::Client,
    store: Arc<dyn appgen_artifacts::ArtifactStore>,
) -> Result<ApiState, Error> {
    ApiState::start(ApiDeps {
        config,
        admin_tokens: vec![admin_token],
        client,
        store,
        accounts: appgen_api::accounts_file(data_dir.root()),
        clock: Arc::new(jiff::Timestamp::now),
        entropy: appgen_api::system_entropy(),
    })
    .map_err(|e| Error::Api(e.to_string()))
}

/// `appgen api`: the REST API and UI alone.
pub fn run(args: ApiOnlyArgs) -> Result<(), Error> {
    crate::serve::on_runtime(async move {
        let dir = DataDir::create(&args.data_dir)?;
        let token = dir.admin_token()?;
        let client = crate::serve::cluster_client(crate::serve::Component::Api).await?;
        let store = appgen_artifacts::open(&args.artifacts)
            .await
            .map_err(|e| Error::Api(format!("opening the artifact store {}: {e}", args.artifacts)))?;
        let agents = args.agents.iter().map(|a| AgentName::from(*a)).collect();
        let config = config(&args.api, agents, args.public_url.as_deref());
        let state = start(config, &dir, token, client, store)?;
        let listener = crate::serve::bind(args.listen).await?;
        tracing::info!(url = %format!("http://{}", args.listen), "appgen api is ready");
        let app = appgen_api::router(state)
            .route("/healthz", axum::routing::get(|| async { "ok" }))
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(crate::serve::shutdown_signal())
            .await
            .map_err(Error::Serve)
    })
}
