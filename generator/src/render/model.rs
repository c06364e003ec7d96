//! The blueprint made ready to render: labels, URL paths and title fields worked out once, and
//! anything that would break the generated code set aside (see [`AppModel::from_blueprint`]).
//! Also writes it out as `src/shared/model.ts`, which the generated server and client share.

use std::collections::{BTreeSet, HashSet};

use appgen_crd::{Blueprint, FieldType};
use serde_json::{Map, Value, json};

use super::escape::ts_string;
use super::names;

/// Fields every stored record has; the server sets them, so a blueprint field of the same name
/// is left out.
const SERVER_FIELDS: &[&str] = &["id", "createdAt", "updatedAt"];

#[derive(Debug)]
pub struct AppModel {
    pub title: String,
    pub entities: Vec<EntityModel>,
}

#[derive(Debug)]
pub struct EntityModel {
    /// PascalCase, as in the blueprint; also the stem of generated TypeScript names.
    pub name: String,
    pub label: String,
    pub plural_label: String,
    /// The collection's URL segment: `/api/<path>` and `/<path>` in the client.
    pub path: String,
    /// The field that names a record for people.
    pub title_field: Option<String>,
    pub fields: Vec<FieldModel>,
    /// Whether a record can be made at all: false when a required reference leads, directly or
    /// through other entities, back to an entity that cannot be made first.
    pub creatable: bool,
}

#[derive(Debug)]
pub struct FieldModel {
    pub name: String,
    pub label: String,
    pub field_type: FieldType,
    pub required: bool,
    pub values: Vec<String>,
    pub references: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl AppModel {
    /// The blueprint is expected to be checked already; whatever still would not work is
    /// dropped or simplified rather than rendered broken: entities and fields whose names are
    /// not identifiers or repeat an earlier one, fields named like the server's own (`id`,
    /// `createdAt`, `updatedAt`), blank and repeated enum values. An enum without values and a
    /// reference to an unknown entity become text fields.
    pub fn from_blueprint(blueprint: &Blueprint, title: &str) -> AppModel {
        let mut seen = HashSet::new();
        let kept: Vec<_> = blueprint
            .entities
            .iter()
            .filter(|entity| is_identifier(&entity.name) && seen.insert(entity.name.as_str()))
            .collect();
        let known: HashSet<&str> = kept.iter().map(|entity| entity.name.as_str()).collect();
        let mut paths = HashSet::new();
        let mut entities: Vec<EntityModel> = kept
            .iter()
            .map(|entity| {
                let mut field_names = HashSet::new();
                let fields: Vec<FieldModel> = entity
                    .fields
                    .iter()
                    .filter(|field| {
                        is_identifier(&field.name)
                            && !SERVER_FIELDS.contains(&field.name.as_str())
                            && field_names.insert(field.name.as_str())
                    })
                    .map(|field| {
                        let mut values = Vec::new();
                        for value in &field.values {
                            if !value.trim().is_empty() && !values.contains(value) {
                                values.push(value.clone());
                            }
                        }
                        let references = field
                            .references
                            .clone()
                            .filter(|target| known.contains(target.as_str()));
                        let field_type = match field.field_type {
                            FieldType::Enum if values.is_empty() => FieldType::Text,
                            FieldType::Reference if references.is_none() => FieldType::Text,
                            other => other,
                        };
                        let numeric = matches!(
                            field_type,
                            FieldType::Number | FieldType::Integer | FieldType::Money
                        );
                        // Bounds mean something for numbers only.
                        let bound = |b: Option<f64>| b.filter(|b| numeric && b.is_finite());
                        FieldModel {
                            name: field.name.clone(),
                            label: names::field_label(&field.name),
                            field_type,
                            required: field.required,
                            values: if field_type == FieldType::Enum {
                                values
                            } else {
                                Vec::new()
                            },
                            references: references.filter(|_| field_type == FieldType::Reference),
                            min: bound(field.min),
                            max: bound(field.max),
                        }
                    })
                    .collect();
                EntityModel {
                    name: entity.name.clone(),
                    label: names::entity_label(&entity.name),
                    plural_label: names::entity_plural_label(&entity.name),
                    path: unique_path(&mut paths, names::collection_path(&entity.name)),
                    title_field: title_field(&fields),
                    fields,
                    creatable: false,
                }
            })
            .collect();
        mark_creatable(&mut entities);
        AppModel {
            title: title.to_owned(),
            entities,
        }
    }

    pub fn entity(&self, name: &str) -> Option<&EntityModel> {
        self.entities.iter().find(|entity| entity.name == name)
    }

    /// `src/shared/model.ts`: the model as data for the app, and an input and a record type
    /// per entity for code that handles one entity.
    pub fn to_typescript(&self) -> String {
        let entities: Vec<Value> = self.entities.iter().map(entity_json).collect();
        let mut data = String::new();
        write_literal(
            &json!({ "title": self.title, "entities": entities }),
            0,
            &mut data,
        );
        let mut out = String::from(
            "// The data model of this app, generated by appgen from its blueprint. The server\n\
             // validates and stores records with it and the client draws its pages from it.\n\
             import type { AppModel, RowMeta } from './schema';\n\n",
        );
        out.push_str(&format!("export const model: AppModel = {data};\n"));
        for entity in &self.entities {
            out.push_str(&format!(
                "\n/** What the API accepts for a {}. */\n",
                entity.label
            ));
            out.push_str(&format!("export interface {}Input {{\n", entity.name));
            for field in &entity.fields {
                let optional = if field.required { "" } else { "?" };
                // The server stores a missing optional value as null, but a missing boolean as false.
                let null = if field.required || field.field_type == FieldType::Boolean {
                    ""
                } else {
                    " | null"
                };
                out.push_str(&format!(
                    "  {}{optional}: {}{null};\n",
                    ts_string(&field.name),
                    ts_type(field)
                ));
            }
            out.push_str("}\n\n");
            out.push_str(&format!("/** A {} as the API returns it. */\n", entity.label));
            out.push_str(&format!(
                "export type {0}Record = Required<{0}Input> & RowMeta;\n",
                entity.name
            ));
        }
        out
    }
}

/// Names used as object keys and in TypeScript identifiers: `^[A-Za-z][A-Za-z0-9]*$`.
fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic()) && name.chars().all(|c| c.is_ascii_alphanumeric())
}

fn unique_path(taken: &mut HashSet<String>, path: String) -> String {
    let mut candidate = path.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{path}-{n}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

/// The first required text field, else the first text field, else the first short field that
/// reads well on its own (an email, a date, an enum, a number).
fn title_field(fields: &[FieldModel]) -> Option<String> {
    let text = |field: &&FieldModel| field.field_type == FieldType::Text;
    let readable = |field: &&FieldModel| {
        !matches!(
            field.field_type,
            FieldType::LongText | FieldType::Boolean | FieldType::Reference
        )
    };
    fields
        .iter()
        .filter(text)
        .find(|field| field.required)
        .or_else(|| fields.iter().find(text))
        .or_else(|| fields.iter().find(readable))
        .map(|field| field.name.clone())
}

/// Grows the set of creatable entities until it stops changing: an entity is creatable once
/// every entity its required references point to is.
fn mark_creatable(entities: &mut [EntityModel]) {
    let mut creatable: BTreeSet<String> = BTreeSet::new();
    loop {
        let before = creatable.len();
        for entity in entities.iter() {
            let ready = entity
                .fields
                .iter()
                .filter(|field| field.required)
                .filter_map(|field| field.references.as_ref())
                .all(|target| creatable.contains(target));
            if ready {
                creatable.insert(entity.name.clone());
            }
        }
        if creatable.len() == before {
            break;
        }
    }
    for entity in entities {
        entity.creatable = creatable.contains(&entity.name);
    }
}

fn entity_json(entity: &EntityModel) -> Value {
    let fields: Vec<Value> = entity.fields.iter().map(field_json).collect();
    json!({
        "name": entity.name,
        "label": entity.label,
        "pluralLabel": entity.plural_label,
        "path": entity.path,
        "titleField": entity.title_field,
        "fields": fields,
    })
}

fn field_json(field: &FieldModel) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), field.name.clone().into());
    out.insert("label".into(), field.label.clone().into());
    out.insert("type".into(), type_name(field.field_type).into());
    out.insert("required".into(), field.required.into());
    if !field.values.is_empty() {
        out.insert("values".into(), field.values.clone().into());
    }
    if let Some(target) = &field.references {
        out.insert("references".into(), target.clone().into());
    }
    for (key, bound) in [("min", field.min), ("max", field.max)] {
        if let Some(number) = bound.and_then(serde_json::Number::from_f64) {
            out.insert(key.into(), Value::Number(number));
        }
    }
    Value::Object(out)
}

/// Writes `value` as JSON, which is also a TypeScript expression: one line for a value that
/// holds no objects (a field, a list of enum values), one line per member otherwise.
fn write_literal(value: &Value, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent + 1);
    match value {
        Value::Object(map) if !is_flat(value) => {
            out.push_str("{\n");
            let members: Vec<_> = map.iter().collect();
            for (i, (key, member)) in members.iter().enumerate() {
                out.push_str(&format!("{pad}{}: ", ts_string(key)));
                write_literal(member, indent + 1, out);
                out.push_str(if i + 1 < members.len() { ",\n" } else { "\n" });
            }
            out.push_str(&format!("{}}}", "  ".repeat(indent)));
        }
        Value::Array(items) if !is_flat(value) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad);
                write_literal(item, indent + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&format!("{}]", "  ".repeat(indent)));
        }
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .map(|(key, member)| format!("{}: {member}", ts_string(key)))
                .collect();
            out.push_str(&format!("{{ {} }}", members.join(", ")));
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(Value::to_string).collect();
            out.push_str(&format!("[{}]", items.join(", ")));
        }
        // serde_json writes no NaN or infinity, so a scalar is always valid JSON.
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A scalar, a list of scalars, or an object of those.
fn is_flat(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().all(|item| !item.is_object() && !item.is_array()),
        Value::Object(map) => map.values().all(|member| !member.is_object() && is_flat(member)),
        _ => true,
    }
}

/// The type's name in the blueprint's JSON, which the generated app uses too (`longText`).
pub fn type_name(field_type: FieldType) -> String {
    match serde_json::to_value(field_type) {
        Ok(Value::String(name)) => name,
        _ => "text".to_owned(),
    }
}

fn ts_type(field: &FieldModel) -> String {
    match field.field_type {
        FieldType::Number | FieldType::Integer | FieldType::Money => "number".to_owned(),
        FieldType::Boolean => "boolean".to_owned(),
        FieldType::Enum => field
            .values
            .iter()
            .map(|value| ts_string(value))
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "string".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use appgen_crd::{Entity, Field};

    fn field(name: &str, field_type: FieldType) -> Field {
        Field {
            name: name.into(),
            field_type,
            required: false,
            values: vec![],
            references: None,
            min: None,
            max: None,
        }
    }

    fn entity(name: &str, fields: Vec<Field>) -> Entity {
        Entity {
            name: name.into(),
            fields,
        }
    }

    #[test]
    fn the_title_field_prefers_required_text_then_any_text_then_a_short_field() {
        let mut title = field("title", FieldType::Text);
        title.required = true;
        let bp = Blueprint {
            title: None,
            entities: vec![
                entity("A", vec![field("note", FieldType::Text), title]),
                entity(
                    "B",
                    vec![field("done", FieldType::Boolean), field("day", FieldType::Date)],
                ),
                entity("C", vec![field("done", FieldType::Boolean)]),
            ],
        };
        let model = AppModel::from_blueprint(&bp, "T");
        let titles: Vec<_> = model.entities.iter().map(|e| e.title_field.as_deref()).collect();
        assert_eq!(titles, [Some("title"), Some("day"), None]);
    }

    #[test]
    fn entities_in_a_cycle_of_required_references_cannot_be_created() {
        let mut to_b = field("b", FieldType::Reference);
        to_b.required = true;
        to_b.references = Some("B".into());
        let mut to_a = to_b.clone();
        to_a.name = "a".into();
        to_a.references = Some("A".into());
        let mut optional_to_a = to_a.clone();
        optional_to_a.required = false;
        let bp = Blueprint {
            title: None,
            entities: vec![
                entity("A", vec![to_b]),
                entity("B", vec![to_a]),
                entity("C", vec![optional_to_a]),
            ],
        };
        let model = AppModel::from_blueprint(&bp, "T");
        let creatable: Vec<_> = model.entities.iter().map(|e| e.creatable).collect();
        assert_eq!(creatable, [false, false, true]);
    }

    #[test]
    fn what_would_break_the_app_is_left_out_or_simplified() {
        let mut bare_enum = field("kind", FieldType::Enum);
        bare_enum.values = vec![" ".into()];
        let mut dangling = field("owner", FieldType::Reference);
        dangling.references = Some("Nobody".into());
        let mut text_with_bounds = field("code", FieldType::Text);
        text_with_bounds.min = Some(1.0);
        let mut repeated = field("tags", FieldType::Enum);
        repeated.values = vec!["a".into(), "a".into(), "".into(), "b".into()];
        let bp = Blueprint {
            title: None,
            entities: vec![
                entity(
                    "Thing",
                    vec![
                        field("id", FieldType::Text),
                        field("name", FieldType::Text),
                        field("name", FieldType::Number),
                        field("bad name", FieldType::Text),
                        bare_enum,
                        dangling,
                        text_with_bounds,
                        repeated,
                    ],
                ),
                entity("Thing", vec![]),
                entity("not valid", vec![]),
            ],
        };
        let model = AppModel::from_blueprint(&bp, "T");
        assert_eq!(model.entities.len(), 1);
        let fields = &model.entities[0].fields;
        let names: Vec<_> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["name", "kind", "owner", "code", "tags"]);
        assert_eq!(fields[1].field_type, FieldType::Text);
        assert_eq!(fields[2].field_type, FieldType::Text);
        assert_eq!(fields[2].references, None);
        assert_eq!(fields[3].min, None);
        assert_eq!(fields[4].values, ["a", "b"]);
    }

    #[test]
    fn collection_paths_stay_unique() {
        let bp = Blueprint {
            title: None,
            entities: vec![
                entity("Box", vec![]),
                entity("Boxe", vec![]),
                entity("MealPlan", vec![]),
            ],
        };
        let model = AppModel::from_blueprint(&bp, "T");
        let paths: Vec<_> = model.entities.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["boxes", "boxes-2", "meal-plans"]);
    }
}
