//! Basic auth for stations (OCPP security profile 1/2): user name = station id, password checked
//! against a salted SHA-256 kept in the database and mirrored in memory, because the WebSocket
//! handshake callback is synchronous and cannot query the database.
//!
//! Passwords are AuthorizationKeys (machine-set, 16–40 characters), so a fast salted hash is
//! adequate; a slow KDF would put CPU work into every reconnect of every station.
//!
//! A password is only required once the charger has it: the console sets it on the charger first
//! ([`Engine::set_station_password`]), so accepting a charger with a password does not lock it out.

use std::collections::HashMap;
use std::sync::RwLock;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::engine::Engine;
use crate::error::{Error, Result};

/// A station password to set (or clear), and whether the charger is told it first.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct PasswordChange {
    /// None: no password; the station connects without one.
    #[serde(default)]
    pub password: Option<String>,
    /// Send it to the charger first (1.6 `AuthorizationKey`) and require it only once the charger
    /// has accepted it. False when it was entered on the charger by hand.
    #[serde(default = "yes")]
    pub on_charger: bool,
}

fn yes() -> bool {
    true
}

impl Default for PasswordChange {
    fn default() -> Self {
        PasswordChange {
            password: None,
            on_charger: true,
        }
    }
}

/// What setting a password did.
#[derive(Debug, Clone, Serialize, TS)]
pub struct PasswordOutcome {
    /// Whether the station must now present a password.
    pub required: bool,
    /// The charger's answer, when the password was sent to it ("Accepted", "RebootRequired").
    pub charger_answer: Option<String>,
}

/// A station password as OCPP allows it: 16 to 40 characters (OCPP 1.6 `AuthorizationKey`;
/// 2.0.1's `BasicAuthPassword` up to 64) of printable ASCII without spaces.
pub fn check_password(password: &str, protocol: Option<&str>) -> Result<()> {
    let max = if protocol.is_some_and(|p| p.starts_with("ocpp2")) {
        64
    } else {
        40
    };
    let n = password.chars().count();
    if !(16..=max).contains(&n) {
        return Err(Error::Invalid(format!(
            "password: OCPP needs 16 to {max} characters; this one has {n}"
        )));
    }
    if let Some(c) = password.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(Error::Invalid(format!(
            "password: letters, digits and punctuation only, no {c:?}"
        )));
    }
    Ok(())
}

impl Engine {
    /// Set or clear the password a station must present (HTTP Basic auth, security profile 1).
    /// With `on_charger`, the charger is given it first and it is required only when the charger
    /// accepts it, so it is never locked out; otherwise (entered on the charger by hand) it is
    /// required from the next connection. Clearing takes effect at once.
    pub async fn set_station_password(
        &self,
        id: &str,
        change: PasswordChange,
        actor: &str,
    ) -> Result<PasswordOutcome> {
        let station = chargeyard_store::stations::get(&self.inner.store.reader, id)
            .await?
            .ok_or_else(|| Error::StationNotFound(id.to_string()))?;
        let Some(password) = change.password else {
            if station.security_profile == 2 {
                return Err(Error::State(
                    "profile 2 is TLS with the password: choose another security profile before clearing it".into(),
                ));
            }
            self.store_password(id, None).await?;
            return Ok(PasswordOutcome {
                required: false,
                charger_answer: None,
            });
        };
        check_password(&password, station.protocol.as_deref())?;
        let mut charger_answer = None;
        if change.on_charger {
            if !self.is_connected(id) {
                return Err(Error::State(format!(
                    "station {id} is not connected, so the password cannot be set on it; connect it first, or enter the password on the charger yourself and say so here"
                )));
            }
            let now_needs = if station.has_password {
                "its old password"
            } else {
                "no password"
            };
            let answer = self.send_password(id, &password, actor).await?;
            if !matches!(answer.as_str(), "Accepted" | "RebootRequired") {
                return Err(Error::ChargerRefused(format!(
                    "the charger answered {answer} to the new password; nothing changed, it still connects with {now_needs}"
                )));
            }
            charger_answer = Some(answer);
        }
        self.store_password(id, Some(&password)).await?;
        Ok(PasswordOutcome {
            required: true,
            charger_answer,
        })
    }

    /// Give the charger its new password (1.6 AuthorizationKey, 2.x BasicAuthPassword); its
    /// answer. The logs show it hidden.
    async fn send_password(&self, id: &str, password: &str, actor: &str) -> Result<String> {
        let intent = crate::protocol::Intent::SetPassword {
            password: password.to_string(),
        };
        Ok(self.intent(id, intent, actor).await?.status)
    }
}

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

/// What a station must present at the handshake, mirrored in memory (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Its password hash; None: no password required.
    pub hash: Option<String>,
    /// Its security profile as set by the operator: 2 and 3 require TLS, 3 a client certificate.
    pub profile: u8,
    /// The names its client certificate may carry as its common name: its id and serial numbers.
    pub certificate_names: Vec<String>,
}

/// How a connection reached us: what the handshake checks against the station's profile, and
/// what the station view shows.
#[derive(Debug, Clone, Default, Serialize, TS)]
pub struct Transport {
    /// Over TLS (`wss://`).
    pub tls: bool,
    /// The client certificate it presented, which chains to a CA we trust (TLS checked that).
    pub client_certificate: Option<crate::tls::CertificateSummary>,
}

/// In-memory mirror of station ids → what each must present.
#[derive(Default)]
pub struct Credentials {
    map: RwLock<HashMap<String, Access>>,
    /// Serials of client certificates revoked (their station was rejected or removed).
    revoked: RwLock<std::collections::HashSet<String>>,
}

/// What the handshake decides about credentials.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthDecision {
    Allowed,
    /// 401 for this reason.
    Denied(Refusal),
}

/// Why a known station's connection is refused at the handshake. Its [`Refusal::code`] is what
/// is stored and shown (translated) to the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoPassword,
    WrongUser,
    WrongPassword,
    UnsupportedProtocol,
    Unavailable,
    /// Profile 2 or 3 over plain `ws://`.
    TlsRequired,
    /// Profile 3 without a client certificate.
    CertificateRequired,
    /// Profile 3 with a certificate issued to another name.
    CertificateMismatch,
    /// A certificate revoked when its station was rejected or removed.
    CertificateRevoked,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NoPassword => "no_password",
            Refusal::WrongUser => "wrong_user",
            Refusal::WrongPassword => "wrong_password",
            Refusal::UnsupportedProtocol => "unsupported_protocol",
            Refusal::Unavailable => "unavailable",
            Refusal::TlsRequired => "tls_required",
            Refusal::CertificateRequired => "certificate_required",
            Refusal::CertificateMismatch => "certificate_mismatch",
            Refusal::CertificateRevoked => "certificate_revoked",
        }
    }

    /// What the charger is told.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::NoPassword => "this station requires HTTP Basic authentication",
            Refusal::WrongUser => "the user name must be the station id",
            Refusal::WrongPassword => "wrong password",
            Refusal::UnsupportedProtocol => "unsupported subprotocol",
            Refusal::Unavailable => "credentials unavailable",
            Refusal::TlsRequired => "this station must connect over TLS (wss://)",
            Refusal::CertificateRequired => "this station must present a client certificate",
            Refusal::CertificateMismatch => "the client certificate is not issued to this station",
            Refusal::CertificateRevoked => "the client certificate was revoked",
        }
    }
}

impl Credentials {
    pub fn load(entries: Vec<(String, Access)>, revoked: Vec<String>) -> Self {
        Credentials {
            map: RwLock::new(entries.into_iter().collect()),
            revoked: RwLock::new(revoked.into_iter().collect()),
        }
    }

    /// Refuse these certificates from now on.
    pub fn revoke(&self, serials: Vec<String>) {
        if let Ok(mut r) = self.revoked.write() {
            r.extend(serials);
        }
    }

    /// Change what a station must present.
    pub fn update(&self, station: &str, change: impl FnOnce(&mut Access)) {
        if let Ok(mut m) = self.map.write() {
            change(m.entry(station.to_string()).or_default());
        }
    }

    pub fn remove(&self, station: &str) {
        if let Ok(mut m) = self.map.write() {
            m.remove(station);
        }
    }

    pub fn check(
        &self,
        station: &str,
        authorization: Option<&str>,
        transport: &Transport,
    ) -> AuthDecision {
        let access = match self.map.read() {
            Ok(m) => m.get(station).cloned().unwrap_or_default(),
            Err(_) => return AuthDecision::Denied(Refusal::Unavailable),
        };
        if let Some(c) = &transport.client_certificate {
            match self.revoked.read() {
                Ok(r) if r.contains(&c.serial) => {
                    return AuthDecision::Denied(Refusal::CertificateRevoked);
                }
                Ok(_) => {}
                Err(_) => return AuthDecision::Denied(Refusal::Unavailable),
            }
        }
        if access.profile >= 2 && !transport.tls {
            return AuthDecision::Denied(Refusal::TlsRequired);
        }
        if access.profile == 3 {
            // Profile 3 is the certificate, not a password.
            return match &transport.client_certificate {
                None => AuthDecision::Denied(Refusal::CertificateRequired),
                Some(c) if !access.certificate_names.contains(&c.subject) => {
                    AuthDecision::Denied(Refusal::CertificateMismatch)
                }
                Some(_) => AuthDecision::Allowed,
            };
        }
        let Some(hash) = access.hash else {
            return AuthDecision::Allowed;
        };
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return AuthDecision::Denied(Refusal::NoPassword);
        };
        if user != station {
            return AuthDecision::Denied(Refusal::WrongUser);
        }
        if verify(&hash, &password) {
            AuthDecision::Allowed
        } else {
            AuthDecision::Denied(Refusal::WrongPassword)
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
