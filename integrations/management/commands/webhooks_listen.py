"""`manage.py webhooks_listen`: start webhook deliveries as their events commit."""

import signal

from django.core.management.base import BaseCommand

from common.reconnect import CONNECTION_ERRORS
from integrations.listener import webhooks_listen


class Command(BaseCommand):
    help = "Publish a clinic's webhook task when its events commit (LISTEN clinico_events)."

    def handle(self, *args, **options) -> None:
        stopping = False

        def stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            webhooks_listen(should_stop=lambda: stopping)
        except CONNECTION_ERRORS:
            if not stopping:
                raise
            # Stopped while the database was away: nothing was left half done.
