//! One sentence → mentions: the entities it introduces, what it says about them, and relations.
//!
//! The reader looks for anchors, the words that introduce an entity:
//! - a field verb after a noun: "each book **has** …", "clients **with** …", "tasks **should have** …";
//! - a relation after a noun: "projects **belong to** a client", "a task **can be assigned to**
//!   a person", "signups **link** a volunteer to a shift";
//! - a tracking verb before nouns: "**track** books and authors", "**keep a list of** wines";
//! - "**for each** application, I want to store …" at the start of a sentence;
//! - a colon or parentheses after a bare noun that starts the sentence: "Books: title, author",
//!   "Books (title, author) and authors (name)"; "Entities: books, authors" and a colon after
//!   the app ("an app for a dentist: patients, …") list entities.
//!
//! The noun phrase right before an anchor is its subject; the words from the anchor to the next
//! anchor's subject are its object. An anchor with no noun before it continues the subject of
//! the one before ("projects belong to a client **and have** a name"), or after "it"/"they"/"each"
//! at the start of a sentence, the entity of the previous sentence. A subject that names the app
//! ("a todo app with …", "an expense tracker with …") has a list of entities as its object, or,
//! when every item looks like a field ("a todo app with due dates and priorities"), the fields of
//! one entity named after the app.

use super::items::{Entry, Item, is_nouny, split_entities, split_fields};
use super::lexicon::{
    is_app_head, is_auxiliary, is_back_reference, is_connective, is_container_head, is_determiner,
    is_entity_heading, is_many, is_meta_heading, is_optional_auxiliary, is_relative, is_stopword,
    is_tracking_verb, may_precede_tracking,
};
use super::text::Token;
use super::types::is_field_word;
use super::words::{entity_words, singular};

#[derive(Debug)]
pub(super) enum Mention {
    /// An entity and the field phrases said about it.
    Entity {
        noun: Vec<String>,
        items: Vec<Item>,
        naming: Naming,
    },
    /// `child` refers to `parent`: "projects belong to a client", "a client has many projects".
    Relation {
        child: Vec<String>,
        parent: Vec<String>,
        required: bool,
    },
}

/// How a mention named its entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Naming {
    /// As a thing of the app: "each book has …", "track books and authors".
    Thing,
    /// Only the app was named ("a todo app with due dates"), so the entity needs a label of its own.
    App,
    /// In a heading ("keep track of my car: services with …"): no entity unless something else
    /// describes it or refers to it.
    Heading,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Fields,
    BelongsTo,
    Track,
    Colon,
    Parens,
}

#[derive(Debug)]
struct Anchor {
    kind: Kind,
    /// The first token of the anchor.
    at: usize,
    /// The first token after it, where its object starts.
    end: usize,
    subject: Subject,
    /// "can be assigned to": the relation is optional.
    optional: bool,
}

#[derive(Clone, Debug)]
enum Subject {
    Noun {
        start: usize,
        words: Vec<String>,
        /// After "many": "a project has many tasks, each with …".
        many: bool,
        /// After "each"/"every": an entity for sure, even if it sounds like an app ("each store").
        each: bool,
    },
    /// The subject of the anchor before, in the same sentence.
    Same,
    /// The entity the previous sentence talked about.
    Previous,
    /// Tracking verbs and "Entities:" headings have their nouns after them.
    After,
}

impl Anchor {
    /// Where the object of the anchor before this one ends.
    fn cut(&self) -> usize {
        match self.subject {
            Subject::Noun { start, .. } => start,
            _ => self.at,
        }
    }
}

/// The mentions of one sentence. `previous` is the entity the sentences before ended on; it is
/// updated to the one this sentence ends on.
pub(super) fn read(tokens: &[Token], previous: &mut Option<Vec<String>>) -> Vec<Mention> {
    let anchors = find_anchors(tokens, previous.is_some());
    let mut mentions = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for (k, anchor) in anchors.iter().enumerate() {
        let cut = anchors
            .get(k + 1)
            .map_or(tokens.len(), Anchor::cut)
            .max(anchor.end)
            .min(tokens.len());
        let object = &tokens[anchor.end.min(cut)..cut];
        let subject = match &anchor.subject {
            Subject::Noun { words, .. } => Some(words.clone()),
            Subject::Same => current.clone(),
            Subject::Previous => previous.clone(),
            Subject::After => None,
        };
        let said = match (anchor.kind, subject) {
            (Kind::Track, _) | (Kind::Colon, None) => entity_list(object, &mut mentions),
            (Kind::Fields | Kind::Colon, Some(subject)) if names_app(&anchor.subject, &subject) => {
                app_contents(&subject, object, &mut mentions)
            }
            (Kind::Fields, Some(subject)) => {
                if let (Subject::Noun { many: true, .. }, Some(parent)) = (&anchor.subject, &current) {
                    mentions.push(Mention::Relation {
                        child: subject.clone(),
                        parent: parent.clone(),
                        required: false,
                    });
                }
                mentions.push(Mention::Entity {
                    noun: subject.clone(),
                    items: split_fields(object),
                    naming: Naming::Thing,
                });
                Some(subject)
            }
            (Kind::Colon, Some(subject)) => {
                // "Features: add tasks, …" is not an entity; one whose items name fields is.
                let items = split_fields(object);
                let names_fields = items.iter().any(|item| {
                    item.tokens
                        .iter()
                        .find(|t| !is_determiner(t.norm()))
                        .is_some_and(is_nouny)
                });
                names_fields.then(|| {
                    mentions.push(Mention::Entity {
                        noun: subject.clone(),
                        items,
                        naming: Naming::Thing,
                    });
                    subject
                })
            }
            (Kind::Parens, Some(subject)) => {
                let inner = &tokens[(anchor.at + 1).min(anchor.end)..anchor.end];
                let inner = inner.strip_suffix(&[Token::Punct(')')]).unwrap_or(inner);
                mentions.push(Mention::Entity {
                    noun: subject.clone(),
                    items: split_fields(inner),
                    naming: Naming::Thing,
                });
                Some(subject)
            }
            (Kind::BelongsTo, Some(child)) => {
                // "loans belong to a book and a member"; "signups link a volunteer to a shift"
                let object: Vec<Token> = if is_linking_verb(tokens[anchor.at].norm()) {
                    object
                        .iter()
                        .map(|t| {
                            if t.is("to") || t.is("with") {
                                Token::Punct(',')
                            } else {
                                t.clone()
                            }
                        })
                        .collect()
                } else {
                    object.to_vec()
                };
                for parent in split_entities(&object) {
                    let relation = Mention::Relation {
                        child: child.clone(),
                        parent: parent.noun,
                        required: !anchor.optional,
                    };
                    mentions.push(relation);
                }
                Some(child)
            }
            (Kind::Fields | Kind::Parens | Kind::BelongsTo, None) => None,
        };
        if said.is_some() {
            current = said;
        }
    }
    if current.is_some() {
        *previous = current;
    }
    mentions
}

fn find_anchors(tokens: &[Token], has_previous: bool) -> Vec<Anchor> {
    let mut anchors: Vec<Anchor> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let floor = anchors.last().map_or(0, |a| a.end);
        if token.is_punct('(') {
            if depth == 0
                && let Some(anchor) = parens_anchor(tokens, i, floor, &anchors)
            {
                i = anchor.end;
                anchors.push(anchor);
                continue;
            }
            depth += 1;
        } else if token.is_punct(')') {
            depth = depth.saturating_sub(1);
        } else if token.is_punct(';') {
            depth = 0;
        } else if depth == 0
            && let Some(anchor) = anchor_at(tokens, i, floor, &anchors, has_previous)
        {
            i = anchor.end.max(i + 1);
            anchors.push(anchor);
            continue;
        }
        i += 1;
    }
    anchors
}

fn anchor_at(
    tokens: &[Token],
    i: usize,
    floor: usize,
    prior: &[Anchor],
    has_previous: bool,
) -> Option<Anchor> {
    if tokens[i].is_punct(':') {
        return colon_anchor(tokens, i, prior);
    }
    if let Some(anchor) = for_each_anchor(tokens, i) {
        return Some(anchor);
    }
    let verb = tokens[i].word()?.norm.as_str();
    let anchor = |kind, end, (subject, optional)| Anchor {
        kind,
        at: i,
        end,
        subject,
        optional,
    };
    if let Some(end) = relation_verb(tokens, i) {
        let found = subject_before(tokens, i, floor, has_previous);
        return valid(&found.0, prior).then(|| anchor(Kind::BelongsTo, end, found));
    }
    if let Some(end) = tracking_verb(tokens, i) {
        let (subject, optional) = subject_before(tokens, i, floor, has_previous);
        if let Subject::Noun { words, each, .. } = &subject {
            // "the app tracks expenses" lists entities; "each workout records the date" lists fields.
            if !*each && is_app_head(words.last().map_or("", String::as_str)) {
                return Some(anchor(Kind::Track, end, (Subject::After, false)));
            }
            // …but "my vinyl records: …" is a noun.
            let object_follows = tokens
                .get(end)
                .is_some_and(|t| t.word().is_some() && field_verb(tokens, end).is_none());
            if verb.ends_with('s') && object_follows {
                return Some(anchor(Kind::Fields, end, (subject, optional)));
            }
        }
        let before = i.checked_sub(1).map(|b| &tokens[b]);
        let verb_here = before.is_none_or(|t| t.word().is_none() || may_precede_tracking(t.norm()));
        return verb_here.then(|| anchor(Kind::Track, end, (Subject::After, false)));
    }
    let end = field_verb(tokens, i)?;
    let (subject, optional) = subject_before(tokens, i, floor, has_previous);
    if !valid(&subject, prior) {
        return None;
    }
    let subject = for_whom(tokens, floor, subject);
    // "…, a title with at most 100 characters": inside a field list, "with" after a field word
    // belongs to that field.
    if let Subject::Noun { words, .. } = &subject
        && verb == "with"
        && !prior.is_empty()
        && words.last().is_some_and(|head| is_field_word(&singular(head)))
    {
        return None;
    }
    Some(anchor(Kind::Fields, end, (subject, optional)))
}

/// In "a time tracking tool for freelancers with clients, …" what has clients is the app, made
/// for freelancers: the subject becomes `freelancers tool`, an app phrase whose entity, when it
/// needs one, is a `Freelancer`.
fn for_whom(tokens: &[Token], floor: usize, subject: Subject) -> Subject {
    let Subject::Noun { start, words, .. } = &subject else {
        return subject;
    };
    let made_for =
        *start >= floor + 2 && tokens[start - 1].is("for") && is_app_head(tokens[start - 2].norm());
    if !made_for {
        return subject;
    }
    let mut words = words.clone();
    words.push(tokens[start - 2].norm().to_owned());
    let start = match noun_before(tokens, start - 1, floor) {
        Some(Subject::Noun { start, .. }) => start,
        _ => start - 2,
    };
    Subject::Noun {
        start,
        words,
        many: false,
        each: false,
    }
}

fn valid(subject: &Subject, prior: &[Anchor]) -> bool {
    match subject {
        Subject::Noun { .. } | Subject::Previous => true,
        Subject::Same => !prior.is_empty(),
        Subject::After => false,
    }
}

/// "For each application I want to store the company, the role, …": the noun after "for each"
/// at the start of a sentence has the fields listed after the clause that follows it.
fn for_each_anchor(tokens: &[Token], i: usize) -> Option<Anchor> {
    if !tokens[i].is("for") || !tokens.get(i + 1).is_some_and(|t| t.is("each") || t.is("every")) {
        return None;
    }
    if !tokens[..i]
        .iter()
        .all(|t| t.word().is_none() || is_connective(t.norm()))
    {
        return None;
    }
    let words: Vec<String> = tokens[i + 2..]
        .iter()
        .take_while(|t| is_nouny(t))
        .take(4)
        .map(|t| t.norm().to_owned())
        .collect();
    if entity_words(&words).is_empty() {
        return None;
    }
    let clause = tokens[i + 2 + words.len()..]
        .iter()
        .take_while(|t| {
            t.word()
                .is_none_or(|w| is_stopword(&w.norm) || is_tracking_verb(&w.norm))
        })
        .count();
    Some(Anchor {
        kind: Kind::Fields,
        at: i,
        end: i + 2 + words.len() + clause,
        subject: Subject::Noun {
            start: i,
            words,
            many: false,
            each: true,
        },
        optional: false,
    })
}

/// "has", "have", "with", "contains", "includes", "holds", "needs", "requires", "consists of",
/// "is made (up) of" — but not "has to", "need to" or "has been".
fn field_verb(tokens: &[Token], i: usize) -> Option<usize> {
    let next = tokens.get(i + 1).map_or("", Token::norm);
    match tokens[i].norm() {
        "has" | "have" | "contains" | "contain" | "includes" | "include" | "holds" | "hold" | "needs"
        | "need" | "requires" | "require" | "comprises"
            if !matches!(next, "to" | "been" | "no") =>
        {
            Some(i + 1)
        }
        "with" => Some(i + 1),
        "consists" | "consist" if next == "of" => Some(i + 2),
        "made" if next == "of" => Some(i + 2),
        "made" if next == "up" && tokens.get(i + 2).is_some_and(|t| t.is("of")) => Some(i + 3),
        _ => None,
    }
}

/// "belongs to", "are linked to", "is assigned to", "associated with", "is part of", "owned by".
fn relation_verb(tokens: &[Token], i: usize) -> Option<usize> {
    let next = tokens.get(i + 1).map_or("", Token::norm);
    let before = i.checked_sub(1).map_or("", |b| tokens[b].norm());
    let relates = match (tokens[i].norm(), next) {
        (
            "belongs" | "belong" | "belonging" | "linked" | "assigned" | "attached" | "connected" | "tied"
            | "link" | "links",
            "to",
        )
        | ("associated" | "linked" | "connected", "with")
        | ("owned", "by") => true,
        ("part", "of") => matches!(before, "is" | "are"),
        _ => false,
    };
    if relates {
        return Some(i + 2);
    }
    // "signups that link a volunteer to a shift", but not "an IMDb link, …"
    let object_follows = is_determiner(next);
    (is_linking_verb(tokens[i].norm()) && object_follows).then_some(i + 1)
}

/// Verbs of an entity that joins others: "signups **link** a volunteer to a shift".
fn is_linking_verb(w: &str) -> bool {
    matches!(
        w,
        "link" | "links" | "connect" | "connects" | "join" | "joins" | "pair" | "pairs"
    )
}

/// A tracking verb and where its object starts: "track", "manage", "keep track of",
/// "keep a list of".
fn tracking_verb(tokens: &[Token], i: usize) -> Option<usize> {
    let verb = tokens[i].norm();
    if !is_tracking_verb(verb) {
        return None;
    }
    if matches!(verb, "keep" | "keeps" | "keeping") {
        let mut j = i + 1;
        if tokens.get(j).is_some_and(|t| t.is("a") || t.is("an")) {
            j += 1;
        }
        let list = tokens.get(j).is_some_and(|t| {
            matches!(
                t.norm(),
                "track" | "list" | "record" | "records" | "log" | "catalog" | "journal" | "diary" | "note"
            )
        });
        if list && tokens.get(j + 1).is_some_and(|t| t.is("of")) {
            return Some(j + 2);
        }
    }
    Some(i + 1)
}

/// The subject of an anchor at `at`, looking back no further than `floor`, and whether an
/// auxiliary made it optional ("can be assigned").
fn subject_before(tokens: &[Token], at: usize, floor: usize, has_previous: bool) -> (Subject, bool) {
    let mut optional = false;
    let mut j = at;
    while j > floor && is_auxiliary(tokens[j - 1].norm()) {
        optional |= is_optional_auxiliary(tokens[j - 1].norm());
        j -= 1;
    }
    if let Some(noun) = noun_before(tokens, j, floor) {
        return (noun, optional);
    }
    // "recipes, each with …", "tasks that have …"
    let mut k = j;
    let mut relative = false;
    while k > floor
        && j - k < 3
        && (tokens[k - 1].is_punct(',') || is_relative(tokens[k - 1].norm()) || tokens[k - 1].is("each"))
    {
        relative |= !tokens[k - 1].is_punct(',');
        k -= 1;
    }
    if relative && let Some(noun) = noun_before(tokens, k, floor) {
        return (noun, optional);
    }
    if j > floor && (tokens[j - 1].is_punct(',') || is_connective(tokens[j - 1].norm())) {
        return (Subject::Same, optional);
    }
    // "It also has tags." "Each has a title."
    let opens_sentence = j > 0
        && is_back_reference(tokens[j - 1].norm())
        && tokens[..j - 1]
            .iter()
            .all(|t| t.is_punct(',') || is_connective(t.norm()));
    if has_previous && opens_sentence {
        return (Subject::Previous, optional);
    }
    (Subject::After, optional)
}

/// The noun phrase ending right before `end`: up to four words, plus the articles before them.
fn noun_before(tokens: &[Token], end: usize, floor: usize) -> Option<Subject> {
    let mut start = end;
    while start > floor && end - start < 4 && is_nouny(&tokens[start - 1]) {
        start -= 1;
    }
    let words: Vec<String> = tokens[start..end].iter().map(|t| t.norm().to_owned()).collect();
    if entity_words(&words).is_empty() {
        return None;
    }
    let (mut many, mut each) = (false, false);
    while start > floor && (is_determiner(tokens[start - 1].norm()) || is_many(tokens[start - 1].norm())) {
        many |= is_many(tokens[start - 1].norm());
        each |= matches!(tokens[start - 1].norm(), "each" | "every");
        start -= 1;
    }
    Some(Subject::Noun {
        start,
        words,
        many,
        each,
    })
}

/// "Books: …" and "Entities: …" at the start of a sentence.
fn colon_anchor(tokens: &[Token], i: usize, prior: &[Anchor]) -> Option<Anchor> {
    // After another anchor a colon only introduces its list: "each task has: a title, …".
    if !prior.is_empty() {
        return None;
    }
    let last = tokens[..i].last()?.norm();
    if is_entity_heading(last) {
        return Some(Anchor {
            kind: Kind::Colon,
            at: i,
            end: i + 1,
            subject: Subject::After,
            optional: false,
        });
    }
    if is_meta_heading(last) {
        return None;
    }
    let colon = |subject| Anchor {
        kind: Kind::Colon,
        at: i,
        end: i + 1,
        subject,
        optional: false,
    };
    if let Some(subject @ Subject::Noun { start: 0, .. }) = noun_before(tokens, i, 0) {
        return Some(colon(subject));
    }
    // "Create an app for a dentist: patients, …": after naming the app, a colon lists what it has.
    let app = tokens[..i].iter().rposition(|t| is_app_head(t.norm()))?;
    noun_before(tokens, app + 1, 0).map(colon)
}

/// "Books (title, author) and authors (name)": a noun that opens the sentence or follows a
/// comma or "and", before any other anchor.
fn parens_anchor(tokens: &[Token], i: usize, floor: usize, prior: &[Anchor]) -> Option<Anchor> {
    if prior.iter().any(|a| a.kind != Kind::Parens) {
        return None;
    }
    let subject = noun_before(tokens, i, floor)?;
    let Subject::Noun { start, .. } = subject else {
        return None;
    };
    let opens = start == floor || tokens[start - 1].is_punct(',') || tokens[start - 1].is("and");
    if !opens {
        return None;
    }
    // "a name (required)" is a field with a note, not an entity with fields.
    let inner = &tokens[i + 1..];
    let inner = &inner[..inner
        .iter()
        .position(|t| t.is_punct(')') || t.is_punct(';'))
        .unwrap_or(inner.len())];
    if !lists_fields(inner) {
        return None;
    }
    let mut depth = 0usize;
    let mut end = tokens.len();
    for (k, token) in tokens.iter().enumerate().skip(i) {
        if token.is_punct(';') {
            end = k;
            break;
        }
        if token.is_punct('(') {
            depth += 1;
        } else if token.is_punct(')') {
            depth -= 1;
            if depth == 0 {
                end = k + 1;
                break;
            }
        }
    }
    Some(Anchor {
        kind: Kind::Parens,
        at: i,
        end,
        subject,
        optional: false,
    })
}

/// Whether a subject names the app rather than an entity of it.
fn names_app(subject: &Subject, words: &[String]) -> bool {
    let each = matches!(subject, Subject::Noun { each: true, .. });
    !each && words.last().is_some_and(|w| is_app_head(w))
}

/// "track books, authors (name, country) and loans"; "track workouts: date, duration" lists the
/// fields of one entity, "manage a league: teams and players" lists entities after a heading, and
/// in "keep track of my car: services with …" the colon ends a heading.
fn entity_list(object: &[Token], mentions: &mut Vec<Mention>) -> Option<Vec<String>> {
    let colon = object.iter().position(|t| t.is_punct(':'));
    let head = &object[..colon.unwrap_or(object.len())];
    let entries = split_entities(head);
    if let Some(colon) = colon {
        let rest = &object[colon + 1..];
        if rest.iter().all(|t| t.word().is_none()) {
            for entry in entries {
                mentions.push(Mention::Entity {
                    noun: entry.noun,
                    items: Vec::new(),
                    naming: Naming::Heading,
                });
            }
            return None;
        }
        // "track workouts: date, duration" lists fields; "manage a league: teams and players", entities.
        let rest_entries = split_entities(rest);
        if !rest_entries.iter().any(sounds_like_field) {
            for entry in entries {
                mentions.push(Mention::Entity {
                    noun: entry.noun,
                    items: Vec::new(),
                    naming: Naming::Heading,
                });
            }
            return entity_list(rest, mentions);
        }
        if let [entry] = entries.as_slice() {
            mentions.push(Mention::Entity {
                noun: entry.noun.clone(),
                items: split_fields(rest),
                naming: Naming::Thing,
            });
            return Some(entry.noun.clone());
        }
    }
    let mut last = None;
    for entry in entries {
        let items = entry.fields.as_deref().map(split_fields).unwrap_or_default();
        mentions.push(Mention::Entity {
            noun: entry.noun.clone(),
            items,
            naming: Naming::Thing,
        });
        last = Some(entry.noun);
    }
    last
}

/// What an app is said to have: entities ("an expense tracker with expenses (…) and budgets"),
/// or, when every item sounds like a field, the fields of one entity named after the app
/// ("a todo app with due dates and priorities" → a `Todo` with `dueDate` and `priority`). A
/// collection of things ("my board game collection with the name, …") has fields as soon as one
/// item sounds like a field, since its things are already named.
fn app_contents(app: &[String], object: &[Token], mentions: &mut Vec<Mention>) -> Option<Vec<String>> {
    let entries = split_entities(object);
    if entries.is_empty() {
        return None;
    }
    let mut kept = app.len();
    while kept > 0 && is_app_head(&app[kept - 1]) {
        kept -= 1;
    }
    let modifiers = entity_words(&app[..kept]);
    let field_like = |entry: &Entry| {
        let head = entry.noun.last().map(|w| singular(w)).unwrap_or_default();
        sounds_like_field(entry) && !modifiers.contains(&head)
    };
    let collection = !modifiers.is_empty() && app.last().is_some_and(|w| is_container_head(w));
    let fields = if collection {
        entries.iter().any(field_like)
    } else {
        entries.iter().all(field_like)
    };
    if !fields {
        return entity_list(object, mentions);
    }
    let noun = if modifiers.is_empty() {
        vec!["item".to_owned()]
    } else {
        modifiers
    };
    mentions.push(Mention::Entity {
        noun: noun.clone(),
        items: split_fields(object),
        naming: Naming::App,
    });
    Some(noun)
}

/// Whether an entry of a list names a field ("due dates") rather than an entity ("tasks",
/// "expenses (amount, date)").
fn sounds_like_field(entry: &Entry) -> bool {
    let head = entry.noun.last().map(|w| singular(w)).unwrap_or_default();
    is_field_word(&head) && !entry.fields.as_deref().is_some_and(lists_fields)
}

/// Whether parentheses hold field names ("(amount, date)") rather than values ("(low, high)").
fn lists_fields(tokens: &[Token]) -> bool {
    let items = split_fields(tokens);
    let named = items
        .iter()
        .filter(|item| {
            item.tokens
                .iter()
                .rev()
                .find_map(Token::word)
                .is_some_and(|w| is_field_word(&w.norm))
        })
        .count();
    named > 0 && named * 2 >= items.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::text::sentences;

    /// Each mention as text: `Entity task: a title | a due date` or `Relation project -> client`.
    fn mentions(prompt: &str) -> Vec<String> {
        let mut previous = None;
        let mut out = Vec::new();
        for sentence in sentences(prompt) {
            for mention in read(&sentence, &mut previous) {
                out.push(match mention {
                    Mention::Entity { noun, items, naming } => {
                        let items: Vec<String> = items
                            .iter()
                            .map(|item| {
                                item.tokens
                                    .iter()
                                    .map(Token::norm)
                                    .filter(|w| !w.is_empty())
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            })
                            .collect();
                        let marker = match naming {
                            Naming::Thing => "",
                            Naming::App => " (app)",
                            Naming::Heading => " (heading)",
                        };
                        format!("Entity {}{marker}: {}", noun.join(" "), items.join(" | "))
                    }
                    Mention::Relation {
                        child,
                        parent,
                        required,
                    } => {
                        format!(
                            "Relation {} -> {}{}",
                            child.join(" "),
                            parent.join(" "),
                            if required { "" } else { " (optional)" }
                        )
                    }
                });
            }
        }
        out
    }

    #[test]
    fn field_verbs_after_a_noun_introduce_an_entity() {
        assert_eq!(
            mentions("A todo app where tasks have a title and a done flag."),
            ["Entity tasks: a title | a done flag"]
        );
        assert_eq!(
            mentions("Each meal plan has a date and a recipe."),
            ["Entity meal plan: a date | a recipe"]
        );
        assert_eq!(
            mentions("Clients with name, email and phone."),
            ["Entity clients: name | email | phone"]
        );
        assert_eq!(mentions("Tasks that have a title."), ["Entity tasks: a title"]);
        assert_eq!(mentions("Recipes, each with a name."), ["Entity recipes: a name"]);
    }

    #[test]
    fn relations_and_continued_subjects() {
        assert_eq!(
            mentions("projects belong to a client and have a name and a deadline"),
            [
                "Relation projects -> client",
                "Entity projects: a name | a deadline"
            ]
        );
        assert_eq!(
            mentions("A task can be assigned to a person."),
            ["Relation task -> person (optional)"]
        );
        assert_eq!(
            mentions("A project has many tasks, each with a title."),
            [
                "Entity project: ",
                "Relation tasks -> project (optional)",
                "Entity tasks: a title"
            ]
        );
        assert_eq!(
            mentions("Each post has a title. It also has tags. They belong to an author."),
            [
                "Entity post: a title",
                "Entity post: tags",
                "Relation post -> author"
            ]
        );
    }

    #[test]
    fn tracking_verbs_list_entities() {
        assert_eq!(
            mentions("Track my book collection."),
            ["Entity book collection: "]
        );
        assert_eq!(
            mentions("I want to keep track of books and authors."),
            ["Entity books: ", "Entity authors: "]
        );
        assert_eq!(
            mentions("Keep a list of wines (name, year) and wineries"),
            ["Entity wines: name | year", "Entity wineries: "]
        );
        assert_eq!(
            mentions("Users log workouts with a date"),
            ["Entity workouts: a date"]
        );
        assert_eq!(
            mentions("Each workout records the date and the distance"),
            ["Entity workout: the date | the distance"]
        );
        assert_eq!(mentions("My workout log is great"), Vec::<String>::new());
    }

    #[test]
    fn colons_and_parentheses_after_a_bare_noun() {
        assert_eq!(mentions("Books: title, author"), ["Entity books: title | author"]);
        assert_eq!(
            mentions("Entities: books, authors"),
            ["Entity books: ", "Entity authors: "]
        );
        assert_eq!(mentions("Features: add tasks, share lists"), Vec::<String>::new());
        assert_eq!(
            mentions("Books (title, author) and authors (name)"),
            ["Entity books: title | author", "Entity authors: name"]
        );
        assert_eq!(
            mentions("Users can also plan meals: each meal plan has a date"),
            ["Entity meal plan: a date"]
        );
    }

    #[test]
    fn apps_have_entities_or_the_fields_of_one() {
        assert_eq!(
            mentions("An expense tracker with expenses (amount, date) and monthly budgets (month, limit)."),
            [
                "Entity expenses: amount | date",
                "Entity monthly budgets: month | limit"
            ]
        );
        assert_eq!(
            mentions("A todo app with tasks and projects"),
            ["Entity tasks: ", "Entity projects: "]
        );
        assert_eq!(
            mentions("A todo app with due dates and priorities"),
            ["Entity todo (app): due dates | priorities"]
        );
        assert_eq!(
            mentions("A recipe manager: recipes with a name"),
            ["Entity recipes: a name"]
        );
        assert_eq!(mentions("Each store has a name"), ["Entity store: a name"]);
    }
}
