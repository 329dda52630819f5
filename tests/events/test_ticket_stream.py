"""A ticket's own stream (what the patient's status page serves): that ticket's events only.

Run in-process on the hub's real LISTEN connection, with events committed by another connection.
"""

import asyncio
import json

import pytest

from events import live
from events.pool import pool_connections_close
from events.selectors import event_last_id
from events.services import event_record
from tests.events.conftest import committed

pytestmark = pytest.mark.django_db

MINE, OTHER = 700_001, 700_002


@pytest.fixture
def hub(monkeypatch):
    """A hub of this test's own (its event loop ends with the test)."""
    fresh = live.EventHub()
    monkeypatch.setattr(live, "_hub", fresh)
    yield fresh
    fresh._drop_connection()
    pool_connections_close()


def _data(chunk: str) -> dict | None:
    lines = [line[5:].strip() for line in chunk.split("\n") if line.startswith("data:")]
    return json.loads("".join(lines)) if lines else None


def _in_clinic(clinic, fn, **kwargs):
    def run():
        with clinic:
            return fn(**kwargs)

    return committed(run)


def test_a_ticket_stream_sends_that_tickets_events_and_resumes_after_an_id(clinic_a, hub):
    before = _in_clinic(clinic_a, event_last_id)
    missed = _in_clinic(clinic_a, event_record, kind="ticket.issued", ticket_id=MINE, data={})

    async def scenario() -> list[dict]:
        scope = live.StreamScope(schema_name=clinic_a.schema_name, ticket_id=MINE)
        stream = live.event_stream(scope=scope, after_id=before, heartbeat_s=5)
        received: list[dict] = []
        async for chunk in stream:
            data = _data(chunk)
            if data is None:
                continue
            received.append(data)
            if data["kind"] == "stream.open":
                # Live now: another ticket's event, then this ticket's call.
                for ticket_id, kind in ((OTHER, "ticket.called"), (MINE, "ticket.called")):
                    await asyncio.to_thread(
                        _in_clinic, clinic_a, event_record, kind=kind, ticket_id=ticket_id, data={}
                    )
            if data["kind"] == "ticket.called":
                break
        await stream.aclose()
        return received

    received = asyncio.run(asyncio.wait_for(scenario(), timeout=10))
    assert [(m["kind"], m.get("ticket_id")) for m in received] == [
        ("ticket.issued", MINE),  # missed before the stream opened: read from the outbox
        ("stream.open", None),
        ("ticket.called", MINE),  # the other ticket's call never came
    ]
    assert received[0]["id"] == missed
    assert hub.stream_count() == 0  # the closed stream left the hub
