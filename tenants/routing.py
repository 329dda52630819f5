"""Which RabbitMQ queue a clinic's tasks go to: a stable hash onto shard queues, or its own."""

import zlib

from django.conf import settings
from kombu import Exchange, Queue

from common.tenancy import tenant_connection

SHARD_QUEUE_FORMAT = "clinic.shard.{index}"
DEDICATED_QUEUE_FORMAT = "clinic.dedicated.{name}"


def shard_queue_names() -> list[str]:
    return [SHARD_QUEUE_FORMAT.format(index=i) for i in range(settings.CLINICO_SHARD_QUEUES)]


def clinic_queue_name(*, schema_name: str, dedicated_queue: str = "") -> str:
    """The queue of a clinic: its dedicated queue when set, else crc32(schema) mod shard count."""
    if dedicated_queue:
        return DEDICATED_QUEUE_FORMAT.format(name=dedicated_queue)
    index = zlib.crc32(schema_name.encode()) % settings.CLINICO_SHARD_QUEUES
    return SHARD_QUEUE_FORMAT.format(index=index)


def declared_queues() -> list[Queue]:
    """The durable queues every worker knows: platform, webhooks and all shard queues.

    Webhook deliveries have their queue (and their worker pool, deploy/stack.sh): a partner's
    slow receiver must never hold a process that issues tickets.
    """
    names = [settings.CLINICO_PLATFORM_QUEUE, settings.CLINICO_WEBHOOK_QUEUE, *shard_queue_names()]
    return [
        Queue(name, Exchange(name, type="direct"), routing_key=name, durable=True) for name in names
    ]


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router: tenant tasks go to the clinic's queue, public tasks to the platform queue."""
    if options.get("queue"):
        return None
    headers = options.get("headers") or {}
    schema_name = headers.get("_schema_name") or tenant_connection.schema_name
    if not schema_name or schema_name == "public":
        queue = settings.CLINICO_PLATFORM_QUEUE
    else:
        tenant = getattr(tenant_connection, "tenant", None)
        dedicated = ""
        if tenant is not None and getattr(tenant, "schema_name", None) == schema_name:
            dedicated = getattr(tenant, "dedicated_queue", "") or ""
        queue = clinic_queue_name(schema_name=schema_name, dedicated_queue=dedicated)
    return {"queue": queue, "exchange": queue, "routing_key": queue}
