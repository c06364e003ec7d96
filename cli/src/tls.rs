//! TLS for `appgen serve`. kubectl (client-go) sends bearer tokens only over TLS, so the
//! Kubernetes-compatible API must be reachable over HTTPS. A private CA is created once in the
//! data directory (kubeconfigs embed it, so they stay valid across restarts) and a server
//! certificate for the listen address is issued from it at each start.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::Error;

const CA_CERT: &str = "ca.crt";
const CA_KEY: &str = "ca.key";

fn tls_error(what: &str) -> impl FnOnce(rcgen::Error) -> Error + '_ {
    move |e| Error::Tls(format!("{what}: {e}"))
}

/// The CA's parameters are fixed, so the issuer can be rebuilt from its stored key alone.
fn ca_params() -> Result<CertificateParams, Error> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error("CA parameters"))?;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params
        .distinguished_name
        .push(DnType::CommonName, "appgen local CA");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2045, 1, 1);
    Ok(params)
}

fn write_private(path: &Path, contents: &str) -> Result<(), Error> {
    let io = |source| Error::DataDir {
        path: path.to_owned(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io)
}

/// The data directory's CA, created on first use. Returns its certificate (PEM) and key.
fn load_or_create_ca(dir: &Path) -> Result<(String, KeyPair), Error> {
    let (cert_path, key_path) = (dir.join(CA_CERT), dir.join(CA_KEY));
    if let (Ok(cert), Ok(key)) = (fs::read_to_string(&cert_path), fs::read_to_string(&key_path)) {
        return Ok((
            cert,
            KeyPair::from_pem(&key).map_err(tls_error("reading the CA key"))?,
        ));
    }
    let key = KeyPair::generate().map_err(tls_error("generating the CA key"))?;
    let cert = ca_params()?
        .self_signed(&key)
        .map_err(tls_error("signing the CA certificate"))?;
    write_private(&key_path, &key.serialize_pem())?;
    fs::write(&cert_path, cert.pem()).map_err(|source| Error::DataDir {
        path: cert_path.clone(),
        source,
    })?;
    Ok((cert.pem(), key))
}

/// The CA certificate (PEM) of a data directory, for kubeconfigs.
pub fn ca_pem(dir: &Path) -> Option<String> {
    fs::read_to_string(dir.join(CA_CERT)).ok()
}

/// A rustls server configuration with a fresh certificate for `listen` (and the loopback names).
pub fn server_config(dir: &Path, listen: SocketAddr) -> Result<Arc<rustls::ServerConfig>, Error> {
    let (_, ca_key) = load_or_create_ca(dir)?;
    let issuer = Issuer::new(ca_params()?, ca_key);
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
        names.push(listen.ip().to_string());
    }
    let mut params = CertificateParams::new(names).map_err(tls_error("server certificate parameters"))?;
    params.distinguished_name.push(DnType::CommonName, "appgen serve");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let key = KeyPair::generate().map_err(tls_error("generating the server key"))?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(tls_error("signing the server certificate"))?;
    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(|e| Error::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The address clients should use for a listen address: an unspecified one means this machine.
pub fn client_host(listen: SocketAddr) -> String {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => format!("127.0.0.1:{}", listen.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => format!("[::1]:{}", listen.port()),
        _ => listen.to_string(),
    }
}
