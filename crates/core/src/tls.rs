//! TLS for chargers: `wss://` beside `ws://` (OCPP security profiles 2 and 3), with rustls and
//! its ring provider (no OpenSSL, nothing to compile with cmake).
//!
//! On first start a certificate authority of this depot is made in `<data dir>/tls/`, and a
//! server certificate for this machine's names and addresses is signed with it: a charger is given
//! the CA certificate once and keeps trusting the server when its certificate is renewed (a month
//! before it expires, or when the machine's addresses change). An operator may import a
//! certificate and key of their own instead. Client certificates (profile 3) must chain to the
//! depot's CA or to a CA the operator trusts; who may use one is decided at the handshake
//! ([`crate::auth`]).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Duration, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use serde::Serialize;
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::error::{Error, Result};

const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key.pem";
const SERVER_CERT: &str = "server.pem";
const SERVER_KEY: &str = "server.key.pem";
const IMPORTED_CERT: &str = "imported.pem";
const IMPORTED_KEY: &str = "imported.key.pem";
const TRUSTED: &str = "trusted-cas.pem";

/// The depot's CA is good for 20 years: chargers keep it that long.
const CA_DAYS: i64 = 20 * 365;
/// Server and station certificates: a year (browsers and chargers increasingly refuse longer).
const LEAF_DAYS: i64 = 365;
/// Renew the server certificate when it has less than this left.
const RENEW_BEFORE_DAYS: i64 = 30;
/// Handshakes refused at the TLS layer kept for the console.
const REFUSALS_KEPT: usize = 50;

/// A certificate as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CertificateSummary {
    /// The subject's common name (else the whole subject).
    pub subject: String,
    /// The subject's organisation, if it has one.
    pub organization: Option<String>,
    pub issuer: String,
    /// Hex, colon-separated, as certificate viewers show it.
    pub serial: String,
    /// Host names and addresses it is valid for.
    pub names: Vec<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// SHA-256 of the certificate, hex, colon-separated: what an installer compares.
    pub sha256: String,
}

/// A connection refused during the TLS handshake, before any station id was known.
#[derive(Debug, Clone, Serialize, TS)]
pub struct TlsRefusal {
    pub at: DateTime<Utc>,
    pub remote_addr: String,
    pub reason: String,
}

/// What the console shows about TLS for chargers.
#[derive(Debug, Clone, Serialize, TS)]
pub struct TlsInfo {
    /// The `wss://` addresses to enter in a charger (its station id appended); empty when the TLS
    /// listener is not running.
    pub charger_urls: Vec<String>,
    /// The depot's certificate authority: install it in chargers.
    pub ca: CertificateSummary,
    /// The same as PEM text, and the file it is kept in.
    pub ca_pem: String,
    pub ca_file: String,
    /// The certificate chargers are shown.
    pub server: CertificateSummary,
    /// The server certificate is the operator's own, not one made here.
    pub imported: bool,
    /// Further CAs whose client certificates are accepted (profile 3).
    pub trusted: Vec<CertificateSummary>,
    /// Recent connections refused during the TLS handshake, newest first.
    pub refused: Vec<TlsRefusal>,
    /// Why `wss://` is not listening, when it is not.
    pub listen_error: Option<String>,
}

/// A certificate and key of the operator's own, in PEM.
#[derive(Debug, Clone, serde::Deserialize, TS)]
pub struct CertificateImport {
    /// The certificate, followed by its intermediate CAs.
    pub certificate_pem: String,
    pub key_pem: String,
}

/// TLS material and the rustls configuration made from it.
pub struct Tls {
    dir: PathBuf,
    loaded: RwLock<Loaded>,
    refusals: Mutex<VecDeque<TlsRefusal>>,
    listen_error: Mutex<Option<String>>,
}

struct Loaded {
    config: Arc<rustls::ServerConfig>,
    /// The same certificate for the console over HTTPS (no client certificates asked for).
    console: Arc<rustls::ServerConfig>,
    ca: CertificateSummary,
    ca_pem: String,
    server: CertificateSummary,
    imported: bool,
    trusted: Vec<CertificateSummary>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("TLS: {what}: {e}"))
}

fn invalid(e: impl std::fmt::Display) -> Error {
    Error::Invalid(e.to_string())
}

impl Tls {
    /// Load the TLS material in `dir`, making the CA and server certificate when missing and a
    /// new server certificate when it is due (see the module docs). `names` are the host names
    /// and addresses the server certificate must cover.
    pub fn open(dir: &Path, names: &[String], now: DateTime<Utc>) -> Result<Tls> {
        std::fs::create_dir_all(dir).map_err(|e| tls_error(&dir.display().to_string(), e))?;
        let tls = Tls {
            dir: dir.to_path_buf(),
            loaded: RwLock::new(load(dir, names, now)?),
            refusals: Mutex::new(VecDeque::new()),
            listen_error: Mutex::new(None),
        };
        Ok(tls)
    }

    /// Renew the server certificate if it is due; true when it was.
    pub fn renew_if_due(&self, names: &[String], now: DateTime<Utc>) -> Result<bool> {
        let before = self.read().server.clone();
        let loaded = load(&self.dir, names, now)?;
        let renewed = loaded.server != before;
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = loaded;
        Ok(renewed)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.loaded.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The acceptor for the next charger connection (the configuration in force now).
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.read().config.clone())
    }

    /// The acceptor for the next console connection over HTTPS.
    pub fn console_acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.read().console.clone())
    }

    /// What the console shows; `charger_urls` are the `wss://` addresses.
    pub fn info(&self, charger_urls: Vec<String>) -> TlsInfo {
        let l = self.read();
        TlsInfo {
            charger_urls,
            ca: l.ca.clone(),
            ca_pem: l.ca_pem.clone(),
            ca_file: self.dir.join(CA_CERT).display().to_string(),
            server: l.server.clone(),
            imported: l.imported,
            trusted: l.trusted.clone(),
            refused: self
                .refusals
                .lock()
                .map(|r| r.iter().cloned().collect())
                .unwrap_or_default(),
            listen_error: self.listen_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    /// Note why `wss://` is not listening (None: it is).
    pub fn set_listen_error(&self, error: Option<String>) {
        if let Ok(mut e) = self.listen_error.lock() {
            *e = error;
        }
    }

    /// The depot's CA certificate, PEM, to install in chargers.
    pub fn ca_pem(&self) -> String {
        self.read().ca_pem.clone()
    }

    /// Note a connection refused during the TLS handshake.
    pub fn refused(&self, remote_addr: &str, reason: String, now: DateTime<Utc>) {
        if let Ok(mut r) = self.refusals.lock() {
            r.push_front(TlsRefusal {
                at: now,
                remote_addr: remote_addr.to_string(),
                reason,
            });
            r.truncate(REFUSALS_KEPT);
        }
    }

    /// Serve the operator's own certificate and key from now on (checked first: PEM, a key that
    /// belongs to the certificate, valid now).
    pub fn import(
        &self,
        import: &CertificateImport,
        names: &[String],
        now: DateTime<Utc>,
    ) -> Result<CertificateSummary> {
        let chain = certificates(&import.certificate_pem)
            .map_err(|e| Error::Invalid(format!("certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(import.key_pem.as_bytes()).map_err(|_| {
            Error::Invalid("key: no private key in PEM (BEGIN PRIVATE KEY, BEGIN EC PRIVATE KEY or BEGIN RSA PRIVATE KEY)".into())
        })?;
        let leaf = summary(&chain[0]).map_err(invalid)?;
        if leaf.not_after <= now {
            return Err(Error::Invalid(format!(
                "certificate: it expired on {}",
                leaf.not_after.format("%Y-%m-%d")
            )));
        }
        if leaf.not_before > now {
            return Err(Error::Invalid(format!(
                "certificate: it is not valid before {}",
                leaf.not_before.format("%Y-%m-%d %H:%M UTC")
            )));
        }
        server_config(chain, key, None).map_err(|e| {
            Error::Invalid(format!("the key does not go with this certificate ({e})"))
        })?;
        write(&self.dir, IMPORTED_CERT, &import.certificate_pem)?;
        write_secret(&self.dir, IMPORTED_KEY, &import.key_pem)?;
        self.renew_if_due(names, now)?;
        Ok(leaf)
    }

    /// Go back to the certificate made here.
    pub fn remove_imported(&self, names: &[String], now: DateTime<Utc>) -> Result<()> {
        for f in [IMPORTED_CERT, IMPORTED_KEY] {
            match std::fs::remove_file(self.dir.join(f)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(tls_error(f, e)),
            }
        }
        self.renew_if_due(names, now).map(|_| ())
    }

    /// Replace the further CAs whose client certificates are accepted (PEM, maybe several;
    /// empty: none).
    pub fn set_trusted(
        &self,
        pem: &str,
        names: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<CertificateSummary>> {
        if pem.trim().is_empty() {
            write(&self.dir, TRUSTED, "")?;
        } else {
            let certs = certificates(pem).map_err(|e| Error::Invalid(format!("CA: {e}")))?;
            let mut roots = RootCertStore::empty();
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| Error::Invalid(format!("CA: not a CA certificate ({e})")))?;
            }
            write(&self.dir, TRUSTED, pem)?;
        }
        self.renew_if_due(names, now)?;
        Ok(self.read().trusted.clone())
    }

    /// Sign a station's certificate signing request (PEM) with the depot's CA: the chain to send
    /// back, leaf first, PEM. Valid from a minute ago (never "not yet valid" on a charger whose
    /// clock is a little behind) for [`LEAF_DAYS`]. Its common name must be one of `names` (the
    /// station's id and serial numbers), else it could not be used.
    pub fn sign_csr(&self, csr_pem: &str, names: &[String], now: DateTime<Utc>) -> Result<String> {
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| Error::Invalid(format!("certificate signing request: {e}")))?;
        csr.params.not_before = offset(now - Duration::minutes(1));
        csr.params.not_after = offset(now + Duration::days(LEAF_DAYS));
        csr.params.is_ca = IsCa::ExplicitNoCa;
        csr.params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        csr.params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        csr.params.serial_number = Some(random_serial());
        let (issuer, ca_pem) = load_ca(&self.dir)?;
        let cert = csr
            .signed_by(&issuer)
            .map_err(|e| tls_error("signing", e))?;
        let subject = summary(cert.der())
            .map_err(|e| tls_error("signing", e))?
            .subject;
        if !names.contains(&subject) {
            return Err(Error::Invalid(format!(
                "the request is for {subject:?}: a station's certificate is issued to its id or serial number ({})",
                names.join(", ")
            )));
        }
        Ok(format!("{}{}", cert.pem(), ca_pem))
    }
}

/// The first certificate of a PEM chain, as the console shows it.
pub fn first_certificate(pem: &str) -> Option<CertificateSummary> {
    certificates(pem).ok().and_then(|c| summary(&c[0]).ok())
}

/// Why a TLS handshake failed, in an installer's words.
pub fn refusal_reason(e: &std::io::Error) -> String {
    use rustls::{AlertDescription, CertificateError, Error as E};
    let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<E>()) else {
        return format!("the connection ended during the TLS handshake ({e})");
    };
    match tls {
        E::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the charger's certificate is not signed by the depot's CA or a CA you trust".into()
        }
        E::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => {
            "the charger's certificate has expired".into()
        }
        E::InvalidCertificate(CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }) => {
            "the charger's certificate is not valid yet (is its clock right?)".into()
        }
        E::InvalidCertificate(other) => format!("the charger's certificate was refused ({other:?})"),
        E::AlertReceived(AlertDescription::UnknownCA | AlertDescription::BadCertificate | AlertDescription::CertificateUnknown) => {
            "the charger does not trust this server's certificate: install the depot's CA certificate in it".into()
        }
        E::AlertReceived(a) => format!("the charger ended the handshake ({a:?})"),
        E::InvalidMessage(_) | E::InappropriateHandshakeMessage { .. } => {
            "not a TLS connection: is the charger set to ws:// on the wss:// port?".into()
        }
        E::NoCertificatesPresented => "the charger presented no certificate".into(),
        other => format!("the TLS handshake failed ({other})"),
    }
}

/// The certificates in a PEM text, at least one.
fn certificates(pem: &str) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| format!("not PEM ({e:?})"))?;
    if certs.is_empty() {
        return Err("no certificate in PEM (BEGIN CERTIFICATE)".into());
    }
    Ok(certs)
}

fn offset(t: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

fn random_serial() -> rcgen::SerialNumber {
    // Positive, 16 bytes: RFC 5280 allows up to 20.
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f;
    rcgen::SerialNumber::from_slice(&bytes)
}

fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    std::fs::write(dir.join(name), text).map_err(|e| tls_error(name, e))
}

/// Write a private key readable by this user only.
fn write_secret(dir: &Path, name: &str, text: &str) -> Result<()> {
    let path = dir.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&path).map_err(|e| tls_error(name, e))?;
    std::io::Write::write_all(&mut f, text.as_bytes()).map_err(|e| tls_error(name, e))
}

fn read(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name)).ok()
}

/// The depot's CA, made on first use.
fn load_ca(dir: &Path) -> Result<(Issuer<'static, KeyPair>, String)> {
    if let (Some(cert), Some(key)) = (read(dir, CA_CERT), read(dir, CA_KEY)) {
        let key = KeyPair::from_pem(&key).map_err(|e| tls_error(CA_KEY, e))?;
        let issuer = Issuer::from_ca_cert_pem(&cert, key).map_err(|e| tls_error(CA_CERT, e))?;
        return Ok((issuer, cert));
    }
    let now = Utc::now();
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        format!("Chargeyard depot CA {}", host_label()),
    );
    dn.push(DnType::OrganizationName, "Chargeyard");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = offset(now - Duration::hours(1));
    params.not_after = offset(now + Duration::days(CA_DAYS));
    params.serial_number = Some(random_serial());
    let key = KeyPair::generate().map_err(|e| tls_error("CA key", e))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| tls_error("CA certificate", e))?;
    write_secret(dir, CA_KEY, &key.serialize_pem())?;
    write(dir, CA_CERT, &cert.pem())?;
    Ok((Issuer::new(params, key), cert.pem()))
}

fn host_label() -> String {
    crate::engine::host_name().unwrap_or_else(|| "this machine".into())
}

/// Make a server certificate for `names` signed by the depot's CA: chain PEM (leaf, CA), key PEM.
fn make_server_certificate(
    issuer: &Issuer<'static, KeyPair>,
    ca_pem: &str,
    names: &[String],
) -> Result<(String, String)> {
    let now = Utc::now();
    let sans = names
        .iter()
        .map(|n| match n.parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => n
                .clone()
                .try_into()
                .map(SanType::DnsName)
                .map_err(|e| tls_error(n, e)),
        })
        .collect::<Result<Vec<_>>>()?;
    let mut params = CertificateParams::default();
    params.subject_alt_names = sans;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, host_label());
    dn.push(DnType::OrganizationName, "Chargeyard");
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = offset(now - Duration::minutes(5));
    params.not_after = offset(now + Duration::days(LEAF_DAYS));
    params.serial_number = Some(random_serial());
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().map_err(|e| tls_error("server key", e))?;
    let cert = params
        .signed_by(&key, issuer)
        .map_err(|e| tls_error("server certificate", e))?;
    Ok((format!("{}{}", cert.pem(), ca_pem), key.serialize_pem()))
}

/// Whether our server certificate must be made anew: missing, unreadable, due, or not covering
/// one of `names`.
fn server_due(dir: &Path, names: &[String], now: DateTime<Utc>) -> bool {
    let Some(pem) = read(dir, SERVER_CERT) else {
        return true;
    };
    let Ok(leaf) = certificates(&pem)
        .map_err(|_| ())
        .and_then(|c| summary(&c[0]).map_err(|_| ()))
    else {
        return true;
    };
    leaf.not_after - now < Duration::days(RENEW_BEFORE_DAYS)
        || names.iter().any(|n| !leaf.names.contains(n))
}

/// The CA certificates that client certificates may chain to: the depot's and the trusted ones.
fn trusted_roots(dir: &Path, ca_pem: &str) -> Result<(RootCertStore, Vec<CertificateSummary>)> {
    let mut roots = RootCertStore::empty();
    let ca = certificates(ca_pem).map_err(|e| tls_error(CA_CERT, e))?;
    roots
        .add(ca[0].clone())
        .map_err(|e| tls_error(CA_CERT, e))?;
    let mut trusted = Vec::new();
    if let Some(pem) = read(dir, TRUSTED).filter(|p| !p.trim().is_empty()) {
        for c in certificates(&pem).map_err(|e| tls_error(TRUSTED, e))? {
            trusted.push(summary(&c).map_err(|e| tls_error(TRUSTED, e))?);
            roots.add(c).map_err(|e| tls_error(TRUSTED, e))?;
        }
    }
    Ok((roots, trusted))
}

/// The TLS configuration for `chain` and `key`; with `client_roots`, a client certificate is
/// asked for (chargers) and must chain to one of them, else none is asked for (the console).
fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_roots: Option<&RootCertStore>,
) -> std::result::Result<rustls::ServerConfig, String> {
    // A client certificate is asked for but not required: profile 2 stations have none, and
    // whether a station must present one is decided at the WebSocket handshake, where its id is
    // known.
    let verifier = match client_roots {
        Some(roots) => {
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots.clone()), provider())
                .allow_unauthenticated()
                .build()
                .map_err(|e| e.to_string())?
        }
        None => WebPkiClientVerifier::no_client_auth(),
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn load(dir: &Path, names: &[String], now: DateTime<Utc>) -> Result<Loaded> {
    let (issuer, ca_pem) = load_ca(dir)?;
    let imported = read(dir, IMPORTED_CERT).zip(read(dir, IMPORTED_KEY));
    let (chain_pem, key_pem) = match imported.clone() {
        Some(pair) => pair,
        None => {
            if server_due(dir, names, now) {
                let (chain, key) = make_server_certificate(&issuer, &ca_pem, names)?;
                write_secret(dir, SERVER_KEY, &key)?;
                write(dir, SERVER_CERT, &chain)?;
                tracing::info!("made a new server certificate for {}", names.join(", "));
            }
            let chain = read(dir, SERVER_CERT).unwrap_or_default();
            let key = read(dir, SERVER_KEY).unwrap_or_default();
            (chain, key)
        }
    };
    let chain = certificates(&chain_pem).map_err(|e| tls_error(SERVER_CERT, e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| tls_error(SERVER_KEY, format!("{e:?}")))?;
    let server = summary(&chain[0]).map_err(|e| tls_error(SERVER_CERT, e))?;
    let ca = summary(&certificates(&ca_pem).map_err(|e| tls_error(CA_CERT, e))?[0])
        .map_err(|e| tls_error(CA_CERT, e))?;
    let (roots, trusted) = trusted_roots(dir, &ca_pem)?;
    let console = server_config(chain.clone(), key.clone_key(), None)
        .map_err(|e| tls_error("configuration", e))?;
    let config =
        server_config(chain, key, Some(&roots)).map_err(|e| tls_error("configuration", e))?;
    Ok(Loaded {
        config: Arc::new(config),
        console: Arc::new(console),
        ca,
        ca_pem,
        server,
        imported: imported.is_some(),
        trusted,
    })
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Read what the console shows from a certificate.
pub fn summary(der: &CertificateDer<'_>) -> std::result::Result<CertificateSummary, String> {
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der.as_ref())
        .map_err(|e| format!("not an X.509 certificate ({e})"))?;
    let name_of = |n: &x509_parser::x509::X509Name<'_>| {
        n.iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| n.to_string())
    };
    let time = |t: &x509_parser::time::ASN1Time| {
        DateTime::from_timestamp(t.timestamp(), 0).unwrap_or_default()
    };
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => names.push(d.to_string()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => names.push(
                        IpAddr::from(<[u8; 4]>::try_from(*b).unwrap_or_default()).to_string(),
                    ),
                    16 => names.push(
                        IpAddr::from(<[u8; 16]>::try_from(*b).unwrap_or_default()).to_string(),
                    ),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    Ok(CertificateSummary {
        subject: name_of(cert.subject()),
        organization: cert
            .subject()
            .iter_organization()
            .next()
            .and_then(|o| o.as_str().ok())
            .map(str::to_string),
        issuer: name_of(cert.issuer()),
        serial: colon_hex(cert.raw_serial()),
        names,
        not_before: time(&cert.validity().not_before),
        not_after: time(&cert.validity().not_after),
        sha256: colon_hex(&Sha256::digest(der.as_ref())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["localhost".into(), "127.0.0.1".into()]
    }

    #[test]
    fn the_server_certificate_is_made_once_and_renewed_when_due_or_the_names_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = Utc::now();
        let tls = Tls::open(dir.path(), &names(), now).expect("open");
        let first = tls.info(vec![]);
        assert_eq!(first.server.issuer, first.ca.subject);
        assert!(first.server.names.contains(&"127.0.0.1".to_string()));
        assert!(
            !tls.renew_if_due(&names(), now).expect("renew"),
            "not due yet"
        );
        let reopened = Tls::open(dir.path(), &names(), now).expect("reopen");
        assert_eq!(
            reopened.info(vec![]).server,
            first.server,
            "kept across starts"
        );
        assert_eq!(reopened.info(vec![]).ca, first.ca);

        let mut more = names();
        more.push("10.1.2.3".into());
        assert!(
            tls.renew_if_due(&more, now).expect("renew"),
            "a new address"
        );
        let later = now + Duration::days(LEAF_DAYS - RENEW_BEFORE_DAYS + 1);
        assert!(
            tls.renew_if_due(&more, later).expect("renew"),
            "a month before expiry"
        );
        assert_eq!(tls.info(vec![]).ca, first.ca, "the CA stays");
    }

    #[test]
    fn an_imported_certificate_is_checked_and_served_until_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = Utc::now();
        let tls = Tls::open(dir.path(), &names(), now).expect("open");
        let key = KeyPair::generate().expect("key");
        let params = CertificateParams::new(vec!["depot.example".to_string()]).expect("params");
        let cert = params.self_signed(&key).expect("cert");
        let other = KeyPair::generate().expect("other key");
        let wrong = CertificateImport {
            certificate_pem: cert.pem(),
            key_pem: other.serialize_pem(),
        };
        let e = tls
            .import(&wrong, &names(), now)
            .expect_err("mismatched key");
        assert!(e.to_string().contains("does not go with"), "{e}");
        let e = tls
            .import(
                &CertificateImport {
                    certificate_pem: "hello".into(),
                    key_pem: key.serialize_pem(),
                },
                &names(),
                now,
            )
            .expect_err("not PEM");
        assert!(e.to_string().contains("certificate"), "{e}");
        let good = CertificateImport {
            certificate_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        };
        let leaf = tls.import(&good, &names(), now).expect("import");
        assert_eq!(leaf.names, vec!["depot.example".to_string()]);
        let info = tls.info(vec![]);
        assert!(info.imported);
        assert_eq!(info.server.names, vec!["depot.example".to_string()]);
        tls.remove_imported(&names(), now).expect("remove");
        assert!(!tls.info(vec![]).imported);
        assert_eq!(tls.info(vec![]).server.issuer, tls.info(vec![]).ca.subject);
    }

    #[test]
    fn a_signed_request_chains_to_the_depot_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = Utc::now();
        let tls = Tls::open(dir.path(), &names(), now).expect("open");
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "SN-0042");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Depot AB");
        let csr = params
            .serialize_request(&key)
            .expect("csr")
            .pem()
            .expect("pem");
        let names = vec!["CP-7".to_string(), "SN-0042".to_string()];
        let chain = tls.sign_csr(&csr, &names, now).expect("sign");
        let certs = certificates(&chain).expect("chain");
        assert_eq!(certs.len(), 2, "leaf, then the CA");
        let leaf = summary(&certs[0]).expect("leaf");
        assert_eq!(leaf.subject, "SN-0042");
        assert_eq!(leaf.organization.as_deref(), Some("Depot AB"));
        assert_eq!(leaf.issuer, tls.info(vec![]).ca.subject);
        assert!(leaf.not_before < now, "valid already");
        let e = tls.sign_csr("nonsense", &names, now).expect_err("bad csr");
        assert!(e.to_string().contains("signing request"), "{e}");
        let e = tls
            .sign_csr(&csr, &["CP-8".to_string()], now)
            .expect_err("another station's name");
        assert!(e.to_string().contains("\"SN-0042\""), "{e}");
    }
}
