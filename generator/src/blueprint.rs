//! Prompt → blueprint: the data model the scaffold agent understood, and the check every
//! blueprint passes before anything is rendered.
//!
//! [`understand`] reads an app idea in plain English and returns its entities with typed fields,
//! deterministically and offline: no model, no I/O, the same prompt always gives the same
//! blueprint, and any input (empty, 64 KiB, emoji, right-to-left script) gives one that passes
//! [`check`]. The public surface is only [`understand`], [`check`], [`Understanding`] and
//! [`BlueprintError`]: callers need nothing else, and every heuristic below stays free to change
//! without breaking them. It is a pipeline of small pure steps, one module each:
//!
//! 1. `text`: lay bullets, headings and one-per-line lists out as comma lists; split sentences;
//!    fold case, accents and British spelling ("colour", "catalogue").
//! 2. `sentence`: find where entities are introduced — "each X has …", "X with …", "X that
//!    have …", "X belong to Y", "track Xs and Ys", "keep a list of X", "X: a, b", "X (a, b)",
//!    "an X tracker with Ys (…) and Zs (…)" — and what is said about them.
//! 3. `items`, `field`, `types`: split what is said into field phrases and read each one's name,
//!    type, enum values, bounds and required flag.
//! 4. `assemble`: merge mentions into entities, turn "belongs to", "has many" and a field named
//!    like another entity into references, mark required fields, rename reserved names.
//! 5. `title`: name the app.
//!
//! Types: enum when values are listed ("(low, medium, high)", "one of a, b or c", "a/b/c");
//! boolean for "whether …", "is …", "… flag", "(yes/no)" and words like done, paid, active;
//! money for a currency or price/cost/amount/budget/limit/salary/total…; integer for counts
//! ("number of …", "how many …"), units of time ("in minutes"), pages, age, rating, year…;
//! number for measures (weight, distance, "in km"…); a range ("from 1 to 5") gives min and max and
//! makes a field numeric; date for date, deadline, birthday, due; datetime for "date and time",
//! timestamps, "starts at" and "start time" (a bare "time" is text, "cooking time" an integer);
//! email; url for links, websites and images; long text for notes, description, ingredients,
//! instructions, bio, content…; a reference when the name is another entity's; text otherwise.
//! Required: see `assemble` (the label field — `name`, `title`, else the first text field — and
//! "belongs to" references, unless the prompt says otherwise). Title: see `title`.
//! When no entity can be found, the blueprint has one entity — named after the app ("a todo app"
//! keeps `Todo`s, a CRM `Contact`s), else after a noun the prompt marks with an article, else
//! `Item` — with a label and notes; `fell_back` is set and a note says so.
//!
//! [`check`] refuses what would break the rendered app: no or too many entities (50) or fields
//! (100); names that are not identifiers (`^[A-Za-z][A-Za-z0-9]*$`, up to 63 characters; no
//! dots, slashes or spaces, so no path traversal through names), entities not in PascalCase or
//! fields not in camelCase; entity names equal ignoring case and plural; duplicate field names
//! ignoring case; JavaScript/TypeScript reserved words, object-prototype names (`constructor`,
//! `toString`, …) and names the generated code takes (`App`, `Date`, …, Windows device names);
//! a field named `id`, `createdAt` or `updatedAt` — refused rather than ignored, because every
//! record already has them and a user who writes one expects it to mean something (an entity
//! `Id` too, as references to it would be `id` fields; `understand` leaves such fields out and
//! renames such entities, with a note); enum fields
//! without values or with empty, repeated (ignoring case), over-long or multi-line values; values
//! on non-enum fields; references without a target, to a missing entity, or on non-reference
//! fields; min/max above each other, not finite, or on non-numeric fields; a blank, multi-line
//! or over-long title.

mod assemble;
mod check;
mod field;
mod items;
mod lexicon;
mod reserved;
mod sentence;
mod text;
mod title;
mod types;
mod words;

#[cfg(test)]
mod tests;

pub use check::{BlueprintError, check};

use appgen_crd::{Blueprint, MAX_PROMPT_CHARS};
use assemble::Notes;
use title::AppPhrase;

/// What the scaffold agent understood from a prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Understanding {
    /// Always passes [`check`].
    pub blueprint: Blueprint,
    /// Lines for the event log: what was understood, and every name that was changed or left out.
    pub notes: Vec<String>,
    /// True when no entity could be read and the blueprint is a single entity named from the prompt.
    pub fell_back: bool,
}

/// Reads a prompt into a blueprint. Never panics, whatever the input, and takes time in
/// proportion to the prompt's length.
pub fn understand(prompt: &str) -> Understanding {
    let mut notes = Notes::default();
    let prompt = match prompt.char_indices().nth(MAX_PROMPT_CHARS) {
        Some((cut, _)) => {
            notes.push(format!(
                "The prompt is longer than {MAX_PROMPT_CHARS} characters; only the start was read."
            ));
            &prompt[..cut]
        }
        None => prompt,
    };
    let sentences = text::sentences(prompt);
    let mut previous = None;
    let mentions: Vec<_> = sentences
        .iter()
        .flat_map(|s| sentence::read(s, &mut previous))
        .collect();
    let mut entities = assemble::entities(&mentions, &mut notes);
    let app = AppPhrase::find(&sentences);
    let fell_back = entities.is_empty();
    if fell_back {
        let noun = app
            .as_ref()
            .map(AppPhrase::entity_noun)
            .filter(|noun| !noun.is_empty())
            .or_else(|| first_noun(&sentences))
            .unwrap_or_default();
        entities.push(assemble::fallback(&noun, &mut notes));
    }
    let title = title::title(app.as_ref(), &entities);
    let mut lines = vec![assemble::summary(&entities)];
    lines.extend(notes.finish());
    Understanding {
        blueprint: Blueprint { title, entities },
        notes: lines,
        fell_back,
    }
}

/// The first noun of the prompt, known as one by the article before it ("something for my
/// garden" → `garden`), or the prompt's only word ("tasks").
fn first_noun(sentences: &[Vec<text::Token>]) -> Option<Vec<String>> {
    let tokens: Vec<&text::Token> = sentences.iter().flatten().collect();
    let names_thing = |token: &text::Token| {
        token.word().is_some_and(|word| {
            items::is_nouny(token)
                && word.norm.len() >= 3
                && word.norm.chars().all(|c| c.is_ascii_alphabetic())
                && !lexicon::is_app_head(&word.norm)
                && !lexicon::is_loose_adjective(&word.norm)
        })
    };
    let after_article =
        (1..tokens.len()).find(|&i| lexicon::is_determiner(tokens[i - 1].norm()) && names_thing(tokens[i]));
    let only_word = (tokens.len() == 1 && names_thing(tokens[0])).then_some(0);
    after_article
        .or(only_word)
        .map(|i| vec![tokens[i].norm().to_owned()])
}
