//! Mentions → entities that pass `check`.
//!
//! Two passes over the mentions, in prompt order. The first names the entities (so "a recipe"
//! can refer to `Recipe` even when recipes are introduced later); the second reads their fields
//! and turns relations into reference fields. Then every entity gets its finishing rules:
//!
//! - An entity with no fields of its own (none, or only references) gets a label field, `title`
//!   for things people title (tasks, books, posts…) and `name` for the rest; so does an entity
//!   named only after the app.
//! - Required: what the phrase said ("required", "optional") wins; otherwise the label is required,
//!   that is the first text field named `name`/`title`/`…Name`/`…Title`, else the first text field;
//!   a "belongs to" reference is required unless the prompt said "can"/"may"; nothing else is,
//!   and a boolean never is (an unticked box is an answer).
//! - Names `check` refuses are renamed, never dropped silently: reserved entity names get an
//!   `Item` suffix, reserved field names a `Value` suffix (booleans an `is` prefix: `isPublic`);
//!   `id`, `createdAt` and `updatedAt` are left out, as every record has them. Each change is a note.
//! - An entity the prompt only named, that nothing refers to, is left out when it was named in a
//!   heading ("keep track of my car's maintenance: services with …") or another entity has it as
//!   a field ("log my moods … each entry has a mood (good, bad)"). One word that is the head of a
//!   longer entity's name is that entity ("my vinyl records … each record has …").
//! - Limits: 50 entities, 100 fields each, 400 field phrases read per entity; what is beyond is
//!   left out with a note. A field said twice keeps its first reading.

use super::check::{MAX_ENTITIES, MAX_FIELDS, MAX_NAME_CHARS, entity_key};
use super::field::{self, Context, Draft, Reading};
use super::items::MAX_ITEMS;
use super::lexicon::is_titled;
use super::reserved::{entity_name_problem, field_name_problem, is_generated_field};
use super::sentence::{Mention, Naming};
use super::words::{entity_words, lower_first, pascal_case};
use appgen_crd::{Entity, Field, FieldType};
use std::collections::HashMap;

/// The event-log notes of one understanding, without repeats and within a bound, since a long
/// prompt could otherwise produce thousands.
#[derive(Debug, Default)]
pub(super) struct Notes {
    lines: Vec<String>,
    left_out: bool,
}

const MAX_NOTES: usize = 20;

impl Notes {
    pub(super) fn push(&mut self, note: String) {
        if self.lines.contains(&note) {
            return;
        }
        if self.lines.len() >= MAX_NOTES {
            self.left_out = true;
            return;
        }
        self.lines.push(note);
    }

    pub(super) fn finish(mut self) -> Vec<String> {
        if self.left_out {
            self.lines.push("More notes like these were left out.".to_owned());
        }
        self.lines
    }
}

/// A field being assembled, with what the prompt said about it being required.
#[derive(Debug)]
struct Slot {
    field: Field,
    target: Option<usize>,
    required: Option<bool>,
}

#[derive(Debug)]
struct Building {
    name: String,
    words: Vec<String>,
    fields: Vec<Slot>,
    /// Named only after the app: it needs a label of its own.
    implicit: bool,
    /// Named only in headings so far.
    heading: bool,
    /// How many field phrases about it were read.
    phrases: usize,
}

#[derive(Debug, Default)]
struct Registry {
    entities: Vec<Building>,
    index: HashMap<String, usize>,
}

impl Registry {
    /// The entity a noun phrase names, added if new; `None` when the phrase names nothing or the
    /// blueprint is full.
    fn register(&mut self, noun: &[String], notes: &mut Notes) -> Option<usize> {
        let words = entity_words(noun);
        let name = pascal_case(&words);
        if name.is_empty() {
            return None;
        }
        if let Some(&i) = self.index.get(&entity_key(&name)) {
            return Some(i);
        }
        // "my vinyl records … each record has": one word names the entity it is the head of.
        if let [head] = words.as_slice() {
            let mut heads = self
                .entities
                .iter()
                .enumerate()
                .filter(|(_, e)| e.words.len() > 1 && e.words.last() == Some(head));
            if let (Some((i, _)), None) = (heads.next(), heads.next()) {
                self.index.insert(entity_key(&name), i);
                return Some(i);
            }
        }
        let key = entity_key(&name);
        let name = match entity_name_problem(&name) {
            Some(problem) => {
                let renamed = suffixed(&name, "Item");
                notes.push(format!(
                    "`{name}` {problem}, so the entity is called `{renamed}`."
                ));
                // "class items" and "classes" are then one entity.
                if let Some(&i) = self.index.get(&entity_key(&renamed)) {
                    self.index.insert(key, i);
                    return Some(i);
                }
                renamed
            }
            None => name,
        };
        if self.entities.len() >= MAX_ENTITIES {
            notes.push(format!(
                "Only the first {MAX_ENTITIES} entities are kept; the others were left out."
            ));
            return None;
        }
        let i = self.entities.len();
        self.index.insert(key, i);
        self.index.insert(entity_key(&name), i);
        self.entities.push(Building {
            name,
            words,
            fields: Vec::new(),
            implicit: false,
            heading: true,
            phrases: 0,
        });
        Some(i)
    }

    fn find(&self, noun: &[String]) -> Option<usize> {
        self.index
            .get(&entity_key(&pascal_case(&entity_words(noun))))
            .copied()
    }

    fn add(&mut self, i: usize, slot: Slot, notes: &mut Notes) {
        let entity = &mut self.entities[i];
        let taken = entity
            .fields
            .iter()
            .any(|s| s.field.name.eq_ignore_ascii_case(&slot.field.name));
        if taken {
            return;
        }
        if entity.fields.len() >= MAX_FIELDS {
            notes.push(format!(
                "Only the first {MAX_FIELDS} fields of `{}` are kept.",
                entity.name
            ));
            return;
        }
        entity.fields.push(slot);
    }

    fn add_field(&mut self, i: usize, draft: Draft, notes: &mut Notes) {
        let entity = &self.entities[i].name;
        let mut name = draft.name;
        if is_generated_field(&name) {
            notes.push(format!(
                "Every `{entity}` gets `{name}` automatically, so the `{name}` in the prompt was left out."
            ));
            return;
        }
        if let Some(problem) = field_name_problem(&name) {
            let renamed = if draft.field_type == FieldType::Boolean {
                fit(format!("is{}", pascal_case(&[name.as_str()])))
            } else {
                suffixed(&name, "Value")
            };
            notes.push(format!(
                "`{name}` {problem}, so the field of `{entity}` is called `{renamed}`."
            ));
            name = renamed;
        }
        let field = Field {
            values: draft.values,
            min: draft.min,
            max: draft.max,
            ..Field::new(name, draft.field_type)
        };
        self.add(
            i,
            Slot {
                field,
                target: draft.target,
                required: draft.required,
            },
            notes,
        );
    }

    /// `child` gets a reference to `parent`, named after it (`client`, `mealPlan`; `parentTask`
    /// when a task belongs to a task).
    fn relate(&mut self, child: usize, parent: usize, required: bool, notes: &mut Notes) {
        let parent_name = &self.entities[parent].name;
        let name = if child == parent {
            format!("parent{parent_name}")
        } else {
            lower_first(parent_name)
        };
        let existing = self.entities[child]
            .fields
            .iter_mut()
            .find(|s| s.field.name.eq_ignore_ascii_case(&name));
        if let Some(slot) = existing {
            if slot.target == Some(parent) && required {
                slot.required = Some(true);
            }
            return;
        }
        let field = Field::new(fit(name), FieldType::Reference);
        self.add(
            child,
            Slot {
                field,
                target: Some(parent),
                required: required.then_some(true),
            },
            notes,
        );
    }
}

/// `name` + `suffix`, within the name length limit.
fn suffixed(name: &str, suffix: &str) -> String {
    let keep = MAX_NAME_CHARS.saturating_sub(suffix.len());
    format!("{}{suffix}", &name[..name.len().min(keep)])
}

/// Names are ASCII, so cutting at a byte count is safe.
fn fit(mut name: String) -> String {
    name.truncate(MAX_NAME_CHARS);
    name
}

/// The entities the mentions describe; empty when they name none.
pub(super) fn entities(mentions: &[Mention], notes: &mut Notes) -> Vec<Entity> {
    let mut registry = Registry::default();
    for mention in mentions {
        match mention {
            Mention::Entity { noun, items, .. } => {
                registry.register(noun, notes);
                // "many tasks" names an entity too, but "recipes" only when recipes are one.
                for target in items.iter().filter_map(field::many_target) {
                    registry.register(&target, notes);
                }
            }
            Mention::Relation { child, parent, .. } => {
                registry.register(child, notes);
                registry.register(parent, notes);
            }
        }
    }
    let known: Vec<Vec<String>> = registry.entities.iter().map(|e| e.words.clone()).collect();
    for mention in mentions {
        match mention {
            Mention::Entity { noun, items, naming } => {
                let Some(i) = registry.find(noun) else { continue };
                registry.entities[i].implicit |= *naming == Naming::App;
                registry.entities[i].heading &= *naming == Naming::Heading;
                let own = known[i].clone();
                let room = MAX_ITEMS.saturating_sub(registry.entities[i].phrases);
                if items.len() > room {
                    let name = &registry.entities[i].name;
                    notes.push(format!(
                        "Only the first {MAX_ITEMS} field phrases about `{name}` were read."
                    ));
                }
                registry.entities[i].phrases += items.len().min(room);
                for item in items.iter().take(room) {
                    match field::read(
                        item,
                        &Context {
                            own: &own,
                            known: &known,
                        },
                    ) {
                        Reading::Field(draft) => registry.add_field(i, draft, notes),
                        Reading::Many(target) => {
                            if let Some(child) = registry.find(&target) {
                                registry.relate(child, i, false, notes);
                            }
                        }
                        Reading::Nothing => {}
                    }
                }
            }
            Mention::Relation {
                child,
                parent,
                required,
            } => {
                if let (Some(child), Some(parent)) = (registry.find(child), registry.find(parent)) {
                    registry.entities[child].heading = false;
                    registry.entities[parent].heading = false;
                    registry.relate(child, parent, *required, notes);
                }
            }
        }
    }
    let entities = drop_named_only(registry.entities, notes);
    let names: Vec<String> = entities.iter().map(|e| e.name.clone()).collect();
    entities
        .into_iter()
        .map(|entity| finish(entity, &names, notes))
        .collect()
}

/// Entities the prompt only named, that nothing refers to, are left out when they were named in a
/// heading ("keep track of my car's maintenance: services with …") or when another entity has
/// them as a field ("log my daily moods. Each entry has a date and a mood (great, good, bad)").
fn drop_named_only(entities: Vec<Building>, notes: &mut Notes) -> Vec<Building> {
    let referenced: Vec<usize> = entities
        .iter()
        .flat_map(|e| e.fields.iter().filter_map(|s| s.target))
        .collect();
    let field_of = |i: usize| {
        let name = lower_first(&entities[i].name);
        entities.iter().enumerate().find_map(|(j, other)| {
            let has = other
                .fields
                .iter()
                .any(|s| s.target.is_none() && s.field.name == name);
            (j != i && has).then(|| other.name.clone())
        })
    };
    let reasons: Vec<Option<String>> = (0..entities.len())
        .map(|i| {
            let entity = &entities[i];
            if !entity.fields.is_empty() || entity.implicit || referenced.contains(&i) {
                return None;
            }
            match field_of(i) {
                Some(owner) => Some(format!(
                    "`{}` is a field of `{owner}`, not an entity of its own.",
                    entity.name
                )),
                None => entity
                    .heading
                    .then(|| format!("`{}` only heads a list, so it is not an entity.", entity.name)),
            }
        })
        .collect();
    if reasons.iter().all(Option::is_none) {
        return entities;
    }
    // Indices shift for the entities after a dropped one.
    let mut new_index = Vec::with_capacity(entities.len());
    let mut next = 0;
    for reason in &reasons {
        new_index.push(next);
        next += usize::from(reason.is_none());
    }
    let mut kept = Vec::with_capacity(next);
    for (mut entity, reason) in entities.into_iter().zip(reasons) {
        if let Some(reason) = reason {
            notes.push(reason);
            continue;
        }
        for slot in &mut entity.fields {
            slot.target = slot.target.map(|t| new_index[t]);
        }
        kept.push(entity);
    }
    kept
}

fn finish(mut entity: Building, names: &[String], notes: &mut Notes) -> Entity {
    let has_label = entity
        .fields
        .iter()
        .any(|s| s.field.field_type == FieldType::Text && is_label(&s.field.name));
    let only_references = entity
        .fields
        .iter()
        .all(|s| s.field.field_type == FieldType::Reference);
    if only_references || (entity.implicit && !has_label) {
        // A reference may already be called `name` (to an entity `Name`): the label takes another.
        let taken = |label: &&str| {
            entity
                .fields
                .iter()
                .any(|s| s.field.name.eq_ignore_ascii_case(label))
        };
        let preferred = label_for(&entity.words);
        let label = [preferred, "name", "title", "label"]
            .into_iter()
            .map(str::to_owned)
            .chain((2..).map(|n| format!("label{n}")))
            .find(|l| !taken(&l.as_str()))
            .unwrap_or_default();
        if only_references {
            notes.push(format!(
                "The prompt names no fields of `{}` itself, so it has a `{label}`.",
                entity.name
            ));
        }
        entity.fields.insert(
            0,
            Slot {
                field: Field::new(label, FieldType::Text),
                target: None,
                required: None,
            },
        );
        entity.fields.truncate(MAX_FIELDS);
    }
    mark_required(&mut entity.fields);
    let fields = entity
        .fields
        .into_iter()
        .map(|slot| Field {
            references: slot.target.and_then(|t| names.get(t).cloned()),
            ..slot.field
        })
        .collect();
    Entity {
        name: entity.name,
        fields,
    }
}

/// What the prompt said wins; else the label is required and a "belongs to" reference is
/// (its slot says so); a boolean never is.
fn mark_required(fields: &mut [Slot]) {
    for slot in fields.iter_mut() {
        slot.field.required = slot.required == Some(true) && slot.field.field_type != FieldType::Boolean;
    }
    let text = |s: &Slot| s.field.field_type == FieldType::Text;
    let label = fields
        .iter()
        .position(|s| text(s) && is_label(&s.field.name))
        .or_else(|| fields.iter().position(text));
    if let Some(slot) = label.map(|i| &mut fields[i])
        && slot.required != Some(false)
    {
        slot.field.required = true;
    }
}

fn is_label(name: &str) -> bool {
    matches!(name, "name" | "title") || name.ends_with("Name") || name.ends_with("Title")
}

fn label_for(words: &[String]) -> &'static str {
    if words.last().is_some_and(|w| is_titled(w)) {
        "title"
    } else {
        "name"
    }
}

/// The one entity of an app the prompt described no entities of: named after the app ("a todo
/// app" keeps `Todo`s, a CRM `Contact`s), else after the first noun of the prompt, else `Item`;
/// with a label and notes.
pub(super) fn fallback(noun: &[String], notes: &mut Notes) -> Entity {
    let words = entity_words(noun);
    let mut name = pascal_case(&words);
    if name.is_empty() {
        name = "Item".to_owned();
    }
    if entity_name_problem(&name).is_some() {
        name = suffixed(&name, "Item");
    }
    let label = label_for(&words);
    let mut fields = vec![
        Field::new(label, FieldType::Text),
        Field::new("notes", FieldType::LongText),
    ];
    fields[0].required = true;
    notes.push(format!(
        "Found no entities with fields in the prompt, so the app keeps one kind of record, `{name}`, with a \
         `{label}` and `notes`. Describe them like \"each task has a title and a due date\" to get more."
    ));
    Entity { name, fields }
}

/// A one-line summary for the event log: "Understood 2 entities: Recipe (name, …), MealPlan (date, recipe)."
pub(super) fn summary(entities: &[Entity]) -> String {
    let described: Vec<String> = entities
        .iter()
        .take(10)
        .map(|e| {
            let names: Vec<&str> = e.fields.iter().take(8).map(|f| f.name.as_str()).collect();
            let more = if e.fields.len() > 8 { ", …" } else { "" };
            format!("{} ({}{more})", e.name, names.join(", "))
        })
        .collect();
    let more = if entities.len() > 10 { ", …" } else { "" };
    let noun = if entities.len() == 1 { "entity" } else { "entities" };
    format!(
        "Understood {} {noun}: {}{more}.",
        entities.len(),
        described.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(name: &str, field_type: FieldType, required: Option<bool>) -> Slot {
        Slot {
            field: Field::new(name, field_type),
            target: None,
            required,
        }
    }

    fn required(fields: &[Slot]) -> Vec<&str> {
        fields
            .iter()
            .filter(|s| s.field.required)
            .map(|s| s.field.name.as_str())
            .collect()
    }

    #[test]
    fn the_label_is_required_and_what_the_prompt_says_wins() {
        let mut fields = [
            slot("dueDate", FieldType::Date, None),
            slot("summary", FieldType::Text, None),
            slot("title", FieldType::Text, None),
        ];
        mark_required(&mut fields);
        assert_eq!(required(&fields), ["title"]);
        let mut fields = [
            slot("dueDate", FieldType::Date, Some(true)),
            slot("summary", FieldType::Text, None),
        ];
        mark_required(&mut fields);
        assert_eq!(required(&fields), ["dueDate", "summary"]);
        let mut fields = [
            slot("name", FieldType::Text, Some(false)),
            slot("done", FieldType::Boolean, Some(true)),
        ];
        mark_required(&mut fields);
        assert!(required(&fields).is_empty());
    }

    #[test]
    fn notes_are_kept_once_and_bounded() {
        let mut notes = Notes::default();
        for i in 0..30 {
            notes.push(format!("note {}", i % 25));
            notes.push("again".to_owned());
        }
        let lines = notes.finish();
        assert_eq!(lines.len(), MAX_NOTES + 1);
        assert_eq!(
            lines.last().map(String::as_str),
            Some("More notes like these were left out.")
        );
    }
}
