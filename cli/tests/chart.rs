//! The Helm chart (charts/appgen): it lints and renders with its default values and with each
//! values file in charts/appgen/ci; every rendered manifest passes the Kubernetes schemas of
//! kubernetes-validate; its pods meet the `restricted` Pod Security Standard; and its RBAC grants
//! exactly the requests the controller and the api send, as recorded from a real `appgen serve`
//! (audit trail) and from the kubernetes backend's own test (controller/src/backend/kubernetes-requests.txt).
//!
//! helm and kubernetes-validate are installed by scripts/test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::Server;
use common::rest::Rest;
use serde_json::{Value, json};

/// The Kubernetes version whose schemas the manifests must pass: kubernetes-validate 1.35.0
/// carries them offline, and kind's current node images run it.
const KUBERNETES_VERSION: &str = "1.35.0";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn chart() -> PathBuf {
    repo().join("charts/appgen")
}

/// Runs `program` and returns its stdout, or fails saying what it printed.
fn run(program: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); scripts/test installs it"));
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The default values (None) and each values file in charts/appgen/ci.
fn value_sets() -> Vec<Option<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(chart().join("ci"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "charts/appgen/ci holds a values file per setup");
    std::iter::once(None).chain(files.into_iter().map(Some)).collect()
}

fn describe(values: Option<&Path>) -> String {
    values.map_or("the default values".to_owned(), |p| p.display().to_string())
}

fn values_args(values: Option<&Path>) -> Vec<String> {
    values.map_or_else(Vec::new, |p| vec!["--values".to_owned(), p.display().to_string()])
}

/// `helm template` of the chart, CRDs included, released as `appgen` in namespace `appgen`.
fn render(values: Option<&Path>) -> String {
    let chart = chart().display().to_string();
    let mut args = vec![
        "template",
        "appgen",
        &chart,
        "--namespace",
        "appgen",
        "--include-crds",
    ];
    let extra = values_args(values);
    args.extend(extra.iter().map(String::as_str));
    let (ok, stdout, stderr) = run("helm", &args);
    assert!(ok, "helm template with {} failed:\n{stderr}", describe(values));
    stdout
}

fn documents(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(yaml)
        .unwrap()
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn kind_name(doc: &Value) -> String {
    format!(
        "{}/{}",
        doc["kind"].as_str().unwrap_or_default(),
        doc["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// ServiceMonitor is prometheus-operator's CRD, whose schema kubernetes-validate does not carry.
fn is_service_monitor(doc: &Value) -> bool {
    doc["apiVersion"] == "monitoring.coreos.com/v1" && doc["kind"] == "ServiceMonitor"
}

#[test]
fn the_chart_lints_with_every_values_file() {
    for values in value_sets() {
        let chart = chart().display().to_string();
        let mut args = vec!["lint", "--strict", &chart];
        let extra = values_args(values.as_deref());
        args.extend(extra.iter().map(String::as_str));
        let (ok, stdout, stderr) = run("helm", &args);
        assert!(
            ok,
            "helm lint with {} failed:\n{stdout}{stderr}",
            describe(values.as_deref())
        );
    }
}

#[test]
fn every_rendered_manifest_passes_the_kubernetes_schemas() {
    let dir = tempfile::tempdir().unwrap();
    for (i, values) in value_sets().into_iter().enumerate() {
        let rendered = render(values.as_deref());
        let docs = documents(&rendered);
        let file = dir.path().join(format!("rendered-{i}.yaml"));
        std::fs::write(&file, &rendered).unwrap();
        let (ok, stdout, stderr) = run(
            "kubernetes-validate",
            &[
                "--strict",
                "--kubernetes-version",
                KUBERNETES_VERSION,
                &file.display().to_string(),
            ],
        );
        let report = format!("{stdout}{stderr}");
        assert!(
            ok,
            "with {}, kubernetes-validate refused a manifest:\n{report}",
            describe(values.as_deref())
        );
        for doc in &docs {
            let resource = format!("resource {}", kind_name(doc).to_lowercase());
            if is_service_monitor(doc) {
                // No schema to check against; service_monitors_scrape_the_controller checks what it selects.
                assert!(
                    report.contains("Couldn't find schema for kind ServiceMonitor"),
                    "{report}"
                );
                continue;
            }
            assert!(
                report
                    .lines()
                    .any(|l| l.contains("passed for") && l.contains(&resource)),
                "with {}, {} was not validated:\n{report}",
                describe(values.as_deref()),
                kind_name(doc)
            );
        }
        let unknown: Vec<&str> = report
            .lines()
            .filter(|l| l.contains("Couldn't find schema") && !l.contains("ServiceMonitor"))
            .collect();
        assert!(unknown.is_empty(), "manifests no schema covers: {unknown:?}");
    }
}

#[test]
fn service_monitors_scrape_the_controller_metrics_port() {
    let values = chart().join("ci/ingress-servicemonitor.yaml");
    let docs = documents(&render(Some(&values)));
    let monitor = docs
        .iter()
        .find(|d| is_service_monitor(d))
        .expect("the values turn the ServiceMonitor on");
    let selector = monitor["spec"]["selector"]["matchLabels"].as_object().unwrap();
    let selected: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"] == "Service")
        .filter(|d| selector.iter().all(|(k, v)| &d["metadata"]["labels"][k] == v))
        .collect();
    assert_eq!(
        selected.len(),
        1,
        "the ServiceMonitor selects one Service: {selected:?}"
    );
    assert_eq!(selected[0]["metadata"]["name"], "appgen-controller-metrics");
    let ports: Vec<&Value> = selected[0]["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["name"])
        .collect();
    for endpoint in monitor["spec"]["endpoints"].as_array().unwrap() {
        assert!(
            ports.contains(&&endpoint["port"]),
            "{endpoint} names no port of the Service"
        );
    }
    assert!(
        documents(&render(None)).iter().all(|d| !is_service_monitor(d)),
        "the ServiceMonitor is off by default: prometheus-operator may not be installed"
    );
}

/// The Pod Security Standard `restricted`, as its documentation lists the checks.
#[test]
fn every_pod_meets_the_restricted_pod_security_standard() {
    for values in value_sets() {
        for doc in documents(&render(values.as_deref())) {
            let Some(pod) = doc["spec"]["template"]["spec"].as_object() else {
                continue;
            };
            let what = format!("{} with {}", kind_name(&doc), describe(values.as_deref()));
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{what}");
            assert_eq!(
                pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
                "{what}"
            );
            for forbidden in ["hostNetwork", "hostPID", "hostIPC"] {
                assert!(
                    pod.get(forbidden).is_none_or(|v| v == false),
                    "{what}: {forbidden}"
                );
            }
            for volume in pod["volumes"].as_array().unwrap() {
                assert!(
                    volume.get("emptyDir").is_some() || volume.get("persistentVolumeClaim").is_some(),
                    "{what}: volume {volume} is of a kind restricted pods may not use"
                );
            }
            for container in pod["containers"].as_array().unwrap() {
                let context = &container["securityContext"];
                assert_eq!(context["allowPrivilegeEscalation"], false, "{what}");
                assert_eq!(context["readOnlyRootFilesystem"], true, "{what}");
                assert_eq!(context["capabilities"]["drop"], json!(["ALL"]), "{what}");
                assert!(context["capabilities"].get("add").is_none(), "{what}");
                assert!(context.get("privileged").is_none_or(|v| v == false), "{what}");
                let mounts: Vec<&str> = container["volumeMounts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["mountPath"].as_str().unwrap())
                    .collect();
                assert!(
                    mounts.contains(&"/tmp"),
                    "{what}: a read-only root needs a writable /tmp"
                );
                for env in container["env"].as_array().into_iter().flatten() {
                    assert!(
                        env.get("value").is_none() || !env["name"].as_str().unwrap().contains("SECRET"),
                        "{what}: {env} puts a secret value in the manifest; use a secretKeyRef"
                    );
                }
            }
        }
    }
}

/// The controller's flags for generator pods come from the values, with the names `appgen
/// controller` takes.
#[test]
fn generator_pod_settings_become_the_controllers_flags() {
    let values = chart().join("ci/s3-production.yaml");
    let docs = documents(&render(Some(&values)));
    let controller = docs
        .iter()
        .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "appgen-controller")
        .unwrap();
    let args: Vec<&str> = controller["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for expected in [
        "--backend=kubernetes",
        "--generator-image=ghcr.io/appgen-dev/generator:0.1.0",
        "--generator-service-account=appgen-generator",
        "--generator-run-as-user=10001",
        "--generator-runtime-class=gvisor",
        "--generator-cpu=2",
        "--generator-memory=4Gi",
        "--generator-node-selector=appgen.dev/pool=generators",
        "--generator-toleration=dedicated=generators:NoSchedule",
        "--generator-toleration=spot:NoExecute",
        "--generator-image-pull-secret=ghcr",
        "--generator-secret-env=ANTHROPIC_API_KEY=anthropic/api-key",
    ] {
        assert!(args.contains(&expected), "{expected} missing from {args:?}");
    }
    // The binary accepts every flag the chart passes.
    let (ok, help, _) = run(common::APPGEN, &["controller", "--help"]);
    assert!(ok);
    for arg in &args[1..] {
        let flag = arg.split('=').next().unwrap();
        assert!(help.contains(flag), "appgen controller takes no {flag}");
    }
}

// ---- RBAC: what the chart grants against what the components send ----

/// `verb group resource[/subresource] scope`, as controller/src/backend/kubernetes-requests.txt
/// lists the kubernetes backend's requests. Scope is `cluster` (all namespaces, or a
/// cluster-scoped resource) or `namespaced`.
type Request = String;

fn request_of(entry: &Value) -> Request {
    let group = match entry["group"].as_str().unwrap() {
        "" => "core",
        g => g,
    };
    let resource = match entry["subresource"].as_str() {
        Some(sub) => format!("{}/{sub}", entry["resource"].as_str().unwrap()),
        None => entry["resource"].as_str().unwrap().to_owned(),
    };
    let scope = if entry["namespace"].is_string() {
        "namespaced"
    } else {
        "cluster"
    };
    format!("{} {group} {resource} {scope}", entry["verb"].as_str().unwrap())
}

/// What the chart grants each ServiceAccount: `verb group resource` by scope (`cluster` from a
/// ClusterRole bound cluster-wide, `namespaced` from a Role bound in its namespace).
fn granted(docs: &[Value]) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let rules_of = |kind: &str, name: &str, namespace: Option<&str>| -> Vec<String> {
        let role = docs
            .iter()
            .find(|d| {
                d["kind"] == kind
                    && d["metadata"]["name"] == name
                    && d["metadata"]["namespace"].as_str() == namespace
            })
            .unwrap_or_else(|| panic!("no {kind} {name} for a binding"));
        let mut out = Vec::new();
        for rule in role["rules"].as_array().unwrap() {
            let strings = |field: &str| -> Vec<String> {
                rule[field]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect()
            };
            for group in strings("apiGroups") {
                for resource in strings("resources") {
                    for verb in strings("verbs") {
                        let group = if group.is_empty() {
                            "core".to_owned()
                        } else {
                            group.clone()
                        };
                        out.push(format!("{verb} {group} {resource}"));
                    }
                }
            }
        }
        out
    };
    let mut grants: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for binding in docs {
        let (scope, role_namespace) = match binding["kind"].as_str() {
            Some("ClusterRoleBinding") => ("cluster", None),
            Some("RoleBinding") => ("namespaced", binding["metadata"]["namespace"].as_str()),
            _ => continue,
        };
        let role_kind = binding["roleRef"]["kind"].as_str().unwrap();
        // A RoleBinding of a ClusterRole would grant per namespace what reads as cluster-wide.
        let expected = if scope == "cluster" { "ClusterRole" } else { "Role" };
        assert_eq!(role_kind, expected, "{} binds a {role_kind}", kind_name(binding));
        let rules = rules_of(
            role_kind,
            binding["roleRef"]["name"].as_str().unwrap(),
            role_namespace,
        );
        for subject in binding["subjects"].as_array().unwrap() {
            assert_eq!(subject["kind"], "ServiceAccount", "{}", kind_name(binding));
            let account = subject["name"].as_str().unwrap().to_owned();
            for rule in &rules {
                grants
                    .entry(account.clone())
                    .or_default()
                    .insert((rule.clone(), scope.to_owned()));
            }
        }
    }
    grants
}

/// Where `requests` are not covered by `grants`, and grants no request uses, in words.
fn rbac_differences(
    component: &str,
    requests: &BTreeSet<Request>,
    grants: &BTreeSet<(String, String)>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let has = |rule: &str, scope: &str| grants.contains(&(rule.to_owned(), scope.to_owned()));
    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    for request in requests {
        let (rule, scope) = request.rsplit_once(' ').unwrap();
        // Writes to workloads stay in the generations' namespaces: a Role, never a ClusterRole.
        let per_namespace = scope == "namespaced"
            && (rule.contains(" batch jobs") || rule.ends_with(" core pods"))
            && !rule.starts_with("list ")
            && !rule.starts_with("watch ")
            && !rule.starts_with("get ");
        let by = if scope == "cluster" {
            has(rule, "cluster").then_some("cluster")
        } else if per_namespace {
            has(rule, "namespaced").then_some("namespaced")
        } else if has(rule, "cluster") {
            Some("cluster")
        } else {
            has(rule, "namespaced").then_some("namespaced")
        };
        match by {
            Some(by) => {
                used.insert((rule.to_owned(), by.to_owned()));
            }
            None if per_namespace => problems.push(format!(
                "{component} sends `{rule}` in a generations namespace, but no Role there grants it"
            )),
            None if scope == "cluster" => problems.push(format!(
                "{component} sends `{rule}` across namespaces, but its ClusterRole does not grant it"
            )),
            None => problems.push(format!("{component} sends `{rule}`, but nothing grants it")),
        }
    }
    for (rule, scope) in grants.difference(&used) {
        let role = if scope == "cluster" { "ClusterRole" } else { "Role" };
        problems.push(format!(
            "{component}'s {role} grants `{rule}`, which it never sends (or another rule already covers)"
        ));
    }
    problems
}

fn wait_for_phase(rest: &Rest, path: &str, phase: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let view = rest.get(path).json();
        if view["status"]["phase"] == phase {
            return;
        }
        assert!(Instant::now() < deadline, "{path} never reached {phase}: {view}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn path_of(view: &Value) -> String {
    view["links"]["self"].as_str().unwrap().to_owned()
}

/// Drives every kind of request through `appgen serve` (create, follow to Delivered, continue,
/// cancel, retry, delete, a TTL that expires) and returns what its audit trail recorded, by
/// user agent (`appgen-controller`, `appgen-api`).
fn requests_sent_in_a_full_flow() -> BTreeMap<String, BTreeSet<Request>> {
    let trail_dir = tempfile::tempdir().unwrap();
    let trail = trail_dir.path().join("audit.ndjson");
    let mut server = Server::start_with_controller(&[
        "--backend",
        "simulated",
        "--simulated-task-seconds",
        "0.5",
        "--backoff-seconds",
        "1",
        "--audit-log",
        &trail.display().to_string(),
    ]);
    let ann = Rest::sign_up(&server.address, "ann");

    let delivered = path_of(&ann.create("A todo list for my errands"));
    wait_for_phase(&ann, &delivered, "Delivered");
    let follow_up = ann.post(
        &format!("{delivered}/continue"),
        json!({"prompt": "Add due dates"}),
    );
    assert_eq!(follow_up.status, 201, "{}", follow_up.body);
    wait_for_phase(&ann, &path_of(&follow_up.json()), "Delivered");

    let running = path_of(&ann.create("A long one simulate:seconds=120"));
    wait_for_phase(&ann, &running, "Running");
    let cancelled = ann.post(&format!("{running}/cancel"), json!({}));
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    wait_for_phase(&ann, &running, "Cancelled");

    let retried = ann.post(&format!("{delivered}/retry"), json!({}));
    assert_eq!(retried.status, 201, "{}", retried.body);
    let gone = path_of(&retried.json());
    assert_eq!(ann.delete(&gone).status, 204);
    let deadline = Instant::now() + Duration::from_secs(30);
    while ann.get(&gone).status != 404 {
        assert!(Instant::now() < deadline, "{gone} was never deleted");
        std::thread::sleep(Duration::from_millis(100));
    }

    // A first attempt that fails, a retry that delivers (the same Events twice: the second
    // patches the first into a series), then the controller deletes it when its TTL passes.
    let expiring = r"
apiVersion: appgen.dev/v1alpha1
kind: Generation
metadata:
  name: expiring
  namespace: default
spec:
  prompt: A guestbook simulate:fail-attempts=1
  retries: 2
  ttlSecondsAfterFinished: 1
";
    let applied = server.kubectl_stdin(&["apply", "-f", "-"], expiring);
    assert!(applied.status.success(), "{}", common::stderr(&applied));
    let deleted = server.kubectl(&[
        "wait",
        "--for=delete",
        "--timeout=60s",
        "--namespace=default",
        "generation/expiring",
    ]);
    assert!(deleted.status.success(), "{}", common::stderr(&deleted));
    assert!(server.terminate(), "appgen serve stopped gracefully");

    let mut sent: BTreeMap<String, BTreeSet<Request>> = BTreeMap::new();
    for line in std::fs::read_to_string(&trail).unwrap().lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        let agent = entry["userAgent"].as_str().unwrap();
        let component = agent.split('/').next().unwrap().to_owned();
        sent.entry(component).or_default().insert(request_of(&entry));
    }
    sent
}

#[test]
fn the_chart_grants_exactly_the_requests_the_controller_and_the_api_send() {
    let mut sent = requests_sent_in_a_full_flow();
    // The kubernetes backend's Jobs and pods, which `serve --backend simulated` never touches,
    // as its own test recorded them.
    let backend =
        std::fs::read_to_string(repo().join("controller/src/backend/kubernetes-requests.txt")).unwrap();
    let controller = sent.entry("appgen-controller".to_owned()).or_default();
    controller.extend(
        backend
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned),
    );
    assert!(
        sent.get("appgen-api").is_some_and(|r| !r.is_empty()),
        "the audit trail recorded the api: {sent:?}"
    );

    let grants = granted(&documents(&render(None)));
    let mut problems = Vec::new();
    for (component, account) in [
        ("appgen-controller", "appgen-controller"),
        ("appgen-api", "appgen-api"),
    ] {
        problems.extend(rbac_differences(
            component,
            sent.get(component).unwrap_or(&BTreeSet::new()),
            grants.get(account).unwrap_or(&BTreeSet::new()),
        ));
    }
    assert!(
        problems.is_empty(),
        "charts/appgen/templates/rbac.yaml does not match what the components send:\n  {}\n\nsent: {sent:#?}",
        problems.join("\n  ")
    );
}

#[test]
fn jobs_are_written_only_in_the_listed_namespaces_and_not_at_all_by_the_process_backend() {
    let production = documents(&render(Some(&chart().join("ci/s3-production.yaml"))));
    let writes_jobs = |role: &Value| {
        role["rules"].as_array().unwrap().iter().any(|r| {
            r["resources"].as_array().unwrap().contains(&json!("jobs"))
                && r["verbs"].as_array().unwrap().contains(&json!("create"))
        })
    };
    let namespaces: BTreeSet<&str> = production
        .iter()
        .filter(|d| d["kind"] == "Role" && writes_jobs(d))
        .map(|d| d["metadata"]["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(namespaces, BTreeSet::from(["team-a", "team-b"]));
    assert!(
        production
            .iter()
            .filter(|d| d["kind"] == "ClusterRole")
            .all(|d| !writes_jobs(d)),
        "no ClusterRole may create Jobs"
    );

    let process = documents(&render(Some(&chart().join("ci/pvc-process.yaml"))));
    let touches_workloads = process
        .iter()
        .filter(|d| d["kind"] == "ClusterRole" || d["kind"] == "Role")
        .flat_map(|d| d["rules"].as_array().unwrap())
        .flat_map(|r| r["resources"].as_array().unwrap())
        .any(|r| r == "jobs" || r == "pods");
    assert!(!touches_workloads, "the process backend runs no Jobs or pods");
}
