//! Putting free text (titles, prompts, enum values) into generated files without changing their
//! meaning. Generated TypeScript never puts such text into JSX or templates: it is always a
//! string literal, and the JSX shows it as an expression, which React escapes.

/// A TypeScript string literal: JSON's double-quoted form, which TypeScript reads the same way
/// (backticks and `${` mean nothing inside double quotes).
pub fn ts_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Text for HTML element content or a quoted attribute.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Text for one line of Markdown (a heading, a table cell, a list item) shown as written:
/// punctuation that Markdown or HTML would read is backslash-escaped, line breaks become spaces.
pub fn markdown_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '<' | '>' | '#' | '+' | '-'
            | '!' | '|' | '~' | '&' | '$' | '@' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A fenced Markdown code block (of `language`) that shows `text` verbatim: the fence is longer
/// than any run of backticks inside it.
pub fn markdown_code_block(text: &str, language: &str) -> String {
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    let body = text.trim_end_matches(['\n', '\r']);
    format!("{fence}{language}\n{body}\n{fence}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_strings_escape_quotes_backslashes_and_newlines_and_read_back_unchanged() {
        let hostile = "O'Brien \"quoted\" `tick` ${x} </script> \\ back\nnext\u{2028}";
        let literal = ts_string(hostile);
        assert!(literal.starts_with('"') && literal.ends_with('"'));
        assert!(!literal.contains('\n'));
        let back: String = serde_json::from_str(&literal).unwrap();
        assert_eq!(back, hostile);
    }

    #[test]
    fn html_escapes_markup_characters() {
        assert_eq!(
            html("<b>\"Tom\" & 'Jerry'</b>"),
            "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn markdown_inline_text_cannot_open_markup_or_break_a_table_row() {
        let escaped = markdown_inline("a|b <script> *x* [l](u)\n# h");
        assert_eq!(escaped, "a\\|b \\<script\\> \\*x\\* \\[l\\]\\(u\\) \\# h");
    }

    #[test]
    fn code_blocks_use_a_fence_longer_than_any_backtick_run_inside() {
        assert_eq!(markdown_code_block("plain\n", "text"), "```text\nplain\n```\n");
        let block = markdown_code_block("has ```` four", "text");
        assert!(block.starts_with("`````text\n"));
        assert!(block.ends_with("\n`````\n"));
    }
}
