//! Splitting what a sentence says about an entity into list items.
//!
//! Field lists split on commas, "and", "or", "&" and "plus", never inside parentheses (so
//! "a priority (low, medium, high)" stays one item) nor inside a range ("between 1 and 10").
//! "one of a, b or c", "either a or b" and "can be a, b or c" collect enum values into the item
//! they follow. "first and last name" shares its noun: `firstName`, `lastName`.
//! Entity lists ("track books, authors and loans") split the same way and stop where a clause
//! starts ("…, where each book has …").

use super::check::MAX_FIELDS;
use super::lexicon::{is_determiner, is_distributive, is_field_meta, is_relative, is_stopword};
use super::text::Token;

/// One field phrase, with the enum values a "one of …" gave it.
#[derive(Clone, Debug, Default)]
pub(super) struct Item {
    pub(super) tokens: Vec<Token>,
    pub(super) values: Vec<String>,
}

/// One entry of an entity list: its noun, and the fields in parentheses after it.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) noun: Vec<String>,
    pub(super) fields: Option<Vec<Token>>,
}

/// The most field phrases read about one entity: four times the fields it may have, enough for
/// every way of saying them twice over. A longer list is not a list of fields, and reading all
/// of it would only cost time, so splitting stops one item after it.
pub(super) const MAX_ITEMS: usize = 4 * MAX_FIELDS;

pub(super) fn split_fields(tokens: &[Token]) -> Vec<Item> {
    let mut items = Vec::new();
    let mut item = Item::default();
    let mut values: Option<Values> = None;
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() && items.len() <= MAX_ITEMS {
        let token = &tokens[i];
        if (depth > 0 || token.is_punct('(')) && !token.is_punct(';') {
            if token.is_punct('(') {
                depth += 1;
            } else if token.is_punct(')') {
                depth -= 1;
            }
            item.tokens.push(token.clone());
            i += 1;
            continue;
        }
        depth = 0;
        if let Some(list) = values.as_mut() {
            if list.take(token, tokens.get(i + 1)) {
                i += 1;
                continue;
            }
            // The token is not a value: the values end, and so does the item they belong to.
            item.values = std::mem::take(list).finish();
            values = None;
            items.push(std::mem::take(&mut item));
            continue;
        }
        let names_something = || {
            item.tokens.iter().any(|t| {
                t.word()
                    .is_some_and(|w| !is_determiner(&w.norm) && !is_field_meta(&w.norm))
            })
        };
        let field_follows = || tokens.get(i + 1).is_some_and(|t| is_determiner(t.norm()));
        if token.is_punct(':') && names_something() && !field_follows() {
            // "status: todo / doing / done", but not "two things: a title and a date"
            values = Some(Values::default());
        } else if is_separator(tokens, i)
            && !(token.is("or") && item.tokens.first().is_some_and(|t| t.is("whether") || t.is("if")))
        {
            if !item.tokens.is_empty() {
                items.push(std::mem::take(&mut item));
            }
        } else if !token.is_punct(')') {
            item.tokens.push(token.clone());
            if let Some(intro) = values_intro(&item.tokens) {
                item.tokens.truncate(item.tokens.len() - intro);
                // "a kind, either indoor or outdoor": the values belong to the item before the comma.
                if item.tokens.is_empty()
                    && let Some(previous) = items.pop()
                {
                    item = previous;
                }
                values = Some(Values::default());
            }
        }
        i += 1;
    }
    if let Some(list) = values {
        item.values = list.finish();
    }
    items.push(item);
    items.retain(|item| !item.tokens.is_empty() || !item.values.is_empty());
    share_nouns(&mut items);
    items
}

fn is_separator(tokens: &[Token], i: usize) -> bool {
    let token = &tokens[i];
    if [',', ';', '&', '+', ':'].iter().any(|&c| token.is_punct(c)) || token.is("plus") {
        return true;
    }
    if token.is("and") {
        // "between 1 and 10" is one range.
        let in_range = i >= 2 && tokens[i - 2].is("between") && tokens[i - 1].number().is_some();
        return !in_range;
    }
    // "whether or not it is done" and "one or more tasks" are one phrase each.
    let next = tokens.get(i + 1).map_or("", Token::norm);
    let previous = if i > 0 { tokens[i - 1].norm() } else { "" };
    token.is("or") && next != "not" && !(matches!(previous, "one" | "zero") && next == "more")
}

/// How many tokens at the end of `tokens` announce a list of values: "one of", "either", "can be".
fn values_intro(tokens: &[Token]) -> Option<usize> {
    let n = tokens.len();
    let last = |k: usize| if k <= n { tokens[n - k].norm() } else { "" };
    match (last(2), last(1)) {
        ("one", "of") | ("can" | "could" | "may", "be") => Some(2),
        (_, "either") => Some(1),
        _ => None,
    }
}

/// Enum values being collected after "one of": values are separated by commas, slashes and "or";
/// the value after "or" is the last one, and after values separated by slashes a comma ends them.
#[derive(Default)]
struct Values {
    done: Vec<String>,
    current: Vec<String>,
    last: bool,
    slashes: bool,
}

impl Values {
    /// Takes `token` as part of the values, or returns false when the values have ended before it.
    fn take(&mut self, token: &Token, next: Option<&Token>) -> bool {
        match token {
            Token::Punct(c @ (',' | '/' | '|')) => {
                if (self.last && !self.current.is_empty()) || (*c == ',' && self.slashes) {
                    return false;
                }
                self.slashes |= *c != ',';
                self.flush();
                true
            }
            Token::Punct(_) => false,
            Token::Word(w) if w.norm == "or" || w.norm == "and" => {
                // "…, and a due date" starts the next field rather than the last value.
                let next_is_field = next.is_some_and(|t| is_determiner(t.norm()));
                if (self.last && !self.current.is_empty()) || (w.norm == "and" && next_is_field) {
                    return false;
                }
                self.flush();
                self.last = true;
                true
            }
            Token::Word(w) => {
                // "one of low, high, a title": a determiner starts the next field.
                let starts_field = self.current.is_empty() && !self.done.is_empty() && is_determiner(&w.norm);
                if starts_field || self.current.len() >= 4 {
                    return false;
                }
                self.current.push(w.raw.clone());
                true
            }
        }
    }

    fn flush(&mut self) {
        if !self.current.is_empty() {
            self.done.push(self.current.join(" "));
            self.current.clear();
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.flush();
        self.done
    }
}

/// "first and last name" → "first name", "last name".
fn share_nouns(items: &mut [Item]) {
    for i in 1..items.len() {
        let (before, after) = items.split_at_mut(i);
        let (item, next) = (&mut before[i - 1], &after[0]);
        let words: Vec<&str> = item
            .tokens
            .iter()
            .map(Token::norm)
            .filter(|w| !is_determiner(w))
            .collect();
        let lone_modifier =
            words.len() == 1 && is_distributive(words[0]) && item.tokens.iter().all(|t| t.word().is_some());
        let Some(first) = next.tokens.iter().position(|t| !is_determiner(t.norm())) else {
            continue;
        };
        let shares = is_distributive(next.tokens[first].norm()) && next.tokens.len() > first + 1;
        if lone_modifier && shares {
            item.tokens.extend_from_slice(&next.tokens[first + 1..]);
        }
    }
}

/// The entries of an entity list, up to the first clause word.
pub(super) fn split_entities(tokens: &[Token]) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut start = 0;
    let mut depth = 0usize;
    let mut end = tokens.len();
    for (i, token) in tokens.iter().enumerate() {
        if token.is_punct('(') {
            depth += 1;
        } else if token.is_punct(')') {
            depth = depth.saturating_sub(1);
        } else if token.is_punct(';') {
            depth = 0;
        }
        if depth > 0 || token.is_punct(')') {
            continue;
        }
        if ends_list(token.norm()) {
            end = i;
            break;
        }
        let separator = [',', ';', '&', '+', ':'].iter().any(|&c| token.is_punct(c))
            || matches!(token.norm(), "and" | "or" | "plus");
        if separator {
            entries.extend(entry(&tokens[start..i]));
            start = i + 1;
        }
    }
    if start < end {
        entries.extend(entry(&tokens[start..end]));
    }
    entries
}

fn ends_list(w: &str) -> bool {
    is_relative(w)
        || matches!(
            w,
            "so" | "because"
                | "when"
                | "while"
                | "but"
                | "to"
                | "if"
                | "whether"
                | "for"
                | "in"
                | "on"
                | "at"
                | "by"
                | "from"
                | "using"
                | "via"
                | "during"
                | "since"
                | "until"
                | "with"
        )
}

/// "my monthly budgets (month, limit)" → noun `my monthly budgets`, fields `month, limit`.
fn entry(tokens: &[Token]) -> Option<Entry> {
    let first = tokens.iter().position(|t| !is_determiner(t.norm()))?;
    let noun: Vec<String> = tokens[first..]
        .iter()
        .take_while(|t| is_nouny(t))
        .take(4)
        .map(|t| t.norm().to_owned())
        .collect();
    if noun.is_empty() {
        return None;
    }
    let open = tokens.iter().position(|t| t.is_punct('('));
    let fields = open.map(|open| {
        let inner = &tokens[open + 1..];
        let close = inner.iter().position(|t| t.is_punct(')')).unwrap_or(inner.len());
        inner[..close].to_vec()
    });
    Some(Entry { noun, fields })
}

/// A word that can be part of a noun phrase.
pub(super) fn is_nouny(token: &Token) -> bool {
    let w = token.norm();
    w.starts_with(|c: char| c.is_ascii_alphabetic()) && !is_stopword(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::text::sentences;

    fn fields(text: &str) -> Vec<(String, Vec<String>)> {
        let tokens = &sentences(text)[0];
        split_fields(tokens)
            .into_iter()
            .map(|item| {
                let words: Vec<String> = item
                    .tokens
                    .iter()
                    .map(|t| match t {
                        Token::Word(w) => w.norm.clone(),
                        Token::Punct(c) => c.to_string(),
                    })
                    .collect();
                (words.join(" "), item.values)
            })
            .collect()
    }

    fn names(text: &str) -> Vec<String> {
        fields(text).into_iter().map(|(words, _)| words).collect()
    }

    #[test]
    fn fields_split_on_commas_and_conjunctions_but_not_inside_parentheses_or_ranges() {
        assert_eq!(
            names(
                "a title, a priority (low, medium, high), a rating between 1 and 5 & notes, and a done flag"
            ),
            [
                "a title",
                "a priority ( low , medium , high )",
                "a rating between 1 and 5",
                "notes",
                "a done flag"
            ]
        );
        assert_eq!(
            names("whether or not it is done, or a date"),
            ["whether or not it is done", "a date"]
        );
        assert_eq!(
            names("whether I own it or just want it"),
            ["whether i own it or just want it"]
        );
    }

    #[test]
    fn one_of_collects_enum_values_into_its_item() {
        let items = fields("a title, a status which is one of open, in progress or closed, and a due date");
        assert_eq!(
            items[1],
            (
                "a status which is".to_owned(),
                vec!["open".into(), "in progress".into(), "closed".into()]
            )
        );
        assert_eq!(items[2].0, "a due date");
        let items = fields("a size that can be Small, Medium or Large and a colour");
        assert_eq!(items[0].1, ["Small", "Medium", "Large"]);
        assert_eq!(items[1].0, "a color");
        let items = fields("a status: todo / doing / done, an estimate");
        assert_eq!(
            items[0],
            (
                "a status".to_owned(),
                vec!["todo".into(), "doing".into(), "done".into()]
            )
        );
        assert_eq!(items[1].0, "an estimate");
        let items = fields("a kind, either indoor or outdoor");
        assert_eq!(
            items,
            [("a kind".to_owned(), vec!["indoor".into(), "outdoor".into()])]
        );
    }

    #[test]
    fn shared_nouns_are_shared() {
        assert_eq!(
            names("first and last name, start and end date"),
            ["first name", "last name", "start date", "end date"]
        );
    }

    #[test]
    fn entity_lists_stop_at_a_clause() {
        let tokens =
            &sentences("my books, monthly budgets (month, limit) and authors, where each book has a title")
                [0];
        let entries = split_entities(tokens);
        let nouns: Vec<Vec<String>> = entries.iter().map(|e| e.noun.clone()).collect();
        assert_eq!(
            nouns,
            [vec!["books"], vec!["monthly", "budgets"], vec!["authors"]]
        );
        assert_eq!(entries[1].fields.as_ref().map(Vec::len), Some(3));
    }
}
