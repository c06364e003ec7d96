//! Writing planned files into the task's workspace. Every path is checked before anything is
//! written, so no name in a blueprint or prompt can place a file outside the app's folder.

use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("refusing to write {path:?}: a planned file must be a relative path inside the app")]
    UnsafePath { path: String },
    #[error("the workspace {path} is not writable ({source}); give the task a writable working directory")]
    NotWritable { path: PathBuf, source: std::io::Error },
    #[error("could not write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Checks that `relative` stays inside its root: no absolute paths, no `..`, no empty segments.
pub fn safe_relative(relative: &str) -> Result<&Path, WorkspaceError> {
    let path = Path::new(relative);
    let plain = !relative.is_empty()
        && !relative.contains('\\')
        && !relative.contains('\0')
        && relative.split('/').all(|segment| !segment.is_empty())
        && path.components().all(|c| matches!(c, Component::Normal(_)));
    if plain {
        Ok(path)
    } else {
        Err(WorkspaceError::UnsafePath {
            path: relative.to_owned(),
        })
    }
}

/// Makes `dir` (and its parents) and proves it takes a file, so a read-only workspace fails here
/// with a clear message rather than half-way through writing the app.
pub fn prepare(dir: &Path) -> Result<(), WorkspaceError> {
    let not_writable = |source| WorkspaceError::NotWritable {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(not_writable)?;
    let probe = dir.join(".appgen-write-probe");
    std::fs::write(&probe, b"").map_err(not_writable)?;
    std::fs::remove_file(&probe).map_err(not_writable)
}

/// Writes every file under `root`, after checking all their paths.
pub fn write_all<'a>(
    root: &Path,
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<usize, WorkspaceError> {
    let files: Vec<(&Path, &str)> = files
        .into_iter()
        .map(|(path, contents)| safe_relative(path).map(|p| (p, contents)))
        .collect::<Result<_, _>>()?;
    for (relative, contents) in &files {
        let path = root.join(relative);
        let write = |source| WorkspaceError::Write {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(write)?;
        }
        std::fs::write(&path, contents).map_err(write)?;
    }
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_accepted() {
        for ok in ["package.json", "src/server/index.ts", ".gitignore"] {
            assert!(safe_relative(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "src/../../x",
            "a//b",
            "./a",
            "a/",
            "a\\..\\b",
            "a\0b",
        ] {
            assert!(safe_relative(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn nothing_is_written_when_any_path_is_unsafe() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_all(dir.path(), [("ok.txt", "fine"), ("../escape.txt", "no")]).unwrap_err();
        assert!(err.to_string().contains("../escape.txt"));
        assert!(!dir.path().join("ok.txt").exists());
        assert!(!dir.path().parent().unwrap().join("escape.txt").exists());
    }

    #[test]
    fn a_read_only_workspace_is_reported_before_any_file_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "").unwrap();
        let err = prepare(&file.join("app")).unwrap_err();
        assert!(err.to_string().contains("not writable"), "{err}");
    }
}
