from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AppointmentStatus(models.TextChoices):
    EXPECTED = "expected", pgettext_lazy("appointment", "Expected")
    ARRIVED = "arrived", pgettext_lazy("appointment", "Arrived")
    LATE = "late", pgettext_lazy("appointment", "Arrived late")
    NO_SHOW = "no_show", pgettext_lazy("appointment", "No-show")
    CANCELLED = "cancelled", pgettext_lazy("appointment", "Cancelled")


class Appointment(models.Model):
    """A booked visit: a patient expected in a service at a time of the clinic's day."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="appointments"
    )
    service = models.ForeignKey(
        "queueing.Service", on_delete=models.PROTECT, related_name="appointments"
    )
    scheduled_at = models.DateTimeField(_("scheduled time"))
    # The clinic-local date of `scheduled_at`: the service day the patient is expected on.
    service_day = models.DateField()
    professional = models.CharField(_("professional"), max_length=120, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    status = models.CharField(
        max_length=10, choices=AppointmentStatus.choices, default=AppointmentStatus.EXPECTED
    )
    # The partner's own id of the appointment: a repeated create answers the first one.
    external_id = models.CharField(max_length=100, null=True, blank=True)
    partner_client_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ticket = models.OneToOneField(
        "queueing.Ticket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="appointment",
    )
    arrived_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["scheduled_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AppointmentStatus.values), name="appointment_status_valid"
            ),
            models.UniqueConstraint(
                fields=["partner_client_id", "external_id"],
                condition=Q(external_id__isnull=False),
                name="appointment_external_id_unique",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["arrived", "late"]) | Q(ticket__isnull=False),
                name="arrived_appointment_has_ticket",
            ),
        ]
        indexes = [
            models.Index(fields=["service_day", "scheduled_at"], name="appointment_day"),
            # A check-in's look-up: the patient's expected appointment of the day in a service.
            models.Index(
                fields=["patient", "service", "service_day"],
                condition=Q(status="expected"),
                name="appointment_expected",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.scheduled_at:%Y-%m-%d %H:%M}"
