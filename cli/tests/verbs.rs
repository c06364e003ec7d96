//! The user verbs as a person runs them: the real `appgen` binary against a real `appgen serve`,
//! piped and under a pseudo-terminal (`script`). Simulated tasks keep most generations to
//! seconds; the download test builds one real app.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::rest::{PASSWORD, Rest};
use common::{APPGEN, Server, pnpm_store};
use serde_json::Value;

/// The longest one verb may take before the test fails instead of hanging.
const DEADLINE: Duration = Duration::from_secs(120);

/// A server whose simulated tasks take `seconds` unless a prompt says `simulate:seconds=N`.
fn simulated(seconds: &str) -> Server {
    Server::start_with_controller(&["--backend", "simulated", "--simulated-task-seconds", seconds])
}

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "{self:#?}");
        self
    }

    #[track_caller]
    fn fails(self, code: i32, says: &str) -> Run {
        assert_eq!(self.code, code, "{self:#?}");
        assert!(self.stderr.contains(says), "{says:?} in {self:#?}");
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:#?}"))
    }
}

/// A child that is killed when dropped, so a failing assertion never leaves it behind.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Background {
    /// Waits for the child to exit and collects what it printed.
    fn finish(mut self, deadline: Duration) -> Run {
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut out = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut out);
                }
                String::from_utf8_lossy(&out).into_owned()
            })
        };
        let stdout = drain(self.0.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
        let stderr = drain(self.0.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < deadline, "still running after {deadline:?}");
            std::thread::sleep(Duration::from_millis(20));
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        }
    }
}

/// `appgen ARGS` as one shell command line.
fn shell_line(args: &[&str]) -> String {
    let quoted: Vec<String> = std::iter::once(APPGEN)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    quoted.join(" ")
}

/// Someone at a terminal: a home directory of their own (no saved login), working in it, with
/// no appgen settings in the environment but those given.
struct User {
    home: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl User {
    fn new() -> User {
        User {
            home: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    /// A user in whose working directory `./.appgen` is `server`'s data directory, as when they
    /// run `appgen serve` and the verbs from one folder.
    fn beside(server: &Server) -> User {
        let user = User::new();
        std::os::unix::fs::symlink(server.data_dir(), user.home.path().join(".appgen")).unwrap();
        user
    }

    fn with(mut self, name: &str, value: &str) -> User {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    fn dir(&self) -> &Path {
        self.home.path()
    }

    fn config(&self) -> PathBuf {
        self.dir().join("config/appgen/config.json")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.current_dir(self.dir());
        for name in [
            "APPGEN_SERVER",
            "APPGEN_TOKEN",
            "APPGEN_DATA_DIR",
            "NO_COLOR",
            "BROWSER",
        ] {
            command.env_remove(name);
        }
        command
            .env("HOME", self.dir())
            .env("XDG_CONFIG_HOME", self.dir().join("config"))
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    fn spawn(&self, args: &[&str], stdin: &str) -> Background {
        let mut child = self
            .command(APPGEN)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run appgen");
        let mut pipe = child.stdin.take().unwrap();
        let _ = pipe.write_all(stdin.as_bytes());
        Background(child)
    }

    /// `appgen ARGS`, piped.
    fn run(&self, args: &[&str]) -> Run {
        self.spawn(args, "").finish(DEADLINE)
    }

    /// `appgen ARGS` with `stdin` piped in.
    fn run_with_input(&self, args: &[&str], stdin: &str) -> Run {
        self.spawn(args, stdin).finish(DEADLINE)
    }

    /// `appgen ARGS` under a pseudo-terminal, as `script` gives one: stdout and stderr are the
    /// terminal, so both come back together in `stdout`.
    fn in_terminal(&self, args: &[&str]) -> Run {
        let child = self
            .command("script")
            .args(["-q", "-e", "-c", &shell_line(args), "/dev/null"])
            .env("TERM", "xterm-256color")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run script");
        Background(child).finish(DEADLINE)
    }

    /// `appgen ARGS` in a tmux window, answering each prompt (`Username:`) with its line once it
    /// shows; returns the screen after the command ended.
    fn at_keyboard(&self, args: &[&str], answers: &[(&str, &str)]) -> String {
        // A tmux server of its own: nothing shared with other tests or other tmux users.
        let socket = format!("appgen-verbs-{}", std::process::id());
        let tmux = |args: &[&str]| {
            let out = self
                .command("tmux")
                .arg("-L")
                .arg(&socket)
                .args(args)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let line = format!("{}; echo \"exit $?\"; sleep 60", shell_line(args));
        tmux(&["new-session", "-d", "-x", "150", "-y", "30", &line]);
        let screen = || tmux(&["capture-pane", "-p"]);
        for (prompt, answer) in answers {
            wait_until(&format!("{prompt} shows"), || screen().contains(prompt));
            tmux(&["send-keys", answer, "Enter"]);
        }
        wait_until("the command ends", || screen().contains("exit "));
        let shown = screen();
        tmux(&["kill-server"]);
        shown
    }
}

/// The name in `generation/NAME created`.
fn created(run: &Run) -> String {
    run.stdout
        .lines()
        .find_map(|l| Some(l.strip_prefix("generation/")?.split_once(" created")?.0))
        .unwrap_or_else(|| panic!("no generation created: {run:#?}"))
        .to_owned()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within 60 s");
        // Slow enough to stay far below the server's per-user request rate.
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn every_verb_works_against_the_serve_of_the_working_directory() {
    let server = simulated("1");
    let ann = User::beside(&server);

    let made = ann.run(&["new", "A todo list for my errands", "--wait"]).ok();
    let name = created(&made);
    assert!(made.stdout.contains(&format!("✓ {name} delivered")), "{made:#?}");
    // Piped, progress is plain lines on stderr, with no colour or redrawing.
    assert!(made.stderr.contains(&format!("{name}: Running · ")), "{made:#?}");
    for run in [&made.stdout, &made.stderr] {
        assert!(!run.contains('\x1b') && !run.contains('\r'), "{run:?}");
    }

    let table = ann.run(&["get"]).ok().stdout;
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "APP", "PHASE", "STEP", "URL", "COST", "AGE"]);
    let row = table.lines().find(|l| l.starts_with(&name)).expect("a row");
    assert!(row.contains("Delivered") && row.contains("$0.25"), "{table}");
    assert!(ann.run(&["get", "-o", "wide"]).ok().stdout.contains("PROMPT"));
    let json = ann.run(&["get", &name, "-o", "json"]).ok().json();
    assert_eq!(json["name"], name.as_str());
    assert_eq!(json["status"]["phase"], "Delivered");
    let yaml = ann.run(&["get", &name, "-o", "yaml"]).ok().stdout;
    assert!(yaml.contains(&format!("name: {name}")), "{yaml}");
    let list = ann.run(&["get", "-o", "json"]).ok().json();
    assert_eq!(list["items"][0]["name"], name.as_str());

    let described = ann.run(&["describe", &name]).ok().stdout;
    for expected in [
        format!("Name:        {name}"),
        "Phase:       Delivered".to_owned(),
        "Conditions:".to_owned(),
        "  Delivered   True".to_owned(),
        "  install     passed".to_owned(),
        "Usage:       12 turns".to_owned(),
        "Events (the last 10):".to_owned(),
        "▸ verify/build".to_owned(),
    ] {
        assert!(described.contains(&expected), "{expected:?} in\n{described}");
    }

    let logs = ann.run(&["logs", &name]).ok().stdout;
    let steps: Vec<&str> = logs
        .lines()
        .filter_map(|l| l.split_once("▸ ").map(|(_, step)| step))
        .collect();
    assert_eq!(steps.first(), Some(&"prepare"), "{logs}");
    assert_eq!(steps.last(), Some(&"deliver"), "{logs}");
    assert!(logs.contains(&format!("✓ {name} delivered")), "{logs}");
    let raw = ann.run(&["logs", &name, "-o", "json"]).ok().stdout;
    let seqs: Vec<u64> = raw
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "{raw}");
    let since = ann
        .run(&["logs", &name, "-o", "json", "--since-seq", "3"])
        .ok()
        .stdout;
    let first: Value = serde_json::from_str(since.lines().next().unwrap()).unwrap();
    assert_eq!(first["seq"], 4);

    // A follow-up continues the app; apps show both versions.
    let follow_up = created(&ann.run(&["new", "Add due dates", "--from", &name, "--wait"]).ok());
    let follow_up_json = ann.run(&["get", &follow_up, "-o", "json"]).ok().json();
    assert_eq!(follow_up_json["spec"]["parent"], name.as_str());
    let apps = ann.run(&["apps"]).ok().stdout;
    let app = json["spec"]["app"].as_str().unwrap();
    let row = apps.lines().find(|l| l.starts_with(app)).expect("the app");
    let columns: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        columns[..4],
        [app, "2", follow_up.as_str(), "Delivered"],
        "{apps}"
    );
    let apps_json = ann.run(&["apps", "-o", "json"]).ok().json();
    assert_eq!(apps_json["items"][0]["versions"][0]["name"], follow_up.as_str());

    // A failed generation, followed, exits 1 and says what to do.
    let failed = ann.run(&["new", "A broken one simulate:fail", "--wait"]);
    assert_eq!(failed.code, 1, "{failed:#?}");
    assert!(failed.stdout.contains("failed"), "{failed:#?}");
    assert!(failed.stdout.contains("appgen retry"), "{failed:#?}");

    ann.run(&["open", &name])
        .fails(7, "has no live URL: its delivery has none");

    let retried = ann.run(&["retry", &name]).ok();
    let again = created(&retried);
    assert_ne!(again, name);
    assert!(
        retried.stdout.contains(&format!("(a retry of {name})")),
        "{retried:#?}"
    );
    assert_eq!(
        ann.run(&["delete", &again]).ok().stdout.trim(),
        format!("generation/{again} deleted")
    );
    wait_until("the retry is deleted", || ann.run(&["get", &again]).code == 3);

    // Unknown names, bad names and bad input.
    ann.run(&["describe", "nope"])
        .fails(3, "generation default/nope not found; `appgen get` lists yours");
    ann.run(&["logs", "nope"]).fails(3, "not found");
    ann.run(&["download", "nope"]).fails(3, "not found");
    ann.run(&["get", "Not_A_Name"])
        .fails(2, "is not a generation name");
    ann.run(&["new", "x", "--budget", "0"])
        .fails(2, "--budget: must be more than 0");
    ann.run(&["new", "x", "--from", &name, "--app", "other"])
        .fails(2, "cannot be used with");
    ann.run(&["cancel", &name]).fails(7, "there is nothing to cancel");
}

#[test]
fn logs_and_wait_follow_a_live_generation_to_its_end() {
    let server = simulated("1");
    let ann = User::beside(&server);

    // Delivered: every step in order, then the outcome, exit 0.
    let name = created(&ann.run(&["new", "A live one simulate:seconds=4"]).ok());
    let started = Instant::now();
    let followed = ann.run(&["logs", "-f", &name]).ok();
    assert!(
        started.elapsed() > Duration::from_secs(2),
        "it followed rather than replayed"
    );
    let steps: Vec<&str> = followed
        .stdout
        .lines()
        .filter_map(|l| l.split_once("▸ ").map(|(_, s)| s))
        .collect();
    assert_eq!(
        steps,
        [
            "prepare",
            "agent",
            "verify/install",
            "verify/typecheck",
            "verify/build",
            "verify/test",
            "verify/boot",
            "verify/smoke",
            "package",
            "deliver"
        ],
        "{followed:#?}"
    );
    assert!(followed.stdout.trim_end().ends_with("--extract"), "{followed:#?}");
    assert!(
        followed.stderr.contains(&format!("{name}: Running")),
        "{followed:#?}"
    );

    // Cancelled while followed by `logs -f` and by `new --wait`: both exit 6.
    let mut waiting = ann.spawn(&["new", "A long one simulate:seconds=120", "--wait"], "");
    let mut first = String::new();
    BufReader::new(waiting.0.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let long = first
        .trim()
        .strip_prefix("generation/")
        .and_then(|l| l.strip_suffix(" created"))
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let following = ann.spawn(&["logs", "-f", &long, "-o", "json"], "");
    wait_until("it runs", || {
        ann.run(&["get", &long, "-o", "json"]).json()["status"]["phase"] == "Running"
    });
    // Ctrl-C stops following, not the generation.
    let mut interrupted = ann.spawn(&["logs", "-f", &long], "");
    let mut line = String::new();
    BufReader::new(interrupted.0.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let pid = interrupted.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stopped = interrupted.finish(DEADLINE);
    assert_eq!(stopped.code, 130, "{stopped:#?}");
    assert!(
        stopped
            .stderr
            .contains(&format!("stopped following {long}; it goes on")),
        "{stopped:#?}"
    );
    assert_eq!(
        ann.run(&["cancel", &long]).ok().stdout.trim(),
        format!("generation/{long} cancel requested")
    );
    let waited = waiting.finish(DEADLINE);
    assert_eq!(waited.code, 6, "{waited:#?}");
    assert!(
        waited.stdout.contains(&format!("{long} was cancelled")),
        "{waited:#?}"
    );
    let followed = following.finish(DEADLINE);
    assert_eq!(followed.code, 6, "{followed:#?}");
    for line in followed.stdout.lines() {
        let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(event["attempt"], 1);
    }

    // Deleted while followed: exit 3.
    let doomed = created(&ann.run(&["new", "Another long one simulate:seconds=120"]).ok());
    let following = ann.spawn(&["logs", "-f", &doomed], "");
    wait_until("it runs", || {
        ann.run(&["get", &doomed, "-o", "json"]).json()["status"]["phase"] == "Running"
    });
    ann.run(&["delete", &doomed]).ok();
    let followed = following.finish(DEADLINE);
    assert_eq!(followed.code, 3, "{followed:#?}");
    assert!(followed.stdout.contains("was deleted"), "{followed:#?}");
}

#[test]
fn logs_follow_resumes_across_a_restart_of_serve_without_losing_or_repeating_a_line() {
    let mut server = simulated("1");
    let ann = User::beside(&server);
    let name = created(&ann.run(&["new", "A resumed one simulate:seconds=6"]).ok());
    let mut following = ann.spawn(&["logs", "-f", &name, "-o", "json"], "");
    let mut first = String::new();
    BufReader::new(following.0.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    server.restart();
    let followed = following.finish(DEADLINE);
    assert_eq!(followed.code, 0, "{followed:#?}\n{}", server.log());
    let mut seen: Vec<(u64, u64)> = std::iter::once(first.as_str())
        .chain(followed.stdout.lines())
        .map(|l| {
            let event: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            (event["attempt"].as_u64().unwrap(), event["seq"].as_u64().unwrap())
        })
        .collect();
    let in_order = seen.clone();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen, in_order, "every line once, in order");
    assert!(
        seen.last().unwrap().0 >= 2,
        "the task lost with the restart ran again: {seen:?}"
    );
}

#[test]
fn without_a_server_or_a_valid_token_the_verbs_say_what_to_do() {
    let mut server = simulated("1");
    let nowhere = User::new();
    nowhere
        .run(&["get"])
        .fails(5, "no appgen server to talk to")
        .fails(5, "appgen login --server URL");

    let beside = User::beside(&server);
    beside.run(&["get"]).ok();
    let wrong = User::beside(&server).with("APPGEN_TOKEN", "wrong-token");
    wrong
        .run(&["get"])
        .fails(4, "did not accept the token from --token or APPGEN_TOKEN")
        .fails(4, "run `appgen login --server https://");

    let url = format!("http://{}", server.address);
    let no_token = User::new().with("APPGEN_SERVER", &url);
    no_token.run(&["get"]).fails(
        4,
        &format!("no token for {url}: run `appgen login --server {url}`"),
    );

    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    User::new()
        .with("APPGEN_SERVER", &dead)
        .with("APPGEN_TOKEN", &server.token)
        .run(&["get"])
        .fails(5, &format!("cannot reach {dead}"))
        .fails(5, "Connection refused");

    server.kill9();
    beside
        .run(&["new", "A todo list"])
        .fails(5, "is `appgen serve` running there?");
}

#[test]
fn login_saves_a_personal_token_that_the_verbs_then_use() {
    let server = simulated("1");
    Rest::sign_up(&server.address, "root");
    Rest::sign_up(&server.address, "ann");
    let url = format!("http://{}", server.address);
    let ann = User::new();

    ann.run_with_input(&["login", "--server", &url], "ann\nnot the password\n")
        .fails(4, "wrong username or password");
    assert!(!ann.config().exists());

    let login = ann
        .run_with_input(&["login", "--server", &url], &format!("ann\n{PASSWORD}\n"))
        .ok();
    assert!(
        login
            .stdout
            .contains(&format!("Logged in to {url} as ann (namespace appgen-ann)")),
        "{login:#?}"
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&ann.config()), 0o600);
    assert_eq!(mode(ann.config().parent().unwrap()), 0o700);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(ann.config()).unwrap()).unwrap();
    assert_eq!(saved["server"], url.as_str());
    assert!(
        saved["token"].as_str().unwrap().starts_with("appgen_pat_"),
        "{saved}"
    );
    let tokens = Rest::sign_in(&server.address, "ann").get("/api/v1/tokens").json();
    assert!(
        tokens["items"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("appgen CLI on "),
        "{tokens}"
    );

    // At a keyboard the password is asked for without echo.
    Rest::sign_up(&server.address, "bob");
    let bob = User::new();
    let screen = bob.at_keyboard(
        &["login", "--server", &url],
        &[("Username:", "bob"), ("Password:", PASSWORD)],
    );
    assert!(screen.contains("Username: bob\nPassword:\n"), "{screen}");
    assert!(
        screen.contains("Logged in to") && screen.contains("exit 0"),
        "{screen}"
    );
    assert!(!screen.contains(PASSWORD), "{screen}");

    // With no data directory around, the saved login is what the verbs use.
    let mine = created(&ann.run(&["new", "A recipe box"]).ok());
    let view = ann.run(&["get", &mine, "-o", "json"]).ok().json();
    assert_eq!(view["namespace"], "appgen-ann");

    // A token that does not work is not saved; the environment overrides what is.
    ann.run(&["login", "--server", &url, "--token", "appgen_pat_wrong"])
        .fails(4, "did not accept the token given to `appgen login`");
    let still: Value = serde_json::from_str(&std::fs::read_to_string(ann.config()).unwrap()).unwrap();
    assert_eq!(still, saved);
    let overridden = User {
        env: vec![("APPGEN_TOKEN".into(), "wrong".into())],
        ..ann
    };
    overridden
        .run(&["get"])
        .fails(4, "the token from --token or APPGEN_TOKEN");

    // Administrators reach every namespace by `namespace/name`; users only their own.
    let admin = User::beside(&server);
    let theirs = created(&admin.run(&["new", "The admin's app"]).ok());
    admin.run(&["get", &format!("appgen-ann/{mine}")]).ok();
    let all = admin.run(&["get", "-A"]).ok().stdout;
    assert!(all.starts_with("NAMESPACE "), "{all}");
    assert!(all.contains("appgen-ann ") && all.contains("default "), "{all}");
    User::new()
        .with("APPGEN_SERVER", &url)
        .with("APPGEN_TOKEN", saved["token"].as_str().unwrap())
        .run(&["get", &format!("default/{theirs}")])
        .fails(3, "not found");

    // https works too: the CLI trusts the CA of the serve whose data directory it is given.
    let https = format!("https://{}", server.address);
    let admin_login = User::new()
        .run(&[
            "login",
            "--server",
            &https,
            "--token",
            &server.token,
            "--data-dir",
            server.data_dir().to_str().unwrap(),
        ])
        .ok();
    assert!(
        admin_login
            .stdout
            .contains("as the admin token (namespace default)"),
        "{admin_login:#?}"
    );
}

#[test]
fn a_terminal_gets_a_live_progress_line_and_colours_unless_no_color() {
    let server = simulated("1");
    let ann = User::beside(&server);

    let made = ann
        .in_terminal(&["new", "A recipe box simulate:seconds=3", "--wait"])
        .ok();
    let name = created(&made);
    // The progress line is redrawn in place with a spinner and the current step, then cleared.
    assert!(made.stdout.contains("\r\x1b[2K"), "{made:#?}");
    assert!(
        made.stdout.contains(&format!(" {name}  Running · verify/")),
        "{made:#?}"
    );
    assert!(made.stdout.contains("\x1b[36m⠙\x1b[0m"), "a spinner: {made:#?}");
    assert!(
        made.stdout
            .contains(&format!("\x1b[32m✓ {name} delivered\x1b[0m")),
        "{made:#?}"
    );

    let table = ann.in_terminal(&["get"]).ok().stdout;
    assert!(table.contains("\x1b[32mDelivered\x1b[0m"), "{table:?}");
    let logs = ann.in_terminal(&["logs", &name]).ok().stdout;
    assert!(logs.contains("\x1b[1m▸ prepare\x1b[0m"), "{logs:?}");

    let plain = User::beside(&server).with("NO_COLOR", "1");
    let table = plain.in_terminal(&["get"]).ok().stdout;
    assert!(!table.contains('\x1b'), "{table:?}");
    assert!(table.contains("Delivered"), "{table:?}");
    let made = plain
        .in_terminal(&["new", "A second box simulate:seconds=2", "--wait"])
        .ok();
    assert!(made.stdout.contains("\r\x1b[2K"), "still live: {made:#?}");
    assert!(!made.stdout.contains("\x1b[3"), "no colours: {made:#?}");

    // An error on a terminal is red, and the exit code survives.
    let missing = ann.in_terminal(&["describe", "nope"]);
    assert_eq!(missing.code, 3, "{missing:#?}");
    assert!(
        missing.stdout.contains("\x1b[31mappgen: error:\x1b[0m"),
        "{missing:#?}"
    );
}

#[test]
fn open_prints_the_live_url_and_opens_a_configured_browser() {
    let server = Server::start();
    let admin = Rest::bearer(&server.address, &server.token);
    let name = admin.create("A todo list")["name"].as_str().unwrap().to_owned();
    let url = "http://127.0.0.1:9/apps/todo/";
    let patch = format!(r#"{{"status":{{"phase":"Delivered","outputs":{{"url":"{url}"}}}}}}"#);
    common::ok(server.kubectl(&[
        "patch",
        "gen",
        &name,
        "--subresource=status",
        "--type=merge",
        "-p",
        &patch,
    ]));
    let user = User::beside(&server);
    wait_until("the API sees the URL", || {
        user.run(&["get", &name, "-o", "json"]).json()["status"]["outputs"]["url"] == url
    });

    // No browser configured: the URL, and success.
    assert_eq!(user.run(&["open", &name]).ok().stdout.trim(), url);

    let opened = user.dir().join("opened");
    let browser = user.dir().join("browser");
    std::fs::write(
        &browser,
        format!("#!/bin/sh\necho \"$@\" > {}\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let with_browser =
        User::beside(&server).with("BROWSER", &format!("{} --new-window %s", browser.display()));
    assert_eq!(with_browser.run(&["open", &name]).ok().stdout.trim(), url);
    wait_until("the browser ran", || {
        std::fs::read_to_string(&opened).is_ok_and(|s| s.trim() == format!("--new-window {url}"))
    });

    let broken = User::beside(&server).with("BROWSER", "/nonexistent/browser");
    let run = broken.run(&["open", &name]).ok();
    assert_eq!(run.stdout.trim(), url);
    assert!(run.stderr.contains("could not start the browser"), "{run:#?}");
}

#[test]
fn every_verb_has_help_with_an_example_and_shells_get_completions() {
    let user = User::new();
    let help = user.run(&["--help"]).ok().stdout;
    for line in [
        "  0    done",
        "  3    not found",
        "  4    not authorized",
        "  5    the server is unreachable",
        "  6    the generation was cancelled",
        "  8    a download did not match its sha256",
    ] {
        assert!(help.contains(line), "{line:?} in {help}");
    }
    for verb in [
        "new",
        "get",
        "describe",
        "logs",
        "download",
        "open",
        "cancel",
        "retry",
        "delete",
        "apps",
        "login",
        "completions",
    ] {
        let help = user.run(&[verb, "--help"]).ok().stdout;
        assert!(
            help.contains(&format!("Example: appgen {verb}")),
            "{verb}: {help}"
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let script = user.run(&["completions", shell]).ok().stdout;
        for verb in ["download", "logs", "since-seq"] {
            assert!(script.contains(verb), "{shell} {verb}");
        }
    }
    user.run(&["completions", "tcsh"]).fails(2, "invalid value");
}

#[test]
fn download_checks_the_archive_and_refuses_a_corrupt_one() {
    let store = pnpm_store().display().to_string();
    let server = Server::start_with_controller(&["--pnpm-store", &store]);
    let ann = User::beside(&server);

    let made = ann
        .spawn(
            &[
                "new",
                "A todo list with due dates",
                "--agent",
                "scaffold",
                "--wait",
            ],
            "",
        )
        .finish(Duration::from_secs(600));
    assert_eq!(made.code, 0, "{made:#?}\n{}", server.log());
    let name = created(&made);
    let view = ann.run(&["get", &name, "-o", "json"]).ok().json();
    let sha256 = view["status"]["outputs"]["sha256"].as_str().unwrap().to_owned();
    let app = view["spec"]["app"].as_str().unwrap().to_owned();

    std::fs::create_dir(ann.dir().join("out")).unwrap();
    let saved = ann.run(&["download", &name, "-o", "out"]).ok();
    let file = ann.dir().join("out").join(format!("{name}.tar.gz"));
    assert!(saved.stdout.contains("sha256 verified"), "{saved:#?}");
    let sum = Command::new("sha256sum").arg(&file).output().unwrap();
    assert!(String::from_utf8_lossy(&sum.stdout).starts_with(&sha256));

    let unpacked = ann.run(&["download", &name, "--extract", "-o", "src"]).ok();
    assert!(unpacked.stdout.contains(&format!("src/{app}")), "{unpacked:#?}");
    assert!(ann.dir().join("src").join(&app).join("package.json").is_file());
    ann.run(&["download", &name, "--extract", "-o", "src"])
        .fails(2, "already exists");

    // Damage the stored archive: the download is refused and nothing is written.
    let archive = server
        .data_dir()
        .join("artifacts/generations/default")
        .join(&name)
        .join(view["uid"].as_str().unwrap())
        .join("app.tar.gz");
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&archive, &bytes).unwrap();
    ann.run(&["download", &name, "-o", "damaged.tar.gz"])
        .fails(8, "does not match its sha256");
    assert!(!ann.dir().join("damaged.tar.gz").exists());
    ann.run(&["download", &name, "--extract", "-o", "again"])
        .fails(8, "does not match its sha256");
    assert!(!ann.dir().join("again").join(&app).exists());
}
