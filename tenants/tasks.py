"""Celery tasks of the tenants app: the daily reset beat runs in each clinic's schema."""

from celery import shared_task
from tenant_schemas_celery.task import TenantTask

from common.tenancy import tenant_connection
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
