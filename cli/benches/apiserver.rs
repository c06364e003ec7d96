//! Benchmark of the local API server as clients see it: a release `appgen serve` process, driven
//! over HTTPS by kube-rs clients, as the controller and api will drive it.
//!
//! Run: `cargo bench -p appgen --bench apiserver` (figures go to stdout as a Markdown table;
//! `docs/benchmarks.md` records them). `APPGEN_BENCH_OBJECTS` changes the 10,000.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use appgen_crd::{Generation, GenerationSpec};
use futures::StreamExt;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use kube::{Client, ResourceExt};

const APPGEN: &str = env!("CARGO_BIN_EXE_appgen");

struct Serve {
    child: Child,
    _dir: tempfile::TempDir,
    client: Client,
}

impl Serve {
    async fn start() -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(APPGEN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !dir.path().join("server.json").exists() {
            assert!(Instant::now() < deadline, "appgen serve did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let out = Command::new(APPGEN)
            .args(["kubeconfig", "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        let kubeconfig: kube::config::Kubeconfig = serde_saphyr::from_slice(&out.stdout).unwrap();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        let client = Client::try_from(config).unwrap();
        Serve {
            child,
            _dir: dir,
            client,
        }
    }

    fn api(&self) -> Api<Generation> {
        Api::namespaced(self.client.clone(), "default")
    }

    fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kb / 1024.0
    }

    /// User + system CPU seconds the server has used so far.
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
        ticks / 100.0
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn generation(name: &str) -> Generation {
    let mut g = Generation::new(
        name,
        GenerationSpec {
            prompt:
                "A recipe manager: recipes with a name, ingredients, cooking time in minutes and a category. \
                     Users can also plan meals: each meal plan has a date and a recipe."
                    .into(),
            app: Some("recipes".into()),
            parent: None,
            agent: None,
            template: "react-vite-express".into(),
            blueprint: None,
            delivery: None,
            timeout_seconds: Some(1800),
            retries: Some(2),
            cancel: None,
            ttl_seconds_after_finished: None,
        },
    );
    g.labels_mut().insert("appgen.dev/app".into(), "recipes".into());
    g
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

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
    let serve = Serve::start().await;
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
