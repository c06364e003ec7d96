//! The data directory of `appgen serve`: the database, the admin token, and where the server
//! listens, so that other commands on the same machine find it with no set-up.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use rand::RngCore;
use serde_json::json;

use crate::Error;

const TOKEN_FILE: &str = "admin-token";
const SERVER_FILE: &str = "server.json";
const DATABASE_FILE: &str = "appgen.db";

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::DataDir {
        path: path.to_owned(),
        source,
    }
}

/// A data directory that exists, readable only by its owner.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn create(root: &Path) -> Result<Self, Error> {
        fs::create_dir_all(root).map_err(io_error(root))?;
        fs::set_permissions(root, fs::Permissions::from_mode(0o700)).map_err(io_error(root))?;
        Ok(DataDir {
            root: root.to_owned(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn database(&self) -> PathBuf {
        self.root.join(DATABASE_FILE)
    }

    /// The admin bearer token, created (mode 0600) on first start.
    pub fn admin_token(&self) -> Result<String, Error> {
        let path = self.root.join(TOKEN_FILE);
        match fs::read_to_string(&path) {
            Ok(token) if !token.trim().is_empty() => return Ok(token.trim().to_owned()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path)(e)),
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_error(&path))?;
        file.write_all(token.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io_error(&path))?;
        Ok(token)
    }

    /// Records the address `serve` listens on, for `appgen kubeconfig` and the user verbs.
    pub fn record_server(&self, url: &str) -> Result<(), Error> {
        let path = self.root.join(SERVER_FILE);
        // Written whole or not at all: other commands read it while serve starts.
        let temp = self.root.join(format!("{SERVER_FILE}.tmp"));
        fs::write(&temp, json!({ "url": url }).to_string()).map_err(io_error(&temp))?;
        fs::rename(&temp, &path).map_err(io_error(&path))
    }
}

/// What an `appgen serve` left in its data directory for clients on this machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    /// Where it listens, e.g. `https://127.0.0.1:8080`.
    pub url: String,
    pub admin_token: Option<String>,
    /// The CA its HTTPS certificates come from (PEM).
    pub ca_pem: Option<String>,
}

impl Served {
    /// What the data directory `root` holds, or None when no `serve` has run with it.
    pub fn read(root: &Path) -> Option<Served> {
        let text = fs::read_to_string(root.join(SERVER_FILE)).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        let url = value["url"].as_str()?.to_owned();
        let admin_token = fs::read_to_string(root.join(TOKEN_FILE))
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        Some(Served {
            url,
            admin_token,
            ca_pem: crate::tls::ca_pem(root),
        })
    }
}

/// A kubeconfig that kubectl uses as is: the server's URL and the admin token.
pub fn kubeconfig(root: &Path) -> Result<String, Error> {
    let not_served = || Error::NotServed(root.display().to_string());
    let served = Served::read(root).ok_or_else(not_served)?;
    let token = served.admin_token.ok_or_else(not_served)?;
    let ca = served.ca_pem.ok_or_else(not_served)?;
    let ca_data = base64::engine::general_purpose::STANDARD.encode(ca);
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "appgen", "cluster": { "server": served.url, "certificate-authority-data": ca_data } }],
        "users": [{ "name": "appgen-admin", "user": { "token": token } }],
        "contexts": [{ "name": "appgen", "context": { "cluster": "appgen", "user": "appgen-admin", "namespace": "default" } }],
        "current-context": "appgen",
    });
    serde_saphyr::to_string(&config).map_err(|e| Error::Yaml(e.to_string()))
}
