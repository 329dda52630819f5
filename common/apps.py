from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Shared helpers"

    def ready(self) -> None:
        # The events process and the listeners serve their metrics from here; gunicorn's master
        # (deploy/gunicorn.conf.py) and Celery's worker and beat (clinico/celery.py) serve theirs.
        from common.logs import process_kind
        from common.metrics import serve

        kind = process_kind()
        if kind in ("events", "webhooks"):
            serve(kind)
