//! Benchmark of the REST API: reads with 10,000 Generations stored, and 200 browsers following
//! one generation's event stream.
//!
//! Run: `cargo bench -p appgen --bench rest`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
// Shared with the tests; the bench uses only part of it.
#[allow(dead_code)]
#[path = "../tests/common/rest.rs"]
mod rest;

use std::time::{Duration, Instant};

use appgen_crd::Generation;
use common::{Serve, generation, ms, percentile};
use kube::Api;
use kube::api::PostParams;
use rest::Rest;

const STORED: usize = 10_000;
const READS: usize = 1_000;
const STREAMS: usize = 200;

/// p50 and p99 of `READS` sequential requests for `path`.
fn measure(rest: &Rest, path: &str) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..READS)
        .map(|_| {
            let started = Instant::now();
            let reply = rest.get(path);
            assert_eq!(reply.status, 200, "{}", reply.body);
            started.elapsed()
        })
        .collect();
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

async fn reads() {
    let serve = Serve::start(&[
        "--no-controller",
        "--user-rate",
        "100000,100000",
        "--ip-rate",
        "100000,100000",
    ])
    .await;
    let ann = Rest::sign_up(&serve.address, "ann");
    let api: Api<Generation> = Api::namespaced(serve.client.clone(), &ann.namespace());
    let started = Instant::now();
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let api = api.clone();
            tokio::spawn(async move {
                for i in (w..STORED).step_by(16) {
                    api.create(&PostParams::default(), &generation(&format!("recipes-{i:05}")))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    println!(
        "stored {STORED} Generations in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while ann.get("/api/v1/generations?limit=500").json()["items"]
        .as_array()
        .unwrap()
        .len()
        < 500
    {
        assert!(Instant::now() < deadline, "the api's cache never filled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rss_before = serve.rss_mb();
    let (list50, list99) = tokio::task::block_in_place(|| measure(&ann, "/api/v1/generations?limit=50"));
    let (app50, app99) = tokio::task::block_in_place(|| {
        measure(&ann, "/api/v1/generations?app=recipes&phase=Pending&limit=50")
    });
    let one = format!("/api/v1/generations/{}/recipes-04321", ann.namespace());
    let (get50, get99) = tokio::task::block_in_place(|| measure(&ann, &one));
    println!(
        "list (50 of {STORED}):            p50 {}  p99 {}",
        ms(list50),
        ms(list99)
    );
    println!(
        "list filtered by app and phase: p50 {}  p99 {}",
        ms(app50),
        ms(app99)
    );
    println!(
        "get one:                        p50 {}  p99 {}",
        ms(get50),
        ms(get99)
    );
    println!(
        "serve RSS: {rss_before:.1} MB before the reads, {:.1} MB after",
        serve.rss_mb()
    );
}

async fn streams() {
    let serve = Serve::start(&[
        "--backend",
        "simulated",
        "--user-rate",
        "100000,100000",
        "--ip-rate",
        "100000,100000",
    ])
    .await;
    let ann = Rest::sign_up(&serve.address, "ann");
    let view = ann.create("A guest book simulate:seconds=10");
    let events = format!("{}/events", view["links"]["self"].as_str().unwrap());
    let started = Instant::now();
    let readers: Vec<_> = (0..STREAMS)
        .map(|_| {
            let (ann, events) = (ann.clone(), events.clone());
            std::thread::spawn(move || {
                let got = ann.events(&events, None, 120);
                (got, started.elapsed())
            })
        })
        .collect();
    let results: Vec<_> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    let ids = |events: &[rest::Sse]| events.iter().filter_map(|e| e.id.clone()).collect::<Vec<_>>();
    let reference = ids(&results[0].0);
    let mut complete = 0;
    for (got, _) in &results {
        let in_order = ids(got) == reference;
        let ended = got.last().is_some_and(|e| e.event == "outcome");
        if in_order && ended {
            complete += 1;
        }
    }
    let mut ends: Vec<Duration> = results.iter().map(|(_, at)| *at).collect();
    ends.sort();
    println!(
        "{STREAMS} streams on one generation: {complete} received all {} events in order and the outcome; \
         the last stream ended {:.2} s after the first (generation time 10 s)",
        reference.len(),
        (ends[ends.len() - 1] - ends[0]).as_secs_f64()
    );
    println!(
        "serve CPU for the {STREAMS} streams: {:.1} s",
        serve.cpu_seconds()
    );
    assert_eq!(complete, STREAMS, "every stream got every event, in order");
}

/// What a browser's first visit to the UI transfers: the page and every script and stylesheet
/// it names, as the server sends them to a client that accepts gzip.
async fn first_load() {
    let serve = Serve::start(&["--no-controller"]).await;
    let browser = Rest::anonymous(&serve.address);
    let fetch = |path: &str| {
        browser.exchange_bytes("GET", path, &[("Accept-Encoding", "gzip")], "text/plain", b"", 30)
    };
    let page = fetch("/");
    // The names of the assets, from the page as it reads uncompressed.
    let html = browser.get("/").body;
    let assets: Vec<String> = html
        .split(['"', '\''])
        .filter(|part| part.starts_with("/assets/"))
        .map(str::to_owned)
        .collect();
    let mut total = page.len();
    for asset in &assets {
        let response = fetch(asset);
        let head = String::from_utf8_lossy(&response[..response.len().min(1024)]).to_ascii_lowercase();
        assert!(
            head.contains("content-encoding: gzip"),
            "{asset} is not sent gzipped"
        );
        total += response.len();
    }
    println!(
        "UI first load: {:.1} kB over the wire, gzipped (index.html and {} assets, headers included)",
        total as f64 / 1000.0,
        assets.len()
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    first_load().await;
    reads().await;
    streams().await;
}
