//! A release `appgen serve` for benchmarks, and what they measure of it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use appgen_crd::{Generation, GenerationSpec};
use kube::Client;
use kube::ResourceExt;
use kube::api::Api;

const APPGEN: &str = env!("CARGO_BIN_EXE_appgen");

pub struct Serve {
    child: Child,
    _dir: tempfile::TempDir,
    pub client: Client,
    /// `127.0.0.1:PORT`, for plain HTTP (the REST API).
    pub address: String,
    /// The admin token.
    pub token: String,
}

impl Serve {
    pub async fn start(extra_args: &[&str]) -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(APPGEN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(extra_args)
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
        let server: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("server.json")).unwrap()).unwrap();
        let address = server["url"]
            .as_str()
            .unwrap()
            .trim_start_matches("https://")
            .to_owned();
        let token = std::fs::read_to_string(dir.path().join("admin-token"))
            .unwrap()
            .trim()
            .to_owned();
        Serve {
            child,
            _dir: dir,
            client,
            address,
            token,
        }
    }

    pub fn api(&self) -> Api<Generation> {
        Api::namespaced(self.client.clone(), "default")
    }

    pub fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kb / 1024.0
    }

    /// User + system CPU seconds the server has used so far.
    pub fn cpu_seconds(&self) -> f64 {
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

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A Generation like the ones users create: a paragraph of prompt and an app label.
pub fn generation(name: &str) -> Generation {
    let mut g = Generation::new(
        name,
        GenerationSpec {
            app: Some("recipes".into()),
            timeout_seconds: Some(1800),
            retries: Some(2),
            ..GenerationSpec::from_prompt(
                "A recipe manager: recipes with a name, ingredients, cooking time in minutes and a category. \
                     Users can also plan meals: each meal plan has a date and a recipe.",
            )
        },
    );
    g.labels_mut().insert("appgen.dev/app".into(), "recipes".into());
    g
}
