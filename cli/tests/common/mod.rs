//! Test harness: a real `appgen serve` process on a loopback port, with a fresh data directory,
//! and the clients that talk to it (kubectl, kube-rs, raw HTTP).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod rest;

pub use rest::parse_response;
pub mod task;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const APPGEN: &str = env!("CARGO_BIN_EXE_appgen");

pub struct Server {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`, the same across restarts.
    pub address: String,
    pub token: String,
    pub kubeconfig: PathBuf,
    extra_args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Server {
    /// The API server alone (`--no-controller`), for tests of its semantics.
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    /// The API server alone, with extra flags (e.g. `--watch-history 5`).
    pub fn start_with(extra_args: &[&str]) -> Server {
        let mut args = vec!["--no-controller"];
        args.extend_from_slice(extra_args);
        Self::start_with_controller(&args)
    }

    /// `appgen serve` as users run it, controller included, with extra flags.
    pub fn start_with_controller(extra_args: &[&str]) -> Server {
        Self::start_with_env(extra_args, &[])
    }

    /// `appgen serve` with the controller, extra flags and extra environment.
    pub fn start_with_env(extra_args: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Server {
            child: None,
            dir,
            address: "127.0.0.1:0".into(),
            token: String::new(),
            kubeconfig: PathBuf::new(),
            extra_args: extra_args.iter().map(|s| (*s).to_owned()).collect(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        server.spawn();
        server.token = std::fs::read_to_string(server.data_dir().join("admin-token"))
            .unwrap()
            .trim()
            .to_owned();
        let kubeconfig = Command::new(APPGEN)
            .args(["kubeconfig", "--data-dir"])
            .arg(server.data_dir())
            .output()
            .unwrap();
        assert!(
            kubeconfig.status.success(),
            "appgen kubeconfig failed: {}",
            String::from_utf8_lossy(&kubeconfig.stderr)
        );
        server.kubeconfig = server.data_dir().join("test.kubeconfig");
        std::fs::write(&server.kubeconfig, &kubeconfig.stdout).unwrap();
        server
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    fn spawn(&mut self) {
        let server_file = self.data_dir().join("server.json");
        let _ = std::fs::remove_file(&server_file);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir().join("serve.log"))
            .unwrap();
        let child = Command::new(APPGEN)
            .args(["serve", "--listen", &self.address, "--data-dir"])
            .arg(self.data_dir())
            .args(&self.extra_args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            // TEST_SERVE_LOG=debug (a RUST_LOG filter) makes a failing test's serve.log say more.
            .env(
                "RUST_LOG",
                std::env::var("TEST_SERVE_LOG").unwrap_or("info".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start appgen serve");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let url = std::fs::read_to_string(&server_file)
                .ok()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                .and_then(|v| {
                    v["url"]
                        .as_str()
                        .map(|u| u.trim_start_matches("https://").to_owned())
                });
            if let Some(address) = url {
                self.address = address;
                if self
                    .raw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .is_some()
                {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("appgen serve exited with {status}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "appgen serve did not become ready:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir().join("serve.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// `kill -9`: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for a clean exit; returns whether it exited by itself in time.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        false
    }

    /// Starts the server again on the same address and data directory.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Starts the server again, on the same address and data directory, with other flags.
    pub fn restart_with(&mut self, extra_args: &[&str]) {
        self.extra_args = extra_args.iter().map(|s| (*s).to_owned()).collect();
        self.restart();
    }

    /// Sends raw bytes over plain HTTP and returns the whole response, or None if nothing came back.
    pub fn raw(&self, request: &str) -> Option<String> {
        self.raw_bytes(request.as_bytes())
    }

    pub fn raw_bytes(&self, request: &[u8]) -> Option<String> {
        let mut stream = TcpStream::connect(&self.address).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
        stream.write_all(request).ok()?;
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out);
        (!out.is_empty()).then(|| String::from_utf8_lossy(&out).into_owned())
    }

    /// One plain-HTTP request with the admin token. Returns the status code and the body.
    pub fn http(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.address,
            self.token,
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        let response = self.raw_bytes(&request).expect("a response");
        parse_response(&response)
    }

    /// Runs kubectl against this server.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(kubectl())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .expect("run kubectl")
    }

    /// Runs kubectl with `input` on stdin.
    pub fn kubectl_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = Command::new(kubectl())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl");
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// A kube-rs client for this server, from the kubeconfig `appgen kubeconfig` printed.
    pub async fn client(&self) -> kube::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig).unwrap();
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
                .await
                .unwrap();
        kube::Client::try_from(config).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        self.end_preview_runs();
    }
}

impl Server {
    /// Preview runs outlive `appgen serve` on purpose (the next one adopts them); a test's end with
    /// the test. Each run's whole process group goes, while its leader is still the process its
    /// pid file names (pids are reused).
    fn end_preview_runs(&self) {
        let Ok(runs) = std::fs::read_dir(self.data_dir().join("previews/tasks")) else {
            return;
        };
        for run in runs.flatten() {
            let Ok(pid_file) = std::fs::read_to_string(run.path().join("pid")) else {
                continue;
            };
            let mut fields = pid_file.split_whitespace();
            let (Some(pid), Some(started)) = (fields.next(), fields.next()) else {
                continue;
            };
            if process_start(pid).as_deref() == Some(started) {
                let _ = Command::new("kill")
                    .args(["-s", "KILL", "--", &format!("-{pid}")])
                    .status();
            }
        }
    }
}

/// Field 22 of `/proc/<pid>/stat` (clock ticks after boot), while the process lives.
pub fn process_start(pid: &str) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(19).map(str::to_owned)
}

/// The kubectl the tests drive: 1.32, the version this project targets, where the machine has
/// several; otherwise whatever `kubectl` is on PATH (or `$KUBECTL`).
pub fn kubectl() -> String {
    if let Ok(k) = std::env::var("KUBECTL") {
        return k;
    }
    let pinned = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32";
    if Path::new(pinned).exists() {
        pinned.to_owned()
    } else {
        "kubectl".to_owned()
    }
}

/// pnpm's store for the tests' generator runs: one for every test and run, so after the first
/// install the gates work from it offline, as they do on a warm machine.
pub fn pnpm_store() -> PathBuf {
    std::env::var_os("APPGEN_TEST_PNPM_STORE")
        .map_or_else(|| PathBuf::from("/var/tmp/appgen-test-pnpm-store"), PathBuf::from)
}

/// Every gate ran, in order, and passed, each taking some time.
pub fn assert_every_gate_passed(verification: &[appgen_crd::GateResult]) {
    let ran: Vec<_> = verification.iter().map(|g| (g.gate, g.passed)).collect();
    let all: Vec<_> = appgen_crd::Gate::ALL.into_iter().map(|g| (g, true)).collect();
    assert_eq!(ran, all, "{verification:#?}");
    assert!(
        verification.iter().all(|g| g.duration_ms > 0),
        "{verification:#?}"
    );
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts kubectl succeeded and returns its stdout.
#[track_caller]
pub fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "kubectl failed: {}\n{}",
        stderr(&output),
        stdout(&output)
    );
    stdout(&output)
}

/// Polls until `check` holds for the Generation, or fails after `seconds` with what it last saw.
pub async fn wait_for(
    api: &kube::Api<appgen_crd::Generation>,
    name: &str,
    seconds: u64,
    check: impl Fn(&appgen_crd::Generation) -> bool,
) -> appgen_crd::Generation {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let g = api.get(name).await.unwrap();
        if check(&g) {
            return g;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never got there; last status: {:#?}",
            g.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The Generation's phase, None before the controller has seen it.
pub fn phase(g: &appgen_crd::Generation) -> Option<appgen_crd::Phase> {
    g.status.as_ref().and_then(|s| s.phase)
}

/// An HTTP server on a loopback port, with a runtime of its own so that blocking tests can use it;
/// `app` is given the address first (some fakes put it in the URLs they answer with). The server
/// stops when the runtime is dropped.
pub fn serve_on_loopback(
    app: impl FnOnce(std::net::SocketAddr) -> axum::Router,
) -> (std::net::SocketAddr, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    let app = app(address);
    runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (address, runtime)
}
