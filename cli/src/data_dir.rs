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

    fn server_url(&self) -> Result<String, Error> {
        let path = self.root.join(SERVER_FILE);
        let text =
            fs::read_to_string(&path).map_err(|_| Error::NotServed(self.root.display().to_string()))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| Error::NotServed(self.root.display().to_string()))?;
        value["url"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::NotServed(self.root.display().to_string()))
    }
}

/// A kubeconfig that kubectl uses as is: the server's URL and the admin token.
pub fn kubeconfig(root: &Path) -> Result<String, Error> {
    let dir = DataDir {
        root: root.to_owned(),
    };
    let url = dir.server_url()?;
    if !root.join(TOKEN_FILE).exists() {
        return Err(Error::NotServed(root.display().to_string()));
    }
    let token = dir.admin_token()?;
    let ca = crate::tls::ca_pem(root).ok_or_else(|| Error::NotServed(root.display().to_string()))?;
    let ca_data = base64::engine::general_purpose::STANDARD.encode(ca);
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "appgen", "cluster": { "server": url, "certificate-authority-data": ca_data } }],
        "users": [{ "name": "appgen-admin", "user": { "token": token } }],
        "contexts": [{ "name": "appgen", "context": { "cluster": "appgen", "user": "appgen-admin", "namespace": "default" } }],
        "current-context": "appgen",
    });
    serde_saphyr::to_string(&config).map_err(|e| Error::Yaml(e.to_string()))
}
