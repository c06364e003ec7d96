//! The agent's session in the artifact store's `session/`, so a follow-up Generation can resume
//! it: the CLI's transcript of the conversation and the app's source (without installed or built
//! files). The transcript is filed by the CLI under its working directory, which differs from task
//! to task, so it is saved by session id and restored under the new task's app directory.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use appgen_artifacts::{ArtifactError, ArtifactStore};
use bytes::Bytes;

use crate::package::{self, PackageError};
use crate::workspace::{self, WorkspaceError};

/// Keys under the session prefix.
pub(crate) const TRANSCRIPT: &str = "claude/transcript.jsonl";
pub(crate) const SESSION_ID: &str = "claude/session-id";
pub(crate) const SOURCE: &str = "source.tar.gz";
/// The CLI shortens longer project folder names with a hash appgen does not reproduce.
const MAX_PROJECT_NAME: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("could not read or write the agent's session at {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the saved session's id {0:?} is not a session id")]
    BadId(String),
    #[error("the app directory {0} has too long a path for the CLI's session folder")]
    PathTooLong(PathBuf),
    #[error("the saved source cannot be unpacked: {0}")]
    Unpack(std::io::Error),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error(transparent)]
    Store(#[from] ArtifactError),
}

/// Where the CLI files the sessions of a working directory: `projects/<cwd with every character
/// other than a letter or digit made a dash>`.
pub(crate) fn project_dir(config_dir: &Path, cwd: &Path) -> Result<PathBuf, SessionError> {
    let name: String = cwd
        .display()
        .to_string()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if name.len() > MAX_PROJECT_NAME {
        return Err(SessionError::PathTooLong(cwd.to_path_buf()));
    }
    Ok(config_dir.join("projects").join(name))
}

/// The transcript of `session_id`, wherever the CLI filed it.
pub(crate) fn find_transcript(config_dir: &Path, session_id: &str) -> Option<PathBuf> {
    let file = format!("{session_id}.jsonl");
    std::fs::read_dir(config_dir.join("projects"))
        .ok()?
        .flatten()
        .map(|entry| entry.path().join(&file))
        .find(|path| path.is_file())
}

/// Saves the transcript (when the CLI wrote one) and the app's source under `prefix`.
pub(crate) async fn save(
    store: &Arc<dyn ArtifactStore>,
    prefix: &str,
    config_dir: &Path,
    app_dir: &Path,
    session_id: &str,
) -> Result<(), SessionError> {
    if let Some(path) = find_transcript(config_dir, session_id) {
        let bytes = std::fs::read(&path).map_err(|source| SessionError::Io { path, source })?;
        store
            .put(&format!("{prefix}{TRANSCRIPT}"), Bytes::from(bytes))
            .await?;
        store
            .put(
                &format!("{prefix}{SESSION_ID}"),
                Bytes::from(session_id.to_owned()),
            )
            .await?;
    }
    let archive = package::pack(app_dir, "app")?;
    store
        .put(&format!("{prefix}{SOURCE}"), Bytes::from(archive.bytes))
        .await?;
    Ok(())
}

/// Restores what [`save`] kept: the source into `app_dir`, the transcript where the CLI will look
/// for it from `app_dir`. Returns the session id to resume, if a transcript was saved.
pub(crate) async fn restore(
    store: &Arc<dyn ArtifactStore>,
    prefix: &str,
    config_dir: &Path,
    app_dir: &Path,
) -> Result<Option<String>, SessionError> {
    if let Some(source) = store.get(&format!("{prefix}{SOURCE}")).await? {
        unpack(&source, app_dir)?;
    }
    let (Some(id), Some(transcript)) = (
        store.get(&format!("{prefix}{SESSION_ID}")).await?,
        store.get(&format!("{prefix}{TRANSCRIPT}")).await?,
    ) else {
        return Ok(None);
    };
    let id = String::from_utf8_lossy(&id).trim().to_owned();
    if id.is_empty() || !id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()) {
        return Err(SessionError::BadId(id));
    }
    let dir = project_dir(config_dir, app_dir)?;
    let path = dir.join(format!("{id}.jsonl"));
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, &transcript))
        .map_err(|source| SessionError::Io { path, source })?;
    Ok(Some(id))
}

/// Writes a packed app's files into `app_dir`, dropping the archive's top folder; every path is
/// checked first, so an archive cannot place a file outside the app.
fn unpack(archive: &[u8], app_dir: &Path) -> Result<(), SessionError> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let mut files = Vec::new();
    for entry in tar.entries().map_err(SessionError::Unpack)? {
        let mut entry = entry.map_err(SessionError::Unpack)?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry.path().map_err(SessionError::Unpack)?.display().to_string();
        let relative = path.split_once('/').map_or("", |(_, rest)| rest).to_owned();
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).map_err(SessionError::Unpack)?;
        files.push((relative, contents));
    }
    let checked: Vec<(PathBuf, &[u8])> = files
        .iter()
        .map(|(relative, contents)| {
            workspace::safe_relative(relative).map(|p| (app_dir.join(p), contents.as_slice()))
        })
        .collect::<Result<_, _>>()?;
    for (path, contents) in checked {
        path.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, contents))
            .map_err(|source| SessionError::Io { path, source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use appgen_artifacts::LocalStore;

    use super::*;

    const ID: &str = "6f1c2a3b-0000-5000-8000-000000000010";

    #[test]
    fn the_project_folder_is_the_cwd_with_dashes() {
        // As the CLI 2.1.197 filed a recorded run in /work/scratch/claude-cli/rec/app.
        let dir = project_dir(
            Path::new("/h/.claude"),
            Path::new("/work/scratch/claude-cli/rec/app"),
        )
        .unwrap();
        assert_eq!(
            dir,
            Path::new("/h/.claude/projects/-work-scratch-claude-cli-rec-app")
        );
        assert_eq!(
            project_dir(Path::new("/h"), Path::new("/a_b/c.d")).unwrap(),
            Path::new("/h/projects/-a-b-c-d")
        );
        let long = PathBuf::from(format!("/{}", "x".repeat(300)));
        assert!(project_dir(Path::new("/h"), &long).is_err());
    }

    #[tokio::test]
    async fn a_saved_session_is_restored_under_the_new_app_directory() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn ArtifactStore> = Arc::new(LocalStore::new(dir.path().join("store")).unwrap());
        let prefix = "generations/default/todo/u-1/session/";

        let old_config = dir.path().join("old/claude-home/.claude");
        let old_app = dir.path().join("old/app");
        let filed = project_dir(&old_config, &old_app).unwrap();
        std::fs::create_dir_all(&filed).unwrap();
        std::fs::write(filed.join(format!("{ID}.jsonl")), "{\"type\":\"user\"}\n").unwrap();
        std::fs::create_dir_all(old_app.join("src")).unwrap();
        std::fs::create_dir_all(old_app.join("node_modules/x")).unwrap();
        std::fs::write(old_app.join("package.json"), "{}").unwrap();
        std::fs::write(old_app.join("src/main.ts"), "main").unwrap();
        std::fs::write(old_app.join("node_modules/x/index.js"), "dep").unwrap();
        save(&store, prefix, &old_config, &old_app, ID).await.unwrap();

        let new_config = dir.path().join("new/claude-home/.claude");
        let new_app = dir.path().join("new/app");
        let id = restore(&store, prefix, &new_config, &new_app).await.unwrap();
        assert_eq!(id.as_deref(), Some(ID));
        assert_eq!(
            find_transcript(&new_config, ID).unwrap(),
            project_dir(&new_config, &new_app)
                .unwrap()
                .join(format!("{ID}.jsonl"))
        );
        assert_eq!(
            std::fs::read_to_string(new_app.join("src/main.ts")).unwrap(),
            "main"
        );
        assert!(!new_app.join("node_modules").exists());
    }

    #[tokio::test]
    async fn without_a_transcript_only_the_source_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn ArtifactStore> = Arc::new(LocalStore::new(dir.path().join("store")).unwrap());
        let app = dir.path().join("app");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(app.join("package.json"), "{}").unwrap();
        save(&store, "s/", &dir.path().join("cfg"), &app, ID)
            .await
            .unwrap();
        let restored = restore(&store, "s/", &dir.path().join("cfg2"), &dir.path().join("app2"))
            .await
            .unwrap();
        assert_eq!(restored, None);
        assert!(dir.path().join("app2/package.json").is_file());
    }
}
