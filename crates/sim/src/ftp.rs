//! Just enough FTP for a charger's diagnostics upload: log in, binary mode, passive mode, STOR.
//! `ftp://user:password@host:port/folder/`, the way central systems hand out upload locations.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

struct Control {
    read: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
}

impl Control {
    /// The next complete reply: its code and text (multi-line replies read to their end).
    async fn reply(&mut self) -> Result<(u16, String), String> {
        let mut line = String::new();
        if self
            .read
            .read_line(&mut line)
            .await
            .map_err(|e| e.to_string())?
            == 0
        {
            return Err("the FTP server closed the connection".into());
        }
        let code: u16 = line
            .get(..3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("not an FTP reply: {line:?}"))?;
        if line.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                let mut more = String::new();
                if self
                    .read
                    .read_line(&mut more)
                    .await
                    .map_err(|e| e.to_string())?
                    == 0
                {
                    break;
                }
                if more.starts_with(&end) {
                    break;
                }
            }
        }
        Ok((code, line.trim_end().to_string()))
    }

    /// Send a command and expect a reply in `ok`.
    async fn command(
        &mut self,
        cmd: &str,
        ok: std::ops::RangeInclusive<u16>,
    ) -> Result<String, String> {
        self.write
            .write_all(format!("{cmd}\r\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let (code, text) = self.reply().await?;
        let shown = if cmd.starts_with("PASS") {
            "PASS ****"
        } else {
            cmd
        };
        if ok.contains(&code) {
            Ok(text)
        } else {
            Err(format!("{shown}: {text}"))
        }
    }
}

/// The data address of a `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` reply.
fn passive_address(text: &str) -> Result<String, String> {
    let inner = text
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inner, _)| inner)
        .ok_or_else(|| format!("no address in {text:?}"))?;
    let n: Vec<u16> = inner
        .split(',')
        .map(|x| {
            x.trim()
                .parse()
                .map_err(|_| format!("bad address in {text:?}"))
        })
        .collect::<Result<_, _>>()?;
    if n.len() != 6 {
        return Err(format!("bad address in {text:?}"));
    }
    Ok(format!(
        "{}.{}.{}.{}:{}",
        n[0],
        n[1],
        n[2],
        n[3],
        n[4] * 256 + n[5]
    ))
}

/// Store `content` as `file_name` in the folder of an `ftp://` URL.
pub async fn put(url: &str, file_name: &str, content: &[u8]) -> Result<(), String> {
    let rest = url
        .strip_prefix("ftp://")
        .ok_or_else(|| format!("not an ftp:// location: {url:?}"))?;
    let (authority, folder) = rest.split_once('/').unwrap_or((rest, ""));
    let (login, host) = authority
        .rsplit_once('@')
        .unwrap_or(("anonymous:", authority));
    let (user, password) = login.split_once(':').unwrap_or((login, ""));
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:21")
    };
    let stream = TcpStream::connect(&host)
        .await
        .map_err(|e| format!("{host}: {e}"))?;
    let (r, w) = stream.into_split();
    let mut c = Control {
        read: BufReader::new(r),
        write: w,
    };
    let (code, text) = c.reply().await?;
    if code != 220 {
        return Err(format!("greeting: {text}"));
    }
    c.command(&format!("USER {user}"), 230..=331).await?;
    c.command(&format!("PASS {password}"), 230..=230).await?;
    c.command("TYPE I", 200..=200).await?;
    if !folder.trim_matches('/').is_empty() {
        c.command(&format!("CWD /{}", folder.trim_matches('/')), 250..=250)
            .await?;
    }
    let pasv = c.command("PASV", 227..=227).await?;
    let mut data = TcpStream::connect(passive_address(&pasv)?)
        .await
        .map_err(|e| format!("data connection: {e}"))?;
    c.command(&format!("STOR {file_name}"), 125..=150).await?;
    data.write_all(content).await.map_err(|e| e.to_string())?;
    data.shutdown().await.map_err(|e| e.to_string())?;
    drop(data);
    let (code, text) = c.reply().await?;
    if code != 226 && code != 250 {
        return Err(format!("STOR: {text}"));
    }
    let _ = c.command("QUIT", 221..=221).await;
    Ok(())
}
