import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class PriorityPolicy(models.TextChoices):
    STRICT = "strict", _("Strict: priority tickets always first")
    INTERLEAVE = "interleave", _("Interleave: one normal ticket after N priority calls")


class Service(models.Model):
    """A line of the clinic (Recepção, Triagem, Consulta) with its own ticket prefix."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    prefix = models.CharField(_("ticket prefix"), max_length=3, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    target_wait_minutes = models.PositiveIntegerField(_("target wait (minutes)"), default=30)
    priority_policy = models.CharField(
        max_length=12, choices=PriorityPolicy.choices, default=PriorityPolicy.STRICT
    )
    interleave_after = models.PositiveSmallIntegerField(
        _("normal ticket after N priority calls"), null=True, blank=True
    )
    is_default = models.BooleanField(default=False)
    # Where the service appears in lists (check-in, queue, admin pages): lower first, then name.
    display_order = models.PositiveSmallIntegerField(_("display order"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # A booked patient arriving from this many minutes before their time up to this many after
    # it is ranked at the booked time (docs/queue.md, "Appointments").
    appointment_early_minutes = models.PositiveSmallIntegerField(
        _("appointment: early window (minutes)"), default=30
    )
    appointment_late_minutes = models.PositiveSmallIntegerField(
        _("appointment: late tolerance (minutes)"), default=15
    )

    class Meta:
        ordering = ["display_order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(prefix__regex=r"^[A-Z]{1,3}$"), name="service_prefix_letters"
            ),
            models.CheckConstraint(
                condition=Q(priority_policy="strict")
                | Q(priority_policy="interleave", interleave_after__gte=1),
                name="service_interleave_needs_n",
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_service"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"


class BreakReason(models.TextChoices):
    LUNCH = "lunch", _("Lunch")
    BREAK = "break", _("Break")
    MEETING = "meeting", _("Meeting")
    OTHER = "other", _("Other")


class Desk(models.Model):
    """A reception desk or consulting room that calls tickets of one or more services."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    services = models.ManyToManyField(Service, related_name="desks")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The open break, if any (its DeskBreak row holds the history): a desk on break is closed.
    break_reason = models.CharField(
        _("break reason"), max_length=10, choices=BreakReason.choices, blank=True, default=""
    )
    break_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(break_reason="", break_started_at__isnull=True)
                | (Q(break_reason__in=BreakReason.values) & Q(break_started_at__isnull=False)),
                name="desk_break_reason_and_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def on_break(self) -> bool:
        return bool(self.break_reason)


class DeskBreak(models.Model):
    """One break of a desk, from its start to its end (null while it lasts)."""

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="breaks")
    reason = models.CharField(max_length=10, choices=BreakReason.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["desk"], condition=Q(ended_at__isnull=True), name="one_open_break_per_desk"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=BreakReason.values), name="desk_break_reason_valid"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="desk_break_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["started_at"], name="desk_break_started_at")]


class Panel(models.Model):
    """A waiting-room display: the calls of its desks (or of the desks serving its services).

    Opened without a staff login by its own key, stored only as a SHA-256 digest; a panel that
    names no desk and no service shows every desk. Each clinic has one default panel.
    """

    name = models.CharField(_("name"), max_length=80, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    desks = models.ManyToManyField(Desk, related_name="panels", blank=True)
    services = models.ManyToManyField(Service, related_name="panels", blank=True)
    is_default = models.BooleanField(default=False)
    # For the speaking panel: say each call aloud, at this speech rate (1.0 is normal).
    voice_enabled = models.BooleanField(_("voice"), default=False)
    voice_rate = models.DecimalField(_("voice rate"), max_digits=3, decimal_places=2, default=1)
    key_rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_panel"
            ),
            models.CheckConstraint(
                condition=Q(voice_rate__gte=0.5, voice_rate__lte=2), name="panel_voice_rate_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TicketCounter(models.Model):
    """The last number issued per service and service day, bumped by UPDATE ... RETURNING."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="counters")
    service_day = models.DateField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "service_day"], name="one_counter_per_day"),
        ]


class PriorityTier(models.IntegerChoices):
    """Call order by Brazilian law: lower is called first."""

    SUPER_PRIORITY = 0, _("Super-priority (80+)")
    PRIORITY = 1, _("Priority")
    BLOOD_DONOR = 2, _("Blood donor")
    NORMAL = 3, _("Normal")


class PriorityReason(models.TextChoices):
    AGE_80 = "age_80", _("80 years or older")
    AGE_60 = "age_60", _("60 years or older")
    PREGNANT = "pregnant", _("Pregnant")
    BREASTFEEDING = "breastfeeding", _("Breastfeeding")
    INFANT_IN_ARMS = "infant_in_arms", _("With an infant in arms")
    DISABILITY = "disability", _("Person with disability")
    AUTISM = "autism", _("Autism spectrum")
    OBESITY = "obesity", _("Obesity")
    REDUCED_MOBILITY = "reduced_mobility", _("Reduced mobility")
    BLOOD_DONOR = "blood_donor", _("Blood donor")


class TicketStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    CALLED = "called", _("Called")
    IN_SERVICE = "in_service", _("In service")
    DONE = "done", _("Done")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", _("Cancelled")
    TRANSFERRED = "transferred", _("Transferred")
    EXPIRED = "expired", _("Expired")


OPEN_STATUSES = (TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.IN_SERVICE)


class Ticket(models.Model):
    """A patient's place in one service's queue on one service day (the clinic's local date)."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="tickets")
    service_day = models.DateField()
    number = models.PositiveIntegerField()
    display_code = models.CharField(max_length=12)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="tickets"
    )
    priority_tier = models.PositiveSmallIntegerField(
        choices=PriorityTier.choices, default=PriorityTier.NORMAL
    )
    priority_reason = models.CharField(max_length=20, choices=PriorityReason.choices, blank=True)
    status = models.CharField(
        max_length=12, choices=TicketStatus.choices, default=TicketStatus.WAITING
    )
    # Arrival orders the queue; a transferred ticket keeps its original arrival.
    arrived_at = models.DateTimeField()
    # Where the ticket takes its place in the call order after its tier: its arrival, unless a
    # booked appointment ranks it at the booked time (docs/queue.md, "Appointments").
    rank_at = models.DateTimeField()
    issued_at = models.DateTimeField()
    called_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    desk = models.ForeignKey(
        Desk, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    recall_count = models.PositiveSmallIntegerField(default=0)
    cancel_reason = models.CharField(max_length=200, blank=True)
    transferred_from = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="transferred_to"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "service_day", "number"], name="ticket_number_unique_per_day"
            ),
            models.CheckConstraint(
                condition=Q(status__in=TicketStatus.values), name="ticket_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority_tier__gte=0, priority_tier__lte=3), name="ticket_tier_valid"
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="ticket_number_positive"),
            models.CheckConstraint(
                condition=Q(arrived_at__lte=F("issued_at")), name="ticket_arrival_before_issue"
            ),
        ]
        indexes = [
            models.Index(
                fields=["service", "service_day", "priority_tier", "rank_at", "id"],
                condition=Q(status="waiting"),
                name="ticket_waiting_call_order",
            ),
            models.Index(fields=["service_day", "status"], name="ticket_day_status"),
            # What a desk holds now (call-next checks it on every call): at most a row per desk.
            models.Index(
                fields=["desk"],
                condition=Q(status__in=["called", "in_service"]),
                name="ticket_held_by_desk",
            ),
            models.Index(
                fields=["patient", "service", "service_day"],
                condition=Q(status__in=["waiting", "called", "in_service"]),
                name="ticket_open_per_patient",
            ),
        ]

    def __str__(self) -> str:
        return self.display_code


class TicketEventKind(models.TextChoices):
    ISSUED = "issued", _("Issued")
    CALLED = "called", _("Called")
    RECALLED = "recalled", _("Recalled")
    STARTED = "started", _("Started")
    FINISHED = "finished", _("Finished")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", _("Cancelled")
    RETURNED = "returned", _("Returned to queue")
    TRANSFERRED = "transferred", _("Transferred")
    EXPIRED = "expired", _("Expired at day close")
    RESTORED = "restored", _("Restored (undone)")


class TicketEvent(models.Model):
    """One change of a ticket: who, what, when and at which desk. Statistics come from these."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=TicketEventKind.choices)
    at = models.DateTimeField()
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    partner_client_id = models.CharField(max_length=64, blank=True)
    desk = models.ForeignKey(Desk, on_delete=models.SET_NULL, null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["kind", "at"], name="ticket_event_kind_at")]


class CheckInStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    QUEUED = "queued", _("Queued")
    FAILED = "failed", _("Failed")


class CheckIn(models.Model):
    """The record of a check-in request, stored before any work is published to the broker."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cpf = models.CharField(max_length=11)
    # Registration fields for a new patient (full_name, birth_date, ...), validated on arrival.
    registration = models.JSONField(default=dict, blank=True)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="check_ins")
    priority_reason = models.CharField(max_length=20, choices=PriorityReason.choices, blank=True)
    idempotency_key = models.CharField(max_length=128, null=True, blank=True, unique=True)
    status = models.CharField(
        max_length=10, choices=CheckInStatus.choices, default=CheckInStatus.PENDING
    )
    failure_reason = models.CharField(max_length=300, blank=True)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="check_ins"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    partner_client_id = models.CharField(max_length=64, blank=True)
    # Who sent it, as the access trail writes every entry (the trail's entry is written when the
    # check-in is processed, away from the request): the e-mail as it was, role and address.
    actor_email = models.CharField(max_length=254, blank=True, default="", db_default="")
    actor_role = models.CharField(max_length=32, blank=True, default="", db_default="")
    actor_address = models.CharField(max_length=45, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    last_published_at = models.DateTimeField(null=True, blank=True)
    publish_count = models.PositiveIntegerField(default=0)
    # Once processed and past the Idempotency-Key window the CPF and registration are cleared;
    # this keyed hash of them still tells a replay of the same request from a different one.
    request_hash = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=CheckInStatus.values), name="checkin_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="queued") | Q(ticket__isnull=False),
                name="queued_checkin_has_ticket",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(status="pending"), name="checkin_pending"
            ),
        ]
