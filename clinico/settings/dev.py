"""Development: debug on, local services from deploy/services.sh."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
CLINICO_WEBHOOK_ALLOW_LOOPBACK_HTTP = True  # receivers on http://127.0.0.1 (tests, demos)
CLINICO_CLINIC_HOST_ADMIN = env.bool("CLINICO_CLINIC_HOST_ADMIN", default=True)
