//! The checks every blueprint passes before anything is rendered, whether a user wrote it
//! (`spec.blueprint`) or `understand` produced it. Names become TypeScript identifiers, file
//! names and URL paths, so they are held to `^[A-Za-z][A-Za-z0-9]*$`: no dots, slashes or
//! spaces can ever reach a path.

use super::reserved::{entity_name_problem, field_name_problem};
use super::words::singular;
use appgen_crd::{Blueprint, Entity, Field, FieldType};
use std::collections::HashMap;

/// The most entities a blueprint may have.
pub(super) const MAX_ENTITIES: usize = 50;
/// The most fields an entity may have.
pub(super) const MAX_FIELDS: usize = 100;
/// The longest entity or field name.
pub(super) const MAX_NAME_CHARS: usize = 63;
/// The most values an enum field may have.
pub(super) const MAX_VALUES: usize = 100;
/// The longest enum value.
pub(super) const MAX_VALUE_CHARS: usize = 100;
/// The longest title.
pub(super) const MAX_TITLE_CHARS: usize = 100;

/// Why a blueprint cannot be rendered. Each message names the entity and field and says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BlueprintError {
    #[error("the blueprint has no entities; add at least one, such as a `Task` with a `title` field")]
    NoEntities,
    #[error(
        "the blueprint has {count} entities but at most {MAX_ENTITIES} are allowed; merge or remove some"
    )]
    TooManyEntities { count: usize },
    #[error(
        "entity {entity} has {count} fields but at most {MAX_FIELDS} are allowed; split it into smaller entities"
    )]
    TooManyFields { entity: String, count: usize },
    #[error("the title {title} {problem}")]
    BadTitle { title: String, problem: String },
    #[error("entity name {name} {problem}")]
    BadEntityName { name: String, problem: String },
    #[error("field name {name} of entity {entity} {problem}")]
    BadFieldName {
        entity: String,
        name: String,
        problem: String,
    },
    #[error(
        "entity {name} clashes with entity {first} (names are compared ignoring case and plural, as they \
         become file names and URL paths); rename one or merge them"
    )]
    DuplicateEntity { name: String, first: String },
    #[error(
        "entity {entity} has two fields named {name} (compared ignoring case, as {first} came first); rename or \
         remove one"
    )]
    DuplicateField {
        entity: String,
        name: String,
        first: String,
    },
    #[error(
        "enum field {field} of entity {entity} has no values; list them in `values`, e.g. [\"low\", \"high\"]"
    )]
    EnumWithoutValues { entity: String, field: String },
    #[error(
        "enum field {field} of entity {entity} has {count} values but at most {MAX_VALUES} are allowed; make it a \
         text field or a reference to an entity instead"
    )]
    TooManyValues {
        entity: String,
        field: String,
        count: usize,
    },
    #[error("enum field {field} of entity {entity} has the value {value}, which {problem}")]
    BadValue {
        entity: String,
        field: String,
        value: String,
        problem: String,
    },
    #[error("enum field {field} of entity {entity} lists {value} twice (compared ignoring case); remove one")]
    DuplicateValue {
        entity: String,
        field: String,
        value: String,
    },
    #[error(
        "field {field} of entity {entity} has `values` but is of type {field_type}; make it an `enum` or remove the values"
    )]
    ValuesWithoutEnum {
        entity: String,
        field: String,
        field_type: &'static str,
    },
    #[error(
        "reference field {field} of entity {entity} does not say what it refers to; set `references` to one of: {known}"
    )]
    MissingReference {
        entity: String,
        field: String,
        known: String,
    },
    #[error(
        "field {field} of entity {entity} references {target}, which is not an entity of this blueprint; use one of: {known}"
    )]
    UnknownReference {
        entity: String,
        field: String,
        target: String,
        known: String,
    },
    #[error(
        "field {field} of entity {entity} has `references` but is of type {field_type}; make it a `reference` or \
         remove `references`"
    )]
    ReferencesWithoutReference {
        entity: String,
        field: String,
        field_type: &'static str,
    },
    #[error("field {field} of entity {entity} has `min` {min} above `max` {max}; swap them")]
    MinAboveMax {
        entity: String,
        field: String,
        min: f64,
        max: f64,
    },
    #[error(
        "field {field} of entity {entity} has `min` or `max` but is of type {field_type}; only number, integer and \
         money fields take bounds, so remove them"
    )]
    BoundsWithoutNumber {
        entity: String,
        field: String,
        field_type: &'static str,
    },
    #[error(
        "field {field} of entity {entity} has a `min` or `max` that is not a finite number; use a plain number"
    )]
    BoundNotFinite { entity: String, field: String },
}

/// Checks a blueprint given by a user (`spec.blueprint`) or produced by `understand` before
/// anything is rendered. The first problem found is returned.
pub fn check(blueprint: &Blueprint) -> Result<(), BlueprintError> {
    if let Some(title) = &blueprint.title {
        check_title(title)?;
    }
    let entities = &blueprint.entities;
    if entities.is_empty() {
        return Err(BlueprintError::NoEntities);
    }
    if entities.len() > MAX_ENTITIES {
        return Err(BlueprintError::TooManyEntities {
            count: entities.len(),
        });
    }
    let mut seen: HashMap<String, &str> = HashMap::new();
    for entity in entities {
        check_entity_name(&entity.name)?;
        if let Some(first) = seen.insert(entity_key(&entity.name), &entity.name) {
            return Err(BlueprintError::DuplicateEntity {
                name: shown(&entity.name),
                first: shown(first),
            });
        }
    }
    let names: Vec<&str> = entities.iter().map(|e| e.name.as_str()).collect();
    for entity in entities {
        check_fields(entity, &names)?;
    }
    Ok(())
}

/// Entities clash when their names differ only in case or number: `Category` and `categories`
/// would share a file on some systems and a URL path everywhere.
pub(super) fn entity_key(name: &str) -> String {
    singular(&name.to_ascii_lowercase())
}

fn check_title(title: &str) -> Result<(), BlueprintError> {
    let problem = if title.trim().is_empty() {
        Some("is blank; give the app a title or leave it out".to_owned())
    } else if title.chars().count() > MAX_TITLE_CHARS {
        Some(format!("is longer than {MAX_TITLE_CHARS} characters; shorten it"))
    } else if title.chars().any(char::is_control) {
        Some("holds control characters such as line breaks; keep it to one line".to_owned())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(BlueprintError::BadTitle {
            title: shown(title),
            problem,
        }),
        None => Ok(()),
    }
}

fn check_entity_name(name: &str) -> Result<(), BlueprintError> {
    let problem = name_problem(name).or_else(|| {
        if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
            return Some("must start with a capital letter (PascalCase, e.g. `MealPlan`)".to_owned());
        }
        entity_name_problem(name).map(|why| format!("{why}; choose another name, e.g. `{name}Item`"))
    });
    match problem {
        Some(problem) => Err(BlueprintError::BadEntityName {
            name: shown(name),
            problem,
        }),
        None => Ok(()),
    }
}

fn check_fields(entity: &Entity, entities: &[&str]) -> Result<(), BlueprintError> {
    let fields = &entity.fields;
    if fields.len() > MAX_FIELDS {
        return Err(BlueprintError::TooManyFields {
            entity: shown(&entity.name),
            count: fields.len(),
        });
    }
    let mut seen: HashMap<String, &str> = HashMap::new();
    for field in fields {
        check_field_name(entity, &field.name)?;
        if let Some(first) = seen.insert(field.name.to_ascii_lowercase(), &field.name) {
            return Err(BlueprintError::DuplicateField {
                entity: shown(&entity.name),
                name: shown(&field.name),
                first: shown(first),
            });
        }
        check_values(entity, field)?;
        check_reference(entity, field, entities)?;
        check_bounds(entity, field)?;
    }
    Ok(())
}

fn check_field_name(entity: &Entity, name: &str) -> Result<(), BlueprintError> {
    let problem = name_problem(name).or_else(|| {
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Some("must start with a lower-case letter (camelCase, e.g. `dueDate`)".to_owned());
        }
        field_name_problem(name).map(|why| {
            if super::reserved::is_generated_field(name) {
                format!("{why}; remove the field")
            } else {
                format!("{why}; choose another name, e.g. `{name}Value`")
            }
        })
    });
    match problem {
        Some(problem) => Err(BlueprintError::BadFieldName {
            entity: shown(&entity.name),
            name: shown(name),
            problem,
        }),
        None => Ok(()),
    }
}

/// What is wrong with a name as an identifier, if anything.
fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty; give it a name such as `Task` or `dueDate`".to_owned());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Some(format!("is longer than {MAX_NAME_CHARS} characters; shorten it"));
    }
    let identifier = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric());
    (!identifier).then(|| {
        "must start with a letter and hold only ASCII letters and digits (no spaces, dots, slashes, dashes or \
         underscores), because names become file names and identifiers"
            .to_owned()
    })
}

fn check_values(entity: &Entity, field: &Field) -> Result<(), BlueprintError> {
    let (e, f) = (|| shown(&entity.name), || shown(&field.name));
    if field.field_type != FieldType::Enum {
        if !field.values.is_empty() {
            return Err(BlueprintError::ValuesWithoutEnum {
                entity: e(),
                field: f(),
                field_type: type_name(field.field_type),
            });
        }
        return Ok(());
    }
    if field.values.is_empty() {
        return Err(BlueprintError::EnumWithoutValues {
            entity: e(),
            field: f(),
        });
    }
    if field.values.len() > MAX_VALUES {
        return Err(BlueprintError::TooManyValues {
            entity: e(),
            field: f(),
            count: field.values.len(),
        });
    }
    let mut seen: HashMap<String, &str> = HashMap::new();
    for value in &field.values {
        let problem = if value.trim().is_empty() {
            Some("is empty; remove it or give it text".to_owned())
        } else if value.chars().count() > MAX_VALUE_CHARS {
            Some(format!("is longer than {MAX_VALUE_CHARS} characters; shorten it"))
        } else if value.chars().any(char::is_control) {
            Some("holds control characters such as line breaks; keep it to one line".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(BlueprintError::BadValue {
                entity: e(),
                field: f(),
                value: shown(value),
                problem,
            });
        }
        if seen.insert(value.trim().to_lowercase(), value).is_some() {
            return Err(BlueprintError::DuplicateValue {
                entity: e(),
                field: f(),
                value: shown(value),
            });
        }
    }
    Ok(())
}

fn check_reference(entity: &Entity, field: &Field, entities: &[&str]) -> Result<(), BlueprintError> {
    let (e, f) = (|| shown(&entity.name), || shown(&field.name));
    let known = || {
        entities
            .iter()
            .map(|name| shown(name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (field.field_type, &field.references) {
        (FieldType::Reference, None) => Err(BlueprintError::MissingReference {
            entity: e(),
            field: f(),
            known: known(),
        }),
        (FieldType::Reference, Some(target)) if !entities.contains(&target.as_str()) => {
            Err(BlueprintError::UnknownReference {
                entity: e(),
                field: f(),
                target: shown(target),
                known: known(),
            })
        }
        (FieldType::Reference, Some(_)) | (_, None) => Ok(()),
        (other, Some(_)) => Err(BlueprintError::ReferencesWithoutReference {
            entity: e(),
            field: f(),
            field_type: type_name(other),
        }),
    }
}

fn check_bounds(entity: &Entity, field: &Field) -> Result<(), BlueprintError> {
    let (e, f) = (|| shown(&entity.name), || shown(&field.name));
    if field.min.is_none() && field.max.is_none() {
        return Ok(());
    }
    if !matches!(
        field.field_type,
        FieldType::Number | FieldType::Integer | FieldType::Money
    ) {
        return Err(BlueprintError::BoundsWithoutNumber {
            entity: e(),
            field: f(),
            field_type: type_name(field.field_type),
        });
    }
    if [field.min, field.max].iter().flatten().any(|n| !n.is_finite()) {
        return Err(BlueprintError::BoundNotFinite {
            entity: e(),
            field: f(),
        });
    }
    match (field.min, field.max) {
        (Some(min), Some(max)) if min > max => Err(BlueprintError::MinAboveMax {
            entity: e(),
            field: f(),
            min,
            max,
        }),
        _ => Ok(()),
    }
}

/// A name as messages show it: in backticks, escaped, and cut short, since it may be anything.
fn shown(name: &str) -> String {
    let escaped: String = name.escape_debug().collect();
    let mut chars = escaped.chars();
    let short: String = chars.by_ref().take(80).collect();
    let more = if chars.next().is_some() { "…" } else { "" };
    format!("`{short}{more}`")
}

/// The type as written in a blueprint.
fn type_name(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Text => "text",
        FieldType::LongText => "longText",
        FieldType::Number => "number",
        FieldType::Integer => "integer",
        FieldType::Money => "money",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
        FieldType::Datetime => "datetime",
        FieldType::Email => "email",
        FieldType::Url => "url",
        FieldType::Enum => "enum",
        FieldType::Reference => "reference",
    }
}
