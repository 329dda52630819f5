from django.apps import AppConfig


class WebhookScheduleConfig(AppConfig):
    """The public index of clinics with webhook work due (a shared app: one public table)."""

    name = "integrations.schedule"
    label = "integrations_schedule"
    verbose_name = "Webhook schedule"
    default_auto_field = "django.db.models.BigAutoField"
