//! A real Docker-compatible engine for tests: `podman system service` on a socket in a temporary
//! directory, with its own storage, started by the test and killed with its whole process group
//! when the guard drops (also when the test panics). Images are made with `podman import` from a
//! root filesystem the test lays out: no registry is reachable, and nothing is ever pulled.
//!
//! Shared by the controller's and the CLI's tests (the CLI includes this file by path).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Rootful podman on this machine: runc (Debian's crun is not installed) and ulimits the container
/// may keep (the defaults exceed what the test machine grants); file locks so that services with
/// separate storage never share or free each other's locks.
const CONTAINERS_CONF: &str = r#"[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
lock_type = "file"
"#;

pub struct Podman {
    dir: tempfile::TempDir,
    service: Child,
    pub socket: PathBuf,
}

impl Podman {
    /// Starts the service and waits until it answers on its socket.
    pub fn start() -> Podman {
        let dir = tempfile::Builder::new()
            .prefix("appgen-podman-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("containers.conf"), CONTAINERS_CONF).unwrap();
        let socket = dir.path().join("podman.sock");
        let log = std::fs::File::create(dir.path().join("service.log")).unwrap();
        let mut command = podman_command(dir.path());
        command
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // Its own process group, so the guard ends the service and everything it started at once.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let service = command
            .spawn()
            .expect("podman is installed (scripts/test installs it)");
        let podman = Podman { dir, service, socket };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::os::unix::net::UnixStream::connect(&podman.socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "podman system service never listened on {}: {}",
                podman.socket.display(),
                podman.service_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        podman
    }

    /// The engine's address as DOCKER_HOST spells it.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// A temporary directory that lives as long as the service.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The podman CLI on this service's storage.
    pub fn command(&self) -> Command {
        podman_command(self.dir.path())
    }

    /// Runs the podman CLI and returns its stdout; panics with its stderr when it fails.
    pub fn run(&self, args: &[&str]) -> String {
        let output = self.command().args(args).output().unwrap();
        assert!(
            output.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Imports the directory `rootfs` as image `reference`, with Dockerfile-style `changes` such as
    /// `ENV PATH=...`.
    pub fn import(&self, rootfs: &Path, reference: &str, changes: &[&str]) {
        let tarball = self.dir.path().join("rootfs.tar");
        let status = Command::new("tar")
            .arg("-C")
            .arg(rootfs)
            .arg("-cf")
            .arg(&tarball)
            .arg(".")
            .status()
            .unwrap();
        assert!(status.success(), "tar of {}", rootfs.display());
        let mut args = vec!["import".to_owned()];
        for change in changes {
            args.extend(["--change".to_owned(), (*change).to_owned()]);
        }
        args.extend([tarball.display().to_string(), reference.to_owned()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args);
        std::fs::remove_file(&tarball).unwrap();
    }

    /// A root filesystem of Debian's static busybox: `/bin/sh`, `sleep`, `cat` and the rest.
    pub fn busybox_rootfs(&self) -> PathBuf {
        let root = self.dir.path().join("busybox-rootfs");
        for dir in ["bin", "etc", "tmp", "proc", "sys", "dev", "workspace"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        std::fs::copy("/bin/busybox", root.join("bin/busybox"))
            .expect("busybox-static is installed (scripts/test installs it)");
        for applet in ["sh", "sleep", "cat", "echo", "ls", "touch", "kill", "env", "test"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
        std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        std::fs::write(root.join("etc/group"), "root:x:0:\n").unwrap();
        root
    }

    fn service_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("service.log")).unwrap_or_default()
    }
}

fn podman_command(dir: &Path) -> Command {
    let mut command = Command::new("podman");
    command
        .env("CONTAINERS_CONF", dir.join("containers.conf"))
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--runroot")
        .arg(dir.join("runroot"))
        .arg("--tmpdir")
        .arg(dir.join("tmp"))
        // vfs: no overlay mounts left behind under the temporary directory.
        .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"]);
    command
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Containers run under conmon, outside the service's process group: remove them first.
        let _ = self
            .command()
            .args(["rm", "--all", "--force", "--time", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.service.id())])
            .status();
        let _ = self.service.wait();
    }
}
