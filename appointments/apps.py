from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Check-ins are processed by queueing, which never imports this app: it asks the hooks
        # registered with it how to rank an arriving patient (queueing.services.arrivals).
        from appointments.services import appointment_arrival_rank
        from queueing.services.arrivals import arrival_hook_register

        arrival_hook_register(appointment_arrival_rank)
