//! `appgen serve --backend docker` end to end: a real scaffold generation runs to Delivered inside a
//! container on `podman system service`, from an image made by `podman import`, with no network.
//! The image is a skeleton; the host's `/usr` (pnpm, git, Chromium and their libraries), Node 22
//! and this build's `appgen` are mounted into it read-only, as `--docker-mount` allows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "../../controller/tests/support/podman.rs"]
mod podman;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use appgen_crd::{Generation, GenerationSpec, Phase};
use common::{APPGEN, Server, assert_every_gate_passed, pnpm_store};
use kube::api::{Api, PostParams};
use podman::Podman;

const IMAGE: &str = "localhost/appgen-generator-test:1";
const NODE_22: &str = "/opt/node-22";
const PATH: &str = "/opt/appgen/bin:/opt/node-22/bin:/usr/local/bin:/usr/bin:/bin";

/// A root filesystem whose programs all come from mounts: the host's `/etc` (users, fonts,
/// Chromium's settings), merged-`/usr` links, and empty places for the mounts.
fn skeleton(podman: &Podman) -> std::path::PathBuf {
    let root = podman.dir().join("generator-rootfs");
    for dir in [
        "usr",
        "tmp",
        "var/tmp",
        "proc",
        "sys",
        "dev",
        "run",
        "root",
        "workspace",
        "opt/appgen/bin",
        "opt/node-22",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    for link in ["bin", "lib", "lib64", "sbin"] {
        std::os::unix::fs::symlink(format!("usr/{link}"), root.join(link)).unwrap();
    }
    for dir in ["tmp", "var/tmp"] {
        std::fs::set_permissions(
            root.join(dir),
            std::os::unix::fs::PermissionsExt::from_mode(0o1777),
        )
        .unwrap();
    }
    let copied = Command::new("cp")
        .args(["-a", "/etc"])
        .arg(root.join("etc"))
        .status()
        .unwrap();
    assert!(copied.success());
    root
}

/// Fills pnpm's store with what the scaffolded app and the smoke gate install, from the registry on
/// the host, so the container installs offline (it has no network). Quick once the store is warm.
fn warm(store: &Path) {
    let assets = concat!(env!("CARGO_MANIFEST_DIR"), "/../generator/assets");
    for project in ["app", "smoke"] {
        let dir = tempfile::tempdir().unwrap();
        for file in ["package.json", "pnpm-lock.yaml"] {
            std::fs::copy(Path::new(assets).join(project).join(file), dir.path().join(file)).unwrap();
        }
        let output = Command::new("pnpm")
            .args(["fetch", "--store-dir"])
            .arg(store)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "pnpm fetch for {project}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_with_the_docker_backend_delivers_a_generation_built_in_a_container() {
    let podman = Podman::start();
    podman.import(
        &skeleton(&podman),
        IMAGE,
        &[&format!("ENV PATH={PATH}"), "WORKDIR /workspace"],
    );
    let store = pnpm_store();
    warm(&store);
    let host = podman.host();
    let appgen_mount = format!("{APPGEN}:/opt/appgen/bin/appgen");
    let store_flag = store.display().to_string();
    let server = Server::start_with_controller(&[
        "--backend",
        "docker",
        "--docker-host",
        &host,
        "--docker-image",
        IMAGE,
        "--docker-network",
        "none",
        "--docker-mount",
        "/usr",
        "--docker-mount",
        NODE_22,
        "--docker-mount",
        &appgen_mount,
        "--pnpm-store",
        &store_flag,
        "--agent",
        "scaffold",
        "--max-previews",
        "0",
    ]);
    let api: Api<Generation> = Api::namespaced(server.client().await, "default");
    let generation = Generation::new(
        "todo",
        GenerationSpec {
            app: Some("todo".into()),
            timeout_seconds: Some(900),
            retries: Some(0),
            ..GenerationSpec::from_prompt(
                "A todo app where tasks have a title, a due date, a priority (low, medium, high) and a done flag.",
            )
        },
    );
    let created = api.create(&PostParams::default(), &generation).await.unwrap();
    let uid = created.metadata.uid.clone().unwrap();

    let deadline = Instant::now() + Duration::from_secs(900);
    let done = loop {
        let g = api.get("todo").await.unwrap();
        let phase = g.status.as_ref().and_then(|s| s.phase);
        if matches!(phase, Some(Phase::Delivered | Phase::Failed)) {
            break g;
        }
        assert!(
            Instant::now() < deadline,
            "never finished: {:#?}\n{}",
            g.status,
            server.log()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let container = format!("appgen-{uid}-1");
    let status = done.status.clone().unwrap();
    assert_eq!(
        status.phase,
        Some(Phase::Delivered),
        "{status:#?}\ncontainer log:\n{}",
        podman
            .command()
            .args(["logs", &container])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
            .unwrap_or_default()
    );
    assert_every_gate_passed(&status.verification);
    let attempt = &status.attempts[0];
    assert_eq!(attempt.backend, "docker");
    assert_eq!(attempt.exit_code, Some(0));

    // It ran in that container, which is labelled with its Generation and kept for its logs.
    let labels = podman.run(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"appgen.dev/generation\"}} {{index .Config.Labels \"appgen.dev/uid\"}} {{.HostConfig.NetworkMode}}",
        &container,
    ]);
    assert_eq!(labels.trim(), format!("todo {uid} none"));
    let archive = server
        .data_dir()
        .join(format!("artifacts/generations/default/todo/{uid}/app.tar.gz"));
    assert!(archive.is_file(), "{} was delivered", archive.display());
}
