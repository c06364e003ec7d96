//! The S3 store against a real S3 API: a moto server that each test starts on a free loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::ErrorKind;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use appgen_artifacts::{ArtifactError, ArtifactStore, Layout, S3Config, S3Store};
use appgen_crd::task::{TaskEvent, TaskEventType};
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
};
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::BodyExt;
use serde_json::json;

const BUCKET: &str = "appgen-test";
const INSTALL_HINT: &str = "the S3 tests need moto's server: run scripts/test as the README says \
     (it installs it), or `pip install 'moto[server]==5.2.1'`";

/// A moto S3 server for one test, killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
    /// Moto's request log; read when it fails to start, and large enough that a pipe would fill.
    log: tempfile::NamedTempFile,
}

impl Moto {
    fn start() -> Moto {
        // moto cannot bind port 0, so borrow a free port from the OS and hand it over.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap_or_else(|error| match error.kind() {
                ErrorKind::NotFound => panic!("moto_server is not on PATH; {INSTALL_HINT}"),
                _ => panic!("could not start moto_server: {error}; {INSTALL_HINT}"),
            });
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        moto.wait_until_listening(port);
        moto
    }

    fn wait_until_listening(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
                panic!("moto_server exited with {status} before listening; {INSTALL_HINT}\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SDK settings that reach this server with moto's fake credentials, whatever the
    /// environment says, and that fail fast instead of retrying.
    async fn sdk_config(&self) -> SdkConfig {
        appgen_artifacts::aws_config_loader()
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .region(Region::new("us-east-1"))
            .retry_config(RetryConfig::disabled())
            .load()
            .await
    }

    /// A client for what the store itself does not do, such as creating buckets.
    async fn client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    fn store_config(&self, bucket: &str, prefix: &str) -> S3Config {
        S3Config {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            region: None,
            endpoint: Some(self.endpoint.clone()),
            force_path_style: true,
        }
    }

    /// A store rooted at `s3://appgen-test/<prefix>`, its bucket created.
    async fn store(&self, prefix: &str) -> S3Store {
        self.client()
            .await
            .create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
        S3Store::from_sdk_config(self.store_config(BUCKET, prefix), &self.sdk_config().await).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Bytes that no compression or repetition could fake: a xorshift stream.
fn noise(len: usize) -> Bytes {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

fn event(seq: u64) -> TaskEvent {
    TaskEvent {
        seq,
        ts: jiff::Timestamp::from_second(1_700_000_000 + seq as i64).unwrap(),
        attempt: 1,
        event_type: TaskEventType::Log,
        body: json!({ "line": format!("line {seq}") }),
    }
}

async fn http_get(url: &str) -> (u16, Bytes) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<Bytes>>();
    let response = client.get(url.parse().unwrap()).await.unwrap();
    let status = response.status().as_u16();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

#[tokio::test]
async fn put_then_get_returns_the_same_bytes_and_a_missing_key_gets_none() {
    let moto = Moto::start();
    let store = moto.store("appgen").await;
    let input = Layout::new("default", "todo", "uid-1").unwrap().input();
    store
        .put(&input, Bytes::from_static(b"{\"prompt\":\"todo\"}"))
        .await
        .unwrap();

    assert_eq!(
        store.get(&input).await.unwrap(),
        Some(Bytes::from_static(b"{\"prompt\":\"todo\"}"))
    );
    assert_eq!(
        store
            .get("generations/default/todo/uid-1/nothing.json")
            .await
            .unwrap(),
        None
    );
    assert!(store.list("generations/default/other/").await.unwrap().is_empty());
    store.delete_prefix("generations/default/other/").await.unwrap();

    // The prefix is the store's root: the object sits under it in the bucket, and the URI says so.
    let in_bucket = moto
        .client()
        .await
        .get_object()
        .bucket(BUCKET)
        .key(format!("appgen/{input}"))
        .send()
        .await;
    assert!(in_bucket.is_ok(), "{in_bucket:?}");
    assert_eq!(store.uri(&input), format!("s3://{BUCKET}/appgen/{input}"));
}

#[tokio::test]
async fn a_second_put_replaces_the_content_and_an_empty_object_reads_back_empty() {
    let moto = Moto::start();
    let store = moto.store("").await;
    store
        .put("a.json", Bytes::from_static(b"old content"))
        .await
        .unwrap();
    store.put("a.json", Bytes::from_static(b"new")).await.unwrap();
    store.put("empty", Bytes::new()).await.unwrap();
    assert_eq!(
        store.get("a.json").await.unwrap(),
        Some(Bytes::from_static(b"new"))
    );
    assert_eq!(store.get("empty").await.unwrap(), Some(Bytes::new()));
    assert_eq!(store.uri("a.json"), format!("s3://{BUCKET}/a.json"));
}

#[tokio::test]
async fn more_than_a_thousand_keys_are_listed_across_pages_and_deleted_in_batches() {
    let moto = Moto::start();
    let store = Arc::new(moto.store("root").await);
    // 1,100 keys: more than one ListObjectsV2 page and more than one DeleteObjects batch.
    let many: Vec<String> = (0..1100)
        .map(|n| format!("generations/default/big/uid-1/session/{n:05}.json"))
        .collect();
    futures::stream::iter(many.clone())
        .for_each_concurrent(16, |key| {
            let store = Arc::clone(&store);
            async move { store.put(&key, Bytes::from_static(b"{}")).await.unwrap() }
        })
        .await;
    let neighbours = [
        "generations/default/big/uid-1/input.json",
        "generations/default/big-2/uid-1/input.json",
    ];
    for key in neighbours {
        store.put(key, Bytes::from_static(b"{}")).await.unwrap();
    }
    // A foreign object beside the root is not the store's.
    moto.client()
        .await
        .put_object()
        .bucket(BUCKET)
        .key("rootless.json")
        .body(Bytes::from_static(b"{}").into())
        .send()
        .await
        .unwrap();

    assert_eq!(
        store
            .list("generations/default/big/uid-1/session/")
            .await
            .unwrap(),
        many
    );
    let mut everything = many.clone();
    everything.extend(neighbours.map(str::to_owned));
    everything.sort();
    assert_eq!(store.list("").await.unwrap(), everything);
    assert_eq!(
        store.list("generations/default/big").await.unwrap().len(),
        1102,
        "a prefix that ends inside a name matches every name starting with it"
    );

    store
        .delete_prefix("generations/default/big/uid-1/session/")
        .await
        .unwrap();
    assert!(
        store
            .list("generations/default/big/uid-1/session/")
            .await
            .unwrap()
            .is_empty()
    );
    let mut left = neighbours.map(str::to_owned).to_vec();
    left.sort();
    assert_eq!(store.list("").await.unwrap(), left);
}

#[tokio::test]
async fn deleting_the_whole_store_with_an_empty_prefix_is_refused() {
    let moto = Moto::start();
    let store = moto.store("p").await;
    store.put("k", Bytes::from_static(b"1")).await.unwrap();
    assert!(matches!(
        store.delete_prefix("").await,
        Err(ArtifactError::InvalidKey { .. })
    ));
    assert_eq!(store.list("").await.unwrap(), ["k"]);
}

#[tokio::test]
async fn twenty_megabytes_round_trip_byte_equal() {
    let moto = Moto::start();
    let store = moto.store("").await;
    let archive = Layout::new("default", "todo", "uid-1").unwrap().archive();
    let bytes = noise(20 * 1024 * 1024);
    store.put(&archive, bytes.clone()).await.unwrap();
    let got = store.get(&archive).await.unwrap().unwrap();
    assert_eq!(got.len(), bytes.len());
    assert!(got == bytes, "the 20 MB object came back different");
}

#[tokio::test]
async fn a_presigned_url_downloads_the_object_over_plain_http() {
    let moto = Moto::start();
    let store = moto.store("appgen").await;
    let archive = Layout::new("default", "todo", "uid-1").unwrap().archive();
    let bytes = noise(100_000);
    store.put(&archive, bytes.clone()).await.unwrap();

    let url = store
        .download_url(&archive, Duration::from_secs(300))
        .await
        .unwrap()
        .expect("S3 stores always have download URLs");
    assert!(
        url.starts_with(&format!("{}/{BUCKET}/appgen/{archive}?", moto.endpoint)),
        "{url}"
    );
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let (status, body) = http_get(&url).await;
    assert_eq!(status, 200);
    assert!(body == bytes, "the download differs from what was put");

    let missing = store
        .download_url(
            "generations/default/todo/uid-1/missing.tar.gz",
            Duration::from_secs(300),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(http_get(&missing).await.0, 404);
}

#[tokio::test]
async fn a_download_url_that_outlives_s3s_limit_is_refused() {
    let moto = Moto::start();
    let store = moto.store("").await;
    let error = store
        .download_url("k", Duration::from_secs(8 * 24 * 3600))
        .await
        .unwrap_err();
    assert!(matches!(error, ArtifactError::S3 { .. }), "{error:?}");
    assert!(error.to_string().contains("7 days"), "{error}");
}

#[tokio::test]
async fn events_appended_in_chunks_are_read_back_from_a_seq_in_the_middle() {
    let moto = Moto::start();
    let store: Arc<dyn ArtifactStore> = Arc::new(moto.store("appgen").await);
    let prefix = Layout::new("default", "todo", "uid-1").unwrap().events_prefix(1);
    for seqs in [1..=3, 4..=5, 6..=9] {
        store
            .append_events(&prefix, &seqs.map(event).collect::<Vec<_>>())
            .await
            .unwrap();
    }
    assert_eq!(store.list(&prefix).await.unwrap().len(), 3);

    let from_five: Vec<u64> = store
        .read_events(&prefix, 5)
        .await
        .unwrap()
        .iter()
        .map(|event| event.seq)
        .collect();
    assert_eq!(from_five, [5, 6, 7, 8, 9]);
    assert_eq!(
        store.read_events(&prefix, 0).await.unwrap(),
        (1..=9).map(event).collect::<Vec<_>>()
    );
    assert!(store.read_events(&prefix, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_lifecycle_rule_expires_generations_and_a_second_call_replaces_it() {
    let moto = Moto::start();
    let store = moto.store("appgen").await;
    assert_eq!(store.generation_expiry_days().await.unwrap(), None);

    // Somebody else's rule, which must survive ours.
    let client = moto.client().await;
    let theirs = LifecycleRule::builder()
        .id("logs")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("logs/").build())
        .expiration(LifecycleExpiration::builder().days(3).build())
        .build()
        .unwrap();
    client
        .put_bucket_lifecycle_configuration()
        .bucket(BUCKET)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(theirs)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    store.expire_generations_after(30).await.unwrap();
    assert_eq!(store.generation_expiry_days().await.unwrap(), Some(30));
    store.expire_generations_after(7).await.unwrap();
    store.expire_generations_after(7).await.unwrap();
    assert_eq!(store.generation_expiry_days().await.unwrap(), Some(7));

    let rules = client
        .get_bucket_lifecycle_configuration()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap()
        .rules
        .unwrap();
    assert_eq!(rules.len(), 2, "{rules:?}");
    let ours: Vec<_> = rules.iter().filter(|rule| rule.id() != Some("logs")).collect();
    assert_eq!(ours.len(), 1, "{rules:?}");
    let filter_prefix = ours[0].filter().and_then(|filter| filter.prefix());
    assert_eq!(filter_prefix, Some("appgen/generations/"));
    assert_eq!(
        ours[0].expiration().and_then(|expiration| expiration.days()),
        Some(7)
    );

    for days in [0, u32::MAX] {
        assert!(matches!(
            store.expire_generations_after(days).await,
            Err(ArtifactError::InvalidExpiry { .. })
        ));
    }
}

#[tokio::test]
async fn a_missing_bucket_is_named_in_the_error_with_what_to_do() {
    let moto = Moto::start();
    let store =
        S3Store::from_sdk_config(moto.store_config("no-such-bucket", "p"), &moto.sdk_config().await).unwrap();
    let error = store.get("generations/x/input.json").await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, ArtifactError::S3 { .. }), "{error:?}");
    assert!(
        text.contains("s3://no-such-bucket/p/generations/x/input.json"),
        "{text}"
    );
    assert!(text.contains("NoSuchBucket"), "{text}");
    assert!(text.contains("create the bucket"), "{text}");
    assert!(!text.contains("testing"), "credentials leaked into {text}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_named_in_the_error() {
    // No moto: a port nobody listens on, so any request fails to connect.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sdk_config = appgen_artifacts::aws_config_loader()
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .region(Region::new("us-east-1"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let config = S3Config {
        bucket: BUCKET.to_owned(),
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        force_path_style: true,
        ..S3Config::default()
    };
    let store = S3Store::from_sdk_config(config, &sdk_config).unwrap();
    let text = store
        .put("k", Bytes::from_static(b"x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains(&format!("s3://{BUCKET}/k")), "{text}");
    assert!(text.contains("endpoint"), "{text}");

    // Keys that could leave the root are refused here, before any request could fail to connect.
    for key in ["../outside", "a/../../b", "/abs", "a//b"] {
        for result in [
            store.put(key, Bytes::from_static(b"x")).await.err(),
            store.get(key).await.err(),
            store.download_url(key, Duration::from_secs(60)).await.err(),
        ] {
            assert!(
                matches!(result, Some(ArtifactError::InvalidKey { .. })),
                "{key}: {result:?}"
            );
        }
    }
    for prefix in ["../", "a/../"] {
        assert!(matches!(
            store.list(prefix).await,
            Err(ArtifactError::InvalidKey { .. })
        ));
        assert!(matches!(
            store.delete_prefix(prefix).await,
            Err(ArtifactError::InvalidKey { .. })
        ));
    }
}

#[tokio::test]
async fn a_store_without_a_region_or_with_a_bad_bucket_or_endpoint_is_refused_up_front() {
    let no_region = SdkConfig::builder().build();
    let config = S3Config {
        bucket: BUCKET.to_owned(),
        ..S3Config::default()
    };
    let error = S3Store::from_sdk_config(config.clone(), &no_region).unwrap_err();
    assert!(error.to_string().contains("AWS_REGION"), "{error}");

    let with_region = SdkConfig::builder().region(Region::new("us-east-1")).build();
    let refused = [
        S3Config {
            bucket: String::new(),
            ..config.clone()
        },
        S3Config {
            prefix: "../escape".to_owned(),
            ..config.clone()
        },
        S3Config {
            endpoint: Some("127.0.0.1:9000".to_owned()),
            ..config.clone()
        },
    ];
    for config in refused {
        match S3Store::from_sdk_config(config.clone(), &with_region) {
            Err(ArtifactError::S3Config { .. }) => {}
            other => panic!("{config:?} gave {other:?}"),
        }
    }
}

/// A task's grant as the controller makes one: the task's input, its parent's session, its own
/// archive, and uploads under its own prefix.
fn grant_request(own: &Layout, parent: &Layout) -> appgen_artifacts::GrantRequest {
    appgen_artifacts::GrantRequest {
        input: own.input(),
        read_prefixes: vec![own.input(), parent.session()],
        read_keys: vec![own.archive()],
        write_prefix: own.prefix().to_owned(),
        expires_in: Duration::from_secs(3600),
    }
}

#[tokio::test]
async fn a_task_working_through_its_grant_reads_what_it_was_given_and_writes_only_under_its_prefix() {
    let moto = Moto::start();
    let store = moto.store("root").await;
    let own = Layout::new("team-a", "todo-2", "u2").unwrap();
    let parent = Layout::new("team-a", "todo", "u1").unwrap();
    let neighbour = Layout::new("team-b", "secret-app", "u9").unwrap();
    store
        .put(&own.input(), Bytes::from_static(b"{\"the\":\"input\"}"))
        .await
        .unwrap();
    let source = format!("{}source.tar.gz", parent.session());
    store.put(&source, noise(4096)).await.unwrap();
    store
        .put(&neighbour.archive(), Bytes::from_static(b"not yours"))
        .await
        .unwrap();

    let grant = store.grant(&grant_request(&own, &parent)).await.unwrap().unwrap();
    let reads: Vec<&String> = grant.reads.keys().collect();
    assert_eq!(
        reads,
        [&own.archive(), &own.input(), &source],
        "what exists under the read prefixes, and the archive to come"
    );
    assert_eq!(grant.upload.object_prefix, format!("root/{}", own.prefix()));

    // The controller hands the task one URL: the grant itself, stored beside the attempt.
    let grant_key = format!("{}grant.json", own.attempt_prefix(1));
    store
        .put(&grant_key, Bytes::from(serde_json::to_vec(&grant).unwrap()))
        .await
        .unwrap();
    let url = store
        .download_url(&grant_key, Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let (granted, input_key) = appgen_artifacts::open_object(&url).await.unwrap();
    assert_eq!(input_key, own.input());
    assert_eq!(
        granted.get(&own.input()).await.unwrap().unwrap(),
        Bytes::from_static(b"{\"the\":\"input\"}")
    );
    assert_eq!(granted.get(&source).await.unwrap().unwrap(), noise(4096));
    // Listed when granted, so a session file the parent never saved reads as absent.
    let transcript = format!("{}transcript.jsonl", parent.session());
    assert!(granted.get(&transcript).await.unwrap().is_none());
    // Granted before it exists: absent until the task writes it, then readable and downloadable.
    assert!(granted.get(&own.archive()).await.unwrap().is_none());
    granted.put(&own.archive(), noise(100_000)).await.unwrap();
    assert_eq!(store.get(&own.archive()).await.unwrap().unwrap(), noise(100_000));
    assert_eq!(
        granted.get(&own.archive()).await.unwrap().unwrap(),
        noise(100_000)
    );
    let download = granted
        .download_url(&own.archive(), Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(http_get(&download).await, (200, noise(100_000)));
    assert_eq!(granted.uri(&own.archive()), store.uri(&own.archive()));

    // Event chunks and results land under the prefix through the same policy.
    granted
        .append_events(&own.events_prefix(1), &[event(1), event(2)])
        .await
        .unwrap();
    granted
        .put(&own.result(1), Bytes::from_static(b"{}"))
        .await
        .unwrap();
    assert_eq!(
        seqs_of(&store.read_events(&own.events_prefix(1), 0).await.unwrap()),
        [1, 2]
    );
    assert!(store.get(&own.result(1)).await.unwrap().is_some());

    // Everything else is refused before a request is made.
    for error in [
        granted.get(&neighbour.archive()).await.unwrap_err(),
        granted
            .put(&neighbour.archive(), Bytes::from_static(b"x"))
            .await
            .unwrap_err(),
        granted
            .put(&parent.archive(), Bytes::from_static(b"x"))
            .await
            .unwrap_err(),
        granted.list(own.prefix()).await.unwrap_err(),
        granted.delete_prefix(own.prefix()).await.unwrap_err(),
    ] {
        assert!(matches!(error, ArtifactError::NotGranted { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("may write only under \"generations/team-a/todo-2/u2/\""),
            "{error}"
        );
    }
    assert_eq!(
        store.get(&neighbour.archive()).await.unwrap().unwrap(),
        Bytes::from_static(b"not yours")
    );
    assert!(store.get(&parent.archive()).await.unwrap().is_none());
}

#[tokio::test]
async fn a_grant_never_shows_its_urls_and_a_broken_grant_url_is_named_without_its_signature() {
    let moto = Moto::start();
    let store = moto.store("").await;
    let own = Layout::new("ns", "app", "u1").unwrap();
    let parent = Layout::new("ns", "parent", "u0").unwrap();
    store.put(&own.input(), Bytes::from_static(b"{}")).await.unwrap();
    let grant = store.grant(&grant_request(&own, &parent)).await.unwrap().unwrap();
    let shown = format!("{grant:?}");
    assert!(
        !shown.contains("X-Amz-Signature") && !shown.contains("policy"),
        "{shown}"
    );

    let missing = store
        .download_url(
            "generations/ns/app/u1/attempts/1/grant.json",
            Duration::from_secs(60),
        )
        .await
        .unwrap()
        .unwrap();
    let error = appgen_artifacts::open_object(&missing)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("NoSuchKey (HTTP 404)"), "{error}");
    assert!(
        error.contains("grant.json") && !error.contains("X-Amz-Signature"),
        "{error}"
    );
}

fn seqs_of(events: &[TaskEvent]) -> Vec<u64> {
    events.iter().map(|event| event.seq).collect()
}

#[tokio::test]
async fn a_local_store_has_no_grants() {
    let dir = tempfile::tempdir().unwrap();
    let store = appgen_artifacts::LocalStore::new(dir.path().to_path_buf()).unwrap();
    let own = Layout::new("ns", "app", "u1").unwrap();
    let parent = Layout::new("ns", "parent", "u0").unwrap();
    assert!(
        store
            .grant(&grant_request(&own, &parent))
            .await
            .unwrap()
            .is_none()
    );
}
