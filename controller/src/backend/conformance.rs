//! What every backend promises, checked the same way for each: the controller's idempotent launch,
//! adoption and orphan sweep rely on these and on nothing a single backend does differently.

use super::TaskSpec;
use super::{Backend, TaskKey, TaskObservation, TaskState};

/// Runs `task` through launch, a second launch, list, observe and stop on `backend`. The task must
/// run long enough to still be active when it is listed.
pub(crate) async fn check(backend: &dyn Backend, task: &TaskSpec) {
    let unknown = TaskKey::new("never-launched", 1);
    assert_eq!(
        backend.observe(&unknown).await.unwrap(),
        TaskObservation::missing(),
        "a key nobody launched is Missing"
    );
    backend
        .stop(&unknown)
        .await
        .expect("stopping a task that never ran succeeds");

    backend.launch(task).await.expect("the first launch");
    backend
        .launch(task)
        .await
        .expect("a second launch of the same key succeeds and starts nothing");
    let listed: Vec<_> = backend
        .list()
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.key == task.key)
        .collect();
    assert_eq!(listed.len(), 1, "one task under the key: {listed:?}");
    assert_eq!(
        (listed[0].namespace.as_str(), listed[0].name.as_str()),
        (task.namespace.as_str(), task.name.as_str()),
        "the listing names the task's Generation"
    );
    assert!(listed[0].observation.is_active(), "{listed:?}");
    assert_ne!(
        backend.observe(&task.key).await.unwrap().state,
        TaskState::Missing
    );

    backend.stop(&task.key).await.expect("stop");
    let stopped = backend.observe(&task.key).await.unwrap();
    assert!(!stopped.is_active(), "a stopped task holds nothing: {stopped:?}");
    backend
        .stop(&task.key)
        .await
        .expect("stopping a stopped task succeeds");
}
