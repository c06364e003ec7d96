//! Benchmark of the local API server as clients see it: a release `appgen serve` process, driven
//! over HTTPS by kube-rs clients, as the controller and api will drive it.
//!
//! Run: `cargo bench -p appgen --bench apiserver` (figures go to stdout as a Markdown table;
//! `docs/benchmarks.md` records them). `APPGEN_BENCH_OBJECTS` changes the 10,000.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Serve, generation, ms, percentile};
use futures::StreamExt;
use kube::ResourceExt;
use kube::api::{ListParams, PostParams, WatchEvent, WatchParams};

/// Creates `count` objects with `clients` concurrent clients; returns creates per second.
async fn creates(serve: &Serve, prefix: &str, count: usize, clients: usize) -> f64 {
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let api = serve.api();
            let prefix = prefix.to_owned();
            tokio::spawn(async move {
                for i in (c..count).step_by(clients) {
                    api.create(&PostParams::default(), &generation(&format!("{prefix}-{i}")))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// 100 watchers; a writer creates objects at a steady pace; each watcher's delay from the start
/// of the create request to receiving its ADDED event.
async fn watch_latency(serve: &Serve, watchers: usize, writes: usize) -> Vec<Duration> {
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let rv = serve
        .api()
        .list(&ListParams::default().limit(1))
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..watchers {
        let api = serve.api();
        let (sent, rv) = (sent.clone(), rv.clone());
        tasks.push(tokio::spawn(async move {
            let mut delays = Vec::with_capacity(writes);
            let params = WatchParams::default().labels("bench=watch").timeout(120);
            let mut stream = api.watch(&params, &rv).await.unwrap().boxed();
            while delays.len() < writes {
                match stream.next().await {
                    Some(Ok(WatchEvent::Added(g))) => {
                        let at = Instant::now();
                        let start = sent.lock().unwrap()[&g.name_any()];
                        delays.push(at - start);
                    }
                    Some(Ok(_)) => {}
                    other => panic!("watch ended early: {other:?}"),
                }
            }
            delays
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let api = serve.api();
    for i in 0..writes {
        let name = format!("watched-{i}");
        let mut g = generation(&name);
        g.labels_mut().insert("bench".into(), "watch".into());
        sent.lock().unwrap().insert(name, Instant::now());
        api.create(&PostParams::default(), &g).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    all
}

#[tokio::main]
async fn main() {
    let objects: usize = std::env::var("APPGEN_BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let serve = Serve::start(&[]).await;
    println!("| measure | result |\n| --- | --- |");

    let one = creates(&serve, "single", 1_000, 1).await;
    println!("| creates/s, 1 client (1,000 creates) | {one:.0} |");
    let cpu_before = serve.cpu_seconds();
    let started = Instant::now();
    let sixteen = creates(&serve, "burst", objects, 16).await;
    let cpu = (serve.cpu_seconds() - cpu_before) / started.elapsed().as_secs_f64();
    println!(
        "| creates/s, 16 clients ({objects} creates) | {sixteen:.0} (server CPU {:.0}% of one core) |",
        cpu * 100.0
    );

    let latencies = watch_latency(&serve, 100, 200).await;
    println!(
        "| watch delivery, 100 watchers, 200 creates at ~100/s | p50 {}, p99 {}, max {} ({} deliveries) |",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(percentile(&latencies, 1.0)),
        latencies.len()
    );

    let stored = serve
        .api()
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .len();
    println!(
        "| RSS with {stored} Generations stored | {:.1} MB |",
        serve.rss_mb()
    );

    let mut full = Vec::new();
    let mut paged = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let list = serve.api().list(&ListParams::default()).await.unwrap();
        full.push(t.elapsed());
        assert_eq!(list.items.len(), stored);
        let t = Instant::now();
        let mut token: Option<String> = None;
        let mut seen = 0;
        loop {
            let mut params = ListParams::default().limit(500);
            if let Some(c) = token.take() {
                params = params.continue_token(&c);
            }
            let page = serve.api().list(&params).await.unwrap();
            seen += page.items.len();
            match page.metadata.continue_ {
                Some(c) if !c.is_empty() => token = Some(c),
                _ => break,
            }
        }
        assert_eq!(seen, stored);
        paged.push(t.elapsed());
    }
    full.sort();
    paged.sort();
    println!(
        "| list all {stored} (one request, kube-rs decoding included) | p50 {}, max {} |",
        ms(percentile(&full, 0.5)),
        ms(percentile(&full, 1.0))
    );
    println!(
        "| list all {stored} in pages of 500 | p50 {}, max {} |",
        ms(percentile(&paged, 0.5)),
        ms(percentile(&paged, 1.0))
    );
    println!("| RSS after listing | {:.1} MB |", serve.rss_mb());
}
