"""The Celery app: tenant-aware (the clinic's schema travels in the `_schema_name` header)."""

import os

from celery.signals import task_prerun
from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

# Production settings unless told otherwise: only manage.py and the development scripts
# (Makefile, deploy/stack.sh) fall back to clinico.settings.dev and its published secret key.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.prod")

app = TenantAwareCeleryApp("clinico")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_routes = ("tenants.routing.route_task",)
app.conf.task_create_missing_queues = True
app.conf.task_default_queue = "platform"
app.autodiscover_tasks()


@app.on_after_configure.connect
def _declare_queues(sender, **kwargs):
    from tenants.routing import declared_queues

    sender.conf.task_queues = declared_queues()


@task_prerun.connect(dispatch_uid="clinico_connections_checked")
def _connections_checked(task=None, **kwargs):
    """Before each task, drop database connections that are broken or older than CONN_MAX_AGE.

    What Django does at each request. Celery's Django fixup would instead close every connection
    before and after every task (a new PostgreSQL backend for each check-in); the settings turn
    that off with CELERY_DB_REUSE_MAX, and this keeps the connection honest.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return  # run in the caller's process, inside its transaction: its connection, not ours
    from django.db import close_old_connections

    close_old_connections()
