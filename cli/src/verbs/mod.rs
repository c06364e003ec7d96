//! The user verbs (`appgen new`, `get`, `describe`, `logs`, `download`, `open`, `cancel`,
//! `retry`, `delete`, `apps`, `login`): a terminal client of the REST API. What to show, where to
//! connect and what an answer means are pure functions (`render`, `target`, `client::refusal`);
//! `client` is the only part that talks to the server.

mod archive;
mod client;
mod follow;
mod generations;
mod login;
mod render;
mod sse;
mod target;
mod term;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use crate::generate::Agent;

/// The exit codes of the user verbs, for `appgen --help`.
pub const EXIT_CODES: &str = "\
Exit codes of the user verbs (new, get, describe, logs, download, open, cancel, retry, delete, apps, login):
  0    done; with --wait or logs -f: the app was delivered
  1    the generation failed, or another error (the message says which)
  2    usage or bad input: a wrong flag, or a request the server found invalid
  3    not found: no such generation (or it was deleted while being followed)
  4    not authorized: no token, or a wrong or revoked one
  5    the server is unreachable or failing
  6    the generation was cancelled
  7    refused for now: not in a state for that (not delivered yet, already ended) or over a quota
  8    a download did not match its sha256
  130  interrupted (Ctrl-C) while following; the generation goes on";

/// How a verb ended, as its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Failed = 1,
    Usage = 2,
    NotFound = 3,
    Auth = 4,
    Unreachable = 5,
    Cancelled = 6,
    Refused = 7,
    Corrupt = 8,
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// Everything a verb can fail with, each naming what failed and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error(
        "no appgen server to talk to: no `appgen serve` has run with the data directory {data_dir}, and \
         neither `appgen login` nor APPGEN_SERVER named a server. Start `appgen serve --data-dir {data_dir}`, \
         run `appgen login --server URL`, or set APPGEN_SERVER and APPGEN_TOKEN"
    )]
    NoServer { data_dir: String },
    #[error("no token for {server}: run `appgen login --server {server}`, or set APPGEN_TOKEN")]
    NoToken { server: String },
    #[error(
        "cannot reach {server} ({reason}): is `appgen serve` running there? Start it, or point \
         APPGEN_SERVER or `appgen login --server` at a running server"
    )]
    Unreachable { server: String, reason: String },
    #[error(
        "{server} did not accept {token_source} ({message}): run `appgen login --server {server}`, \
         or set APPGEN_TOKEN to a valid token"
    )]
    Unauthorized {
        server: String,
        token_source: String,
        message: String,
    },
    /// The server answered with an error body; `status` decides the exit code.
    #[error("{doing}: {message}")]
    Refused {
        doing: String,
        status: u16,
        message: String,
    },
    #[error("{0}")]
    NotReady(String),
    #[error(
        "{doing}: the server's answer was not understood ({reason}); are appgen and the server the same version?"
    )]
    BadAnswer { doing: String, reason: String },
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid appgen configuration ({reason}): run `appgen login` again to rewrite it")]
    Config { path: PathBuf, reason: String },
    #[error(
        "the archive of {name} does not match its sha256 (expected {expected}, got {actual}); nothing was \
         written. Download it again; if it stays wrong the stored archive is damaged, and \
         `appgen retry {name}` builds the app anew"
    )]
    Corrupt {
        name: String,
        expected: String,
        actual: String,
    },
    #[error("stopped following {name}; it goes on: `appgen logs -f {name}` follows it again")]
    Interrupted { name: String },
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage(_) | Error::Config { .. } => Exit::Usage,
            Error::NoServer { .. } | Error::Unreachable { .. } | Error::BadAnswer { .. } => Exit::Unreachable,
            Error::NoToken { .. } | Error::Unauthorized { .. } => Exit::Auth,
            Error::Refused { status, .. } => match status {
                400 | 422 => Exit::Usage,
                401 | 403 => Exit::Auth,
                404 | 410 => Exit::NotFound,
                409 | 429 => Exit::Refused,
                500..=599 => Exit::Unreachable,
                _ => Exit::Failed,
            },
            Error::NotReady(_) => Exit::Refused,
            Error::File { .. } => Exit::Failed,
            Error::Corrupt { .. } => Exit::Corrupt,
            Error::Interrupted { .. } => Exit::Interrupted,
        }
    }

    fn file(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::File { path, source }
    }
}

/// Where the server is and which token to send; each falls back as `target` describes.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// The appgen server's URL. Default: the one `appgen login` saved, else the `appgen serve`
    /// whose data directory is --data-dir.
    #[arg(long, env = "APPGEN_SERVER")]
    server: Option<String>,
    /// A bearer token: a personal API token, or the admin token of `appgen serve`.
    #[arg(long, env = "APPGEN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The data directory of an `appgen serve` on this machine, whose address and admin token are
    /// used when nothing else says where to connect [default: ./.appgen].
    #[arg(long, env = "APPGEN_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

/// How `get` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Json,
    Yaml,
    Wide,
}

/// The API's answer, whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Structured {
    Json,
    Yaml,
}

impl Output {
    fn structured(self) -> Option<Structured> {
        match self {
            Output::Json => Some(Structured::Json),
            Output::Yaml => Some(Structured::Yaml),
            Output::Wide => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct NameArgs {
    /// The generation's name (in your namespace), or `namespace/name`.
    name: String,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The app idea in plain language; `-` reads it from standard input.
    prompt: String,
    /// The app's name (a DNS label); suggested from the prompt when unset.
    #[arg(long)]
    app: Option<String>,
    /// The coding agent; unset lets the server choose.
    #[arg(long, value_enum)]
    agent: Option<Agent>,
    /// The most the AI agent may spend, in US dollars.
    #[arg(long, value_name = "USD")]
    budget: Option<f64>,
    /// Continue a delivered generation of the same app (its source and agent session) with this
    /// prompt as the follow-up.
    #[arg(long, value_name = "PARENT", conflicts_with_all = ["app", "agent", "budget"])]
    from: Option<String>,
    /// Follow the generation until it ends; the exit code says how it ended.
    #[arg(long)]
    wait: bool,
    /// Wait, then open the live URL (implies --wait).
    #[arg(long)]
    open: bool,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// One generation (in your namespace, or `namespace/name`); unset lists them all.
    name: Option<String>,
    /// json or yaml (the API's view, whole), or wide (more columns).
    #[arg(short, long, value_enum)]
    output: Option<Output>,
    /// Only this app's generations.
    #[arg(long)]
    app: Option<String>,
    /// Every namespace's generations (administrators).
    #[arg(short = 'A', long, conflicts_with = "name")]
    all_namespaces: bool,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The generation's name (in your namespace), or `namespace/name`.
    name: String,
    /// Follow until the generation ends; the exit code says how it ended.
    #[arg(short, long)]
    follow: bool,
    /// Start after this event: a seq of the first attempt, or an event id `<attempt>-<seq>`.
    #[arg(long, value_name = "N")]
    since_seq: Option<String>,
    /// json: the event log's raw lines, one JSON object each.
    #[arg(short, long, value_enum)]
    output: Option<LogsOutput>,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogsOutput {
    Json,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The generation's name (in your namespace), or `namespace/name`.
    name: String,
    /// Where to write: a file, or an existing directory [default: ./NAME.tar.gz]. With --extract,
    /// the directory to unpack into [default: .].
    #[arg(short, long, value_name = "FILE|DIR")]
    output: Option<PathBuf>,
    /// Unpack the app's source instead of saving the archive.
    #[arg(long)]
    extract: bool,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The generation to build again (in your namespace), or `namespace/name`.
    name: String,
    /// Deliver the generation's stored archive again (Git push, deploy) instead of building a new
    /// generation: for a delivery that failed after the app was made, once its cause is fixed.
    #[arg(long)]
    delivery: bool,
    /// Follow the new generation until it ends; the exit code says how it ended.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Args)]
pub struct AppsArgs {
    /// json or yaml: the API's view, whole.
    #[arg(short, long, value_enum)]
    output: Option<Structured>,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The server's URL, e.g. https://appgen.example.com or http://127.0.0.1:8080.
    #[arg(long)]
    server: String,
    /// Save this token (a personal API token) instead of signing in with a password.
    #[arg(long, env = "APPGEN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Sign in as this user; asked for when unset. The password is always asked for (or read
    /// from standard input when it is not a terminal).
    #[arg(long)]
    username: Option<String>,
    /// The data directory of an `appgen serve` on this machine, whose CA is trusted for its
    /// https address [default: ./.appgen].
    #[arg(long, env = "APPGEN_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

/// The verbs, in the order `appgen --help` lists them.
#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Describe an app and have it built, tested and delivered.
    ///
    /// Example: appgen new "A tiny todo list with due dates" --wait
    ///
    /// Example: appgen new "Add tags to tasks" --from todo-list-due-x7k2p --wait
    New(NewArgs),
    /// List generations, or show one, as a table (like `kubectl get gen`).
    ///
    /// Example: appgen get -o wide
    Get(GetArgs),
    /// Show one generation in full: status, conditions, gates, usage, outputs and recent events.
    ///
    /// Example: appgen describe todo-list-due-x7k2p
    Describe(NameArgs),
    /// Show a generation's event log: phases, agent messages, tool calls, gate results.
    ///
    /// Example: appgen logs -f todo-list-due-x7k2p
    Logs(LogsArgs),
    /// Download a delivered app's source, checking its sha256.
    ///
    /// Example: appgen download todo-list-due-x7k2p --extract -o ~/src
    Download(DownloadArgs),
    /// Print a delivered app's live URL, and open it with $BROWSER when that is set.
    ///
    /// Example: appgen open todo-list-due-x7k2p
    Open(NameArgs),
    /// Stop a pending or running generation; it ends Cancelled.
    ///
    /// Example: appgen cancel todo-list-due-x7k2p
    Cancel(NameArgs),
    /// Build a generation again from its spec, as a new generation.
    ///
    /// Example: appgen retry todo-list-due-x7k2p --wait
    Retry(RetryArgs),
    /// Delete a generation (a running task is stopped first).
    ///
    /// Example: appgen delete todo-list-due-x7k2p
    Delete(NameArgs),
    /// List your apps and their versions, the most recently changed first.
    ///
    /// Example: appgen apps
    Apps(AppsArgs),
    /// Sign in to a server and save a personal API token for the other verbs.
    ///
    /// Saves the server and token in $XDG_CONFIG_HOME/appgen/config.json (or
    /// ~/.config/appgen/config.json), readable only by you. APPGEN_SERVER and APPGEN_TOKEN
    /// override it; with neither, the verbs use the `appgen serve` of ./.appgen.
    ///
    /// Example: appgen login --server https://appgen.example.com
    Login(LoginArgs),
}

/// Runs one verb to its end and says how it ended.
pub fn run(verb: Verb) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("appgen: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(verb)) {
        Ok(exit) => exit.into(),
        Err(e) => {
            let style = term::Style::stderr();
            eprintln!("{} {e}", style.paint("appgen: error:", term::Paint::Red));
            e.exit().into()
        }
    }
}

async fn dispatch(verb: Verb) -> Result<Exit, Error> {
    match verb {
        Verb::New(args) => generations::new(args).await,
        Verb::Get(args) => generations::get(args).await,
        Verb::Describe(args) => generations::describe(args).await,
        Verb::Logs(args) => generations::logs(args).await,
        Verb::Download(args) => generations::download(args).await,
        Verb::Open(args) => generations::open(args).await,
        Verb::Cancel(args) => generations::cancel(args).await,
        Verb::Retry(args) => generations::retry(args).await,
        Verb::Delete(args) => generations::delete(args).await,
        Verb::Apps(args) => generations::apps(args).await,
        Verb::Login(args) => login::login(args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_code_is_documented() {
        let all = [
            Exit::Ok,
            Exit::Failed,
            Exit::Usage,
            Exit::NotFound,
            Exit::Auth,
            Exit::Unreachable,
            Exit::Cancelled,
            Exit::Refused,
            Exit::Corrupt,
            Exit::Interrupted,
        ];
        let documented: Vec<u8> = EXIT_CODES
            .lines()
            .filter_map(|line| line.split_whitespace().next()?.parse().ok())
            .collect();
        assert_eq!(documented, all.map(|e| e as u8));
    }

    #[test]
    fn refusals_exit_by_what_they_mean() {
        let cases = [
            (400, Exit::Usage),
            (422, Exit::Usage),
            (401, Exit::Auth),
            (403, Exit::Auth),
            (404, Exit::NotFound),
            (409, Exit::Refused),
            (429, Exit::Refused),
            (502, Exit::Unreachable),
            (418, Exit::Failed),
        ];
        for (status, exit) in cases {
            let error = Error::Refused {
                doing: "x".into(),
                status,
                message: "y".into(),
            };
            assert_eq!(error.exit(), exit, "{status}");
        }
    }
}
