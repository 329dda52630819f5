"""Development: debug on, local services from deploy/services.sh."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# The events process (uvicorn, deploy/stack.sh) listens beside gunicorn on this port.
CLINICO_EVENTS_PAGE_PORT = env.int(
    "CLINICO_EVENTS_PAGE_PORT", default=env.int("CLINICO_EVENTS_PORT", default=8001)
)
CLINICO_WEBHOOK_ALLOW_LOOPBACK_HTTP = True  # receivers on http://127.0.0.1 (tests, demos)
CLINICO_CLINIC_HOST_ADMIN = env.bool("CLINICO_CLINIC_HOST_ADMIN", default=True)
