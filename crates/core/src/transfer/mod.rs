//! Diagnostics and firmware files hosted by the laptop. Each job gets its own HTTP endpoint on
//! the address the station reached us on, under a random path (or, for a diagnostics upload over
//! FTP, its own FTP server with a login made for it: `ftp`); it accepts (diagnostics) or serves
//! (firmware) only that job's file and stops once the file has gone through, or when the job
//! expires.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, Multipart, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chargeyard_store::model::Transfer;
use chargeyard_store::transfers;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::export::slug;
use crate::protocol::Intent;

mod ftp;

/// A running endpoint.
pub(crate) struct Job {
    station_id: String,
    kind: Kind,
    stop: CancellationToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Diagnostics,
    Firmware,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Diagnostics => "diagnostics",
            Kind::Firmware => "firmware",
        }
    }
}

/// How a station uploads its diagnostics to this laptop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum UploadProtocol {
    /// HTTP POST (multipart/form-data) or PUT.
    #[default]
    Http,
    /// FTP (passive mode), with a user and password made up for the one job.
    Ftp,
}

/// Which log a station uploads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// Its diagnostics (1.6 GetDiagnostics; 2.x GetLog DiagnosticsLog).
    #[default]
    Diagnostics,
    /// Its security log (GetLog SecurityLog: 2.x, and 1.6 chargers with the security extension).
    Security,
}

/// GetDiagnostics or GetLog, with the upload going to this laptop.
#[derive(Debug, Clone, Default, Deserialize, TS)]
pub struct DiagnosticsRequest {
    /// HTTP unless the charger only uploads over FTP.
    #[serde(default)]
    pub protocol: UploadProtocol,
    #[serde(default)]
    pub log: LogKind,
    /// Oldest log entry wanted.
    pub start_time: Option<DateTime<Utc>>,
    /// Newest log entry wanted.
    pub stop_time: Option<DateTime<Utc>>,
    #[ts(type = "number | null")]
    pub retries: Option<i64>,
    /// Seconds between retries.
    #[ts(type = "number | null")]
    pub retry_interval: Option<i64>,
}

/// UpdateFirmware with a file this laptop serves.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct FirmwareRequest {
    pub file_name: String,
    /// The file, base64-encoded (both front ends can send text).
    pub content_base64: String,
    /// When the station should fetch it (now when absent).
    pub retrieve_date: Option<DateTime<Utc>>,
    #[ts(type = "number | null")]
    pub retries: Option<i64>,
    #[ts(type = "number | null")]
    pub retry_interval: Option<i64>,
    /// Signed firmware: the signing certificate (PEM) and the file's signature (base64), as the
    /// charger maker ships them. Given, a 1.6 charger gets SignedUpdateFirmware (the security
    /// extension) and a 2.x one both in its UpdateFirmware.
    #[serde(default)]
    pub signing_certificate: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
}

/// The largest diagnostics upload accepted.
const MAX_UPLOAD: usize = 512 << 20;

/// A job's endpoint state, shared with its HTTP handler.
struct Endpoint {
    engine: Engine,
    id: i64,
    kind: Kind,
    /// "/<token>": the only path prefix served.
    prefix: String,
    station_id: String,
    /// Firmware: the file served. Diagnostics: the folder uploads go to.
    path: PathBuf,
    stop: CancellationToken,
}

impl Endpoint {
    /// Where an upload is written until it is complete.
    fn upload_part(&self) -> PathBuf {
        self.path.join(format!(".upload-{}.part", self.id))
    }
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Internal(format!("{}: {e}", path.display()))
}

/// A safe file name from one a user or a station gave: letters, digits, '-', '_' and '.' kept,
/// the rest '-', no leading dot (so never hidden, never "..").
fn file_name(s: &str) -> String {
    let kept: String = s
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    kept.trim_start_matches('.').to_string()
}

/// A file's size and SHA-256, read in pieces.
async fn hash_file(path: &Path) -> Result<(u64, String)> {
    use tokio::io::AsyncReadExt;
    let mut f = tokio::fs::File::open(path).await.map_err(|e| io(path, e))?;
    let (mut hasher, mut buf, mut size) = (Sha256::new(), vec![0u8; 1 << 16], 0u64);
    loop {
        let n = f.read(&mut buf).await.map_err(|e| io(path, e))?;
        if n == 0 {
            return Ok((size, hex(&hasher.finalize())));
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
}

fn token() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Engine {
    /// Jobs offered by an engine that stopped have no endpoint any more.
    pub(crate) async fn expire_stale_transfers(&self) -> Result<()> {
        let now = self.now();
        self.inner
            .store
            .writer
            .write(move |c| Box::pin(async move { transfers::expire_offered(c, now).await }))
            .await?;
        Ok(())
    }

    /// A station's diagnostics and firmware jobs, newest first.
    pub async fn transfers(&self, station_id: &str) -> Result<Vec<Transfer>> {
        Ok(transfers::list(&self.inner.store.reader, station_id).await?)
    }

    pub async fn transfer(&self, id: i64) -> Result<Transfer> {
        transfers::get(&self.inner.store.reader, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("transfer {id}")))
    }

    /// The file of a finished transfer (a received diagnostics file, or the firmware offered).
    pub async fn transfer_file(&self, id: i64) -> Result<(String, PathBuf)> {
        let t = self.transfer(id).await?;
        match (t.file_name, t.path) {
            (Some(name), Some(path)) if Path::new(&path).is_file() => Ok((name, path.into())),
            _ => Err(Error::NotFound(format!("the file of transfer {id}"))),
        }
    }

    /// Ask the station for its diagnostics, uploaded to an endpoint on this laptop.
    pub async fn get_diagnostics(
        &self,
        station_id: &str,
        r: DiagnosticsRequest,
    ) -> Result<Transfer> {
        crate::error::check_order("diagnostics", r.start_time, r.stop_time)?;
        let dir = self
            .inner
            .transfers_dir
            .join("diagnostics")
            .join(slug(station_id));
        let job = match r.protocol {
            UploadProtocol::Http => {
                self.open_endpoint(station_id, Kind::Diagnostics, dir, None)
                    .await?
            }
            UploadProtocol::Ftp => self.open_ftp_upload(station_id, dir).await?,
        };
        let request = Intent::UploadLog {
            security: r.log == LogKind::Security,
            url: job.url.clone(),
            from: r.start_time,
            to: r.stop_time,
            retries: r.retries,
            retry_interval: r.retry_interval,
            request_id: job.id,
        };
        match self.intent(station_id, request, "technician").await {
            Ok(answer) if !matches!(answer.status.as_str(), "Accepted" | "AcceptedCanceled") => {
                let why = format!("the station answered {}", answer.status);
                self.end_job(job.clone(), "failed", Some(why.clone())).await;
                Err(Error::ChargerRefused(why))
            }
            Ok(answer) => {
                // 1.6 names it fileName, 2.x filename.
                let name = ["fileName", "filename"]
                    .iter()
                    .find_map(|k| answer.answer.get(*k).and_then(Value::as_str));
                if let Some(name) = name {
                    // The upload may already be in: only a note, never the state.
                    self.note_transfer(job.id, format!("the station names the file {name}"))
                        .await;
                }
                self.transfer(job.id).await
            }
            Err(e) => {
                self.end_job(job.clone(), "failed", Some(e.to_string()))
                    .await;
                Err(e)
            }
        }
    }

    /// Offer a firmware file to the station and send UpdateFirmware with its URL.
    pub async fn update_firmware(&self, station_id: &str, r: FirmwareRequest) -> Result<Transfer> {
        let signed = match (r.signing_certificate.as_deref(), r.signature.as_deref()) {
            (None | Some(""), None | Some("")) => None,
            (Some(c), Some(s)) if !c.trim().is_empty() && !s.trim().is_empty() => {
                if !c.contains("-----BEGIN CERTIFICATE-----") {
                    return Err(Error::Invalid(
                        "the signing certificate is not PEM (-----BEGIN CERTIFICATE-----)".into(),
                    ));
                }
                let sig = s.trim();
                if base64::engine::general_purpose::STANDARD
                    .decode(sig)
                    .is_err()
                {
                    return Err(Error::Invalid("the signature is not base64".into()));
                }
                Some((c.trim().to_string(), sig.to_string()))
            }
            _ => {
                return Err(Error::Invalid(
                    "signed firmware needs both the signing certificate and the signature".into(),
                ));
            }
        };
        let name = file_name(r.file_name.trim());
        if name.chars().all(|c| c == '-' || c == '.') {
            return Err(Error::Invalid("the firmware file needs a name".into()));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(r.content_base64.as_bytes())
            .map_err(|e| Error::Invalid(format!("the firmware file is not base64: {e}")))?;
        if bytes.is_empty() {
            return Err(Error::Invalid("the firmware file is empty".into()));
        }
        let sha = hex(&Sha256::digest(&bytes));
        let dir = self.inner.transfers_dir.join("firmware");
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io(&dir, e))?;
        let path = dir.join(format!("{}_{name}", &sha[..12]));
        tokio::fs::write(&path, &bytes)
            .await
            .map_err(|e| io(&path, e))?;
        let file = (name, bytes.len() as i64, sha);
        let job = self
            .open_endpoint(station_id, Kind::Firmware, path, Some(file))
            .await?;
        let request = Intent::UpdateFirmware {
            signed,
            url: job.url.clone(),
            retrieve_at: r.retrieve_date.unwrap_or_else(|| self.now()),
            retries: r.retries,
            retry_interval: r.retry_interval,
            request_id: job.id,
        };
        match self.intent(station_id, request, "technician").await {
            Ok(answer) if !matches!(answer.status.as_str(), "Accepted" | "AcceptedCanceled") => {
                let why = format!("the station answered {}", answer.status);
                self.end_job(job, "failed", Some(why.clone())).await;
                Err(Error::ChargerRefused(why))
            }
            Ok(_) => Ok(job),
            Err(e) => {
                self.end_job(job, "failed", Some(e.to_string())).await;
                Err(e)
            }
        }
    }

    /// A FirmwareStatusNotification or DiagnosticsStatusNotification came in: a firmware
    /// endpoint stops once the station has the file.
    pub(crate) async fn transfer_status(&self, station_id: &str, kind: &str, status: &str) {
        let done = kind == "firmware_status"
            && matches!(status, "Downloaded" | "Installing" | "Installed");
        if !done {
            return;
        }
        let ids: Vec<i64> = self
            .jobs()
            .iter()
            .filter(|(_, j)| j.station_id == station_id && j.kind == Kind::Firmware)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Ok(t) = self.transfer(id).await {
                let detail = t.detail.clone();
                self.end_job(t, "transferred", detail).await;
            }
        }
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<i64, Job>> {
        self.inner
            .transfer_jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Note something about a job once, without touching its state (it may be finishing now).
    async fn note_transfer(&self, id: i64, detail: String) {
        let noted = self
            .inner
            .store
            .writer
            .write(move |c| Box::pin(async move { transfers::note(c, id, &detail).await }))
            .await;
        match noted {
            Ok(()) => {
                if let Ok(t) = self.transfer(id).await {
                    self.emit(Event::TransferUpdated { transfer: t });
                }
            }
            Err(e) => tracing::warn!("noting a transfer failed: {e}"),
        }
    }

    async fn update_transfer(&self, t: Transfer) -> Result<()> {
        let row = t.clone();
        self.inner
            .store
            .writer
            .write(move |c| Box::pin(async move { transfers::finish(c, &row).await }))
            .await?;
        self.emit(Event::TransferUpdated { transfer: t });
        Ok(())
    }

    /// Finish a job and stop its endpoint; whoever takes the job off the list records how it
    /// ended, once (an upload, a status and the expiry can race).
    async fn end_job(&self, mut t: Transfer, state: &str, detail: Option<String>) {
        let Some(job) = self.jobs().remove(&t.id) else {
            return;
        };
        job.stop.cancel();
        t.state = state.to_string();
        t.finished_at = Some(self.now());
        t.detail = detail;
        if let Err(e) = self.update_transfer(t).await {
            tracing::warn!("recording the end of a transfer failed: {e}");
        }
    }

    /// The address the station reached us on: endpoints offered to it listen there.
    fn station_ip(&self, station_id: &str) -> Result<std::net::IpAddr> {
        let local = self
            .lock_sessions()
            .get(station_id)
            .map(|h| h.info.local_addr)
            .ok_or_else(|| Error::StationOffline(station_id.to_string()))?
            .ok_or_else(|| Error::Internal("the connection's local address is unknown".into()))?;
        Ok(local.ip())
    }

    /// Record a new job (offered) and register it; returns the row and the token that stops its
    /// endpoint.
    async fn record_job(
        &self,
        mut t: Transfer,
        kind: Kind,
    ) -> Result<(Transfer, CancellationToken)> {
        let row = t.clone();
        t.id = self
            .inner
            .store
            .writer
            .write(move |c| Box::pin(async move { transfers::insert(c, &row).await }))
            .await?;
        let stop = self.shutdown_token().child_token();
        self.jobs().insert(
            t.id,
            Job {
                station_id: t.station_id.clone(),
                kind,
                stop: stop.clone(),
            },
        );
        tracing::info!(station = t.station_id, "offering {} at {}", t.kind, t.url);
        self.emit(Event::TransferUpdated {
            transfer: t.clone(),
        });
        Ok((t, stop))
    }

    /// A job row as offered now, expiring after the configured time.
    fn offered(&self, station_id: &str, kind: Kind, url: String) -> Transfer {
        let now = self.now();
        let ttl = chrono::Duration::from_std(self.config().transfer_ttl)
            .unwrap_or_else(|_| chrono::Duration::hours(1));
        Transfer {
            id: 0,
            station_id: station_id.to_string(),
            kind: kind.as_str().to_string(),
            state: "offered".into(),
            url,
            file_name: None,
            path: None,
            bytes: None,
            sha256: None,
            created_at: now,
            expires_at: now + ttl,
            finished_at: None,
            detail: None,
        }
    }

    /// Run an endpoint until its job ends or expires; a job still offered then has expired.
    fn run_endpoint(&self, job: Transfer, serve: impl Future<Output = ()> + Send + 'static) {
        let engine = self.clone();
        self.inner.tasks.spawn(async move {
            serve.await;
            if let Ok(t) = engine.transfer(job.id).await {
                engine
                    .end_job(
                        t,
                        "expired",
                        Some("the station did not come for it in time".into()),
                    )
                    .await;
            }
        });
    }

    /// The future that tells an endpoint to stop: its job ended, or it expired.
    fn stop_signal(
        &self,
        stop: CancellationToken,
    ) -> impl Future<Output = ()> + Send + Sync + 'static {
        let expiry = self.config().transfer_ttl;
        async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(expiry) => {}
            }
        }
    }

    /// Bind an HTTP endpoint on the address the station reached us on, record the job, serve it.
    async fn open_endpoint(
        &self,
        station_id: &str,
        kind: Kind,
        path: PathBuf,
        file: Option<(String, i64, String)>,
    ) -> Result<Transfer> {
        let bind = SocketAddr::new(self.station_ip(station_id)?, self.config().transfer_port);
        let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| {
            Error::Internal(format!("opening the transfer endpoint on {bind}: {e}"))
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let token = token();
        let url = match &file {
            Some((name, ..)) => format!("http://{addr}/{token}/{name}"),
            None => format!("http://{addr}/{token}/"),
        };
        let mut t = self.offered(station_id, kind, url);
        if let Some((name, bytes, sha)) = file {
            t.file_name = Some(name);
            t.path = Some(path.display().to_string());
            t.bytes = Some(bytes);
            t.sha256 = Some(sha);
        }
        let (t, stop) = self.record_job(t, kind).await?;
        let endpoint = std::sync::Arc::new(Endpoint {
            engine: self.clone(),
            id: t.id,
            kind,
            prefix: format!("/{token}"),
            station_id: station_id.to_string(),
            path,
            stop: stop.clone(),
        });
        let app = axum::Router::new()
            .fallback(serve)
            .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD))
            .with_state(endpoint)
            .into_make_service_with_connect_info::<SocketAddr>();
        let until = self.stop_signal(stop);
        self.run_endpoint(t.clone(), async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(until);
            if let Err(e) = served.await {
                tracing::warn!("transfer endpoint failed: {e}");
            }
        });
        Ok(t)
    }

    /// A received diagnostics file is in `tmp`: keep it under its name, record it, end the job.
    async fn diagnostics_received(
        &self,
        id: i64,
        dir: &Path,
        tmp: &Path,
        name: Option<&str>,
        from: String,
    ) -> Result<()> {
        let (size, sha) = hash_file(tmp).await?;
        let name = Some(file_name(name.unwrap_or_default()))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "diagnostics.log".to_string());
        let dest = dir.join(format!("{}_{name}", self.now().format("%Y%m%dT%H%M%SZ")));
        tokio::fs::rename(tmp, &dest)
            .await
            .map_err(|e| io(&dest, e))?;
        if let Ok(d) = tokio::fs::File::open(dir).await {
            let _ = d.sync_all().await;
        }
        let mut t = self.transfer(id).await?;
        t.file_name = Some(name);
        t.path = Some(dest.display().to_string());
        t.bytes = Some(size as i64);
        t.sha256 = Some(sha);
        self.end_job(t, "transferred", Some(from)).await;
        Ok(())
    }
}

/// The endpoint's one handler: only the job's path, only the job's direction.
async fn serve(
    State(ep): State<std::sync::Arc<Endpoint>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let path = request.uri().path().to_string();
    let ours = path == ep.prefix || path.starts_with(&format!("{}/", ep.prefix));
    if !ours || ep.stop.is_cancelled() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let method = request.method().clone();
    let result = match (ep.kind, &method) {
        (Kind::Firmware, &Method::GET) => return firmware(&ep, peer).await,
        (Kind::Diagnostics, &Method::POST | &Method::PUT) => receive(&ep, peer, request).await,
        _ => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
    };
    match result {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => {
            tracing::warn!(station = ep.station_id, "diagnostics upload failed: {e}");
            // What arrived of it is of no use; the station may try again.
            let _ = tokio::fs::remove_file(ep.upload_part()).await;
            (StatusCode::BAD_REQUEST, e.to_string()).into_response()
        }
    }
}

async fn firmware(ep: &Endpoint, peer: SocketAddr) -> Response {
    let bytes = match tokio::fs::read(&ep.path).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!("reading {}: {e}", ep.path.display());
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    // Served; the job ends when the station reports it has the file (or on expiry).
    ep.engine
        .note_transfer(ep.id, format!("downloaded by {}", peer.ip()))
        .await;
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, bytes.len().to_string()),
        ],
        Body::from(bytes),
    )
        .into_response()
}

/// Take a diagnostics upload: multipart/form-data (the file part) or a raw body (PUT or POST).
async fn receive(ep: &Endpoint, peer: SocketAddr, request: Request) -> Result<()> {
    let from_url = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    tokio::fs::create_dir_all(&ep.path)
        .await
        .map_err(|e| io(&ep.path, e))?;
    let tmp = ep.upload_part();
    let mut out = tokio::fs::File::create(&tmp)
        .await
        .map_err(|e| io(&tmp, e))?;
    let mut size = 0usize;
    let mut name = from_url.filter(|n| n.len() != 32 || !n.chars().all(|c| c.is_ascii_hexdigit()));
    let mut write = async |chunk: &[u8]| -> Result<()> {
        size += chunk.len();
        if size > MAX_UPLOAD {
            return Err(Error::Invalid("the upload is too large".into()));
        }
        out.write_all(chunk).await.map_err(|e| io(&tmp, e))
    };
    if multipart {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| Error::Invalid(e.body_text()))?;
        let mut found = false;
        while let Some(mut field) = form
            .next_field()
            .await
            .map_err(|e| Error::Invalid(e.body_text()))?
        {
            if field.file_name().is_none() && found {
                continue;
            }
            if let Some(n) = field.file_name() {
                name = Some(n.to_string());
            }
            found = true;
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| Error::Invalid(e.body_text()))?
            {
                write(&chunk).await?;
            }
            if name.is_some() {
                break;
            }
        }
        if !found {
            return Err(Error::Invalid("the form has no file".into()));
        }
    } else {
        let mut body = request.into_body().into_data_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| Error::Invalid(e.to_string()))?;
            write(&chunk).await?;
        }
    }
    out.sync_all().await.map_err(|e| io(&tmp, e))?;
    drop(out);
    ep.engine
        .diagnostics_received(
            ep.id,
            &ep.path,
            &tmp,
            name.as_deref(),
            format!("uploaded by {}", peer.ip()),
        )
        .await?;
    Ok(())
}
