//! Behaviour of the renderer on the five reference blueprints and on hostile text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use appgen_crd::{Blueprint, Entity, Field, FieldType};
use serde_json::Value;

use super::template::STATIC_FILES;
use super::{AppInfo, PlannedFile, home_page_labels, render};

pub(super) fn required(mut field: Field) -> Field {
    field.required = true;
    field
}

fn one_of(name: &str, values: &[&str]) -> Field {
    let mut field = Field::new(name, FieldType::Enum);
    field.values = values.iter().map(|v| (*v).to_owned()).collect();
    field
}

pub(super) fn reference(name: &str, target: &str) -> Field {
    let mut field = required(Field::new(name, FieldType::Reference));
    field.references = Some(target.into());
    field
}

pub(super) fn entity(name: &str, fields: Vec<Field>) -> Entity {
    Entity {
        name: name.into(),
        fields,
    }
}

fn blueprint(title: &str, entities: Vec<Entity>) -> Blueprint {
    Blueprint {
        title: Some(title.into()),
        entities,
    }
}

/// The five apps the scaffold agent is measured on, by app name.
fn reference_blueprints() -> Vec<(&'static str, Blueprint)> {
    use FieldType::*;
    let mut rating = Field::new("rating", Integer);
    rating.min = Some(1.0);
    rating.max = Some(5.0);
    vec![
        (
            "todo",
            blueprint(
                "Todo",
                vec![entity(
                    "Task",
                    vec![
                        required(Field::new("title", Text)),
                        Field::new("dueDate", Date),
                        one_of("priority", &["low", "medium", "high"]),
                        Field::new("done", Boolean),
                    ],
                )],
            ),
        ),
        (
            "recipes",
            blueprint(
                "Recipes",
                vec![
                    entity(
                        "Recipe",
                        vec![
                            required(Field::new("name", Text)),
                            Field::new("ingredients", LongText),
                            Field::new("cookingTime", Integer),
                            Field::new("category", Text),
                        ],
                    ),
                    entity(
                        "MealPlan",
                        vec![required(Field::new("date", Date)), reference("recipe", "Recipe")],
                    ),
                ],
            ),
        ),
        (
            "books",
            blueprint(
                "Reading list",
                vec![entity(
                    "Book",
                    vec![
                        required(Field::new("title", Text)),
                        Field::new("author", Text),
                        Field::new("isbn", Text),
                        Field::new("pages", Integer),
                        Field::new("read", Boolean),
                        rating,
                    ],
                )],
            ),
        ),
        (
            "expenses",
            blueprint(
                "Expenses",
                vec![
                    entity(
                        "Expense",
                        vec![
                            required(Field::new("amount", Money)),
                            required(Field::new("date", Date)),
                            Field::new("category", Text),
                            Field::new("note", LongText),
                        ],
                    ),
                    entity(
                        "Budget",
                        vec![
                            required(Field::new("month", Text)),
                            required(Field::new("limit", Money)),
                        ],
                    ),
                ],
            ),
        ),
        (
            "clients",
            blueprint(
                "Client projects",
                vec![
                    entity(
                        "Client",
                        vec![
                            required(Field::new("name", Text)),
                            Field::new("email", Email),
                            Field::new("phone", Text),
                            Field::new("company", Text),
                        ],
                    ),
                    entity(
                        "Project",
                        vec![
                            reference("client", "Client"),
                            required(Field::new("name", Text)),
                            Field::new("deadline", Date),
                            Field::new("budget", Money),
                            one_of("status", &["proposal", "active", "done"]),
                        ],
                    ),
                ],
            ),
        ),
    ]
}

fn render_named(name: &str, blueprint: &Blueprint) -> Vec<PlannedFile> {
    render(
        blueprint,
        &AppInfo {
            name,
            title: "",
            prompt: "Make me an app.",
        },
    )
}

fn by_path(files: &[PlannedFile]) -> BTreeMap<&str, &str> {
    files
        .iter()
        .map(|f| (f.path.as_str(), f.contents.as_str()))
        .collect()
}

/// The model literal of `src/shared/model.ts`, read back as JSON.
fn model_json(files: &BTreeMap<&str, &str>) -> Value {
    let source = files["src/shared/model.ts"];
    let start =
        source.find("export const model: AppModel = ").unwrap() + "export const model: AppModel = ".len();
    let end = start + source[start..].find("};\n").unwrap() + 1;
    serde_json::from_str(&source[start..end]).unwrap()
}

#[test]
fn every_app_has_the_same_set_of_files() {
    let expected = [
        ".gitignore",
        "README.md",
        "index.html",
        "package.json",
        "pnpm-lock.yaml",
        "public/favicon.svg",
        "src/client/App.test.tsx",
        "src/client/App.tsx",
        "src/client/api.ts",
        "src/client/fields.tsx",
        "src/client/load.ts",
        "src/client/main.tsx",
        "src/client/pages/EntityDetail.tsx",
        "src/client/pages/EntityForm.tsx",
        "src/client/pages/EntityList.tsx",
        "src/client/pages/Home.tsx",
        "src/client/router.tsx",
        "src/client/styles.css",
        "src/server/api.test.ts",
        "src/server/app.ts",
        "src/server/crud.ts",
        "src/server/main.ts",
        "src/server/store.ts",
        "src/server/validate.ts",
        "src/shared/model.ts",
        "src/shared/schema.ts",
        "tsconfig.json",
        "vite.config.ts",
        "vitest.config.ts",
    ];
    for (name, blueprint) in reference_blueprints() {
        let files = render_named(name, &blueprint);
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, expected, "{name}");
    }
}

#[test]
fn rendering_twice_gives_identical_files() {
    for (name, blueprint) in reference_blueprints() {
        assert_eq!(
            render_named(name, &blueprint),
            render_named(name, &blueprint),
            "{name}"
        );
    }
}

#[test]
fn paths_are_relative_and_stay_inside_the_app() {
    for (name, blueprint) in reference_blueprints() {
        for file in render_named(name, &blueprint) {
            let path = &file.path;
            assert!(
                !path.is_empty() && !path.starts_with('/') && !path.contains('\\'),
                "{path}"
            );
            assert!(
                path.split('/')
                    .all(|part| !part.is_empty() && part != "." && part != ".."),
                "{path}"
            );
        }
    }
}

#[test]
fn package_json_has_the_scripts_and_exact_versions_that_the_lockfile_pins() {
    let files = render_named("todo", &reference_blueprints()[0].1);
    let files = by_path(&files);
    let package: Value = serde_json::from_str(files["package.json"]).unwrap();
    assert_eq!(package["name"], "todo");
    assert!(
        package.get("packageManager").is_none(),
        "pnpm would try to download that version"
    );
    for script in ["dev", "build", "start", "test", "typecheck"] {
        assert!(package["scripts"][script].is_string(), "script {script}");
    }
    let lockfile = files["pnpm-lock.yaml"];
    for section in ["dependencies", "devDependencies"] {
        for (dependency, version) in package[section].as_object().unwrap() {
            let version = version.as_str().unwrap();
            assert!(
                version.chars().all(|c| c.is_ascii_digit() || c == '.'),
                "{dependency} {version}"
            );
            let pinned = format!("{dependency}:\n        specifier: {version}\n");
            let quoted = format!("'{dependency}':\n        specifier: {version}\n");
            assert!(
                lockfile.contains(&pinned) || lockfile.contains(&quoted),
                "{dependency} {version} not in the lockfile"
            );
        }
    }
}

#[test]
fn every_entity_has_routes_pages_api_tests_form_tests_and_docs() {
    for (name, blueprint) in reference_blueprints() {
        let files = render_named(name, &blueprint);
        let files = by_path(&files);
        let model = model_json(&files);
        let entities = model["entities"].as_array().unwrap();
        assert_eq!(entities.len(), blueprint.entities.len());
        for (entity, declared) in entities.iter().zip(&blueprint.entities) {
            assert_eq!(entity["name"], declared.name.as_str());
            let path = entity["path"].as_str().unwrap();
            let plural = entity["pluralLabel"].as_str().unwrap();
            let label = entity["label"].as_str().unwrap();
            let fields: Vec<&str> = entity["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap())
                .collect();
            let declared_fields: Vec<&str> = declared.fields.iter().map(|f| f.name.as_str()).collect();
            assert_eq!(fields, declared_fields);
            let api_tests = files["src/server/api.test.ts"];
            assert!(
                api_tests.contains(&format!("describe(\"{plural} API (/api/{path})\"")),
                "{name}: {plural}"
            );
            for test in [
                "creates, reads, lists, updates and deletes",
                "across a restart",
                "does not exist",
            ] {
                assert!(api_tests.contains(test), "{name}: {test}");
            }
            for required in declared
                .fields
                .iter()
                .filter(|f| f.required && f.field_type != FieldType::Boolean)
            {
                assert!(
                    api_tests.contains(&format!("rejects a {label} without {}", required.name)),
                    "{name}"
                );
            }
            let client_tests = files["src/client/App.test.tsx"];
            assert!(
                client_tests.contains(&format!("describe(\"{label} form\"")),
                "{name}: {label}"
            );
            assert!(
                client_tests.contains(&format!("\"{plural}\"")),
                "{name}: {plural} on the home page"
            );
            assert!(
                files["README.md"].contains(&format!("### {plural}\n")),
                "{name}: {plural} in README"
            );
        }
    }
}

#[test]
fn forms_expect_inputs_that_suit_each_field_type() {
    let files = render_named("todo", &reference_blueprints()[0].1);
    let tests = by_path(&files)["src/client/App.test.tsx"];
    for (field, kind) in [("title", "text"), ("dueDate", "date"), ("done", "checkbox")] {
        assert!(
            tests.contains(&format!(
                "expect(input(\"{field}\").getAttribute('type')).toBe(\"{kind}\")"
            )),
            "{field}"
        );
    }
    assert!(tests.contains("toEqual(['', \"low\", \"medium\", \"high\"])"));
}

#[test]
fn references_are_tested_for_missing_targets_and_guarded_deletes() {
    let files = render_named("recipes", &reference_blueprints()[1].1);
    let tests = by_path(&files)["src/server/api.test.ts"];
    assert!(tests.contains("\"recipe\": await postRecipe(app)"));
    assert!(tests.contains("rejects a recipe that does not exist"));
    assert!(tests.contains("refuses to delete a Recipe that a Meal Plan uses as recipe"));
}

#[test]
fn bounds_are_tested_on_both_sides() {
    let files = render_named("books", &reference_blueprints()[2].1);
    let tests = by_path(&files)["src/server/api.test.ts"];
    assert!(tests.contains("rejects rating below the minimum of 1\""));
    assert!(tests.contains("\"rating\": 0 }"));
    assert!(tests.contains("rejects rating above the maximum of 5\""));
    assert!(tests.contains("\"rating\": 6 }"));
}

#[test]
fn home_page_labels_are_the_plural_entity_labels() {
    let labels: Vec<Vec<String>> = reference_blueprints()
        .iter()
        .map(|(_, b)| home_page_labels(b))
        .collect();
    assert_eq!(
        labels,
        [
            vec!["Tasks"],
            vec!["Recipes", "Meal Plans"],
            vec!["Books"],
            vec!["Expenses", "Budgets"],
            vec!["Clients", "Projects"],
        ]
    );
}

#[test]
fn hostile_text_keeps_its_meaning_in_every_file() {
    let hostile = "O'Brien \"quoted\" `tick` ${x} </script><b>& \\ back\nsecond line ```";
    let blueprint = blueprint(
        "ignored",
        vec![entity(
            "Thing",
            vec![
                required(Field::new("name", FieldType::Text)),
                one_of("status", &[hostile, "in progress"]),
            ],
        )],
    );
    let files = render(
        &blueprint,
        &AppInfo {
            name: "Weird App!",
            title: hostile,
            prompt: hostile,
        },
    );
    let files = by_path(&files);

    let model = model_json(&files);
    let one_line = hostile.replace('\n', " ");
    assert_eq!(model["title"], one_line.as_str(), "a title is kept on one line");
    assert_eq!(model["entities"][0]["fields"][1]["values"][0], hostile);

    let html = files["index.html"];
    assert!(html.contains("<title>O&#39;Brien &quot;quoted&quot; `tick` ${x} &lt;/script&gt;&lt;b&gt;&amp; \\ back second line ```</title>"));

    let readme = files["README.md"];
    assert!(readme.starts_with(
        "# O'Brien \"quoted\" \\`tick\\` \\$\\{x\\} \\</script\\>\\<b\\>\\& \\\\ back second line \\`\\`\\`\n"
    ));
    assert!(
        readme.contains(&format!("\n````text\n{hostile}\n````\n")),
        "the prompt is quoted verbatim"
    );

    // Free text reaches TypeScript only as JSON string literals.
    let literal = serde_json::to_string(hostile).unwrap();
    for path in ["src/shared/model.ts", "src/client/App.test.tsx"] {
        assert!(files[path].contains(&literal), "{path}");
        let title = serde_json::to_string(&one_line).unwrap();
        let outside_literals = files[path].replace(&literal, "").replace(&title, "");
        assert!(
            !outside_literals.contains("</script>"),
            "{path}: raw text outside a literal"
        );
    }
    assert_eq!(
        serde_json::from_str::<Value>(files["package.json"]).unwrap()["name"],
        "weird-app"
    );
}

#[test]
fn blueprints_with_no_entities_or_no_fields_still_render() {
    let empty = Blueprint {
        title: None,
        entities: vec![],
    };
    let files = render(
        &empty,
        &AppInfo {
            name: "empty",
            title: "",
            prompt: "",
        },
    );
    let empty_files = by_path(&files);
    assert_eq!(model_json(&empty_files)["title"], "Empty");
    // The app's tsconfig rejects unused imports and functions.
    assert!(!empty_files["src/shared/model.ts"].contains("RowMeta"));
    assert!(!empty_files["src/server/api.test.ts"].contains("Express"));
    assert!(!empty_files["src/client/App.test.tsx"].contains("EntityForm"));
    let bare = blueprint("Bare", vec![entity("Thing", vec![])]);
    let files = render(
        &bare,
        &AppInfo {
            name: "bare",
            title: "",
            prompt: "",
        },
    );
    let files = by_path(&files);
    assert!(!files["src/client/App.test.tsx"].contains("function input("));
    assert!(!files["src/server/api.test.ts"].contains("function without("));
}

#[test]
fn the_app_title_falls_back_to_the_blueprint_then_the_name() {
    let blueprint = blueprint("From blueprint", vec![]);
    let title = |app: AppInfo| model_json(&by_path(&render(&blueprint, &app)))["title"].clone();
    assert_eq!(
        title(AppInfo {
            name: "x",
            title: "Given",
            prompt: ""
        }),
        "Given"
    );
    assert_eq!(
        title(AppInfo {
            name: "x",
            title: "  ",
            prompt: ""
        }),
        "From blueprint"
    );
    let untitled = Blueprint {
        title: None,
        entities: vec![],
    };
    let files = render(
        &untitled,
        &AppInfo {
            name: "meal-planner",
            title: "",
            prompt: "",
        },
    );
    assert_eq!(model_json(&by_path(&files))["title"], "Meal Planner");
    let unique: BTreeSet<_> = files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(unique.len(), files.len());
}

/// What the renderer writes per blueprint (the shared template files left out) is kept under
/// `src/render/snapshots/<app>/`, so a change to the output shows in review.
/// `UPDATE_SNAPSHOTS=1 cargo test -p appgen-generator` rewrites them.
#[test]
fn generated_files_match_their_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/render/snapshots");
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut stale = Vec::new();
    for (name, blueprint) in reference_blueprints() {
        for file in render_named(name, &blueprint) {
            if STATIC_FILES.iter().any(|(path, _)| *path == file.path) {
                continue;
            }
            let snapshot = root.join(name).join(format!("{}.snap", file.path));
            if update {
                std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
                std::fs::write(&snapshot, &file.contents).unwrap();
            } else if std::fs::read_to_string(&snapshot).ok().as_deref() != Some(file.contents.as_str()) {
                stale.push(snapshot.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "output differs from (or lacks) these snapshots: {stale:#?}\nrerun with UPDATE_SNAPSHOTS=1 and review the diff"
    );
}
