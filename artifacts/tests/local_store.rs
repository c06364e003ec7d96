//! The local directory store, exercised on a real temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use appgen_artifacts::{ArtifactError, ArtifactStore, LocalStore};
use bytes::Bytes;

/// A store rooted in `<tempdir>/store`, leaving `<tempdir>` itself as the "outside" that no key may reach.
fn store_in(dir: &Path) -> LocalStore {
    LocalStore::new(dir.join("store")).unwrap()
}

/// Every file under `dir`, relative and sorted, to check what a failed call left behind.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn put_then_get_returns_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store
        .put(
            "generations/default/todo/uid-1/input.json",
            Bytes::from_static(b"{}"),
        )
        .await
        .unwrap();
    let got = store
        .get("generations/default/todo/uid-1/input.json")
        .await
        .unwrap();
    assert_eq!(got, Some(Bytes::from_static(b"{}")));
}

#[tokio::test]
async fn a_missing_key_gets_none_even_when_the_store_directory_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    assert_eq!(store.get("nothing/here.json").await.unwrap(), None);
    assert!(store.list("").await.unwrap().is_empty());
    assert!(store.list("nothing/").await.unwrap().is_empty());
}

#[tokio::test]
async fn an_empty_object_is_stored_and_read_back_as_empty() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store.put("empty", Bytes::new()).await.unwrap();
    assert_eq!(store.get("empty").await.unwrap(), Some(Bytes::new()));
}

#[tokio::test]
async fn list_returns_every_key_under_a_prefix_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    for key in [
        "b/2.txt",
        "a/x/deep/1.txt",
        "b/1.txt",
        "a/y.txt",
        "ab/z.txt",
        "top.txt",
    ] {
        store.put(key, Bytes::from_static(b"x")).await.unwrap();
    }
    assert_eq!(
        store.list("").await.unwrap(),
        [
            "a/x/deep/1.txt",
            "a/y.txt",
            "ab/z.txt",
            "b/1.txt",
            "b/2.txt",
            "top.txt"
        ]
    );
    assert_eq!(store.list("a/").await.unwrap(), ["a/x/deep/1.txt", "a/y.txt"]);
    // A prefix that does not end in '/' matches the start of names, as in S3.
    assert_eq!(
        store.list("a").await.unwrap(),
        ["a/x/deep/1.txt", "a/y.txt", "ab/z.txt"]
    );
    assert_eq!(store.list("b/1").await.unwrap(), ["b/1.txt"]);
    assert!(store.list("c/").await.unwrap().is_empty());
}

#[tokio::test]
async fn delete_prefix_removes_every_key_under_it_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    for key in [
        "gen/ns/a/uid-1/input.json",
        "gen/ns/a/uid-1/attempts/1/result.json",
        "gen/ns/ab/uid-2/input.json",
    ] {
        store.put(key, Bytes::from_static(b"x")).await.unwrap();
    }
    store.delete_prefix("gen/ns/a/").await.unwrap();
    assert_eq!(store.list("").await.unwrap(), ["gen/ns/ab/uid-2/input.json"]);
}

#[tokio::test]
async fn delete_prefix_that_ends_inside_a_name_removes_every_key_starting_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    for key in ["s/app.tar.gz", "s/app/x", "s/apple", "s/other"] {
        store.put(key, Bytes::from_static(b"x")).await.unwrap();
    }
    store.delete_prefix("s/app").await.unwrap();
    assert_eq!(store.list("").await.unwrap(), ["s/other"]);
}

#[tokio::test]
async fn deleting_a_prefix_twice_or_one_that_never_existed_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store.put("a/b", Bytes::from_static(b"x")).await.unwrap();
    store.delete_prefix("a/").await.unwrap();
    store.delete_prefix("a/").await.unwrap();
    store.delete_prefix("never/").await.unwrap();
    store.delete_prefix("never").await.unwrap();
    assert_eq!(store.get("a/b").await.unwrap(), None);
}

#[tokio::test]
async fn deleting_the_whole_store_with_an_empty_prefix_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store.put("keep", Bytes::from_static(b"x")).await.unwrap();
    assert!(matches!(
        store.delete_prefix("").await,
        Err(ArtifactError::InvalidKey { .. })
    ));
    assert_eq!(store.list("").await.unwrap(), ["keep"]);
}

#[tokio::test]
async fn a_second_put_replaces_the_content_whole_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store
        .put("result.json", Bytes::from(vec![b'a'; 10_000]))
        .await
        .unwrap();
    store
        .put("result.json", Bytes::from_static(b"short"))
        .await
        .unwrap();
    assert_eq!(
        store.get("result.json").await.unwrap(),
        Some(Bytes::from_static(b"short"))
    );
    assert_eq!(files_under(&dir.path().join("store")), ["result.json"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_during_overwrites_see_the_old_or_the_new_content_never_a_part() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let old = Bytes::from(vec![b'o'; 256 * 1024]);
    let new = Bytes::from(vec![b'n'; 512 * 1024]);
    store.put("object", old.clone()).await.unwrap();

    let writer = {
        let (store, old, new) = (store.clone(), old.clone(), new.clone());
        tokio::spawn(async move {
            for round in 0..40 {
                let bytes = if round % 2 == 0 { new.clone() } else { old.clone() };
                store.put("object", bytes).await.unwrap();
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() {
        let got = store.get("object").await.unwrap().unwrap();
        assert!(
            got == old || got == new,
            "a reader saw {} bytes of mixed content",
            got.len()
        );
        reads += 1;
    }
    writer.await.unwrap();
    assert!(reads > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_megabytes_round_trip_intact() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let big: Vec<u8> = (0..20 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    store.put("app.tar.gz", Bytes::from(big.clone())).await.unwrap();
    let got = store.get("app.tar.gz").await.unwrap().unwrap();
    assert_eq!(got.len(), big.len());
    assert!(got == big);
}

/// Keys that would reach outside the root (or name nothing) if they were joined to it as they are.
const ESCAPING_KEYS: [&str; 9] = [
    "../outside.txt",
    "a/../../outside.txt",
    "/tmp/outside.txt",
    "./a",
    "a//b",
    "a/",
    "..\\outside.txt",
    "a\0b",
    "",
];

#[tokio::test]
async fn a_key_with_dot_dot_is_refused_and_nothing_outside_the_root_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    std::fs::write(dir.path().join("outside.txt"), b"untouched").unwrap();

    for key in ESCAPING_KEYS {
        match store.put(key, Bytes::from_static(b"pwned")).await {
            Err(ArtifactError::InvalidKey { key: named, .. }) => assert_eq!(named, key),
            other => panic!("put {key:?} gave {other:?}"),
        }
        match store.get(key).await {
            Err(ArtifactError::InvalidKey { key: named, .. }) => assert_eq!(named, key),
            other => panic!("get {key:?} gave {other:?}"),
        }
    }
    assert_eq!(files_under(dir.path()), ["outside.txt"]);
    assert_eq!(
        std::fs::read(dir.path().join("outside.txt")).unwrap(),
        b"untouched"
    );
}

#[tokio::test]
async fn an_error_for_a_bad_key_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let error = store.put("a/../../etc/passwd", Bytes::new()).await.unwrap_err();
    assert!(error.to_string().contains("a/../../etc/passwd"), "{error}");
}

#[tokio::test]
async fn deleting_or_listing_a_prefix_outside_the_root_is_refused_and_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    store.put("inside", Bytes::from_static(b"x")).await.unwrap();
    std::fs::write(dir.path().join("outside.txt"), b"untouched").unwrap();

    for prefix in ["../", "..", "/", "/tmp/", "a/../../", "./", "..\\"] {
        assert!(
            matches!(
                store.delete_prefix(prefix).await,
                Err(ArtifactError::InvalidKey { .. })
            ),
            "delete {prefix:?}"
        );
        assert!(
            matches!(store.list(prefix).await, Err(ArtifactError::InvalidKey { .. })),
            "list {prefix:?}"
        );
    }
    assert_eq!(files_under(dir.path()), ["outside.txt", "store/inside"]);
}

#[tokio::test]
async fn the_uri_is_a_file_url_of_the_absolute_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let root = dir.path().join("store");
    let root = root.to_str().unwrap();
    assert_eq!(store.uri("a/input.json"), format!("file://{root}/a/input.json"));
    assert_eq!(
        store.uri("generations/ns/n/u/"),
        format!("file://{root}/generations/ns/n/u/")
    );
}

#[tokio::test]
async fn a_relative_root_is_made_absolute_so_the_uri_works_from_anywhere() {
    let store = LocalStore::new("relative/store".into()).unwrap();
    let expected = std::env::current_dir().unwrap().join("relative/store/k");
    assert_eq!(store.uri("k"), format!("file://{}", expected.to_str().unwrap()));
}

#[tokio::test]
async fn a_store_opened_from_its_own_uri_sees_the_same_objects_even_with_spaces_in_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().join("app gen data")).unwrap();
    store.put("k", Bytes::from_static(b"v")).await.unwrap();
    let uri = store.uri("");
    assert!(uri.contains("app%20gen%20data"), "{uri}");
    let reopened = LocalStore::from_uri(&uri).unwrap();
    assert_eq!(reopened.get("k").await.unwrap(), Some(Bytes::from_static(b"v")));
    assert_eq!(reopened.uri("k"), store.uri("k"));
}

#[tokio::test]
async fn uris_that_are_not_local_absolute_file_urls_are_refused() {
    for uri in [
        "s3://bucket/prefix",
        "file://host/path",
        "file://relative",
        "/plain/path",
        "file:///a%zz",
        "file:///a?b",
    ] {
        match LocalStore::from_uri(uri) {
            Err(ArtifactError::InvalidUri { uri: named, .. }) => assert_eq!(named, uri),
            other => panic!("{uri:?} gave {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_local_store_is_usable_as_a_shared_trait_object() {
    let dir = tempfile::tempdir().unwrap();
    let store: std::sync::Arc<dyn ArtifactStore> = std::sync::Arc::new(store_in(dir.path()));
    store.put("k", Bytes::from_static(b"v")).await.unwrap();
    assert_eq!(store.list("").await.unwrap(), ["k"]);
    assert!(format!("{store:?}").contains("LocalStore"));
}

#[tokio::test]
async fn a_local_store_has_no_download_url_of_its_own_but_still_refuses_bad_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let expires_in = std::time::Duration::from_secs(60);
    assert_eq!(
        store.download_url("a/app.tar.gz", expires_in).await.unwrap(),
        None
    );
    assert!(matches!(
        store.download_url("../outside", expires_in).await,
        Err(ArtifactError::InvalidKey { .. })
    ));
}
