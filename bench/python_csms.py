"""A minimal OCPP 1.6J central system on the PyPI `ocpp` library, for side-by-side load runs.

It answers what the load generator sends (BootNotification, StatusNotification, Authorize,
StartTransaction, MeterValues, StopTransaction, Heartbeat) and, like the library's own examples,
keeps nothing: no database, no fsync. That makes the comparison generous to it — Chargeyard
writes every acknowledged message to SQLite with fsync before answering.

    python3 bench/python_csms.py --port 9200
"""

import argparse
import asyncio
import itertools
from datetime import datetime, timezone

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus

transaction_ids = itertools.count(1)


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Station(ChargePoint):
    @on(Action.boot_notification)
    async def on_boot(self, charge_point_vendor, charge_point_model, **kwargs):
        return call_result.BootNotification(current_time=now(), interval=300, status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    async def on_heartbeat(self, **kwargs):
        return call_result.Heartbeat(current_time=now())

    @on(Action.status_notification)
    async def on_status(self, **kwargs):
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_tag, **kwargs):
        return call_result.Authorize(id_tag_info={"status": AuthorizationStatus.accepted})

    @on(Action.start_transaction)
    async def on_start(self, **kwargs):
        return call_result.StartTransaction(
            transaction_id=next(transaction_ids), id_tag_info={"status": AuthorizationStatus.accepted}
        )

    @on(Action.meter_values)
    async def on_meter_values(self, **kwargs):
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    async def on_stop(self, **kwargs):
        return call_result.StopTransaction()


async def handler(connection):
    station_id = connection.request.path.strip("/").split("/")[-1]
    await Station(station_id, connection).start()


async def main(port: int) -> None:
    async with websockets.serve(handler, "127.0.0.1", port, subprotocols=["ocpp1.6"], max_size=2**20):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=9200)
    asyncio.run(main(parser.parse_args().port))
