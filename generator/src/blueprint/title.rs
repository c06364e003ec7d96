//! The app's title: the first phrase that names the app ("a recipe **manager**", "my book
//! **collection**", "a small **CRM**"), in the prompt's own words, title-cased, without generic
//! nouns ("a todo **app**" is "Todo") and loose adjectives ("small"). A prompt that never names
//! the app is titled after its first entity, in the plural ("Meal Plans").

use super::lexicon::{
    is_acronym, is_app_head, is_determiner, is_generic_app_head, is_loose_adjective, is_pronoun,
    is_standalone_app_head, is_tracking_verb, standalone_app_entity,
};
use super::text::{Token, Word};
use super::words::{plural, split_pascal};
use appgen_crd::Entity;

/// Titles are short: the check allows 100 characters, a header looks good with fewer.
const TITLE_CHARS: usize = 60;

/// The phrase that names the app: its head noun and the modifiers before it.
#[derive(Debug)]
pub(super) struct AppPhrase {
    modifiers: Vec<Word>,
    head: Word,
}

impl AppPhrase {
    /// The first phrase in the prompt that names the app.
    pub(super) fn find(sentences: &[Vec<Token>]) -> Option<Self> {
        sentences
            .iter()
            .find_map(|tokens| (0..tokens.len()).find_map(|i| Self::at(tokens, i)))
    }

    fn at(tokens: &[Token], i: usize) -> Option<Self> {
        let head = tokens[i].word().filter(|w| is_app_head(&w.norm))?;
        // In "a job application tracker" the head is the last app noun.
        if tokens.get(i + 1).is_some_and(|t| is_app_head(t.norm())) {
            return None;
        }
        let before = |k: usize| if k > 0 { tokens[k - 1].norm() } else { "" };
        // "each store has …" is an entity, and "store my recipes" a verb, not the app.
        let verb = tokens
            .get(i + 1)
            .is_some_and(|t| is_determiner(t.norm()) || is_pronoun(t.norm()));
        if matches!(before(i), "each" | "every") || verb {
            return None;
        }
        let mut start = i;
        while start > 0 && i - start < 3 {
            let Some(word) = tokens[start - 1].word() else {
                break;
            };
            let w = word.norm.as_str();
            // "a time tracking tool": tracking verbs describe apps too.
            let modifier = w.starts_with(|c: char| c.is_ascii_alphabetic())
                && !is_loose_adjective(w)
                && (super::items::is_nouny(&tokens[start - 1]) || is_tracking_verb(w));
            if !modifier {
                break;
            }
            start -= 1;
        }
        let modifiers: Vec<Word> = tokens[start..i].iter().filter_map(Token::word).cloned().collect();
        if modifiers.is_empty() && !is_standalone_app_head(&head.norm) {
            return None;
        }
        Some(AppPhrase {
            modifiers,
            head: head.clone(),
        })
    }

    pub(super) fn title(&self) -> String {
        let mut words: Vec<&Word> = self.modifiers.iter().collect();
        if !is_generic_app_head(&self.head.norm) {
            words.push(&self.head);
        }
        short(&words.iter().map(|w| title_word(w)).collect::<Vec<_>>().join(" "))
    }

    /// The words to name the single entity of an app the prompt says nothing else about:
    /// a "todo app" keeps todos, a "CRM" contacts.
    pub(super) fn entity_noun(&self) -> Vec<String> {
        if !self.modifiers.is_empty() {
            return self.modifiers.iter().map(|w| w.norm.clone()).collect();
        }
        standalone_app_entity(&self.head.norm)
            .map(|w| vec![w.to_owned()])
            .unwrap_or_default()
    }
}

/// "todo" → "Todo", "crm" → "CRM", "to-do" → "To-Do"; words written with inner capitals
/// ("iPhone") stay as written.
fn title_word(word: &Word) -> String {
    if is_acronym(&word.norm) {
        return word.norm.to_ascii_uppercase();
    }
    if word.raw.chars().skip(1).any(char::is_uppercase) {
        return word.raw.clone();
    }
    let mut out = String::with_capacity(word.raw.len());
    let mut capital = true;
    for c in word.raw.chars() {
        if capital {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        capital = c == '-';
    }
    out
}

/// The title: from the phrase that names the app, else from the first entity.
pub(super) fn title(app: Option<&AppPhrase>, entities: &[Entity]) -> Option<String> {
    let named = app.map(AppPhrase::title).filter(|t| !t.is_empty());
    named.or_else(|| {
        let mut words = split_pascal(&entities.first()?.name);
        if let Some(last) = words.last_mut() {
            *last = plural(last);
        }
        let title: Vec<String> = words
            .iter()
            .map(|w| {
                title_word(&Word {
                    raw: w.clone(),
                    norm: w.clone(),
                })
            })
            .collect();
        Some(short(&title.join(" ")))
    })
}

/// At most [`TITLE_CHARS`] characters.
fn short(title: &str) -> String {
    title
        .chars()
        .take(TITLE_CHARS)
        .collect::<String>()
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::text::sentences;

    fn titled(prompt: &str) -> Option<String> {
        AppPhrase::find(&sentences(prompt)).map(|app| app.title())
    }

    #[test]
    fn the_phrase_that_names_the_app_is_the_title() {
        assert_eq!(
            titled("A todo app where tasks have a title").as_deref(),
            Some("Todo")
        );
        assert_eq!(
            titled("A recipe manager: recipes with a name").as_deref(),
            Some("Recipe Manager")
        );
        assert_eq!(
            titled("Track my book collection.").as_deref(),
            Some("Book Collection")
        );
        assert_eq!(
            titled("An expense tracker with expenses").as_deref(),
            Some("Expense Tracker")
        );
        assert_eq!(titled("A small CRM for a freelancer").as_deref(), Some("CRM"));
        assert_eq!(titled("A simple to-do list app").as_deref(), Some("To-Do List"));
        assert_eq!(titled("My Recipe Catalogue").as_deref(), Some("Recipe Catalogue"));
        assert_eq!(titled("Build me an app to keep a list of books"), None);
        assert_eq!(titled("Each store has a name"), None);
        assert_eq!(
            titled("A job application tracker").as_deref(),
            Some("Job Application Tracker")
        );
        assert_eq!(titled("A library system").as_deref(), Some("Library"));
    }

    #[test]
    fn without_an_app_phrase_the_first_entity_names_the_app() {
        let entity = Entity {
            name: "MealPlan".into(),
            fields: Vec::new(),
        };
        assert_eq!(title(None, &[entity]).as_deref(), Some("Meal Plans"));
        assert_eq!(title(None, &[]), None);
    }
}
