//! Example values per field type for the generated tests and README: one the API accepts, one
//! to change it to, and ones it must refuse.

use appgen_crd::FieldType;
use serde_json::{Number, Value};

use super::model::FieldModel;

/// A value the API accepts. `None` for a reference, whose value is the id of a record that
/// has to be made first.
pub fn valid(field: &FieldModel) -> Option<Value> {
    let text = |s: &str| Some(Value::from(s));
    match field.field_type {
        FieldType::Text => Some(Value::from(format!("Example {}", field.label.to_lowercase()))),
        FieldType::LongText => text("A longer note.\nIt has two lines."),
        FieldType::Number => Some(number(field, 3.5)),
        FieldType::Integer => Some(number(field, 3.0)),
        FieldType::Money => Some(number(field, 12.5)),
        FieldType::Boolean => Some(Value::Bool(true)),
        FieldType::Date => text("2024-05-01"),
        FieldType::Datetime => text("2024-05-01T09:30"),
        FieldType::Email => text("someone@example.com"),
        FieldType::Url => text("https://example.com/page"),
        FieldType::Enum => field.values.first().map(|value| Value::from(value.as_str())),
        FieldType::Reference => None,
    }
}

/// A second accepted value that differs from [`valid`], for text and yes/no fields.
pub fn changed(field: &FieldModel) -> Option<Value> {
    match field.field_type {
        FieldType::Text | FieldType::LongText => {
            Some(Value::from(format!("Changed {}", field.label.to_lowercase())))
        }
        FieldType::Boolean => Some(Value::Bool(false)),
        _ => None,
    }
}

/// A value of the wrong kind and how a test names it. Enums and references have tests of
/// their own ([`outside_enum`], a missing id).
pub fn wrong(field: &FieldModel) -> Option<(Value, &'static str)> {
    match field.field_type {
        FieldType::Text | FieldType::LongText => Some((Value::from(42), "a number instead of text")),
        FieldType::Number | FieldType::Integer | FieldType::Money => {
            Some((Value::from("12"), "text instead of a number"))
        }
        FieldType::Boolean => Some((Value::from("yes"), "text instead of true or false")),
        FieldType::Date => Some((Value::from("31/12/2024"), "a date that is not YYYY-MM-DD")),
        FieldType::Datetime => Some((Value::from("tomorrow at noon"), "words instead of a time")),
        FieldType::Email => Some((Value::from("not an email"), "an invalid email address")),
        FieldType::Url => Some((Value::from("example.com"), "an address without http(s)")),
        FieldType::Enum | FieldType::Reference => None,
    }
}

/// Values just outside the field's bounds, each with a description for a test name.
pub fn out_of_range(field: &FieldModel) -> Vec<(Value, String)> {
    let step = if field.field_type == FieldType::Integer {
        1.0
    } else {
        0.5
    };
    let mut out = Vec::new();
    if let Some(min) = field.min {
        out.push((float((min - step).floor()), format!("below the minimum of {min}")));
    }
    if let Some(max) = field.max {
        out.push((float((max + step).ceil()), format!("above the maximum of {max}")));
    }
    out
}

/// A string that is not one of the enum's values.
pub fn outside_enum(field: &FieldModel) -> String {
    let mut value = format!("not a {}", field.label.to_lowercase());
    while field.values.contains(&value) {
        value.push('!');
    }
    value
}

/// `preferred`, moved inside the field's bounds; whole for integers, in cents for money.
fn number(field: &FieldModel, preferred: f64) -> Value {
    let mut value = preferred;
    if let Some(min) = field.min {
        value = value.max(min);
    }
    if let Some(max) = field.max {
        value = value.min(max);
    }
    match field.field_type {
        FieldType::Integer => {
            let whole = if field.min.is_some_and(|min| value.round() < min) {
                value.ceil()
            } else if field.max.is_some_and(|max| value.round() > max) {
                value.floor()
            } else {
                value.round()
            };
            float(whole)
        }
        FieldType::Money => float((value * 100.0).round() / 100.0),
        _ => float(value),
    }
}

/// A JSON number, written without a fraction when it is whole (`3`, not `3.0`).
fn float(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9e15 {
        Value::from(value as i64)
    } else {
        Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(field_type: FieldType, min: Option<f64>, max: Option<f64>) -> FieldModel {
        FieldModel {
            name: "n".into(),
            label: "N".into(),
            field_type,
            required: true,
            values: vec![],
            references: None,
            min,
            max,
        }
    }

    #[test]
    fn valid_numbers_respect_bounds_and_integers_stay_whole() {
        let rating = numeric(FieldType::Integer, Some(1.0), Some(5.0));
        assert_eq!(valid(&rating), Some(Value::from(3)));
        let big = numeric(FieldType::Integer, Some(10.5), None);
        assert_eq!(valid(&big), Some(Value::from(11)));
        let small = numeric(FieldType::Number, None, Some(1.0));
        assert_eq!(valid(&small), Some(Value::from(1)));
        assert_eq!(
            valid(&numeric(FieldType::Money, None, None)),
            Some(Value::from(12.5))
        );
    }

    #[test]
    fn out_of_range_values_fall_outside_each_bound() {
        let rating = numeric(FieldType::Integer, Some(1.0), Some(5.0));
        let values: Vec<Value> = out_of_range(&rating).into_iter().map(|(v, _)| v).collect();
        assert_eq!(values, [Value::from(0), Value::from(6)]);
    }

    #[test]
    fn the_value_outside_an_enum_is_never_one_of_its_values() {
        let mut field = numeric(FieldType::Enum, None, None);
        field.values = vec!["not a n".into(), "not a n!".into()];
        assert_eq!(outside_enum(&field), "not a n!!");
    }
}
