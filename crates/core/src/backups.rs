//! Backups of the depot's database: on a schedule and on demand, to a folder the operator
//! chooses (a USB disk, a NAS share), each checked and listed with what it holds; a restore puts
//! one back at the next start, which the front end performs at once.
//!
//! The copies themselves are made by [`chargeyard_store::backup`]; this module decides when,
//! where, under which name, how many are kept, and answers the console.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chargeyard_store::backup as copies;
/// What a backup holds, read from the file.
pub use chargeyard_store::backup::Contents as BackupContents;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::engine::Engine;
use crate::error::{Error, Result};

const POLICY_KEY: &str = "backups";
/// Backups this module makes and prunes are named `chargeyard-<UTC time>.db`; other files in
/// the folder (copies before an upgrade, the operator's own) are listed by neither.
const PREFIX: &str = "chargeyard-";
/// How long after a failed scheduled backup the next attempt is made.
const RETRY_AFTER: Duration = Duration::from_secs(600);

/// When and where backups are made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct BackupPolicy {
    /// An absolute folder; None: `backups/` beside the database.
    pub folder: Option<String>,
    /// Hours between scheduled backups; 0: only when asked for.
    pub every_hours: u32,
    /// How many of this folder's backups are kept (the oldest go first).
    pub keep: u32,
}

impl Default for BackupPolicy {
    fn default() -> Self {
        BackupPolicy {
            folder: None,
            every_hours: 24,
            keep: 7,
        }
    }
}

/// One backup in the folder.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct Backup {
    pub name: String,
    #[ts(type = "number")]
    pub bytes: u64,
    pub made_at: DateTime<Utc>,
    /// As checked when it was made; None for a file whose check was not kept.
    pub contents: Option<BackupContents>,
}

/// How the last backup went.
#[derive(Debug, Clone, Serialize, TS)]
pub struct BackupRun {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub message: String,
}

/// The backups screen.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Backups {
    pub policy: BackupPolicy,
    /// The folder in use.
    pub folder: String,
    /// Newest first.
    pub files: Vec<Backup>,
    pub last: Option<BackupRun>,
    /// When the next scheduled backup is due; None when none is scheduled.
    pub next_at: Option<DateTime<Utc>>,
}

/// The engine's share: the policy, the last run, one backup at a time, and the restart a
/// restore asks of the front end.
#[derive(Default)]
pub(crate) struct State {
    policy: Mutex<BackupPolicy>,
    last: Mutex<Option<BackupRun>>,
    running: tokio::sync::Mutex<()>,
    restart: CancellationToken,
}

impl Engine {
    fn backup_state(&self) -> &State {
        &self.inner.backups
    }

    pub fn backup_policy(&self) -> BackupPolicy {
        lock(&self.backup_state().policy).clone()
    }

    fn backup_folder(&self, policy: &BackupPolicy) -> PathBuf {
        match &policy.folder {
            Some(f) => PathBuf::from(f),
            None => self.database_dir().join("backups"),
        }
    }

    fn database_dir(&self) -> PathBuf {
        self.inner
            .store
            .path()
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    pub(crate) async fn load_backup_policy(&self) -> Result<()> {
        if let Some(text) =
            chargeyard_store::settings::get(&self.inner.store.reader, POLICY_KEY).await?
        {
            match serde_json::from_str(&text) {
                Ok(p) => *lock(&self.backup_state().policy) = p,
                Err(e) => tracing::warn!("the saved backup policy could not be read ({e})"),
            }
        }
        Ok(())
    }

    /// Check and save when and where backups are made. The folder is made if missing, and must
    /// take a file.
    pub async fn set_backup_policy(&self, policy: BackupPolicy) -> Result<BackupPolicy> {
        let mut problems = Vec::new();
        let folder = policy
            .folder
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty());
        if let Some(f) = folder {
            if !Path::new(f).is_absolute() {
                problems.push(format!(
                    "The folder \"{f}\" is not a full path (it should start with /)"
                ));
            } else if let Err(e) = writable(Path::new(f)) {
                problems.push(format!("Backups cannot be written to {f}: {e}"));
            }
        }
        if !(1..=1000).contains(&policy.keep) {
            problems.push(format!(
                "Keep between 1 and 1000 backups, not {}",
                policy.keep
            ));
        }
        if policy.every_hours > 24 * 31 {
            problems.push(format!(
                "Back up at least once a month (every {} hours is longer)",
                policy.every_hours
            ));
        }
        if !problems.is_empty() {
            return Err(Error::Invalid(problems.join("; ")));
        }
        let policy = BackupPolicy {
            folder: folder.map(str::to_string),
            ..policy
        };
        let text = serde_json::to_string(&policy).map_err(|e| Error::Internal(e.to_string()))?;
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { chargeyard_store::settings::set(c, POLICY_KEY, &text).await })
            })
            .await?;
        *lock(&self.backup_state().policy) = policy.clone();
        Ok(policy)
    }

    /// The backups in the folder, newest first, with the policy and the last run.
    pub async fn backups(&self) -> Result<Backups> {
        let policy = self.backup_policy();
        let folder = self.backup_folder(&policy);
        let files = tokio::task::spawn_blocking({
            let folder = folder.clone();
            move || list(&folder)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
        let next_at = (policy.every_hours > 0).then(|| {
            files.first().map_or_else(
                || self.now(),
                |b| b.made_at + chrono::Duration::hours(i64::from(policy.every_hours)),
            )
        });
        Ok(Backups {
            policy,
            folder: folder.display().to_string(),
            files,
            last: lock(&self.backup_state().last).clone(),
            next_at,
        })
    }

    /// Make a backup now (one at a time), checked, then keep only the newest `keep`. It holds
    /// everything acknowledged to chargers before it began.
    pub async fn back_up_now(&self) -> Result<Backup> {
        let _one = self.backup_state().running.lock().await;
        let policy = self.backup_policy();
        let folder = self.backup_folder(&policy);
        let at = Utc::now();
        let made = self.make_backup(&folder, at).await;
        let run = match &made {
            Ok(b) => BackupRun {
                at,
                ok: true,
                message: format!(
                    "{} ({} sessions)",
                    b.name,
                    b.contents.as_ref().map_or(0, |c| c.sessions)
                ),
            },
            Err(e) => BackupRun {
                at,
                ok: false,
                message: e.to_string(),
            },
        };
        if let Err(e) = &made {
            tracing::error!("backup to {} failed: {e}", folder.display());
        }
        *lock(&self.backup_state().last) = Some(run);
        let made = made?;
        let keep = policy.keep.max(1) as usize;
        let pruned = tokio::task::spawn_blocking(move || prune(&folder, keep))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        for p in pruned {
            tracing::info!("removed the old backup {}", p.display());
        }
        Ok(made)
    }

    /// One backup into another folder (kept there; nothing pruned).
    pub async fn back_up_into(&self, folder: &Path) -> Result<Backup> {
        let _one = self.backup_state().running.lock().await;
        self.make_backup(folder, Utc::now()).await
    }

    async fn make_backup(&self, folder: &Path, at: DateTime<Utc>) -> Result<Backup> {
        std::fs::create_dir_all(folder).map_err(|e| {
            Error::Invalid(format!(
                "the backup folder {} cannot be made: {e}",
                folder.display()
            ))
        })?;
        // Two in one second (the schedule and a click) are told apart by a number.
        let stamp = at.format("%Y%m%d-%H%M%S");
        let name = (1..)
            .map(|n| match n {
                1 => format!("{PREFIX}{stamp}.db"),
                n => format!("{PREFIX}{stamp}-{n}.db"),
            })
            .find(|n| !folder.join(n).exists())
            .unwrap_or_default();
        let path = folder.join(&name);
        let contents: BackupContents = copies::copy(&self.inner.store.reader, &path)
            .await
            .map_err(|e| match e {
                chargeyard_store::Error::Conflict(_) => {
                    Error::Conflict(format!("a backup named {name}"))
                }
                e => e.into(),
            })?;
        let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
        let backup = Backup {
            name,
            bytes,
            made_at: at,
            contents: Some(contents),
        };
        let sidecar =
            serde_json::to_vec_pretty(&backup).map_err(|e| Error::Internal(e.to_string()))?;
        std::fs::write(path.with_extension("json"), sidecar)?;
        Ok(backup)
    }

    /// Put the backup `name` (one of this folder's) in place of the database: checked, copied
    /// beside the database, and applied when the engine next opens it, which the front end does
    /// at once (see [`Engine::restart_requested`]). The current database is kept aside.
    pub async fn restore_backup(&self, name: &str) -> Result<BackupContents> {
        let folder = self.backup_folder(&self.backup_policy());
        let known = list(&folder).into_iter().any(|b| b.name == name);
        if !known {
            return Err(Error::NotFound(format!("backup {name}")));
        }
        let contents = copies::stage_restore(self.inner.store.path(), &folder.join(name))
            .await
            .map_err(|e| match e {
                chargeyard_store::Error::Unusable(m) => Error::Invalid(m),
                e => e.into(),
            })?;
        tracing::warn!("restoring the backup {name}: the engine restarts");
        self.backup_state().restart.cancel();
        Ok(contents)
    }

    /// Fires when the engine must be opened anew (a restore is staged): the front end stops it
    /// and starts again; chargers then reconnect.
    pub fn restart_requested(&self) -> CancellationToken {
        self.backup_state().restart.clone()
    }

    /// Make a backup whenever the newest in the folder is older than the policy's interval;
    /// after a failure, try again in ten minutes.
    pub(crate) fn spawn_backup_schedule(&self) {
        let engine = self.clone();
        let cancel = self.inner.shutdown.clone();
        let every_check = self.inner.config.backup_check;
        self.inner.tasks.spawn(async move {
            // The first look after one interval: not in the middle of starting up.
            let mut tick =
                tokio::time::interval_at(tokio::time::Instant::now() + every_check, every_check);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failed_at: Option<std::time::Instant> = None;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => {}
                }
                if failed_at.is_some_and(|t| t.elapsed() < RETRY_AFTER) {
                    continue;
                }
                let due = match engine.backups().await {
                    Ok(b) => b.next_at.is_some_and(|t| t <= Utc::now()),
                    Err(e) => {
                        tracing::warn!("backups could not be listed: {e}");
                        false
                    }
                };
                if due {
                    failed_at = engine
                        .back_up_now()
                        .await
                        .err()
                        .map(|_| std::time::Instant::now());
                }
            }
        });
    }
}

/// This folder's backups, newest first.
fn list(folder: &Path) -> Vec<Backup> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut out: Vec<Backup> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            if !(name.starts_with(PREFIX) && name.ends_with(".db")) {
                return None;
            }
            let meta = e.metadata().ok()?;
            let saved: Option<Backup> = std::fs::read(e.path().with_extension("json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            let made_at = saved.as_ref().map_or_else(
                || {
                    meta.modified()
                        .map(DateTime::<Utc>::from)
                        .unwrap_or_else(|_| Utc::now())
                },
                |s| s.made_at,
            );
            Some(Backup {
                name,
                bytes: meta.len(),
                made_at,
                contents: saved.and_then(|s| s.contents),
            })
        })
        .collect();
    out.sort_by(|a, b| b.made_at.cmp(&a.made_at).then_with(|| b.name.cmp(&a.name)));
    out
}

/// Remove all but the newest `keep` of this folder's backups; returns what was removed.
fn prune(folder: &Path, keep: usize) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for b in list(folder).into_iter().skip(keep) {
        let path = folder.join(&b.name);
        if std::fs::remove_file(&path).is_ok() {
            let _ = std::fs::remove_file(path.with_extension("json"));
            removed.push(path);
        }
    }
    removed
}

/// The folder exists (made if missing) and takes a file.
fn writable(folder: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)?;
    let probe = folder.join(".chargeyard-write-test");
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(probe)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
