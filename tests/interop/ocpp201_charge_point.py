"""An OCPP 2.0.1 charging station that is not ours: the PyPI `ocpp` library (mobilityhouse),
which checks every message it sends and receives against the official OCA 2.0.1 schemas. It
boots, reports its EVSE, authorizes a token, charges in TransactionEvents (the Ended one sent
twice, as after a lost answer), and answers the commands a depot manager sends from the console
(remote start, reset), while this script checks, through the console's HTTP API, that the
session is seen, metered and priced like any other, at the price the charger was told.

    python ocpp201_charge_point.py HTTP_BASE OCPP_URL STATION_ID

Prints one line per step and exits 0 when every step held; anything else is a failure.
Run by tests/e2e/interop.rs against the real server binary.
"""

import asyncio
import json
import sys
import urllib.request
from datetime import datetime, timezone

import websockets
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result

BASE, OCPP, STATION = sys.argv[1], sys.argv[2], sys.argv[3]
TOKEN = {"id_token": "PY-TAG-1", "type": "ISO14443"}
EVSE = {"id": 1, "connector_id": 1}


def now():
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def energy(wh):
    return [{"timestamp": now(), "sampled_value": [
        {"value": wh, "measurand": "Energy.Active.Import.Register", "unit_of_measure": {"unit": "Wh"}},
        {"value": 7200, "measurand": "Power.Active.Import", "unit_of_measure": {"unit": "W"}},
    ]}]


def api(method, path, body=None):
    """The console's HTTP API (blocking: run it off the event loop)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def step(what):
    print("ok:", what, flush=True)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


class Station(ChargePoint):
    asked = []

    @on("RequestStartTransaction")
    def on_request_start(self, id_token, remote_start_id, evse_id=None, **_):
        self.asked.append(("RequestStartTransaction", id_token["id_token"], evse_id))
        return call_result.RequestStartTransaction(status="Accepted")

    @on("Reset")
    def on_reset(self, type, **_):
        self.asked.append(("Reset", type))
        return call_result.Reset(status="Scheduled")

    @on("CostUpdated")
    def on_cost_updated(self, total_cost, transaction_id, **_):
        self.asked.append(("CostUpdated", transaction_id))
        return call_result.CostUpdated()


async def off_loop(*args):
    return await asyncio.get_running_loop().run_in_executor(None, api, *args)


async def run(cp):
    tariff = await off_loop("POST", "/api/tariffs", {"name": "Depot", "tariff": {
        "currency": "SEK", "vat_percent": "25", "prices": {"per_kwh": "3"}}})
    await off_loop("PUT", "/api/tariff-assignments",
                   {"scope": "default", "target": "", "tariff_id": tariff["id"]})
    boot = await cp.call(call.BootNotification(
        charging_station={"model": "Interop", "vendor_name": "PyPI ocpp"}, reason="PowerUp"),
        suppress=False)
    check(boot.status == "Accepted", f"boot {boot}")
    step(f"BootNotification {boot.status}, heartbeat every {boot.interval} s")
    await cp.call(call.StatusNotification(timestamp=now(), connector_status="Available",
                                          evse_id=1, connector_id=1), suppress=False)
    await cp.call(call.Heartbeat(), suppress=False)
    auth = await cp.call(call.Authorize(id_token=TOKEN), suppress=False)
    check(auth.id_token_info["status"] == "Accepted", f"authorize {auth}")
    step("StatusNotification, Heartbeat, Authorize Accepted")

    tx = {"transaction_id": "py-tx-1", "charging_state": "Charging"}
    started = await cp.call(call.TransactionEvent(
        event_type="Started", timestamp=now(), trigger_reason="Authorized", seq_no=0,
        transaction_info=tx, id_token=TOKEN, evse=EVSE, meter_value=energy(1000)), suppress=False)
    check(started.id_token_info["status"] == "Accepted", f"started {started}")
    await cp.call(call.TransactionEvent(
        event_type="Updated", timestamp=now(), trigger_reason="MeterValuePeriodic", seq_no=1,
        transaction_info=tx, meter_value=energy(4000)), suppress=False)
    running = await off_loop("GET", f"/api/transactions?station_id={STATION}&open=true")
    check(running["total"] == 1, f"one running session: {running}")
    check(running["items"][0]["energy_wh"] == 3000, f"3 kWh so far: {running}")
    step("TransactionEvent Started and Updated: the console shows it running with 3 kWh")

    ended = call.TransactionEvent(
        event_type="Ended", timestamp=now(), trigger_reason="StopAuthorized", seq_no=2,
        transaction_info={**tx, "charging_state": "Idle", "stopped_reason": "Local"},
        id_token=TOKEN, meter_value=energy(8500))
    first = await cp.call(ended, suppress=False)
    again = await cp.call(ended, suppress=False)
    check(first == again, f"the replayed Ended answered the same: {first} / {again}")
    check(first.total_cost is not None and first.total_cost > 0, f"totalCost: {first}")
    step(f"TransactionEvent Ended, sent twice, answered alike: totalCost {first.total_cost}")

    done = await off_loop("GET", f"/api/transactions?station_id={STATION}")
    check(done["total"] == 1, f"one session, not two: {done}")
    s = done["items"][0]
    check(s["stop_ts"] is not None and s["energy_wh"] == 7500, f"stopped at 7.5 kWh: {s}")
    check(s["protocol"] == "ocpp2.0.1" and s["charger_tx_id"] == "py-tx-1", f"{s}")
    check(s["cost"] is not None, f"priced: {s}")
    total = s["cost"]["total"] / 10 ** s["cost"]["decimals"]  # minor units (öre)
    check(abs(total - first.total_cost) < 0.005, f"{s['cost']} / {first.total_cost}")
    step(f"the console has one stopped session of 7.5 kWh costing {total} SEK, as the charger was told")

    start = await off_loop("POST", f"/api/stations/{STATION}/start",
                           {"evse_id": 1, "id_tag": TOKEN["id_token"]})
    check(start["status"] == "Accepted", f"remote start {start}")
    reset = await off_loop("POST", f"/api/stations/{STATION}/reset", {"hard": False})
    check(reset["status"] == "Scheduled", f"reset {reset}")
    check(("RequestStartTransaction", "PY-TAG-1", 1) in cp.asked, f"{cp.asked}")
    check(("Reset", "OnIdle") in cp.asked, f"{cp.asked}")
    step("the console's remote start and soft reset reached it and were answered")
    station = await off_loop("GET", f"/api/stations/{STATION}")
    check(station["protocol"] == "ocpp2.0.1", f"{station.get('protocol')}")
    step("the station page says OCPP 2.0.1")


async def main():
    async with websockets.connect(f"{OCPP}/{STATION}", subprotocols=["ocpp2.0.1"]) as ws:
        check(ws.subprotocol == "ocpp2.0.1", f"negotiated {ws.subprotocol}")
        cp = Station(STATION, ws)
        listener = asyncio.create_task(cp.start())
        try:
            await asyncio.wait_for(run(cp), 60)
        finally:
            listener.cancel()
    print("all steps held", flush=True)


asyncio.run(main())
