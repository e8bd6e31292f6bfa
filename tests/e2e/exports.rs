//! Invoice and meter-value exports over the HTTP API, from sessions sent as real OCPP frames:
//! what lands in the file, the options, the filters, progress events, late data re-pricing a
//! stored cost, and clear errors.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::billing::{customer_tags, session};
use crate::http::{Api, start};
use crate::{exchange, raw};

async fn export(api: &Api, body: Value) -> (u16, Value) {
    api.req("POST", "/api/exports", Some(body)).await
}

async fn file_text(api: &Api, name: &str) -> String {
    let (s, disposition, bytes) = api.download(&format!("/api/exports/{name}")).await;
    assert_eq!(s, 200, "{name}");
    assert!(disposition.starts_with("attachment"), "{disposition}");
    String::from_utf8(bytes).expect("UTF-8")
}

fn invoice(from: &str, to: &str) -> Value {
    json!({"kind": "invoice", "from": from, "to": to})
}

#[tokio::test]
async fn invoices_and_meter_values_export_as_csv_files() {
    let api = start().await;
    let (_, mut settings) = api.req("GET", "/api/settings", None).await;
    settings["time_zone"] = json!("Europe/Stockholm");
    assert_eq!(api.req("PUT", "/api/settings", Some(settings)).await.0, 200);
    api.req("POST", "/api/stations", Some(json!({"id": "CP-A"})))
        .await;
    customer_tags(&api, &[("=CMD()", Some("Åkeri Öst; AB")), ("PLAIN", None)]).await;
    // Before any tariff: a session that cannot be priced, left off the invoice and counted.
    session(&api, "CP-A", "PLAIN", "2026-10-02T08:00:00Z", 0, 1_000).await;
    let (_, t) = api
        .req(
            "POST",
            "/api/tariffs",
            Some(json!({"name": "Visitors", "tariff": {
        "currency": "SEK", "vat_percent": "25", "idle_grace_minutes": 15,
        "prices": {"per_kwh": "2.50", "session_fee": "5", "idle_per_minute": "1"}}})),
        )
        .await;
    api.req(
        "PUT",
        "/api/tariff-assignments",
        Some(json!({"scope": "default", "tariff_id": t["id"]})),
    )
    .await;
    // 20 kWh: 50 + 5 = 55.00 net, 68.75 with VAT. The evening one ends on 1 Nov local time.
    let first = session(
        &api,
        "CP-A",
        "=CMD()",
        "2026-10-05T10:00:00Z",
        1_000,
        21_000,
    )
    .await;
    session(
        &api,
        "CP-A",
        "PLAIN",
        "2026-10-31T21:00:00Z",
        21_000,
        31_000,
    )
    .await;
    session(
        &api,
        "CP-A",
        "PLAIN",
        "2026-10-30T10:00:00Z",
        31_000,
        35_000,
    )
    .await;

    let (mut live, _) =
        tokio_tungstenite::connect_async(format!("{}/api/live", api.base.replace("http", "ws")))
            .await
            .expect("live stream");
    let (s, r) = export(
        &api,
        json!({"job": "oct", "export": invoice("2026-10-01", "2026-10-31"),
        "csv": {"separator": ";", "decimal_comma": true, "bom": true}}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["rows"].clone(), r["unpriced"].clone()),
        (json!(2), json!(1)),
        "{r}"
    );
    assert_eq!(
        r["file"]["name"],
        json!("invoice_2026-10-01_2026-10-31.csv")
    );
    // Progress for this job, ending with all three sessions in the period done.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let msg = tokio::time::timeout_at(deadline, live.next())
            .await
            .expect("progress events")
            .expect("open")
            .expect("frame");
        let e: Value = serde_json::from_str(msg.to_text().unwrap_or("{}")).unwrap_or_default();
        if e["type"] == "export_progress" && e["job"] == "oct" {
            assert_eq!(e["total"], json!(3), "{e}");
            if e["done"] == json!(3) {
                break;
            }
        }
    }

    let csv = file_text(&api, "invoice_2026-10-01_2026-10-31.csv").await;
    assert!(csv.starts_with('\u{feff}'), "a BOM for Excel");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert!(
        lines[0].starts_with("session;station;connector;id tag;"),
        "{csv}"
    );
    assert!(lines[0].contains("start (Europe/Stockholm)"), "{csv}");
    let cmd = lines
        .iter()
        .find(|l| l.starts_with(&format!("{first};")))
        .expect("first session");
    assert!(
        cmd.contains(
            ";'=CMD();customer;\"Åkeri Öst; AB\";2026-10-05 12:00:00;2026-10-05 14:00:00;20,000;"
        ),
        "{cmd}"
    );
    assert!(
        cmd.ends_with(";SEK;50,00;0,00;0,00;0,00;5,00;0,00;55,00;25;13,75;68,75"),
        "{cmd}"
    );
    assert!(
        !csv.contains("2026-11-01 00:00:00"),
        "ended in November local time: not in October"
    );
    assert!(
        csv.contains("total;customer;\"Åkeri Öst; AB\";SEK;1;20,000;"),
        "{csv}"
    );

    // One customer only; plain commas.
    let (s, r) = export(
        &api,
        json!({"export": {"kind": "invoice", "from": "2026-10-01",
        "to": "2026-11-30", "group": "customer:Åkeri Öst; AB"}}),
    )
    .await;
    assert_eq!((s, r["rows"].clone()), (200, json!(1)), "{r}");
    let name = r["file"]["name"].as_str().expect("name").to_string();
    assert_eq!(
        name,
        "invoice_2026-10-01_2026-11-30_customer-Åkeri-Öst--AB.csv"
    );
    let csv = file_text(&api, &name).await;
    assert!(
        csv.contains(",SEK,50.00,0.00,0.00,0.00,5.00,0.00,55.00,25,13.75,68.75\r\n"),
        "{csv}"
    );

    // Late data for a stopped session: the connector was charging only the first 1 h 30 min,
    // so 30 min idle, 15 of them billed at 1.00 → 15.00 more net, 18.75 more in all.
    let mut ws = raw(&api.ocpp, "CP-A").await;
    for (status, at) in [
        ("Charging", "2026-10-05T10:00:00Z"),
        ("Finishing", "2026-10-05T11:30:00Z"),
    ] {
        exchange(
            &mut ws,
            &json!([2, "st", "StatusNotification", {"connectorId": 1, "status": status,
            "errorCode": "NoError", "timestamp": at}])
            .to_string(),
        )
        .await;
    }
    let (_, t) = api
        .req("GET", &format!("/api/transactions/{first}"), None)
        .await;
    assert_eq!(
        (t["cost"]["idle"].clone(), t["cost"]["total"].clone()),
        (json!(1_500), json!(8_750)),
        "{t}"
    );
    let (_, r) = export(&api, json!({"export": invoice("2026-10-01", "2026-10-31")})).await;
    let csv = file_text(&api, r["file"]["name"].as_str().expect("name")).await;
    assert!(
        csv.contains(",15.00,5.00,0.00,70.00,25,17.50,87.50\r\n"),
        "re-priced on the invoice: {csv}"
    );

    // A session's meter values.
    let (s, r) = export(
        &api,
        json!({"export": {"kind": "meter_values", "transaction_id": first}}),
    )
    .await;
    assert_eq!((s, r["rows"].clone()), (200, json!(1)), "{r}");
    let csv = file_text(&api, r["file"]["name"].as_str().expect("name")).await;
    assert_eq!(
        csv,
        "time (Europe/Stockholm),time (UTC),connector,measurand,phase,location,context,unit sent,value sent,value,unit\r\n\
         2026-10-05 13:00:00.000,2026-10-05T11:00:00.000Z,1,Energy.Active.Import.Register,,,,Wh,11000,11000,Wh\r\n"
    );

    // The session's chart, as the console shows it and as SVG and PNG files.
    let (s, _, svg) = api
        .download(&format!(
            "/api/charts/sessions/{first}?width=640&height=300"
        ))
        .await;
    let svg = String::from_utf8(svg).expect("UTF-8");
    assert_eq!(s, 200);
    assert!(
        svg.starts_with("<svg") && svg.contains("width=\"640\""),
        "{svg}"
    );
    assert!(
        svg.contains("\nkWh\n") && svg.contains("\nkW\n"),
        "axes named: {svg}"
    );
    // The energy line (green), with its points.
    let line = svg
        .lines()
        .find(|l| l.starts_with("<polyline") && l.contains("stroke=\"#0F7A4A\""))
        .expect("the energy line");
    assert!(line.matches(',').count() >= 2, "{line}");
    let (s, r) = export(
        &api,
        json!({"export": {"kind": "chart", "chart": "session",
        "transaction_id": first, "format": "png", "width": 640, "height": 300}}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let (_, _, png) = api
        .download(&format!(
            "/api/exports/{}",
            r["file"]["name"].as_str().expect("name")
        ))
        .await;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let dim = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().expect("4 bytes"));
    assert_eq!((dim(16), dim(20)), (640, 300), "drawn at the size asked");
    let (s, _) = export(
        &api,
        json!({"export": {"kind": "chart", "chart": "session",
        "transaction_id": first}}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(api.download("/api/charts/sessions/999").await.0, 404);

    // Energy per local day at the station: 1 kWh on 2 Oct (no tariff then, its energy counts all
    // the same), 20 on 5 Oct, 4 on 30 Oct, 10 on 31 Oct (the evening session ends at midnight,
    // local time), as bar heights.
    let (s, _, svg) = api
        .download("/api/charts/stations/CP-A?from=2026-10-01&to=2026-10-31&width=800&height=400")
        .await;
    assert_eq!(s, 200);
    let svg = String::from_utf8(svg).expect("UTF-8");
    let bars: Vec<f64> = svg
        .lines()
        .filter(|l| l.starts_with("<rect") && l.contains("fill=\"#1B6EF3\""))
        .filter_map(|l| l.split("height=\"").nth(1)?.split('"').next()?.parse().ok())
        .collect();
    assert_eq!(bars.len(), 4, "{svg}");
    let ratio = |a: f64| (a / bars[2] * 10.0).round() / 10.0;
    assert_eq!((ratio(bars[1]), ratio(bars[3])), (5.0, 2.5), "{bars:?}");
    assert!(bars[0] < bars[2] / 2.0, "{bars:?}");
    // Energy and cost per day for the depot, each day's figures on hover: the cost is 87.50 on
    // 5 Oct (re-priced after the late statuses) and 18.75 on 30 Oct (the evening session ended
    // on 1 Nov), in panels of their own.
    let (s, _, svg) = api
        .download("/api/charts/totals?from=2026-10-01&to=2026-10-31&width=800&height=400")
        .await;
    assert_eq!(s, 200);
    let svg = String::from_utf8(svg).expect("UTF-8");
    let titles: Vec<&str> = svg
        .split("<title>")
        .skip(1)
        .filter_map(|t| t.split("</title>").next())
        .collect();
    assert_eq!(
        titles.len(),
        62,
        "a day's energy and a day's cost: {titles:?}"
    );
    for day in ["05/10 · 87.50 SEK", "30/10 · 18.75 SEK", "31/10 · 0.00 SEK"] {
        assert!(titles.contains(&day), "{day} in {titles:?}");
    }
    let cost_bars = svg
        .lines()
        .filter(|l| l.starts_with("<rect") && l.contains("fill=\"#B05400\""))
        .count();
    let paid_days = titles
        .iter()
        .filter(|t| t.ends_with(" SEK") && !t.ends_with(" 0.00 SEK"))
        .count();
    assert_eq!(cost_bars, paid_days, "a bar for each day with a cost");
    // In Swedish, with a decimal comma.
    let (_, _, svg) = api
        .download("/api/charts/totals?from=2026-10-01&to=2026-10-31&lang=sv")
        .await;
    assert!(
        String::from_utf8(svg)
            .expect("UTF-8")
            .contains("<title>05/10 · 87,50 SEK</title>"),
        "decimal comma"
    );
    // The depot's load, stacked per station, named in the legend; and as a PNG.
    let (s, _, svg) = api
        .download("/api/charts/depot?from=2026-10-01&to=2026-11-30")
        .await;
    assert_eq!(s, 200);
    assert!(
        String::from_utf8(svg).expect("UTF-8").contains("\nCP-A\n"),
        "legend"
    );
    let (s, r) = export(
        &api,
        json!({"export": {"kind": "chart", "chart": "depot",
        "from": "2026-10-01", "to": "2026-10-31", "format": "png"}}),
    )
    .await;
    assert_eq!(
        (s, r["file"]["name"].clone()),
        (200, json!("chart_depot_2026-10-01_2026-10-31.png")),
        "{r}"
    );
    let (s, e) = api
        .req(
            "GET",
            "/api/charts/depot?from=2026-10-31&to=2026-10-01",
            None,
        )
        .await;
    assert_eq!((s, e["code"].clone()), (400, json!("invalid")), "{e}");
    assert_eq!(
        api.download("/api/charts/stations/NOPE?from=2026-10-01&to=2026-10-31")
            .await
            .0,
        404
    );

    // The list of files, newest first; nothing half-written in it.
    let (_, files) = api.req("GET", "/api/exports", None).await;
    let names: Vec<&str> = files
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names.len(), 6, "{files}");
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");

    // Clear errors.
    for (body, field) in [
        (
            json!({"export": invoice("2026-10-01", "2026-10-31"), "csv": {"separator": ",", "decimal_comma": true, "bom": false}}),
            "separator",
        ),
        (
            json!({"export": invoice("2026-10-31", "2026-10-01")}),
            "from 2026-10-31 is after to 2026-10-01",
        ),
        (
            json!({"export": {"kind": "invoice", "from": "2026-10-01", "to": "2026-10-31", "group": "Acme"}}),
            "kind:name",
        ),
        (
            json!({"export": invoice("2026-10-01", "31.10.2026")}),
            "export",
        ),
        // A misspelt customer would give an empty invoice without a word.
        (
            json!({"export": {"kind": "invoice", "from": "2026-10-01", "to": "2026-10-31",
                "group": "customer:Åkeri Öst AB"}}),
            "\"Åkeri Öst; AB\"",
        ),
    ] {
        let (s, e) = export(&api, body).await;
        assert_eq!((s, e["code"].clone()), (400, json!("invalid")), "{e}");
        assert!(
            e["message"].as_str().unwrap_or_default().contains(field),
            "{field}: {e}"
        );
    }
    let (s, e) = export(
        &api,
        json!({"export": {"kind": "meter_values", "transaction_id": 999}}),
    )
    .await;
    assert_eq!(s, 404, "{e}");
    assert_eq!(api.download("/api/exports/..%2Fc.db").await.0, 404);
    assert_eq!(api.download("/api/exports/nothing.csv").await.0, 404);
}
