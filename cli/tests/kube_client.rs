//! kube-rs against a real `appgen serve`: typed CRUD, the status subresource, conflicts, watches,
//! watchers and reflectors (including 410 Gone and bookmarks), Events as the controller writes
//! them, and Status errors. The controller uses exactly these calls, so they must work unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use appgen_crd::{Generation, GenerationSpec, GenerationStatus, Phase};
use common::Server;
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as EventsV1Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::{ApiResource, Status};
use kube::runtime::events::{Event as RecorderEvent, EventType, Recorder, Reporter};
use kube::runtime::watcher::Event;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tokio::time::timeout;

const NS: &str = "default";
/// The longest any single wait may take; every wait is bounded so nothing can hang.
const WAIT: Duration = Duration::from_secs(15);

fn generation(name: &str, prompt: &str) -> Generation {
    Generation::new(name, GenerationSpec::from_prompt(prompt))
}

fn labelled(name: &str, labels: &[(&str, &str)]) -> Generation {
    let mut g = generation(name, "a todo app");
    g.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
    g
}

async fn generations(server: &Server) -> Api<Generation> {
    Api::namespaced(server.client().await, NS)
}

/// The Status of a call that must fail with an API error.
#[track_caller]
fn api_error<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> Box<Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        other => panic!("expected an API error (a Status), got {other:?}"),
    }
}

fn rv<K: Resource>(object: &K) -> String {
    object.meta().resource_version.clone().expect("a resourceVersion")
}

/// A watcher event in a form tests can compare.
fn describe(event: &Event<Generation>) -> String {
    match event {
        Event::Init => "Init".to_owned(),
        Event::InitApply(g) => format!("InitApply({})", g.name_any()),
        Event::InitDone => "InitDone".to_owned(),
        Event::Apply(g) => format!("Apply({})", g.name_any()),
        Event::Delete(g) => format!("Delete({})", g.name_any()),
    }
}

/// The next watcher event, which must arrive within [`WAIT`] and not be an error.
async fn next_event<S>(stream: &mut S) -> Event<Generation>
where
    S: Stream<Item = Result<Event<Generation>, watcher::Error>> + Unpin,
{
    match timeout(WAIT, stream.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(e))) => panic!("watcher error: {e}"),
        Ok(None) => panic!("the watcher stream ended"),
        Err(_) => panic!("no watcher event within {WAIT:?}"),
    }
}

async fn expect_events<S>(stream: &mut S, expected: &[&str]) -> Vec<Event<Generation>>
where
    S: Stream<Item = Result<Event<Generation>, watcher::Error>> + Unpin,
{
    let mut got = Vec::new();
    for want in expected {
        let event = next_event(stream).await;
        assert_eq!(
            describe(&event),
            *want,
            "events so far: {:?}",
            got.iter().map(describe).collect::<Vec<_>>()
        );
        got.push(event);
    }
    got
}

// 1. Typed CRUD -----------------------------------------------------------------------------------

#[tokio::test]
async fn create_fills_uid_creation_timestamp_resource_version_generation_and_defaults() {
    let server = Server::start();
    let api = generations(&server).await;
    let created = api
        .create(&PostParams::default(), &generation("todo", "a todo app"))
        .await
        .unwrap();
    assert_eq!(created.name_any(), "todo");
    assert_eq!(created.namespace().as_deref(), Some(NS));
    assert!(
        created.uid().is_some_and(|u| !u.is_empty()),
        "uid: {:?}",
        created.uid()
    );
    assert!(created.metadata.creation_timestamp.is_some());
    assert!(
        rv(&created).parse::<u64>().is_ok(),
        "resourceVersion {:?}",
        rv(&created)
    );
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.spec.prompt, "a todo app");
    assert!(
        created.status.is_none(),
        "a new Generation has no status: {:?}",
        created.status
    );

    // The typed struct always sends `template`; to see the server's schema default, send none.
    let resource = ApiResource::erase::<Generation>(&());
    let dynamic: Api<DynamicObject> = Api::namespaced_with(server.client().await, NS, &resource);
    let mut bare = DynamicObject::new("bare", &resource);
    bare.data = json!({ "spec": { "prompt": "a recipe book" } });
    dynamic.create(&PostParams::default(), &bare).await.unwrap();
    // Read it untyped too: the typed struct would fill the default in on the client side.
    let read = dynamic.get("bare").await.unwrap();
    assert_eq!(
        read.data["spec"]["template"], "react-vite-express",
        "{:?}",
        read.data
    );
    assert_eq!(read.metadata.generation, Some(1));
}

#[tokio::test]
async fn get_returns_the_object_create_stored() {
    let server = Server::start();
    let api = generations(&server).await;
    let mut g = labelled("todo", &[("team", "a")]);
    g.spec.app = Some("todo-app".into());
    g.spec.retries = Some(2);
    let created = api.create(&PostParams::default(), &g).await.unwrap();
    let read = api.get("todo").await.unwrap();
    assert_eq!(read, created);
    assert_eq!(read.spec.app.as_deref(), Some("todo-app"));
    assert_eq!(read.spec.retries, Some(2));
    assert_eq!(read.labels().get("team").map(String::as_str), Some("a"));
    assert_eq!(api.get_opt("missing").await.unwrap(), None);
}

#[tokio::test]
async fn list_filters_by_label_selector() {
    let server = Server::start();
    let api = generations(&server).await;
    for (name, team) in [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("b2", "b")] {
        api.create(&PostParams::default(), &labelled(name, &[("team", team)]))
            .await
            .unwrap();
    }
    api.create(&PostParams::default(), &generation("none", "no labels"))
        .await
        .unwrap();
    let names = |list: kube::core::ObjectList<Generation>| -> Vec<String> {
        list.items.iter().map(ResourceExt::name_any).collect()
    };
    let all = api.list(&ListParams::default()).await.unwrap();
    assert!(
        all.metadata
            .resource_version
            .as_ref()
            .is_some_and(|rv| !rv.is_empty())
    );
    assert_eq!(names(all).len(), 6);
    assert_eq!(
        names(api.list(&ListParams::default().labels("team=a")).await.unwrap()),
        ["a1", "a2", "a3"]
    );
    assert_eq!(
        names(api.list(&ListParams::default().labels("team!=a")).await.unwrap()),
        ["b1", "b2", "none"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("team in (b)"))
                .await
                .unwrap()
        ),
        ["b1", "b2"]
    );
    assert_eq!(
        names(api.list(&ListParams::default().labels("!team")).await.unwrap()),
        ["none"]
    );
    assert_eq!(
        names(api.list(&ListParams::default().labels("team=c")).await.unwrap()).len(),
        0
    );
}

#[tokio::test]
async fn list_pages_with_limit_and_continue_return_every_name_exactly_once() {
    let server = Server::start();
    let api = generations(&server).await;
    for i in 0..25 {
        api.create(
            &PostParams::default(),
            &labelled(&format!("page-{i:02}"), &[("batch", "paging")]),
        )
        .await
        .unwrap();
    }
    for i in 0..4 {
        api.create(
            &PostParams::default(),
            &generation(&format!("other-{i}"), "not in the batch"),
        )
        .await
        .unwrap();
    }
    let mut names = Vec::new();
    let mut sizes = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().labels("batch=paging").limit(10);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = api.list(&lp).await.unwrap();
        sizes.push(page.items.len());
        names.extend(page.items.iter().map(ResourceExt::name_any));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
        assert!(sizes.len() < 10, "paging does not end: {sizes:?}");
    }
    assert_eq!(sizes, [10, 10, 5]);
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), 25, "every name exactly once: {names:?}");
    assert!(names.iter().all(|n| n.starts_with("page-")));
}

#[tokio::test]
async fn replace_updates_the_spec_and_bumps_resource_version_and_generation() {
    let server = Server::start();
    let api = generations(&server).await;
    let created = api
        .create(&PostParams::default(), &generation("todo", "a todo app"))
        .await
        .unwrap();
    let mut changed = created.clone();
    changed.spec.prompt = "a todo app with due dates".into();
    changed.labels_mut().insert("team".into(), "a".into());
    let replaced = api
        .replace("todo", &PostParams::default(), &changed)
        .await
        .unwrap();
    assert_eq!(replaced.spec.prompt, "a todo app with due dates");
    assert_eq!(replaced.labels().get("team").map(String::as_str), Some("a"));
    assert_ne!(rv(&replaced), rv(&created));
    assert_eq!(replaced.metadata.generation, Some(2));
    assert_eq!(replaced.uid(), created.uid());
    assert_eq!(
        replaced.metadata.creation_timestamp,
        created.metadata.creation_timestamp
    );
    assert_eq!(api.get("todo").await.unwrap(), replaced);
}

#[tokio::test]
async fn merge_patch_changes_only_the_fields_it_names() {
    let server = Server::start();
    let api = generations(&server).await;
    let mut g = generation("todo", "a todo app");
    g.spec.retries = Some(1);
    api.create(&PostParams::default(), &g).await.unwrap();
    let patch = json!({ "metadata": { "labels": { "team": "a" } }, "spec": { "retries": 3, "app": "todo" } });
    let patched = api
        .patch("todo", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    assert_eq!(patched.spec.retries, Some(3));
    assert_eq!(patched.spec.app.as_deref(), Some("todo"));
    assert_eq!(patched.spec.prompt, "a todo app");
    assert_eq!(patched.labels().get("team").map(String::as_str), Some("a"));
    assert_eq!(patched.metadata.generation, Some(2));
    // null removes a field.
    let patched = api
        .patch(
            "todo",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "app": null } })),
        )
        .await
        .unwrap();
    assert_eq!(patched.spec.app, None);
    assert_eq!(patched.spec.retries, Some(3));
}

#[tokio::test]
async fn json_patch_applies_its_operations_in_order() {
    let server = Server::start();
    let api = generations(&server).await;
    api.create(&PostParams::default(), &labelled("todo", &[("team", "a")]))
        .await
        .unwrap();
    let ops = serde_json::from_value(json!([
        { "op": "test", "path": "/spec/prompt", "value": "a todo app" },
        { "op": "replace", "path": "/spec/prompt", "value": "a todo app with tags" },
        { "op": "add", "path": "/spec/retries", "value": 4 },
        { "op": "add", "path": "/metadata/labels/tier", "value": "gold" },
        { "op": "remove", "path": "/metadata/labels/team" },
    ]))
    .unwrap();
    let patched = api
        .patch("todo", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await
        .unwrap();
    assert_eq!(patched.spec.prompt, "a todo app with tags");
    assert_eq!(patched.spec.retries, Some(4));
    assert_eq!(patched.labels().get("tier").map(String::as_str), Some("gold"));
    assert!(!patched.labels().contains_key("team"));

    // A failing `test` op rejects the whole patch and changes nothing.
    let ops = serde_json::from_value(json!([
        { "op": "replace", "path": "/spec/retries", "value": 9 },
        { "op": "test", "path": "/spec/prompt", "value": "something else" },
    ]))
    .unwrap();
    let status = api_error(
        api.patch("todo", &PatchParams::default(), &Patch::Json::<()>(ops))
            .await,
    );
    assert!(matches!(status.code, 409 | 422), "a failed test op: {status:?}");
    assert_eq!(api.get("todo").await.unwrap().spec.retries, Some(4));
}

#[tokio::test]
async fn server_side_apply_creates_then_updates_and_records_the_field_manager() {
    let server = Server::start();
    let api = generations(&server).await;
    let pp = PatchParams::apply("test").force();
    let applied = json!({
        "apiVersion": "appgen.dev/v1alpha1",
        "kind": "Generation",
        "metadata": { "name": "applied", "labels": { "team": "a" } },
        "spec": { "prompt": "a todo app", "retries": 1 },
    });
    let created = api.patch("applied", &pp, &Patch::Apply(&applied)).await.unwrap();
    assert_eq!(created.spec.prompt, "a todo app");
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.uid().is_some());
    let managers = created.metadata.managed_fields.clone().unwrap_or_default();
    assert!(
        managers
            .iter()
            .any(|m| m.manager.as_deref() == Some("test") && m.operation.as_deref() == Some("Apply")),
        "managedFields: {managers:?}"
    );

    // Applying the typed object again, as a controller would, updates what changed.
    let mut typed = generation("applied", "a todo app with tags");
    typed.spec.retries = Some(1);
    typed.metadata.labels = Some(BTreeMap::from([("team".to_owned(), "a".to_owned())]));
    let updated = api.patch("applied", &pp, &Patch::Apply(&typed)).await.unwrap();
    assert_eq!(updated.spec.prompt, "a todo app with tags");
    assert_eq!(updated.metadata.generation, Some(2));
    assert_eq!(updated.uid(), created.uid());

    // The same apply again changes nothing.
    let again = api.patch("applied", &pp, &Patch::Apply(&typed)).await.unwrap();
    assert_eq!(rv(&again), rv(&updated));
}

#[tokio::test]
async fn delete_returns_the_deleted_object_and_it_is_gone() {
    let server = Server::start();
    let api = generations(&server).await;
    let created = api
        .create(&PostParams::default(), &generation("todo", "a todo app"))
        .await
        .unwrap();
    let deleted = api.delete("todo", &DeleteParams::default()).await.unwrap();
    let object = deleted.left().expect("the deleted object, not a Status");
    assert_eq!(object.name_any(), "todo");
    assert_eq!(object.uid(), created.uid());
    assert_eq!(api.get_opt("todo").await.unwrap(), None);
    assert_eq!(
        api_error(api.delete("todo", &DeleteParams::default()).await).code,
        404
    );
}

#[tokio::test]
async fn delete_collection_removes_only_what_the_selector_matches() {
    let server = Server::start();
    let api = generations(&server).await;
    for (name, app) in [("a1", "alpha"), ("a2", "alpha"), ("b1", "beta")] {
        api.create(&PostParams::default(), &labelled(name, &[("app", app)]))
            .await
            .unwrap();
    }
    let deleted = api
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("app=alpha"),
        )
        .await
        .unwrap();
    let names: BTreeSet<String> = deleted
        .left()
        .expect("the deleted objects")
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert_eq!(names, BTreeSet::from(["a1".to_owned(), "a2".to_owned()]));
    let left: Vec<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert_eq!(left, ["b1"]);
}

#[tokio::test]
async fn delete_with_a_finalizer_marks_the_object_until_the_finalizer_is_removed() {
    let server = Server::start();
    let api = generations(&server).await;
    let mut g = generation("todo", "a todo app");
    g.metadata.finalizers = Some(vec!["appgen.dev/cleanup".into()]);
    api.create(&PostParams::default(), &g).await.unwrap();
    let deleted = api.delete("todo", &DeleteParams::default()).await.unwrap();
    let object = deleted.left().expect("the object being deleted, not a Status");
    assert!(object.metadata.deletion_timestamp.is_some());
    let read = api.get("todo").await.unwrap();
    assert!(read.metadata.deletion_timestamp.is_some());
    assert_eq!(read.finalizers(), ["appgen.dev/cleanup"]);
    // What kube-runtime's finalizer helper does: a JSON patch removing the finalizer.
    let ops = serde_json::from_value(json!([
        { "op": "test", "path": "/metadata/finalizers/0", "value": "appgen.dev/cleanup" },
        { "op": "remove", "path": "/metadata/finalizers/0" },
    ]))
    .unwrap();
    api.patch("todo", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await
        .unwrap();
    assert_eq!(api.get_opt("todo").await.unwrap(), None);
}

#[tokio::test]
async fn create_with_generate_name_draws_a_unique_name_from_the_prefix() {
    let server = Server::start();
    let api = generations(&server).await;
    let mut g = generation("", "a todo app");
    g.metadata.name = None;
    g.metadata.generate_name = Some("todo-".into());
    let first = api.create(&PostParams::default(), &g).await.unwrap();
    let second = api.create(&PostParams::default(), &g).await.unwrap();
    for created in [&first, &second] {
        let name = created.name_any();
        assert!(
            name.starts_with("todo-") && name.len() > "todo-".len(),
            "generated name {name:?}"
        );
        assert_eq!(created.metadata.generate_name.as_deref(), Some("todo-"));
        assert_eq!(api.get(&name).await.unwrap().uid(), created.uid());
    }
    assert_ne!(first.name_any(), second.name_any());
}

#[tokio::test]
async fn dry_run_create_answers_like_a_create_but_stores_nothing() {
    let server = Server::start();
    let api = generations(&server).await;
    let pp = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let answered = api.create(&pp, &generation("todo", "a todo app")).await.unwrap();
    assert_eq!(answered.name_any(), "todo");
    assert_eq!(answered.spec.prompt, "a todo app");
    assert_eq!(api.get_opt("todo").await.unwrap(), None);
    assert!(api.list(&ListParams::default()).await.unwrap().items.is_empty());
    // A dry run is still validated.
    let mut bad = generation("bad", "x");
    bad.spec.retries = Some(11);
    assert_eq!(api_error(api.create(&pp, &bad).await).code, 422);
}

// 2. Status subresource and metadata.generation ---------------------------------------------------

#[tokio::test]
async fn status_writes_change_only_status_and_main_resource_writes_never_change_status() {
    let server = Server::start();
    let api = generations(&server).await;
    api.create(&PostParams::default(), &generation("todo", "a todo app"))
        .await
        .unwrap();

    // patch_status: a spec change inside it is ignored.
    let patch = json!({
        "spec": { "prompt": "changed through status" },
        "status": { "phase": "Running", "step": "agent", "observedGeneration": 1 },
    });
    let patched = api
        .patch_status("todo", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let status = patched.status.clone().expect("a status");
    assert_eq!(status.phase, Some(Phase::Running));
    assert_eq!(status.step.as_deref(), Some("agent"));
    assert_eq!(patched.spec.prompt, "a todo app");
    assert_eq!(patched.metadata.generation, Some(1));

    // replace_status: likewise.
    let mut changed = patched.clone();
    changed.spec.prompt = "changed through replace_status".into();
    changed.status = Some(GenerationStatus {
        phase: Some(Phase::Running),
        step: Some("verify/build".into()),
        observed_generation: Some(1),
        ..GenerationStatus::default()
    });
    let replaced = api
        .replace_status("todo", &PostParams::default(), &changed)
        .await
        .unwrap();
    assert_eq!(
        replaced.status.as_ref().and_then(|s| s.step.as_deref()),
        Some("verify/build")
    );
    assert_eq!(replaced.spec.prompt, "a todo app");
    assert_eq!(replaced.metadata.generation, Some(1));
    assert_ne!(rv(&replaced), rv(&patched));
    assert_eq!(api.get_status("todo").await.unwrap(), replaced);

    // The main resource: status in a replace or a merge patch is ignored.
    let mut main = replaced.clone();
    main.spec.prompt = "a todo app with tags".into();
    main.status = Some(GenerationStatus {
        phase: Some(Phase::Failed),
        ..GenerationStatus::default()
    });
    let written = api.replace("todo", &PostParams::default(), &main).await.unwrap();
    assert_eq!(written.spec.prompt, "a todo app with tags");
    assert_eq!(written.status, replaced.status);
    let patch = json!({ "spec": { "retries": 2 }, "status": { "phase": "Delivered" } });
    let written = api
        .patch("todo", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    assert_eq!(written.spec.retries, Some(2));
    assert_eq!(written.status, replaced.status);
    assert_eq!(api.get("todo").await.unwrap().status, replaced.status);
}

#[tokio::test]
async fn metadata_generation_bumps_on_spec_changes_only() {
    let server = Server::start();
    let api = generations(&server).await;
    let created = api
        .create(&PostParams::default(), &generation("todo", "a todo app"))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let merge = |v: serde_json::Value| Patch::Merge(v);
    let pp = PatchParams::default();

    let labelled = api
        .patch(
            "todo",
            &pp,
            &merge(json!({ "metadata": { "labels": { "a": "b" } } })),
        )
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(1), "a label is not spec");
    let annotated = api
        .patch(
            "todo",
            &pp,
            &merge(json!({ "metadata": { "annotations": { "a": "b" } } })),
        )
        .await
        .unwrap();
    assert_eq!(
        annotated.metadata.generation,
        Some(1),
        "an annotation is not spec"
    );
    let status = api
        .patch_status("todo", &pp, &merge(json!({ "status": { "phase": "Pending" } })))
        .await
        .unwrap();
    assert_eq!(status.metadata.generation, Some(1), "status is not spec");

    let spec = api
        .patch("todo", &pp, &merge(json!({ "spec": { "cancel": true } })))
        .await
        .unwrap();
    assert_eq!(spec.metadata.generation, Some(2));
    let same = api
        .patch("todo", &pp, &merge(json!({ "spec": { "cancel": true } })))
        .await
        .unwrap();
    assert_eq!(
        same.metadata.generation,
        Some(2),
        "a no-op spec write is no change"
    );
    assert_eq!(rv(&same), rv(&spec), "a no-op write keeps the resourceVersion");
    let spec = api
        .patch("todo", &pp, &merge(json!({ "spec": { "prompt": "another" } })))
        .await
        .unwrap();
    assert_eq!(spec.metadata.generation, Some(3));
}

// 3. Optimistic concurrency -----------------------------------------------------------------------

#[tokio::test]
async fn replace_with_a_stale_resource_version_is_a_409_conflict() {
    let server = Server::start();
    let api = generations(&server).await;
    let stale = api
        .create(&PostParams::default(), &generation("todo", "a todo app"))
        .await
        .unwrap();
    let mut fresh = stale.clone();
    fresh.spec.prompt = "first writer".into();
    api.replace("todo", &PostParams::default(), &fresh).await.unwrap();

    let mut late = stale.clone();
    late.spec.prompt = "second writer".into();
    let status = api_error(api.replace("todo", &PostParams::default(), &late).await);
    assert_eq!(status.code, 409, "{status:?}");
    assert_eq!(status.reason, "Conflict");
    assert!(status.is_failure());
    assert_eq!(api.get("todo").await.unwrap().spec.prompt, "first writer");

    // The status subresource checks the resourceVersion too.
    let mut late = stale;
    late.status = Some(GenerationStatus {
        phase: Some(Phase::Running),
        ..GenerationStatus::default()
    });
    let status = api_error(api.replace_status("todo", &PostParams::default(), &late).await);
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
}

// 4. watcher --------------------------------------------------------------------------------------

#[tokio::test]
async fn watcher_sees_added_modified_deleted_in_order() {
    let server = Server::start();
    let api = generations(&server).await;
    api.create(&PostParams::default(), &generation("before", "already there"))
        .await
        .unwrap();
    let mut stream = watcher(api.clone(), watcher::Config::default()).boxed();
    expect_events(&mut stream, &["Init", "InitApply(before)", "InitDone"]).await;

    api.create(&PostParams::default(), &generation("todo", "a todo app"))
        .await
        .unwrap();
    let patch = Patch::Merge(json!({ "spec": { "prompt": "a todo app with tags" } }));
    api.patch("todo", &PatchParams::default(), &patch).await.unwrap();
    api.delete("todo", &DeleteParams::default()).await.unwrap();

    let events = expect_events(&mut stream, &["Apply(todo)", "Apply(todo)", "Delete(todo)"]).await;
    let [
        Event::Apply(added),
        Event::Apply(modified),
        Event::Delete(deleted),
    ] = &events[..]
    else {
        unreachable!()
    };
    assert_eq!(added.spec.prompt, "a todo app");
    assert_eq!(added.metadata.generation, Some(1));
    assert_eq!(modified.spec.prompt, "a todo app with tags");
    assert_eq!(modified.metadata.generation, Some(2));
    assert_eq!(deleted.uid(), added.uid());
    let rvs: Vec<u64> = [added, modified, deleted]
        .iter()
        .map(|g| rv(*g).parse().unwrap())
        .collect();
    assert!(
        rvs.windows(2).all(|w| w[0] < w[1]),
        "resourceVersions increase: {rvs:?}"
    );
}

#[tokio::test]
async fn applied_objects_yields_listed_objects_then_each_modification() {
    let server = Server::start();
    let api = generations(&server).await;
    api.create(&PostParams::default(), &generation("one", "first"))
        .await
        .unwrap();
    api.create(&PostParams::default(), &generation("two", "second"))
        .await
        .unwrap();
    let mut applied = watcher(api.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    let mut next = async || {
        let g = timeout(WAIT, applied.next())
            .await
            .expect("an applied object in time")
            .unwrap()
            .unwrap();
        (g.name_any(), g.spec.prompt.clone())
    };
    let mut listed = vec![next().await, next().await];
    listed.sort();
    assert_eq!(
        listed,
        [
            ("one".to_owned(), "first".to_owned()),
            ("two".to_owned(), "second".to_owned())
        ]
    );
    let patch = Patch::Merge(json!({ "spec": { "prompt": "first, again" } }));
    api.patch("one", &PatchParams::default(), &patch).await.unwrap();
    api.create(&PostParams::default(), &generation("three", "third"))
        .await
        .unwrap();
    assert_eq!(next().await, ("one".to_owned(), "first, again".to_owned()));
    assert_eq!(next().await, ("three".to_owned(), "third".to_owned()));
}

#[tokio::test]
async fn label_selector_watcher_sees_an_object_leaving_the_selector_as_delete() {
    let server = Server::start();
    let api = generations(&server).await;
    api.create(&PostParams::default(), &labelled("a1", &[("team", "a")]))
        .await
        .unwrap();
    let mut stream = watcher(api.clone(), watcher::Config::default().labels("team=a")).boxed();
    expect_events(&mut stream, &["Init", "InitApply(a1)", "InitDone"]).await;

    api.create(&PostParams::default(), &labelled("b1", &[("team", "b")]))
        .await
        .unwrap();
    let to = |team: &str| Patch::Merge(json!({ "metadata": { "labels": { "team": team } } }));
    api.patch("a1", &PatchParams::default(), &to("b")).await.unwrap();
    api.patch("b1", &PatchParams::default(), &to("a")).await.unwrap();
    let events = expect_events(&mut stream, &["Delete(a1)", "Apply(b1)"]).await;
    let Event::Delete(left) = &events[0] else {
        unreachable!()
    };
    assert_eq!(
        left.labels().get("team").map(String::as_str),
        Some("b"),
        "the object as it left"
    );
}

// 5. reflector ------------------------------------------------------------------------------------

#[tokio::test]
async fn reflector_store_converges_to_the_server_state_after_a_burst_of_writes() {
    let server = Server::start();
    let api = generations(&server).await;
    for i in 0..5 {
        api.create(
            &PostParams::default(),
            &generation(&format!("early-{i}"), "before the reflector"),
        )
        .await
        .unwrap();
    }
    let (reader, writer) = reflector::store::<Generation>();
    let stream = reflector(writer, watcher(api.clone(), watcher::Config::default()));
    let driver = tokio::spawn(stream.for_each(|_| async {}));
    timeout(WAIT, reader.wait_until_ready())
        .await
        .expect("the store becomes ready")
        .unwrap();
    assert_eq!(reader.state().len(), 5);

    let pp = PatchParams::default();
    for i in 0..20 {
        api.create(
            &PostParams::default(),
            &generation(&format!("burst-{i:02}"), "burst"),
        )
        .await
        .unwrap();
    }
    for i in (0..20).step_by(3) {
        let patch = Patch::Merge(json!({ "spec": { "prompt": format!("burst, edited {i}") } }));
        api.patch(&format!("burst-{i:02}"), &pp, &patch).await.unwrap();
    }
    for i in (0..20).step_by(4) {
        api.delete(&format!("burst-{i:02}"), &DeleteParams::default())
            .await
            .unwrap();
    }
    for i in 0..5 {
        if i % 2 == 0 {
            api.delete(&format!("early-{i}"), &DeleteParams::default())
                .await
                .unwrap();
        } else {
            let patch = Patch::Merge(json!({ "status": { "phase": "Running" } }));
            api.patch_status(&format!("early-{i}"), &pp, &patch)
                .await
                .unwrap();
        }
    }

    let server_state: BTreeMap<String, String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|g| (g.name_any(), rv(g)))
        .collect();
    assert_eq!(server_state.len(), 20 - 5 + 2);
    let deadline = Instant::now() + WAIT;
    loop {
        let cached: BTreeMap<String, String> =
            reader.state().iter().map(|g| (g.name_any(), rv(&**g))).collect();
        if cached == server_state {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the store did not converge:\ncached {cached:?}\nserver {server_state:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let edited = reader
        .state()
        .into_iter()
        .find(|g| g.name_any() == "burst-03")
        .unwrap();
    assert_eq!(edited.spec.prompt, "burst, edited 3");
    let running = reader
        .state()
        .into_iter()
        .find(|g| g.name_any() == "early-1")
        .unwrap();
    assert_eq!(
        running.status.as_ref().and_then(|s| s.phase),
        Some(Phase::Running)
    );
    driver.abort();
}

// 6. 410 Gone -------------------------------------------------------------------------------------

#[tokio::test]
async fn watch_from_a_resource_version_older_than_the_history_is_410_gone() {
    let server = Server::start_with(&["--watch-history", "5"]);
    let api = generations(&server).await;
    let created = api
        .create(&PostParams::default(), &generation("todo", "a todo app"))
        .await
        .unwrap();
    let old_rv = rv(&created);
    for i in 0..7 {
        let patch = Patch::Merge(json!({ "metadata": { "annotations": { "n": i.to_string() } } }));
        api.patch("todo", &PatchParams::default(), &patch).await.unwrap();
    }
    let status = match api.watch(&WatchParams::default().timeout(5), &old_rv).await {
        Err(e) => api_error::<()>(Err(e)),
        Ok(stream) => {
            let mut stream = stream.boxed();
            match timeout(WAIT, stream.next()).await.expect("a watch event in time") {
                Some(Ok(WatchEvent::Error(status))) => status,
                Some(Err(kube::Error::Api(status))) => status,
                other => panic!("expected a 410 error event, got {other:?}"),
            }
        }
    };
    assert_eq!(status.code, 410, "{status:?}");
    assert_eq!(status.reason, "Expired", "{status:?}");

    // A watch from a version still in the history replays what followed it.
    let recent = rv(&api.get("todo").await.unwrap());
    api.patch(
        "todo",
        &PatchParams::default(),
        &Patch::Merge(json!({ "spec": { "retries": 1 } })),
    )
    .await
    .unwrap();
    let mut stream = api
        .watch(&WatchParams::default().timeout(5), &recent)
        .await
        .unwrap()
        .boxed();
    match timeout(WAIT, stream.next()).await.expect("a watch event in time") {
        Some(Ok(WatchEvent::Modified(g))) => assert_eq!(g.spec.retries, Some(1)),
        other => panic!("expected MODIFIED, got {other:?}"),
    }
}

#[tokio::test]
async fn watcher_relists_after_410_when_the_server_restarts_and_sees_objects_created_after() {
    let mut server = Server::start();
    let api = generations(&server).await;
    api.create(
        &PostParams::default(),
        &labelled("before", &[("team", "watched")]),
    )
    .await
    .unwrap();
    let mut stream = watcher(api.clone(), watcher::Config::default().labels("team=watched")).boxed();
    expect_events(&mut stream, &["Init", "InitApply(before)", "InitDone"]).await;

    // Writes this watcher does not see move the server's resourceVersion past the watcher's.
    for i in 0..6 {
        api.create(
            &PostParams::default(),
            &labelled(&format!("other-{i}"), &[("team", "other")]),
        )
        .await
        .unwrap();
    }
    // A restarted server has no watch history: resuming from the watcher's version must be 410.
    server.restart();
    let client = server.client().await;
    let api_after: Api<Generation> = Api::namespaced(client, NS);
    api_after
        .create(&PostParams::default(), &labelled("after", &[("team", "watched")]))
        .await
        .unwrap();

    let mut log = Vec::new();
    let mut saw_gone = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    // Until the relist is done, tolerating the errors of the dropped connection.
    loop {
        assert!(
            Instant::now() < deadline,
            "the watcher did not relist: {log:?}\n{}",
            server.log()
        );
        match timeout(WAIT, stream.next())
            .await
            .expect("watcher progress in time")
            .expect("stream continues")
        {
            Ok(event) => {
                log.push(describe(&event));
                if matches!(event, Event::InitDone) {
                    break;
                }
            }
            Err(watcher::Error::WatchError(status)) => {
                log.push(format!("WatchError({})", status.code));
                saw_gone |= status.code == 410;
            }
            Err(e) => {
                log.push(format!("Err({e})"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert!(saw_gone, "the watcher got 410 Gone on resuming: {log:?}");
    let relist: Vec<&str> = log
        .iter()
        .map(String::as_str)
        .skip_while(|e| *e != "Init")
        .collect();
    assert!(
        relist.len() == 4
            && relist[0] == "Init"
            && relist[3] == "InitDone"
            && relist[1..3].contains(&"InitApply(before)")
            && relist[1..3].contains(&"InitApply(after)"),
        "the relist holds exactly the watched objects: {log:?}"
    );

    api_after
        .create(&PostParams::default(), &labelled("later", &[("team", "watched")]))
        .await
        .unwrap();
    expect_events(&mut stream, &["Apply(later)"]).await;
}

// 7. Bookmarks ------------------------------------------------------------------------------------

#[tokio::test]
async fn watch_bookmarks_arrive_with_a_resource_version_and_timeout_ends_the_stream() {
    let server = Server::start_with(&["--bookmark-seconds", "1"]);
    let api = generations(&server).await;
    let created = api
        .create(&PostParams::default(), &generation("todo", "a todo app"))
        .await
        .unwrap();
    let from: u64 = rv(&created).parse().unwrap();
    let wp = WatchParams {
        bookmarks: true,
        ..WatchParams::default()
    }
    .timeout(2);
    let started = Instant::now();
    let stream = api.watch(&wp, &from.to_string()).await.unwrap();
    let events: Vec<_> = timeout(WAIT, stream.collect::<Vec<_>>())
        .await
        .expect("timeoutSeconds=2 ends the watch");
    let elapsed = started.elapsed();
    let bookmarks: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Ok(WatchEvent::Bookmark(b)) => Some(b.metadata.resource_version.parse().unwrap()),
            _ => None,
        })
        .collect();
    assert!(!bookmarks.is_empty(), "a bookmark within 2 s: {events:?}");
    assert!(
        bookmarks.iter().all(|b| *b >= from),
        "bookmarks {bookmarks:?} from {from}"
    );
    assert!(
        events.iter().all(|e| matches!(e, Ok(WatchEvent::Bookmark(_)))),
        "only bookmarks: {events:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(1500),
        "ended after {elapsed:?}, before its timeout"
    );
}

// 8. Events ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_events_v1_event_reads_back_as_a_core_event_for_its_involved_object() {
    let server = Server::start();
    let client = server.client().await;
    let api: Api<Generation> = Api::namespaced(client.clone(), NS);
    let todo = api
        .create(&PostParams::default(), &generation("todo", "a todo app"))
        .await
        .unwrap();
    let other = api
        .create(&PostParams::default(), &generation("other", "another app"))
        .await
        .unwrap();

    let events_v1: Api<EventsV1Event> = Api::namespaced(client.clone(), NS);
    let event_for = |g: &Generation, name: &str, note: &str| EventsV1Event {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_owned()),
            ..Default::default()
        },
        regarding: Some(g.object_ref(&())),
        note: Some(note.to_owned()),
        reason: Some("Launched".into()),
        action: Some("Launch".into()),
        type_: Some("Normal".into()),
        event_time: Some(MicroTime(jiff::Timestamp::now())),
        reporting_controller: Some("appgen.dev/controller".into()),
        reporting_instance: Some("appgen-controller-1".into()),
        ..Default::default()
    };
    let created = events_v1
        .create(
            &PostParams::default(),
            &event_for(&todo, "todo.1", "attempt 1 launched"),
        )
        .await
        .unwrap();
    assert_eq!(created.note.as_deref(), Some("attempt 1 launched"));
    assert_eq!(
        created.regarding.as_ref().and_then(|r| r.name.as_deref()),
        Some("todo")
    );
    events_v1
        .create(
            &PostParams::default(),
            &event_for(&other, "other.1", "not this one"),
        )
        .await
        .unwrap();

    let core: Api<CoreEvent> = Api::namespaced(client, NS);
    let found = core
        .list(&ListParams::default().fields("involvedObject.name=todo"))
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1, "{:?}", found.items);
    let event = &found.items[0];
    assert_eq!(event.metadata.name.as_deref(), Some("todo.1"));
    assert_eq!(event.message.as_deref(), Some("attempt 1 launched"));
    assert_eq!(event.reason.as_deref(), Some("Launched"));
    assert_eq!(event.type_.as_deref(), Some("Normal"));
    assert_eq!(event.action.as_deref(), Some("Launch"));
    assert_eq!(
        event.reporting_component.as_deref(),
        Some("appgen.dev/controller")
    );
    assert_eq!(event.reporting_instance.as_deref(), Some("appgen-controller-1"));
    assert!(event.event_time.is_some());
    let involved = &event.involved_object;
    assert_eq!(involved.kind.as_deref(), Some("Generation"));
    assert_eq!(involved.api_version.as_deref(), Some("appgen.dev/v1alpha1"));
    assert_eq!(involved.name.as_deref(), Some("todo"));
    assert_eq!(involved.uid, todo.uid());

    // The selector `kubectl describe` sends.
    let describe = format!(
        "involvedObject.name=todo,involvedObject.namespace={NS},involvedObject.uid={}",
        todo.uid().unwrap()
    );
    assert_eq!(
        core.list(&ListParams::default().fields(&describe))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        core.get("todo.1").await.unwrap().message.as_deref(),
        Some("attempt 1 launched")
    );
}

#[tokio::test]
async fn kube_runtime_recorder_publishes_an_event_on_a_generation() {
    let server = Server::start();
    let client = server.client().await;
    let api: Api<Generation> = Api::namespaced(client.clone(), NS);
    let todo = api
        .create(&PostParams::default(), &generation("todo", "a todo app"))
        .await
        .unwrap();
    let reporter = Reporter {
        controller: "appgen.dev/controller".into(),
        instance: Some("test-1".into()),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let launched = RecorderEvent {
        type_: EventType::Normal,
        reason: "Launched".into(),
        note: Some("attempt 1 launched".into()),
        action: "Launch".into(),
        secondary: None,
    };
    recorder.publish(&launched, &todo.object_ref(&())).await.unwrap();

    let core: Api<CoreEvent> = Api::namespaced(client.clone(), NS);
    let found = core
        .list(&ListParams::default().fields("involvedObject.name=todo"))
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1, "{:?}", found.items);
    let event = &found.items[0];
    assert_eq!(event.message.as_deref(), Some("attempt 1 launched"));
    assert_eq!(event.reason.as_deref(), Some("Launched"));
    assert_eq!(event.type_.as_deref(), Some("Normal"));
    assert_eq!(
        event.reporting_component.as_deref(),
        Some("appgen.dev/controller")
    );
    assert_eq!(event.reporting_instance.as_deref(), Some("test-1"));
    assert_eq!(event.involved_object.uid, todo.uid());

    // The same event again: the Recorder merge-patches a series onto the first one.
    recorder.publish(&launched, &todo.object_ref(&())).await.unwrap();
    let found = core
        .list(&ListParams::default().fields("involvedObject.name=todo"))
        .await
        .unwrap();
    assert_eq!(
        found.items.len(),
        1,
        "a repeat is one event with a series: {:?}",
        found.items
    );
    assert_eq!(found.items[0].series.as_ref().and_then(|s| s.count), Some(2));
    let events_v1: Api<EventsV1Event> = Api::namespaced(client, NS);
    let name = found.items[0].metadata.name.clone().unwrap();
    let v1 = events_v1.get(&name).await.unwrap();
    assert_eq!(v1.series.map(|s| s.count), Some(2));
    assert_eq!(v1.note.as_deref(), Some("attempt 1 launched"));
}

// 9. Status errors --------------------------------------------------------------------------------

#[tokio::test]
async fn a_missing_object_is_a_404_not_found_status() {
    let server = Server::start();
    let api = generations(&server).await;
    let status = api_error(api.get("missing").await);
    assert_eq!(status.code, 404, "{status:?}");
    assert_eq!(status.reason, "NotFound");
    assert!(status.is_failure());
    assert!(status.message.contains("missing"), "{status:?}");
    let details = status.details.expect("details");
    assert_eq!(
        (details.name.as_str(), details.group.as_str()),
        ("missing", "appgen.dev")
    );
    assert_eq!(details.kind, "generations");
    for result in [
        api.replace("missing", &PostParams::default(), &generation("missing", "x"))
            .await
            .map(|_| ()),
        api.patch("missing", &PatchParams::default(), &Patch::Merge(json!({})))
            .await
            .map(|_| ()),
        api.patch_status("missing", &PatchParams::default(), &Patch::Merge(json!({})))
            .await
            .map(|_| ()),
        api.delete("missing", &DeleteParams::default()).await.map(|_| ()),
    ] {
        assert_eq!(api_error(result).code, 404);
    }
}

#[tokio::test]
async fn an_invalid_spec_is_a_422_invalid_status_naming_the_field() {
    let server = Server::start();
    let api = generations(&server).await;
    let mut g = generation("todo", "a todo app");
    g.spec.retries = Some(11);
    let status = api_error(api.create(&PostParams::default(), &g).await);
    assert_eq!(status.code, 422, "{status:?}");
    assert_eq!(status.reason, "Invalid");
    assert!(status.message.contains("spec.retries"), "{status:?}");
    assert_eq!(api.get_opt("todo").await.unwrap(), None);

    api.create(&PostParams::default(), &generation("todo", "a todo app"))
        .await
        .unwrap();
    let patch = Patch::Merge(json!({ "spec": { "retries": 11 } }));
    let status = api_error(api.patch("todo", &PatchParams::default(), &patch).await);
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert!(status.message.contains("spec.retries"), "{status:?}");
    assert_eq!(api.get("todo").await.unwrap().spec.retries, None);
}

#[tokio::test]
async fn an_invalid_name_is_a_422_invalid_status_naming_metadata_name() {
    let server = Server::start();
    let api = generations(&server).await;
    let status = api_error(
        api.create(&PostParams::default(), &generation("Not_A_Name", "x"))
            .await,
    );
    assert_eq!(
        (status.code, status.reason.as_str()),
        (422, "Invalid"),
        "{status:?}"
    );
    assert!(status.message.contains("metadata.name"), "{status:?}");
    assert!(api.list(&ListParams::default()).await.unwrap().items.is_empty());
}
