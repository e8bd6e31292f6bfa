//! No web page can drive the console. A request naming a host this server does not answer to is
//! refused (a DNS-rebinding page makes the browser send its own name), and so is a request from a
//! page on another origin (a cross-site form, fetch or WebSocket: browsers name their page in
//! `Origin`). No CORS headers are sent, so no other origin can read an answer either. Clients that
//! are not browsers (scripts, curl) send no `Origin` and are served as before.
//!
//! The desktop window does not pass through here: it calls the engine in-process.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The host names (and addresses) the console answers to, lower case, without a port.
#[derive(Debug, Clone)]
pub struct Hosts(Vec<String>);

impl Hosts {
    /// Loopback names and addresses, the address it listens on, every address of this machine
    /// and its host name when it listens on all of them, and the names the operator adds.
    pub fn new(listen: SocketAddr, extra: &[String]) -> Hosts {
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let ip = listen.ip();
        if ip.is_unspecified() {
            names.extend(chargeyard_core::engine::lan_addresses());
            if let Some(host) = chargeyard_core::engine::host_name() {
                names.push(format!("{host}.local"));
                names.push(host);
            }
        } else {
            names.push(ip.to_string());
        }
        names.extend(extra.iter().map(|n| bare(n).to_string()));
        names.iter_mut().for_each(|n| *n = n.to_lowercase());
        names.sort();
        names.dedup();
        Hosts(names)
    }

    /// Whether `host` (a `Host` header: a name or address, maybe with a port) is one of ours.
    pub fn allows(&self, host: &str) -> bool {
        let name = bare(host).to_lowercase();
        self.0.contains(&name)
            || name
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback() && self.0.iter().any(|n| n == "127.0.0.1"))
    }
}

/// A host without its port and IPv6 brackets: `[::1]:8180` → `::1`, `Pi.local:80` → `Pi.local`.
fn bare(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        // One colon: a name or IPv4 address with a port. More: a bare IPv6 address.
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

/// Why a request is refused, if it is.
fn refusal(hosts: &Hosts, method: &Method, headers: &HeaderMap) -> Option<(&'static str, String)> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !hosts.allows(host) {
        return Some((
            "host_not_allowed",
            format!(
                "this console does not answer to the host name {host:?}; open it by an address it \
                 listens on, or add the name with --allow-host"
            ),
        ));
    }
    // A page's own requests name it (or, same-origin GETs, nothing); another page's name it too.
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let ours = ["http", "https"]
            .iter()
            .any(|scheme| origin.eq_ignore_ascii_case(&format!("{scheme}://{host}")));
        if !ours {
            return Some((
                "cross_origin",
                format!("a page on {origin} may not use this console"),
            ));
        }
    }
    // Without Origin (a client that is not a browser, or an old one): a browser still says when
    // a request comes from another site.
    let site = headers
        .get("sec-fetch-site")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if site == "cross-site" && *method != Method::GET && *method != Method::HEAD {
        return Some((
            "cross_origin",
            "a page on another site may not use this console".to_string(),
        ));
    }
    None
}

/// Middleware: refuse what [`refusal`] names, with `403` and the API's error body.
pub async fn check(State(hosts): State<Arc<Hosts>>, req: Request, next: Next) -> Response {
    match refusal(&hosts, req.method(), req.headers()) {
        None => next.run(req).await,
        Some((code, message)) => {
            tracing::warn!(code, %message, path = %req.uri().path(), "HTTP request refused");
            (
                StatusCode::FORBIDDEN,
                axum::Json(json!({ "code": code, "message": message })),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header"));
        }
        h
    }

    #[test]
    fn host_names_are_read_without_port_or_brackets() {
        assert_eq!(bare("[::1]:8180"), "::1");
        assert_eq!(bare("Pi.local:80"), "Pi.local");
        assert_eq!(bare("::1"), "::1");
        assert_eq!(bare("localhost"), "localhost");
    }

    #[test]
    fn only_our_names_and_our_own_pages_are_served() {
        let hosts = Hosts::new(
            "127.0.0.1:8180".parse().expect("addr"),
            &["depot-pc".into()],
        );
        let post = Method::POST;
        let ok = |h: &[(&'static str, &str)]| refusal(&hosts, &post, &headers(h)).is_none();
        assert!(ok(&[("host", "127.0.0.1:8180")]));
        assert!(ok(&[
            ("host", "localhost:8180"),
            ("origin", "http://localhost:8180")
        ]));
        assert!(ok(&[("host", "[::1]:8180")]));
        assert!(
            ok(&[("host", "DEPOT-PC:8180")]),
            "a name the operator added"
        );
        assert!(!ok(&[("host", "evil.example:8180")]), "a rebinding page");
        assert!(!ok(&[]), "no host at all");
        assert!(!ok(&[
            ("host", "127.0.0.1:8180"),
            ("origin", "http://evil.example")
        ]));
        assert!(
            !ok(&[
                ("host", "127.0.0.1:8180"),
                ("origin", "http://localhost:8180")
            ]),
            "another origin, though the same machine"
        );
        assert!(
            !ok(&[("host", "127.0.0.1:8180"), ("origin", "null")]),
            "a sandboxed page"
        );
        assert!(!ok(&[
            ("host", "127.0.0.1:8180"),
            ("sec-fetch-site", "cross-site")
        ]));
        let get = refusal(
            &hosts,
            &Method::GET,
            &headers(&[("host", "127.0.0.1:8180"), ("sec-fetch-site", "cross-site")]),
        );
        assert!(get.is_none(), "a link from another site opens the console");
    }

    #[test]
    fn listening_everywhere_answers_to_this_machines_addresses() {
        let hosts = Hosts::new("0.0.0.0:8180".parse().expect("addr"), &[]);
        for ip in chargeyard_core::engine::lan_addresses() {
            let host = if ip.contains(':') {
                format!("[{ip}]:8180")
            } else {
                format!("{ip}:8180")
            };
            assert!(hosts.allows(&host), "{host}");
        }
        assert!(!hosts.allows("evil.example"));
    }
}
