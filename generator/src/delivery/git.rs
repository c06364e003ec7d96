//! The commit and push, as `git` command lines planned from data and then run. Credentials reach
//! git only through its environment (`http.extraHeader` via `GIT_CONFIG_*`), never a URL or an
//! argument, so they cannot end up in a remote URL, a reflog or a process listing.

use std::path::{Path, PathBuf};

use base64::Engine;

use super::DeliveryError;

/// One git invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitCommand {
    pub args: Vec<String>,
}

impl GitCommand {
    fn new(args: &[&str]) -> GitCommand {
        GitCommand {
            args: args.iter().map(|&a| a.to_owned()).collect(),
        }
    }
}

/// Asks the remote for the branch's head; an empty answer means the first push.
pub fn probe(url: &str, branch: &str) -> GitCommand {
    GitCommand::new(&["ls-remote", "--heads", "--", url, &format!("refs/heads/{branch}")])
}

/// Prints the commit just made.
pub fn head() -> GitCommand {
    GitCommand::new(&["rev-parse", "HEAD"])
}

/// The commands that commit the laid-out source and push it: on top of the branch's current head
/// when it has one (a follow-up), else as the branch's first commit.
pub fn plan(url: &str, branch: &str, message: &str, existing_head: bool) -> Vec<GitCommand> {
    let mut commands = vec![GitCommand::new(&[
        "init",
        "--quiet",
        &format!("--initial-branch={branch}"),
    ])];
    if existing_head {
        // Only the head is needed to commit on top of it; `reset --soft` keeps the laid-out files
        // and an empty index, so `add --all` stages exactly them and drops files the app no
        // longer has.
        commands.push(GitCommand::new(&[
            "fetch",
            "--quiet",
            "--depth=1",
            "--",
            url,
            &format!("refs/heads/{branch}"),
        ]));
        commands.push(GitCommand::new(&["reset", "--quiet", "--soft", "FETCH_HEAD"]));
    }
    commands.push(GitCommand::new(&["add", "--all"]));
    commands.push(GitCommand::new(&[
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        message,
    ]));
    commands.push(GitCommand::new(&[
        "push",
        "--quiet",
        "--",
        url,
        &format!("HEAD:refs/heads/{branch}"),
    ]));
    commands
}

/// The environment git runs with: the author, no prompts, no user or system configuration, and
/// the credentials as an HTTP header when there are any.
pub fn environment(
    author: (&str, &str),
    credentials: Option<(&str, &str)>,
    home: &Path,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("GIT_AUTHOR_NAME", author.0),
        ("GIT_AUTHOR_EMAIL", author.1),
        ("GIT_COMMITTER_NAME", author.0),
        ("GIT_COMMITTER_EMAIL", author.1),
        ("GIT_TERMINAL_PROMPT", "0"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    env.push(("HOME".to_owned(), home.display().to_string()));
    if let Some((user, token)) = credentials {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
        env.extend([
            ("GIT_CONFIG_COUNT".to_owned(), "1".to_owned()),
            ("GIT_CONFIG_KEY_0".to_owned(), "http.extraHeader".to_owned()),
            (
                "GIT_CONFIG_VALUE_0".to_owned(),
                format!("Authorization: Basic {basic}"),
            ),
        ]);
    }
    env
}

/// Runs git commands in one repository directory.
#[derive(Debug)]
pub struct GitRunner {
    pub dir: PathBuf,
    pub path: String,
    pub env: Vec<(String, String)>,
}

impl GitRunner {
    /// Runs `command` and returns its standard output.
    pub async fn run(&self, command: &GitCommand) -> Result<String, DeliveryError> {
        let output = tokio::process::Command::new("git")
            .args(&command.args)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", &self.path)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true)
            .output()
            .await
            .map_err(DeliveryError::NoGit)?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        let message = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        let verb = command.args.first().cloned().unwrap_or_default();
        Err(failure(&verb, &command.args, message))
    }
}

/// What a failed git command means for the user.
fn failure(verb: &str, args: &[String], message: String) -> DeliveryError {
    let rejected = [
        "[rejected]",
        "non-fast-forward",
        "fetch first",
        "pre-receive hook declined",
    ];
    if verb == "push" && rejected.iter().any(|word| message.contains(word)) {
        let branch = args
            .last()
            .and_then(|refspec| refspec.strip_prefix("HEAD:refs/heads/"))
            .unwrap_or_default()
            .to_owned();
        return DeliveryError::PushRejected { branch, message };
    }
    DeliveryError::Git {
        command: verb.to_owned(),
        message,
    }
}

/// Copies `files` (relative to `from`) into the empty directory `to`.
pub fn lay_out(from: &Path, files: &[String], to: &Path) -> Result<(), DeliveryError> {
    for relative in files {
        let target = to.join(relative);
        let io = |source| DeliveryError::Files {
            path: target.clone(),
            source,
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::copy(from.join(relative), &target).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(commands: &[GitCommand]) -> Vec<String> {
        commands.iter().map(|c| c.args.join(" ")).collect()
    }

    #[test]
    fn a_first_delivery_commits_on_an_empty_branch_and_pushes_it() {
        assert_eq!(
            lines(&plan("file:///srv/todo.git", "main", "A todo list", false)),
            [
                "init --quiet --initial-branch=main",
                "add --all",
                "commit --quiet --no-verify -m A todo list",
                "push --quiet -- file:///srv/todo.git HEAD:refs/heads/main",
            ]
        );
    }

    #[test]
    fn a_follow_up_commits_on_top_of_the_branch_head() {
        assert_eq!(
            lines(&plan("https://git.example.com/todo.git", "dev", "Add tags", true)),
            [
                "init --quiet --initial-branch=dev",
                "fetch --quiet --depth=1 -- https://git.example.com/todo.git refs/heads/dev",
                "reset --quiet --soft FETCH_HEAD",
                "add --all",
                "commit --quiet --no-verify -m Add tags",
                "push --quiet -- https://git.example.com/todo.git HEAD:refs/heads/dev",
            ]
        );
        assert_eq!(
            probe("https://git.example.com/todo.git", "dev").args.join(" "),
            "ls-remote --heads -- https://git.example.com/todo.git refs/heads/dev"
        );
    }

    #[test]
    fn credentials_travel_as_a_header_in_the_environment_only() {
        let env = environment(
            ("appgen", "a@b"),
            Some(("x-access-token", "s3cret")),
            Path::new("/h"),
        );
        let value = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        assert_eq!(value("GIT_CONFIG_KEY_0").as_deref(), Some("http.extraHeader"));
        assert_eq!(
            value("GIT_CONFIG_VALUE_0").as_deref(),
            Some("Authorization: Basic eC1hY2Nlc3MtdG9rZW46czNjcmV0")
        );
        assert_eq!(value("GIT_TERMINAL_PROMPT").as_deref(), Some("0"));
        let without = environment(("appgen", "a@b"), None, Path::new("/h"));
        assert!(
            without
                .iter()
                .all(|(k, v)| k != "GIT_CONFIG_COUNT" && !v.contains("Authorization"))
        );
    }

    #[test]
    fn a_rejected_push_is_told_apart_from_other_failures() {
        let push = plan("u", "main", "m", false).pop().unwrap().args;
        let rejected = failure(
            "push",
            &push,
            " ! [rejected]        HEAD -> main (fetch first)".into(),
        );
        assert!(matches!(&rejected, DeliveryError::PushRejected { branch, .. } if branch == "main"));
        assert_eq!(rejected.reason(), "PushRejected");
        let other = failure("push", &push, "fatal: unable to access".into());
        assert_eq!(other.reason(), "GitDeliveryFailed");
    }
}
