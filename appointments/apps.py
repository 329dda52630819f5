from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Check-ins are processed by queueing, which never imports this app: it asks the hooks
        # registered with it how to rank an arriving patient (queueing.services.arrivals).
        from appointments.selectors import appointments_of_patient
        from appointments.services import appointment_arrival_rank
        from queueing.selectors.privacy import (
            patient_activity_register,
            patient_export_section_register,
        )
        from queueing.services.arrivals import arrival_hook_register

        arrival_hook_register(appointment_arrival_rank)
        # A patient's export (LGPD) holds their bookings too.
        patient_export_section_register(name="appointments", reader=appointments_of_patient)
        # ... and a booking counts as a visit when the clinic reviews patients not seen for years.
        patient_activity_register(day_lookup="appointments__service_day")
