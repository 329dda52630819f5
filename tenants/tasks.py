"""Celery tasks of the tenants app: the daily reset, and the chain's live figures."""

from celery import shared_task
from tenant_schemas_celery.task import TenantTask

from common.tenancy import tenant_connection
from queueing.services.live_figures import LIVE_FIGURES_REFRESH_TASK
from tenants.live_figures import (
    CATCH_UP_TASK,
    clinic_live_figures_catch_up,
    clinic_live_figures_refresh,
)
from tenants.models import Clinic
from tenants.schedules import RESET_TASK_NAME
from tenants.services import clinic_days_close


@shared_task(name=RESET_TASK_NAME, base=TenantTask, ignore_result=True)
def clinic_day_close_task() -> int:
    """Close the finished days of the clinic named by the message's `_schema_name` header.

    Idempotent: redelivery or a second run finds nothing left to close.
    """
    # The task's tenant may come from a 30-second cache; read the clinic's settings afresh.
    clinic = Clinic.objects.get(schema_name=tenant_connection.schema_name)
    return len(clinic_days_close(clinic=clinic))


@shared_task(name=LIVE_FIGURES_REFRESH_TASK, base=TenantTask, ignore_result=True)
def clinic_live_figures_refresh_task() -> None:
    """Refresh the public live figures of the clinic named by the `_schema_name` header.

    Idempotent: it reads the figures as they are now; an older read never overwrites a newer.
    """
    if tenant_connection.schema_name == "public":
        return
    clinic = Clinic.objects.get(schema_name=tenant_connection.schema_name)
    clinic_live_figures_refresh(clinic=clinic)


@shared_task(name=CATCH_UP_TASK, ignore_result=True)
def clinic_live_figures_catch_up_task() -> int:
    """Publish the refresh of clinics whose live figures were missed (one public query)."""
    return clinic_live_figures_catch_up()
