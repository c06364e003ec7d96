//! Which server the verbs talk to, and with which token: flags and environment first, then what
//! `appgen login` saved, then the `appgen serve` of a data directory on this machine. The choice
//! is a pure function of what was found; reading and writing the files is thin.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Connection, Error};
use crate::data_dir::Served;

/// The data directory of `appgen serve` when none is named.
const DEFAULT_DATA_DIR: &str = "./.appgen";

/// What `appgen login` saves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub server: String,
    pub token: String,
}

/// Where to connect, and what to trust and send there.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The base URL, without a trailing `/`.
    pub server: String,
    pub token: String,
    /// Where the token came from, for error messages.
    pub token_source: String,
    /// A CA to trust besides the system's: that of the `appgen serve` whose address this is.
    pub ca_pem: Option<String>,
}

/// Everything that may say where to connect.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `--server` or APPGEN_SERVER.
    pub server: Option<String>,
    /// `--token` or APPGEN_TOKEN.
    pub token: Option<String>,
    /// The saved configuration and its path.
    pub config: Option<(PathBuf, Config)>,
    /// The data directory looked in, and what it holds.
    pub data_dir: PathBuf,
    pub served: Option<Served>,
    /// Whether the data directory was named (`--data-dir`, APPGEN_DATA_DIR): then it comes before
    /// the saved configuration.
    pub data_dir_named: bool,
}

const FROM_ENV: &str = "the token from --token or APPGEN_TOKEN";

/// The server and token that `sources` pick.
pub fn resolve(sources: &Sources) -> Result<Target, Error> {
    let from_config = |server: &str| {
        sources
            .config
            .as_ref()
            .filter(|(_, c)| same_server(&c.server, server))
            .map(|(path, c)| {
                (
                    c.token.clone(),
                    format!("the token `appgen login` saved in {}", path.display()),
                )
            })
    };
    let served = sources.served.as_ref();
    let from_served = |server: &str| {
        served
            .filter(|s| same_server(&s.url, server))
            .and_then(|s| s.admin_token.clone())
            .map(|t| {
                (
                    t,
                    format!(
                        "the admin token in {}",
                        sources.data_dir.join("admin-token").display()
                    ),
                )
            })
    };
    let no_server = || Error::NoServer {
        data_dir: sources.data_dir.display().to_string(),
    };
    let saved = sources.config.as_ref().map(|(_, c)| c.server.clone());
    let local = served.map(|s| s.url.clone());
    let server = match &sources.server {
        Some(server) => normalize(server)?,
        None if sources.data_dir_named => local.ok_or_else(no_server)?,
        None => saved.or(local).ok_or_else(no_server)?,
    };
    // A saved or admin token goes only to the server it belongs to.
    let token = match &sources.token {
        Some(token) => Some((token.clone(), FROM_ENV.to_owned())),
        None if sources.data_dir_named => from_served(&server).or_else(|| from_config(&server)),
        None => from_config(&server).or_else(|| from_served(&server)),
    };
    let (token, token_source) = token.ok_or_else(|| Error::NoToken {
        server: server.clone(),
    })?;
    Ok(Target {
        ca_pem: served
            .filter(|s| same_server(&s.url, &server))
            .and_then(|s| s.ca_pem.clone()),
        server,
        token,
        token_source,
    })
}

/// A server URL as the verbs keep it: http or https, no trailing `/`.
pub fn normalize(server: &str) -> Result<String, Error> {
    let server = server.trim().trim_end_matches('/');
    let ok = server
        .parse::<http::Uri>()
        .ok()
        .filter(|uri| matches!(uri.scheme_str(), Some("http" | "https")) && uri.authority().is_some());
    match ok {
        Some(_) => Ok(server.to_owned()),
        None => Err(Error::Usage(format!(
            "{server:?} is not a server URL: give one like https://appgen.example.com or http://127.0.0.1:8080"
        ))),
    }
}

/// Whether two URLs name the same server. `appgen serve` answers http and https on one port, so
/// the scheme does not matter.
pub fn same_server(a: &str, b: &str) -> bool {
    let authority = |url: &str| {
        url.trim()
            .parse::<http::Uri>()
            .ok()
            .filter(|u| u.scheme().is_some())
            .and_then(|u| u.authority().map(|a| a.as_str().to_ascii_lowercase()))
    };
    authority(a).is_some() && authority(a) == authority(b)
}

/// Where `appgen login` saves: `$XDG_CONFIG_HOME/appgen/config.json`, else
/// `~/.config/appgen/config.json`.
pub fn config_path(xdg_config_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    // The XDG spec says to ignore a relative XDG_CONFIG_HOME.
    let base = xdg_config_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home.map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("appgen").join("config.json"))
}

fn this_config_path() -> Option<PathBuf> {
    config_path(std::env::var_os("XDG_CONFIG_HOME"), std::env::var_os("HOME"))
}

/// The saved configuration, if there is one.
fn load_config(path: &Path) -> Result<Option<Config>, Error> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::file(path)(e)),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| Error::Config {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Saves `config` readable by its owner alone; a reader never sees half a file.
pub fn save_config(config: &Config) -> Result<PathBuf, Error> {
    let path = this_config_path().ok_or_else(|| {
        Error::Usage(
            "neither XDG_CONFIG_HOME nor HOME is set, so there is nowhere to save the login".to_owned(),
        )
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(Error::file(dir))?;
    let temp = dir.join(".config.json.tmp");
    let _ = fs::remove_file(&temp);
    let json = serde_json::to_string_pretty(config).map_err(|e| Error::Config {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .map_err(Error::file(&temp))?;
    file.write_all(json.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(Error::file(&temp))?;
    fs::rename(&temp, &path).map_err(Error::file(&path))?;
    Ok(path)
}

/// The data directory named by `--data-dir` or APPGEN_DATA_DIR, or the default, and whether it
/// was named.
pub fn data_dir(named: Option<&Path>) -> (PathBuf, bool) {
    match named {
        Some(dir) => (dir.to_owned(), true),
        None => (PathBuf::from(DEFAULT_DATA_DIR), false),
    }
}

/// Reads what the flags, the environment and the files on this machine say.
pub fn sources(connection: &Connection) -> Result<Sources, Error> {
    let config = match this_config_path() {
        Some(path) => load_config(&path)?.map(|c| (path, c)),
        None => None,
    };
    let (data_dir, data_dir_named) = data_dir(connection.data_dir.as_deref());
    Ok(Sources {
        server: connection.server.clone().filter(|s| !s.trim().is_empty()),
        token: connection.token.clone().filter(|t| !t.trim().is_empty()),
        config,
        served: Served::read(&data_dir),
        data_dir,
        data_dir_named,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(url: &str) -> Served {
        Served {
            url: url.into(),
            admin_token: Some("admin".into()),
            ca_pem: Some("CA".into()),
        }
    }

    fn config(server: &str) -> Option<(PathBuf, Config)> {
        Some((
            PathBuf::from("/home/ann/.config/appgen/config.json"),
            Config {
                server: server.into(),
                token: "saved".into(),
            },
        ))
    }

    const LOCAL: &str = "https://127.0.0.1:8080";
    const REMOTE: &str = "https://appgen.example.com";

    #[test]
    fn flags_then_the_saved_login_then_the_local_serve_say_where_to_connect() {
        // (server flag, token flag, saved login, serve's data dir, data dir named) → (server, token, CA?)
        let cases: Vec<(Sources, &str, &str, bool)> = vec![
            (
                Sources {
                    served: Some(served(LOCAL)),
                    ..Sources::default()
                },
                LOCAL,
                "admin",
                true,
            ),
            (
                Sources {
                    config: config(REMOTE),
                    served: Some(served(LOCAL)),
                    ..Sources::default()
                },
                REMOTE,
                "saved",
                false,
            ),
            (
                Sources {
                    config: config(REMOTE),
                    served: Some(served(LOCAL)),
                    data_dir_named: true,
                    ..Sources::default()
                },
                LOCAL,
                "admin",
                true,
            ),
            (
                Sources {
                    server: Some("http://127.0.0.1:8080/".into()),
                    config: config(REMOTE),
                    served: Some(served(LOCAL)),
                    ..Sources::default()
                },
                "http://127.0.0.1:8080",
                "admin",
                true,
            ),
            (
                Sources {
                    token: Some("env".into()),
                    config: config(REMOTE),
                    ..Sources::default()
                },
                REMOTE,
                "env",
                false,
            ),
            (
                Sources {
                    server: Some(REMOTE.into()),
                    token: Some("env".into()),
                    served: Some(served(LOCAL)),
                    ..Sources::default()
                },
                REMOTE,
                "env",
                false,
            ),
        ];
        for (sources, server, token, ca) in cases {
            let target = resolve(&sources).unwrap_or_else(|e| panic!("{sources:?}: {e}"));
            assert_eq!(
                (
                    target.server.as_str(),
                    target.token.as_str(),
                    target.ca_pem.is_some()
                ),
                (server, token, ca),
                "{sources:?}"
            );
        }
    }

    #[test]
    fn a_token_goes_only_to_the_server_it_belongs_to() {
        let sources = Sources {
            server: Some("https://elsewhere.example.com".into()),
            config: config(REMOTE),
            served: Some(served(LOCAL)),
            ..Sources::default()
        };
        assert!(matches!(resolve(&sources), Err(Error::NoToken { .. })));
        assert!(matches!(
            resolve(&Sources::default()),
            Err(Error::NoServer { .. })
        ));
        let named_but_not_served = Sources {
            config: config(REMOTE),
            data_dir_named: true,
            ..Sources::default()
        };
        assert!(matches!(
            resolve(&named_but_not_served),
            Err(Error::NoServer { .. })
        ));
        let bad = Sources {
            server: Some("appgen.example.com".into()),
            token: Some("t".into()),
            ..Sources::default()
        };
        assert!(matches!(resolve(&bad), Err(Error::Usage(_))));
    }

    #[test]
    fn servers_are_the_same_whatever_the_scheme_and_trailing_slash() {
        let cases = [
            ("https://127.0.0.1:8080", "http://127.0.0.1:8080/", true),
            ("https://127.0.0.1:8080", "https://127.0.0.1:8081", false),
            ("https://Appgen.example.com", "https://appgen.example.com/", true),
            ("nonsense", "nonsense", false),
        ];
        for (a, b, same) in cases {
            assert_eq!(same_server(a, b), same, "{a} {b}");
        }
    }

    #[test]
    fn the_config_lives_in_the_xdg_config_home_or_under_home() {
        let cases = [
            (
                Some("/x/cfg"),
                Some("/home/ann"),
                Some("/x/cfg/appgen/config.json"),
            ),
            (
                Some("relative"),
                Some("/home/ann"),
                Some("/home/ann/.config/appgen/config.json"),
            ),
            (
                None,
                Some("/home/ann"),
                Some("/home/ann/.config/appgen/config.json"),
            ),
            (None, None, None),
        ];
        for (xdg, home, expected) in cases {
            assert_eq!(
                config_path(xdg.map(OsString::from), home.map(OsString::from)),
                expected.map(PathBuf::from),
                "{xdg:?} {home:?}"
            );
        }
    }
}
