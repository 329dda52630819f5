"""How a check-in's ticket is ranked, as the apps above queueing decide it.

Queueing never imports the apps built on it. An app that can give an arriving patient a place
other than their arrival (appointments: a booked time) registers a hook here when Django starts
(its AppConfig.ready); check-in processing asks the hooks before it issues the ticket and tells
the one that answered which ticket it issued, in the same transaction.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from queueing.models import Service, Ticket


@dataclass(frozen=True)
class ArrivalRank:
    """A hook's answer: rank the ticket at `rank_at`; `linked(ticket, issued)` once it exists."""

    rank_at: datetime.datetime
    linked: Callable[[Ticket, bool], None]


class ArrivalHook(Protocol):
    def __call__(
        self, *, patient_id: int, service: Service, arrived_at: datetime.datetime
    ) -> ArrivalRank | None: ...


_hooks: list[ArrivalHook] = []


def arrival_hook_register(hook: ArrivalHook) -> None:
    """Ask `hook` about every check-in from now on (registering it again changes nothing)."""
    if hook not in _hooks:
        _hooks.append(hook)


def arrival_rank(
    *, patient_id: int, service: Service, arrived_at: datetime.datetime
) -> ArrivalRank | None:
    """The first registered hook's rank for this arrival; None: ranked by arrival."""
    for hook in _hooks:
        rank = hook(patient_id=patient_id, service=service, arrived_at=arrived_at)
        if rank is not None:
            return rank
    return None
