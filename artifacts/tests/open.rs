//! Opening a store, or the store of one object, from the URI that names it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use appgen_artifacts::{ArtifactError, ArtifactStore, Layout, LocalStore, open, open_object};
use bytes::Bytes;

#[tokio::test]
async fn a_task_given_the_uri_of_its_input_finds_the_store_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let controller_side = LocalStore::new(dir.path().join("artifacts dir")).unwrap();
    let layout = Layout::new("default", "todo", "uid-1").unwrap();
    controller_side
        .put(&layout.input(), Bytes::from_static(b"{\"prompt\":\"todo\"}"))
        .await
        .unwrap();

    let (store, key) = open_object(&controller_side.uri(&layout.input())).await.unwrap();
    assert_eq!(key, layout.input());
    assert_eq!(
        store.get(&key).await.unwrap(),
        Some(Bytes::from_static(b"{\"prompt\":\"todo\"}"))
    );
    // What the task writes lands where the controller reads.
    store
        .put(&layout.result(1), Bytes::from_static(b"{}"))
        .await
        .unwrap();
    assert_eq!(
        controller_side.get(&layout.result(1)).await.unwrap(),
        Some(Bytes::from_static(b"{}"))
    );
    assert_eq!(store.uri(&key), controller_side.uri(&key));
}

#[tokio::test]
async fn a_store_uri_opens_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let local = LocalStore::new(dir.path().to_path_buf()).unwrap();
    local.put("k", Bytes::from_static(b"v")).await.unwrap();
    let store = open(&local.uri("")).await.unwrap();
    assert_eq!(store.get("k").await.unwrap(), Some(Bytes::from_static(b"v")));
}

#[tokio::test]
async fn unknown_schemes_and_traversal_are_refused_with_the_uri_named() {
    for uri in ["ftp://host/dir", "relative/dir", "s3://", "s3://bucket/../x"] {
        match open(uri).await {
            Err(ArtifactError::InvalidUri { uri: named, .. }) => assert_eq!(named, uri),
            other => panic!("{uri:?} gave {other:?}"),
        }
    }
    let escaping = "file:///srv/generations/ns/../../../etc/passwd";
    assert!(matches!(
        open_object(escaping).await,
        Err(ArtifactError::InvalidKey { .. })
    ));
}
