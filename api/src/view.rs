//! What the API shows of Generations: one view per Generation, lists in pages, apps with their
//! versions. Pure functions of the Generations they are given.

use std::collections::BTreeMap;
use std::sync::Arc;

use appgen_crd::{Generation, GenerationSpec, GenerationStatus, Phase};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::Error;

/// A Generation as the API answers it. `spec` and `status` are the resource's own (their schemas
/// in the OpenAPI document are the CRD's).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenerationView {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<String>,
    #[schema(value_type = Object)]
    pub spec: GenerationSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub status: Option<GenerationStatus>,
    pub links: Links,
}

/// Where to find more about a Generation, relative to the server.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Links {
    #[serde(rename = "self")]
    pub self_: String,
    pub events: String,
    /// Present once the archive has been delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
    /// Filled when one Generation is asked for; lists leave it empty.
    pub screenshots: Vec<String>,
}

pub fn generation_path(namespace: &str, name: &str) -> String {
    format!("/api/v1/generations/{namespace}/{name}")
}

/// The phase a Generation is in; one the controller has not seen yet is Pending.
pub fn phase(generation: &Generation) -> Phase {
    generation
        .status
        .as_ref()
        .and_then(|s| s.phase)
        .unwrap_or(Phase::Pending)
}

/// Whether the generation made an archive: a delivery step after it may have failed, or a
/// redelivery may be running, and the archive is still there to download.
pub fn has_archive(generation: &Generation) -> bool {
    generation
        .status
        .as_ref()
        .and_then(|s| s.outputs.as_ref())
        .is_some_and(|o| o.sha256.is_some() && o.archive_url.is_some())
}

pub fn finished(generation: &Generation) -> bool {
    matches!(
        phase(generation),
        Phase::Delivered | Phase::Failed | Phase::Cancelled
    )
}

impl GenerationView {
    pub fn of(generation: &Generation) -> GenerationView {
        let namespace = generation.metadata.namespace.clone().unwrap_or_default();
        let name = generation.metadata.name.clone().unwrap_or_default();
        let path = generation_path(&namespace, &name);
        let archived = has_archive(generation);
        GenerationView {
            uid: generation.metadata.uid.clone().unwrap_or_default(),
            created_at: generation
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.to_string()),
            spec: generation.spec.clone(),
            status: generation.status.clone(),
            links: Links {
                events: format!("{path}/events"),
                archive: archived.then(|| format!("{path}/archive")),
                screenshots: Vec::new(),
                self_: path,
            },
            namespace,
            name,
        }
    }
}

/// Which Generations a list shows, and how many.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this app's Generations.
    pub app: Option<String>,
    /// Only Generations in this phase (Pending, Running, Delivered, Failed, Cancelled).
    #[param(value_type = Option<String>)]
    pub phase: Option<Phase>,
    /// Only this namespace (admins).
    pub namespace: Option<String>,
    /// At most this many (1–500, default 50).
    pub limit: Option<usize>,
    /// The `continue` of the previous page.
    #[serde(rename = "continue")]
    #[param(rename = "continue")]
    pub continue_: Option<String>,
}

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `continue` for the next page; absent on the last.
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    pub continue_: Option<String>,
}

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

/// Where a page ends: the last Generation it showed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cursor {
    created: jiff::Timestamp,
    namespace: String,
    name: String,
}

fn created(g: &Generation) -> jiff::Timestamp {
    g.metadata
        .creation_timestamp
        .as_ref()
        .map_or(jiff::Timestamp::UNIX_EPOCH, |t| t.0)
}

fn key(g: &Generation) -> (std::cmp::Reverse<jiff::Timestamp>, &str, &str) {
    (
        std::cmp::Reverse(created(g)),
        g.metadata.namespace.as_deref().unwrap_or_default(),
        g.metadata.name.as_deref().unwrap_or_default(),
    )
}

/// Newest first; ties (same second) by namespace and name, so pages never overlap. Compares
/// borrowed fields: a list sorts thousands of Generations per request.
fn newest_first(a: &Generation, b: &Generation) -> std::cmp::Ordering {
    key(a).cmp(&key(b))
}

impl Cursor {
    fn of(g: &Generation) -> Cursor {
        let (_, namespace, name) = key(g);
        Cursor {
            created: created(g),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// Whether `g` comes after this cursor in a list.
    fn precedes(&self, g: &Generation) -> bool {
        key(g)
            > (
                std::cmp::Reverse(self.created),
                self.namespace.as_str(),
                self.name.as_str(),
            )
    }

    fn encode(&self) -> String {
        let json = serde_json::json!([self.created.to_string(), self.namespace, self.name]).to_string();
        URL_SAFE_NO_PAD.encode(json)
    }

    fn decode(token: &str) -> Result<Cursor, Error> {
        let bad = || {
            Error::invalid(
                "continue",
                "is not a token this server gave; start from the first page",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
        let (created, namespace, name): (String, String, String) =
            serde_json::from_slice(&bytes).map_err(|_| bad())?;
        Ok(Cursor {
            created: created.parse().map_err(|_| bad())?,
            namespace,
            name,
        })
    }
}

pub fn sort_newest_first(generations: &mut [Arc<Generation>]) {
    generations.sort_unstable_by(|a, b| newest_first(a, b));
}

/// The page that `query` asks for of `generations` (sorted newest first) within `namespace`
/// (None: all). It reads only as far as the page reaches.
pub fn page(
    generations: &[Arc<Generation>],
    namespace: Option<&str>,
    query: &ListQuery,
) -> Result<Page<GenerationView>, Error> {
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(n @ 1..=MAX_LIMIT) => n,
        Some(_) => return Err(Error::invalid("limit", format!("must be from 1 to {MAX_LIMIT}"))),
    };
    let after = query.continue_.as_deref().map(Cursor::decode).transpose()?;
    let selected: Vec<&Arc<Generation>> = generations
        .iter()
        .filter(|g| after.as_ref().is_none_or(|after| after.precedes(g)))
        .filter(|g| namespace.is_none_or(|ns| g.metadata.namespace.as_deref() == Some(ns)))
        .filter(|g| query.app.as_deref().is_none_or(|app| app_of(g) == app))
        .filter(|g| query.phase.is_none_or(|p| phase(g) == p))
        .take(limit + 1)
        .collect();
    let more = selected.len() > limit;
    let shown = &selected[..selected.len().min(limit)];
    Ok(Page {
        continue_: if more {
            shown.last().map(|g| Cursor::of(g).encode())
        } else {
            None
        },
        items: shown.iter().map(|g| GenerationView::of(g)).collect(),
    })
}

/// The app a Generation belongs to: its `spec.app`, or its own name when unset.
pub fn app_of(generation: &Generation) -> &str {
    generation
        .spec
        .app
        .as_deref()
        .or(generation.metadata.name.as_deref())
        .unwrap_or_default()
}

/// One app and its versions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppView {
    pub app: String,
    pub namespace: String,
    /// Newest first.
    pub versions: Vec<Version>,
}

/// One Generation of an app, briefly.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    pub name: String,
    #[schema(value_type = String)]
    pub phase: Phase,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<String>,
    pub prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// How it ended (or what it is doing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The apps among `generations` within `namespace` (None: all), the most recently changed first.
pub fn apps(generations: Vec<Arc<Generation>>, namespace: Option<&str>) -> Vec<AppView> {
    let mut by_app: BTreeMap<(String, String), Vec<Arc<Generation>>> = BTreeMap::new();
    for g in generations
        .into_iter()
        .filter(|g| namespace.is_none_or(|ns| g.metadata.namespace.as_deref() == Some(ns)))
    {
        let key = (
            g.metadata.namespace.clone().unwrap_or_default(),
            app_of(&g).to_owned(),
        );
        by_app.entry(key).or_default().push(g);
    }
    let mut apps: Vec<(Arc<Generation>, AppView)> = by_app
        .into_iter()
        .map(|((namespace, app), mut versions)| {
            versions.sort_unstable_by(|a, b| newest_first(a, b));
            let newest = versions[0].clone();
            let versions = versions.iter().map(|g| version(g)).collect();
            (
                newest,
                AppView {
                    app,
                    namespace,
                    versions,
                },
            )
        })
        .collect();
    apps.sort_by(|a, b| newest_first(&a.0, &b.0));
    apps.into_iter().map(|(_, app)| app).collect()
}

fn version(g: &Generation) -> Version {
    let status = g.status.as_ref();
    Version {
        name: g.metadata.name.clone().unwrap_or_default(),
        phase: phase(g),
        created_at: g.metadata.creation_timestamp.as_ref().map(|t| t.0.to_string()),
        prompt: g.spec.prompt.clone(),
        cost_usd: status.and_then(|s| s.usage.as_ref()).map(|u| u.cost_usd),
        message: status.and_then(|s| s.message.clone()),
        url: status
            .and_then(|s| s.outputs.as_ref())
            .and_then(|o| o.url.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use appgen_crd::GenerationStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn generation(
        namespace: &str,
        name: &str,
        app: &str,
        created: &str,
        phase: Option<Phase>,
    ) -> Arc<Generation> {
        let mut spec = GenerationSpec::from_prompt(format!("prompt of {name}"));
        spec.app = Some(app.to_owned());
        let mut g = Generation::new(name, spec);
        g.metadata.namespace = Some(namespace.to_owned());
        g.metadata.creation_timestamp = Some(Time(created.parse().unwrap()));
        // Delivered and Failed ones made their archive (a Failed one's push was rejected).
        let archived = matches!(phase, Some(Phase::Delivered | Phase::Failed));
        g.status = phase.map(|phase| GenerationStatus {
            phase: Some(phase),
            outputs: archived.then(|| appgen_crd::Outputs {
                archive_url: Some(format!("file:///store/{name}/app.tar.gz")),
                sha256: Some("ab".repeat(32)),
                ..appgen_crd::Outputs::default()
            }),
            ..GenerationStatus::default()
        });
        Arc::new(g)
    }

    fn names(page: &Page<GenerationView>) -> Vec<&str> {
        page.items.iter().map(|v| v.name.as_str()).collect()
    }

    /// Newest first, as the cache hands them out.
    fn fixture() -> Vec<Arc<Generation>> {
        let mut all = vec![
            generation(
                "appgen-ann",
                "todo-1",
                "todo",
                "2026-01-01T10:00:00Z",
                Some(Phase::Delivered),
            ),
            generation(
                "appgen-ann",
                "todo-2",
                "todo",
                "2026-01-01T11:00:00Z",
                Some(Phase::Running),
            ),
            generation("appgen-ann", "notes-1", "notes", "2026-01-01T11:00:00Z", None),
            generation(
                "appgen-bob",
                "todo-1",
                "todo",
                "2026-01-01T12:00:00Z",
                Some(Phase::Failed),
            ),
        ];
        sort_newest_first(&mut all);
        all
    }

    #[test]
    fn lists_are_scoped_filtered_newest_first_and_paged_without_overlap() {
        let all = page(&fixture(), Some("appgen-ann"), &ListQuery::default()).unwrap();
        assert_eq!(names(&all), ["notes-1", "todo-2", "todo-1"]);
        assert!(all.continue_.is_none());

        let query = |app: Option<&str>, phase: Option<Phase>| ListQuery {
            app: app.map(str::to_owned),
            phase,
            ..ListQuery::default()
        };
        let todo = page(&fixture(), Some("appgen-ann"), &query(Some("todo"), None)).unwrap();
        assert_eq!(names(&todo), ["todo-2", "todo-1"]);
        let pending = page(&fixture(), Some("appgen-ann"), &query(None, Some(Phase::Pending))).unwrap();
        assert_eq!(names(&pending), ["notes-1"], "no status yet counts as Pending");
        let everyone = page(&fixture(), None, &ListQuery::default()).unwrap();
        assert_eq!(everyone.items.len(), 4);
        assert_eq!(everyone.items[0].namespace, "appgen-bob");

        let mut query = ListQuery {
            limit: Some(2),
            ..ListQuery::default()
        };
        let first = page(&fixture(), Some("appgen-ann"), &query).unwrap();
        assert_eq!(names(&first), ["notes-1", "todo-2"]);
        query.continue_ = first.continue_;
        let second = page(&fixture(), Some("appgen-ann"), &query).unwrap();
        assert_eq!(names(&second), ["todo-1"]);
        assert!(second.continue_.is_none());
    }

    #[test]
    fn bad_limits_and_tokens_name_the_parameter() {
        for query in [
            ListQuery {
                limit: Some(0),
                ..ListQuery::default()
            },
            ListQuery {
                limit: Some(501),
                ..ListQuery::default()
            },
            ListQuery {
                continue_: Some("not-a-token".to_owned()),
                ..ListQuery::default()
            },
        ] {
            match page(&fixture(), None, &query) {
                Err(Error::Invalid { field, .. }) => assert!(field == "limit" || field == "continue"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn apps_group_versions_newest_first_and_the_archive_link_follows_the_archive() {
        let apps = apps(fixture(), Some("appgen-ann"));
        let summary: Vec<(&str, Vec<&str>)> = apps
            .iter()
            .map(|a| {
                (
                    a.app.as_str(),
                    a.versions.iter().map(|v| v.name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [("notes", vec!["notes-1"]), ("todo", vec!["todo-2", "todo-1"])]
        );

        let view = |namespace: &str, name: &str| {
            let all = fixture();
            let g = all
                .iter()
                .find(|g| {
                    g.metadata.namespace.as_deref() == Some(namespace)
                        && g.metadata.name.as_deref() == Some(name)
                })
                .unwrap();
            GenerationView::of(g)
        };
        let delivered = view("appgen-ann", "todo-1");
        assert_eq!(
            delivered.links.archive.as_deref(),
            Some("/api/v1/generations/appgen-ann/todo-1/archive")
        );
        assert_eq!(
            delivered.links.events,
            "/api/v1/generations/appgen-ann/todo-1/events"
        );
        assert!(view("appgen-ann", "todo-2").links.archive.is_none());
        assert_eq!(
            view("appgen-bob", "todo-1").links.archive.as_deref(),
            Some("/api/v1/generations/appgen-bob/todo-1/archive"),
            "a generation whose delivery failed keeps its archive"
        );
    }
}
