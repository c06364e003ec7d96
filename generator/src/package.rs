//! Packaging: the app's source as `app.tar.gz`, without installed dependencies, build output,
//! data or caches, laid out the same way every time so equal sources give equal archives.

use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

/// Directories and files that are made, not written: they never go into the archive.
const SKIPPED_DIRS: &[&str] = &[
    "node_modules",
    "dist",
    "data",
    "coverage",
    ".vite",
    ".cache",
    ".turbo",
    ".pnpm-store",
    ".git",
];
const SKIPPED_SUFFIXES: &[&str] = &[".tsbuildinfo", ".log"];
/// Environment files may hold secrets a person put there; the archive is shared.
const SKIPPED_PREFIXES: &[&str] = &[".env"];
/// More than any generated source needs; stops a runaway app from filling the store.
const MAX_ARCHIVE_BYTES: usize = 100 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("could not read {path} while packaging: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("could not compress the archive: {0}")]
    Compress(std::io::Error),
    #[error(
        "the archive would be over {MAX_ARCHIVE_BYTES} bytes; the app holds files it should not (build output or data?)"
    )]
    TooLarge,
}

/// A packed app.
#[derive(Debug)]
pub struct Archive {
    pub bytes: Vec<u8>,
    pub sha256: String,
    /// The files it holds, relative and sorted.
    pub files: Vec<String>,
}

/// Whether a path relative to the app's root belongs in the archive.
pub fn included(relative: &str) -> bool {
    let mut parts = relative.split('/').peekable();
    while let Some(part) = parts.next() {
        let is_last = parts.peek().is_none();
        if !is_last && SKIPPED_DIRS.contains(&part) {
            return false;
        }
        if is_last
            && (SKIPPED_DIRS.contains(&part)
                || SKIPPED_SUFFIXES.iter().any(|s| part.ends_with(s))
                || SKIPPED_PREFIXES
                    .iter()
                    .any(|p| part.starts_with(p) && part != ".env.example"))
        {
            return false;
        }
    }
    true
}

/// Packs `app_dir` under the top-level folder `root_name`.
pub fn pack(app_dir: &Path, root_name: &str) -> Result<Archive, PackageError> {
    let files = collect(app_dir)?;
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    tar.mode(tar::HeaderMode::Deterministic);
    let mut total = 0usize;
    for (relative, path) in &files {
        let bytes = std::fs::read(path).map_err(|source| PackageError::Read {
            path: path.clone(),
            source,
        })?;
        total += bytes.len();
        if total > MAX_ARCHIVE_BYTES {
            return Err(PackageError::TooLarge);
        }
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(if is_executable(path) { 0o755 } else { 0o644 });
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, format!("{root_name}/{relative}"), bytes.as_slice())
            .map_err(PackageError::Compress)?;
    }
    let gz = tar.into_inner().map_err(PackageError::Compress)?;
    let bytes = gz.finish().map_err(PackageError::Compress)?;
    let sha256 = sha256(&bytes);
    Ok(Archive {
        bytes,
        sha256,
        files: files.into_iter().map(|(relative, _)| relative).collect(),
    })
}

/// Every regular file under `root` that belongs in the archive, sorted by relative path.
/// Symbolic links are left out: followed, they could pull in files from outside the app.
fn collect(root: &Path) -> Result<Vec<(String, PathBuf)>, PackageError> {
    let mut found = Vec::new();
    let mut pending = vec![(String::new(), root.to_path_buf())];
    while let Some((prefix, dir)) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| PackageError::Read {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| PackageError::Read {
                path: dir.clone(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let kind = entry.file_type().map_err(|source| PackageError::Read {
                path: entry.path(),
                source,
            })?;
            if kind.is_dir() {
                if included(&format!("{relative}/x")) {
                    pending.push((relative, entry.path()));
                }
            } else if kind.is_file() && included(&relative) {
                found.push((relative, entry.path()));
            }
        }
    }
    found.sort();
    Ok(found)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// The hex sha256 of `bytes`, as archives are named by.
pub fn sha256(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_things_and_secrets_stay_out() {
        for path in [
            "src/index.ts",
            "package.json",
            "pnpm-lock.yaml",
            ".gitignore",
            ".env.example",
            "src/data.ts",
            "README.md",
        ] {
            assert!(included(path), "{path} should be packed");
        }
        for path in [
            "node_modules/react/index.js",
            "dist/index.html",
            "data/db.json",
            "src/node_modules/x.js",
            ".env",
            ".env.local",
            "tsconfig.tsbuildinfo",
            "coverage/lcov.info",
            "pnpm-debug.log",
        ] {
            assert!(!included(path), "{path} should not be packed");
        }
    }

    fn unpack(bytes: &[u8]) -> Vec<(String, String)> {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
        let mut out = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            out.push((path, text));
        }
        out
    }

    #[test]
    fn packs_the_source_under_one_folder_and_the_same_source_gives_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path();
        std::fs::create_dir_all(app.join("src")).unwrap();
        std::fs::create_dir_all(app.join("node_modules/react")).unwrap();
        std::fs::write(app.join("package.json"), "{}").unwrap();
        std::fs::write(app.join("src/main.ts"), "console.log(1)").unwrap();
        std::fs::write(app.join("node_modules/react/index.js"), "x").unwrap();
        std::fs::write(app.join(".env"), "TOKEN=secret").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", app.join("src/passwd")).unwrap();

        let first = pack(app, "todo").unwrap();
        assert_eq!(first.files, ["package.json", "src/main.ts"]);
        assert_eq!(
            unpack(&first.bytes),
            [
                ("todo/package.json".to_owned(), "{}".to_owned()),
                ("todo/src/main.ts".to_owned(), "console.log(1)".to_owned())
            ]
        );
        assert_eq!(first.sha256.len(), 64);

        // Touching files changes nothing that is packed.
        std::fs::write(app.join("src/main.ts"), "console.log(1)").unwrap();
        let second = pack(app, "todo").unwrap();
        assert_eq!(first.sha256, second.sha256);
    }
}
