//! Blueprint → the files of a React + Vite + Express app (the scaffold agent's second half).
//!
//! Pure and deterministic: the same blueprint and app info give the same files, byte for byte,
//! in the same order. Writing them to disk and running the gates is someone else's job.
//!
//! The app is data-driven: `src/shared/model.ts` describes the entities, and the server's
//! routes and validation and the client's pages are written once against that description
//! (they live in `generator/assets/app/`). Per blueprint, only the model, the tests,
//! `index.html`, `package.json` and the README change.
//!
//! What the gates can rely on in every app:
//! - `pnpm install --offline --frozen-lockfile` works from a warm store (the lockfile is fixed);
//! - scripts `dev`, `build`, `start`, `test`, `typecheck`;
//! - `pnpm start` after `pnpm build` serves the API under `/api` and the client on `PORT`
//!   (default 3000) at `HOST` (default 127.0.0.1), with `GET /api/health` → 200
//!   `{"status":"ok",...}`, and data in `DATA_DIR` (default `./data`);
//! - the home page shows each entity's plural label ([`home_page_labels`]) in its `<nav>` and
//!   as a card heading (`li[data-entity="<Name>"]`).
//!
//! `cargo run -p appgen-generator --example render_app -- <blueprint.json> <out-dir>` writes an
//! app to try by hand.

mod api_tests;
mod client_tests;
mod escape;
mod model;
mod names;
mod readme;
mod samples;
mod template;
#[cfg(test)]
mod tests;

use appgen_crd::Blueprint;

use model::AppModel;

/// What the renderer needs to know about the app besides its data model.
#[derive(Debug, Clone, Copy)]
pub struct AppInfo<'a> {
    /// The app's name, a DNS label such as `todo`; also its npm package name.
    pub name: &'a str,
    /// The title people see; when blank, the blueprint's title or the name is used.
    pub title: &'a str,
    /// The request the app was made from, quoted in its README.
    pub prompt: &'a str,
}

/// One file of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// Relative to the app's root, `/`-separated, never absolute and never with `..`.
    pub path: String,
    pub contents: String,
}

/// Every file of the app, sorted by path. `node_modules` is not included: `pnpm install`
/// brings it from the `pnpm-lock.yaml` that is.
pub fn render(blueprint: &Blueprint, app: &AppInfo) -> Vec<PlannedFile> {
    let model = AppModel::from_blueprint(blueprint, &title(blueprint, app));
    let mut files: Vec<PlannedFile> = template::STATIC_FILES
        .iter()
        .map(|(path, contents)| file(path, (*contents).to_owned()))
        .collect();
    files.extend([
        file(
            "package.json",
            template::package_json(&names::package_name(app.name)),
        ),
        file("index.html", template::index_html(&model.title)),
        file("README.md", readme::render(&model, app.prompt)),
        file("src/shared/model.ts", model.to_typescript()),
        file("src/server/api.test.ts", api_tests::render(&model)),
        file("src/client/App.test.tsx", client_tests::render(&model)),
    ]);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// The plural labels of the entities (e.g. "Tasks", "Meal Plans"), in blueprint order: the
/// texts the app's navigation and home page show, one per entity.
pub fn home_page_labels(blueprint: &Blueprint) -> Vec<String> {
    AppModel::from_blueprint(blueprint, "")
        .entities
        .into_iter()
        .map(|entity| entity.plural_label)
        .collect()
}

/// The first title given that is not blank, on one line (it heads pages and the README).
fn title(blueprint: &Blueprint, app: &AppInfo) -> String {
    [Some(app.title), blueprint.title.as_deref()]
        .into_iter()
        .flatten()
        .map(|title| title.split_whitespace().collect::<Vec<_>>().join(" "))
        .find(|title| !title.is_empty())
        .unwrap_or_else(|| names::title_from_name(app.name))
}

fn file(path: &str, contents: String) -> PlannedFile {
    PlannedFile {
        path: path.to_owned(),
        contents,
    }
}
