//! One field phrase → one field: "a due date" → `dueDate` (date), "a priority (low, medium, high)"
//! → `priority` (enum), "number of pages" → `pages` (integer), "whether I've read it" → `read`
//! (boolean), "cooking time in minutes" → `cookingTime` (integer), "a recipe" → `recipe`
//! (reference to `Recipe`), "many tasks" → each `Task` refers back.
//!
//! The phrase is peeled in steps: parenthesised notes (values, types, units, "required"), money
//! signs, ranges, slash alternatives ("low/medium/high", "yes/no"), required/optional, units,
//! leading articles and "the following fields", then its shape ("whether …", "number of …",
//! "… flag") and possessives. What is left up to the first qualifier ("for …", "that …") is the
//! name; "date of birth" turns into `birthDate`. At most four words make a name.

use super::check::{MAX_VALUE_CHARS, MAX_VALUES};
use super::items::Item;
use super::lexicon::{
    is_auxiliary, is_determiner, is_field_meta, is_many, is_pronoun, is_stopword, starts_qualifier,
};
use super::text::{Token, number};
use super::types::{self, Hints};
use super::words::{camel_case, entity_words, singular};
use appgen_crd::FieldType;

/// What a field phrase turned out to say.
#[derive(Debug, PartialEq)]
pub(super) enum Reading {
    Field(Draft),
    /// "many tasks": every one of the named entity belongs to the entity the phrase is about.
    Many(Vec<String>),
    Nothing,
}

/// A field before its entity is assembled.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Draft {
    pub(super) name: String,
    pub(super) field_type: FieldType,
    pub(super) values: Vec<String>,
    /// The referenced entity, as an index into [`Context::known`].
    pub(super) target: Option<usize>,
    pub(super) min: Option<f64>,
    pub(super) max: Option<f64>,
    /// What the phrase said: "required" (`Some(true)`), "optional" (`Some(false)`), or nothing.
    pub(super) required: Option<bool>,
}

/// What a phrase is read against.
pub(super) struct Context<'a> {
    /// The words of the entity the phrase is about.
    pub(super) own: &'a [String],
    /// The words of every entity of the prompt, by index.
    pub(super) known: &'a [Vec<String>],
}

pub(super) fn read(item: &Item, cx: &Context) -> Reading {
    let mut hints = Hints::default();
    let (main, groups) = ungroup(&item.tokens);
    for group in &groups {
        read_group(group, &mut hints);
    }
    if hints.values.is_empty() {
        hints.values.clone_from(&item.values);
    }
    let main: Vec<&Token> = main
        .into_iter()
        .filter(|t| {
            let currency = t.is("$");
            hints.money |= currency;
            !currency
        })
        .collect();
    let main = take_ranges(&main, &mut hints);
    let mut words = take_alternatives(&main, &mut hints);
    take_flags(&mut words, &mut hints);
    take_units(&mut words, &mut hints);
    if let Some(target) = many_of(&words) {
        return Reading::Many(target);
    }
    strip_lead(&mut words);
    take_shape(&mut words, &mut hints);
    drop_possessives(&mut words, cx.own);
    let role = role_of(&words, cx);
    let mut words: Vec<String> = head_phrase(words, cx.own, &mut hints)
        .into_iter()
        .filter(|w| !is_filler(w) && !w.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    if words.len() >= 2 && words.iter().any(|w| w == "email") && words.last().is_some_and(|w| w == "address")
    {
        words.pop();
    }
    words.drain(..words.len().saturating_sub(4));
    let name = camel_case(&words);
    if name.is_empty() {
        return Reading::Nothing;
    }
    hints.values = clean_values(std::mem::take(&mut hints.values));
    let named = role
        .map(|target| (target, false))
        .or_else(|| entity_named(&words, cx));
    if !hints.decides_type()
        && let Some((target, plural)) = named
    {
        if plural {
            return Reading::Many(cx.known[target].clone());
        }
        if let Some(last) = words.last_mut() {
            *last = singular(last);
        }
        return Reading::Field(Draft {
            name: camel_case(&words),
            field_type: FieldType::Reference,
            values: Vec::new(),
            target: Some(target),
            min: None,
            max: None,
            required: hints.required,
        });
    }
    let field_type = types::infer(&words, &hints);
    let numeric = matches!(
        field_type,
        FieldType::Number | FieldType::Integer | FieldType::Money
    );
    let (mut min, mut max) = if numeric {
        (hints.min, hints.max)
    } else {
        (None, None)
    };
    if let (Some(low), Some(high)) = (min, max)
        && low > high
    {
        (min, max) = (Some(high), Some(low));
    }
    let values = if field_type == FieldType::Enum {
        hints.values
    } else {
        Vec::new()
    };
    Reading::Field(Draft {
        name,
        field_type,
        values,
        target: None,
        min,
        max,
        required: hints.required,
    })
}

/// The tokens outside parentheses, and the contents of each top-level pair.
fn ungroup(tokens: &[Token]) -> (Vec<&Token>, Vec<Vec<&Token>>) {
    let mut main = Vec::new();
    let mut groups: Vec<Vec<&Token>> = Vec::new();
    let mut depth = 0usize;
    for token in tokens {
        if token.is_punct('(') {
            if depth == 0 {
                groups.push(Vec::new());
            }
            depth += 1;
        } else if token.is_punct(')') {
            depth = depth.saturating_sub(1);
        } else if depth > 0 {
            if let Some(group) = groups.last_mut() {
                group.push(token);
            }
        } else {
            main.push(token);
        }
    }
    (main, groups)
}

/// "(low, medium, high)", "(required)", "(in minutes)", "(1-5)", "(long text)", "(yes/no)".
/// Examples ("(e.g. red)") say nothing about the field.
fn read_group(group: &[&Token], hints: &mut Hints) {
    let norms: Vec<&str> = group
        .iter()
        .filter_map(|t| t.word())
        .map(|w| w.norm.as_str())
        .collect();
    let Some(&first) = norms.first() else { return };
    let example = matches!(
        first,
        "e.g" | "eg" | "i.e" | "ie" | "such" | "like" | "example" | "examples" | "say"
    ) || (first == "for" && norms.get(1) == Some(&"example"));
    if example {
        return;
    }
    if norms
        .iter()
        .all(|w| matches!(*w, "required" | "mandatory" | "compulsory" | "optional"))
    {
        hints.required = Some(first != "optional");
        return;
    }
    if let Some(explicit) = types::explicit_type(&norms) {
        hints.explicit = Some(explicit);
        return;
    }
    if is_yes_no(&norms) {
        hints.boolean = true;
        return;
    }
    if take_ranges(group, hints).len() < group.len() {
        return;
    }
    let unit = match norms.as_slice() {
        ["in", unit] | [unit] => types::unit_type(unit),
        _ => None,
    };
    if let Some(unit) = unit {
        set_unit(hints, unit);
        return;
    }
    let values = values_in(group);
    if values.len() >= 2 && values.iter().all(|v| v.split(' ').count() <= 4) && hints.values.is_empty() {
        hints.values = values;
    }
}

/// "low, medium or high" → `["low", "medium", "high"]`, as written.
fn values_in(group: &[&Token]) -> Vec<String> {
    let mut values = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for token in group {
        match token {
            Token::Word(w) if w.norm != "or" && w.norm != "and" => current.push(&w.raw),
            _ => {
                if !current.is_empty() {
                    values.push(current.join(" "));
                    current.clear();
                }
            }
        }
    }
    if !current.is_empty() {
        values.push(current.join(" "));
    }
    values
}

fn is_yes_no(norms: &[&str]) -> bool {
    matches!(
        norms,
        ["yes", "no"] | ["no", "yes"] | ["true", "false"] | ["y", "n"] | ["on", "off"]
    )
}

fn set_unit(hints: &mut Hints, unit: FieldType) {
    if unit == FieldType::Money {
        hints.money = true;
    } else {
        hints.unit = Some(unit);
    }
}

/// Removes ranges ("from 1 to 5", "between 0 and 10", "1-5", "out of 10", "at least 2") and
/// records their bounds.
fn take_ranges<'t>(tokens: &[&'t Token], hints: &mut Hints) -> Vec<&'t Token> {
    let mut rest = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if let Some((min, max, len)) = range_at(tokens, i) {
            hints.min = min.or(hints.min);
            hints.max = max.or(hints.max);
            i += len;
            continue;
        }
        rest.push(tokens[i]);
        i += 1;
    }
    rest
}

type Range = (Option<f64>, Option<f64>, usize);

fn range_at(tokens: &[&Token], i: usize) -> Option<Range> {
    let word = |k: usize| tokens.get(i + k).map_or("", |t| t.norm());
    let num = |k: usize| tokens.get(i + k).and_then(|t| t.number());
    let to = |k: usize| {
        matches!(word(k), "to" | "through" | "until") || tokens.get(i + k).is_some_and(|t| t.is_punct('-'))
    };
    let both = |a: usize, b: usize, len: usize| num(a).zip(num(b)).map(|(a, b)| (Some(a), Some(b), len));
    let found = match word(0) {
        // "a rating of 1 to 5": the "of" belongs to the range.
        "of" if to(2) => both(1, 3, 4),
        "from" if to(2) => both(1, 3, 4),
        "between" if word(2) == "and" => both(1, 3, 4),
        "out" | "up" if matches!(word(1), "of" | "to") => num(2).map(|max| (None, Some(max), 3)),
        "at" if word(1) == "most" => num(2).map(|max| (None, Some(max), 3)),
        "at" if word(1) == "least" => num(2).map(|min| (Some(min), None, 3)),
        "max" | "maximum" => num(1).map(|max| (None, Some(max), 2)),
        "min" | "minimum" => num(1).map(|min| (Some(min), None, 2)),
        _ if to(1) => both(0, 2, 3),
        // "1-5" is one word.
        w => w
            .split_once('-')
            .and_then(|(a, b)| Some((Some(number(a)?), Some(number(b)?), 1))),
    };
    // "1 to 5 stars": the unit goes with the range.
    found.map(|(min, max, len)| {
        (
            min,
            max,
            len + usize::from(matches!(word(len), "stars" | "star" | "points")),
        )
    })
}

/// "low/medium/high" after a name are enum values; "yes/no" makes a boolean; "email/phone"
/// with no name before it keeps its first word.
fn take_alternatives(tokens: &[&Token], hints: &mut Hints) -> Vec<String> {
    let mut words = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let Some(word) = tokens[i].word() else {
            i += 1;
            continue;
        };
        let mut alternatives = vec![word];
        let mut j = i;
        while tokens
            .get(j + 1)
            .is_some_and(|t| t.is_punct('/') || t.is_punct('|'))
            && let Some(next) = tokens.get(j + 2).and_then(|t| t.word())
        {
            alternatives.push(next);
            j += 2;
        }
        if alternatives.len() >= 2 {
            let norms: Vec<&str> = alternatives.iter().map(|w| w.norm.as_str()).collect();
            if is_yes_no(&norms) {
                hints.boolean = true;
            } else if words.is_empty() {
                words.push(word.norm.clone());
            } else if hints.values.is_empty() {
                hints.values = alternatives.iter().map(|w| w.raw.clone()).collect();
            }
        } else {
            words.push(word.norm.clone());
        }
        i = j + 1;
    }
    words
}

fn take_flags(words: &mut Vec<String>, hints: &mut Hints) {
    words.retain(|w| match w.as_str() {
        "required" | "mandatory" | "compulsory" => {
            hints.required = Some(true);
            false
        }
        "optional" | "optionally" => {
            hints.required = Some(false);
            false
        }
        _ => true,
    });
}

/// "cooking time in minutes": the unit says the type and is not part of the name.
fn take_units(words: &mut Vec<String>, hints: &mut Hints) {
    let mut i = 0;
    while i + 1 < words.len() {
        if words[i] == "in"
            && let Some(unit) = types::unit_type(&words[i + 1])
        {
            set_unit(hints, unit);
            words.drain(i..i + 2);
            continue;
        }
        i += 1;
    }
}

/// The entity a phrase like "many tasks" names, found without reading the whole phrase, so that
/// entities can be named before any field is read.
pub(super) fn many_target(item: &Item) -> Option<Vec<String>> {
    let words: Vec<String> = item
        .tokens
        .iter()
        .take_while(|t| !t.is_punct('('))
        .filter_map(Token::word)
        .filter(|w| {
            !matches!(
                w.norm.as_str(),
                "required" | "mandatory" | "compulsory" | "optional" | "optionally"
            )
        })
        .take(8)
        .map(|w| w.norm.clone())
        .collect();
    many_of(&words)
}

/// "many tasks", "several photos", "one or more notes" → the noun, when it is one.
fn many_of(words: &[String]) -> Option<Vec<String>> {
    let words: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .skip_while(|w| matches!(*w, "a" | "an" | "the"))
        .collect();
    let rest = match words.as_slice() {
        [quantity, rest @ ..] if is_many(quantity) => rest,
        ["lots", "of", rest @ ..]
        | ["one" | "zero", "or", "more", rest @ ..]
        | ["any", "number", "of", rest @ ..] => rest,
        _ => return None,
    };
    let noun: Vec<String> = rest
        .iter()
        .take_while(|w| w.starts_with(|c: char| c.is_ascii_alphabetic()) && !is_stopword(w))
        .take(4)
        .map(|w| (*w).to_owned())
        .collect();
    (!noun.is_empty()).then_some(noun)
}

/// Articles and words about fields are not part of a name: "the following fields: a title".
fn strip_lead(words: &mut Vec<String>) {
    let lead = words
        .iter()
        .take_while(|w| {
            is_determiner(w)
                || is_field_meta(w)
                || matches!(
                    w.as_str(),
                    "such"
                        | "as"
                        | "like"
                        | "e.g"
                        | "eg"
                        | "i.e"
                        | "ie"
                        | "including"
                        | "also"
                        | "plus"
                        | "then"
                        | "and"
                        | "or"
                        | "maybe"
                        | "possibly"
                        | "perhaps"
                        | "probably"
                )
        })
        .count();
    words.drain(..lead);
    words.retain(|w| w != "etc");
}

/// The phrase's shape: "whether I've read it" and "is active" are yes/no, "a done flag" too;
/// "number of pages" and "how many guests" count; "list of ingredients" is long text.
fn take_shape(words: &mut Vec<String>, hints: &mut Hints) {
    let first = words.first().map_or("", String::as_str);
    let second = words.get(1).map_or("", String::as_str);
    let third = words.get(2).map_or("", String::as_str);
    let drop = match (first, second, third) {
        ("whether" | "if", _, _) => {
            hints.boolean = true;
            // "whether I own it or just want it" is about owning.
            if let Some(or) = words.windows(2).position(|w| w[0] == "or" && w[1] != "not") {
                words.truncate(or);
            }
            words.retain(|w| !is_boolean_filler(w));
            0
        }
        ("is" | "are", _, _) if words.len() >= 2 => {
            hints.boolean = true;
            1
        }
        ("how", "many", _) => {
            hints.count = true;
            2
        }
        ("how", "much", _) => 2,
        ("list" | "set" | "collection", "of", _) => {
            hints.list = true;
            2
        }
        _ => 0,
    };
    words.drain(..drop.min(words.len()));
    // "number of pages" → `pages`, "maximum number of players" → `maximumPlayers`
    let count_of = words
        .windows(2)
        .take(3)
        .position(|w| matches!(w[0].as_str(), "number" | "count") && w[1] == "of");
    if let Some(k) = count_of {
        hints.count = true;
        words.drain(k..k + 2);
    }
    let marker = words.last().is_some_and(|w| {
        matches!(
            w.as_str(),
            "flag" | "checkbox" | "toggle" | "switch" | "boolean" | "bool"
        )
    });
    if marker && words.len() >= 2 {
        hints.boolean = true;
        words.pop();
    }
}

/// "the client's name" on a client is its `name`; on a project it is the `clientName`.
fn drop_possessives(words: &mut Vec<String>, own: &[String]) {
    let own = own.last().map_or("", String::as_str);
    words.retain_mut(|w| {
        let stem = w
            .strip_suffix("'s")
            .or_else(|| w.strip_suffix('\'').filter(|s| s.ends_with('s')));
        let Some(stem) = stem else { return true };
        if singular(stem) == own {
            return false;
        }
        *w = stem.to_owned();
        true
    });
}

/// The name part of a phrase: up to its first qualifier ("a budget for the project"), with
/// "X of Y" turned around ("date of birth" → `birthDate`) unless Y is the entity itself
/// ("name of the recipe" → `name`). "starts at", "published on" and "created by" keep their
/// preposition.
fn head_phrase(mut words: Vec<String>, own: &[String], hints: &mut Hints) -> Vec<String> {
    if words.len() >= 2 {
        match words.last().map(String::as_str) {
            Some("at") => hints.suffix = Some(FieldType::Datetime),
            Some("on") => hints.suffix = Some(FieldType::Date),
            // "created by" names who did it.
            Some("by") => return words,
            _ => {}
        }
        if hints.suffix.is_some() {
            return words;
        }
    }
    if words
        .first()
        .is_some_and(|w| matches!(w.as_str(), "when" | "where" | "what" | "who" | "why" | "how"))
    {
        return Vec::new();
    }
    let cut = words
        .iter()
        .skip(1)
        .position(|w| starts_qualifier(w))
        .map_or(words.len(), |p| p + 1);
    words.truncate(cut);
    let Some(of) = words.iter().position(|w| w == "of") else {
        return words;
    };
    let right: Vec<String> = words[of + 1..]
        .iter()
        .filter(|w| !is_determiner(w))
        .cloned()
        .collect();
    words.truncate(of);
    let about_own = right.is_empty() || entity_words(&right) == own;
    if !about_own && right.len() <= 2 {
        words.splice(0..0, right);
    }
    words
}

/// Grammar words and counts that are never part of a name ("four options" are `options`).
fn is_filler(w: &str) -> bool {
    is_determiner(w)
        || is_pronoun(w)
        || is_auxiliary(w)
        || matches!(
            w,
            "has"
                | "have"
                | "had"
                | "and"
                | "or"
                | "but"
                | "whether"
                | "if"
                | "not"
                | "two"
                | "three"
                | "four"
                | "five"
                | "six"
                | "seven"
                | "eight"
                | "nine"
                | "ten"
        )
}

fn is_boolean_filler(w: &str) -> bool {
    is_filler(w)
        || matches!(
            w,
            "already" | "ever" | "yet" | "been" | "get" | "gets" | "got" | "still"
        )
}

/// "an assignee who is a developer": the entity a relative clause says the field is.
fn role_of(words: &[String], cx: &Context) -> Option<usize> {
    let relative = words
        .iter()
        .position(|w| matches!(w.as_str(), "who" | "which" | "that"))?;
    let noun: Vec<String> = words[relative + 1..]
        .iter()
        .skip_while(|w| is_auxiliary(w) || is_determiner(w))
        .take_while(|w| w.starts_with(|c: char| c.is_ascii_alphabetic()) && !is_stopword(w))
        .cloned()
        .collect();
    match entity_named(&noun, cx)? {
        (target, false) => Some(target),
        (_, true) => None,
    }
}

/// The entity a name names, if any, preferring the longest match: "the assigned person" names
/// `Person`. Also says whether the name was plural ("tasks" as opposed to "a task").
fn entity_named(words: &[String], cx: &Context) -> Option<(usize, bool)> {
    let last = words.last()?;
    let one = singular(last);
    let plural = one != *last;
    let mut phrase: Vec<&str> = words[..words.len() - 1].iter().map(String::as_str).collect();
    phrase.push(&one);
    let (target, known) = cx
        .known
        .iter()
        .enumerate()
        .filter(|(_, known)| {
            !known.is_empty()
                && known.len() <= phrase.len()
                && phrase[phrase.len() - known.len()..]
                    .iter()
                    .zip(known.iter())
                    .all(|(a, b)| a == b)
        })
        .max_by_key(|(_, known)| known.len())?;
    // A task's "tasks" or "task" is not a relation; its "parent task" is.
    let itself = known.as_slice() == cx.own && (plural || phrase.len() == known.len());
    (!itself).then_some((target, plural))
}

/// Enum values as the prompt wrote them, trimmed, without repeats, and within the limits `check` sets.
fn clean_values(values: Vec<String>) -> Vec<String> {
    let mut clean: Vec<String> = Vec::new();
    for value in values {
        let value: String = value.trim().chars().take(MAX_VALUE_CHARS).collect();
        let value = value.trim().to_owned();
        if !value.is_empty()
            && !clean.iter().any(|v| v.to_lowercase() == value.to_lowercase())
            && clean.len() < MAX_VALUES
        {
            clean.push(value);
        }
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::items::split_fields;
    use crate::blueprint::text::sentences;
    use appgen_crd::FieldType::*;

    fn read_one(phrase: &str, own: &[&str], known: &[&[&str]]) -> Reading {
        let own: Vec<String> = own.iter().map(|w| (*w).to_owned()).collect();
        let known: Vec<Vec<String>> = known
            .iter()
            .map(|k| k.iter().map(|w| (*w).to_owned()).collect())
            .collect();
        let items = split_fields(&sentences(phrase)[0]);
        assert_eq!(items.len(), 1, "{phrase}");
        read(
            &items[0],
            &Context {
                own: &own,
                known: &known,
            },
        )
    }

    fn field(phrase: &str) -> Draft {
        match read_one(phrase, &["thing"], &[&["thing"]]) {
            Reading::Field(draft) => draft,
            other => panic!("{phrase}: {other:?}"),
        }
    }

    #[test]
    fn phrases_become_names_and_types() {
        for (phrase, name, field_type) in [
            ("a title", "title", Text),
            ("a due date", "dueDate", Date),
            ("number of pages", "pages", Integer),
            ("the number of guests", "guests", Integer),
            ("the maximum number of players", "maximumPlayers", Integer),
            ("created by (email)", "createdBy", Email),
            ("how many servings", "servings", Integer),
            ("whether I've read it", "read", Boolean),
            ("whether or not it has been paid", "paid", Boolean),
            ("is active", "active", Boolean),
            ("a done flag", "done", Boolean),
            ("cooking time in minutes", "cookingTime", Integer),
            ("duration (in minutes)", "duration", Integer),
            ("distance in km", "distance", Number),
            ("a price in euros", "price", Money),
            ("a fee ($)", "fee", Money),
            ("date of birth", "birthDate", Date),
            ("a budget for the project", "budget", Money),
            ("an email address", "email", Email),
            ("a photo url", "photoUrl", Url),
            ("a list of ingredients", "ingredients", LongText),
            ("starts at", "startsAt", Datetime),
            ("published on", "publishedOn", Date),
            ("a count (integer)", "count", Integer),
            ("a bio (long text)", "bio", LongText),
            ("a colour (e.g. red, blue)", "color", Text),
            ("the author's name", "authorName", Text),
            ("the thing's name", "name", Text),
            ("name of the thing", "name", Text),
            ("paid (yes/no)", "paid", Boolean),
        ] {
            let draft = field(phrase);
            assert_eq!(
                (draft.name.as_str(), draft.field_type),
                (name, field_type),
                "{phrase}"
            );
        }
    }

    #[test]
    fn enum_values_come_from_parentheses_slashes_and_one_of() {
        assert_eq!(
            field("a priority (low, medium, high)").values,
            ["low", "medium", "high"]
        );
        assert_eq!(field("size S/M/L").values, ["S", "M", "L"]);
        assert_eq!(
            field("a priority which is one of Low, low or High").values,
            ["Low", "High"]
        );
        let draft = field("a mood (happy)");
        assert_eq!((draft.field_type, draft.values.len()), (Text, 0));
    }

    #[test]
    fn ranges_give_bounds_to_numbers_only() {
        let rating = field("a rating from 1 to 5");
        assert_eq!(
            (rating.name.as_str(), rating.field_type, rating.min, rating.max),
            ("rating", Integer, Some(1.0), Some(5.0))
        );
        let score = field("a score between 10 and 0");
        assert_eq!((score.min, score.max), (Some(0.0), Some(10.0)));
        let stars = field("stars (1-5)");
        assert_eq!(
            (stars.field_type, stars.min, stars.max),
            (Integer, Some(1.0), Some(5.0))
        );
        let weight = field("a weight of 0.5 to 2.5");
        assert_eq!(
            (weight.field_type, weight.min, weight.max),
            (Number, Some(0.5), Some(2.5))
        );
        let price = field("a price up to 100");
        assert_eq!(
            (price.field_type, price.min, price.max),
            (Money, None, Some(100.0))
        );
        let rating = field("a rating out of 10 stars");
        assert_eq!((rating.name.as_str(), rating.max), ("rating", Some(10.0)));
    }

    #[test]
    fn required_and_optional_are_read() {
        assert_eq!(field("a title (required)").required, Some(true));
        assert_eq!(field("an optional due date").required, Some(false));
        assert_eq!(field("a note").required, None);
    }

    #[test]
    fn other_entities_become_references_or_relations() {
        let known: &[&[&str]] = &[&["meal", "plan"], &["recipe"], &["person"]];
        let Reading::Field(recipe) = read_one("a recipe", &["meal", "plan"], known) else {
            panic!()
        };
        assert_eq!(
            (recipe.name.as_str(), recipe.field_type, recipe.target),
            ("recipe", Reference, Some(1))
        );
        let Reading::Field(owner) = read_one("the assigned person", &["meal", "plan"], known) else {
            panic!()
        };
        assert_eq!((owner.name.as_str(), owner.target), ("assignedPerson", Some(2)));
        assert_eq!(
            read_one("recipes", &["meal", "plan"], known),
            Reading::Many(vec!["recipe".into()])
        );
        assert_eq!(
            read_one("many photos", &["recipe"], known),
            Reading::Many(vec!["photos".into()])
        );
        let Reading::Field(count) = read_one("number of recipes", &["meal", "plan"], known) else {
            panic!()
        };
        assert_eq!(count.field_type, Integer);
        let Reading::Field(parent) = read_one("a parent recipe", &["recipe"], known) else {
            panic!()
        };
        assert_eq!((parent.name.as_str(), parent.target), ("parentRecipe", Some(1)));
        let Reading::Field(own) = read_one("recipes", &["recipe"], known) else {
            panic!()
        };
        assert_eq!(own.field_type, Text);
    }

    #[test]
    fn phrases_without_a_name_are_nothing() {
        for phrase in ["the following fields", "etc", "when it happened", "42", "?!"] {
            let items = split_fields(sentences(phrase).first().map_or(&[][..], Vec::as_slice));
            let cx = Context { own: &[], known: &[] };
            assert!(
                items.iter().all(|item| read(item, &cx) == Reading::Nothing),
                "{phrase}"
            );
        }
    }
}
