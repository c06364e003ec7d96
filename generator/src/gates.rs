//! The verification gates every app passes before it is called delivered (DESIGN.md, "Generator
//! pipeline"): install, typecheck, build, test, boot, smoke, in that order. The commands are
//! planned as data; [`run`] executes them and stops at the first failure.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use appgen_crd::task::TaskEventType;
use appgen_crd::{Gate, GateResult};
use serde_json::json;

use crate::command::{self, CommandSpec, Outcome, Running};
use crate::events::EventLog;

/// The smoke gate's own dependencies and script, installed beside the app, never into it.
const SMOKE_PACKAGE: &str = include_str!("../assets/smoke/package.json");
const SMOKE_LOCK: &str = include_str!("../assets/smoke/pnpm-lock.yaml");
const SMOKE_SCRIPT: &str = include_str!("../assets/smoke/smoke.mjs");

/// How long the server may take to answer `/api/health`.
const BOOT_WITHIN: Duration = Duration::from_secs(15);
/// Characters of a failing gate's output kept in its message.
const MESSAGE_TAIL_CHARS: usize = 2_000;

/// Where the gates find their tools.
#[derive(Debug, Clone)]
pub struct Tools {
    /// `PATH` for every command; node and pnpm are looked up on it.
    pub path: String,
    pub chromium: PathBuf,
    /// pnpm's content-addressed store, shared between tasks so a warm store installs offline.
    pub pnpm_store: Option<PathBuf>,
}

/// What the gates work on.
#[derive(Debug)]
pub struct Target<'a> {
    pub app_dir: &'a Path,
    /// A scratch directory outside the app: smoke tools, the booted server's data.
    pub scratch: &'a Path,
    /// Texts the home page must show, e.g. each entity's name.
    pub expected_texts: &'a [String],
    /// Where the smoke gate saves its screenshot.
    pub screenshot: &'a Path,
}

/// A gate that did not pass: which one, and what it said.
#[derive(Debug, Clone)]
pub struct Failure {
    pub gate: Gate,
    pub message: String,
}

/// The commands that install `dir`'s dependencies: from the store alone first, which succeeds
/// offline once the store is warm; then allowing the registry for anything missing.
pub fn install_commands(pnpm_store: Option<&Path>) -> [CommandSpec; 2] {
    let install = |mode: &str| {
        let mut args = vec!["install", "--frozen-lockfile", mode, "--reporter=append-only"];
        let store = pnpm_store.map(|s| s.display().to_string());
        if let Some(store) = &store {
            args.push("--store-dir");
            args.push(store);
        }
        CommandSpec::new("pnpm", &args, Duration::from_secs(600))
    };
    [install("--offline"), install("--prefer-offline")]
}

/// The command behind a gate that is one of the app's own `package.json` scripts.
pub fn script_command(gate: Gate) -> Option<CommandSpec> {
    match gate {
        Gate::Typecheck => Some(app_script("typecheck", 180)),
        Gate::Build => Some(build_command()),
        Gate::Test => Some(app_script("test", 300)),
        Gate::Install | Gate::Boot | Gate::Smoke => None,
    }
}

/// The app's own `build` script, which leaves the client and the server in `dist/`.
pub fn build_command() -> CommandSpec {
    app_script("build", 180)
}

fn app_script(script: &str, timeout_seconds: u64) -> CommandSpec {
    CommandSpec::new(
        "pnpm",
        &["run", "--silent", script],
        Duration::from_secs(timeout_seconds),
    )
}

/// Runs every gate in order and returns their results; stops at the first that fails, whose
/// result is the last one returned.
pub async fn run(
    tools: &Tools,
    target: &Target<'_>,
    log: &mut EventLog,
) -> (Vec<GateResult>, Option<Failure>) {
    let env = command::base_env(&tools.path, target.scratch);
    let mut results = Vec::new();
    let mut server: Option<(Running, u16)> = None;
    for gate in Gate::ALL {
        let name = gate.as_str();
        log.phase(&format!("verify/{name}"), json!({ "state": "started" }))
            .await;
        let started = Instant::now();
        let outcome = match gate {
            Gate::Install => install(tools, target, &env).await,
            Gate::Boot => boot(target, &env).await.map(|started| {
                server = Some(started);
                "answered /api/health".to_owned()
            }),
            Gate::Smoke => match server.take() {
                Some((running, port)) => {
                    let result = smoke(tools, target, &env, port).await;
                    drop(running);
                    result
                }
                None => Err("the server is not running".to_owned()),
            },
            other => match script_command(other) {
                Some(spec) => checked(&spec, command::run(&spec, target.app_dir, &env).await),
                None => Err("no command for this gate".to_owned()),
            },
        };
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (passed, message) = match &outcome {
            Ok(message) => (true, message.clone()),
            Err(message) => (false, tail_chars(message, MESSAGE_TAIL_CHARS)),
        };
        log.emit(
            TaskEventType::Gate,
            json!({ "gate": name, "passed": passed, "durationMs": duration_ms, "message": message }),
        )
        .await;
        log.phase(
            &format!("verify/{name}"),
            json!({ "state": "finished", "durationMs": duration_ms }),
        )
        .await;
        results.push(GateResult {
            gate,
            passed,
            duration_ms,
            message: Some(log.redact_str(&message)),
        });
        if !passed {
            return (
                results,
                Some(Failure {
                    gate,
                    message: log.redact_str(&message),
                }),
            );
        }
    }
    (results, None)
}

/// Installs the app's dependencies, then the smoke gate's, both from the shared store.
async fn install(tools: &Tools, target: &Target<'_>, env: &[(String, String)]) -> Result<String, String> {
    let store = tools.pnpm_store.as_deref();
    let app = install_in(store, target.app_dir, env).await?;
    let smoke_dir = smoke_dir(target);
    write_smoke_tools(&smoke_dir).map_err(|e| {
        format!(
            "could not lay out the smoke tools in {}: {e}",
            smoke_dir.display()
        )
    })?;
    install_in(store, &smoke_dir, env).await?;
    Ok(app)
}

/// Installs `dir`'s dependencies from the store, going to the registry only for what it lacks.
pub(crate) async fn install_in(
    pnpm_store: Option<&Path>,
    dir: &Path,
    env: &[(String, String)],
) -> Result<String, String> {
    let [offline, online] = install_commands(pnpm_store);
    let first = command::run(&offline, dir, env).await;
    if first.succeeded() {
        return Ok("installed offline from the store".to_owned());
    }
    checked(&online, command::run(&online, dir, env).await)
        .map(|_| "installed (the store was missing packages; fetched them)".to_owned())
}

fn smoke_dir(target: &Target<'_>) -> PathBuf {
    target.scratch.join("smoke")
}

fn write_smoke_tools(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, contents) in [
        ("package.json", SMOKE_PACKAGE),
        ("pnpm-lock.yaml", SMOKE_LOCK),
        ("smoke.mjs", SMOKE_SCRIPT),
    ] {
        std::fs::write(dir.join(name), contents)?;
    }
    Ok(())
}

/// How a built app is started, the way its README says (`pnpm start`): serving on `port` of the
/// loopback interface and keeping its records in `data_dir`. The boot gate and the live preview
/// both start apps this way.
pub fn start_command(port: u16, data_dir: &Path) -> CommandSpec {
    CommandSpec::new("pnpm", &["run", "--silent", "start"], BOOT_WITHIN)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("NODE_ENV", "production")
        .env("DATA_DIR", data_dir.display().to_string())
}

/// Starts the built app on a free loopback port and waits for `/api/health` to answer 200.
async fn boot(target: &Target<'_>, env: &[(String, String)]) -> Result<(Running, u16), String> {
    let port = free_port().map_err(|e| format!("could not find a free loopback port: {e}"))?;
    let data = target.scratch.join("boot-data");
    std::fs::create_dir_all(&data).map_err(|e| format!("could not create {}: {e}", data.display()))?;
    let spec = start_command(port, &data);
    let mut running = Running::start(&spec, target.app_dir, env)
        .map_err(|e| format!("could not start `{}`: {e}", spec.display()))?;
    let deadline = Instant::now() + BOOT_WITHIN;
    while Instant::now() < deadline {
        if health_ok(port).await {
            return Ok((running, port));
        }
        if running.has_ended() {
            return Err(format!(
                "the server exited before answering /api/health:\n{}",
                running.tail()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "the server did not answer /api/health on 127.0.0.1:{port} within {}s:\n{}",
        BOOT_WITHIN.as_secs(),
        running.tail()
    ))
}

/// Loads the running app in headless Chromium: no console errors, every expected text visible.
async fn smoke(
    tools: &Tools,
    target: &Target<'_>,
    env: &[(String, String)],
    port: u16,
) -> Result<String, String> {
    let expected = serde_json::to_string(target.expected_texts).map_err(|e| e.to_string())?;
    let spec = CommandSpec::new(
        "node",
        &[
            "smoke.mjs",
            &tools.chromium.display().to_string(),
            &format!("http://127.0.0.1:{port}/"),
            &target.screenshot.display().to_string(),
            &expected,
        ],
        Duration::from_secs(90),
    );
    let outcome = command::run(&spec, &smoke_dir(target), env).await;
    if !outcome.succeeded() {
        return Err(failure_text(&spec, &outcome));
    }
    let report = outcome
        .tail
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<SmokeReport>(line).ok())
        .ok_or_else(|| format!("the smoke script printed no report:\n{}", outcome.tail))?;
    judge_smoke(&report, target.expected_texts)
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SmokeReport {
    console_errors: Vec<String>,
    missing: Vec<String>,
}

/// The smoke gate's verdict on what the browser saw.
fn judge_smoke(report: &SmokeReport, expected: &[String]) -> Result<String, String> {
    let mut problems = Vec::new();
    if !report.console_errors.is_empty() {
        problems.push(format!(
            "the page logged {} console error(s):\n  {}",
            report.console_errors.len(),
            report.console_errors.join("\n  ")
        ));
    }
    if !report.missing.is_empty() {
        problems.push(format!(
            "the home page does not show: {}",
            report.missing.join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(format!(
            "rendered with no console errors; showed {}",
            expected.join(", ")
        ))
    } else {
        Err(problems.join("\n"))
    }
}

pub(crate) fn checked(spec: &CommandSpec, outcome: Outcome) -> Result<String, String> {
    if outcome.succeeded() {
        Ok(format!("`{}` passed", spec.display()))
    } else {
        Err(failure_text(spec, &outcome))
    }
}

fn failure_text(spec: &CommandSpec, outcome: &Outcome) -> String {
    format!("{}:\n{}", outcome.describe(spec), outcome.tail.trim_end())
}

/// The last `max` characters, so a message ends with what the command said last.
fn tail_chars(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_owned();
    }
    let skipped: String = text.chars().skip(count - max).collect();
    format!("…{skipped}")
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether `GET /api/health` on the port answers 200; a plain HTTP/1.1 exchange is all it takes.
async fn health_ok(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        // The status line's first 12 bytes: `HTTP/1.1 200`.
        Some(head.starts_with(b"HTTP/1.") && head.ends_with(b" 200"))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Some(true))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_tries_the_store_alone_before_the_registry() {
        let [first, second] = install_commands(Some(Path::new("/data/pnpm-store")));
        assert_eq!(
            first.display(),
            "pnpm install --frozen-lockfile --offline --reporter=append-only --store-dir /data/pnpm-store"
        );
        assert!(second.args.contains(&"--prefer-offline".to_owned()));
        let [no_store, _] = install_commands(None);
        assert!(!no_store.args.contains(&"--store-dir".to_owned()));
    }

    #[test]
    fn the_scripted_gates_run_the_apps_own_scripts() {
        let names: Vec<_> = [Gate::Typecheck, Gate::Build, Gate::Test]
            .into_iter()
            .filter_map(script_command)
            .map(|spec| spec.display())
            .collect();
        assert_eq!(
            names,
            [
                "pnpm run --silent typecheck",
                "pnpm run --silent build",
                "pnpm run --silent test"
            ]
        );
        assert!(script_command(Gate::Boot).is_none());
    }

    #[test]
    fn smoke_passes_only_without_console_errors_and_with_every_text() {
        let expected = vec!["Tasks".to_owned()];
        let clean = SmokeReport {
            console_errors: vec![],
            missing: vec![],
        };
        assert!(judge_smoke(&clean, &expected).is_ok());
        let noisy = SmokeReport {
            console_errors: vec!["boom".to_owned()],
            missing: vec![],
        };
        assert!(judge_smoke(&noisy, &expected).unwrap_err().contains("boom"));
        let blank = SmokeReport {
            console_errors: vec![],
            missing: vec!["Tasks".to_owned()],
        };
        assert!(
            judge_smoke(&blank, &expected)
                .unwrap_err()
                .contains("does not show: Tasks")
        );
    }

    #[test]
    fn long_messages_keep_their_end() {
        let text = format!("{}the real error", "x".repeat(5_000));
        let tail = tail_chars(&text, 100);
        assert!(tail.ends_with("the real error"));
        assert_eq!(tail.chars().count(), 101);
    }
}
