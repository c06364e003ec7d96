//! Git delivery from `appgen generate`: the delivered source pushed to a GitHub repository that
//! appgen creates, and a follow-up pushed on top of it. GitHub's REST API is a contract fake on
//! loopback (the only stand-in for a real service here): it checks each request against GitHub's
//! documented API and answers as GitHub documents, and its `clone_url` is a real bare repository
//! that the real `git` pushes to. Plain remotes are a bare repository reached by `file://`, and a
//! real Git server on loopback: `git http-backend` over smart HTTP, asking for the token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use appgen_crd::{DeliverySpec, GitDelivery};
use appgen_generator::DeliveryConfig;
use appgen_generator::delivery::{self, Source};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::task::{Run, spec};
use common::{Server, ok, pnpm_store};
use serde_json::{Value, json};

const TOKEN: &str = "ghp_contractFakeToken0123456789abcdef";
const LOGIN: &str = "ann";
const TODO: &str = "A todo list where tasks have a title and a due date.\nKeep it simple.";

/// One request the contract fake saw.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    body: Value,
}

#[derive(Default)]
struct Fake {
    seen: Vec<Seen>,
    /// Repositories that exist, by `owner/name`.
    repositories: Vec<String>,
    /// Names another account holds, which the token cannot see but cannot create either.
    taken: Vec<String>,
    rate_limited: bool,
}

/// Contract fake of GitHub's REST API (repositories: get, create for the user or an
/// organisation; users: get the authenticated user).
struct ContractFakeGitHub {
    address: SocketAddr,
    state: Arc<Mutex<Fake>>,
    repositories: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

type Shared = (Arc<Mutex<Fake>>, PathBuf, SocketAddr);

impl ContractFakeGitHub {
    fn start(fake: Fake) -> ContractFakeGitHub {
        let repositories = tempfile::tempdir().unwrap();
        let state = Arc::new(Mutex::new(fake));
        let root = repositories.path().to_owned();
        let app_state = state.clone();
        let (address, runtime) = common::serve_on_loopback(|address| {
            let shared: Shared = (app_state, root, address);
            axum::Router::new().fallback(answer).with_state(shared)
        });
        ContractFakeGitHub {
            address,
            state,
            repositories,
            _runtime: runtime,
        }
    }

    fn api(&self) -> String {
        format!("http://{}", self.address)
    }

    fn bare(&self, full_name: &str) -> PathBuf {
        self.repositories.path().join(format!("{full_name}.git"))
    }

    fn seen(&self) -> Vec<(String, String)> {
        let state = self.state.lock().unwrap();
        state
            .seen
            .iter()
            .map(|s| (s.method.to_string(), s.path.clone()))
            .collect()
    }

    fn forget_requests(&self) {
        self.state.lock().unwrap().seen.clear();
    }
}

fn github_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "message": message, "documentation_url": "https://docs.github.com/rest" })),
    )
        .into_response()
}

fn repository_json(
    address: SocketAddr,
    root: &Path,
    full_name: &str,
    private: bool,
    description: &str,
) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap();
    json!({
        "id": 1296269,
        "name": name,
        "full_name": full_name,
        "owner": { "login": owner },
        "private": private,
        "description": description,
        "default_branch": "main",
        "html_url": format!("http://{address}/{full_name}"),
        "clone_url": format!("file://{}/{full_name}.git", root.display()),
    })
}

async fn answer(
    State((state, root, address)): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_owned();
    let mut fake = state.lock().unwrap();
    fake.seen.push(Seen {
        method: method.clone(),
        path: path.clone(),
        body: body.clone(),
    });
    // Documented: a request without a User-Agent is refused; the token goes as `Bearer` or `token`.
    if header("user-agent").is_empty() {
        return github_error(
            StatusCode::FORBIDDEN,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
        );
    }
    let authorization = header("authorization");
    if authorization != format!("Bearer {TOKEN}") && authorization != format!("token {TOKEN}") {
        return github_error(StatusCode::UNAUTHORIZED, "Bad credentials");
    }
    assert_eq!(header("accept"), "application/vnd.github+json", "{method} {path}");
    assert!(!path.contains(TOKEN) && !uri.query().unwrap_or("").contains(TOKEN));
    if fake.rate_limited {
        let mut response = github_error(StatusCode::FORBIDDEN, "API rate limit exceeded for user ID 1.");
        response
            .headers_mut()
            .insert("x-ratelimit-remaining", "0".parse().unwrap());
        return response;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["user"]) => axum::Json(json!({ "login": LOGIN, "id": 1, "type": "User" })).into_response(),
        ("GET", ["repos", owner, name]) => {
            let full = format!("{owner}/{name}");
            if fake.repositories.contains(&full) {
                axum::Json(repository_json(address, &root, &full, true, "")).into_response()
            } else {
                github_error(StatusCode::NOT_FOUND, "Not Found")
            }
        }
        ("POST", ["user", "repos"]) | ("POST", ["orgs", _, "repos"]) => {
            let owner = if segments[0] == "user" { LOGIN } else { segments[1] };
            let (Some(name), true, true) = (
                body.get("name").and_then(Value::as_str),
                body.get("description").is_none_or(Value::is_string),
                body.get("private").is_none_or(Value::is_boolean),
            ) else {
                return github_error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid request.");
            };
            let full = format!("{owner}/{name}");
            if fake.repositories.contains(&full) || fake.taken.contains(&full) {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    axum::Json(json!({
                        "message": "Repository creation failed.",
                        "errors": [{ "resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account" }],
                        "documentation_url": "https://docs.github.com/rest/repos/repos#create-an-organization-repository"
                    })),
                )
                    .into_response();
            }
            let bare = root.join(format!("{full}.git"));
            std::fs::create_dir_all(&bare).unwrap();
            git(&bare, &["init", "--quiet", "--bare", "--initial-branch=main"]);
            fake.repositories.push(full.clone());
            let private = body.get("private").and_then(Value::as_bool).unwrap_or(false);
            let description = body.get("description").and_then(Value::as_str).unwrap_or("");
            (
                StatusCode::CREATED,
                axum::Json(repository_json(address, &root, &full, private, description)),
            )
                .into_response()
        }
        _ => github_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git").args(args).current_dir(dir).output().unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn with_git(prompt: &str, repository: &str) -> appgen_crd::GenerationSpec {
    appgen_crd::GenerationSpec {
        delivery: Some(DeliverySpec {
            git: Some(GitDelivery {
                repository: Some(repository.to_owned()),
                branch: None,
            }),
            deploy: None,
        }),
        ..spec(prompt)
    }
}

/// Every file a run left in the store, the archive unpacked, as one text to search.
fn everything_written(run: &Run) -> String {
    everything_under(&run.generation_dir())
}

/// Every file under `root` (installed dependencies aside), archives unpacked, as one text.
fn everything_under(root: &Path) -> String {
    let mut text = String::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_symlink() || path.ends_with("node_modules") {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "gz") {
                let mut unpacked = Vec::new();
                flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
                    .read_to_end(&mut unpacked)
                    .unwrap();
                text.push_str(&String::from_utf8_lossy(&unpacked));
            } else {
                text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
            }
        }
    }
    text
}

#[test]
fn a_generation_creates_its_github_repository_and_a_follow_up_commits_on_top_of_it() {
    let github = ContractFakeGitHub::start(Fake::default());
    let env = [
        ("APPGEN_GITHUB_TOKEN", TOKEN),
        ("APPGEN_GITHUB_API", &github.api()),
        ("APPGEN_GIT_AUTHOR_NAME", "Appgen Bot"),
        ("APPGEN_GIT_AUTHOR_EMAIL", "bot@appgen.test"),
    ];
    let first = Run::new();
    first.write_input(with_git(TODO, "acme/todo"));
    let ran = first.generate(&first.input_uri(), &env);
    let result = first.result();
    assert_eq!(ran.code, Some(0), "stderr: {}\nresult: {result:?}", ran.stderr);
    assert_eq!(
        github.seen(),
        [
            ("GET".to_owned(), "/repos/acme/todo".to_owned()),
            ("GET".to_owned(), "/user".to_owned()),
            ("POST".to_owned(), "/orgs/acme/repos".to_owned()),
        ]
    );
    let created = github.state.lock().unwrap().seen[2].body.clone();
    assert_eq!(
        created,
        json!({ "name": "todo", "description": "A todo list where tasks have a title and a due date.", "private": true })
    );
    let bare = github.bare("acme/todo");
    let outputs = result.outputs.clone().unwrap();
    assert_eq!(
        outputs.repository_url.as_deref(),
        Some(format!("{}/acme/todo", github.api()).as_str())
    );
    let commit = outputs.commit.clone().unwrap();
    assert_eq!(git(&bare, &["rev-parse", "main"]), commit);
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%an|%s", "main"]),
        "Appgen Bot|A todo list where tasks have a title and a due date."
    );
    // The commit holds the archive's files: the source, no installed dependencies or build output.
    let files = git(&bare, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(files.lines().any(|f| f == "package.json"), "{files}");
    assert!(
        !files.contains("node_modules") && !files.contains("dist/"),
        "{files}"
    );
    assert!(outputs.archive_url.is_some() && outputs.sha256.is_some());

    github.forget_requests();
    let follow_up = first.follow_up("todo-tags", "5e1d-uid-2");
    follow_up.write_input(appgen_crd::GenerationSpec {
        parent: Some("todo".into()),
        ..with_git("Add a notes field to tasks", "acme/todo")
    });
    let ran = follow_up.generate(&follow_up.input_uri(), &env);
    let second = follow_up.result();
    assert_eq!(ran.code, Some(0), "stderr: {}\nresult: {second:?}", ran.stderr);
    assert_eq!(github.seen(), [("GET".to_owned(), "/repos/acme/todo".to_owned())]);
    let second_commit = second.outputs.clone().unwrap().commit.unwrap();
    assert_eq!(git(&bare, &["rev-parse", "main"]), second_commit);
    assert_eq!(git(&bare, &["rev-parse", &format!("{second_commit}^")]), commit);

    for (what, text) in [
        ("the first run's store", everything_written(&first)),
        ("the follow-up's store", everything_written(&follow_up)),
        ("the repository", git(&bare, &["log", "-p", "--all"])),
        (
            "the repository's config",
            std::fs::read_to_string(bare.join("config")).unwrap(),
        ),
        ("the task's stderr", ran.stderr.clone()),
    ] {
        assert!(!text.contains(TOKEN), "the token is in {what}");
    }
}

/// Pushes a one-file source to `repository` through the fake, with `token`.
fn push_with(
    github: &ContractFakeGitHub,
    repository: &str,
    token: &str,
) -> Result<delivery::Pushed, delivery::DeliveryError> {
    let settings = [
        ("APPGEN_GITHUB_TOKEN", token),
        ("APPGEN_GITHUB_API", &github.api()),
    ];
    push_readme(repository, "hello", &settings, delivery::Expected::default())
}

/// Pushes a source of one file, README.md holding `contents`, to `repository` with the delivery
/// settings `settings`, as `delivery::push` does at the end of a generation.
fn push_readme(
    repository: &str,
    contents: &str,
    settings: &[(&str, &str)],
    expected: delivery::Expected,
) -> Result<delivery::Pushed, delivery::DeliveryError> {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("README.md"), contents).unwrap();
    let config = DeliveryConfig::from_env(settings.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let spec = GitDelivery {
        repository: Some(repository.to_owned()),
        branch: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(delivery::push(
        &spec,
        "todo",
        "A todo list",
        &config,
        Source {
            dir: work.path(),
            files: &["README.md".to_owned()],
        },
        &expected,
        work.path(),
        &std::env::var("PATH").unwrap(),
    ))
}

#[test]
fn github_error_answers_fail_the_delivery_with_their_reason_and_never_the_token() {
    let own = ContractFakeGitHub::start(Fake::default());
    let pushed = push_with(&own, "ann/todo", TOKEN).unwrap();
    assert_eq!(
        own.seen().last().unwrap(),
        &("POST".to_owned(), "/user/repos".to_owned())
    );
    assert_eq!(git(&own.bare("ann/todo"), &["rev-parse", "main"]), pushed.commit);

    let taken = ContractFakeGitHub::start(Fake {
        taken: vec!["acme/todo".into()],
        ..Fake::default()
    });
    let limited = ContractFakeGitHub::start(Fake {
        rate_limited: true,
        ..Fake::default()
    });
    let table = [
        (&taken, TOKEN, "RepositoryRefused", "name already exists"),
        (&own, "ghp_wrong", "GitHubUnauthorized", "Bad credentials"),
        (&limited, TOKEN, "RateLimited", "rate limit"),
    ];
    for (github, token, reason, says) in table {
        let error = push_with(github, "acme/todo", token).unwrap_err();
        assert_eq!(error.reason(), reason, "{error}");
        assert!(error.to_string().contains(says), "{error}");
        assert!(!error.to_string().contains(token), "{error}");
    }
}

#[test]
fn a_failed_deploy_fails_only_its_step_and_keeps_the_pushed_commit_and_the_archive() {
    let remote = tempfile::tempdir().unwrap();
    git(
        remote.path(),
        &["init", "--quiet", "--bare", "--initial-branch=main", "todo.git"],
    );
    let bare = remote.path().join("todo.git");
    let url = format!("file://{}", bare.display());
    let run = Run::new();
    run.write_input(appgen_crd::GenerationSpec {
        delivery: Some(DeliverySpec {
            git: Some(GitDelivery {
                repository: Some(url.clone()),
                branch: Some("apps/todo".into()),
            }),
            deploy: Some(appgen_crd::DeploySpec {
                target: appgen_crd::DeployTarget::Fly,
            }),
        }),
        ..spec(TODO)
    });
    let ran = run.generate(
        &run.input_uri(),
        &[("APPGEN_GIT_TOKEN", TOKEN), ("APPGEN_FLY_API_TOKEN", TOKEN)],
    );
    // A local artifact store cannot hand Fly.io a short-lived URL to the archive.
    let (step, message) = run.failure(&ran);
    assert_eq!(step, "deliver/deploy");
    assert!(message.contains("short-lived URL"), "{message}");
    let result = run.result();
    assert_eq!(
        result.error.as_ref().unwrap().reason.as_deref(),
        Some("DeployFailed")
    );
    let outputs = result.outputs.clone().unwrap();
    assert!(outputs.archive_url.is_some() && outputs.url.is_none());
    assert!(run.generation_dir().join("app.tar.gz").is_file());
    assert_eq!(outputs.repository_url.as_deref(), Some(url.as_str()));
    assert_eq!(git(&bare, &["rev-parse", "apps/todo"]), outputs.commit.unwrap());
    assert!(!everything_written(&run).contains(TOKEN));
    assert!(!ran.stderr.contains(TOKEN));
}

#[test]
fn through_appgen_serve_the_commit_reaches_status_and_the_token_reaches_nothing() {
    let remote = tempfile::tempdir().unwrap();
    git(
        remote.path(),
        &["init", "--quiet", "--bare", "--initial-branch=main", "todo.git"],
    );
    let bare = remote.path().join("todo.git");
    let url = format!("file://{}", bare.display());
    let store = pnpm_store().display().to_string();
    let server = Server::start_with_env(
        &["--pnpm-store", &store],
        &[
            ("APPGEN_GIT_TOKEN", TOKEN),
            ("APPGEN_GIT_AUTHOR_NAME", "Serve Bot"),
        ],
    );
    let manifest = format!(
        "apiVersion: appgen.dev/v1alpha1\nkind: Generation\nmetadata:\n  name: todo\nspec:\n  prompt: A todo list where tasks have a title and a due date.\n  delivery:\n    git:\n      repository: {url}\n    deploy:\n      target: none\n"
    );
    ok(server.kubectl_stdin(&["apply", "-f", "-"], &manifest));
    let started = std::time::Instant::now();
    let status = loop {
        let generation: Value =
            serde_json::from_str(&ok(server.kubectl(&["get", "gen", "todo", "-o", "json"]))).unwrap();
        let phase = generation["status"]["phase"].as_str().unwrap_or("").to_owned();
        if phase == "Delivered" || phase == "Failed" {
            break generation;
        }
        assert!(started.elapsed().as_secs() < 600, "not finished: {generation}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert_eq!(
        status["status"]["phase"],
        "Delivered",
        "{status}\n{}",
        server.log()
    );
    let outputs = &status["status"]["outputs"];
    assert_eq!(outputs["repositoryUrl"], url.as_str());
    assert_eq!(outputs["commit"], git(&bare, &["rev-parse", "main"]).as_str());
    assert_eq!(git(&bare, &["log", "-1", "--format=%an", "main"]), "Serve Bot");

    let described = ok(server.kubectl(&["describe", "gen", "todo"]));
    for (what, text) in [
        ("the status", status.to_string()),
        ("kubectl describe (events included)", described),
        ("the serve log", server.log()),
        ("the data directory", everything_under(server.data_dir())),
        ("the repository", git(&bare, &["log", "-p", "--all"])),
    ] {
        assert!(!text.contains(TOKEN), "the token is in {what}");
    }
}

/// A real Git server on loopback: `git http-backend` (smart HTTP) behind a check of the basic
/// credentials, the way a Git host asks for a token.
struct SmartHttpGit {
    address: SocketAddr,
    root: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

impl SmartHttpGit {
    fn start() -> SmartHttpGit {
        let root = tempfile::tempdir().unwrap();
        git(
            root.path(),
            &["init", "--quiet", "--bare", "--initial-branch=main", "todo.git"],
        );
        let repositories = root.path().to_owned();
        let (address, runtime) = common::serve_on_loopback(|_| {
            axum::Router::new()
                .fallback(http_backend)
                .with_state(repositories)
        });
        SmartHttpGit {
            address,
            root,
            _runtime: runtime,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/todo.git", self.address)
    }
}

/// Runs `git http-backend` as CGI for one request.
async fn http_backend(
    State(root): State<PathBuf>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{TOKEN}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Basic realm=\"git\"")],
            "credentials required",
        )
            .into_response();
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut child = tokio::process::Command::new("git")
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", &root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REMOTE_USER", "x-access-token")
        .env("REQUEST_METHOD", method.as_str())
        .env("PATH_INFO", uri.path())
        .env("QUERY_STRING", uri.query().unwrap_or(""))
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, &body)
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let split = output
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| (at, 4))
        .or_else(|| {
            output
                .stdout
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|at| (at, 2))
        })
        .unwrap();
    let head = String::from_utf8_lossy(&output.stdout[..split.0]).into_owned();
    let mut response = Response::new(axum::body::Body::from(
        output.stdout[split.0 + split.1..].to_vec(),
    ));
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("status") {
            let code: u16 = value.trim()[..3].parse().unwrap();
            *response.status_mut() = StatusCode::from_u16(code).unwrap();
        } else {
            response.headers_mut().insert(
                HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                value.trim().parse().unwrap(),
            );
        }
    }
    response
}

/// Pushes a one-file source to the plain remote `url` with `token` as `APPGEN_GIT_TOKEN`.
fn push_to_remote(
    url: &str,
    token: &str,
    contents: &str,
) -> Result<delivery::Pushed, delivery::DeliveryError> {
    follow_up_on_remote(url, token, contents, None)
}

/// `push_to_remote` as a follow-up of the generation that pushed `parent`.
fn follow_up_on_remote(
    url: &str,
    token: &str,
    contents: &str,
    parent: Option<&str>,
) -> Result<delivery::Pushed, delivery::DeliveryError> {
    let expected = delivery::Expected {
        parent: parent.map(str::to_owned),
        delivered: None,
    };
    push_readme(url, contents, &[("APPGEN_GIT_TOKEN", token)], expected)
}

#[test]
fn a_follow_up_commits_on_its_parents_commit_and_refuses_a_branch_that_moved_past_it() {
    let server = SmartHttpGit::start();
    let bare = server.root.path().join("todo.git");
    let parent = push_to_remote(&server.url(), TOKEN, "one").unwrap();
    let follow_up = follow_up_on_remote(&server.url(), TOKEN, "two", Some(&parent.commit)).unwrap();
    assert_eq!(git(&bare, &["rev-parse", "main^"]), parent.commit);
    assert_eq!(git(&bare, &["rev-parse", "main"]), follow_up.commit);

    // Another follow-up of the same parent finds the branch past it: refused, never rebased or forced.
    let refused = follow_up_on_remote(&server.url(), TOKEN, "three", Some(&parent.commit)).unwrap_err();
    assert_eq!(refused.reason(), "BranchMoved", "{refused}");
    let message = refused.to_string();
    assert!(
        message.contains(&parent.commit) && message.contains(&follow_up.commit),
        "{message}"
    );
    assert_eq!(git(&bare, &["rev-parse", "main"]), follow_up.commit);
    assert_eq!(git(&bare, &["rev-list", "--count", "main"]), "2");
}

#[test]
fn a_plain_remote_over_smart_http_takes_the_token_as_basic_credentials_and_never_keeps_it() {
    let server = SmartHttpGit::start();
    let bare = server.root.path().join("todo.git");
    let first = push_to_remote(&server.url(), TOKEN, "one").unwrap();
    let second = push_to_remote(&server.url(), TOKEN, "two").unwrap();
    assert_eq!(second.repository_url, server.url());
    assert_eq!(git(&bare, &["rev-parse", "main"]), second.commit);
    assert_eq!(git(&bare, &["rev-parse", "main^"]), first.commit);

    let refused = push_to_remote(&server.url(), "wrong-token", "three").unwrap_err();
    assert_eq!(refused.reason(), "GitDeliveryFailed", "{refused}");
    assert!(!refused.to_string().contains("wrong-token"), "{refused}");
    assert_eq!(git(&bare, &["rev-parse", "main"]), second.commit);
    let kept = format!(
        "{}{}",
        git(&bare, &["log", "-p", "--all"]),
        std::fs::read_to_string(bare.join("config")).unwrap()
    );
    assert!(!kept.contains(TOKEN));
}

/// Runs an `appgen` user verb against `server` with its admin token.
fn verb(server: &Server, args: &[&str]) -> std::process::Output {
    Command::new(common::APPGEN)
        .args(args)
        .env("APPGEN_SERVER", format!("http://{}", server.address))
        .env("APPGEN_TOKEN", &server.token)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// The Generation `name` once `done` says it is, as kubectl prints it.
fn wait_for(server: &Server, name: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = std::time::Instant::now();
    loop {
        let generation: Value =
            serde_json::from_str(&ok(server.kubectl(&["get", "gen", name, "-o", "json"]))).unwrap();
        if done(&generation) {
            return generation;
        }
        assert!(
            started.elapsed().as_secs() < 600,
            "not there: {generation}\n{}",
            server.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn condition<'a>(generation: &'a Value, type_: &str) -> &'a Value {
    generation["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} condition: {generation}"))
}

/// The sha256 of the archive `appgen download` fetches for `name`.
fn downloaded_sha256(server: &Server, name: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.tar.gz");
    ok(verb(
        server,
        &["download", name, "--output", file.to_str().unwrap()],
    ));
    let sum = Command::new("sha256sum").arg(&file).output().unwrap();
    String::from_utf8_lossy(&sum.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// The event types attempt `n` of Generation `todo` logged, read from serve's artifact store.
fn event_types(server: &Server, uid: &str, attempt: u32) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![server.data_dir().to_owned()];
    let wanted = format!("{uid}/attempts/{attempt}/events");
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.ends_with("node_modules") && !path.is_symlink() {
                pending.push(path);
            } else if path.parent().unwrap().ends_with(&wanted) {
                for line in std::fs::read_to_string(&path).unwrap().lines() {
                    let event: Value = serde_json::from_str(line).unwrap();
                    found.push(event["type"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    found
}

#[test]
fn a_rejected_push_fails_only_delivery_and_a_redelivery_pushes_the_stored_archive_without_regenerating() {
    let git_server = SmartHttpGit::start();
    let bare = git_server.root.path().join("todo.git");
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'pushes are frozen' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let store = pnpm_store().display().to_string();
    let server = Server::start_with_env(&["--pnpm-store", &store], &[("APPGEN_GIT_TOKEN", TOKEN)]);
    let manifest = format!(
        "apiVersion: appgen.dev/v1alpha1\nkind: Generation\nmetadata:\n  name: todo\nspec:\n  prompt: A todo list where tasks have a title and a due date.\n  retries: 2\n  delivery:\n    git:\n      repository: {}\n    deploy:\n      target: none\n",
        git_server.url()
    );
    ok(server.kubectl_stdin(&["apply", "-f", "-"], &manifest));
    let failed = wait_for(&server, "todo", |g| {
        matches!(g["status"]["phase"].as_str(), Some("Delivered" | "Failed"))
    });
    let status = &failed["status"];
    assert_eq!(status["phase"], "Failed", "{failed}\n{}", server.log());
    let delivered = condition(&failed, "Delivered");
    assert_eq!(delivered["status"], "False");
    assert_eq!(delivered["reason"], "PushRejected", "{delivered}");
    let message = delivered["message"].as_str().unwrap();
    assert!(
        message.contains("pushes are frozen") && message.contains("appgen retry --delivery todo"),
        "{message}"
    );
    assert_eq!(condition(&failed, "Verified")["status"], "True");
    assert_eq!(
        status["attempts"].as_array().unwrap().len(),
        1,
        "retries are left, yet the app was not regenerated: {failed}"
    );
    let sha256 = status["outputs"]["sha256"].as_str().unwrap().to_owned();
    assert!(status["outputs"]["commit"].is_null());
    assert_eq!(
        downloaded_sha256(&server, "default/todo"),
        sha256,
        "the archive still downloads"
    );
    let uid = failed["metadata"]["uid"].as_str().unwrap().to_owned();
    assert!(event_types(&server, &uid, 1).contains(&"agent".to_owned()));

    std::fs::remove_file(&hook).unwrap();
    let retried = verb(&server, &["retry", "--delivery", "default/todo", "--wait"]);
    let said = ok(retried);
    assert!(said.contains("delivered again"), "{said}");

    let redelivered = wait_for(&server, "todo", |g| g["status"]["phase"] == "Delivered");
    let status = &redelivered["status"];
    let commit = git(&bare, &["rev-parse", "main"]);
    assert_eq!(status["outputs"]["repositoryUrl"], git_server.url().as_str());
    assert_eq!(status["outputs"]["commit"], commit.as_str());
    assert_eq!(status["outputs"]["sha256"], sha256.as_str(), "the same archive");
    assert_eq!(status["observedRedeliver"], 1);
    let attempts = status["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{redelivered}");
    assert_eq!(attempts[1]["redelivery"], true);
    assert_eq!(condition(&redelivered, "Delivered")["status"], "True");
    let second = event_types(&server, &uid, 2);
    assert!(
        !second.is_empty() && !second.contains(&"agent".to_owned()) && !second.contains(&"gate".to_owned()),
        "a redelivery runs no agent and no gates: {second:?}"
    );
    assert_eq!(downloaded_sha256(&server, "default/todo"), sha256);
    // The pushed tree is the archive's source: the same files the app was generated with.
    let listed = git(&bare, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(
        listed.contains("package.json") && !listed.contains("node_modules"),
        "{listed}"
    );
    assert!(!everything_under(server.data_dir()).contains(TOKEN));
}
