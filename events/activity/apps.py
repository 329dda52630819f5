from django.apps import AppConfig


class EventsActivityConfig(AppConfig):
    """The public-schema half of the event stream: which clinic last had an event, and when."""

    name = "events.activity"
    label = "events_activity"
    verbose_name = "Event stream activity"
    default_auto_field = "django.db.models.BigAutoField"
