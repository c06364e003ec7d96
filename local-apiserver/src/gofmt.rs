//! Rendering values the way Go, and so Kubernetes, prints them: `strconv.Quote` (`%q`), `%v` of a
//! float64, and `encoding/json`'s output. Error messages and table cells must read exactly as the
//! real apiserver's do, so clients and tests that match on them see no difference. Pure functions.

use serde_json::Value;

/// Go's `strconv.Quote`. Printability is approximated: controls, non-ASCII spaces, common format
/// characters and private-use code points are escaped.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if !go_printable(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    let code = c as u32;
    let format_or_private = matches!(code,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF | 0xE0001..=0xE007F
        | 0xF0000..=0x10FFFF);
    !(c.is_control() || c.is_whitespace() || format_or_private)
}

/// Shortest round-trip digits and the decimal exponent of the first digit.
fn float_digits(f: f64) -> (String, i32) {
    let text = format!("{:e}", f.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let digits = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exponent.parse().unwrap_or(0))
}

fn float_exponent_form(f: f64, json: bool) -> String {
    let (digits, exp) = float_digits(f);
    let mut out = String::from(if f.is_sign_negative() { "-" } else { "" });
    let (first, rest) = digits.split_at(digits.len().min(1));
    out.push_str(first);
    if !rest.is_empty() {
        out.push('.');
        out.push_str(rest);
    }
    let sign = if exp < 0 { '-' } else { '+' };
    // Go prints at least two exponent digits; encoding/json trims "e-07" back to "e-7".
    if json && exp < 0 {
        out.push_str(&format!("e{sign}{}", exp.unsigned_abs()));
    } else {
        out.push_str(&format!("e{sign}{:02}", exp.unsigned_abs()));
    }
    out
}

fn float_fixed_form(f: f64) -> String {
    let (digits, exp) = float_digits(f);
    let mut out = String::from(if f.is_sign_negative() { "-" } else { "" });
    let point = exp + 1;
    if point <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat(point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else if point as usize >= digits.len() {
        out.push_str(&digits);
        out.push_str(&"0".repeat(point as usize - digits.len()));
    } else {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    }
    out
}

/// Go's `%v` for a float64 (`%g`, shortest, exponent form from 1e+06 and below 1e-04).
pub(crate) fn go_float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let (_, exp) = float_digits(f);
    if !(-4..6).contains(&exp) {
        float_exponent_form(f, false)
    } else {
        float_fixed_form(f)
    }
}

/// encoding/json's float64 form.
fn go_json_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let abs = f.abs();
    if !(1e-6..1e21).contains(&abs) {
        float_exponent_form(f, true)
    } else {
        float_fixed_form(f)
    }
}

/// encoding/json's output for decoded JSON (map keys sorted, HTML-safe escaping): integers that fit
/// an int64 as integers, other numbers as float64, as Go decodes them.
pub(crate) fn go_json(v: &Value) -> String {
    let mut out = String::new();
    write_go_json(v, &mut out);
    out
}

fn write_go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_i64() {
            Some(i) => out.push_str(&i.to_string()),
            None => out.push_str(&go_json_float(n.as_f64().unwrap_or(f64::NAN))),
        },
        Value::String(s) => write_go_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json_string(key, out);
                out.push(':');
                write_go_json(&map[key], out);
            }
            out.push('}');
        }
    }
}

/// encoding/json's string form, appended to `out`.
pub(crate) fn write_go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_like_go() {
        assert_eq!(
            go_quote("a\"b\\c\n\t\u{7}\u{1b}\u{7f}"),
            r#""a\"b\\c\n\t\a\x1b\x7f""#
        );
        assert_eq!(
            go_quote("héllo ✓ \u{a0}\u{200b}\u{10ffff}"),
            r#""héllo ✓ \u00a0\u200b\U0010ffff""#
        );
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\n\t\u{0}\u{7f}"), r#""\n\t\x00\x7f""#);
        assert_eq!(go_quote("é\u{a0}\u{85}"), r#""é\u00a0\u0085""#);
    }

    #[test]
    fn floats_are_formatted_like_go() {
        let v = |f: f64| go_float_v(f);
        assert_eq!(
            [v(5.0), v(0.1), v(123456.0), v(1234567.0), v(0.0001), v(0.00001)],
            ["5", "0.1", "123456", "1.234567e+06", "0.0001", "1e-05"]
        );
        assert_eq!([v(-0.0), v(1e300), v(-2.5e-300)], ["-0", "1e+300", "-2.5e-300"]);
        assert_eq!(
            [v(1e6), v(1234567.5), v(1e20), v(-1.5e-10), v(1.234e100)],
            ["1e+06", "1.2345675e+06", "1e+20", "-1.5e-10", "1.234e+100"]
        );
        let j = |f: f64| go_json_float(f);
        assert_eq!(
            [j(1e20), j(1e21), j(1e-7), j(0.000001), j(2.5)],
            ["100000000000000000000", "1e+21", "1e-7", "0.000001", "2.5"]
        );
        assert_eq!([j(-2.5e-7), j(0.0)], ["-2.5e-7", "0"]);
    }
}
