use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use crate::error::{ArtifactError, Result};
use crate::grant::{Grant, GrantRequest};
use crate::key::{TEMP_FILE_PREFIX, validate_deletion, validate_key, validate_prefix};
use crate::store::ArtifactStore;

/// An [`ArtifactStore`] in a directory on this machine: key `a/b.json` is the file `<root>/a/b.json`.
#[derive(Debug, Clone)]
pub struct LocalStore {
    /// Always absolute, so that [`ArtifactStore::uri`] names the same file from any working directory.
    root: PathBuf,
}

/// Distinguishes the temp files of concurrent puts within this process; the pid tells processes apart.
static NEXT_TEMP_FILE: AtomicU64 = AtomicU64::new(0);

impl LocalStore {
    /// A store rooted at `root`, made absolute against the current directory. Nothing is created
    /// until the first put.
    pub fn new(root: PathBuf) -> Result<Self> {
        let root = std::path::absolute(&root).map_err(ArtifactError::io("resolve the store root", &root))?;
        Ok(LocalStore { root })
    }

    /// A store rooted at the path of a `file:///abs/path` URI, as [`ArtifactStore::uri`] makes them.
    pub fn from_uri(uri: &str) -> Result<Self> {
        let refuse = |reason: &str| ArtifactError::InvalidUri {
            uri: uri.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = uri
            .strip_prefix("file://")
            .ok_or_else(|| refuse("it is not a file:// URI"))?;
        if !rest.starts_with('/') {
            return Err(refuse(
                "a file:// URI must have an empty host and an absolute path",
            ));
        }
        if rest.contains(['?', '#']) {
            return Err(refuse("a store location has no query or fragment"));
        }
        let path =
            percent_decode(rest).ok_or_else(|| refuse("its path is not valid percent-encoded UTF-8"))?;
        LocalStore::new(PathBuf::from(path))
    }

    /// The directory the store is in, e.g. to mount it into a container at the same path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// Writes `bytes` to a temp file beside `path` and renames it over `path`, so readers see the
    /// old file or the new one; the fsyncs make the new one survive a crash once this returns.
    async fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        // A validated key is never empty, so its path always has a parent inside the root.
        let dir = path.parent().unwrap_or(&self.root);
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(ArtifactError::io("create the directory", dir))?;

        let temp_path = dir.join(format!(
            "{TEMP_FILE_PREFIX}{}-{}",
            std::process::id(),
            NEXT_TEMP_FILE.fetch_add(1, Ordering::Relaxed)
        ));
        let written = write_and_sync(&temp_path, bytes).await;
        let renamed = match written {
            Ok(()) => tokio::fs::rename(&temp_path, path)
                .await
                .map_err(ArtifactError::io("rename into", path)),
            Err(error) => Err(error),
        };
        if let Err(error) = renamed {
            // Best effort: a leftover temp file is invisible to readers and removed with its prefix.
            let _ = tokio::fs::remove_file(&temp_path).await;
            return Err(error);
        }

        // The rename is only durable once the directory entry is.
        let dir_file = tokio::fs::File::open(dir)
            .await
            .map_err(ArtifactError::io("open the directory", dir))?;
        dir_file
            .sync_all()
            .await
            .map_err(ArtifactError::io("sync the directory", dir))
    }
}

async fn write_and_sync(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await
        .map_err(ArtifactError::io("create", path))?;
    file.write_all(bytes)
        .await
        .map_err(ArtifactError::io("write", path))?;
    file.sync_all().await.map_err(ArtifactError::io("sync", path))
}

#[async_trait::async_trait]
impl ArtifactStore for LocalStore {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        validate_key(key)?;
        self.write_atomically(&self.path_of(key), &bytes).await
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        validate_key(key)?;
        let path = self.path_of(key);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
            Err(error) => Err(ArtifactError::io("read", path)(error)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        validate_prefix(prefix)?;
        // Start from the directory the prefix names (or the one holding the name it starts),
        // and descend only into directories whose keys can start with the prefix.
        let start_key = prefix.rfind('/').map_or("", |slash| &prefix[..=slash]);
        let mut pending = vec![(self.path_of(start_key), start_key.to_owned())];
        let mut keys = Vec::new();
        while let Some((dir, dir_key)) = pending.pop() {
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(error) if error.kind() == ErrorKind::NotFound => continue,
                Err(error) => return Err(ArtifactError::io("list", dir)(error)),
            };
            while let Some(entry) = entries
                .next_entry()
                .await
                .map_err(ArtifactError::io("list", &dir))?
            {
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    tracing::warn!(path = %entry.path().display(), "ignoring a file whose name is not UTF-8");
                    continue;
                };
                if name.starts_with(TEMP_FILE_PREFIX) {
                    continue;
                }
                let file_type = entry
                    .file_type()
                    .await
                    .map_err(ArtifactError::io("inspect", entry.path()))?;
                let key = format!("{dir_key}{name}");
                if file_type.is_dir() {
                    let child_dir_key = format!("{key}/");
                    if child_dir_key.starts_with(prefix) {
                        pending.push((entry.path(), child_dir_key));
                    }
                } else if file_type.is_file() && key.starts_with(prefix) {
                    keys.push(key);
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<()> {
        validate_deletion(prefix)?;
        let (dir_key, partial_name) = prefix
            .rsplit_once('/')
            .map_or(("", prefix), |(dir, name)| (dir, name));
        let dir = self.path_of(dir_key);
        if partial_name.is_empty() {
            return remove_if_present(&dir, true).await;
        }
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(entries) => entries,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(ArtifactError::io("list", dir)(error)),
        };
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(ArtifactError::io("list", &dir))?
        {
            if entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.starts_with(partial_name))
            {
                let file_type = entry
                    .file_type()
                    .await
                    .map_err(ArtifactError::io("inspect", entry.path()))?;
                remove_if_present(&entry.path(), file_type.is_dir()).await?;
            }
        }
        Ok(())
    }

    /// None: the files are only reachable through a server that checks the admin token.
    async fn download_url(&self, key: &str, _expires_in: Duration) -> Result<Option<String>> {
        validate_key(key)?;
        Ok(None)
    }

    async fn grant(&self, _request: &GrantRequest) -> Result<Option<Grant>> {
        Ok(None)
    }

    fn uri(&self, key: &str) -> String {
        let root = percent_encode(self.root.as_os_str().as_encoded_bytes());
        format!("file://{}/{key}", root.trim_end_matches('/'))
    }
}

async fn remove_if_present(path: &Path, is_dir: bool) -> Result<()> {
    let removed = if is_dir {
        tokio::fs::remove_dir_all(path).await
    } else {
        tokio::fs::remove_file(path).await
    };
    match removed {
        Err(error) if error.kind() != ErrorKind::NotFound => Err(ArtifactError::io("delete", path)(error)),
        _ => Ok(()),
    }
}

/// Escapes every byte a URI path cannot hold as is (RFC 3986 unreserved characters and `/` stay).
fn percent_encode(bytes: &[u8]) -> String {
    let mut encoded = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The inverse of [`percent_encode`]; None for a malformed escape or a path that is not UTF-8.
fn percent_decode(encoded: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut rest = encoded.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = tail.get(2..)?;
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_undoes_percent_encoding() {
        let path = "/var/lib/app gen/ünïcode%/x";
        assert_eq!(
            percent_decode(&percent_encode(path.as_bytes())).as_deref(),
            Some(path)
        );
    }

    #[test]
    fn malformed_percent_escapes_do_not_decode() {
        for encoded in ["/a%", "/a%4", "/a%zz", "/a%FF"] {
            assert_eq!(percent_decode(encoded), None, "{encoded}");
        }
    }
}
