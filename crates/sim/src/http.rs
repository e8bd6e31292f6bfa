//! Just enough HTTP/1.1 for a charger's file transfers: upload a diagnostics file as
//! multipart/form-data, download a firmware file. Plain `http://` only (what a depot LAN offers);
//! anything else fails the way a charger reports it, with an error.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Host, port and path of an `http://` URL.
fn split(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("unsupported location {url:?}: only http:// is implemented"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((authority, path.to_string()))
}

/// Send a request and read the status and body (by Content-Length, or to the end).
async fn exchange(url: &str, head: String, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let (authority, _) = split(url)?;
    let mut s = TcpStream::connect(&authority)
        .await
        .map_err(|e| format!("{authority}: {e}"))?;
    s.write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    s.write_all(body).await.map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header in the answer")?;
    let header = String::from_utf8_lossy(&raw[..end]).to_string();
    let status = header
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status in the answer")?;
    let mut body = raw[end + 4..].to_vec();
    let length = header.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    });
    if let Some(n) = length {
        if body.len() < n {
            return Err(format!("body cut short: {} of {n} bytes", body.len()));
        }
        body.truncate(n);
    }
    Ok((status, body))
}

/// GET a file; the body when the answer is 200.
pub async fn get(url: &str) -> Result<Vec<u8>, String> {
    let (authority, path) = split(url)?;
    let head = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    match exchange(url, head, &[]).await? {
        (200, body) => Ok(body),
        (status, _) => Err(format!("GET {url}: HTTP {status}")),
    }
}

/// POST a file as multipart/form-data, the way chargers upload diagnostics.
pub async fn post_file(url: &str, file_name: &str, content: &[u8]) -> Result<(), String> {
    let (authority, path) = split(url)?;
    let boundary = "chargeyard-sim-boundary-7d1f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    match exchange(url, head, &body).await? {
        (200..=299, _) => Ok(()),
        (status, answer) => Err(format!(
            "POST {url}: HTTP {status} {}",
            String::from_utf8_lossy(&answer)
        )),
    }
}
