//! Properties of `understand` over many generated prompts: it never panics, is deterministic,
//! and what it returns always passes `check`, has fields in every entity and a short title.

use super::super::{check, understand};

/// xorshift64*: deterministic, so a failing prompt replays exactly, and no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Nouns, including ones that clash with generated code, other scripts, and nonsense.
#[rustfmt::skip]
const NOUNS: &[&str] = &[
    "task", "book", "recipe", "meal plan", "client", "project", "category", "person", "class", "constructor",
    "__proto__", "date", "app", "id", "toString", "café", "naïve thing", "名前", "🎉 party", "x", "a b c d e f",
    "status", "data", "news", "series", "box", "hero", "leaf", "prototype", "delete", "default", "record",
    "con", "index", "string", "valueOf", "created at", "../etc/passwd", "C:\\Windows", "null", "undefined",
    "2fa", "new", "public", "my collection", "library", "tracker", "each", "and", "the", "class item",
    "date item", "id item", "name", "title", "label", "parent task",
];

/// Field phrases of every shape the reader knows, and some it does not.
#[rustfmt::skip]
const FIELDS: &[&str] = &[
    "a title", "a due date", "a priority (low, medium, high)", "number of pages", "whether it is done",
    "a rating from 1 to 5", "an id", "a created at", "a constructor", "a __proto__", "a class", "the default",
    "a price in €", "(", ")", "one of a, b or c", "a/b/c", "a status: open / closed", "a value between 9 and 1",
    "an optional note", "a name (required)", "a count (integer)", "a toString", "hasOwnProperty",
    "a valueOf flag", "cooking time in minutes", "date of birth", "the client's name", "a photo url",
    "whether or not it is paid", "first and last name", "start and end date", "a date and time",
    "a (low, Low, LOW) level", "a ( , , ) mood", "an ő ü ß field", "a 名前", "🎉", "a ${PATH}",
    "a <b>bold</b> field", "yes/no", "many things",
    "a very long field name that goes on and on and on and on and on and on",
];

/// Sentence shapes; `{A}` is a plural noun, `{a}` a singular one, `{F}` a list of field phrases.
#[rustfmt::skip]
const SHAPES: &[&str] = &[
    "{A} have {F}.", "Each {a} has {F}.", "{A} with {F}.", "Keep a list of {A} and {A}.",
    "Track {A}, {A} and {A}.", "{A} belong to a {a} and have {F}.", "A {a} can be assigned to a {a}.",
    "{A}: {F}", "- {A}: {F}\n- {A}: {F}\n", "## {A}\n* {F}\n* {F}\n", "For each {a}, store {F}.",
    "{A} ({F}) and {A} ({F}).", "A {a} app with {A} and {A}.", "An {a} tracker with {F}.",
    "A {a} has many {A}, each with {F}.", "It also has {F}.", "Entities: {A}, {A}.", "{A}\n{F}\n{F}\n{F}\n",
    "Organise my {a} collection: {A} have {F}.",
];

/// Characters and fragments that separate, break or confuse words.
#[rustfmt::skip]
const JUNK: &[&str] = &[
    "", " ", ".", ",", ";", ":", "(", ")", "[", "]", "{", "}", "-", "–", "/", "|", "&", "+", "$", "€", "?",
    "!", "\n", "\r\n", "\t", "'", "’", "\"", "#", "*", "•", "1.", "a)", "\u{0}", "\u{1f}", "\u{200b}",
    "\u{202e}", "🎉", "ك", "名", "é", "İ", "ß", "ﬁ", "𝔘", "e.g.", "etc.", "1-5", "1.5", "nan", "inf", "and",
    "or", "with", "has",
];

fn plural(noun: &str) -> String {
    if noun.ends_with('s') || noun.ends_with('x') {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    }
}

fn fields(rng: &mut Rng) -> String {
    let count = 1 + rng.below(6);
    let phrases: Vec<&str> = (0..count).map(|_| rng.pick(FIELDS)).collect();
    let separator = rng.pick(&[", ", " and ", ", and ", "; ", "\n- ", " & "]);
    phrases.join(separator)
}

fn sentence(rng: &mut Rng) -> String {
    let mut out = String::new();
    let mut rest = rng.pick(SHAPES);
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        match &rest[open..=close.min(rest.len() - 1)] {
            "{A}" => out.push_str(&plural(rng.pick(NOUNS))),
            "{a}" => out.push_str(rng.pick(NOUNS)),
            _ => out.push_str(&fields(rng)),
        }
        rest = &rest[(close + 1).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

fn prompt(rng: &mut Rng) -> String {
    let mut prompt = String::new();
    for _ in 0..1 + rng.below(5) {
        prompt.push_str(&sentence(rng));
        prompt.push(' ');
        for _ in 0..rng.below(3) {
            prompt.push_str(rng.pick(JUNK));
        }
    }
    prompt
}

/// Characters from everywhere, with no structure at all.
fn soup(rng: &mut Rng) -> String {
    (0..rng.below(400))
        .map(|_| match rng.below(4) {
            0 => rng.pick(JUNK).to_owned(),
            1 => char::from_u32(rng.below(0x3_0000) as u32)
                .map(String::from)
                .unwrap_or_default(),
            2 => rng.pick(NOUNS).to_owned(),
            _ => rng.pick(FIELDS).to_owned(),
        })
        .collect::<Vec<_>>()
        .join(if rng.below(2) == 0 { " " } else { "" })
}

fn assert_sound(prompt: &str) {
    let first = understand(prompt);
    let again = understand(prompt);
    assert_eq!(first, again, "not deterministic: {prompt:?}");
    let blueprint = &first.blueprint;
    assert_eq!(check(blueprint), Ok(()), "{prompt:?}");
    assert!(
        blueprint.entities.iter().all(|e| !e.fields.is_empty()),
        "an entity without fields: {prompt:?}"
    );
    let title = blueprint.title.as_deref().unwrap_or_default();
    assert!(
        !title.trim().is_empty() && title.chars().count() <= 60,
        "title {title:?}: {prompt:?}"
    );
    assert!(!first.notes.is_empty() && first.notes.len() <= 22, "{prompt:?}");
    assert_eq!(
        first.fell_back,
        blueprint.entities.len() == 1 && first.notes.iter().any(|n| n.contains("Found no entities"))
    );
}

/// `SEED=n COUNT=m cargo test --release properties` searches further than the default run.
fn search(default_seed: u64, default_count: usize) -> (Rng, usize) {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let seed = env("SEED").unwrap_or(default_seed);
    let count = env("COUNT").map_or(default_count, |c| c as usize);
    (Rng(seed.max(1)), count)
}

#[test]
fn generated_prompts_always_give_a_blueprint_that_passes_check() {
    let (mut rng, count) = search(0x5eed_1234_abcd_0001, 3000);
    for _ in 0..count {
        assert_sound(&prompt(&mut rng));
    }
}

#[test]
fn character_soup_always_gives_a_blueprint_that_passes_check() {
    let (mut rng, count) = search(0x00dd_500b, 1000);
    for _ in 0..count {
        assert_sound(&soup(&mut rng));
    }
}

#[test]
fn many_entities_and_fields_are_capped_within_the_limits() {
    let entities: String = (0..80)
        .map(|i| format!("Thing{i}s have a name and a size{i}. "))
        .collect();
    let fields: String = (0..150).map(|i| format!("field{i}, ")).collect();
    let prompt = format!("{entities} Each thing0 has {fields} and a title.");
    assert_sound(&prompt);
    let understanding = understand(&prompt);
    assert_eq!(understanding.blueprint.entities.len(), 50);
    assert_eq!(understanding.blueprint.entities[0].fields.len(), 100);
    assert!(
        understanding
            .notes
            .iter()
            .any(|n| n.contains("Only the first 50 entities"))
    );
    assert!(
        understanding
            .notes
            .iter()
            .any(|n| n.contains("Only the first 100 fields of `Thing0`"))
    );
}
