from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from careos.fields import EncryptedTextField
from careos.models import PublicIdField, TimeStampedModel
from engagement.models.messages import Channel
from engagement.recurrence import validate_rrule


class Reminder(TimeStampedModel):
    """A one-off or recurring (RFC 5545 RRULE) reminder to a patient."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = PublicIdField(prefix="rem")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="engagement_reminders"
    )
    clinic = models.ForeignKey(
        "rbac.Clinic", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS)
    template_key = models.SlugField(max_length=64, default="reminder")
    title = EncryptedTextField(max_length=200)  # clinical free text: encrypted at rest
    note = EncryptedTextField(blank=True)
    starts_at = models.DateTimeField()
    rrule = models.CharField(
        max_length=500,
        blank=True,
        validators=[validate_rrule],
        help_text=_("RFC 5545 RRULE, at most hourly; empty for a one-off reminder."),
    )
    next_run_at = models.DateTimeField(null=True, blank=True)
    related_ref = models.CharField(
        max_length=40, blank=True, help_text=_("Public id of a booking or ticket.")
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.CharField(max_length=80, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_run_at"])]

    def __str__(self) -> str:
        return self.public_id  # no PHI: admin logs and lists keep it


class ReminderOccurrence(models.Model):
    """One fired occurrence; unique so an occurrence is never sent twice."""

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="occurrences")
    occurrence_at = models.DateTimeField()
    message = models.ForeignKey(
        "engagement.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reminder", "occurrence_at"], name="occurrence_unique_per_reminder"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reminder_id}@{self.occurrence_at:%Y-%m-%d %H:%M}"


class PatientTask(TimeStampedModel):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = PublicIdField(prefix="tsk")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="engagement_tasks"
    )
    clinic = models.ForeignKey(
        "rbac.Clinic", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    campaign = models.ForeignKey(
        "engagement.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    title = EncryptedTextField(max_length=200)  # clinical free text: encrypted at rest
    instructions = EncryptedTextField(blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=80, blank=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "status", "due_at"])]

    def __str__(self) -> str:
        return self.public_id  # no PHI: admin logs and lists keep it
