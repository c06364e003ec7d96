//! A downloaded app archive: checked against the sha256 the generation recorded, then saved or
//! unpacked.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

pub fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The actual sha256 of `bytes` when it is not `expected`.
pub fn mismatch(bytes: &[u8], expected: &str) -> Option<String> {
    let actual = sha256_hex(bytes);
    (!actual.eq_ignore_ascii_case(expected.trim())).then_some(actual)
}

/// Where a download goes: `-o FILE`, into `-o DIR`, or `./NAME.tar.gz`.
pub fn destination(output: Option<&Path>, output_is_dir: bool, name: &str) -> PathBuf {
    let file = format!("{name}.tar.gz");
    match output {
        Some(dir) if output_is_dir => dir.join(file),
        Some(path) => path.to_owned(),
        None => PathBuf::from(file),
    }
}

fn entries(bytes: &[u8]) -> tar::Archive<flate2::read::GzDecoder<&[u8]>> {
    tar::Archive::new(flate2::read::GzDecoder::new(bytes))
}

/// The top-level names an archive unpacks to (the app's folder).
pub fn top_level(bytes: &[u8]) -> std::io::Result<BTreeSet<PathBuf>> {
    let mut names = BTreeSet::new();
    for entry in entries(bytes).entries()? {
        let entry = entry?;
        if let Some(Component::Normal(first)) = entry.path()?.components().next() {
            names.insert(PathBuf::from(first));
        }
    }
    Ok(names)
}

/// Unpacks `bytes` into `dir`; entries that would land outside it are refused by `tar`.
pub fn unpack(bytes: &[u8], dir: &Path) -> std::io::Result<()> {
    entries(bytes).unpack(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(files: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (path, contents) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, path, contents.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn a_download_must_match_its_sha256() {
        let bytes = b"hello";
        let sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        assert_eq!(sha256_hex(bytes), sha);
        assert_eq!(mismatch(bytes, sha), None);
        assert_eq!(mismatch(bytes, &sha.to_uppercase()), None);
        assert_eq!(mismatch(b"hellO", sha).map(|s| s.len()), Some(64));
    }

    #[test]
    fn downloads_go_to_a_file_or_into_a_directory() {
        let cases = [
            (None, false, "todo-x.tar.gz"),
            (Some("out/app.tgz"), false, "out/app.tgz"),
            (Some("out"), true, "out/todo-x.tar.gz"),
        ];
        for (output, is_dir, expected) in cases {
            assert_eq!(
                destination(output.map(Path::new), is_dir, "todo-x"),
                PathBuf::from(expected)
            );
        }
    }

    #[test]
    fn an_archive_unpacks_into_its_app_folder() {
        let bytes = archive(&[("todo/package.json", "{}"), ("todo/src/main.ts", "x")]);
        assert_eq!(
            top_level(&bytes).unwrap(),
            BTreeSet::from([PathBuf::from("todo")])
        );
        let dir = tempfile::tempdir().unwrap();
        unpack(&bytes, dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("todo/src/main.ts")).unwrap(),
            "x"
        );
        assert!(top_level(b"not a gzip stream").is_err());
    }
}
