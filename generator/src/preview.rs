//! One run of a live preview (DESIGN.md, "Deliver"): lays a delivered app out from its archive,
//! installs and builds it the way the gates do, once per version, and says how to start it on the
//! port the controller chose. It only reads the artifact store; it never writes there.

use std::path::{Component, Path, PathBuf};

use appgen_crd::task::PreviewInput;

use crate::command;
use crate::error::Error;
use crate::gates;

/// Written into a version's folder once its app is installed and built, so that a later run of the
/// same version (a restart after a crash, a visit after an idle stop) starts in a second or so.
const PREPARED_FILE: &str = "prepared";
const APP_DIR: &str = "app";

/// The app's server, ready to start: the caller replaces itself with it, so the task is the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub program: String,
    pub args: Vec<String>,
    pub dir: PathBuf,
    /// The whole environment: tools on `PATH`, `HOME`, and the app's `PORT`, `HOST`, `DATA_DIR`.
    pub env: Vec<(String, String)>,
}

/// Reads the input at `input_uri` and makes its version ready to start. The app's commands run
/// with `path` as `PATH` and `home` as `HOME`, and install from `pnpm_store` when one is given.
pub async fn prepare(
    input_uri: &str,
    path: &str,
    home: &Path,
    pnpm_store: Option<&Path>,
) -> Result<Start, Error> {
    let (store, key) = appgen_artifacts::open_object(input_uri).await?;
    let bytes = store
        .get(&key)
        .await?
        .ok_or_else(|| Error::InputMissing { uri: store.uri(&key) })?;
    let input: PreviewInput =
        serde_json::from_slice(&bytes).map_err(|source| Error::PreviewInputInvalid {
            uri: store.uri(&key),
            source,
        })?;
    let version = PathBuf::from(&input.version_dir);
    let app = version.join(APP_DIR);
    let env = command::base_env(path, home);
    let label = format!("{}/{} run {}", input.namespace, input.name, input.run);
    if version.join(PREPARED_FILE).is_file() {
        eprintln!("appgen preview: {label}: this version is already installed and built");
    } else {
        eprintln!("appgen preview: {label}: laying out, installing and building the delivered app");
        let archive = store
            .get(&input.archive)
            .await?
            .ok_or_else(|| Error::ArchiveMissing {
                key: input.archive.clone(),
            })?;
        lay_out(&archive, &app)?;
        let installed = gates::install_in(pnpm_store, &app, &env)
            .await
            .map_err(|message| Error::PreviewPrepare { message })?;
        eprintln!("appgen preview: {label}: {installed}");
        let build = gates::build_command();
        gates::checked(&build, command::run(&build, &app, &env).await)
            .map_err(|message| Error::PreviewPrepare { message })?;
        write(&version.join(PREPARED_FILE), input.uid.as_bytes())?;
    }
    let data = PathBuf::from(&input.data_dir);
    std::fs::create_dir_all(&data).map_err(files_error("create", &data))?;
    let start = gates::start_command(input.port, &data);
    eprintln!(
        "appgen preview: {label}: starting `{}` on 127.0.0.1:{}",
        start.display(),
        input.port
    );
    Ok(Start {
        program: start.program,
        args: start.args,
        dir: app,
        env: env.into_iter().chain(start.env).collect(),
    })
}

/// Unpacks the archive into `app`, emptied first: a run that died half-way through an earlier
/// preparation must not leave files behind that the archive does not hold.
pub(crate) fn lay_out(archive: &[u8], app: &Path) -> Result<(), Error> {
    match std::fs::remove_dir_all(app) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(files_error("empty", app)(e)),
    }
    std::fs::create_dir_all(app).map_err(files_error("create", app))?;
    unpack(archive, app)
}

/// Writes each file of a delivered archive (`<app>/<path>`) to `dest/<path>`. Only plain files and
/// folders with plain relative paths are accepted, so no entry can land outside `dest`.
fn unpack(archive: &[u8], dest: &Path) -> Result<(), Error> {
    let unreadable = files_error("read the archive for", dest);
    let mut entries = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    for entry in entries.entries().map_err(&unreadable)? {
        let mut entry = entry.map_err(&unreadable)?;
        let name = entry.path().map_err(&unreadable)?.display().to_string();
        let kind = entry.header().entry_type();
        let parts: Option<Vec<_>> = Path::new(&name)
            .components()
            .map(|part| match part {
                Component::Normal(part) => Some(part),
                _ => None,
            })
            .collect();
        // The first part is the app's folder, which every entry of a delivered archive starts with.
        let inside = parts.map(|parts| parts.into_iter().skip(1).collect::<PathBuf>());
        let relative = match inside {
            Some(relative) if kind.is_file() || kind.is_dir() => relative,
            _ => return Err(Error::UnsafeArchive { entry: name }),
        };
        if relative.as_os_str().is_empty() {
            continue;
        }
        let target = dest.join(&relative);
        let folder = if kind.is_dir() {
            target.as_path()
        } else {
            target.parent().unwrap_or(dest)
        };
        std::fs::create_dir_all(folder).map_err(files_error("create", folder))?;
        if kind.is_file() {
            entry.unpack(&target).map_err(files_error("write", &target))?;
        }
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(files_error("write", path))
}

fn files_error(action: &'static str, path: &Path) -> impl Fn(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::PreviewFiles {
        action,
        path: path.clone(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivered_archive_is_laid_out_without_its_top_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let source = tmp.path().join("source");
        std::fs::create_dir_all(source.join("src/server")).unwrap();
        std::fs::write(source.join("package.json"), "{}").unwrap();
        std::fs::write(source.join("src/server/main.ts"), "listen()").unwrap();
        let archive = crate::package::pack(&source, "todo").unwrap();

        let app = tmp.path().join("version/app");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(app.join("left-over.js"), "from a half-finished run").unwrap();
        lay_out(&archive.bytes, &app).unwrap();
        assert_eq!(std::fs::read_to_string(app.join("package.json")).unwrap(), "{}");
        assert_eq!(
            std::fs::read_to_string(app.join("src/server/main.ts")).unwrap(),
            "listen()"
        );
        assert!(!app.join("left-over.js").exists());
    }

    /// An archive with one entry whose name is written as given, bypassing tar's own checks.
    fn archive_with(name: &str, kind: tar::EntryType) -> Vec<u8> {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(kind);
        header.set_size(0);
        header.set_mode(0o644);
        header.set_cksum();
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        builder.append(&header, std::io::empty()).unwrap();
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn entries_that_could_land_outside_the_app_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let app = tmp.path().join("app");
        std::fs::create_dir_all(&app).unwrap();
        for (name, kind) in [
            ("todo/../../escape.js", tar::EntryType::Regular),
            ("/etc/passwd", tar::EntryType::Regular),
            ("todo/link", tar::EntryType::Symlink),
        ] {
            let refused = unpack(&archive_with(name, kind), &app);
            assert!(
                matches!(&refused, Err(Error::UnsafeArchive { entry }) if entry == name),
                "{name}: {refused:?}"
            );
        }
        assert!(!tmp.path().join("escape.js").exists());
    }
}
