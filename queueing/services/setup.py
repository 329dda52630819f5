"""Writes of the queue: services, desks, tickets, check-ins."""

from django.db import transaction

from queueing.models import Service

DEFAULT_SERVICE_NAME = "Recepção"
DEFAULT_SERVICE_PREFIX = "R"


@transaction.atomic
def service_create_default() -> Service:
    """The service every new clinic starts with, so check-in works on day one."""
    service = Service(name=DEFAULT_SERVICE_NAME, prefix=DEFAULT_SERVICE_PREFIX, is_default=True)
    service.full_clean()
    service.save()
    return service
