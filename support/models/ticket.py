"""Tickets and their comments. Subject, description and comment bodies are PHI: encrypted.

A ticket belongs to a clinic's desk, or (a partner's request to CareOS, ``clinic`` empty) to the
platform's: queues, SLA policies, calendars and agents with no clinic are the platform's."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from careos.fields import EncryptedTextField
from careos.models import PublicIdField, TimeStampedModel


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending (waiting on requester)")
    ON_HOLD = "on_hold", _("On hold")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


# The SLA clock runs only in these; pending and on hold pause it.
RUNNING_STATUSES = (Status.NEW.value, Status.OPEN.value)
PAUSED_STATUSES = (Status.PENDING.value, Status.ON_HOLD.value)

# The three SLA targets; each has <name>_due_at, _warn_at, _warned_at, _breached_at columns.
SLA_TARGETS = ("first_response", "next_response", "resolution")


def _sweep_index(target: str, kind: str, met: str | None) -> models.Index:
    condition = Q(status__in=RUNNING_STATUSES, **{f"{target}_{kind}ed_at__isnull": True})
    if met:
        condition &= Q(**{f"{met}__isnull": True})
    column = "warn_at" if kind == "warn" else "due_at"
    return models.Index(
        fields=[f"{target}_{column}"],
        condition=condition & Q(**{f"{target}_{column}__isnull": False}),
        name=f"tkt_sweep_{target[:5]}_{kind}"[:30],
    )


class Channel(models.TextChoices):
    API = "api", _("API")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    ADMIN = "admin", _("Admin")


class Ticket(TimeStampedModel):
    class RequesterKind(models.TextChoices):
        PATIENT = "patient", _("Patient")
        SPECIALIST = "specialist", _("Specialist")
        PARTNER = "partner", _("Partner")

    Channel = Channel
    Priority = Priority
    Status = Status

    public_id = PublicIdField(prefix="tkt")
    clinic = models.ForeignKey(
        "rbac.Clinic",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        help_text=_("Empty: a partner's request to CareOS, worked by the platform's desk."),
    )
    requester_kind = models.CharField(max_length=16, choices=RequesterKind.choices)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="support_tickets",
    )
    requester_partner = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="support_tickets",
    )
    partner_tier = models.CharField(max_length=16, blank=True)
    subject = EncryptedTextField()
    description = EncryptedTextField(blank=True)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.NEW)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.API)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    region = models.CharField(max_length=32, blank=True)
    category = models.CharField(max_length=64, blank=True)
    queue = models.ForeignKey(
        "support.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )

    # SLA: due and warning (80%) instants as columns so the sweep is set-based.
    sla_policy = models.ForeignKey(
        "support.SlaPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_paused_seconds = models.PositiveIntegerField(default=0)
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_response_warn_at = models.DateTimeField(null=True, blank=True)
    first_response_warned_at = models.DateTimeField(null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    next_response_started_at = models.DateTimeField(null=True, blank=True)
    next_response_paused_seconds = models.PositiveIntegerField(default=0)
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    next_response_warn_at = models.DateTimeField(null=True, blank=True)
    next_response_warned_at = models.DateTimeField(null=True, blank=True)
    next_response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    resolution_warned_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)

    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopened_count = models.PositiveIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)

    class Meta:
        permissions = [
            ("work_ticket", _("Can work support tickets (reply, assign, change status)")),
            ("supervise_ticket", _("Can receive escalations and see every queue")),
            (
                "work_platform_ticket",
                _("Can work the platform's partner-support tickets (CareOS staff, not a role)"),
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "status", "-created_at"]),
            models.Index(fields=["queue", "status"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(fields=["requester", "-created_at"]),
            models.Index(fields=["requester_partner", "-created_at"]),
            _sweep_index("first_response", "warn", "first_responded_at"),
            _sweep_index("first_response", "breach", "first_responded_at"),
            _sweep_index("next_response", "warn", None),
            _sweep_index("next_response", "breach", None),
            _sweep_index("resolution", "warn", None),
            _sweep_index("resolution", "breach", None),
        ]
        constraints = [
            # Only a partner's ticket may belong to no clinic (the platform's desk).
            models.CheckConstraint(
                condition=Q(clinic__isnull=False) | Q(requester_kind="partner"),
                name="ticket_clinic_unless_partner",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_open(self) -> bool:
        return self.status not in (Status.SOLVED, Status.CLOSED)


class TicketComment(TimeStampedModel):
    class Kind(models.TextChoices):
        PUBLIC = "public", _("Public reply")
        INTERNAL = "internal", _("Internal note")

    public_id = PublicIdField(prefix="tcm")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PUBLIC)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ticket_comments",
    )
    author_partner = models.ForeignKey(
        "partners.Partner", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_agent = models.BooleanField(default=False)
    body = EncryptedTextField()
    language = models.CharField(max_length=8, default="en")
    translated_body = EncryptedTextField(blank=True)
    translated_language = models.CharField(max_length=8, blank=True)
    attachments = models.JSONField(
        default=list, blank=True, help_text=_("[{name, url, contentType}]")
    )

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["ticket", "created_at"])]

    def __str__(self) -> str:
        return self.public_id
