//! Opening a store from the URI that names it (`file:///var/lib/appgen/artifacts`,
//! `s3://bucket/prefix`), or from the URI of one object in it, as a task gets its `--input`.

use std::sync::Arc;

use crate::error::{ArtifactError, Result};
use crate::grant::GrantedStore;
use crate::key::validate_key;
use crate::local::LocalStore;
use crate::s3::{S3Config, S3Store, normalize_prefix, validate_bucket};
use crate::store::ArtifactStore;

/// Where the key of an object URI starts: every artifact lives under `generations/`.
const GENERATIONS_SEGMENT: &str = "/generations/";

/// The store a URI names: `file:///abs/dir`, or `s3://bucket` with an optional `/prefix`.
///
/// For S3 the region comes from `AWS_REGION` (or `AWS_DEFAULT_REGION`), the endpoint from
/// `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`), path-style addressing from
/// `APPGEN_S3_FORCE_PATH_STYLE=true`, and credentials from the standard AWS chain.
pub async fn open(uri: &str) -> Result<Arc<dyn ArtifactStore>> {
    match parse_store_uri(uri, &|name| std::env::var(name).ok())? {
        StoreLocation::Local(store) => Ok(Arc::new(store)),
        StoreLocation::S3(config) => Ok(Arc::new(S3Store::connect(config).await?)),
    }
}

/// The store holding the object an [`ArtifactStore::uri`] names, and the object's key: the root
/// is everything before the first `generations/` segment, so
/// `s3://b/p/generations/ns/n/uid/input.json` opens `s3://b/p` with key
/// `generations/ns/n/uid/input.json`. A store whose own root has a `generations` folder in its
/// path cannot be found this way.
///
/// An `https://` (or `http://`) URL is a task's grant instead: the store it opens works only
/// through the grant's presigned requests, and the key is the grant's input.
pub async fn open_object(uri: &str) -> Result<(Arc<dyn ArtifactStore>, String)> {
    if uri.starts_with("https://") || uri.starts_with("http://") {
        let (store, input) = GrantedStore::open(uri).await?;
        return Ok((Arc::new(store), input));
    }
    let (store_uri, key) = split_object_uri(uri)?;
    Ok((open(&store_uri).await?, key))
}

#[derive(Debug)]
enum StoreLocation {
    Local(LocalStore),
    S3(S3Config),
}

/// Reads the store a URI names, taking S3 settings from `env` (a lookup of environment variables).
fn parse_store_uri(uri: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<StoreLocation> {
    let refuse = |reason: &str| ArtifactError::InvalidUri {
        uri: uri.to_owned(),
        reason: reason.to_owned(),
    };
    if uri.starts_with("file://") {
        return Ok(StoreLocation::Local(LocalStore::from_uri(uri)?));
    }
    let Some(rest) = uri.strip_prefix("s3://") else {
        return Err(refuse(if has_scheme(uri) {
            "its scheme is not file:// or s3://"
        } else {
            "it has no scheme; use file:///absolute/dir or s3://bucket/prefix"
        }));
    };
    if rest.contains(['?', '#']) {
        return Err(refuse("a store location has no query or fragment"));
    }
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    validate_bucket(bucket).map_err(refuse)?;
    normalize_prefix(prefix)
        .map_err(|_| refuse("its prefix must be relative, without empty, '.' or '..' segments"))?;
    Ok(StoreLocation::S3(s3_config_from_env(bucket, prefix, env)?))
}

fn s3_config_from_env(bucket: &str, prefix: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<S3Config> {
    // An empty variable counts as unset, as it does for the AWS CLI.
    let first_set = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| env(name).filter(|value| !value.is_empty()))
    };
    let force_path_style = match first_set(&["APPGEN_S3_FORCE_PATH_STYLE"]).as_deref() {
        None => false,
        Some(value) if value.eq_ignore_ascii_case("true") || value == "1" => true,
        Some(value) if value.eq_ignore_ascii_case("false") || value == "0" => false,
        Some(value) => {
            return Err(ArtifactError::S3Config {
                bucket: bucket.to_owned(),
                reason: format!("APPGEN_S3_FORCE_PATH_STYLE is {value:?}; set it to true or false"),
            });
        }
    };
    Ok(S3Config {
        bucket: bucket.to_owned(),
        prefix: prefix.trim_end_matches('/').to_owned(),
        region: first_set(&["AWS_REGION", "AWS_DEFAULT_REGION"]),
        endpoint: first_set(&["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]),
        force_path_style,
    })
}

/// Whether `uri` starts with an RFC 3986 scheme and a colon.
fn has_scheme(uri: &str) -> bool {
    uri.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

/// Splits an object URI into the URI of its store and its key.
fn split_object_uri(uri: &str) -> Result<(String, String)> {
    let refuse = |reason: &str| ArtifactError::InvalidUri {
        uri: uri.to_owned(),
        reason: reason.to_owned(),
    };
    // The part before the path: "s3://bucket" or "file://" (a local URI has an empty host).
    let path_start = if let Some(rest) = uri.strip_prefix("s3://") {
        "s3://".len()
            + rest
                .find('/')
                .ok_or_else(|| refuse("it names a bucket but no object in it"))?
    } else if uri.starts_with("file://") {
        "file://".len()
    } else {
        return Err(refuse("its scheme is not file:// or s3://"));
    };
    let (authority, path) = uri.split_at(path_start);
    let root_end = path
        .find(GENERATIONS_SEGMENT)
        .ok_or_else(|| refuse("it does not name an object under generations/"))?;
    let key = &path[root_end + 1..];
    validate_key(key)?;
    // A local store at the file system's root still needs its "/".
    let root = match &path[..root_end] {
        "" if authority == "file://" => "/",
        root => root,
    };
    Ok((format!("{authority}{root}"), key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn s3(bucket: &str, prefix: &str) -> S3Config {
        S3Config {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            ..S3Config::default()
        }
    }

    #[test]
    fn s3_uris_name_a_bucket_and_an_optional_prefix() {
        let table = [
            ("s3://bucket", s3("bucket", "")),
            ("s3://bucket/", s3("bucket", "")),
            ("s3://bucket/appgen", s3("bucket", "appgen")),
            ("s3://bucket/appgen/", s3("bucket", "appgen")),
            ("s3://my.bucket-1/team/a/b", s3("my.bucket-1", "team/a/b")),
        ];
        for (uri, expected) in table {
            match parse_store_uri(uri, &no_env) {
                Ok(StoreLocation::S3(config)) => assert_eq!(config, expected, "{uri}"),
                other => panic!("{uri} gave {other:?}"),
            }
        }
    }

    #[test]
    fn file_uris_open_a_local_store_at_their_path() {
        match parse_store_uri("file:///var/lib/appgen%20data", &no_env) {
            Ok(StoreLocation::Local(store)) => {
                assert_eq!(store.uri("k"), "file:///var/lib/appgen%20data/k");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn s3_settings_come_from_the_environment() {
        let env = |name: &str| {
            match name {
                "AWS_REGION" => Some(""),
                "AWS_DEFAULT_REGION" => Some("eu-west-3"),
                "AWS_ENDPOINT_URL" => Some("http://general:9000"),
                "AWS_ENDPOINT_URL_S3" => Some("http://s3-only:9000"),
                "APPGEN_S3_FORCE_PATH_STYLE" => Some("TRUE"),
                _ => None,
            }
            .map(str::to_owned)
        };
        let Ok(StoreLocation::S3(config)) = parse_store_uri("s3://bucket/p", &env) else {
            panic!("s3://bucket/p did not parse");
        };
        assert_eq!(
            config,
            S3Config {
                bucket: "bucket".to_owned(),
                prefix: "p".to_owned(),
                region: Some("eu-west-3".to_owned()),
                endpoint: Some("http://s3-only:9000".to_owned()),
                force_path_style: true,
            }
        );

        let region_first = |name: &str| {
            match name {
                "AWS_REGION" => Some("us-east-2"),
                "AWS_DEFAULT_REGION" => Some("eu-west-3"),
                "AWS_ENDPOINT_URL" => Some("http://general:9000"),
                "APPGEN_S3_FORCE_PATH_STYLE" => Some("0"),
                _ => None,
            }
            .map(str::to_owned)
        };
        let Ok(StoreLocation::S3(config)) = parse_store_uri("s3://bucket", &region_first) else {
            panic!("s3://bucket did not parse");
        };
        assert_eq!(config.region.as_deref(), Some("us-east-2"));
        assert_eq!(config.endpoint.as_deref(), Some("http://general:9000"));
        assert!(!config.force_path_style);
    }

    #[test]
    fn a_path_style_setting_that_is_not_a_boolean_is_refused_by_name() {
        let env = |name: &str| (name == "APPGEN_S3_FORCE_PATH_STYLE").then(|| "yes please".to_owned());
        let error = parse_store_uri("s3://bucket", &env).unwrap_err();
        assert!(matches!(error, ArtifactError::S3Config { .. }), "{error:?}");
        assert!(
            error.to_string().contains("APPGEN_S3_FORCE_PATH_STYLE"),
            "{error}"
        );
    }

    #[test]
    fn store_uris_that_name_no_usable_store_are_refused_with_the_reason() {
        let table = [
            ("", "no scheme"),
            ("/var/lib/appgen", "no scheme"),
            ("gs://bucket/p", "not file:// or s3://"),
            ("S3://bucket", "not file:// or s3://"),
            ("s3://", "bucket name is empty"),
            ("s3:///prefix", "bucket name is empty"),
            ("s3://Bucket", "lowercase"),
            ("s3://bucket/../other", "'..'"),
            ("s3://bucket/a/../../b", "'..'"),
            ("s3://bucket//a", "empty"),
            ("s3://bucket/a?versionId=1", "query"),
            ("file://host/dir", "absolute path"),
            ("file:relative", "not file:// or s3://"),
        ];
        for (uri, reason) in table {
            match parse_store_uri(uri, &no_env) {
                Err(error @ ArtifactError::InvalidUri { .. }) => {
                    let text = error.to_string();
                    assert!(text.contains(reason), "{uri:?}: {text}");
                    assert!(text.contains(&format!("{uri:?}")), "{uri:?}: {text}");
                }
                other => panic!("{uri:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn an_object_uri_splits_before_generations() {
        let table = [
            (
                "s3://b/p/generations/ns/n/uid/input.json",
                "s3://b/p",
                "generations/ns/n/uid/input.json",
            ),
            (
                "s3://bucket/generations/ns/n/uid/input.json",
                "s3://bucket",
                "generations/ns/n/uid/input.json",
            ),
            (
                "s3://bucket/a/b/generations/ns/n/uid/attempts/1/result.json",
                "s3://bucket/a/b",
                "generations/ns/n/uid/attempts/1/result.json",
            ),
            (
                "s3://generations/x/generations/ns/n/uid/input.json",
                "s3://generations/x",
                "generations/ns/n/uid/input.json",
            ),
            (
                "file:///var/lib/app%20gen/generations/ns/n/uid/input.json",
                "file:///var/lib/app%20gen",
                "generations/ns/n/uid/input.json",
            ),
            (
                "file:///generations/ns/n/uid/input.json",
                "file:///",
                "generations/ns/n/uid/input.json",
            ),
        ];
        for (uri, store, key) in table {
            assert_eq!(
                split_object_uri(uri).unwrap(),
                (store.to_owned(), key.to_owned()),
                "{uri}"
            );
        }
    }

    #[test]
    fn object_uris_outside_generations_or_escaping_it_are_refused() {
        let table = [
            "s3://b/p/input.json",
            "s3://bucket",
            "file:///var/lib/appgen/input.json",
            "http://host/generations/ns/n/uid/input.json",
            "generations/ns/n/uid/input.json",
            "s3://b/generations/../../etc/passwd",
            "s3://b/generations/ns//input.json",
            "file:///srv/generations/ns/../../../etc/passwd",
        ];
        for uri in table {
            match split_object_uri(uri) {
                Err(ArtifactError::InvalidUri { .. } | ArtifactError::InvalidKey { .. }) => {}
                other => panic!("{uri:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn the_store_an_object_uri_names_is_the_one_whose_uri_made_it() {
        let local = LocalStore::new("/srv/appgen artifacts".into()).unwrap();
        let key = "generations/default/todo/uid-1/input.json";
        let (store_uri, split_key) = split_object_uri(&local.uri(key)).unwrap();
        assert_eq!(split_key, key);
        let Ok(StoreLocation::Local(reopened)) = parse_store_uri(&store_uri, &no_env) else {
            panic!("{store_uri} did not open");
        };
        assert_eq!(reopened.uri(key), local.uri(key));
    }
}
