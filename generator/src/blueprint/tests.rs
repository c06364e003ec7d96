//! Behaviour of `understand` and `check` as a whole.

use super::understand;
use appgen_crd::{Blueprint, Field, FieldType};

mod checks;
mod odd_input;
mod prompts;
mod properties;

/// A blueprint as one line per entity, e.g.
/// `Task: title text!, dueDate date, priority enum(low, medium, high), done boolean`, where `!`
/// marks a required field, `-> Recipe` a reference and `1..5` bounds.
fn describe(blueprint: &Blueprint) -> Vec<String> {
    blueprint
        .entities
        .iter()
        .map(|entity| {
            let fields: Vec<String> = entity.fields.iter().map(describe_field).collect();
            format!("{}: {}", entity.name, fields.join(", "))
        })
        .collect()
}

fn describe_field(field: &Field) -> String {
    let kind = match (field.field_type, &field.references) {
        (FieldType::Reference, Some(target)) => format!("-> {target}"),
        (FieldType::Enum, _) => format!("enum({})", field.values.join(", ")),
        (other, _) => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    };
    let bound = |b: Option<f64>| b.map(|n| n.to_string()).unwrap_or_default();
    let bounds = if field.min.is_some() || field.max.is_some() {
        format!(" {}..{}", bound(field.min), bound(field.max))
    } else {
        String::new()
    };
    let required = if field.required { "!" } else { "" };
    format!("{} {kind}{bounds}{required}", field.name)
}

/// What `understand` makes of a prompt, described.
fn understood(prompt: &str) -> Vec<String> {
    describe(&understand(prompt).blueprint)
}
