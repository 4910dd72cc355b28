from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel
from engagement.models.messages import Channel


class PatientTag(models.Model):
    """A clinic's label on a patient, used by campaign segments."""

    clinic = models.ForeignKey("rbac.Clinic", on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="engagement_tags"
    )
    tag = models.SlugField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "patient", "tag"], name="tag_unique")
        ]
        indexes = [models.Index(fields=["clinic", "tag"])]

    def __str__(self) -> str:
        return self.tag


class Campaign(TimeStampedModel):
    """A message to a segment of a clinic's patients, sent in batches.

    ``segment`` keys: ``languages``, ``regions``, ``tags`` (lists), ``consent`` (a consent type
    that must be confirmed, default ``marketing``; empty for none), ``active_within_days`` /
    ``inactive_for_days`` (last login).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = PublicIdField(prefix="cmp")
    clinic = models.ForeignKey("rbac.Clinic", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS)
    template_key = models.SlugField(max_length=64)
    segment = models.JSONField(default=dict, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    create_task_title = models.CharField(
        max_length=200, blank=True, help_text=_("If set, each recipient also gets this task.")
    )
    audience_size = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0, help_text=_("Last patient pk processed."))
    batches_done = models.PositiveIntegerField(default=0)
    targeted_count = models.PositiveIntegerField(default=0)
    suppressed_count = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=80, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "scheduled_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def progress_percent(self) -> int:
        if not self.audience_size:
            return 100 if self.status == self.Status.COMPLETED else 0
        return min(100, round(100 * self.targeted_count / self.audience_size))
