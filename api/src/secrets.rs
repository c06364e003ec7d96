//! Making and checking secrets: random tokens, their hashes, password hashes.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::Error;

/// Where random bytes come from; tests pass a seeded one so their tokens repeat.
pub type Entropy = Arc<dyn Fn(&mut [u8]) + Send + Sync>;

/// A generator seeded from the operating system, for everything that must not be guessed.
pub fn system_entropy() -> Entropy {
    Arc::new(|buf: &mut [u8]| rand::RngCore::fill_bytes(&mut rand::rng(), buf))
}

/// 256 random bits, URL-safe, after a prefix that says what the secret is (`appgen_pat_`), so a
/// leaked one is easy to recognise in a scan.
pub fn random_secret(entropy: &Entropy, prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    entropy(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A short random identifier for records (not a secret).
pub fn random_id(entropy: &Entropy) -> String {
    let mut bytes = [0u8; 9];
    entropy(&mut bytes);
    URL_SAFE_NO_PAD
        .encode(bytes)
        .replace(['-', '_'], "x")
        .to_ascii_lowercase()
}

/// How high-entropy secrets (session ids, API tokens, invites) are stored.
pub fn sha256_hex(secret: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// An argon2id hash (PHC string) of `password` with a fresh salt. Slow on purpose: run it off
/// the async threads.
pub fn hash_password(password: &str, entropy: &Entropy) -> Result<String, Error> {
    let mut salt = [0u8; 16];
    entropy(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| Error::Internal(format!("encoding a password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
}

/// Whether `password` matches `hash`. A malformed hash matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Compares without an early exit, so timing says nothing about how much of a token matched.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counting() -> Entropy {
        let next = std::sync::atomic::AtomicU8::new(0);
        Arc::new(move |buf: &mut [u8]| {
            for b in buf {
                *b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    }

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let entropy = counting();
        let hash = hash_password("correct horse battery", &entropy).unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
    }

    #[test]
    fn secrets_are_prefixed_and_distinct_and_hashes_are_stable() {
        let entropy = counting();
        let a = random_secret(&entropy, "appgen_pat_");
        let b = random_secret(&entropy, "appgen_pat_");
        assert!(
            a.starts_with("appgen_pat_") && a.len() == "appgen_pat_".len() + 43,
            "{a}"
        );
        assert_ne!(a, b);
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }
}
