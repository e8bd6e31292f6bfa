//! The JSON HTTP API and live WebSocket. Each handler is a few lines over the engine's facade.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chargeyard_core::auth::PasswordChange;
use chargeyard_core::billing::{AssignmentInput, TariffInput};
use chargeyard_core::charts::{ChartSize, Period};
use chargeyard_core::export::ExportRequest;
use chargeyard_core::protocol::{AvailabilityRequest, ResetRequest, TriggerRequest, UnlockRequest};
use chargeyard_core::store::frames::FrameFilter;
use chargeyard_core::store::id_tags::{TagFields, TagFilter};
use chargeyard_core::store::meter::SampleFilter;
use chargeyard_core::store::transactions::TransactionFilter;
use chargeyard_core::toolkit::{ConfigSource, KeyChange, LocalListRequest};
use chargeyard_core::transactions::{CloseRequest, StartRequest, StopRequest};
use chargeyard_core::transfer::{DiagnosticsRequest, FirmwareRequest};
use chargeyard_core::{Engine, Error, NewStation};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// An engine error as an HTTP response: `{"code": …, "message": …}` with a fitting status.
pub struct ApiError(Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self.0.code() {
            "station_not_found" | "not_found" => StatusCode::NOT_FOUND,
            "invalid" => StatusCode::BAD_REQUEST,
            "conflict" | "station_offline" | "charger_refused" => StatusCode::CONFLICT,
            "timeout" => StatusCode::GATEWAY_TIMEOUT,
            "call_error" | "bad_response" => StatusCode::BAD_GATEWAY,
            "busy" | "too_many_attempts" => StatusCode::TOO_MANY_REQUESTS,
            "login_failed" => StatusCode::UNAUTHORIZED,
            "disk_full" => StatusCode::INSUFFICIENT_STORAGE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut resp = (status, Json(self.0.body())).into_response();
        if let Error::TooManyAttempts(secs) = self.0 {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// JSON body whose parse errors come back as `invalid` API errors.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => Err(ApiError(Error::Invalid(rejection_text(&e)))),
        }
    }
}

fn rejection_text(e: &JsonRejection) -> String {
    format!("request body: {}", e.body_text())
}

/// A CSV body, sent as `text/csv`: the types a form on another site can send without asking
/// first (`text/plain`, form encodings) are refused, so no such form can import tags.
pub struct Csv(pub String);

impl<S: Send + Sync> FromRequest<S> for Csv {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let csv = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("text/csv") || v.eq_ignore_ascii_case("application/csv")
            });
        if !csv {
            return Err(ApiError(Error::Invalid(
                "request body: send the CSV file as Content-Type text/csv".into(),
            )));
        }
        String::from_request(req, state)
            .await
            .map(Csv)
            .map_err(|e| ApiError(Error::Invalid(format!("request body: {}", e.body_text()))))
    }
}

/// Query string whose parse errors come back as `invalid` API errors.
pub struct Q<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(q) => Ok(Q(q.0)),
            Err(e) => Err(ApiError(Error::Invalid(query_text(&e)))),
        }
    }
}

fn query_text(e: &QueryRejection) -> String {
    format!("query: {}", e.body_text())
}

pub fn router(engine: Engine) -> Router {
    Router::new()
        .route("/api/info", get(info))
        .route("/api/today", get(today))
        .route("/api/stations", get(stations).post(create_station))
        .route("/api/stations/{id}", get(station).delete(delete_station))
        .route("/api/stations/{id}/accept", post(accept_station))
        .route("/api/stations/{id}/reject", post(reject_station))
        .route(
            "/api/stations/{id}/protocols",
            axum::routing::put(set_protocols),
        )
        .route(
            "/api/stations/{id}/password",
            axum::routing::put(set_password),
        )
        .route(
            "/api/stations/{id}/security-profile",
            axum::routing::put(set_security_profile),
        )
        .route(
            "/api/stations/{id}/security-profile/upgrade",
            post(upgrade_security_profile),
        )
        .route(
            "/api/stations/{id}/certificate",
            post(sign_station_certificate),
        )
        .route("/api/tls", get(tls_info))
        .route("/api/tls/ca.pem", get(tls_ca))
        .route(
            "/api/tls/certificate",
            axum::routing::put(import_tls_certificate).delete(remove_tls_certificate),
        )
        .route("/api/tls/trusted", axum::routing::put(set_trusted_cas))
        .route("/api/stations/{id}/start", post(start_charging))
        .route("/api/stations/{id}/stop", post(stop_charging))
        .route("/api/stations/{id}/reset", post(reset))
        .route("/api/stations/{id}/unlock", post(unlock))
        .route("/api/stations/{id}/availability", post(availability))
        .route("/api/stations/{id}/trigger", post(trigger))
        .route("/api/stations/{id}/clear-cache", post(clear_cache))
        .route("/api/transactions/{id}/close", post(close_transaction))
        .route("/api/time-zones", get(time_zones))
        .route("/api/stations/{id}/status-history", get(status_history))
        .route("/api/stations/{id}/frames", get(frames))
        .route("/api/stations/{id}/commands", get(command_log))
        .route("/api/stations/{id}/commands/{action}", post(command))
        .route("/api/stations/{id}/quirks", get(quirks))
        .route("/api/stations/{id}/inspector", get(inspect))
        .route(
            "/api/stations/{id}/configuration",
            get(configuration).put(change_configuration),
        )
        .route(
            "/api/stations/{id}/snapshots",
            get(station_snapshots).post(snapshot),
        )
        .route("/api/stations/{id}/local-list", post(send_local_list))
        .route("/api/stations/{id}/health", get(health))
        .route("/api/stations/{id}/transfers", get(transfers))
        .route("/api/stations/{id}/diagnostics", post(get_diagnostics))
        .route(
            "/api/stations/{id}/firmware",
            // A firmware image, base64 in JSON: allow far more than the default 2 MB.
            post(update_firmware).layer(axum::extract::DefaultBodyLimit::max(400 << 20)),
        )
        .route("/api/transfers/{id}/file", get(transfer_file))
        .route("/api/snapshots", get(snapshots))
        .route(
            "/api/snapshots/{id}",
            axum::routing::delete(delete_snapshot),
        )
        .route("/api/configuration/diff", post(diff_configuration))
        .route("/api/ocpp/commands", get(command_templates))
        .route("/api/ocpp/commands/{action}/check", post(check_command))
        .route("/api/ocpp/configuration-keys", get(configuration_keys))
        .route("/api/transactions", get(transactions))
        .route("/api/transactions/{id}", get(transaction))
        .route("/api/meter-values", get(meter_values))
        .route("/api/id-tags", get(id_tags).post(create_id_tag))
        .route(
            "/api/id-tags/{tag}",
            get(id_tag).put(update_id_tag).delete(delete_id_tag),
        )
        .route("/api/id-tags/import", post(import_id_tags))
        .route("/api/id-tags/import/preview", post(preview_id_tags))
        .route("/api/tag-groups", get(tag_groups))
        .route("/api/tariffs", get(tariffs).post(create_tariff))
        .route(
            "/api/tariffs/{id}",
            get(tariff).put(update_tariff).delete(delete_tariff),
        )
        .route(
            "/api/tariff-assignments",
            get(tariff_assignments).put(assign_tariff),
        )
        .route("/api/charts/sessions/{id}", get(session_chart))
        .route("/api/charts/depot", get(depot_chart))
        .route("/api/charts/totals", get(totals_chart))
        .route("/api/charts/stations/{id}", get(station_chart))
        .route("/api/exports", get(exports).post(export))
        .route("/api/exports/{name}", get(export_file))
        .route("/api/settings", get(settings).put(update_settings))
        .route("/api/site", get(site).put(update_site))
        .route("/api/site/load", get(site_load))
        .route("/api/site/decisions", get(load_decisions))
        .route("/api/backups", get(backups).post(back_up_now))
        .route(
            "/api/backups/policy",
            axum::routing::put(update_backup_policy),
        )
        .route("/api/backups/{name}/restore", post(restore_backup))
        .route("/api/demo", axum::routing::delete(remove_demo))
        .route("/api/live", get(live))
        .merge(crate::login::routes())
        .with_state(engine)
}

/// A session's chart as SVG.
async fn session_chart(
    State(e): State<Engine>,
    Path(id): Path<i64>,
    Q(size): Q<ChartSize>,
) -> Result<Response, ApiError> {
    Ok(svg(e.session_chart(id, size).await?))
}

#[derive(Deserialize)]
struct ChartQuery {
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    width: Option<u32>,
    height: Option<u32>,
    lang: Option<String>,
}

impl ChartQuery {
    fn split(&self) -> (Period, ChartSize) {
        (
            Period {
                from: self.from,
                to: self.to,
            },
            ChartSize {
                width: self.width,
                height: self.height,
                lang: self.lang.clone(),
            },
        )
    }
}

fn svg(svg: String) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
}

/// The depot's load between two local dates, stacked per station, as SVG.
async fn depot_chart(State(e): State<Engine>, Q(q): Q<ChartQuery>) -> Result<Response, ApiError> {
    let (period, size) = q.split();
    Ok(svg(e.depot_chart(period, size).await?))
}

/// The depot's energy and cost per day (or month) between two local dates, as SVG.
async fn totals_chart(State(e): State<Engine>, Q(q): Q<ChartQuery>) -> Result<Response, ApiError> {
    let (period, size) = q.split();
    Ok(svg(e.totals_chart(period, size).await?))
}

/// A station's energy per day between two local dates, as SVG.
async fn station_chart(
    State(e): State<Engine>,
    Path(id): Path<String>,
    Q(q): Q<ChartQuery>,
) -> Result<Response, ApiError> {
    let (period, size) = q.split();
    Ok(svg(e.station_chart(&id, period, size).await?))
}

async fn exports(State(e): State<Engine>) -> ApiResult<Value> {
    Ok(Json(json!(e.exports()?)))
}

async fn export(State(e): State<Engine>, Body(r): Body<ExportRequest>) -> ApiResult<Value> {
    Ok(Json(json!(e.export(r).await?)))
}

/// A finished export as a download.
async fn export_file(
    State(e): State<Engine>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let path = e.export_path(&name)?;
    let kind = match path.extension().and_then(|x| x.to_str()) {
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jsonl") => "application/jsonl; charset=utf-8",
        _ => "text/csv; charset=utf-8",
    };
    attachment(&path, &name, kind).await
}

/// A file as a download under `name`.
async fn attachment(path: &std::path::Path, name: &str, kind: &str) -> Result<Response, ApiError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|err| ApiError(Error::Internal(format!("{}: {err}", path.display()))))?;
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let utf8 = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, kind.to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{utf8}"),
            ),
        ],
        bytes,
    )
        .into_response())
}

// ---- Technician's toolkit ----------------------------------------------------------------------

async fn inspect(
    State(e): State<Engine>,
    Path(id): Path<String>,
    Q(f): Q<FrameFilter>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.inspect(&id, &f).await?)))
}

async fn configuration(State(e): State<Engine>, Path(id): Path<String>) -> ApiResult<Value> {
    Ok(Json(json!(e.configuration(&id).await?)))
}

async fn change_configuration(
    State(e): State<Engine>,
    Path(id): Path<String>,
    Body(changes): Body<Vec<KeyChange>>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.change_configuration(&id, changes).await?)))
}

#[derive(Deserialize)]
struct SnapshotBody {
    name: String,
}

async fn snapshot(
    State(e): State<Engine>,
    Path(id): Path<String>,
    Body(b): Body<SnapshotBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let s = e.snapshot_configuration(&id, &b.name).await?;
    Ok((StatusCode::CREATED, Json(json!(s))))
}

async fn station_snapshots(State(e): State<Engine>, Path(id): Path<String>) -> ApiResult<Value> {
    Ok(Json(json!(e.snapshots(Some(&id)).await?)))
}

async fn snapshots(State(e): State<Engine>) -> ApiResult<Value> {
    Ok(Json(json!(e.snapshots(None).await?)))
}

async fn delete_snapshot(
    State(e): State<Engine>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    e.delete_snapshot(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct DiffBody {
    left: ConfigSource,
    right: ConfigSource,
}

async fn diff_configuration(State(e): State<Engine>, Body(b): Body<DiffBody>) -> ApiResult<Value> {
    Ok(Json(json!(e.diff_configuration(&b.left, &b.right).await?)))
}

async fn send_local_list(
    State(e): State<Engine>,
    Path(id): Path<String>,
    Body(r): Body<LocalListRequest>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.send_local_list(&id, r).await?)))
}

async fn health(State(e): State<Engine>, Path(id): Path<String>) -> ApiResult<Value> {
    Ok(Json(json!(e.health(&id).await?)))
}

async fn transfers(State(e): State<Engine>, Path(id): Path<String>) -> ApiResult<Value> {
    Ok(Json(json!(e.transfers(&id).await?)))
}

async fn get_diagnostics(
    State(e): State<Engine>,
    Path(id): Path<String>,
    Body(r): Body<DiagnosticsRequest>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.get_diagnostics(&id, r).await?)))
}

async fn update_firmware(
    State(e): State<Engine>,
    Path(id): Path<String>,
    Body(r): Body<FirmwareRequest>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.update_firmware(&id, r).await?)))
}

/// A received diagnostics file (or the firmware offered) as a download.
async fn transfer_file(State(e): State<Engine>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let (name, path) = e.transfer_file(id).await?;
    attachment(&path, &name, "application/octet-stream").await
}

/// Which OCPP version a composer works in (`?protocol=ocpp2.0.1`; 1.6 when absent).
#[derive(Deserialize)]
struct Protocol {
    protocol: Option<String>,
}

impl Protocol {
    fn version(&self) -> Result<chargeyard_core::ocpp::Version, ApiError> {
        match self.protocol.as_deref() {
            None | Some("") => Ok(chargeyard_core::ocpp::Version::V16),
            Some(p) => chargeyard_core::ocpp::Version::from_subprotocol(p).ok_or_else(|| {
                ApiError(Error::Invalid(format!(
                    "protocol {p:?}: ocpp1.6, ocpp2.0.1 or ocpp2.1"
                )))
            }),
        }
    }
}

async fn command_templates(State(e): State<Engine>, Q(p): Q<Protocol>) -> ApiResult<Value> {
    Ok(Json(json!(e.command_templates(p.version()?))))
}

/// Check a composed command without sending it.
async fn check_command(
    State(e): State<Engine>,
    Path(action): Path<String>,
    Q(p): Q<Protocol>,
    Body(payload): Body<Value>,
) -> Result<StatusCode, ApiError> {
    e.check_command(p.version()?, &action, payload)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn configuration_keys(State(e): State<Engine>) -> Json<Value> {
    Json(json!(e.configuration_catalogue()))
}

async fn info(State(e): State<Engine>) -> Json<Value> {
    Json(json!(e.info()))
}

async fn stations(State(e): State<Engine>) -> ApiResult<Value> {
    Ok(Json(json!(e.stations().await?)))
}

async fn station(State(e): State<Engine>, Path(id): Path<String>) -> ApiResult<Value> {
    Ok(Json(json!(e.station(&id).await?)))
}

async fn create_station(
    State(e): State<Engine>,
    Body(new): Body<NewStation>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(json!(e.create_station(new).await?)),
    ))
}

async fn delete_station(
    State(e): State<Engine>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    e.delete_station(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body is optional: empty accepts without a password.
async fn accept_station(
    State(e): State<Engine>,
    Path(id): Path<String>,
    a: Actor,
    body: axum::body::Bytes,
) -> ApiResult<Value> {
    let password = if body.iter().all(u8::is_ascii_whitespace) {
        PasswordChange::default()
    } else {
        serde_json::from_slice::<PasswordChange>(&body)
            .map_err(|err| ApiError(Error::Invalid(format!("request body: {err}"))))?
    };
    Ok(Json(json!(
        e.accept_station(&id, password, &a.name()).await?
    )))
}

async fn reject_station(State(e): State<Engine>, Path(id): Path<String>) -> ApiResult<Value> {
    Ok(Json(json!(e.reject_station(&id).await?)))
}

async fn set_protocols(
    State(e): State<Engine>,
    Path(id): Path<String>,
    Body(b): Body<chargeyard_core::ProtocolsRequest>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.set_station_protocols(&id, b).await?)))
}

async fn set_password(
    State(e): State<Engine>,
    Path(id): Path<String>,
    a: Actor,
    Body(b): Body<PasswordChange>,
) -> ApiResult<Value> {
    Ok(Json(json!(
        e.set_station_password(&id, b, &a.name()).await?
    )))
}

async fn set_security_profile(
    State(e): State<Engine>,
    Path(id): Path<String>,
    a: Actor,
    Body(b): Body<chargeyard_core::security::SecurityProfileChange>,
) -> ApiResult<Value> {
    Ok(Json(json!(
        e.set_security_profile(&id, b, &a.name()).await?
    )))
}

async fn upgrade_security_profile(
    State(e): State<Engine>,
    Path(id): Path<String>,
    a: Actor,
    Body(b): Body<chargeyard_core::security::SecurityProfileChange>,
) -> ApiResult<Value> {
    Ok(Json(json!(
        e.upgrade_security_profile(&id, b, &a.name()).await?
    )))
}

#[derive(Deserialize)]
struct SigningRequest {
    csr_pem: String,
}

/// A certificate for the station from its signing request (made on the charger), signed by the
/// depot's CA: the chain to install in it, leaf first.
async fn sign_station_certificate(
    State(e): State<Engine>,
    Path(id): Path<String>,
    Body(b): Body<SigningRequest>,
) -> ApiResult<Value> {
    let chain_pem = e.sign_station_certificate(&id, &b.csr_pem).await?;
    Ok(Json(json!({ "chain_pem": chain_pem })))
}

async fn tls_info(State(e): State<Engine>) -> ApiResult<Value> {
    Ok(Json(json!(e.tls_info())))
}

/// The depot's CA certificate as a download, to install in chargers.
async fn tls_ca(State(e): State<Engine>) -> Response {
    let pem = e.tls_ca_pem();
    (
        [
            (axum::http::header::CONTENT_TYPE, "application/x-pem-file"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"chargeyard-ca.pem\"",
            ),
        ],
        pem,
    )
        .into_response()
}

async fn import_tls_certificate(
    State(e): State<Engine>,
    Body(b): Body<chargeyard_core::tls::CertificateImport>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.import_tls_certificate(&b)?)))
}

async fn remove_tls_certificate(State(e): State<Engine>) -> ApiResult<Value> {
    Ok(Json(json!(e.remove_tls_certificate()?)))
}

#[derive(Deserialize)]
struct TrustedCas {
    pem: String,
}

async fn set_trusted_cas(State(e): State<Engine>, Body(b): Body<TrustedCas>) -> ApiResult<Value> {
    Ok(Json(json!(e.set_trusted_cas(&b.pem)?)))
}

/// [`StartRequest`], also read with `connector_id`, the EVSE's name before 2.0.1.
#[derive(Deserialize)]
struct StartBody {
    #[serde(alias = "connector_id")]
    evse_id: i64,
    id_tag: String,
}

async fn start_charging(
    State(e): State<Engine>,
    Path(id): Path<String>,
    a: Actor,
    Body(b): Body<StartBody>,
) -> ApiResult<Value> {
    let r = StartRequest {
        evse_id: b.evse_id,
        id_tag: b.id_tag,
    };
    Ok(Json(json!(e.start_charging(&id, r, &a.name()).await?)))
}

async fn stop_charging(
    State(e): State<Engine>,
    Path(id): Path<String>,
    a: Actor,
    Body(r): Body<StopRequest>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.stop_charging(&id, r, &a.name()).await?)))
}

async fn reset(
    State(e): State<Engine>,
    Path(id): Path<String>,
    a: Actor,
    Body(r): Body<ResetRequest>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.reset(&id, r, &a.name()).await?)))
}

async fn unlock(
    State(e): State<Engine>,
    Path(id): Path<String>,
    a: Actor,
    Body(r): Body<UnlockRequest>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.unlock(&id, r, &a.name()).await?)))
}

async fn availability(
    State(e): State<Engine>,
    Path(id): Path<String>,
    a: Actor,
    Body(r): Body<AvailabilityRequest>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.change_availability(&id, r, &a.name()).await?)))
}

async fn trigger(
    State(e): State<Engine>,
    Path(id): Path<String>,
    a: Actor,
    Body(r): Body<TriggerRequest>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.trigger(&id, r, &a.name()).await?)))
}

async fn clear_cache(
    State(e): State<Engine>,
    Path(id): Path<String>,
    a: Actor,
) -> ApiResult<Value> {
    Ok(Json(json!(e.clear_cache(&id, &a.name()).await?)))
}

async fn close_transaction(
    State(e): State<Engine>,
    Path(id): Path<i64>,
    a: Actor,
    Body(r): Body<CloseRequest>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.close_transaction(id, r, &a.name()).await?)))
}

#[derive(Deserialize)]
struct TodayQuery {
    station_id: Option<String>,
}

/// The sessions started since the depot's midnight, summed (on one station, or on all).
async fn today(State(e): State<Engine>, Q(q): Q<TodayQuery>) -> ApiResult<Value> {
    Ok(Json(json!(e.today(q.station_id.as_deref()).await?)))
}

async fn time_zones(State(e): State<Engine>) -> Json<Value> {
    Json(json!(e.time_zones()))
}

#[derive(Deserialize)]
struct Paging {
    limit: Option<i64>,
    before: Option<i64>,
}

async fn status_history(
    State(e): State<Engine>,
    Path(id): Path<String>,
    Q(p): Q<Paging>,
) -> ApiResult<Value> {
    Ok(Json(json!(
        e.status_history(&id, p.limit.unwrap_or(100)).await?
    )))
}

async fn frames(
    State(e): State<Engine>,
    Path(id): Path<String>,
    Q(p): Q<Paging>,
) -> ApiResult<Value> {
    Ok(Json(json!(
        e.frames(&id, p.before, p.limit.unwrap_or(200)).await?
    )))
}

async fn command_log(
    State(e): State<Engine>,
    Path(id): Path<String>,
    Q(p): Q<Paging>,
) -> ApiResult<Value> {
    Ok(Json(json!(
        e.command_log(&id, p.limit.unwrap_or(100)).await?
    )))
}

async fn quirks(State(e): State<Engine>, Path(id): Path<String>) -> ApiResult<Value> {
    Ok(Json(json!(e.quirks(&id).await?)))
}

/// Who asks, for the command log and the station's log: the operator signed in, else `?actor=`
/// (the desktop window and scripts name themselves), else "api".
struct Actor(String);

#[derive(Deserialize)]
struct ActorQuery {
    actor: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if let Some(crate::login::SignedIn(o)) = parts.extensions.get() {
            return Ok(Actor(o.name.clone()));
        }
        let Q(q) = Q::<ActorQuery>::from_request_parts(parts, state).await?;
        Ok(Actor(q.actor.unwrap_or_else(|| "api".into())))
    }
}

impl Actor {
    fn name(&self) -> String {
        self.0.clone()
    }
}

async fn command(
    State(e): State<Engine>,
    Path((id, action)): Path<(String, String)>,
    a: Actor,
    Body(payload): Body<Value>,
) -> ApiResult<Value> {
    let response = e.command_json(&id, &action, payload, &a.name()).await?;
    Ok(Json(json!({ "action": action, "response": response })))
}

async fn transactions(State(e): State<Engine>, Q(f): Q<TransactionFilter>) -> ApiResult<Value> {
    Ok(Json(json!(e.transactions(&f).await?)))
}

async fn transaction(State(e): State<Engine>, Path(id): Path<i64>) -> ApiResult<Value> {
    Ok(Json(json!(e.transaction(id).await?)))
}

async fn meter_values(State(e): State<Engine>, Q(f): Q<SampleFilter>) -> ApiResult<Value> {
    Ok(Json(json!(e.meter_samples(&f).await?)))
}

async fn id_tags(State(e): State<Engine>, Q(f): Q<TagFilter>) -> ApiResult<Value> {
    Ok(Json(json!(e.id_tags(&f).await?)))
}

async fn tag_groups(State(e): State<Engine>) -> ApiResult<Value> {
    Ok(Json(json!(e.tag_groups().await?)))
}

async fn id_tag(State(e): State<Engine>, Path(tag): Path<String>) -> ApiResult<Value> {
    Ok(Json(json!(e.id_tag(&tag).await?)))
}

#[derive(Deserialize)]
struct NewTag {
    id_tag: String,
    #[serde(flatten)]
    fields: TagFields,
}

async fn create_id_tag(
    State(e): State<Engine>,
    Body(t): Body<NewTag>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(json!(e.create_id_tag(&t.id_tag, t.fields).await?)),
    ))
}

async fn import_id_tags(State(e): State<Engine>, Csv(body): Csv) -> ApiResult<Value> {
    Ok(Json(json!(e.import_id_tags(&body).await?)))
}

async fn preview_id_tags(State(e): State<Engine>, Csv(body): Csv) -> ApiResult<Value> {
    Ok(Json(json!(e.preview_id_tags(&body).await?)))
}

async fn settings(State(e): State<Engine>) -> Json<Value> {
    Json(json!(e.settings()))
}

async fn update_settings(
    State(e): State<Engine>,
    Body(s): Body<chargeyard_core::Settings>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.update_settings(s).await?)))
}

async fn site(State(e): State<Engine>) -> Json<Value> {
    Json(json!(e.site()))
}

async fn update_site(
    State(e): State<Engine>,
    Body(s): Body<chargeyard_core::load::Site>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.set_site(s).await?)))
}

async fn backups(State(e): State<Engine>) -> ApiResult<Value> {
    Ok(Json(json!(e.backups().await?)))
}

async fn back_up_now(State(e): State<Engine>) -> ApiResult<Value> {
    Ok(Json(json!(e.back_up_now().await?)))
}

async fn update_backup_policy(
    State(e): State<Engine>,
    Body(p): Body<chargeyard_core::backups::BackupPolicy>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.set_backup_policy(p).await?)))
}

/// Staged, then the front end restarts the engine (the answer goes out first).
async fn restore_backup(State(e): State<Engine>, Path(name): Path<String>) -> ApiResult<Value> {
    Ok(Json(json!(e.restore_backup(&name).await?)))
}

async fn site_load(State(e): State<Engine>) -> Json<Value> {
    Json(json!(e.site_load()))
}

/// Which decisions: a station's, a session's, or the site's; the latest `limit` (100).
#[derive(Deserialize)]
struct DecisionFilter {
    station_id: Option<String>,
    transaction_id: Option<i64>,
    limit: Option<i64>,
}

async fn load_decisions(State(e): State<Engine>, Q(f): Q<DecisionFilter>) -> ApiResult<Value> {
    let list = e
        .load_decisions(
            f.station_id.as_deref(),
            f.transaction_id,
            f.limit.unwrap_or(100),
        )
        .await?;
    Ok(Json(json!(list)))
}

async fn update_id_tag(
    State(e): State<Engine>,
    Path(tag): Path<String>,
    Body(f): Body<TagFields>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.update_id_tag(&tag, f).await?)))
}

async fn tariffs(State(e): State<Engine>) -> ApiResult<Value> {
    Ok(Json(json!(e.tariffs().await?)))
}

async fn tariff(State(e): State<Engine>, Path(id): Path<i64>) -> ApiResult<Value> {
    Ok(Json(json!(e.tariff(id).await?)))
}

async fn create_tariff(
    State(e): State<Engine>,
    Body(t): Body<TariffInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    Ok((StatusCode::CREATED, Json(json!(e.create_tariff(t).await?))))
}

async fn update_tariff(
    State(e): State<Engine>,
    Path(id): Path<i64>,
    Body(t): Body<TariffInput>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.update_tariff(id, t).await?)))
}

async fn delete_tariff(
    State(e): State<Engine>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    e.delete_tariff(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn tariff_assignments(State(e): State<Engine>) -> ApiResult<Value> {
    Ok(Json(json!(e.tariff_assignments().await?)))
}

async fn assign_tariff(
    State(e): State<Engine>,
    Body(a): Body<AssignmentInput>,
) -> ApiResult<Value> {
    Ok(Json(json!(e.assign_tariff(a).await?)))
}

async fn delete_id_tag(
    State(e): State<Engine>,
    Path(tag): Path<String>,
) -> Result<StatusCode, ApiError> {
    e.delete_id_tag(&tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop the simulated demo fleet and delete all demo data.
async fn remove_demo(State(e): State<Engine>) -> ApiResult<Value> {
    Ok(Json(json!(e.remove_demo().await?)))
}

async fn live(State(e): State<Engine>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| stream_events(e, socket))
}

/// Push every engine event as one JSON text message until the client goes away.
async fn stream_events(engine: Engine, mut socket: WebSocket) {
    let mut rx = engine.subscribe();
    loop {
        tokio::select! {
            ev = rx.recv() => {
                let text = match ev {
                    Ok(ev) => serde_json::to_string(&ev).unwrap_or_default(),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => json!({"type": "lagged", "missed": n}).to_string(),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                _ => {}
            }
        }
    }
}
