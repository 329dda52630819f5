"""The events process (uvicorn): the pages' live streams (docs/events.md).

Django's asynchronous handling gives each request a thread with a database connection of its own;
a persistent one (CONN_MAX_AGE) would outlive the request on a thread that is gone. Here every
connection of a request closes when the request does, and a stream's reads after it opens use
the fixed pool of events/pool.py; the gate (events/admission.py) bounds the requests being
opened at once. So the process holds a fixed number of connections whatever its streams.
"""

import os

# Production settings unless told otherwise: only manage.py and the development scripts
# (Makefile, deploy/stack.sh) fall back to clinico.settings.dev and its published secret key.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinico.settings.prod")
os.environ["DATABASE_CONN_MAX_AGE"] = "0"
os.environ.setdefault("CLINICO_DB_APPLICATION_NAME", "clinico-events")
# Its logs and metrics (CLINICO_METRICS_PORT_EVENTS) say "events" (common/apps.py).
os.environ.setdefault("CLINICO_PROCESS_KIND", "events")

from django.core.asgi import get_asgi_application  # noqa: E402

from events.admission import OpeningGate  # noqa: E402

application = OpeningGate(get_asgi_application())
