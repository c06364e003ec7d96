//! The web app end to end: the real `appgen serve` (scaffold agent, process tasks, live
//! previews) driven in Debian's headless Chromium by `ui/e2e/e2e.mjs` (playwright-core, installed
//! by `pnpm --dir ui install`, which scripts/test runs first). Screenshots of each main page land in
//! `target/e2e-screenshots/` for a person to look at.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::Server;

#[test]
fn a_person_builds_gets_and_continues_an_app_in_the_browser_and_another_sees_none_of_it() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui");
    assert!(
        ui.join("node_modules/playwright-core").is_dir(),
        "ui/node_modules is missing: run `pnpm --dir ui install` (scripts/test does)"
    );
    let store = common::pnpm_store();
    let server =
        Server::start_with_controller(&["--agent", "scaffold", "--pnpm-store", store.to_str().unwrap()]);
    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();

    let run = Command::new("node")
        .arg(ui.join("e2e/e2e.mjs"))
        .env("APPGEN_URL", format!("http://{}", server.address))
        .env("APPGEN_SCREENSHOTS", &screenshots)
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.status.success(),
        "the end-to-end run failed:\n{out}\n--- serve log (tail) ---\n{}",
        server
            .log()
            .lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    println!("{out}\nscreenshots: {}", screenshots.display());
    for page in std::fs::read_dir(&screenshots).unwrap() {
        let page = page.unwrap().path();
        assert!(
            std::fs::read(&page).unwrap().starts_with(b"\x89PNG"),
            "{}",
            page.display()
        );
    }
}
