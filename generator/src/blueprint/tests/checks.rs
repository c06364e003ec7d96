//! `check` refuses every blueprint that would break the rendered app, and says where and what to do.

use super::super::{BlueprintError, check};
use appgen_crd::{Blueprint, Entity, Field, FieldType};

fn entity(name: &str, fields: Vec<Field>) -> Entity {
    Entity {
        name: name.to_owned(),
        fields,
    }
}

/// A blueprint with one of everything `check` looks at, all of it fine.
fn valid() -> Blueprint {
    let mut status = Field::new("status", FieldType::Enum);
    status.values = vec!["proposal".into(), "active".into(), "done".into()];
    let mut client = Field::new("client", FieldType::Reference);
    client.references = Some("Client".into());
    let mut budget = Field::new("budget", FieldType::Money);
    (budget.min, budget.max) = (Some(0.0), Some(10_000.0));
    Blueprint {
        title: Some("CRM".into()),
        entities: vec![
            entity(
                "Client",
                vec![
                    Field::new("name", FieldType::Text),
                    Field::new("email", FieldType::Email),
                ],
            ),
            entity("Project", vec![client, status, budget]),
        ],
    }
}

fn refused(change: impl FnOnce(&mut Blueprint)) -> BlueprintError {
    let mut blueprint = valid();
    change(&mut blueprint);
    match check(&blueprint) {
        Err(error) => error,
        Ok(()) => panic!("accepted {blueprint:?}"),
    }
}

fn project_field<'a>(blueprint: &'a mut Blueprint, name: &str) -> &'a mut Field {
    let project = &mut blueprint.entities[1];
    match project.fields.iter().position(|f| f.name == name) {
        Some(i) => &mut project.fields[i],
        None => panic!("no field {name}"),
    }
}

#[test]
fn a_sound_blueprint_passes() {
    assert_eq!(check(&valid()), Ok(()));
    let mut untitled = valid();
    untitled.title = None;
    assert_eq!(check(&untitled), Ok(()));
}

#[test]
fn a_blueprint_needs_entities_and_no_more_than_fifty() {
    let error = refused(|b| b.entities.clear());
    assert_eq!(error, BlueprintError::NoEntities);
    assert!(error.to_string().contains("add at least one"));
    let error = refused(|b| {
        b.entities = (0..51)
            .map(|i| entity(&format!("Thing{i}"), vec![Field::new("name", FieldType::Text)]))
            .collect()
    });
    assert_eq!(error, BlueprintError::TooManyEntities { count: 51 });
    assert!(error.to_string().contains("at most 50"));
}

#[test]
fn an_entity_has_no_more_than_a_hundred_fields() {
    let error = refused(|b| {
        b.entities[0].fields = (0..101)
            .map(|i| Field::new(format!("f{i}"), FieldType::Text))
            .collect()
    });
    assert!(matches!(&error, BlueprintError::TooManyFields { count: 101, .. }));
    assert!(error.to_string().contains("entity `Client` has 101 fields"));
}

#[test]
fn names_must_be_identifiers_so_no_path_can_hide_in_one() {
    for bad in [
        "",
        "../etc",
        "a/b",
        "a.b",
        "..",
        ".",
        "My Entity",
        "Task-List",
        "Task_List",
        "2Fa",
        "Naïve",
        "Tâche",
    ] {
        let error = refused(|b| b.entities[0].name = bad.to_owned());
        assert!(
            matches!(error, BlueprintError::BadEntityName { .. }),
            "{bad:?}: {error}"
        );
        let error = refused(|b| b.entities[0].fields[0].name = bad.to_lowercase());
        assert!(
            matches!(error, BlueprintError::BadFieldName { .. }),
            "{bad:?}: {error}"
        );
    }
    let error = refused(|b| b.entities[0].name = "A".repeat(64));
    assert!(error.to_string().contains("longer than 63 characters"));
    let mut long = valid();
    long.entities[1].name = "A".repeat(63);
    assert_eq!(check(&long), Ok(()));
}

#[test]
fn entities_are_pascal_case_and_fields_camel_case() {
    let error = refused(|b| b.entities[0].name = "client".into());
    assert!(
        error.to_string().contains("must start with a capital letter"),
        "{error}"
    );
    let error = refused(|b| b.entities[0].fields[0].name = "Name".into());
    assert!(
        error
            .to_string()
            .contains("field name `Name` of entity `Client` must start with a lower-case letter"),
        "{error}"
    );
}

#[test]
fn reserved_names_are_refused_ignoring_case() {
    for (name, why) in [
        ("Class", "reserved word"),
        ("Delete", "reserved word"),
        ("Constructor", "property every JavaScript object already has"),
        ("Date", "generated code or the file system already uses"),
        ("App", "generated code or the file system already uses"),
        ("Con", "generated code or the file system already uses"),
        ("Id", "clash with a field every record has"),
    ] {
        let error = refused(|b| b.entities[0].name = name.to_owned());
        assert!(error.to_string().contains(why), "{name}: {error}");
        assert!(
            error.to_string().contains(&format!("e.g. `{name}Item`")),
            "{name}: {error}"
        );
    }
    for (name, why) in [
        ("constructor", "property every JavaScript object already has"),
        ("toString", "property every JavaScript object already has"),
        ("hasOwnProperty", "property every JavaScript object already has"),
        ("toJSON", "property every JavaScript object already has"),
        ("class", "reserved word"),
        ("default", "reserved word"),
        ("new", "reserved word"),
    ] {
        let error = refused(|b| b.entities[0].fields[0].name = name.to_owned());
        assert!(error.to_string().contains(why), "{name}: {error}");
        assert!(
            error.to_string().contains(&format!("e.g. `{name}Value`")),
            "{name}: {error}"
        );
    }
}

/// Every record already has `id`, `createdAt` and `updatedAt`; a user who writes one expects it
/// to mean something, so it is refused rather than silently dropped.
#[test]
fn generated_fields_are_refused() {
    for name in ["id", "iD", "createdAt", "createdat", "updatedAt"] {
        let error = refused(|b| b.entities[0].fields[0].name = name.to_owned());
        let message = error.to_string();
        assert!(
            message.contains("is added to every record automatically; remove the field"),
            "{name}: {message}"
        );
    }
}

#[test]
fn names_are_unique_ignoring_case_and_plural() {
    let error = refused(|b| b.entities[1].name = "CLIENT".into());
    assert_eq!(
        error,
        BlueprintError::DuplicateEntity {
            name: "`CLIENT`".into(),
            first: "`Client`".into()
        }
    );
    let error = refused(|b| b.entities[1].name = "Clients".into());
    assert!(matches!(error, BlueprintError::DuplicateEntity { .. }), "{error}");
    let error = refused(|b| b.entities[0].fields[1].name = "nAME".into());
    assert!(
        error
            .to_string()
            .contains("entity `Client` has two fields named `nAME`"),
        "{error}"
    );
}

#[test]
fn enum_fields_need_distinct_values() {
    let error = refused(|b| project_field(b, "status").values.clear());
    assert!(
        error
            .to_string()
            .contains("enum field `status` of entity `Project` has no values"),
        "{error}"
    );
    for value in ["", "   ", "two\nlines", &"x".repeat(101)] {
        let error = refused(|b| project_field(b, "status").values.push(value.to_owned()));
        assert!(
            matches!(error, BlueprintError::BadValue { .. }),
            "{value:?}: {error}"
        );
    }
    let error = refused(|b| project_field(b, "status").values.push("Done".into()));
    assert!(error.to_string().contains("lists `Done` twice"), "{error}");
    let error = refused(|b| project_field(b, "status").values = (0..101).map(|i| i.to_string()).collect());
    assert!(
        matches!(error, BlueprintError::TooManyValues { count: 101, .. }),
        "{error}"
    );
    let error = refused(|b| project_field(b, "budget").values = vec!["a".into(), "b".into()]);
    assert!(
        error.to_string().contains("has `values` but is of type money"),
        "{error}"
    );
}

#[test]
fn references_point_at_an_entity_of_the_blueprint() {
    let error = refused(|b| project_field(b, "client").references = None);
    assert!(
        error
            .to_string()
            .contains("set `references` to one of: `Client`, `Project`"),
        "{error}"
    );
    for target in ["Customer", "client", "../Client"] {
        let error = refused(|b| project_field(b, "client").references = Some(target.to_owned()));
        assert!(
            matches!(error, BlueprintError::UnknownReference { .. }),
            "{target}: {error}"
        );
    }
    let error = refused(|b| project_field(b, "budget").references = Some("Client".into()));
    assert!(
        error
            .to_string()
            .contains("has `references` but is of type money"),
        "{error}"
    );
}

#[test]
fn bounds_are_finite_ordered_and_only_on_numbers() {
    let error = refused(|b| project_field(b, "budget").min = Some(20_000.0));
    assert!(
        error
            .to_string()
            .contains("`min` 20000 above `max` 10000; swap them"),
        "{error}"
    );
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let error = refused(|b| project_field(b, "budget").max = Some(bad));
        assert!(
            matches!(error, BlueprintError::BoundNotFinite { .. }),
            "{bad}: {error}"
        );
    }
    let error = refused(|b| project_field(b, "status").min = Some(1.0));
    assert!(
        error
            .to_string()
            .contains("only number, integer and money fields take bounds"),
        "{error}"
    );
}

#[test]
fn titles_are_one_short_line() {
    for title in ["", "  ", "two\nlines", &"x".repeat(101)] {
        let error = refused(|b| b.title = Some(title.to_owned()));
        assert!(
            matches!(error, BlueprintError::BadTitle { .. }),
            "{title:?}: {error}"
        );
    }
}

#[test]
fn messages_show_hostile_names_escaped_and_short() {
    let error = refused(|b| b.entities[0].name = format!("../{}\n", "x".repeat(200)));
    let message = error.to_string();
    assert!(message.contains("`../xxx"), "{message}");
    assert!(
        message.contains('…') && !message.contains('\n') && message.len() < 400,
        "{message}"
    );
}
