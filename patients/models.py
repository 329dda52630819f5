from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Patient(models.Model):
    """A patient of one clinic, identified by CPF (stored as 11 digits)."""

    # NULL once the record is anonymised: no search can find it again.
    cpf = models.CharField(_("CPF"), max_length=11, unique=True, null=True, blank=True)
    full_name = models.CharField(_("full name"), max_length=150)
    social_name = models.CharField(_("social name"), max_length=150, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(cpf__regex=r"^[0-9]{11}$"), name="cpf_is_11_digits"),
            models.CheckConstraint(
                condition=Q(cpf__isnull=False) | Q(anonymised_at__isnull=False),
                name="only_anonymised_lack_cpf",
            ),
        ]

    def __str__(self) -> str:
        return f"Patient {self.pk}"

    @property
    def display_name(self) -> str:
        return self.social_name or self.full_name


class PatientRecordChange(models.Model):
    """Who corrected which fields of a patient's record, and when (values are not copied here)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="changes")
    changed_fields = models.JSONField(default=list)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    partner_client_id = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
