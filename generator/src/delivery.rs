//! Delivery beyond the archive: the source pushed to a Git repository (any remote, or a GitHub
//! repository created on demand), and the app deployed to a hosting target (Fly.io). Where it goes is decided by pure functions over the spec and the
//! configuration; the thin executors in `git` and `github` only run what was decided.

pub mod fly;
pub mod git;
pub mod github;
mod http;

use std::path::Path;

use appgen_crd::GitDelivery;

use self::git::GitRunner;
use self::github::GitHub;

/// Where delivery credentials and defaults come from: the task's environment, never the spec.
#[derive(Clone)]
pub struct DeliveryConfig {
    pub author_name: String,
    pub author_email: String,
    /// The user name sent with `remote_token` to plain HTTP(S) remotes.
    pub remote_username: String,
    pub remote_token: Option<String>,
    pub github_token: Option<String>,
    /// The REST API's root: `https://api.github.com`, or `https://<host>/api/v3` for Enterprise.
    pub github_api: String,
    /// The owner of repositories named only by the app (`spec.delivery.git.repository` unset).
    pub github_owner: Option<String>,
    /// Whether repositories appgen creates are private.
    pub github_private: bool,
    pub fly_token: Option<String>,
    /// The Machines API's root, `https://api.machines.dev`.
    pub fly_api: String,
    /// The organisation new Fly apps belong to.
    pub fly_org: String,
    pub fly_region: String,
    /// The stock Node image machines run.
    pub fly_image: String,
}

impl std::fmt::Debug for DeliveryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryConfig")
            .field("author_name", &self.author_name)
            .field("author_email", &self.author_email)
            .field("remote_username", &self.remote_username)
            .field("remote_token", &self.remote_token.as_ref().map(|_| "<set>"))
            .field("github_token", &self.github_token.as_ref().map(|_| "<set>"))
            .field("github_api", &self.github_api)
            .field("github_owner", &self.github_owner)
            .field("github_private", &self.github_private)
            .field("fly_token", &self.fly_token.as_ref().map(|_| "<set>"))
            .field("fly_api", &self.fly_api)
            .field("fly_org", &self.fly_org)
            .field("fly_region", &self.fly_region)
            .field("fly_image", &self.fly_image)
            .finish()
    }
}

/// The environment variables `DeliveryConfig::from_env` reads; a backend passes these to tasks.
pub const DELIVERY_ENV: &[&str] = &[
    "APPGEN_GIT_AUTHOR_NAME",
    "APPGEN_GIT_AUTHOR_EMAIL",
    "APPGEN_GIT_USERNAME",
    "APPGEN_GIT_TOKEN",
    "APPGEN_GITHUB_TOKEN",
    "GITHUB_TOKEN",
    "APPGEN_GITHUB_API",
    "APPGEN_GITHUB_OWNER",
    "APPGEN_GITHUB_PRIVATE",
    "APPGEN_FLY_API_TOKEN",
    "FLY_API_TOKEN",
    "APPGEN_FLY_API",
    "APPGEN_FLY_ORG",
    "APPGEN_FLY_REGION",
    "APPGEN_FLY_IMAGE",
];

/// The `DELIVERY_ENV` names that hold credentials. A backend that can reference a secret store
/// (a Kubernetes Secret: `--generator-secret-env NAME=secret/key`) passes these only that way,
/// never as plain values in the task's definition.
pub const DELIVERY_SECRET_ENV: &[&str] = &[
    "APPGEN_GIT_TOKEN",
    "APPGEN_GITHUB_TOKEN",
    "GITHUB_TOKEN",
    "APPGEN_FLY_API_TOKEN",
    "FLY_API_TOKEN",
];

impl DeliveryConfig {
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> DeliveryConfig {
        let vars: std::collections::HashMap<String, String> = vars
            .into_iter()
            .filter(|(name, value)| DELIVERY_ENV.contains(&name.as_str()) && !value.is_empty())
            .collect();
        let get = |name: &str| vars.get(name).cloned();
        DeliveryConfig {
            author_name: get("APPGEN_GIT_AUTHOR_NAME").unwrap_or_else(|| "appgen".to_owned()),
            author_email: get("APPGEN_GIT_AUTHOR_EMAIL").unwrap_or_else(|| "appgen@localhost".to_owned()),
            remote_username: get("APPGEN_GIT_USERNAME").unwrap_or_else(|| "x-access-token".to_owned()),
            remote_token: get("APPGEN_GIT_TOKEN"),
            github_token: get("APPGEN_GITHUB_TOKEN").or_else(|| get("GITHUB_TOKEN")),
            github_api: get("APPGEN_GITHUB_API")
                .map(|api| api.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| "https://api.github.com".to_owned()),
            github_owner: get("APPGEN_GITHUB_OWNER"),
            github_private: get("APPGEN_GITHUB_PRIVATE").is_none_or(|v| v != "false"),
            fly_token: get("APPGEN_FLY_API_TOKEN").or_else(|| get("FLY_API_TOKEN")),
            fly_api: get("APPGEN_FLY_API")
                .map(|api| api.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| "https://api.machines.dev".to_owned()),
            fly_org: get("APPGEN_FLY_ORG").unwrap_or_else(|| "personal".to_owned()),
            fly_region: get("APPGEN_FLY_REGION").unwrap_or_else(|| "iad".to_owned()),
            fly_image: get("APPGEN_FLY_IMAGE").unwrap_or_else(|| "node:22-bookworm-slim".to_owned()),
        }
    }
}

/// Why the source could not be delivered; each message says what to change.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("spec.delivery.git.repository {0:?} is neither owner/name on GitHub nor a Git remote URL")]
    NotARepository(String),
    #[error(
        "the Git remote URL holds credentials; remove them and set APPGEN_GIT_TOKEN (and APPGEN_GIT_USERNAME) instead"
    )]
    CredentialsInUrl,
    #[error("{0:?} is not a branch name Git accepts")]
    BadBranch(String),
    #[error(
        "spec.delivery.git names no repository and APPGEN_GITHUB_OWNER is not set; name one as owner/name or a URL"
    )]
    NoOwner,
    #[error("GitHub delivery needs a token: set APPGEN_GITHUB_TOKEN (or GITHUB_TOKEN)")]
    NoGitHubToken,
    #[error("GitHub refused the token (401): {0}; set a valid APPGEN_GITHUB_TOKEN")]
    GitHubUnauthorized(String),
    #[error("GitHub's rate limit is used up ({0}); retry the delivery later")]
    GitHubRateLimited(String),
    #[error("GitHub would not create {repository}: {message}")]
    RepositoryRefused { repository: String, message: String },
    #[error("GitHub answered {status} to {action}: {message}")]
    GitHub {
        action: String,
        status: u16,
        message: String,
    },
    #[error("GitHub could not be reached at {api}: {reason}")]
    GitHubUnreachable { api: String, reason: String },
    #[error(
        "the remote rejected the push to {branch}: {message}; the branch has commits this app's history does not, so push or merge them by hand"
    )]
    PushRejected { branch: String, message: String },
    #[error(
        "the branch {branch} is at {found}, not at the parent generation's commit {expected}: it has commits this app's \
         history does not; merge them into the app by hand, or deliver to another branch"
    )]
    BranchMoved {
        branch: String,
        expected: String,
        found: String,
    },
    #[error("git {command} failed: {message}")]
    Git { command: String, message: String },
    #[error("could not start git ({0}); install git on the machine that runs the generator")]
    NoGit(std::io::Error),
    #[error("Fly.io deploys need a token: set APPGEN_FLY_API_TOKEN (or FLY_API_TOKEN)")]
    NoFlyToken,
    #[error(
        "Fly.io fetches the archive through a short-lived URL, which this artifact store cannot give; use an S3 artifact store"
    )]
    NoDownloadUrl,
    #[error("Fly.io refused the token: {0}; set a valid APPGEN_FLY_API_TOKEN")]
    FlyUnauthorized(String),
    #[error("Fly.io's rate limit is used up ({0}); retry the delivery later")]
    FlyRateLimited(String),
    #[error("Fly.io would not create the app {app}: {message}; choose another spec.app")]
    FlyAppRefused { app: String, message: String },
    #[error("Fly.io answered {status} to {action}: {message}")]
    Fly {
        action: String,
        status: u16,
        message: String,
    },
    #[error("Fly.io could not be reached at {api}: {reason}")]
    FlyUnreachable { api: String, reason: String },
    #[error("the app on Fly.io machine {machine} is not healthy: {message}")]
    FlyUnhealthy { machine: String, message: String },
    #[error("could not lay the source out for its commit at {}: {source}", path.display())]
    Files {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl DeliveryError {
    /// The condition reason a failed delivery reports.
    pub fn reason(&self) -> &'static str {
        match self {
            DeliveryError::PushRejected { .. } => "PushRejected",
            DeliveryError::BranchMoved { .. } => "BranchMoved",
            DeliveryError::RepositoryRefused { .. } => "RepositoryRefused",
            DeliveryError::GitHubUnauthorized(_) | DeliveryError::NoGitHubToken => "GitHubUnauthorized",
            DeliveryError::GitHubRateLimited(_) => "RateLimited",
            DeliveryError::NotARepository(_)
            | DeliveryError::CredentialsInUrl
            | DeliveryError::BadBranch(_)
            | DeliveryError::NoOwner => "InvalidDelivery",
            DeliveryError::NoFlyToken | DeliveryError::FlyUnauthorized(_) => "FlyUnauthorized",
            DeliveryError::FlyRateLimited(_) => "RateLimited",
            DeliveryError::FlyAppRefused { .. } => "AppNameTaken",
            DeliveryError::FlyUnhealthy { .. } => "DeployUnhealthy",
            DeliveryError::NoDownloadUrl
            | DeliveryError::Fly { .. }
            | DeliveryError::FlyUnreachable { .. } => "DeployFailed",
            _ => "GitDeliveryFailed",
        }
    }
}

/// Where the source goes, as the spec and configuration name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repository {
    /// Any Git remote, pushed to as given.
    Remote { url: String },
    /// A GitHub repository, created when it does not exist.
    GitHub { owner: String, name: String },
}

/// The branch pushed to when the spec names none.
pub const DEFAULT_BRANCH: &str = "main";

/// The repository and branch a Generation's source goes to.
pub fn target(
    git: &GitDelivery,
    app: &str,
    config: &DeliveryConfig,
) -> Result<(Repository, String), DeliveryError> {
    let branch = git.branch.clone().unwrap_or_else(|| DEFAULT_BRANCH.to_owned());
    if !branch_is_valid(&branch) {
        return Err(DeliveryError::BadBranch(branch));
    }
    let repository = match git.repository.as_deref().map(str::trim) {
        None | Some("") => Repository::GitHub {
            owner: config.github_owner.clone().ok_or(DeliveryError::NoOwner)?,
            name: app.to_owned(),
        },
        Some(url) if url.contains("://") || url.starts_with('/') => {
            let authority = url
                .split_once("://")
                .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
            if authority.contains('@') {
                return Err(DeliveryError::CredentialsInUrl);
            }
            Repository::Remote { url: url.to_owned() }
        }
        // scp-like SSH (`git@host:path`) carries keys from the environment, never a token.
        Some(url) if url.contains('@') && url.contains(':') => Repository::Remote { url: url.to_owned() },
        Some(name) => match name.split_once('/') {
            Some((owner, repo)) if github_name_is_valid(owner) && github_name_is_valid(repo) => {
                Repository::GitHub {
                    owner: owner.to_owned(),
                    name: repo.trim_end_matches(".git").to_owned(),
                }
            }
            _ => return Err(DeliveryError::NotARepository(name.to_owned())),
        },
    };
    Ok((repository, branch))
}

fn github_name_is_valid(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 100
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A conservative subset of `git check-ref-format`, so a spec cannot smuggle options or refspecs.
fn branch_is_valid(branch: &str) -> bool {
    !branch.is_empty()
        && !branch.starts_with(['-', '/', '.'])
        && !branch.ends_with(['/', '.'])
        && !branch.contains("..")
        && !branch.contains("//")
        && !branch.ends_with(".lock")
        && branch
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

/// What a push delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The repository as people open it; never holds credentials.
    pub repository_url: String,
    pub commit: String,
}

/// The source that was packaged: its folder and the files the archive holds.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub dir: &'a Path,
    pub files: &'a [String],
}

/// The commits a Generation's push is checked against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// The commit the parent Generation pushed: a follow-up goes on top of exactly it.
    pub parent: Option<String>,
    /// The commit an earlier attempt of this Generation pushed (a redelivery after a later step
    /// failed): when the branch is still there, it is the delivery.
    pub delivered: Option<String>,
}

/// Where the push goes, decided from the branch's head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// The branch does not exist: the commit is its first.
    Empty,
    /// Commit on top of this head.
    Head(String),
    /// The branch's head is this Generation's own commit: nothing to push.
    Delivered(String),
}

/// Decides where the commit goes from the branch's `head` (None: no such branch). A follow-up
/// never lands anywhere but on its parent's commit: a branch that moved is refused, not rebased.
pub fn base(branch: &str, head: Option<&str>, expected: &Expected) -> Result<Base, DeliveryError> {
    match (head, &expected.parent) {
        (Some(head), _) if expected.delivered.as_deref() == Some(head) => {
            Ok(Base::Delivered(head.to_owned()))
        }
        (head, Some(parent)) if head != Some(parent.as_str()) => Err(DeliveryError::BranchMoved {
            branch: branch.to_owned(),
            expected: parent.clone(),
            found: head.map_or_else(|| "nothing (the branch is gone)".to_owned(), str::to_owned),
        }),
        (Some(head), _) => Ok(Base::Head(head.to_owned())),
        (None, _) => Ok(Base::Empty),
    }
}

/// Commits `source` to the repository `git` names (creating it on GitHub when missing) on top of
/// its branch's head (the parent's commit, for a follow-up), and pushes it. `scratch` is an
/// empty-able folder of the task's own.
#[allow(clippy::too_many_arguments)]
pub async fn push(
    git: &GitDelivery,
    app: &str,
    prompt: &str,
    config: &DeliveryConfig,
    source: Source<'_>,
    expected: &Expected,
    scratch: &Path,
    path_var: &str,
) -> Result<Pushed, DeliveryError> {
    let (repository, branch) = target(git, app, config)?;
    let (url, shown, credentials) = match &repository {
        Repository::Remote { url } => (
            url.clone(),
            url.clone(),
            config
                .remote_token
                .as_deref()
                .map(|token| (config.remote_username.as_str(), token)),
        ),
        Repository::GitHub { owner, name } => {
            let token = config
                .github_token
                .as_deref()
                .ok_or(DeliveryError::NoGitHubToken)?;
            let found = GitHub::new(&config.github_api, token)?
                .ensure(owner, name, &description(prompt), config.github_private)
                .await?;
            // GitHub takes any user name with a token in place of the password.
            (found.clone_url, found.html_url, Some(("x-access-token", token)))
        }
    };
    let dir = scratch.join("repository");
    let files = |source| DeliveryError::Files {
        path: dir.clone(),
        source,
    };
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(files)?;
    }
    std::fs::create_dir_all(&dir).map_err(files)?;
    git::lay_out(source.dir, source.files, &dir)?;
    let runner = GitRunner {
        env: git::environment((&config.author_name, &config.author_email), credentials, scratch),
        dir,
        path: path_var.to_owned(),
    };
    let listed = runner.run(&git::probe(&url, &branch)).await?;
    let head = listed.split_whitespace().next();
    let on_top = match base(&branch, head, expected)? {
        Base::Delivered(commit) => {
            return Ok(Pushed {
                repository_url: shown,
                commit,
            });
        }
        Base::Head(_) => true,
        Base::Empty => false,
    };
    for command in git::plan(&url, &branch, &commit_message(prompt), on_top) {
        runner.run(&command).await?;
    }
    let commit = runner.run(&git::head()).await?.trim().to_owned();
    Ok(Pushed {
        repository_url: shown,
        commit,
    })
}

/// The commit message for a prompt: its first line as the subject (cut at 72 characters), and
/// the whole prompt as the body when there is more of it.
pub fn commit_message(prompt: &str) -> String {
    let prompt = prompt.trim();
    let first = prompt.lines().next().unwrap_or_default().trim();
    let subject = shorten(first, 72);
    if subject == prompt {
        subject
    } else {
        format!("{subject}\n\n{prompt}\n")
    }
}

/// The repository description for a prompt: its first line, cut to fit GitHub's field.
pub fn description(prompt: &str) -> String {
    shorten(prompt.trim().lines().next().unwrap_or_default().trim(), 300)
}

fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(limit - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(owner: Option<&str>) -> DeliveryConfig {
        DeliveryConfig {
            github_owner: owner.map(str::to_owned),
            ..DeliveryConfig::from_env([])
        }
    }

    fn git(repository: Option<&str>, branch: Option<&str>) -> GitDelivery {
        GitDelivery {
            repository: repository.map(str::to_owned),
            branch: branch.map(str::to_owned),
        }
    }

    #[test]
    fn the_spec_names_a_github_repository_or_a_remote() {
        let github = |owner: &str, name: &str| Repository::GitHub {
            owner: owner.into(),
            name: name.into(),
        };
        let remote = |url: &str| Repository::Remote { url: url.into() };
        let table = [
            (None, Some("acme"), github("acme", "todo")),
            (Some("ann/todo-app"), None, github("ann", "todo-app")),
            (Some("ann/todo.git"), None, github("ann", "todo")),
            (
                Some("https://git.example.com/ann/todo.git"),
                None,
                remote("https://git.example.com/ann/todo.git"),
            ),
            (
                Some("file:///srv/git/todo.git"),
                None,
                remote("file:///srv/git/todo.git"),
            ),
            (Some("/srv/git/todo.git"), None, remote("/srv/git/todo.git")),
            (
                Some("git@github.com:ann/todo.git"),
                None,
                remote("git@github.com:ann/todo.git"),
            ),
        ];
        for (repository, owner, expected) in table {
            let (found, branch) = target(&git(repository, None), "todo", &config(owner)).unwrap();
            assert_eq!(found, expected, "{repository:?}");
            assert_eq!(branch, "main");
        }
    }

    #[test]
    fn unusable_targets_are_refused_before_anything_is_sent() {
        let table: [(Option<&str>, Option<&str>, &str); 7] = [
            (None, None, "InvalidDelivery"),
            (
                Some("https://ann:ghp_secret@github.com/ann/todo.git"),
                None,
                "InvalidDelivery",
            ),
            (
                Some("https://ghp_secret@git.example.com/todo.git"),
                None,
                "InvalidDelivery",
            ),
            (Some("just-a-name"), None, "InvalidDelivery"),
            (Some("a/b/c"), None, "InvalidDelivery"),
            (Some("ann/todo"), Some("--upload-pack=evil"), "InvalidDelivery"),
            (Some("ann/todo"), Some("main:refs/heads/other"), "InvalidDelivery"),
        ];
        for (repository, branch, reason) in table {
            let error = target(&git(repository, branch), "todo", &config(None)).unwrap_err();
            assert_eq!(error.reason(), reason, "{repository:?} {branch:?}: {error}");
            assert!(!error.to_string().contains("ghp_secret"), "{error}");
        }
    }

    #[test]
    fn a_follow_up_lands_on_its_parents_commit_or_nowhere() {
        let expect = |parent: Option<&str>, delivered: Option<&str>| Expected {
            parent: parent.map(str::to_owned),
            delivered: delivered.map(str::to_owned),
        };
        let head = |c: &str| Ok(Base::Head(c.to_owned()));
        let table: [(Option<&str>, Expected, Result<Base, &str>); 8] = [
            (None, expect(None, None), Ok(Base::Empty)),
            (Some("a1"), expect(None, None), head("a1")),
            (Some("p1"), expect(Some("p1"), None), head("p1")),
            (Some("x9"), expect(Some("p1"), None), Err("BranchMoved")),
            (None, expect(Some("p1"), None), Err("BranchMoved")),
            (
                Some("c2"),
                expect(Some("p1"), Some("c2")),
                Ok(Base::Delivered("c2".into())),
            ),
            (
                Some("c2"),
                expect(None, Some("c2")),
                Ok(Base::Delivered("c2".into())),
            ),
            (Some("x9"), expect(None, Some("c2")), head("x9")),
        ];
        for (found, expected, want) in table {
            let got = base("main", found, &expected).map_err(|e| e.reason());
            assert_eq!(got, want, "{found:?} {expected:?}");
        }
        let moved = base("main", Some("x9"), &expect(Some("p1"), None)).unwrap_err();
        let message = moved.to_string();
        assert!(
            message.contains("x9") && message.contains("p1") && message.contains("main"),
            "{message}"
        );
    }

    #[test]
    fn branches_that_git_accepts_are_kept() {
        for branch in ["main", "release/v1.2", "feature_x-1"] {
            let (_, found) = target(&git(Some("ann/todo"), Some(branch)), "todo", &config(None)).unwrap();
            assert_eq!(found, branch);
        }
    }

    #[test]
    fn the_commit_message_and_description_come_from_the_prompt() {
        assert_eq!(commit_message("  A tiny todo list  "), "A tiny todo list");
        assert_eq!(
            commit_message("A todo list\nwith due dates"),
            "A todo list\n\nA todo list\nwith due dates\n"
        );
        let long = "word ".repeat(30);
        let message = commit_message(&long);
        let subject = message.lines().next().unwrap();
        assert_eq!(subject.chars().count(), 72);
        assert!(subject.ends_with('…'));
        assert_eq!(description("Clients\nand projects"), "Clients");
    }

    #[test]
    fn configuration_comes_from_the_environment_with_defaults() {
        let defaults = DeliveryConfig::from_env([]);
        assert_eq!(defaults.github_api, "https://api.github.com");
        assert!(defaults.github_private);
        assert_eq!(defaults.author_name, "appgen");
        let set = DeliveryConfig::from_env(
            [
                ("GITHUB_TOKEN", "t1"),
                ("APPGEN_GITHUB_API", "https://ghe.example.com/api/v3/"),
                ("APPGEN_GITHUB_PRIVATE", "false"),
                ("UNRELATED", "x"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        assert_eq!(set.github_token.as_deref(), Some("t1"));
        assert_eq!(set.github_api, "https://ghe.example.com/api/v3");
        assert!(!set.github_private);
        assert!(!format!("{set:?}").contains("t1\""), "{set:?}");
    }
}
