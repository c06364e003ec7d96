//! The rules every key and prefix obeys before a store turns it into a path: relative,
//! slash-separated, and made only of ordinary segments, so that joining it to the root can never
//! leave the root.

use crate::error::{ArtifactError, Result};

/// Names of files being written, before they are renamed into place. Keys may not use it, so a
/// half-written file is never mistaken for an artifact.
pub(crate) const TEMP_FILE_PREFIX: &str = ".appgen-tmp-";

/// Checks a key that names one object: `a/b/c.json`.
pub(crate) fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(refuse(key, "it is empty"));
    }
    validate_segments(key, key)
}

/// Checks a prefix: empty (the whole store), a directory (`a/b/`) or the start of a name (`a/b`).
pub(crate) fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    let segments = prefix.strip_suffix('/').unwrap_or(prefix);
    if segments.is_empty() {
        return Err(refuse(prefix, "it is absolute"));
    }
    validate_segments(segments, prefix)
}

/// Checks a prefix to delete: as [`validate_prefix`], but never empty, since wiping the whole
/// store is never what a caller means.
pub(crate) fn validate_deletion(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Err(ArtifactError::InvalidKey {
            key: String::new(),
            reason: "deleting the whole store is refused",
        });
    }
    validate_prefix(prefix)
}

/// Checks `segments` (no trailing slash), reporting errors against `original`.
fn validate_segments(segments: &str, original: &str) -> Result<()> {
    if segments.starts_with('/') {
        return Err(refuse(original, "it is absolute"));
    }
    if segments.contains('\0') {
        return Err(refuse(original, "it contains NUL"));
    }
    if segments.contains('\\') {
        return Err(refuse(original, "it contains a backslash"));
    }
    for segment in segments.split('/') {
        let reason = match segment {
            "" => "it has an empty segment",
            "." => "it has a '.' segment",
            ".." => "it has a '..' segment",
            _ if segment.starts_with(TEMP_FILE_PREFIX) => {
                "a segment starts with the reserved temp-file prefix"
            }
            _ => continue,
        };
        return Err(refuse(original, reason));
    }
    Ok(())
}

fn refuse(key: &str, reason: &'static str) -> ArtifactError {
    ArtifactError::InvalidKey {
        key: key.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_keys_and_prefixes_pass() {
        for key in [
            "input.json",
            "generations/default/todo/uid-1/attempts/1/result.json",
            ".hidden",
            "a..b",
        ] {
            assert!(validate_key(key).is_ok(), "{key}");
        }
        for prefix in ["", "generations/", "generations/default/to", "a/b/"] {
            assert!(validate_prefix(prefix).is_ok(), "{prefix}");
        }
    }

    #[test]
    fn keys_that_could_escape_the_root_or_name_nothing_are_refused() {
        let refused = [
            "",
            "/etc/passwd",
            "../outside",
            "a/../../outside",
            "a/..",
            "./a",
            "a/./b",
            "a//b",
            "a/",
            "a\\..\\b",
            "a\0b",
            "a/.appgen-tmp-1-2",
        ];
        for key in refused {
            match validate_key(key) {
                Err(ArtifactError::InvalidKey { key: named, .. }) => assert_eq!(named, key),
                other => panic!("{key:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn prefixes_that_could_escape_the_root_are_refused() {
        for prefix in ["/", "/a/", "../", "a/../", "..", "a//", "a\\b/", "./"] {
            assert!(validate_prefix(prefix).is_err(), "{prefix:?}");
        }
    }
}
