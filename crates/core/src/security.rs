//! Security as the operator manages it: each station's security profile, and the certificates
//! chargers are shown and may present over `wss://` ([`crate::tls`]).
//!
//! A profile is raised only over a connection that already meets it, so the console never locks
//! a charger out: the charger is switched to `wss://` (and given a client certificate) first, and
//! then required to stay there.

use std::time::Duration;

use chargeyard_store::{events, stations};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::auth::{Access, Transport};
use crate::engine::{Engine, charger_urls, lan_addresses, tls_names};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::stations::StationDetail;
use crate::tls::{CertificateImport, TlsInfo};

/// How often the server certificate is looked at for renewal (and the machine's addresses for a
/// change).
const RENEWAL_CHECK: Duration = Duration::from_secs(6 * 3600);

/// The security profile a station is to connect with.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct SecurityProfileChange {
    /// 0: plain `ws://`, no password; 1: plain `ws://` with its password; 2: `wss://` with its
    /// password; 3: `wss://` with a client certificate issued to it.
    pub profile: u8,
}

/// The in-memory mirror of what each station must present, from the stations table.
pub(crate) fn access(rows: Vec<stations::Access>) -> Vec<(String, Access)> {
    rows.into_iter()
        .map(|r| {
            let names = certificate_names(&r.id, [r.serial_number, r.charge_box_serial]);
            let access = Access {
                hash: r.password_hash,
                profile: u8::try_from(r.security_profile).unwrap_or(0),
                certificate_names: names,
            };
            (r.id, access)
        })
        .collect()
}

/// The common names a station's client certificate may carry: its id, or its serial numbers.
fn certificate_names(id: &str, serials: [Option<String>; 2]) -> Vec<String> {
    let mut names = vec![id.to_string()];
    names.extend(serials.into_iter().flatten().filter(|s| !s.is_empty()));
    names
}

/// The profile in force: what the operator set, and below 2 whether a password is required.
pub fn effective_profile(set: i64, has_password: bool) -> u8 {
    match set {
        2 | 3 => set as u8,
        _ => u8::from(has_password),
    }
}

impl Engine {
    pub(crate) fn spawn_certificate_renewal(&self) {
        let engine = self.clone();
        let cancel = self.inner.shutdown.clone();
        self.inner.tasks.spawn(async move {
            let mut tick = tokio::time::interval(RENEWAL_CHECK);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => {}
                }
                match engine.inner.tls.renew_if_due(&tls_names(), Utc::now()) {
                    Ok(true) => tracing::info!("the server certificate was renewed"),
                    Ok(false) => {}
                    Err(e) => tracing::error!("renewing the server certificate: {e}"),
                }
            }
        });
    }

    /// The `wss://` addresses, certificates and recent TLS refusals.
    pub fn tls_info(&self) -> TlsInfo {
        let listen = self.inner.tls_listen.lock().ok().and_then(|a| *a);
        let urls = listen
            .map(|a| charger_urls("wss", a, &lan_addresses()))
            .unwrap_or_default();
        self.inner.tls.info(urls)
    }

    /// For serving the console over HTTPS with the certificate chargers are shown.
    pub fn console_tls(&self) -> tokio_rustls::TlsAcceptor {
        self.inner.tls.console_acceptor()
    }

    /// The depot's CA certificate (PEM), to install in chargers.
    pub fn tls_ca_pem(&self) -> String {
        self.inner.tls.ca_pem()
    }

    /// Serve the operator's own certificate and key to chargers from now on.
    pub fn import_tls_certificate(&self, import: &CertificateImport) -> Result<TlsInfo> {
        self.inner.tls.import(import, &tls_names(), Utc::now())?;
        Ok(self.tls_info())
    }

    /// Go back to the certificate made by the depot's CA.
    pub fn remove_tls_certificate(&self) -> Result<TlsInfo> {
        self.inner.tls.remove_imported(&tls_names(), Utc::now())?;
        Ok(self.tls_info())
    }

    /// Replace the further CAs whose client certificates stations may present.
    pub fn set_trusted_cas(&self, pem: &str) -> Result<TlsInfo> {
        self.inner.tls.set_trusted(pem, &tls_names(), Utc::now())?;
        Ok(self.tls_info())
    }

    /// Sign a station's certificate signing request with the depot's CA (chain PEM, leaf first):
    /// one issued to its id or serial number, which it can then connect with (profile 3).
    pub async fn sign_station_certificate(&self, id: &str, csr_pem: &str) -> Result<String> {
        let station = stations::get(&self.inner.store.reader, id)
            .await?
            .ok_or_else(|| Error::StationNotFound(id.to_string()))?;
        let booted = station.serial_number.is_some() || station.charge_box_serial.is_some();
        let names = certificate_names(id, [station.serial_number, station.charge_box_serial]);
        let chain = self
            .inner
            .tls
            .sign_csr(csr_pem, &names, Utc::now())
            .map_err(|e| match e {
                Error::Invalid(m) if !booted => Error::Invalid(format!(
                    "{m}; its serial number is known once it has connected"
                )),
                e => e,
            })?;
        // Kept, so that it can be revoked with the station.
        let leaf = crate::tls::first_certificate(&chain)
            .ok_or_else(|| Error::Internal("the certificate just signed cannot be read".into()))?;
        let (sid, now) = (id.to_string(), self.now());
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    chargeyard_store::certificates::issued(
                        c,
                        &leaf.serial,
                        &sid,
                        &leaf.subject,
                        leaf.not_after,
                        now,
                    )
                    .await
                })
            })
            .await?;
        Ok(chain)
    }

    /// Revoke the client certificates the depot's CA issued to a station (it was rejected or
    /// removed): they are refused from now on, and a connection presenting one is closed.
    pub(crate) async fn revoke_certificates(&self, id: &str, why: &'static str) -> Result<()> {
        let (sid, now) = (id.to_string(), self.now());
        let serials = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    chargeyard_store::certificates::revoke_station(c, &sid, why, now).await
                })
            })
            .await?;
        if serials.is_empty() {
            return Ok(());
        }
        let presented = self
            .transport(id)
            .and_then(|t| t.client_certificate)
            .is_some_and(|c| serials.contains(&c.serial));
        let detail = serde_json::json!({ "serials": serials, "reason": why });
        self.inner.credentials.revoke(serials);
        if presented && let Some(h) = self.lock_sessions().get(id) {
            h.cancel.cancel();
        }
        self.station_event(id, "certificate_revoked", detail).await
    }

    /// A station's request for a certificate (SignCertificate, any version): signed and sent back
    /// after the answer (see [`Engine::send_certificate`]), or refused with the reason, which goes
    /// into its log and is returned for the answer.
    pub(crate) async fn certificate_request(
        &self,
        id: &str,
        csr_pem: &str,
    ) -> Result<std::result::Result<(), String>> {
        match self.sign_station_certificate(id, csr_pem).await {
            Ok(chain) => {
                self.send_certificate(id, chain);
                Ok(Ok(()))
            }
            Err(e) => self.certificate_refused(id, e.to_string()).await.map(Err),
        }
    }

    /// Note in a station's log that it was given no certificate, and why; the reason back.
    pub(crate) async fn certificate_refused(&self, id: &str, reason: String) -> Result<String> {
        let detail = serde_json::json!({ "reason": reason });
        self.station_event(id, "certificate_refused", detail)
            .await?;
        Ok(reason)
    }

    /// Send a station the certificate signed for it (CertificateSigned), once the request it came
    /// from has been answered; the outcome goes into its log.
    fn send_certificate(&self, id: &str, chain: String) {
        let (engine, id) = (self.clone(), id.to_string());
        let subject = crate::tls::first_certificate(&chain).map(|c| c.subject);
        self.inner.tasks.spawn(async move {
            let intent = crate::protocol::Intent::CertificateSigned { chain };
            let (event, detail) = match engine.intent(&id, intent, "chargeyard").await {
                Ok(answer) if answer.status == "Accepted" => (
                    "certificate_signed",
                    serde_json::json!({ "subject": subject }),
                ),
                Ok(answer) => (
                    "certificate_refused",
                    serde_json::json!({
                        "subject": subject,
                        "reason": format!("the charger answered {}", answer.status),
                    }),
                ),
                Err(e) => (
                    "certificate_refused",
                    serde_json::json!({ "subject": subject, "reason": e.to_string() }),
                ),
            };
            if let Err(e) = engine.station_event(&id, event, detail).await {
                tracing::warn!("recording the certificate sent: {e}");
            }
        });
    }

    /// How a connected station reached us.
    pub(crate) fn transport(&self, id: &str) -> Option<Transport> {
        self.lock_sessions()
            .get(id)
            .map(|h| h.info.transport.clone())
    }

    /// Set the security profile a station must connect with. Raising it to 2 or 3 needs the
    /// station connected in a way that already meets it (see the module docs); lowering it is
    /// always possible.
    pub async fn set_security_profile(
        &self,
        id: &str,
        change: SecurityProfileChange,
        actor: &str,
    ) -> Result<StationDetail> {
        let station = stations::get(&self.inner.store.reader, id)
            .await?
            .ok_or_else(|| Error::StationNotFound(id.to_string()))?;
        let profile = change.profile;
        let now_profile = effective_profile(station.security_profile, station.has_password);
        let names = certificate_names(
            id,
            [
                station.serial_number.clone(),
                station.charge_box_serial.clone(),
            ],
        );
        match profile {
            0 if station.has_password => {
                return Err(Error::Invalid(
                    "this station has a password (profile 1): clear the password to go to profile 0"
                        .into(),
                ));
            }
            1 | 2 if !station.has_password => {
                return Err(Error::Invalid(format!(
                    "profile {profile} is the station's password: set one first"
                )));
            }
            0 | 1 => {}
            2 | 3 if profile > now_profile => {
                let Some(transport) = self.transport(id) else {
                    return Err(Error::State(format!(
                        "station {id} is not connected: connect it over wss:// first, so that requiring profile {profile} cannot lock it out"
                    )));
                };
                if !transport.tls {
                    return Err(Error::State(format!(
                        "station {id} is connected over plain ws://: switch the charger to the wss:// address first (and install the depot's CA certificate in it), so that requiring profile {profile} cannot lock it out"
                    )));
                }
                if profile == 3 {
                    match &transport.client_certificate {
                        None => {
                            return Err(Error::State(format!(
                                "station {id} presented no client certificate: install one in the charger first (signed by the depot's CA or a CA you trust)"
                            )));
                        }
                        Some(c) if !names.contains(&c.subject) => {
                            return Err(Error::State(format!(
                                "the charger's client certificate is issued to {:?}, which is neither the station id nor its serial number",
                                c.subject
                            )));
                        }
                        Some(_) => {}
                    }
                }
            }
            2 | 3 => {}
            _ => {
                return Err(Error::Invalid(format!(
                    "security profile: 0, 1, 2 or 3, not {profile}"
                )));
            }
        }
        let (sid, who, now) = (id.to_string(), actor.to_string(), self.now());
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    stations::set_security_profile(c, &sid, i64::from(profile)).await?;
                    let detail = serde_json::json!({
                        "from": now_profile, "to": profile, "by": who,
                    });
                    events::insert(c, &sid, "security_profile", &detail, now).await
                })
            })
            .await?;
        self.inner.credentials.update(id, |a| {
            a.profile = profile;
            a.certificate_names = names;
        });
        self.emit(Event::StationUpdated {
            station_id: id.to_string(),
        });
        self.station(id).await
    }
}

/// What an upgrade over OCPP did: the charger took every step, and is expected back over `wss://`
/// at `url`; its profile is raised when it comes back meeting it (see the module docs).
#[derive(Debug, Clone, Serialize, TS)]
pub struct ProfileUpgrade {
    pub profile: u8,
    pub url: String,
    /// Each command sent and the charger's answer, in order ("InstallCertificate: Accepted").
    pub steps: Vec<String>,
}

/// The charger's answer to one step: on `ok`, the next step; otherwise nothing more is sent and
/// the operator is told what to do by hand.
fn step_ok(steps: &mut Vec<String>, what: &str, status: &str, ok: &[&str]) -> Result<()> {
    steps.push(format!("{what}: {status}"));
    if ok.contains(&status) {
        Ok(())
    } else {
        Err(Error::State(format!(
            "the charger answered {status} to {what}; nothing more was sent, and it still connects as before ({})",
            steps.join(", ")
        )))
    }
}

impl Engine {
    /// Move a connected station to security profile 2 or 3 over OCPP: the depot's CA goes into
    /// the charger (InstallCertificate), then the profile (1.6: the SecurityProfile key, after
    /// which the charger reconnects over `wss://`; 2.x: a network profile for the `wss://`
    /// address it reached us on, put first, and a reset). The profile is required only once the
    /// charger is back meeting it; one that comes back otherwise keeps its old profile, and its
    /// security log says why.
    pub async fn upgrade_security_profile(
        &self,
        id: &str,
        change: SecurityProfileChange,
        actor: &str,
    ) -> Result<ProfileUpgrade> {
        use crate::protocol::Intent;
        let station = stations::get(&self.inner.store.reader, id)
            .await?
            .ok_or_else(|| Error::StationNotFound(id.to_string()))?;
        let profile = change.profile;
        let now_profile = effective_profile(station.security_profile, station.has_password);
        if !(2..=3).contains(&profile) {
            return Err(Error::Invalid(format!(
                "an upgrade over OCPP is to profile 2 or 3 (wss://), not {profile}"
            )));
        }
        if profile <= now_profile {
            return Err(Error::Invalid(format!(
                "station {id} is already held to profile {now_profile}"
            )));
        }
        if profile == 2 && !station.has_password {
            return Err(Error::Invalid(
                "profile 2 is wss:// with the station's password: set one first".into(),
            ));
        }
        if profile == 3 {
            let signed =
                events::list_kinds(&self.inner.store.reader, id, &["certificate_signed"], 1)
                    .await?;
            if signed.is_empty() {
                return Err(Error::State(format!(
                    "station {id} has no client certificate from the depot's CA yet: renew its certificate first (Security), then upgrade to profile 3"
                )));
            }
        }
        let (local, version) = self
            .lock_sessions()
            .get(id)
            .map(|h| (h.info.local_addr, h.info.version))
            .ok_or_else(|| Error::StationOffline(id.to_string()))?;
        let local = local.ok_or_else(|| {
            Error::State("the address the charger reached us on is not known".into())
        })?;
        // The port it uses now also takes TLS (see crate::server), so only the scheme changes.
        let url = format!("wss://{local}/ocpp/");
        let mut steps = Vec::new();
        let ca = self.tls_ca_pem();
        let answer = self
            .intent(id, Intent::InstallRootCertificate { pem: ca }, actor)
            .await?;
        step_ok(
            &mut steps,
            "InstallCertificate",
            &answer.status,
            &["Accepted"],
        )?;
        let two = version != chargeyard_ocpp::Version::V16;
        // 2.x: a slot not in use, put first in the priority list ahead of the ones there.
        let (slot, priority) = if two {
            let read = Intent::ReadVariable {
                component: "OCPPCommCtrlr".into(),
                variable: "NetworkConfigurationPriority".into(),
            };
            let answer = self.intent(id, read, actor).await?;
            let now = answer
                .answer
                .pointer("/getVariableResult/0/attributeValue")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string();
            let used: Vec<i64> = now
                .split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect();
            let slot = used.iter().max().map_or(1, |m| m + 1);
            let priority = std::iter::once(slot.to_string())
                .chain(used.iter().map(i64::to_string))
                .collect::<Vec<_>>()
                .join(",");
            (slot, Some(priority))
        } else {
            (0, None)
        };
        let set = Intent::NetworkProfile {
            profile,
            slot,
            url: url.clone(),
        };
        // Expected back from now on: a 1.6 charger reconnects as soon as it has answered.
        let expect = |on: bool| {
            if let Ok(mut u) = self.inner.upgrades.lock() {
                if on {
                    u.insert(id.to_string(), (profile, actor.to_string()));
                } else {
                    u.remove(id);
                }
            }
        };
        expect(true);
        let what = if two {
            "SetNetworkProfile"
        } else {
            "ChangeConfiguration SecurityProfile"
        };
        let taken = self.intent(id, set, actor).await.and_then(|answer| {
            step_ok(
                &mut steps,
                what,
                &answer.status,
                &["Accepted", "RebootRequired"],
            )?;
            Ok(answer)
        });
        let answer = taken.inspect_err(|_| expect(false))?;
        let mut restart = answer.status == "RebootRequired";
        if let Some(priority) = priority {
            let set = Intent::SetConfiguration {
                key: "OCPPCommCtrlr/NetworkConfigurationPriority".into(),
                variable: None,
                value: priority,
            };
            let taken = self.intent(id, set, actor).await.and_then(|answer| {
                let ok = ["Accepted", "RebootRequired"];
                step_ok(
                    &mut steps,
                    "SetVariables NetworkConfigurationPriority",
                    &answer.status,
                    &ok,
                )
            });
            taken.inspect_err(|_| expect(false))?;
            restart = true;
        }
        let detail = serde_json::json!({ "to": profile, "url": url, "by": actor, "steps": steps });
        self.station_event(id, "security_profile_upgrade", detail)
            .await?;
        if restart {
            let answer = self
                .intent(id, Intent::Reset { hard: false }, actor)
                .await?;
            steps.push(format!("Reset: {}", answer.status));
        }
        Ok(ProfileUpgrade {
            profile,
            url,
            steps,
        })
    }

    /// A station that was told to upgrade its profile has connected again: raise its profile if
    /// the connection meets it, else note why not. Either way it is no longer expected.
    pub(crate) async fn finish_upgrade(&self, id: &str) {
        let pending = self
            .inner
            .upgrades
            .lock()
            .ok()
            .and_then(|mut u| u.remove(id));
        let Some((profile, actor)) = pending else {
            return;
        };
        let change = SecurityProfileChange { profile };
        let by = format!("upgrade over OCPP by {actor}");
        if let Err(e) = self.set_security_profile(id, change, &by).await {
            let detail = serde_json::json!({ "to": profile, "reason": e.to_string() });
            if let Err(e) = self
                .station_event(id, "security_profile_upgrade_failed", detail)
                .await
            {
                tracing::warn!("recording a failed upgrade: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_in_force_follows_the_password_below_two() {
        assert_eq!(effective_profile(0, false), 0);
        assert_eq!(effective_profile(0, true), 1);
        assert_eq!(effective_profile(1, true), 1);
        assert_eq!(effective_profile(2, true), 2);
        assert_eq!(effective_profile(3, false), 3);
    }
}
