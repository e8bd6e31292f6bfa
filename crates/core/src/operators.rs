//! Operator accounts: who may use the console where a login is required (beyond loopback), and
//! with what role. Passwords are hashed with Argon2id (memory-hard: a stolen database does not give
//! them up cheaply); a login session is a random token in an HttpOnly cookie, kept in the database
//! as its SHA-256. Failed logins for a name are slowed down: after five, each further attempt waits
//! twice as long as the one before (up to 15 minutes), so guessing is impractical.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use chargeyard_store::operators::{self, Operator};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::engine::Engine;
use crate::error::{Error, Result};

/// How long a login lasts: a working day.
const SESSION_HOURS: i64 = 12;
/// Failed logins for a name allowed before attempts are slowed down.
const FREE_FAILURES: u32 = 5;
const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);
/// The shortest password an operator may have.
const MIN_PASSWORD: usize = 10;

/// What an operator may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, operator accounts included.
    Manager,
    /// Stations: commands, configuration, diagnostics, firmware, security profiles; not tariffs,
    /// tags, settings, certificates or accounts.
    Technician,
    /// Looks, changes nothing.
    ReadOnly,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Manager => "manager",
            Role::Technician => "technician",
            Role::ReadOnly => "read_only",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "manager" => Some(Role::Manager),
            "technician" => Some(Role::Technician),
            "read_only" => Some(Role::ReadOnly),
            _ => None,
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Role, String> {
        Role::parse(s)
            .ok_or_else(|| format!("role must be manager, technician or read_only, not {s:?}"))
    }
}

/// A new operator account.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct NewOperator {
    pub name: String,
    pub role: Role,
    pub password: String,
}

/// A change to an account: its role, and a new password if given.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct OperatorChange {
    pub role: Role,
    #[serde(default)]
    pub password: Option<String>,
}

/// A name and password to log in with.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct Credentials {
    pub name: String,
    pub password: String,
}

/// A login: who, and the token for the session cookie (never shown).
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub operator: Operator,
    pub token: String,
    pub max_age: Duration,
}

/// Failed logins by name (lower case): how many, and when the last was.
#[derive(Default)]
pub(crate) struct Failures(Mutex<HashMap<String, (u32, Instant)>>);

impl Failures {
    /// How long the name must still wait before its next attempt.
    fn wait(&self, name: &str) -> Option<Duration> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (n, last) = map.get(name)?;
        let wait = delay(*n)?;
        wait.checked_sub(last.elapsed())
    }

    fn failed(&self, name: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.entry(name.to_string()).or_insert((0, Instant::now()));
        *e = (e.0 + 1, Instant::now());
        // Bounded: names that stopped failing long ago are forgotten.
        if map.len() > 10_000 {
            map.retain(|_, (_, last)| last.elapsed() < LONGEST_WAIT);
        }
    }

    fn succeeded(&self, name: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }
}

/// The wait after `failures` failed logins: none for the first few, then 1 s, 2 s, 4 s, … up to
/// [`LONGEST_WAIT`].
fn delay(failures: u32) -> Option<Duration> {
    let over = failures.checked_sub(FREE_FAILURES)?;
    Some(Duration::from_secs(1u64 << over.min(20)).min(LONGEST_WAIT))
}

fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
}

fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

fn token_sha256(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "name: 1 to 64 characters, no control characters".into(),
        ));
    }
    Ok(name.to_string())
}

fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(Error::Invalid(format!(
            "password: at least {MIN_PASSWORD} characters; this one has {n}"
        )));
    }
    Ok(())
}

impl Engine {
    pub async fn operators(&self) -> Result<Vec<Operator>> {
        Ok(operators::list(&self.inner.store.reader).await?)
    }

    /// Whether any operator account exists.
    pub async fn has_operators(&self) -> Result<bool> {
        Ok(operators::count(&self.inner.store.reader).await? > 0)
    }

    pub async fn create_operator(&self, new: NewOperator) -> Result<Operator> {
        let name = check_name(&new.name)?;
        check_password(&new.password)?;
        let password = new.password;
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        let (n, role, now) = (name.clone(), new.role.as_str(), self.now());
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { operators::create(c, &n, role, &hash, now).await })
            })
            .await
            .map_err(|e| match e {
                chargeyard_store::Error::Conflict(_) => {
                    Error::Conflict(format!("an operator named {name:?}"))
                }
                e => e.into(),
            })?;
        self.operator(&name).await
    }

    async fn operator(&self, name: &str) -> Result<Operator> {
        operators::by_name(&self.inner.store.reader, name)
            .await?
            .map(|(o, _)| o)
            .ok_or_else(|| Error::NotFound(format!("operator {name:?}")))
    }

    async fn operator_by_id(&self, id: i64) -> Result<Operator> {
        self.operators()
            .await?
            .into_iter()
            .find(|o| o.id == id)
            .ok_or_else(|| Error::NotFound(format!("operator {id}")))
    }

    /// Refuse a change that would leave no manager (nobody could manage accounts any more).
    async fn keep_a_manager(&self, id: i64, role_after: Option<Role>) -> Result<()> {
        let all = self.operators().await?;
        let managers_after = all
            .iter()
            .filter(|o| {
                if o.id == id {
                    role_after == Some(Role::Manager)
                } else {
                    o.role == Role::Manager.as_str()
                }
            })
            .count();
        if managers_after == 0 {
            return Err(Error::State(
                "this is the last manager: make another operator a manager first".into(),
            ));
        }
        Ok(())
    }

    pub async fn update_operator(&self, id: i64, change: OperatorChange) -> Result<Operator> {
        self.operator_by_id(id).await?;
        self.keep_a_manager(id, Some(change.role)).await?;
        let hash = match change.password {
            Some(p) => {
                check_password(&p)?;
                Some(
                    tokio::task::spawn_blocking(move || hash_password(&p))
                        .await
                        .map_err(|e| Error::Internal(e.to_string()))??,
                )
            }
            None => None,
        };
        let role = change.role.as_str();
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { operators::update(c, id, role, hash.as_deref()).await })
            })
            .await?;
        self.operator_by_id(id).await
    }

    pub async fn delete_operator(&self, id: i64) -> Result<()> {
        self.operator_by_id(id).await?;
        self.keep_a_manager(id, None).await?;
        self.inner
            .store
            .writer
            .write(move |c| Box::pin(async move { operators::delete(c, id).await }))
            .await?;
        Ok(())
    }

    /// Log in: a session for the operator, or why not (a wrong name and a wrong password are
    /// not told apart; a name with too many failures is told how long to wait).
    pub async fn login(&self, credentials: Credentials) -> Result<LoggedIn> {
        let key = credentials.name.trim().to_lowercase();
        if let Some(wait) = self.inner.login_failures.wait(&key) {
            return Err(Error::TooManyAttempts(wait.as_secs().max(1)));
        }
        let found = operators::by_name(&self.inner.store.reader, credentials.name.trim()).await?;
        let (operator, hash) = match found {
            Some((o, h)) => (Some(o), h),
            // The same work for an unknown name as for a wrong password.
            None => (None, dummy_hash()?),
        };
        let password = credentials.password;
        let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let Some(operator) = operator.filter(|_| ok) else {
            self.inner.login_failures.failed(&key);
            return Err(Error::LoginFailed);
        };
        self.inner.login_failures.succeeded(&key);
        let token =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let (sha, id, now) = (token_sha256(&token), operator.id, self.now());
        let expires = now + chrono::Duration::hours(SESSION_HOURS);
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { operators::start_session(c, &sha, id, now, expires).await })
            })
            .await?;
        Ok(LoggedIn {
            operator,
            token,
            max_age: Duration::from_secs(SESSION_HOURS as u64 * 3600),
        })
    }

    /// Who a session cookie's token belongs to, while it lasts.
    pub async fn operator_session(&self, token: &str) -> Result<Option<Operator>> {
        Ok(operators::session(&self.inner.store.reader, &token_sha256(token), self.now()).await?)
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        let sha = token_sha256(token);
        self.inner
            .store
            .writer
            .write(move |c| Box::pin(async move { operators::end_session(c, &sha).await }))
            .await?;
        Ok(())
    }
}

/// An Argon2id hash of a password nobody has, verified against when the name is unknown.
fn dummy_hash() -> Result<String> {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(h) = HASH.get() {
        return Ok(h.clone());
    }
    let nobody = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 24]>());
    Ok(HASH
        .get_or_init(|| hash_password(&nobody).unwrap_or_default())
        .clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_slow_down_after_five_failures_and_the_wait_doubles_up_to_fifteen_minutes() {
        assert_eq!(delay(4), None);
        assert_eq!(delay(5), Some(Duration::from_secs(1)));
        assert_eq!(delay(6), Some(Duration::from_secs(2)));
        assert_eq!(delay(9), Some(Duration::from_secs(16)));
        assert_eq!(delay(40), Some(LONGEST_WAIT));
        let f = Failures::default();
        for _ in 0..5 {
            assert!(f.wait("ann").is_none());
            f.failed("ann");
        }
        assert!(f.wait("ann").is_some_and(|w| w <= Duration::from_secs(1)));
        assert!(f.wait("bob").is_none(), "per name");
        f.succeeded("ann");
        assert!(f.wait("ann").is_none());
    }

    #[test]
    fn passwords_are_hashed_with_argon2id_and_verified() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse battery!"));
        let dummy = dummy_hash().expect("dummy");
        assert!(PasswordHash::new(&dummy).is_ok(), "the dummy hash parses");
        assert!(!verify_password(&dummy, ""));
    }
}
