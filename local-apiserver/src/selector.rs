//! Kubernetes label and field selectors, as `labelSelector` and `fieldSelector` query parameters carry
//! them. Parsing follows apimachinery's `labels.Parse` and `fields.ParseSelector` token for token, so that
//! kubectl gets the same answers and the same error texts as from a real API server.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::gofmt::go_quote;

/// Why a selector was rejected. The texts are Kubernetes' own, so error messages read as kubectl users
/// know them.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SelectorError {
    /// A label selector that does not follow the grammar, e.g. `a,` or `a in b`.
    #[error("{0}")]
    LabelSyntax(String),
    /// A label selector requirement that parses but is invalid: a bad key or value, or a non-integer
    /// for `>`/`<`.
    #[error("unable to parse requirement: {0}")]
    LabelRequirement(String),
    /// A field selector term with no `=`, `==` or `!=`.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    FieldTerm { selector: String, term: String },
    /// A backslash in a field selector value followed by something other than `\`, `,` or `=`.
    #[error("invalid field selector: invalid escape sequence: {0}")]
    FieldEscape(String),
    /// A bare `,` or `=` in a field selector value. Go prints the rune with `%v`, i.e. as a number.
    #[error("invalid field selector: unescaped character in value: {}", u32::from(*.0))]
    FieldUnescaped(char),
    /// A field the resource does not index. Raised by the server, which knows what each resource
    /// supports; see [`FieldSelector::fields`].
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
}

/// A parsed label selector: the AND of its requirements. The default (empty) one matches everything.
#[derive(Debug, Clone, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone)]
struct Requirement {
    key: String,
    op: Op,
    /// Sorted and deduplicated, as Go's string set hands them over.
    values: Vec<String>,
}

/// `=` and `==` match exactly as `in` with one value, and `!=` as `notin`, so they share variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

impl LabelSelector {
    /// Parses the string form, e.g. `a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j,k>5`.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut parser = Parser {
            items: lex(s),
            pos: 0,
        };
        let mut requirements = Vec::new();
        loop {
            let item = parser.peek();
            match item.tok {
                Tok::Identifier | Tok::Not => {
                    requirements.push(parser.requirement().map_err(SelectorError::LabelRequirement)?);
                    let after = parser.next();
                    match after.tok {
                        Tok::End => break,
                        Tok::Comma => {
                            let following = parser.peek();
                            if !matches!(following.tok, Tok::Identifier | Tok::Not) {
                                return Err(syntax(following.lit, "identifier after ','"));
                            }
                        }
                        _ => return Err(syntax(after.lit, "',' or 'end of string'")),
                    }
                }
                Tok::End => break,
                _ => return Err(syntax(item.lit, "!, identifier, or 'end of string'")),
            }
        }
        Ok(LabelSelector { requirements })
    }

    /// Whether `labels` (an object's `metadata.labels`) satisfy every requirement.
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

impl Requirement {
    fn matches(&self, labels: &Map<String, Value>) -> bool {
        let value = labels.get(&self.key).map(scalar_string);
        let has = |v: &str| self.values.iter().any(|x| x == v);
        match (self.op, value) {
            (Op::Exists, v) => v.is_some(),
            (Op::DoesNotExist, v) => v.is_none(),
            (Op::In, Some(v)) => has(&v),
            (Op::NotIn, Some(v)) => !has(&v),
            (Op::NotIn, None) => true,
            (Op::GreaterThan | Op::LessThan, Some(v)) => {
                // The bound was checked to be an integer when parsing; a label that is not one never
                // matches.
                let bound = self.values.first().and_then(|b| b.parse::<i64>().ok());
                match (v.parse::<i64>().ok(), bound) {
                    (Some(v), Some(b)) if self.op == Op::GreaterThan => v > b,
                    (Some(v), Some(b)) => v < b,
                    _ => false,
                }
            }
            (Op::In | Op::GreaterThan | Op::LessThan, None) => false,
        }
    }
}

fn syntax(found: &str, expected: &str) -> SelectorError {
    SelectorError::LabelSyntax(format!("found '{found}', expected: {expected}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    End,
    OpenPar,
    ClosedPar,
    Comma,
    Not,
    Equals,
    DoubleEquals,
    NotEquals,
    GreaterThan,
    LessThan,
    In,
    NotIn,
    Identifier,
}

#[derive(Debug, Clone, Copy)]
struct Item<'a> {
    tok: Tok,
    lit: &'a str,
}

const END: Item<'static> = Item {
    tok: Tok::End,
    lit: "",
};

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits a label selector into tokens, ending with `End`. Go's lexer reads a NUL byte as it reads the
/// end of input: a NUL where a token would start ends the input, and one right after a token is
/// swallowed as that token's terminator. Mirrored so odd input gets the same answer.
fn lex(s: &str) -> Vec<Item<'_>> {
    let bytes = s.as_bytes();
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let mut items = Vec::new();
    let mut pos = 0;
    loop {
        while is_whitespace(at(pos)) {
            pos += 1;
        }
        let (tok, len) = match (at(pos), at(pos + 1)) {
            (0, _) => {
                items.push(END);
                return items;
            }
            (b'=', b'=') => (Tok::DoubleEquals, 2),
            (b'!', b'=') => (Tok::NotEquals, 2),
            (b'=', _) => (Tok::Equals, 1),
            (b'!', _) => (Tok::Not, 1),
            (b'(', _) => (Tok::OpenPar, 1),
            (b')', _) => (Tok::ClosedPar, 1),
            (b',', _) => (Tok::Comma, 1),
            (b'>', _) => (Tok::GreaterThan, 1),
            (b'<', _) => (Tok::LessThan, 1),
            _ => {
                let rest = &bytes[pos..];
                let len = rest
                    .iter()
                    .position(|&b| b == 0 || is_special(b) || is_whitespace(b))
                    .unwrap_or(rest.len());
                let tok = match &s[pos..pos + len] {
                    "in" => Tok::In,
                    "notin" => Tok::NotIn,
                    _ => Tok::Identifier,
                };
                (tok, len)
            }
        };
        // Every token boundary is an ASCII byte, so these slices fall on char boundaries.
        items.push(Item {
            tok,
            lit: &s[pos..pos + len],
        });
        pos += len;
        if pos < bytes.len() && at(pos) == 0 {
            pos += 1;
        }
    }
}

struct Parser<'a> {
    items: Vec<Item<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    /// The current token, with `in`/`notin` read as plain identifiers: outside the operator position
    /// they are ordinary keys and values (`in in (in)` is valid).
    fn peek(&self) -> Item<'a> {
        let item = self.items.get(self.pos).copied().unwrap_or(END);
        match item.tok {
            Tok::In | Tok::NotIn => Item {
                tok: Tok::Identifier,
                ..item
            },
            _ => item,
        }
    }

    fn next(&mut self) -> Item<'a> {
        let item = self.peek();
        self.pos += 1;
        item
    }

    /// The token in operator position, where `in`/`notin` are operators.
    fn next_operator(&mut self) -> Item<'a> {
        let item = self.items.get(self.pos).copied().unwrap_or(END);
        self.pos += 1;
        item
    }

    /// One requirement; errors are the detail that `unable to parse requirement: ` prefixes.
    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut item = self.next();
        let negated = item.tok == Tok::Not;
        if negated {
            item = self.next();
        }
        if item.tok != Tok::Identifier {
            return Err(format!("found '{}', expected: identifier", item.lit));
        }
        let key = item.lit;
        let errs = qualified_name_errors(key);
        if !errs.is_empty() {
            // The parser has no field path, and Go prints a nil path as `<nil>`.
            return Err(invalid("<nil>", key, &errs.join("; ")));
        }
        if negated || matches!(self.peek().tok, Tok::End | Tok::Comma) {
            let op = if negated { Op::DoesNotExist } else { Op::Exists };
            return Ok(Requirement {
                key: key.to_owned(),
                op,
                values: Vec::new(),
            });
        }
        let op_item = self.next_operator();
        let (op, values) = match op_item.tok {
            Tok::In => (Op::In, self.value_set()?),
            Tok::NotIn => (Op::NotIn, self.value_set()?),
            Tok::Equals | Tok::DoubleEquals => (Op::In, self.exact_value()?),
            Tok::NotEquals => (Op::NotIn, self.exact_value()?),
            Tok::GreaterThan => (Op::GreaterThan, self.exact_value()?),
            Tok::LessThan => (Op::LessThan, self.exact_value()?),
            _ => {
                return Err(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    op_item.lit
                ));
            }
        };
        validate_values(key, op, &values)?;
        Ok(Requirement {
            key: key.to_owned(),
            op,
            values,
        })
    }

    /// `(a,b,c)`; empty entries (`(a,,b)`, `()`) stand for the empty value.
    fn value_set(&mut self) -> Result<Vec<String>, String> {
        let open = self.next();
        if open.tok != Tok::OpenPar {
            return Err(format!("found '{}' expected: '('", open.lit));
        }
        let first = self.peek();
        let mut values = Vec::new();
        match first.tok {
            Tok::Identifier | Tok::Comma => self.identifiers(&mut values)?,
            Tok::ClosedPar => values.push(String::new()),
            _ => return Err(format!("found '{}', expected: ',', ')' or identifier", first.lit)),
        }
        // `identifiers` only returns with `)` next, and `()` has it next too.
        self.next();
        values.sort();
        values.dedup();
        Ok(values)
    }

    /// The comma-separated list inside parentheses, up to (not including) the `)`.
    fn identifiers(&mut self, values: &mut Vec<String>) -> Result<(), String> {
        loop {
            let item = self.next();
            match item.tok {
                Tok::Identifier => {
                    values.push(item.lit.to_owned());
                    let after = self.peek();
                    match after.tok {
                        Tok::Comma => {}
                        Tok::ClosedPar => return Ok(()),
                        _ => return Err(format!("found '{}', expected: ',' or ')'", after.lit)),
                    }
                }
                Tok::Comma => {
                    if values.is_empty() {
                        values.push(String::new());
                    }
                    match self.peek().tok {
                        Tok::ClosedPar => {
                            values.push(String::new());
                            return Ok(());
                        }
                        Tok::Comma => {
                            self.next();
                            values.push(String::new());
                        }
                        _ => {}
                    }
                }
                _ => return Err(format!("found '{}', expected: ',', or identifier", item.lit)),
            }
        }
    }

    /// The single value after `=`, `==`, `!=`, `>` or `<`; nothing there means the empty value.
    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        if matches!(self.peek().tok, Tok::End | Tok::Comma) {
            return Ok(vec![String::new()]);
        }
        let item = self.next();
        if item.tok == Tok::Identifier {
            Ok(vec![item.lit.to_owned()])
        } else {
            Err(format!("found '{}', expected: identifier", item.lit))
        }
    }
}

/// `NewRequirement`'s checks on the values, with its field paths and error aggregation.
fn validate_values(key: &str, op: Op, values: &[String]) -> Result<(), String> {
    let mut errs = Vec::new();
    if matches!(op, Op::GreaterThan | Op::LessThan) {
        for (i, v) in values.iter().enumerate() {
            if v.parse::<i64>().is_err() {
                let detail = "for 'Gt', 'Lt' operators, the value must be an integer";
                errs.push(invalid(&format!("values[{i}]"), v, detail));
            }
        }
    }
    for (i, v) in values.iter().enumerate() {
        let value_errs = label_value_errors(v);
        if !value_errs.is_empty() {
            errs.push(invalid(&format!("values[{i}][{key}]"), v, &value_errs.join("; ")));
        }
    }
    // Go's aggregate drops repeated messages and brackets a list of more than one.
    let mut unique: Vec<String> = Vec::new();
    for e in errs {
        if !unique.contains(&e) {
            unique.push(e);
        }
    }
    match unique.len() {
        0 => Ok(()),
        1 => Err(unique.concat()),
        _ => Err(format!("[{}]", unique.join(", "))),
    }
}

/// A `field.Invalid` error's text.
fn invalid(path: &str, value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {}: {detail}", go_quote(value))
}

const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_REGEX: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_EXAMPLES: &[&str] = &["MyName", "my.name", "123-abc"];
const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const SUBDOMAIN_REGEX: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_REGEX: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const MAX_NAME_LEN: usize = 63;
const MAX_SUBDOMAIN_LEN: usize = 253;

/// apimachinery's `RegexError` text, double spaces included.
fn regex_error(msg: &str, regex: &str, examples: &[&str]) -> String {
    let examples: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{msg} (e.g. {}regex used for validation is '{regex}')",
        examples.join(" or ")
    )
}

fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Dot-separated RFC 1123 labels: `[a-z0-9]([-a-z0-9]*[a-z0-9])?` each.
fn is_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(|label| {
        let b = label.as_bytes();
        let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        match (b.first(), b.last()) {
            (Some(first), Some(last)) => {
                alnum(first) && alnum(last) && b.iter().all(|c| alnum(c) || *c == b'-')
            }
            _ => false,
        }
    })
}

/// `validation.IsQualifiedName`: a label key, `[prefix/]name`.
fn qualified_name_errors(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_owned());
            } else {
                if prefix.len() > MAX_SUBDOMAIN_LEN {
                    errs.push(format!("prefix part {}", max_len_error(MAX_SUBDOMAIN_LEN)));
                }
                if !is_dns1123_subdomain(prefix) {
                    let e = regex_error(SUBDOMAIN_MSG, SUBDOMAIN_REGEX, &["example.com"]);
                    errs.push(format!("prefix part {e}"));
                }
            }
            *name
        }
        _ => {
            let e = regex_error(QUALIFIED_NAME_MSG, QUALIFIED_NAME_REGEX, QUALIFIED_NAME_EXAMPLES);
            errs.push(format!(
                "a qualified name {e} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else if name.len() > MAX_NAME_LEN {
        errs.push(format!("name part {}", max_len_error(MAX_NAME_LEN)));
    }
    if !is_qualified_name_part(name) {
        let e = regex_error(QUALIFIED_NAME_MSG, QUALIFIED_NAME_REGEX, QUALIFIED_NAME_EXAMPLES);
        errs.push(format!("name part {e}"));
    }
    errs
}

/// `validation.IsValidLabelValue`.
fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > MAX_NAME_LEN {
        errs.push(max_len_error(MAX_NAME_LEN));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errs.push(regex_error(
            LABEL_VALUE_MSG,
            LABEL_VALUE_REGEX,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// A JSON scalar as selectors compare it: strings as they are, numbers and booleans in their JSON
/// form, anything else (null, objects, arrays) as the empty string.
fn scalar_string(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::Null | Value::Array(_) | Value::Object(_) => Cow::Borrowed(""),
    }
}

/// A parsed field selector: the AND of `field=value` and `field!=value` terms. The default (empty) one
/// matches everything.
#[derive(Debug, Clone, Default)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

#[derive(Debug, Clone)]
struct FieldTerm {
    field: String,
    value: String,
    equal: bool,
}

impl FieldSelector {
    /// Parses `a=b,c==d,e!=f`. Values may escape `\`, `,` and `=` with a backslash; fields cannot
    /// escape anything, and nothing is trimmed.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut parts = split_terms(s);
        // Go sorts the terms first, which decides which bad term an error names.
        parts.sort_unstable();
        let mut terms = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let Some((field, equal, raw)) = split_term(part) else {
                return Err(SelectorError::FieldTerm {
                    selector: s.to_owned(),
                    term: part.to_owned(),
                });
            };
            let value = unescape(raw)?;
            // Go's identity transform turns a term with empty field and value into "everything".
            if field.is_empty() && value.is_empty() {
                continue;
            }
            terms.push(FieldTerm {
                field: field.to_owned(),
                value,
                equal,
            });
        }
        Ok(FieldSelector { terms })
    }

    /// The field paths the selector uses, in its (sorted) order; may repeat.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().map(|t| t.field.as_str())
    }

    /// Whether `object` satisfies every term. A dotted path is looked up through nested objects; a
    /// field that is absent (or not a scalar) reads as the empty string.
    pub fn matches(&self, object: &Value) -> bool {
        self.terms.iter().all(|t| {
            let found = t.field.split('.').try_fold(object, |v, segment| v.get(segment));
            let actual = found.map(scalar_string).unwrap_or(Cow::Borrowed(""));
            (actual == t.value.as_str()) == t.equal
        })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// Splits on commas that are not escaped; escapes stay in the terms.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                terms.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Splits at the first operator; at each position `!=` and `==` are tried before `=`. Returns the
/// field, whether the operator is an equality, and the still-escaped value.
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    term.char_indices().find_map(|(i, _)| {
        let rest = &term[i..];
        if let Some(value) = rest.strip_prefix("!=") {
            Some((&term[..i], false, value))
        } else if let Some(value) = rest.strip_prefix("==").or_else(|| rest.strip_prefix('=')) {
            Some((&term[..i], true, value))
        } else {
            None
        }
    })
}

fn unescape(raw: &str) -> Result<String, SelectorError> {
    let mut out = String::with_capacity(raw.len());
    let mut escaped = false;
    for c in raw.chars() {
        if escaped {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(SelectorError::FieldEscape(format!("\\{c}")));
            }
            out.push(c);
            escaped = false;
        } else {
            match c {
                '\\' => escaped = true,
                ',' | '=' => return Err(SelectorError::FieldUnescaped(c)),
                c => out.push(c),
            }
        }
    }
    if escaped {
        return Err(SelectorError::FieldEscape("\\".to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Rng;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("labels must be an object"),
        }
    }

    fn sel(s: &str) -> LabelSelector {
        LabelSelector::parse(s).unwrap()
    }

    fn err(s: &str) -> String {
        LabelSelector::parse(s).unwrap_err().to_string()
    }

    #[test]
    fn an_empty_label_selector_matches_everything() {
        for s in ["", "   ", "\t\n"] {
            let selector = sel(s);
            assert!(selector.is_empty());
            assert!(selector.matches(&labels(json!({}))));
            assert!(selector.matches(&labels(json!({"a": "b"}))));
        }
        assert!(LabelSelector::default().matches(&labels(json!({"x": "y"}))));
    }

    #[test]
    fn equality_operators_need_the_label_with_that_value() {
        for s in ["app=web", "app==web"] {
            let selector = sel(s);
            assert!(!selector.is_empty());
            assert!(selector.matches(&labels(json!({"app": "web", "x": "y"}))));
            assert!(!selector.matches(&labels(json!({"app": "db"}))));
            assert!(!selector.matches(&labels(json!({}))));
        }
    }

    #[test]
    fn a_not_equals_selector_matches_objects_without_the_label() {
        let selector = sel("app!=web");
        assert!(selector.matches(&labels(json!({}))));
        assert!(selector.matches(&labels(json!({"app": "db"}))));
        assert!(!selector.matches(&labels(json!({"app": "web"}))));
    }

    #[test]
    fn an_in_selector_matches_any_listed_value() {
        let selector = sel("tier in (web, db)");
        assert!(selector.matches(&labels(json!({"tier": "web"}))));
        assert!(selector.matches(&labels(json!({"tier": "db"}))));
        assert!(!selector.matches(&labels(json!({"tier": "cache"}))));
        assert!(!selector.matches(&labels(json!({}))));
    }

    #[test]
    fn a_notin_selector_matches_objects_without_the_label() {
        let selector = sel("tier notin (web,db)");
        assert!(selector.matches(&labels(json!({}))));
        assert!(selector.matches(&labels(json!({"tier": "cache"}))));
        assert!(!selector.matches(&labels(json!({"tier": "db"}))));
    }

    #[test]
    fn empty_entries_in_a_value_set_stand_for_the_empty_value() {
        for s in ["a in ()", "a in (,x)", "a in (x,)", "a in (x,,y)", "a="] {
            assert!(sel(s).matches(&labels(json!({"a": ""}))), "{s}");
        }
        assert!(!sel("a in (x,y)").matches(&labels(json!({"a": ""}))));
    }

    #[test]
    fn exists_and_does_not_exist_look_only_at_the_key() {
        let exists = sel("app");
        assert!(exists.matches(&labels(json!({"app": ""}))));
        assert!(!exists.matches(&labels(json!({"other": "app"}))));
        let absent = sel("!app");
        assert!(absent.matches(&labels(json!({"other": "x"}))));
        assert!(!absent.matches(&labels(json!({"app": "x"}))));
    }

    #[test]
    fn greater_and_less_than_compare_integers() {
        assert!(sel("n>5").matches(&labels(json!({"n": "6"}))));
        assert!(!sel("n>5").matches(&labels(json!({"n": "5"}))));
        assert!(sel("n<5").matches(&labels(json!({"n": "4"}))));
        assert!(!sel("n<5").matches(&labels(json!({"n": "x"}))));
        assert!(!sel("n<5").matches(&labels(json!({}))));
        assert_eq!(
            err("n>x"),
            "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, \
             the value must be an integer"
        );
    }

    #[test]
    fn combined_requirements_must_all_hold() {
        let selector = sel("a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j");
        let good = json!({"a": "b", "c": "q", "e": "y", "f": "w", "g": "", "i": "j"});
        assert!(selector.matches(&labels(good.clone())));
        for (k, v) in [
            ("a", json!("x")),
            ("c", json!("d")),
            ("e", json!("z")),
            ("f", json!("z")),
            ("h", json!("1")),
        ] {
            let mut bad = labels(good.clone());
            bad.insert(k.to_owned(), v);
            assert!(!selector.matches(&bad), "{k}");
        }
        let mut no_g = labels(good);
        no_g.remove("g");
        assert!(!selector.matches(&no_g));
    }

    #[test]
    fn whitespace_around_tokens_is_ignored() {
        let selector = sel("  a = b ,\tc  !=  d , e   in  ( x , y ) ,  ! h ");
        assert!(selector.matches(&labels(json!({"a": "b", "e": "x"}))));
        assert!(!selector.matches(&labels(json!({"a": "b", "e": "x", "h": ""}))));
    }

    #[test]
    fn keywords_are_plain_words_outside_the_operator_position() {
        let selector = sel("in in (in, notin),notin=in");
        assert!(selector.matches(&labels(json!({"in": "notin", "notin": "in"}))));
    }

    #[test]
    fn prefixed_keys_are_accepted() {
        let selector = sel("app.kubernetes.io/name=web");
        assert!(selector.matches(&labels(json!({"app.kubernetes.io/name": "web"}))));
    }

    #[test]
    fn bad_syntax_is_reported_in_kubernetes_words() {
        assert_eq!(err("a,"), "found '', expected: identifier after ','");
        assert_eq!(err("a=b c"), "found 'c', expected: ',' or 'end of string'");
        assert_eq!(
            err(",a"),
            "found ',', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(err("!a=b"), "found '=', expected: ',' or 'end of string'");
        assert_eq!(
            err("a b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
        );
        assert_eq!(
            err("a in b"),
            "unable to parse requirement: found 'b' expected: '('"
        );
        assert_eq!(
            err("a in (b"),
            "unable to parse requirement: found '', expected: ',' or ')'"
        );
        assert_eq!(
            err("a in (=)"),
            "unable to parse requirement: found '=', expected: ',', ')' or identifier"
        );
        assert_eq!(
            err("a in (x,,)"),
            "unable to parse requirement: found ')', expected: ',', or identifier"
        );
        assert_eq!(
            err("a=(b)"),
            "unable to parse requirement: found '(', expected: identifier"
        );
        assert_eq!(
            err("!"),
            "unable to parse requirement: found '', expected: identifier"
        );
        assert_eq!(
            err("a==="),
            "unable to parse requirement: found '=', expected: identifier"
        );
    }

    #[test]
    fn invalid_keys_are_rejected_with_the_validation_message() {
        assert_eq!(
            err("-a"),
            "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must consist of \
             alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric \
             character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is \
             '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        let long = "k".repeat(64);
        assert!(err(&long).ends_with(&format!(
            "\"{long}\": name part must be no more than 63 characters"
        )));
        assert!(err("a/b/c=d").contains("\"a/b/c\": a qualified name must consist of"));
        assert!(err("/a").contains("\"/a\": prefix part must be non-empty"));
        assert!(
            err("Example.com/a").contains("\"Example.com/a\": prefix part a lowercase RFC 1123 subdomain")
        );
        assert!(err("example.com/").contains("name part must be non-empty; name part must consist of"));
    }

    #[test]
    fn invalid_values_are_rejected_with_the_validation_message() {
        let long = "v".repeat(64);
        assert_eq!(
            err(&format!("app={long}")),
            format!(
                "unable to parse requirement: values[0][app]: Invalid value: \"{long}\": must be no more \
                 than 63 characters"
            )
        );
        assert_eq!(
            err("app in (ok, -bad)"),
            "unable to parse requirement: values[0][app]: Invalid value: \"-bad\": a valid label must be \
             an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and \
             end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used \
             for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        let two = err("app in (-x, -y)");
        assert!(two.starts_with("unable to parse requirement: [values[0][app]: Invalid value: \"-x\""));
        assert!(two.contains(", values[1][app]: Invalid value: \"-y\""));
        assert!(err("a=b\u{1}").contains("\"b\\x01\""));
    }

    #[test]
    fn a_nul_byte_ends_the_label_selector_as_in_go() {
        assert!(sel("a \0b=c").matches(&labels(json!({"a": "x"}))));
        assert_eq!(
            err("a\0b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
        );
    }

    fn fsel(s: &str) -> FieldSelector {
        FieldSelector::parse(s).unwrap()
    }

    #[test]
    fn field_equality_operators_compare_the_value_at_the_path() {
        let obj =
            json!({"metadata": {"name": "web", "namespace": "prod"}, "involvedObject": {"kind": "App"}});
        for s in [
            "metadata.name=web",
            "metadata.name==web",
            "involvedObject.kind=App",
        ] {
            assert!(fsel(s).matches(&obj), "{s}");
        }
        assert!(!fsel("metadata.name=db").matches(&obj));
        assert!(fsel("metadata.name!=db").matches(&obj));
        assert!(!fsel("metadata.name!=web").matches(&obj));
    }

    #[test]
    fn multiple_field_terms_must_all_hold_and_are_listed() {
        let selector = fsel("metadata.namespace=prod,metadata.name!=db");
        assert_eq!(
            selector.fields().collect::<Vec<_>>(),
            ["metadata.name", "metadata.namespace"]
        );
        assert!(selector.matches(&json!({"metadata": {"name": "web", "namespace": "prod"}})));
        assert!(!selector.matches(&json!({"metadata": {"name": "db", "namespace": "prod"}})));
        assert!(!selector.matches(&json!({"metadata": {"name": "web", "namespace": "dev"}})));
    }

    #[test]
    fn a_missing_field_reads_as_the_empty_string() {
        let obj = json!({"metadata": {"name": "web"}, "spec": {"app": {"nested": 1}}});
        assert!(fsel("spec.missing=").matches(&obj));
        assert!(fsel("spec.app=").matches(&obj));
        assert!(fsel("nothing.at.all!=x").matches(&obj));
        assert!(!fsel("nothing.at.all=x").matches(&obj));
    }

    #[test]
    fn numbers_and_booleans_compare_by_their_string_form() {
        let obj = json!({"spec": {"replicas": 3, "paused": false, "ratio": 0.5}});
        assert!(fsel("spec.replicas=3,spec.paused=false,spec.ratio=0.5").matches(&obj));
        assert!(!fsel("spec.replicas=03").matches(&obj));
    }

    #[test]
    fn escaped_characters_in_field_values_are_literal() {
        let obj = json!({"spec": {"v": r"a,b=c\d"}});
        let selector = fsel(r"spec.v=a\,b\=c\\d");
        assert_eq!(selector.fields().count(), 1);
        assert!(selector.matches(&obj));
    }

    #[test]
    fn bad_field_selectors_are_reported_in_kubernetes_words() {
        let e = |s: &str| FieldSelector::parse(s).unwrap_err();
        assert_eq!(
            e("b=1,a"),
            SelectorError::FieldTerm {
                selector: "b=1,a".to_owned(),
                term: "a".to_owned()
            }
        );
        assert_eq!(
            e("b=1,a").to_string(),
            "invalid selector: 'b=1,a'; can't understand 'a'"
        );
        assert_eq!(
            e(r"a=\x").to_string(),
            r"invalid field selector: invalid escape sequence: \x"
        );
        assert_eq!(
            e(r"a=\!").to_string(),
            r"invalid field selector: invalid escape sequence: \!"
        );
        assert_eq!(
            e(r"a=b\").to_string(),
            r"invalid field selector: invalid escape sequence: \"
        );
        assert_eq!(
            e("a=b=c").to_string(),
            "invalid field selector: unescaped character in value: 61"
        );
        assert_eq!(e("a===b"), SelectorError::FieldUnescaped('='));
    }

    #[test]
    fn field_selector_whitespace_and_empty_terms_follow_go() {
        assert!(fsel("").is_empty());
        assert!(fsel(",,").is_empty());
        assert!(fsel("=").is_empty());
        let spaced = fsel("a = b");
        assert_eq!(spaced.fields().collect::<Vec<_>>(), ["a "]);
        assert!(spaced.matches(&json!({"a ": " b"})));
    }

    #[test]
    fn unsupported_field_names_the_field() {
        assert_eq!(
            SelectorError::UnsupportedField("spec.foo".to_owned()).to_string(),
            "field label not supported: spec.foo"
        );
    }

    #[test]
    fn random_input_never_panics_either_parser() {
        let alphabet = [
            "a",
            "b",
            "z",
            "0",
            "9",
            "-",
            "_",
            ".",
            "/",
            "=",
            "==",
            "!",
            "!=",
            "<",
            ">",
            "(",
            ")",
            ",",
            " ",
            "\t",
            "\\",
            "in",
            "notin",
            "\0",
            "é",
            "\u{1f600}",
            "\n",
            "A",
        ];
        let obj = json!({"a": "b", "metadata": {"name": "a", "labels": {"a": "b", "z": "9"}}});
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut parsed = 0;
        for _ in 0..20_000 {
            let s = rng.string(&alphabet, 12);
            if let Ok(selector) = LabelSelector::parse(&s) {
                parsed += 1;
                selector.matches(&labels(json!({"a": "b", "z": "9"})));
            }
            if let Ok(selector) = FieldSelector::parse(&s) {
                parsed += 1;
                selector.matches(&obj);
                selector.fields().count();
            }
        }
        assert!(parsed > 100);
    }
}
