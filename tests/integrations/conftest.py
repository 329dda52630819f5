"""Webhook test helpers: a real local receiver, and events written to a clinic's stream."""

import pytest

from events.services import event_record
from tests.integrations.receiver import Receiver


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def record(kind: str, *, ticket_id: int | None = None, **data) -> int:
    """One event of the current clinic's stream, as the app that owns it would write it."""
    return event_record(kind=kind, ticket_id=ticket_id, service_id=1, desk_id=None, data=data)
