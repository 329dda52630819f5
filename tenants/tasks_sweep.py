"""The periodic sweeper task (beat entry "sweep-pending-check-ins", platform queue)."""

from celery import shared_task

from tenants.sweeper import checkins_sweep


@shared_task(name="tenants.checkins_sweep_task")
def checkins_sweep_task() -> int:
    """Republish check-ins pending too long, in every active clinic."""
    return sum(checkins_sweep().values())
