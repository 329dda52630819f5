from typing import ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("A user needs an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who signs in: clinic staff, chain managers and platform operators (staff)."""

    email = models.EmailField(_("e-mail"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    is_staff = models.BooleanField(_("platform operator"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email


class ClinicRole(models.TextChoices):
    RECEPTIONIST = "receptionist", _("Receptionist")
    CLINICIAN = "clinician", _("Clinician")
    CLINIC_ADMIN = "clinic_admin", _("Clinic admin")


class ClinicMembership(models.Model):
    """A user's role at one clinic; only active memberships grant access."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="clinic_memberships")
    clinic = models.ForeignKey(
        "tenants.Clinic", on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=ClinicRole.choices)
    is_active = models.BooleanField(default=True)
    # The name as this clinic's admin typed it when inviting: a person with an account at
    # another clinic is never shown here by the name that clinic knows.
    full_name = models.CharField(max_length=150, blank=True, default="", db_default="")
    # The person's first sign-in at this clinic: until then the invitation is pending, whether
    # or not they have an account (and a password) elsewhere.
    joined_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "clinic"], name="one_membership_per_clinic"),
            models.CheckConstraint(
                condition=Q(role__in=ClinicRole.values), name="clinic_membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.role} @ {self.clinic_id}"


class ChainMembership(models.Model):
    """A chain manager's access to every clinic of one chain."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="chain_memberships")
    chain = models.ForeignKey("tenants.Chain", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, default="chain_manager", editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "chain"], name="one_membership_per_chain"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · manager @ {self.chain_id}"


class PartnerScope(models.TextChoices):
    READ = "read", _("Read")
    READ_WRITE = "read_write", _("Read and write")


class PartnerClient(models.Model):
    """A partner system (kiosk, scheduling app) that exchanges client credentials for a token."""

    name = models.CharField(max_length=120)
    client_id = models.CharField(max_length=64, unique=True)
    secret_hash = models.CharField(max_length=256)
    clinics = models.ManyToManyField("tenants.Clinic", related_name="partner_clients")
    scope = models.CharField(max_length=20, choices=PartnerScope.choices, default=PartnerScope.READ)
    requests_per_minute = models.PositiveIntegerField(default=600)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=PartnerScope.values), name="partner_scope_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class RateCounter(models.Model):
    """How often one key hit one limit in one fixed window (sign-in failures, partner requests).

    Incremented by a single INSERT … ON CONFLICT … DO UPDATE … RETURNING (accounts/throttles.py),
    so concurrent hits never lose a count; rows of past windows are deleted in passing.
    """

    kind = models.CharField(max_length=40)
    # SHA-256 of what is counted (account and address): typed e-mails stay out of this table.
    key = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    count = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key", "window_start"], name="one_rate_counter_per_window"
            ),
        ]
        indexes = [models.Index(fields=["window_start"], name="rate_counter_window")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key[:12]}… {self.count} since {self.window_start:%H:%M:%S}"
