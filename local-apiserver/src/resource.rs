//! What the server serves: one [`ResourceDef`] per resource and version, built from
//! CustomResourceDefinitions plus the built-in Events.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};

use std::sync::Arc;

use serde_json::Value;

use crate::events;
use crate::table::{self, Column, IncludeObject};

/// How objects of a resource are shaped on the wire compared with how they are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Stored as served.
    Native,
    /// `events.k8s.io/v1` Events, stored as core `v1` Events (as Kubernetes does) and converted on the way in and out.
    EventsV1,
}

/// How a resource is shown as a `Table` (what `kubectl get` prints).
#[derive(Debug, Clone)]
pub enum Printer {
    /// A CRD's additionalPrinterColumns, after a Name column.
    Columns(Vec<Column>),
    /// Kubernetes' own Event columns.
    Events,
}

impl Printer {
    pub fn table(
        &self,
        objects: &[&Value],
        include: IncludeObject,
        now: jiff::Timestamp,
        metadata: Value,
    ) -> Value {
        match self {
            Printer::Columns(columns) => table::table(columns, objects, include, now, metadata),
            Printer::Events => events::table(objects, include, now, metadata),
        }
    }
}

/// One served resource at one version.
#[derive(Debug, Clone)]
pub struct ResourceDef {
    /// Empty for the core group.
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub status_subresource: bool,
    pub schema: Option<JSONSchemaProps>,
    pub printer: Printer,
    /// Field-selector paths accepted besides `metadata.name` and `metadata.namespace`.
    pub selectable_fields: Vec<String>,
    /// Resources that share a storage key are the same objects seen through different APIs.
    pub storage: Arc<str>,
    pub wire: Wire,
    /// CRD resources bump `metadata.generation` on spec changes and drop status on create.
    pub custom: bool,
}

impl ResourceDef {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `generations.appgen.dev`, as Kubernetes names a resource in messages.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `Generation.appgen.dev`, as Kubernetes names a kind in `Invalid` messages.
    pub fn group_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// The field-selector paths this resource accepts.
    pub fn allows_field(&self, path: &str) -> bool {
        path == "metadata.name"
            || (self.namespaced && path == "metadata.namespace")
            || self.selectable_fields.iter().any(|f| f == path)
    }

    /// One definition per served version of a CRD.
    pub fn from_crd(crd: &CustomResourceDefinition) -> Vec<ResourceDef> {
        let names = &crd.spec.names;
        let storage: Arc<str> = format!("{}/{}", crd.spec.group, names.plural).into();
        crd.spec
            .versions
            .iter()
            .filter(|v| v.served)
            .map(|v| ResourceDef {
                group: crd.spec.group.clone(),
                version: v.name.clone(),
                plural: names.plural.clone(),
                singular: names
                    .singular
                    .clone()
                    .unwrap_or_else(|| names.kind.to_lowercase()),
                kind: names.kind.clone(),
                namespaced: crd.spec.scope == "Namespaced",
                short_names: names.short_names.clone().unwrap_or_default(),
                categories: names.categories.clone().unwrap_or_default(),
                status_subresource: v.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some(),
                schema: v.schema.as_ref().and_then(|s| s.open_api_v3_schema.clone()),
                printer: Printer::Columns(
                    v.additional_printer_columns
                        .iter()
                        .flatten()
                        .map(|c| Column {
                            name: c.name.clone(),
                            type_: c.type_.clone(),
                            format: c.format.clone(),
                            description: c.description.clone(),
                            priority: c.priority.unwrap_or(0),
                            json_path: c.json_path.clone(),
                        })
                        .collect(),
                ),
                selectable_fields: v
                    .selectable_fields
                    .iter()
                    .flatten()
                    .map(|f| f.json_path.trim_start_matches('.').to_owned())
                    .collect(),
                storage: storage.clone(),
                wire: Wire::Native,
                custom: true,
            })
            .collect()
    }

    /// Core `v1` Events, what `kubectl describe` lists.
    pub fn core_events() -> ResourceDef {
        ResourceDef {
            group: String::new(),
            version: "v1".into(),
            plural: "events".into(),
            singular: "event".into(),
            kind: "Event".into(),
            namespaced: true,
            short_names: vec!["ev".into()],
            categories: vec![],
            status_subresource: false,
            schema: None,
            printer: Printer::Events,
            selectable_fields: [
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
            ]
            .map(String::from)
            .to_vec(),
            storage: EVENTS_STORAGE.into(),
            wire: Wire::Native,
            custom: false,
        }
    }

    /// `events.k8s.io/v1` Events, what kube-runtime's Recorder writes: the same objects as core Events.
    pub fn events_v1() -> ResourceDef {
        ResourceDef {
            group: "events.k8s.io".into(),
            version: "v1".into(),
            selectable_fields: [
                "regarding.kind",
                "regarding.namespace",
                "regarding.name",
                "regarding.uid",
                "reason",
                "type",
            ]
            .map(String::from)
            .to_vec(),
            wire: Wire::EventsV1,
            short_names: vec![],
            ..Self::core_events()
        }
    }
}

/// The storage key of Events, shared by both Event APIs.
pub const EVENTS_STORAGE: &str = "/events";

/// Everything the server serves, looked up by the pieces of a request path.
#[derive(Debug, Clone)]
pub struct Registry {
    defs: Vec<ResourceDef>,
}

impl Registry {
    pub fn new(crds: &[CustomResourceDefinition]) -> Self {
        let mut defs = vec![ResourceDef::core_events(), ResourceDef::events_v1()];
        defs.extend(crds.iter().flat_map(ResourceDef::from_crd));
        Registry { defs }
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceDef> {
        self.defs
            .iter()
            .find(|d| d.group == group && d.version == version && d.plural == plural)
    }

    /// Groups in the order discovery lists them, each with its versions (newest first as Kubernetes orders them;
    /// here simply in declaration order).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for d in self.defs.iter().filter(|d| !d.group.is_empty()) {
            match groups.iter_mut().find(|(g, _)| *g == d.group) {
                Some((_, versions)) if !versions.contains(&d.version) => versions.push(d.version.clone()),
                Some(_) => {}
                None => groups.push((d.group.clone(), vec![d.version.clone()])),
            }
        }
        groups
    }

    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a ResourceDef> {
        self.defs
            .iter()
            .filter(move |d| d.group == group && d.version == version)
    }
}
