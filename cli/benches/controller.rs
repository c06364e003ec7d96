//! Benchmark of the control plane: a release `appgen serve` with the simulated backend (tasks
//! that take no time), a burst of Generations, and how fast they go from created to Launched and
//! Delivered.
//!
//! Run: `cargo bench -p appgen --bench controller` (`APPGEN_BENCH_GENERATIONS` changes the 1,000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use appgen_crd::{Generation, Phase};
use common::{Serve, generation, ms, percentile};
use futures::StreamExt;
use kube::ResourceExt;
use kube::api::PostParams;
use kube::runtime::{WatchStreamExt, watcher};

#[derive(Default)]
struct Timeline {
    created: HashMap<String, Instant>,
    launched: HashMap<String, Instant>,
    delivered: HashMap<String, Instant>,
}

fn launched(g: &Generation) -> bool {
    g.status
        .as_ref()
        .is_some_and(|s| s.attempts.first().is_some_and(|a| a.start_time.is_some()))
}

fn delivered(g: &Generation) -> bool {
    g.status.as_ref().and_then(|s| s.phase) == Some(Phase::Delivered)
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("APPGEN_BENCH_GENERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let cap = (count * 2).to_string();
    let serve = Serve::start(&[
        "--backend",
        "simulated",
        "--simulated-task-seconds",
        "0",
        "--max-running",
        &cap,
    ])
    .await;
    let timeline: Arc<Mutex<Timeline>> = Arc::default();

    let watching = {
        let (api, timeline) = (serve.api(), timeline.clone());
        tokio::spawn(async move {
            let mut events = watcher(api, watcher::Config::default()).applied_objects().boxed();
            while let Some(Ok(g)) = events.next().await {
                let now = Instant::now();
                let mut t = timeline.lock().unwrap();
                if launched(&g) {
                    t.launched.entry(g.name_any()).or_insert(now);
                }
                if delivered(&g) {
                    t.delivered.entry(g.name_any()).or_insert(now);
                    if t.delivered.len() == count {
                        return;
                    }
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;

    let cpu_before = serve.cpu_seconds();
    let started = Instant::now();
    let clients = 16;
    let creates: Vec<_> = (0..clients)
        .map(|c| {
            let (api, timeline) = (serve.api(), timeline.clone());
            tokio::spawn(async move {
                for i in (c..count).step_by(clients) {
                    let name = format!("burst-{i:05}");
                    timeline
                        .lock()
                        .unwrap()
                        .created
                        .insert(name.clone(), Instant::now());
                    api.create(&PostParams::default(), &generation(&name))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for c in creates {
        c.await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(600), watching)
        .await
        .expect("all delivered in time")
        .unwrap();
    let elapsed = started.elapsed();
    let cpu = (serve.cpu_seconds() - cpu_before) / elapsed.as_secs_f64();

    let (to_launch, to_deliver, delivered) = {
        let t = timeline.lock().unwrap();
        let since_created = |at: &HashMap<String, Instant>| {
            let mut d: Vec<Duration> = at.iter().map(|(name, when)| *when - t.created[name]).collect();
            d.sort();
            d
        };
        (
            since_created(&t.launched),
            since_created(&t.delivered),
            t.delivered.len(),
        )
    };
    println!("| measure | result |\n| --- | --- |");
    println!("| Generations created in a burst (16 clients) / delivered | {count} / {delivered} |");
    println!(
        "| create → Launched (status shows the attempt started) | p50 {}, p99 {} |",
        ms(percentile(&to_launch, 0.5)),
        ms(percentile(&to_launch, 0.99))
    );
    println!(
        "| create → Delivered | p50 {}, p99 {} |",
        ms(percentile(&to_deliver, 0.5)),
        ms(percentile(&to_deliver, 0.99))
    );
    println!(
        "| Generations/s end to end (first create to last Delivered) | {:.0} |",
        count as f64 / elapsed.as_secs_f64()
    );
    println!("| serve CPU during the run | {:.0}% of one core |", cpu * 100.0);
    println!(
        "| serve RSS with {count} finished Generations | {:.1} MB |",
        serve.rss_mb()
    );
    let steady = steady_launch_latency(&serve, 100).await;
    println!(
        "| create → Launched at a steady 10/s, far under the cap and the throughput | p50 {}, p99 {} |",
        ms(percentile(&steady, 0.5)),
        ms(percentile(&steady, 0.99))
    );
}

/// Creates `count` Generations one every 100 ms and returns, for each, the time from the start of
/// its create request until a watcher sees its attempt started.
async fn steady_launch_latency(serve: &Serve, count: usize) -> Vec<Duration> {
    let created: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let (found_tx, mut found_rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    let api = serve.api();
    let watching = tokio::spawn(async move {
        let mut events = watcher(api, watcher::Config::default()).applied_objects().boxed();
        while let Some(event) = events.next().await {
            if let Ok(g) = event
                && launched(&g)
                && g.name_any().starts_with("steady-")
                && found_tx.send((g.name_any(), Instant::now())).is_err()
            {
                return;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let api = serve.api();
    for i in 0..count {
        let name = format!("steady-{i:04}");
        created.lock().unwrap().insert(name.clone(), Instant::now());
        api.create(&PostParams::default(), &generation(&name))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut seen: HashMap<String, Instant> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < count && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), found_rx.recv()).await {
            Ok(Some((name, at))) => {
                seen.entry(name).or_insert(at);
            }
            Ok(None) => break,
            Err(_) => {}
        }
    }
    watching.abort();
    assert_eq!(seen.len(), count, "every steady Generation was seen launched");
    let created = created.lock().unwrap();
    let mut delays: Vec<Duration> = seen.iter().map(|(name, at)| *at - created[name]).collect();
    delays.sort();
    delays
}
