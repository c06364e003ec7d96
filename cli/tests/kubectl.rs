//! Real kubectl against a real `appgen serve`: what a kubectl user sees when they apply, get,
//! watch, patch, wait for, describe, explain and delete Generations, and when the server rejects
//! a manifest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Server, ok, stderr, stdout};

const TODO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/todo.yaml");
const CRM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/crm.yaml");

/// The longest any single kubectl command may take before the test fails instead of hanging.
const KUBECTL_DEADLINE: Duration = Duration::from_secs(40);

/// A child process that is killed when dropped, so a failing assertion never leaves it behind.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kubectl_command(server: &Server, args: &[&str]) -> Command {
    let mut command = Command::new(common::kubectl());
    command.arg("--kubeconfig").arg(&server.kubeconfig).args(args);
    command
}

/// Runs kubectl with `input` on stdin; kills it and fails the test if it outlives the deadline.
fn run(server: &Server, args: &[&str], input: &str) -> Output {
    let mut child = Background(
        kubectl_command(server, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl"),
    );
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = pipe.read_to_end(&mut out);
            out
        })
    };
    let out = drain(Box::new(child.0.stdout.take().unwrap()));
    let err = drain(Box::new(child.0.stderr.take().unwrap()));
    let mut stdin = child.0.stdin.take().unwrap();
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let deadline = Instant::now() + KUBECTL_DEADLINE;
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "kubectl {args:?} did not finish in {KUBECTL_DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// kubectl with the given arguments, under a deadline.
fn kubectl(server: &Server, args: &[&str]) -> Output {
    run(server, args, "")
}

/// kubectl that must succeed; returns its stdout.
#[track_caller]
fn kubectl_ok(server: &Server, args: &[&str]) -> String {
    ok(kubectl(server, args))
}

/// kubectl that must fail; returns its stderr.
#[track_caller]
fn kubectl_fails(server: &Server, args: &[&str]) -> String {
    let output = kubectl(server, args);
    assert!(
        !output.status.success(),
        "kubectl {args:?} should fail, printed:\n{}",
        stdout(&output)
    );
    stderr(&output)
}

/// `kubectl get gen <name> -o jsonpath=<path>`.
fn jsonpath(server: &Server, name: &str, path: &str) -> String {
    kubectl_ok(server, &["get", "gen", name, "-o", &format!("jsonpath={path}")])
}

/// The names `kubectl get gen -o name` prints for the extra arguments, sorted.
fn names(server: &Server, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["get", "gen", "-o", "name"];
    args.extend_from_slice(extra);
    let mut names: Vec<String> = kubectl_ok(server, &args).lines().map(str::to_owned).collect();
    names.sort();
    names
}

fn gens(list: &[&str]) -> Vec<String> {
    list.iter()
        .map(|n| format!("generation.appgen.dev/{n}"))
        .collect()
}

fn status_patch(server: &Server, name: &str, patch: &str) {
    kubectl_ok(
        server,
        &[
            "patch",
            "gen",
            name,
            "--subresource=status",
            "--type",
            "merge",
            "-p",
            patch,
        ],
    );
}

/// A Generation manifest with the given name and `spec` body (indented by four spaces).
fn generation(name: &str, spec: &str) -> String {
    format!("apiVersion: appgen.dev/v1alpha1\nkind: Generation\nmetadata:\n  name: {name}\nspec:\n{spec}\n")
}

/// Streams a child's stdout line by line so a test can wait for a line with a deadline.
struct Lines {
    _child: Background,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    fn spawn(server: &Server, args: &[&str]) -> Lines {
        let mut child = Background(
            kubectl_command(server, args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("run kubectl"),
        );
        let stdout = child.0.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            _child: child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits up to 20 s for a line satisfying `wanted`, returns it.
    #[track_caller]
    fn expect(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {what}; saw:\n{}", self.seen.join("\n")),
            }
        }
    }
}

#[test]
fn apply_creates_then_reports_unchanged_then_configured() {
    let server = Server::start();
    assert_eq!(
        kubectl_ok(&server, &["apply", "-f", TODO]).trim(),
        "generation.appgen.dev/todo created"
    );
    assert_eq!(
        kubectl_ok(&server, &["apply", "-f", TODO]).trim(),
        "generation.appgen.dev/todo unchanged"
    );

    let modified = server.data_dir().join("todo-modified.yaml");
    let original = std::fs::read_to_string(TODO).unwrap();
    assert!(original.contains("retries: 1"));
    std::fs::write(&modified, original.replace("retries: 1", "retries: 3")).unwrap();
    assert_eq!(
        kubectl_ok(&server, &["apply", "-f", modified.to_str().unwrap()]).trim(),
        "generation.appgen.dev/todo configured"
    );
    assert_eq!(
        jsonpath(&server, "todo", "{.spec.retries} {.metadata.generation}"),
        "3 2"
    );
    let applied = jsonpath(
        &server,
        "todo",
        "{.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}",
    );
    assert!(applied.contains(r#""retries":3"#), "{applied}");
    assert_eq!(
        jsonpath(&server, "todo", "{.metadata.managedFields[*].manager}"),
        "kubectl-client-side-apply"
    );
}

#[test]
fn server_side_apply_reports_serverside_applied_and_records_managed_fields() {
    let server = Server::start();
    assert_eq!(
        kubectl_ok(&server, &["apply", "--server-side", "-f", CRM]).trim(),
        "generation.appgen.dev/crm serverside-applied"
    );
    assert_eq!(
        kubectl_ok(&server, &["apply", "--server-side", "-f", CRM]).trim(),
        "generation.appgen.dev/crm serverside-applied"
    );
    assert_eq!(
        jsonpath(&server, "crm", "{.metadata.generation}"),
        "1",
        "re-applying the same manifest is a no-op"
    );
    assert_eq!(
        jsonpath(
            &server,
            "crm",
            "{.metadata.managedFields[*].manager}/{.metadata.managedFields[*].operation}"
        ),
        "kubectl/Apply"
    );
    let fields: serde_json::Value =
        serde_json::from_str(&jsonpath(&server, "crm", "{.metadata.managedFields[0].fieldsV1}")).unwrap();
    for owned in ["f:prompt", "f:app", "f:blueprint", "f:timeoutSeconds"] {
        assert!(
            fields["f:spec"].get(owned).is_some(),
            "{owned} is owned by the applier: {fields}"
        );
    }
    assert!(
        fields["f:metadata"]["f:labels"]
            .get("f:appgen.dev/example")
            .is_some(),
        "{fields}"
    );

    let yaml = kubectl_ok(&server, &["get", "gen", "crm", "-o", "yaml"]);
    assert!(
        !yaml.contains("managedFields"),
        "kubectl hides managedFields by default:\n{yaml}"
    );
    let yaml = kubectl_ok(
        &server,
        &["get", "gen", "crm", "-o", "yaml", "--show-managed-fields"],
    );
    assert!(
        yaml.contains("managedFields:") && yaml.contains("manager: kubectl"),
        "{yaml}"
    );
    assert!(
        yaml.contains("operation: Apply") && yaml.contains("fieldsType: FieldsV1"),
        "{yaml}"
    );

    // A different value for a field another manager owns is a conflict until forced.
    let changed = server.data_dir().join("crm-changed.yaml");
    std::fs::write(
        &changed,
        std::fs::read_to_string(CRM).unwrap().replace("1800", "1200"),
    )
    .unwrap();
    let err = kubectl_fails(
        &server,
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "other",
            "-f",
            changed.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("conflict") && err.contains(".spec.timeoutSeconds"),
        "{err}"
    );
    kubectl_ok(
        &server,
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "other",
            "--force-conflicts",
            "-f",
            changed.to_str().unwrap(),
        ],
    );
    assert_eq!(
        jsonpath(&server, "crm", "{.spec.timeoutSeconds} {.metadata.generation}"),
        "1200 2"
    );
}

#[test]
fn schema_defaults_are_filled_in_on_create() {
    let server = Server::start();
    kubectl_ok(&server, &["apply", "-f", TODO]);
    assert_eq!(
        jsonpath(&server, "todo", "{.spec.template}"),
        "react-vite-express"
    );
}

/// todo and crm from the examples, plus an unlabelled third, with todo's status set.
fn three_generations(server: &Server) {
    kubectl_ok(server, &["apply", "-f", TODO, "-f", CRM]);
    ok(run(
        server,
        &["create", "-f", "-"],
        &generation("plain", "  app: plain\n  prompt: Just a page."),
    ));
    status_patch(
        server,
        "todo",
        r#"{"status":{"phase":"Delivered","step":"deliver/done","outputs":{"url":"http://todo.localhost"},"usage":{"costUsd":0.42}}}"#,
    );
}

#[test]
fn get_shows_printer_columns_yaml_and_jsonpath() {
    let server = Server::start();
    three_generations(&server);

    let table = kubectl_ok(&server, &["get", "gen"]);
    let lines: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        lines[0],
        ["NAME", "APP", "PHASE", "STEP", "URL", "COST", "AGE"],
        "{table}"
    );
    let todo = lines
        .iter()
        .find(|l| l[0] == "todo")
        .unwrap_or_else(|| panic!("{table}"));
    assert_eq!(
        todo[..6],
        [
            "todo",
            "todo",
            "Delivered",
            "deliver/done",
            "http://todo.localhost",
            "0.42"
        ],
        "{table}"
    );
    assert!(
        todo[6].ends_with('s') || todo[6].ends_with('m'),
        "an age: {table}"
    );
    let crm = lines
        .iter()
        .find(|l| l[0] == "crm")
        .unwrap_or_else(|| panic!("{table}"));
    assert_eq!(
        crm.len(),
        3,
        "no status yet, so only NAME, APP and AGE have values: {table}"
    );

    let all = kubectl_ok(&server, &["get", "gen", "-A"]);
    let header: Vec<&str> = all.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAMESPACE", "NAME", "APP", "PHASE", "STEP", "URL", "COST", "AGE"],
        "{all}"
    );
    assert!(
        all.lines()
            .any(|l| l.starts_with("default") && l.contains(" todo ")),
        "{all}"
    );

    let yaml = kubectl_ok(&server, &["get", "gen", "todo", "-o", "yaml"]);
    for expected in [
        "apiVersion: appgen.dev/v1alpha1",
        "kind: Generation",
        "  name: todo",
        "  namespace: default",
        "    appgen.dev/example: todo",
        "  app: todo",
        "  timeoutSeconds: 900",
        "  phase: Delivered",
        "    url: http://todo.localhost",
        "  uid: ",
        "  resourceVersion: ",
        "  creationTimestamp: ",
    ] {
        assert!(
            yaml.lines().any(|l| l.starts_with(expected)),
            "no line starting {expected:?} in:\n{yaml}"
        );
    }

    assert_eq!(jsonpath(&server, "todo", "{.spec.app}"), "todo");
    assert_eq!(
        jsonpath(&server, "crm", "{.spec.blueprint.entities[*].name}"),
        "Client Project"
    );
    assert_eq!(
        kubectl_ok(
            &server,
            &["get", "gen", "-o", "jsonpath={.items[*].metadata.name}"]
        ),
        "crm plain todo"
    );
}

#[test]
fn get_filters_by_label_and_field_selectors() {
    let server = Server::start();
    three_generations(&server);
    let key = "appgen.dev/example";
    for (selector, expected) in [
        (format!("{key}=todo"), gens(&["todo"])),
        (format!("{key}==todo"), gens(&["todo"])),
        (format!("{key}!=todo"), gens(&["crm", "plain"])),
        (format!("{key} in (todo,crm)"), gens(&["crm", "todo"])),
        (format!("{key} notin (todo)"), gens(&["crm", "plain"])),
        (key.to_owned(), gens(&["crm", "todo"])),
        (format!("!{key}"), gens(&["plain"])),
        (format!("{key},{key}!=crm"), gens(&["todo"])),
        ("tier=gold".to_owned(), gens(&[])),
    ] {
        assert_eq!(names(&server, &["-l", &selector]), expected, "-l {selector:?}");
    }
    for (selector, expected) in [
        ("metadata.name=crm", gens(&["crm"])),
        ("metadata.name!=crm", gens(&["plain", "todo"])),
        ("metadata.namespace=default", gens(&["crm", "plain", "todo"])),
        ("spec.app=todo", gens(&["todo"])),
        ("spec.app!=todo", gens(&["crm", "plain"])),
        ("spec.app=todo,metadata.name=crm", gens(&[])),
    ] {
        assert_eq!(
            names(&server, &["--field-selector", selector]),
            expected,
            "--field-selector {selector:?}"
        );
    }
    let err = kubectl_fails(&server, &["get", "gen", "--field-selector", "spec.prompt=x"]);
    assert!(
        err.contains("BadRequest") && err.contains("field label not supported: spec.prompt"),
        "{err}"
    );
    let empty = kubectl(&server, &["get", "gen", "-l", "tier=gold"]);
    assert!(empty.status.success());
    assert!(
        stderr(&empty).contains("No resources found in default namespace."),
        "{}",
        stderr(&empty)
    );
}

#[test]
fn get_watch_prints_a_line_for_each_change_made_by_another_kubectl() {
    let server = Server::start();
    kubectl_ok(&server, &["apply", "-f", TODO]);
    let mut watch = Lines::spawn(&server, &["get", "gen", "-w"]);
    let header = watch.expect("the header", |l| l.starts_with("NAME"));
    assert!(
        header
            .split_whitespace()
            .eq(["NAME", "APP", "PHASE", "STEP", "URL", "COST", "AGE"]),
        "{header}"
    );
    watch.expect("the initial todo row", |l| l.starts_with("todo "));

    kubectl_ok(&server, &["label", "gen", "todo", "tier=gold"]);
    watch.expect("todo again after the label change", |l| l.starts_with("todo "));

    status_patch(
        &server,
        "todo",
        r#"{"status":{"phase":"Running","step":"agent/start"}}"#,
    );
    let line = watch.expect("the Running phase", |l| {
        l.starts_with("todo ") && l.contains("Running")
    });
    assert!(line.contains("agent/start"), "{line}");

    let mut events = Lines::spawn(&server, &["get", "gen", "todo", "-w", "--output-watch-events"]);
    events.expect("ADDED", |l| l.starts_with("ADDED") && l.contains("todo"));
    kubectl_ok(&server, &["annotate", "gen", "todo", "note=hello"]);
    events.expect("MODIFIED", |l| l.starts_with("MODIFIED") && l.contains("todo"));
    kubectl_ok(&server, &["delete", "gen", "todo"]);
    events.expect("DELETED", |l| l.starts_with("DELETED") && l.contains("todo"));
}

#[test]
fn label_annotate_and_patch_keep_spec_and_status_apart() {
    let server = Server::start();
    kubectl_ok(&server, &["apply", "-f", TODO]);
    let state = || {
        jsonpath(
            &server,
            "todo",
            "{.metadata.generation} {.spec.retries} {.status.phase}",
        )
    };
    assert_eq!(state(), "1 1 ");
    status_patch(&server, "todo", r#"{"status":{"phase":"Running"}}"#);
    assert_eq!(
        state(),
        "1 1 Running",
        "a status write does not bump the generation"
    );

    assert_eq!(
        kubectl_ok(&server, &["label", "gen", "todo", "tier=gold"]).trim(),
        "generation.appgen.dev/todo labeled"
    );
    assert_eq!(jsonpath(&server, "todo", "{.metadata.labels.tier}"), "gold");
    kubectl_ok(&server, &["label", "gen", "todo", "tier=silver", "--overwrite"]);
    assert_eq!(jsonpath(&server, "todo", "{.metadata.labels.tier}"), "silver");
    let err = kubectl_fails(&server, &["label", "gen", "todo", "tier=bronze"]);
    assert!(err.contains("already has a value (silver)"), "{err}");
    assert_eq!(
        kubectl_ok(&server, &["label", "gen", "todo", "tier-"]).trim(),
        "generation.appgen.dev/todo unlabeled"
    );
    assert_eq!(
        kubectl_ok(&server, &["annotate", "gen", "todo", "owner=ada"]).trim(),
        "generation.appgen.dev/todo annotated"
    );
    assert_eq!(jsonpath(&server, "todo", "{.metadata.annotations.owner}"), "ada");
    assert_eq!(
        state(),
        "1 1 Running",
        "metadata changes do not bump the generation"
    );

    let out = kubectl_ok(
        &server,
        &[
            "patch",
            "gen",
            "todo",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"retries":3},"status":{"phase":"Failed"}}"#,
        ],
    );
    assert_eq!(out.trim(), "generation.appgen.dev/todo patched");
    assert_eq!(
        state(),
        "2 3 Running",
        "a write to the main resource changes spec, never status"
    );

    kubectl_ok(
        &server,
        &[
            "patch",
            "gen",
            "todo",
            "--type",
            "json",
            "-p",
            r#"[{"op":"replace","path":"/spec/retries","value":4}]"#,
        ],
    );
    assert_eq!(state(), "3 4 Running");
    let out = kubectl_ok(
        &server,
        &[
            "patch",
            "gen",
            "todo",
            "--type",
            "json",
            "-p",
            r#"[{"op":"replace","path":"/status/phase","value":"Failed"}]"#,
        ],
    );
    assert_eq!(out.trim(), "generation.appgen.dev/todo patched (no change)");
    assert_eq!(state(), "3 4 Running");

    status_patch(
        &server,
        "todo",
        r#"{"spec":{"retries":9},"status":{"phase":"Delivered"}}"#,
    );
    assert_eq!(
        state(),
        "3 4 Delivered",
        "a status write changes status, never spec"
    );

    let err = kubectl_fails(
        &server,
        &[
            "patch",
            "gen",
            "todo",
            "--type",
            "json",
            "-p",
            r#"[{"op":"replace","path":"/spec/nothing","value":1}]"#,
        ],
    );
    assert!(err.contains("nothing"), "{err}");
    assert_eq!(state(), "3 4 Delivered");

    // Patches are validated against the schema like creates, on both the resource and its status.
    let err = kubectl_fails(
        &server,
        &[
            "patch",
            "gen",
            "todo",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"retries":11}}"#,
        ],
    );
    assert!(
        err.contains("The Generation \"todo\" is invalid: spec.retries: Invalid value: 11: "),
        "{err}"
    );
    let err = kubectl_fails(
        &server,
        &[
            "patch",
            "gen",
            "todo",
            "--subresource=status",
            "--type",
            "merge",
            "-p",
            r#"{"status":{"phase":"Bogus"}}"#,
        ],
    );
    assert!(
        err.contains("status.phase: Unsupported value: \"Bogus\""),
        "{err}"
    );
    assert_eq!(state(), "3 4 Delivered");
}

#[test]
fn wait_for_condition_and_jsonpath_return_once_status_says_so() {
    let server = Server::start();
    kubectl_ok(&server, &["apply", "-f", TODO]);

    let wait = |condition: &str| {
        let server_kubeconfig = server.kubeconfig.clone();
        let condition = condition.to_owned();
        std::thread::spawn(move || {
            let mut child = Background(
                Command::new(common::kubectl())
                    .arg("--kubeconfig")
                    .arg(server_kubeconfig)
                    .args(["wait", &condition, "gen/todo", "--timeout=30s"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap(),
            );
            let deadline = Instant::now() + KUBECTL_DEADLINE;
            while child.0.try_wait().unwrap().is_none() {
                assert!(Instant::now() < deadline, "kubectl wait {condition} did not end");
                std::thread::sleep(Duration::from_millis(20));
            }
            let mut out = String::new();
            let mut err = String::new();
            child.0.stdout.take().unwrap().read_to_string(&mut out).unwrap();
            child.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            (child.0.try_wait().unwrap().unwrap().success(), out, err)
        })
    };

    let waiting = wait("--for=condition=Delivered");
    std::thread::sleep(Duration::from_millis(300));
    status_patch(
        &server,
        "todo",
        r#"{"status":{"conditions":[{"type":"Delivered","status":"True","reason":"Delivered","message":"ready","lastTransitionTime":"2025-01-01T00:00:00Z"}]}}"#,
    );
    let (success, out, err) = waiting.join().unwrap();
    assert!(success, "kubectl wait failed: {err}");
    assert_eq!(out.trim(), "generation.appgen.dev/todo condition met");

    let waiting = wait("--for=jsonpath={.status.phase}=Delivered");
    std::thread::sleep(Duration::from_millis(300));
    status_patch(&server, "todo", r#"{"status":{"phase":"Delivered"}}"#);
    let (success, out, err) = waiting.join().unwrap();
    assert!(success, "kubectl wait failed: {err}");
    assert_eq!(out.trim(), "generation.appgen.dev/todo condition met");

    let err = kubectl_fails(
        &server,
        &[
            "wait",
            "--for=jsonpath={.status.phase}=Failed",
            "gen/todo",
            "--timeout=2s",
        ],
    );
    assert!(err.contains("timed out"), "{err}");
}

/// A core v1 Event about the Generation `todo`, as the controller would record it.
fn event_about_todo(server: &Server) -> String {
    let uid = jsonpath(server, "todo", "{.metadata.uid}");
    let created = jsonpath(server, "todo", "{.metadata.creationTimestamp}");
    format!(
        "apiVersion: v1
kind: Event
metadata:
  name: todo.launched
  namespace: default
involvedObject:
  apiVersion: appgen.dev/v1alpha1
  kind: Generation
  name: todo
  namespace: default
  uid: {uid}
reason: Launched
message: Started attempt 1 on the process backend
type: Normal
source:
  component: appgen-controller
firstTimestamp: \"{created}\"
lastTimestamp: \"{created}\"
count: 1
"
    )
}

#[test]
fn describe_shows_events_about_the_generation() {
    let server = Server::start();
    kubectl_ok(&server, &["apply", "-f", TODO]);
    let out = ok(run(&server, &["create", "-f", "-"], &event_about_todo(&server)));
    assert_eq!(out.trim(), "event/todo.launched created");

    let described = kubectl_ok(&server, &["describe", "gen", "todo"]);
    assert!(
        described
            .lines()
            .any(|l| l.starts_with("Name:") && l.ends_with(" todo")),
        "{described}"
    );
    assert!(described.contains("Kind:         Generation"), "{described}");
    let (_, events) = described
        .split_once("\nEvents:")
        .unwrap_or_else(|| panic!("no Events section:\n{described}"));
    assert!(!events.contains("<none>"), "{described}");
    let row = events
        .lines()
        .find(|l| l.contains("Launched"))
        .unwrap_or_else(|| panic!("no Launched event in:\n{described}"));
    let row: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(row[0], "Normal", "{described}");
    assert_eq!(row[1], "Launched", "{described}");
    assert_eq!(row[3], "appgen-controller", "{described}");
    assert_eq!(
        row[4..].join(" "),
        "Started attempt 1 on the process backend",
        "{described}"
    );
}

#[test]
fn get_events_lists_the_event_in_both_event_apis() {
    let server = Server::start();
    kubectl_ok(&server, &["apply", "-f", TODO]);
    ok(run(&server, &["create", "-f", "-"], &event_about_todo(&server)));

    for resource in ["events", "events.v1.events.k8s.io"] {
        let table = kubectl_ok(&server, &["get", resource]);
        let lines: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(
            lines[0],
            ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
            "{resource}:\n{table}"
        );
        assert_eq!(lines.len(), 2, "{resource}:\n{table}");
        assert_eq!(
            lines[1][1..4],
            ["Normal", "Launched", "generation/todo"],
            "{resource}:\n{table}"
        );
        assert_eq!(
            lines[1][4..].join(" "),
            "Started attempt 1 on the process backend",
            "{resource}:\n{table}"
        );
        assert_eq!(
            kubectl_ok(&server, &["get", resource, "-o", "name"]).trim(),
            format!("{}/todo.launched", kind(resource))
        );
    }
    assert_eq!(
        kubectl_ok(
            &server,
            &[
                "get",
                "events.v1.events.k8s.io",
                "todo.launched",
                "-o",
                "jsonpath={.regarding.name} {.note}"
            ]
        ),
        "todo Started attempt 1 on the process backend"
    );
    assert_eq!(
        kubectl_ok(
            &server,
            &[
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=todo",
                "-o",
                "name"
            ]
        )
        .trim(),
        "event/todo.launched"
    );
}

/// How `-o name` spells the kind of the Event API named by `resource`.
fn kind(resource: &str) -> &'static str {
    if resource == "events" {
        "event"
    } else {
        "event.events.k8s.io"
    }
}

#[test]
fn delete_waits_for_finalizers_then_the_generation_is_gone() {
    let server = Server::start();
    kubectl_ok(&server, &["apply", "-f", TODO, "-f", CRM]);
    for name in ["todo", "crm"] {
        kubectl_ok(
            &server,
            &[
                "patch",
                "gen",
                name,
                "--type",
                "merge",
                "-p",
                r#"{"metadata":{"finalizers":["appgen.dev/test"]}}"#,
            ],
        );
        let out = kubectl_ok(&server, &["delete", "gen", name, "--wait=false"]);
        assert_eq!(out.trim(), format!("generation.appgen.dev \"{name}\" deleted"));
        let left = jsonpath(
            &server,
            name,
            "{.metadata.deletionTimestamp}|{.metadata.finalizers[*]}",
        );
        let (deletion, finalizers) = left.split_once('|').unwrap();
        assert!(
            deletion.ends_with('Z') && deletion.len() == 20,
            "a deletionTimestamp: {left}"
        );
        assert_eq!(finalizers, "appgen.dev/test");
        assert_eq!(
            names(&server, &["--field-selector", &format!("metadata.name={name}")]),
            gens(&[name])
        );
    }

    kubectl_ok(
        &server,
        &[
            "patch",
            "gen",
            "todo",
            "--type",
            "json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
        ],
    );
    kubectl_ok(
        &server,
        &[
            "patch",
            "gen",
            "crm",
            "--type",
            "merge",
            "-p",
            r#"{"metadata":{"finalizers":null}}"#,
        ],
    );
    for name in ["todo", "crm"] {
        let err = kubectl_fails(&server, &["get", "gen", name]);
        assert!(
            err.contains("NotFound") && err.contains(&format!("generations.appgen.dev \"{name}\" not found")),
            "{err}"
        );
    }
}

#[test]
fn explain_prints_the_field_docs_from_the_schema() {
    let server = Server::start();
    let spec = kubectl_ok(&server, &["explain", "generation.spec"]);
    assert!(
        spec.contains("KIND:       Generation") && spec.contains("VERSION:    v1alpha1"),
        "{spec}"
    );
    assert!(spec.contains("FIELD: spec <Object>"), "{spec}");
    assert!(spec.contains("prompt\t<string> -required-"), "{spec}");
    assert!(
        spec.contains("The app idea in plain language: a sentence or a page."),
        "{spec}"
    );
    assert!(spec.contains("timeoutSeconds\t<integer>"), "{spec}");
    assert!(spec.contains("agent\t<Object>"), "{spec}");

    let name = kubectl_ok(&server, &["explain", "generation.spec.agent.name"]);
    assert!(name.contains("FIELD: name <string>"), "{name}");
    assert!(
        name.contains("scaffold") && name.contains("claude-code"),
        "{name}"
    );
    assert!(
        name.contains("`scaffold` (offline, deterministic) or `claude-code`."),
        "{name}"
    );

    let short = kubectl_ok(&server, &["explain", "gen.spec.prompt"]);
    assert!(
        short.contains("The app idea in plain language: a sentence or a page."),
        "{short}"
    );
    let err = kubectl_fails(&server, &["explain", "generation.spec.colour"]);
    assert!(err.contains("colour"), "{err}");
}

#[test]
fn invalid_manifests_are_rejected_naming_the_field_and_nothing_is_created() {
    let server = Server::start();
    let long_prompt = format!("  prompt: {}", "a".repeat(65_537));
    // What kubectl prints after `is invalid: ` (or for the strict decoder's BadRequest), per case.
    let cases: Vec<(&str, String, &str)> = vec![
        ("no prompt", "  app: todo".into(), "spec.prompt: Required value"),
        (
            "retries 11",
            "  prompt: p\n  retries: 11".into(),
            "spec.retries: Invalid value: 11: ",
        ),
        (
            "timeout 30",
            "  prompt: p\n  timeoutSeconds: 30".into(),
            "spec.timeoutSeconds: Invalid value: 30: ",
        ),
        (
            "app Bad_App",
            "  prompt: p\n  app: Bad_App".into(),
            "spec.app: Invalid value: \"Bad_App\": ",
        ),
        (
            "agent gpt",
            "  prompt: p\n  agent:\n    name: gpt".into(),
            "spec.agent.name: Unsupported value: \"gpt\": ",
        ),
        (
            "budget 0",
            "  prompt: p\n  agent:\n    maxBudgetUsd: 0".into(),
            "spec.agent.maxBudgetUsd: Invalid value: 0: ",
        ),
        ("long prompt", long_prompt, "spec.prompt: Too long: "),
        (
            "unknown field",
            "  prompt: p\n  colour: red".into(),
            "unknown field \"spec.colour\"",
        ),
    ];
    let mut failures = Vec::new();
    for (what, spec, expected) in &cases {
        let output = run(&server, &["create", "-f", "-"], &generation("bad", spec));
        let err = stderr(&output);
        let err_short: String = err.chars().take(600).collect();
        if output.status.success() {
            failures.push(format!("{what}: accepted ({})", stdout(&output).trim()));
        } else if !err.contains(expected) {
            failures.push(format!("{what}: stderr lacks {expected:?}: {err_short}"));
        } else if what.starts_with("unknown") != err.contains("BadRequest") {
            failures.push(format!("{what}: wrong error reason: {err_short}"));
        } else if !what.starts_with("unknown") && !err.contains("The Generation \"bad\" is invalid: ") {
            failures.push(format!("{what}: not an Invalid error: {err_short}"));
        }
        let left = names(&server, &[]);
        if !left.is_empty() {
            failures.push(format!("{what}: created {left:?}"));
            kubectl(&server, &["delete", "gen", "--all"]);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn unknown_fields_are_dropped_when_validation_is_off() {
    let server = Server::start();
    let manifest = generation("loose", "  prompt: p\n  colour: red");
    let out = ok(run(
        &server,
        &["create", "--validate=false", "-f", "-"],
        &manifest,
    ));
    assert_eq!(out.trim(), "generation.appgen.dev/loose created");
    assert_eq!(
        jsonpath(&server, "loose", "{.spec.colour}"),
        "",
        "pruned, as for any structural schema"
    );
    assert_eq!(jsonpath(&server, "loose", "{.spec.prompt}"), "p");
}

#[test]
fn delete_by_file_and_delete_all_remove_generations() {
    let server = Server::start();
    kubectl_ok(&server, &["apply", "-f", TODO, "-f", CRM]);
    assert_eq!(names(&server, &[]), gens(&["crm", "todo"]));

    let out = kubectl_ok(&server, &["delete", "-f", TODO]);
    assert_eq!(out.trim(), "generation.appgen.dev \"todo\" deleted");
    assert_eq!(names(&server, &[]), gens(&["crm"]));
    let err = kubectl_fails(&server, &["delete", "-f", TODO]);
    assert!(
        err.contains("NotFound") && err.contains("\"todo\" not found"),
        "{err}"
    );

    kubectl_ok(&server, &["apply", "-f", TODO]);
    let out = kubectl_ok(&server, &["delete", "gen", "--all"]);
    let mut deleted: Vec<&str> = out.lines().collect();
    deleted.sort_unstable();
    assert_eq!(
        deleted,
        [
            "generation.appgen.dev \"crm\" deleted",
            "generation.appgen.dev \"todo\" deleted"
        ]
    );
    assert_eq!(names(&server, &[]), Vec::<String>::new());
    let empty = kubectl(&server, &["get", "gen"]);
    assert!(empty.status.success() && stdout(&empty).is_empty());
    assert!(
        stderr(&empty).contains("No resources found in default namespace."),
        "{}",
        stderr(&empty)
    );
}

#[test]
fn create_then_replace_with_an_edited_copy_updates_the_spec() {
    let server = Server::start();
    assert_eq!(
        kubectl_ok(&server, &["create", "-f", TODO]).trim(),
        "generation.appgen.dev/todo created"
    );
    let edited = server.data_dir().join("todo-edited.yaml");
    std::fs::write(
        &edited,
        std::fs::read_to_string(TODO)
            .unwrap()
            .replace("timeoutSeconds: 900", "timeoutSeconds: 600"),
    )
    .unwrap();
    assert_eq!(
        kubectl_ok(&server, &["replace", "-f", edited.to_str().unwrap()]).trim(),
        "generation.appgen.dev/todo replaced"
    );
    assert_eq!(
        jsonpath(&server, "todo", "{.spec.timeoutSeconds} {.metadata.generation}"),
        "600 2"
    );
    assert_eq!(names(&server, &[]), gens(&["todo"]));
}

#[test]
fn create_of_an_existing_name_is_already_exists() {
    let server = Server::start();
    kubectl_ok(&server, &["create", "-f", TODO]);
    let uid = jsonpath(&server, "todo", "{.metadata.uid}");
    let err = kubectl_fails(&server, &["create", "-f", TODO]);
    assert!(
        err.contains("AlreadyExists") && err.contains("generations.appgen.dev \"todo\" already exists"),
        "{err}"
    );
    assert_eq!(
        jsonpath(&server, "todo", "{.metadata.uid}"),
        uid,
        "the first one is untouched"
    );
}
