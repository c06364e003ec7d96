//! The files every generated app shares, kept as real files under `generator/assets/app/` so
//! they can be read, edited and type-checked as the code they are.

use super::escape::html;

/// Copied as they are: (path in the app, contents).
pub const STATIC_FILES: &[(&str, &str)] = &[
    (".gitignore", include_str!("../../assets/app/gitignore")),
    ("pnpm-lock.yaml", include_str!("../../assets/app/pnpm-lock.yaml")),
    (
        "public/favicon.svg",
        include_str!("../../assets/app/public/favicon.svg"),
    ),
    (
        "src/client/App.tsx",
        include_str!("../../assets/app/src/client/App.tsx"),
    ),
    (
        "src/client/api.ts",
        include_str!("../../assets/app/src/client/api.ts"),
    ),
    (
        "src/client/fields.tsx",
        include_str!("../../assets/app/src/client/fields.tsx"),
    ),
    (
        "src/client/load.ts",
        include_str!("../../assets/app/src/client/load.ts"),
    ),
    (
        "src/client/main.tsx",
        include_str!("../../assets/app/src/client/main.tsx"),
    ),
    (
        "src/client/pages/EntityDetail.tsx",
        include_str!("../../assets/app/src/client/pages/EntityDetail.tsx"),
    ),
    (
        "src/client/pages/EntityForm.tsx",
        include_str!("../../assets/app/src/client/pages/EntityForm.tsx"),
    ),
    (
        "src/client/pages/EntityList.tsx",
        include_str!("../../assets/app/src/client/pages/EntityList.tsx"),
    ),
    (
        "src/client/pages/Home.tsx",
        include_str!("../../assets/app/src/client/pages/Home.tsx"),
    ),
    (
        "src/client/router.tsx",
        include_str!("../../assets/app/src/client/router.tsx"),
    ),
    (
        "src/client/styles.css",
        include_str!("../../assets/app/src/client/styles.css"),
    ),
    (
        "src/server/app.ts",
        include_str!("../../assets/app/src/server/app.ts"),
    ),
    (
        "src/server/crud.ts",
        include_str!("../../assets/app/src/server/crud.ts"),
    ),
    (
        "src/server/main.ts",
        include_str!("../../assets/app/src/server/main.ts"),
    ),
    (
        "src/server/store.ts",
        include_str!("../../assets/app/src/server/store.ts"),
    ),
    (
        "src/server/validate.ts",
        include_str!("../../assets/app/src/server/validate.ts"),
    ),
    (
        "src/shared/schema.ts",
        include_str!("../../assets/app/src/shared/schema.ts"),
    ),
    ("tsconfig.json", include_str!("../../assets/app/tsconfig.json")),
    ("vite.config.ts", include_str!("../../assets/app/vite.config.ts")),
    (
        "vitest.config.ts",
        include_str!("../../assets/app/vitest.config.ts"),
    ),
];

const PACKAGE_JSON: &str = include_str!("../../assets/app/package.json");
const INDEX_HTML: &str = include_str!("../../assets/app/index.html");

/// `package.json` under the app's package name, which [`super::names::package_name`] keeps to
/// `[a-z0-9-]`, so it needs no JSON escaping.
pub fn package_json(package_name: &str) -> String {
    PACKAGE_JSON.replace("{{name}}", package_name)
}

/// `index.html`, the page Vite builds the client into, with the app's title.
pub fn index_html(title: &str) -> String {
    INDEX_HTML.replace("{{title}}", &html(title))
}
