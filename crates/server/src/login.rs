//! Who uses the console: operator logins where they are required (the console listens beyond
//! loopback, or `--require-login`), roles, and the operator each change is made by.
//!
//! Every `/api` request passes [`check`]: with a login required, one without a valid session
//! cookie gets `401 login_required`, and one its role may not make `403 forbidden`. The console's
//! own pages (the UI files) and the session, login and logout routes are open, so the login form
//! can be shown. Without a login required (loopback, the desktop window) requests pass as before,
//! and a signed-in operator is still named in the logs.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use chargeyard_core::Engine;
use chargeyard_core::operators::{Credentials, NewOperator, OperatorChange, Role};
use chargeyard_core::store::operators::Operator;
use serde_json::{Value, json};

use crate::api::{ApiError, Body};

const COOKIE: &str = "chargeyard_session";

/// Whether this console asks for a login.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub required: bool,
    /// The console is served over HTTPS: the cookie is marked Secure.
    pub secure: bool,
}

/// The operator a request comes from (a valid session cookie).
#[derive(Debug, Clone)]
pub struct SignedIn(pub Operator);

/// POSTs that change nothing (checks and previews), open to read-only operators.
fn changes(method: &Method, path: &str) -> bool {
    let reading = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let checking = (path.starts_with("/api/ocpp/commands/") && path.ends_with("/check"))
        || path == "/api/configuration/diff"
        || path == "/api/id-tags/import/preview";
    !(reading || checking || path == "/api/logout")
}

/// What only a manager may change: accounts, money, tags, settings, the site, certificates,
/// backups.
const MANAGERS_ONLY: &[&str] = &[
    "/api/operators",
    "/api/tariffs",
    "/api/id-tags",
    "/api/tag-groups",
    "/api/settings",
    "/api/site",
    "/api/demo",
    "/api/tls",
    "/api/backups",
];

/// Whether `role` may make this request; if not, why, in words.
pub fn may(role: Role, method: &Method, path: &str) -> Result<(), &'static str> {
    if !changes(method, path) {
        return Ok(());
    }
    match role {
        Role::Manager => Ok(()),
        Role::ReadOnly => Err("a read-only operator cannot change anything"),
        Role::Technician if MANAGERS_ONLY.iter().any(|p| path.starts_with(p)) => Err(
            "a technician cannot change accounts, tariffs, tags, settings, backups or certificates: ask a manager",
        ),
        Role::Technician => Ok(()),
    }
}

fn token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_string)
        })
        .filter(|t| !t.is_empty())
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

/// The middleware: see the module docs.
pub async fn check(
    State((engine, policy)): State<(Engine, Policy)>,
    mut req: Request,
    next: Next,
) -> Response {
    req.extensions_mut().insert(policy);
    let path = req.uri().path().to_string();
    let open = !path.starts_with("/api/")
        || matches!(path.as_str(), "/api/session" | "/api/login" | "/api/logout");
    let operator = match token(req.headers()) {
        Some(t) => match engine.operator_session(&t).await {
            Ok(o) => o,
            Err(e) => return ApiError::from(e).into_response(),
        },
        None => None,
    };
    if let Some(o) = &operator {
        req.extensions_mut().insert(SignedIn(o.clone()));
    }
    if policy.required && !open {
        let Some(o) = operator else {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "login_required",
                "log in to use the console",
            );
        };
        let role = Role::parse(&o.role).unwrap_or(Role::ReadOnly);
        if let Err(why) = may(role, req.method(), &path) {
            return refuse(StatusCode::FORBIDDEN, "forbidden", why);
        }
    }
    next.run(req).await
}

/// The routes of this module, for [`crate::api::router`].
pub fn routes() -> Router<Engine> {
    Router::new()
        .route("/api/session", get(session))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/operators", get(operators).post(create_operator))
        .route(
            "/api/operators/{id}",
            put(update_operator).delete(delete_operator),
        )
}

/// Whether a login is required, who is signed in, and whether any account exists.
async fn session(
    State(e): State<Engine>,
    policy: Option<Extension<Policy>>,
    signed_in: Option<Extension<SignedIn>>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({
        "login_required": policy.is_some_and(|p| p.required),
        "operator": signed_in.map(|s| s.0.0.clone()),
        "has_operators": e.has_operators().await?,
    })))
}

fn cookie(value: &str, max_age: u64, policy: Option<Extension<Policy>>) -> HeaderValue {
    let secure = if policy.is_some_and(|p| p.secure) {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

async fn login(
    State(e): State<Engine>,
    policy: Option<Extension<Policy>>,
    Body(c): Body<Credentials>,
) -> Result<Response, ApiError> {
    let signed = e.login(c).await?;
    let mut resp = Json(json!({ "operator": signed.operator })).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&signed.token, signed.max_age.as_secs(), policy),
    );
    Ok(resp)
}

async fn logout(
    State(e): State<Engine>,
    policy: Option<Extension<Policy>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(t) = token(&headers) {
        e.logout(&t).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, cookie("", 0, policy));
    Ok(resp)
}

async fn operators(State(e): State<Engine>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(e.operators().await?)))
}

async fn create_operator(
    State(e): State<Engine>,
    Body(b): Body<NewOperator>,
) -> Result<Response, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(json!(e.create_operator(b).await?)),
    )
        .into_response())
}

async fn update_operator(
    State(e): State<Engine>,
    Path(id): Path<i64>,
    Body(b): Body<OperatorChange>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(e.update_operator(id, b).await?)))
}

async fn delete_operator(
    State(e): State<Engine>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    e.delete_operator(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_decide_what_may_change() {
        let post = Method::POST;
        let start = "/api/stations/CP1/start";
        assert!(may(Role::ReadOnly, &Method::GET, "/api/stations").is_ok());
        assert!(may(Role::ReadOnly, &post, start).is_err());
        assert!(may(Role::ReadOnly, &post, "/api/ocpp/commands/Reset/check").is_ok());
        assert!(may(Role::ReadOnly, &post, "/api/logout").is_ok());
        assert!(may(Role::Technician, &post, start).is_ok());
        assert!(may(Role::Technician, &Method::PUT, "/api/tariffs/1").is_err());
        assert!(may(Role::Technician, &Method::POST, "/api/operators").is_err());
        assert!(may(Role::Manager, &Method::POST, "/api/operators").is_ok());
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; chargeyard_session=abc; b=2"),
        );
        assert_eq!(token(&h).as_deref(), Some("abc"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("chargeyard_session="),
        );
        assert_eq!(token(&h), None);
    }
}
