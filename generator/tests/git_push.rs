//! Pushing a source to a plain Git remote (a bare repository on this machine, reached with the
//! real `git`): the first push, a second one on top of it, credentials that never reach the
//! repository, and a rejected push reported as such.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use appgen_crd::GitDelivery;
use appgen_generator::DeliveryConfig;
use appgen_generator::delivery::{self, DeliveryError, Source};

const TOKEN: &str = "glpat-remote-token-0123456789";

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git").args(args).current_dir(dir).output().unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn config() -> DeliveryConfig {
    DeliveryConfig::from_env(
        [
            ("APPGEN_GIT_TOKEN", TOKEN),
            ("APPGEN_GIT_AUTHOR_NAME", "Appgen Bot"),
            ("APPGEN_GIT_AUTHOR_EMAIL", "bot@appgen.test"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
}

struct Remote {
    dir: tempfile::TempDir,
}

impl Remote {
    fn new() -> Remote {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "--quiet", "--bare", "todo.git"]);
        Remote { dir }
    }

    fn bare(&self) -> std::path::PathBuf {
        self.dir.path().join("todo.git")
    }

    fn url(&self) -> String {
        format!("file://{}", self.bare().display())
    }
}

/// Writes `files` into a fresh source folder and pushes them.
async fn push(
    remote: &Remote,
    files: &[(&str, &str)],
    prompt: &str,
) -> Result<delivery::Pushed, DeliveryError> {
    push_expecting(remote, files, prompt, &delivery::Expected::default()).await
}

/// `push`, checked against the commits a Generation expects.
async fn push_expecting(
    remote: &Remote,
    files: &[(&str, &str)],
    prompt: &str,
    expected: &delivery::Expected,
) -> Result<delivery::Pushed, DeliveryError> {
    let work = tempfile::tempdir().unwrap();
    let app = work.path().join("app");
    for (path, contents) in files {
        let path = app.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    // Made, not written: the archive leaves it out, and so must the commit.
    std::fs::create_dir_all(app.join("node_modules/x")).unwrap();
    std::fs::write(app.join("node_modules/x/index.js"), "x").unwrap();
    let listed: Vec<String> = files.iter().map(|(p, _)| (*p).to_owned()).collect();
    let spec = GitDelivery {
        repository: Some(remote.url()),
        branch: None,
    };
    let scratch = work.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    delivery::push(
        &spec,
        "todo",
        prompt,
        &config(),
        Source {
            dir: &app,
            files: &listed,
        },
        expected,
        &scratch,
        &std::env::var("PATH").unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_follow_up_is_a_second_commit_on_top_of_the_first_and_no_credential_is_kept() {
    let remote = Remote::new();
    let first = push(
        &remote,
        &[("package.json", "{}"), ("src/a.ts", "a")],
        "A tiny todo list",
    )
    .await
    .unwrap();
    assert_eq!(first.repository_url, remote.url());
    assert_eq!(git(&remote.bare(), &["rev-parse", "main"]), first.commit);
    assert_eq!(
        git(&remote.bare(), &["log", "-1", "--format=%an <%ae>|%s", "main"]),
        "Appgen Bot <bot@appgen.test>|A tiny todo list"
    );

    let second = push(
        &remote,
        &[("package.json", "{\"v\":2}"), ("src/b.ts", "b")],
        "Add tags\nto every task",
    )
    .await
    .unwrap();
    assert_eq!(git(&remote.bare(), &["rev-parse", "main"]), second.commit);
    assert_eq!(
        git(&remote.bare(), &["rev-parse", &format!("{}^", second.commit)]),
        first.commit
    );
    // The commit holds exactly the new source: a.ts is gone, node_modules never came.
    assert_eq!(
        git(&remote.bare(), &["ls-tree", "-r", "--name-only", "main"]),
        "package.json\nsrc/b.ts"
    );
    assert_eq!(
        git(&remote.bare(), &["log", "-1", "--format=%B", "main"]),
        "Add tags\n\nAdd tags\nto every task"
    );

    let everything = format!(
        "{}{}{first:?}{second:?}",
        git(&remote.bare(), &["log", "-p", "--all"]),
        std::fs::read_to_string(remote.bare().join("config")).unwrap(),
    );
    assert!(!everything.contains(TOKEN));
}

#[tokio::test]
async fn a_rejected_push_is_reported_as_rejected_and_keeps_the_remote_as_it_was() {
    let remote = Remote::new();
    let first = push(&remote, &[("a.txt", "1")], "First").await.unwrap();
    // Someone else's commit lands on the branch behind appgen's back...
    let other = tempfile::tempdir().unwrap();
    git(
        other.path(),
        &["clone", "--quiet", "--branch", "main", &remote.url(), "c"],
    );
    let clone = other.path().join("c");
    std::fs::write(clone.join("b.txt"), "theirs").unwrap();
    git(&clone, &["add", "."]);
    git(
        &clone,
        &[
            "-c",
            "user.name=x",
            "-c",
            "user.email=x@x",
            "commit",
            "--quiet",
            "-m",
            "theirs",
        ],
    );
    git(&clone, &["push", "--quiet", "origin", "HEAD:main"]);
    let theirs = git(&clone, &["rev-parse", "HEAD"]);
    // ...and a hook refuses the next push, as a protected branch would.
    let hook = remote.bare().join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'branch is protected' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let error = push(&remote, &[("a.txt", "2")], "Second").await.unwrap_err();
    assert_eq!(error.reason(), "PushRejected", "{error}");
    assert!(error.to_string().contains("main"), "{error}");
    assert_eq!(git(&remote.bare(), &["rev-parse", "main"]), theirs);
    assert_ne!(theirs, first.commit);
}

#[tokio::test]
async fn a_redelivery_of_a_commit_still_at_the_head_pushes_nothing_new() {
    let remote = Remote::new();
    let first = push(&remote, &[("a.txt", "1")], "First").await.unwrap();
    let again = push_expecting(
        &remote,
        &[("a.txt", "1")],
        "First",
        &delivery::Expected {
            parent: None,
            delivered: Some(first.commit.clone()),
        },
    )
    .await
    .unwrap();
    assert_eq!(again.commit, first.commit);
    assert_eq!(git(&remote.bare(), &["rev-list", "--count", "main"]), "1");
}
