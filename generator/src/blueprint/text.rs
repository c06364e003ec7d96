//! Prompt text → sentences of tokens.
//!
//! Layout first: a header line followed by bullets, numbered items or short lines reads as one
//! comma list ("Books:\n- title\n- author" → "Books: title, author"), so the sentence reader sees
//! the same shape whatever the layout; hard-wrapped prose is joined back into its sentence. Then
//! tokens: words (with their written and normalised forms), a few punctuation marks, and sentence
//! breaks at `.`, `!`, `?`, `;` and line ends. One pass over the characters, so a 64 KiB prompt
//! costs what its length costs.

use super::words::normalise;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Token {
    Word(Word),
    /// One of `,` `;` `(` `)` `:` `/` `|` `&` `+` `-`; brackets and dashes arrive normalised to
    /// these, and `;` only separates the items of a list laid out one per line.
    Punct(char),
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Word {
    /// As written, for titles and enum values.
    pub(super) raw: String,
    /// As matched: see [`normalise`]. Currency symbols normalise to `$`.
    pub(super) norm: String,
}

impl Word {
    fn new(raw: String) -> Self {
        let norm = normalise(&raw);
        Word { raw, norm }
    }
}

impl Token {
    pub(super) fn word(&self) -> Option<&Word> {
        match self {
            Token::Word(w) => Some(w),
            Token::Punct(_) => None,
        }
    }

    /// The normalised word, or "" for punctuation.
    pub(super) fn norm(&self) -> &str {
        self.word().map_or("", |w| w.norm.as_str())
    }

    pub(super) fn is(&self, norm: &str) -> bool {
        self.word().is_some_and(|w| w.norm == norm)
    }

    pub(super) fn is_punct(&self, c: char) -> bool {
        matches!(self, Token::Punct(p) if *p == c)
    }

    /// The value of a written number such as `5` or `1.5`.
    pub(super) fn number(&self) -> Option<f64> {
        number(self.norm())
    }
}

/// The value of `5` or `1.5`; never of `inf` or `NaN`, which Rust would also parse.
pub(super) fn number(s: &str) -> Option<f64> {
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The sentences of a prompt, each a list of tokens.
pub(super) fn sentences(prompt: &str) -> Vec<Vec<Token>> {
    tokenize(&layout(prompt))
}

struct Line<'a> {
    indent: usize,
    bullet: bool,
    heading: bool,
    text: &'a str,
}

impl<'a> Line<'a> {
    fn parse(line: &'a str) -> Self {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let (bullet, rest) = strip_bullet(trimmed);
        let heading = rest.starts_with('#');
        let text = rest.trim_start_matches('#').trim();
        Line {
            indent,
            bullet,
            heading,
            text,
        }
    }

    fn is_blank(&self) -> bool {
        self.text.is_empty()
    }

    /// Whether the line ends a sentence by itself, so it cannot head a list.
    fn ends_sentence(&self) -> bool {
        self.text.ends_with(['.', '!', '?', ';', ','])
    }

    /// A line short enough to be one item of a list written one per line.
    fn is_short(&self) -> bool {
        !self.is_blank()
            && self.text.split_whitespace().nth(4).is_none()
            && !self.text.ends_with(['.', '!', '?', ':'])
    }
}

/// `- `, `* `, `• `, `1. `, `2) `, `a) ` and a task-list box after any of them.
fn strip_bullet(s: &str) -> (bool, &str) {
    let mut chars = s.char_indices();
    let marker_end = match chars.next() {
        Some((_, '-' | '*' | '+' | '•' | '·' | '–' | '—' | '◦' | '▪' | '‣' | '○' | '●' | '→')) => {
            chars.next().map(|(i, _)| i)
        }
        Some((_, c)) if c.is_ascii_alphanumeric() => {
            let digits = s.bytes().take_while(u8::is_ascii_digit).count();
            let label = if digits > 0 && digits <= 3 {
                digits
            } else {
                usize::from(c.is_ascii_lowercase())
            };
            match s.as_bytes().get(label) {
                Some(b'.') if digits > 0 => Some(label + 1),
                Some(b')') if label > 0 => Some(label + 1),
                _ => None,
            }
        }
        _ => None,
    };
    let Some(end) = marker_end else { return (false, s) };
    let Some(rest) = s.get(end..).filter(|rest| rest.starts_with(char::is_whitespace)) else {
        return (false, s);
    };
    let rest = rest.trim_start();
    let rest = ["[ ]", "[x]", "[X]"]
        .iter()
        .find_map(|b| rest.strip_prefix(b))
        .unwrap_or(rest);
    (true, rest.trim_start())
}

/// Lines → text where every `\n` ends a sentence and lists hang off their header as comma lists.
fn layout(prompt: &str) -> String {
    let prompt = prompt.replace("\r\n", "\n");
    let lines: Vec<Line> = prompt.split(['\n', '\r']).map(Line::parse).collect();
    let mut out = String::with_capacity(prompt.len() + 16);
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if line.is_blank() {
            i += 1;
            continue;
        }
        let (children, next) = children(&lines, i);
        if !children.is_empty() {
            out.push_str(line.text.trim_end_matches(':'));
            out.push_str(": ");
            out.push_str(&children.join(&format!("{ITEM_BREAK} ")));
            out.push('\n');
            i = next;
            continue;
        }
        out.push_str(line.text);
        // A line that stops mid-sentence and a next line in lower case are one wrapped sentence.
        let wrapped = lines.get(i + 1).is_some_and(|next| {
            !line.text.ends_with(['.', '!', '?', ';', ':'])
                && !next.bullet
                && !next.heading
                && next.text.starts_with(|c: char| c.is_lowercase())
        });
        out.push(if wrapped { ' ' } else { '\n' });
        i += 1;
    }
    out
}

/// The list items below line `i`, and the index of the first line after them.
fn children<'a>(lines: &[Line<'a>], i: usize) -> (Vec<&'a str>, usize) {
    let head = &lines[i];
    if head.ends_sentence() {
        return (Vec::new(), i + 1);
    }
    let mut items = Vec::new();
    let mut j = i + 1;
    // Sibling bullets, deeper than a bulleted header; one with bullets of its own heads its own list.
    let mut indent = None;
    loop {
        let mut k = j;
        while lines.get(k).is_some_and(Line::is_blank) {
            k += 1;
        }
        let Some(l) = lines.get(k) else { break };
        let sibling =
            l.bullet && (!head.bullet || l.indent > head.indent) && indent.is_none_or(|d| d == l.indent);
        let heads_list = lines.get(k + 1).is_some_and(|n| n.bullet && n.indent > l.indent);
        if !sibling || heads_list {
            break;
        }
        indent = Some(l.indent);
        items.push(l.text.trim_end_matches(['.', ';', ',']));
        j = k + 1;
    }
    if !items.is_empty() {
        return (items, j);
    }
    // Short lines under a header that ends with a colon, is a heading or is short itself.
    if head.bullet || !(head.text.ends_with(':') || head.heading || head.is_short()) {
        return (items, i + 1);
    }
    while let Some(l) = lines.get(j).filter(|l| l.is_short() && !l.bullet) {
        items.push(l.text.trim_end_matches(','));
        j += 1;
    }
    let enough = if head.text.ends_with(':') { 1 } else { 2 };
    if items.len() < enough {
        return (Vec::new(), i + 1);
    }
    (items, j)
}

/// Joins the items of a list that was laid out one per line. It reads as `;`, a comma that also
/// ends enum values and parentheses, since one line's "status: a / b / c" or "(unclosed" must
/// not run into the next line.
const ITEM_BREAK: char = '\u{1f}';

fn tokenize(text: &str) -> Vec<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut sentences = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_word_char(c) {
            let start = i;
            i += 1;
            while i < chars.len() {
                if is_word_char(chars[i]) {
                    i += 1;
                } else if matches!(chars[i], '\'' | '’' | '-' | '.')
                    && chars.get(i + 1).is_some_and(|&n| is_word_char(n))
                {
                    i += 2;
                } else {
                    break;
                }
            }
            let raw = chars[start..i]
                .iter()
                .map(|&c| if c == '’' { '\'' } else { c })
                .collect();
            current.push(Token::Word(Word::new(raw)));
            continue;
        }
        match c {
            '\n' => {
                end_sentence(&mut sentences, &mut current);
                depth = 0;
            }
            ITEM_BREAK => {
                current.extend((0..depth).map(|_| Token::Punct(')')));
                current.push(Token::Punct(';'));
                depth = 0;
            }
            '.' | '!' | '?' | ';' | '。' | '！' | '？' | '；' => {
                if depth > 0 {
                    // Inside parentheses a sentence goes on: "(e.g. red; blue)".
                    if matches!(c, ';' | '；') {
                        current.push(Token::Punct(','));
                    }
                } else if !(c == '.' && after_abbreviation(&current)) {
                    end_sentence(&mut sentences, &mut current);
                }
            }
            '(' | '[' | '{' => {
                depth += 1;
                current.push(Token::Punct('('));
            }
            ')' | ']' | '}' if depth > 0 => {
                depth -= 1;
                current.push(Token::Punct(')'));
            }
            ',' | '，' | '、' => current.push(Token::Punct(',')),
            ':' | '/' | '|' | '&' | '+' => current.push(Token::Punct(c)),
            '-' | '–' | '—' => current.push(Token::Punct('-')),
            '$' | '€' | '£' | '¥' | '₹' => {
                current.push(Token::Word(Word {
                    raw: c.to_string(),
                    norm: "$".to_owned(),
                }));
            }
            // Quotes, emphasis marks, emoji and the rest only separate words.
            _ => {}
        }
        i += 1;
    }
    end_sentence(&mut sentences, &mut current);
    sentences
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// "e.g." and "etc." do not end a sentence.
fn after_abbreviation(tokens: &[Token]) -> bool {
    tokens.last().is_some_and(|t| {
        matches!(
            t.norm(),
            "e.g" | "i.e" | "eg" | "ie" | "etc" | "vs" | "approx" | "incl"
        )
    })
}

fn end_sentence(sentences: &mut Vec<Vec<Token>>, current: &mut Vec<Token>) {
    if current.iter().any(|t| t.word().is_some()) {
        sentences.push(merge_compounds(std::mem::take(current)));
    } else {
        current.clear();
    }
}

/// "date and time" names one thing, a timestamp (`dateTime`); keep it from being split in two.
fn merge_compounds(tokens: Vec<Token>) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    for token in tokens {
        let n = out.len();
        if token.is("time")
            && n >= 2
            && out[n - 2].is("date")
            && (out[n - 1].is("and") || out[n - 1].is_punct('&') || out[n - 1].is_punct('/'))
        {
            out.truncate(n - 2);
            out.push(Token::Word(Word {
                raw: "date and time".to_owned(),
                norm: "date-time".to_owned(),
            }));
            continue;
        }
        out.push(token);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(sentence: &[Token]) -> String {
        sentence
            .iter()
            .map(|t| match t {
                Token::Word(w) => w.norm.clone(),
                Token::Punct(c) => c.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn read(prompt: &str) -> Vec<String> {
        sentences(prompt).iter().map(|s| words(s)).collect()
    }

    #[test]
    fn sentences_end_at_stops_and_line_ends_but_not_inside_words_or_parentheses() {
        assert_eq!(
            read("Tasks have a title. Projects have a budget of 1.5k; notes (e.g. long. text)!\nDone"),
            [
                "tasks have a title",
                "projects have a budget of 1.5k",
                "notes ( e.g long text )",
                "done"
            ]
        );
    }

    #[test]
    fn bullets_under_a_header_become_a_comma_list() {
        let prompt = "A library app.\nBooks:\n- title\n- author (required).\n* published date\n\n1. Members\n   - name\n   - email\n2) Loans";
        assert_eq!(
            read(prompt),
            [
                "a library app",
                "books : title ; author ( required ) ; published date",
                "members : name ; email",
                "loans"
            ]
        );
    }

    #[test]
    fn short_lines_under_a_header_become_a_comma_list() {
        assert_eq!(
            read("Books\nTitle\nAuthor\nYear\n\nAuthors:\nname"),
            ["books : title ; author ; year", "authors : name"]
        );
        assert_eq!(
            read("Tasks:\n- note (unclosed\n- title"),
            ["tasks : note ( unclosed ) ; title"]
        );
    }

    #[test]
    fn hard_wrapped_prose_stays_one_sentence() {
        assert_eq!(
            read("Each book has a title,\nan author and\na rating.\nAuthors have a name"),
            [
                "each book has a title , an author and a rating",
                "authors have a name"
            ]
        );
    }

    #[test]
    fn date_and_time_is_one_word() {
        assert_eq!(read("a start date and time"), ["a start date-time"]);
    }

    #[test]
    fn words_keep_their_written_form_and_fold_for_matching() {
        let sentence = &sentences("I’ve got Colours, €5 and to-do’s")[0];
        let raw: Vec<&str> = sentence
            .iter()
            .filter_map(|t| t.word())
            .map(|w| w.raw.as_str())
            .collect();
        assert_eq!(raw, ["I've", "got", "Colours", "€", "5", "and", "to-do's"]);
        assert_eq!(words(sentence), "i've got colors , $ 5 and to-do's");
    }

    #[test]
    fn numbers_are_read_only_from_digits() {
        let sentence = &sentences("5 1.5 inf nan 3rd")[0];
        let numbers: Vec<Option<f64>> = sentence.iter().map(Token::number).collect();
        assert_eq!(numbers, [Some(5.0), Some(1.5), None, None, None]);
    }
}
