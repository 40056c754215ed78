"""A server that is not our simulator — its own namespace, numeric and string node ids, text state codes —
configured through the config alone: states, a counter reset, and a restart that renumbers namespaces."""
from __future__ import annotations

from datetime import timedelta

import pytest
from asyncua import Server, ua
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.bot.equipment.support import T0, Driver, FakeClock, deltas, free_port, intervals, parse, seed_machines

pytestmark = [pytest.mark.db, pytest.mark.slow]
URI = "urn:acme:press-shop"


class PressServer:
    """A press PLC: Objects/Press7 with Mode (text), Stroke counter (UInt16, wraps at 65535), NOK count."""

    def __init__(self, port: int) -> None:
        self.url = f"opc.tcp://127.0.0.1:{port}/acme"
        self.server: Server | None = None
        self.values = {"mode": "RUN", "strokes": 100, "nok": 3}

    async def start(self, leading: tuple[str, ...] = ()) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        for uri in leading:
            await server.register_namespace(uri)
        idx = await server.register_namespace(URI)
        press = await server.nodes.objects.add_object(ua.NodeId(500, idx), ua.QualifiedName("Press7", idx))
        self.nodes = {
            "mode": await press.add_variable(ua.NodeId(1001, idx), ua.QualifiedName("Mode", idx),
                                             self.values["mode"], ua.VariantType.String),
            "strokes": await press.add_variable(ua.NodeId("Press7/Strokes", idx), ua.QualifiedName("Strokes", idx),
                                                self.values["strokes"], ua.VariantType.UInt16),
            "nok": await press.add_variable(ua.NodeId(1003, idx), ua.QualifiedName("NOK", idx),
                                            self.values["nok"], ua.VariantType.UInt16)}
        await server.start()
        self.server = server

    async def set(self, **values: object) -> None:
        self.values.update(values)
        for key, value in values.items():
            await self.nodes[key].write_value(ua.Variant(value, await self.nodes[key].read_data_type_as_variant_type()))

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None


def press_config(url: str) -> dict[str, object]:
    return {"endpoints": [{"name": "press", "url": url, "timeout_s": 2}],
            "machines": [{"code": "L2-M1", "endpoint": "press", "counter_max": 65535,
                          "tags": {"state": f"nsu={URI};i=1001", "total": f"nsu={URI};s=Press7/Strokes",
                                   "scrap": f"nsu={URI};path=Objects/1:Press7/1:NOK"},
                          "state_map": {"RUN": "running", "STOP": "idle", "FAULT": "down", "SETUP": "setup"}}]}


async def test_foreign_server_states_reset_and_restart(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed_machines(session_factory, ["L2-M1"])
    press = PressServer(free_port())
    await press.start()
    clock = FakeClock()
    drive = await Driver.start(None, clock, session_factory, parse(press_config(press.url)))  # type: ignore[arg-type]
    try:
        await drive.step()
        await press.set(strokes=110, nok=4)
        await drive.step(10, tick=False)
        await press.set(mode="FAULT")
        await drive.step(10, tick=False)
        await press.set(mode="SETUP", strokes=2, nok=0)  # counters cleared during the changeover
        await drive.step(10, tick=False)
        await press.stop()
        await drive.step(10, tick=False)
        await press.start(leading=("urn:other:a", "urn:other:b"))  # our namespace moves from 2 to 4
        await press.set(mode="RUN", strokes=5)
        await drive.collector.connect()
        await drive.step(10, tick=False)
    finally:
        await drive.close()
        await press.stop()
    assert await intervals(session_factory, "L2-M1") == [
        ("running", T0 + timedelta(seconds=0), T0 + timedelta(seconds=20)),
        ("down", T0 + timedelta(seconds=20), T0 + timedelta(seconds=30)),
        ("setup", T0 + timedelta(seconds=30), T0 + timedelta(seconds=40)),
        ("unknown", T0 + timedelta(seconds=40), T0 + timedelta(seconds=50)),
        ("running", T0 + timedelta(seconds=50), None)]
    rows = [(d.good, d.scrap, d.kind) for d in await deltas(session_factory, "L2-M1")]
    assert rows == [(9, 1, "normal"), (2, 0, "reset"), (3, 0, "normal")]
