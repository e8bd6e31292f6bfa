//! Diagnostics over FTP, for chargers that upload no other way (libunftp). Each job gets its own
//! server on the address the station reached us on, a user and password made up for it, a folder
//! of its own, and stops after the first file arrives or when the job expires.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use libunftp::ServerBuilder;
use libunftp::notification::{DataEvent, DataListener, EventMeta};
use libunftp::options::Shutdown;
use unftp_core::auth::{AuthenticationError, Authenticator, Credentials, Principal};
use unftp_sbe_fs::Filesystem;

use super::{Kind, io, token};
use crate::engine::Engine;
use crate::error::{Error, Result};

const USER: &str = "chargeyard";

/// Only the job's user with the job's password.
#[derive(Debug)]
struct JobLogin {
    password: String,
}

#[async_trait]
impl Authenticator for JobLogin {
    async fn authenticate(
        &self,
        username: &str,
        creds: &Credentials,
    ) -> std::result::Result<Principal, AuthenticationError> {
        if username != USER {
            return Err(AuthenticationError::BadUser);
        }
        if creds.password.as_deref() != Some(self.password.as_str()) {
            return Err(AuthenticationError::BadPassword);
        }
        Ok(Principal {
            username: username.to_string(),
        })
    }
}

/// Hears of each file stored and hands the first one to the engine.
struct Arrivals {
    engine: Engine,
    id: i64,
    /// The job's own FTP root.
    root: PathBuf,
    /// Where received diagnostics are kept.
    dir: PathBuf,
}

impl std::fmt::Debug for Arrivals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arrivals").field("id", &self.id).finish()
    }
}

#[async_trait]
impl DataListener for Arrivals {
    async fn receive_data_event(&self, e: DataEvent, m: EventMeta) {
        let DataEvent::Put { path, .. } = e else {
            return;
        };
        let stored = self.root.join(path.trim_start_matches('/'));
        let name = Path::new(&path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let from = format!("uploaded over FTP by {}", m.username);
        if let Err(err) = self
            .engine
            .diagnostics_received(self.id, &self.dir, &stored, name.as_deref(), from)
            .await
        {
            tracing::warn!("taking the FTP upload failed: {err}");
        }
    }
}

impl Engine {
    /// Offer an FTP upload for one diagnostics job.
    pub(super) async fn open_ftp_upload(
        &self,
        station_id: &str,
        dir: PathBuf,
    ) -> Result<chargeyard_store::model::Transfer> {
        let ip = self.station_ip(station_id)?;
        // libunftp binds the address itself: find a free port first (unless one is set).
        let port = match self.config().transfer_port {
            0 => std::net::TcpListener::bind((ip, 0))
                .and_then(|l| l.local_addr())
                .map_err(|e| Error::Internal(format!("finding a port for FTP on {ip}: {e}")))?
                .port(),
            p => p,
        };
        let addr = std::net::SocketAddr::new(ip, port);
        let password = token();
        let url = format!("ftp://{USER}:{password}@{addr}/");
        let (t, stop) = self
            .record_job(
                self.offered(station_id, Kind::Diagnostics, url),
                Kind::Diagnostics,
            )
            .await?;
        let root = dir.join(format!(".ftp-{}", t.id));
        let started = async {
            tokio::fs::create_dir_all(&root)
                .await
                .map_err(|e| io(&root, e))?;
            // Checked once here, so making one per session below cannot fail.
            Filesystem::new(root.clone())
                .map_err(|e| Error::Internal(format!("{}: {e}", root.display())))?;
            let until = self.stop_signal(stop);
            let fs_root = root.clone();
            ServerBuilder::with_authenticator(
                Box::new(move || {
                    Filesystem::new(fs_root.clone()).expect("the job's folder was checked")
                }),
                Arc::new(JobLogin { password }),
            )
            .greeting("Chargeyard diagnostics upload")
            .idle_session_timeout(600)
            .notify_data(Arrivals {
                engine: self.clone(),
                id: t.id,
                root: root.clone(),
                dir: dir.clone(),
            })
            .shutdown_indicator(async move {
                until.await;
                Shutdown::new().grace_period(Duration::from_secs(2))
            })
            .build()
            .map_err(|e| Error::Internal(format!("starting FTP: {e}")))
        }
        .await;
        let server = match started {
            Ok(s) => s,
            Err(e) => {
                self.end_job(t, "failed", Some(e.to_string())).await;
                return Err(e);
            }
        };
        let cleanup = root.clone();
        self.run_endpoint(t.clone(), async move {
            if let Err(e) = server.listen(addr.to_string()).await {
                tracing::warn!("FTP endpoint failed: {e}");
            }
            let _ = tokio::fs::remove_dir_all(&cleanup).await;
        });
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_jobs_user_with_the_jobs_password_logs_in() {
        let login = JobLogin {
            password: "s3cret".into(),
        };
        let ok = login.authenticate(USER, &Credentials::from("s3cret")).await;
        assert!(ok.is_ok());
        let wrong = login.authenticate(USER, &Credentials::from("guess")).await;
        assert!(matches!(wrong, Err(AuthenticationError::BadPassword)));
        let other = login
            .authenticate("anonymous", &Credentials::from("s3cret"))
            .await;
        assert!(matches!(other, Err(AuthenticationError::BadUser)));
    }
}
