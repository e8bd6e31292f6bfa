//! Basic auth for stations (OCPP security profile 1/2): user name = station id, password checked
//! against a salted SHA-256 kept in the database and mirrored in memory, because the WebSocket
//! handshake callback is synchronous and cannot query the database.
//!
//! Passwords are AuthorizationKeys (machine-set, 16–40 characters), so a fast salted hash is
//! adequate; a slow KDF would put CPU work into every reconnect of every station.

use std::collections::HashMap;
use std::sync::RwLock;

use base64::Engine as _;
use sha2::{Digest, Sha256};

pub fn hash_password(password: &str) -> String {
    let salt: [u8; 16] = rand::random();
    let salt = hex(&salt);
    format!("sha256${salt}${}", digest(&salt, password.as_bytes()))
}

fn digest(salt: &str, password: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(password);
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.is_empty() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Check a password as sent: as bytes, and also hex-decoded or hex-encoded, because chargers
/// differ in how they send the AuthorizationKey.
pub fn verify(stored: &str, given: &[u8]) -> bool {
    let mut parts = stored.splitn(3, '$');
    let (Some("sha256"), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let mut candidates = vec![given.to_vec(), hex(given).into_bytes()];
    if let Some(decoded) = std::str::from_utf8(given).ok().and_then(unhex) {
        candidates.push(decoded);
    }
    candidates.iter().any(|c| equal(&digest(salt, c), expected))
}

/// Read `Authorization: Basic …` into (user, password bytes).
pub fn parse_basic(header: &str) -> Option<(String, Vec<u8>)> {
    let b64 = header
        .trim()
        .strip_prefix("Basic ")
        .or_else(|| header.trim().strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let colon = raw.iter().position(|b| *b == b':')?;
    let user = String::from_utf8(raw[..colon].to_vec()).ok()?;
    Some((user, raw[colon + 1..].to_vec()))
}

/// In-memory mirror of station ids → password hash (None: no password required).
#[derive(Default)]
pub struct Credentials {
    map: RwLock<HashMap<String, Option<String>>>,
}

/// What the handshake decides about credentials.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthDecision {
    Allowed,
    /// 401 with this reason.
    Denied(&'static str),
}

impl Credentials {
    pub fn load(entries: Vec<(String, Option<String>)>) -> Self {
        Credentials {
            map: RwLock::new(entries.into_iter().collect()),
        }
    }

    pub fn set(&self, station: &str, hash: Option<String>) {
        if let Ok(mut m) = self.map.write() {
            m.insert(station.to_string(), hash);
        }
    }

    pub fn remove(&self, station: &str) {
        if let Ok(mut m) = self.map.write() {
            m.remove(station);
        }
    }

    pub fn check(&self, station: &str, authorization: Option<&str>) -> AuthDecision {
        let hash = match self.map.read() {
            Ok(m) => m.get(station).cloned().flatten(),
            Err(_) => return AuthDecision::Denied("credentials unavailable"),
        };
        let Some(hash) = hash else {
            return AuthDecision::Allowed;
        };
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return AuthDecision::Denied("this station requires HTTP Basic authentication");
        };
        if user != station {
            return AuthDecision::Denied("the user name must be the station id");
        }
        if verify(&hash, &password) {
            AuthDecision::Allowed
        } else {
            AuthDecision::Denied("wrong password")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_as_bytes_and_hex() {
        let h = hash_password("s3cret-key-0123456");
        assert!(verify(&h, b"s3cret-key-0123456"));
        assert!(
            verify(&h, hex(b"s3cret-key-0123456").as_bytes()),
            "hex-encoded key accepted"
        );
        assert!(!verify(&h, b"wrong"));
        let h = hash_password("00ff10");
        assert!(
            verify(&h, &[0x00, 0xff, 0x10]),
            "raw bytes of a hex key accepted"
        );
    }

    #[test]
    fn basic_header_parses() {
        let (u, p) = parse_basic("Basic Q1AwMTpwYXNz").expect("valid");
        assert_eq!((u.as_str(), p.as_slice()), ("CP01", &b"pass"[..]));
    }
}
