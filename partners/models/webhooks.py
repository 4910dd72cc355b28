"""Webhook endpoints of partners, one message per (event, endpoint), one attempt per try."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from careos.fields import EncryptedTextField
from careos.models import PublicIdField, TimeStampedModel
from partners.models.events import PlatformEvent
from partners.models.partner import Partner


class WebhookEndpoint(TimeStampedModel):
    public_id = PublicIdField(prefix="whep")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=1000)
    description = models.CharField(max_length=300, blank=True)
    event_types = models.JSONField(
        default=list, blank=True, help_text=_("Subscribed event type names; empty means all.")
    )
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    rate_limit_per_second = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Messages per second at most; empty means no limit.")
    )
    # Secrets we must reuse to sign, so encrypted rather than hashed (DESIGN.md, Secrets).
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_failure_reason = models.CharField(max_length=300, blank=True)
    # Only one worker sends to an endpoint at a time (keeps the throttle and the order).
    delivery_lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["partner", "enabled"])]

    def __str__(self) -> str:
        return f"{self.public_id} {self.url}"

    def subscribes_to(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookMessage(models.Model):
    """The delivery of one event to one endpoint. Its public id is the stable ``webhook-id``."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (dead letter)")

    public_id = PublicIdField(prefix="msg")
    event = models.ForeignKey(PlatformEvent, on_delete=models.CASCADE, related_name="messages")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="messages")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempt_count = models.PositiveIntegerField(default=0, help_text=_("All attempts made."))
    schedule_position = models.PositiveIntegerField(
        default=0, help_text=_("Attempts in the current retry cycle (a manual retry restarts it).")
    )
    claim_token = models.CharField(max_length=40, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"], name="partners_webhookmessage_event_endpoint_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["endpoint", "status", "next_attempt_at"]),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="partners_whmsg_due_idx",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status="sending"),
                name="partners_whmsg_lease_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class WebhookAttempt(models.Model):
    class Trigger(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        MANUAL = "manual", _("Manual retry")

    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULED)
    started_at = models.DateTimeField(db_index=True)
    duration_ms = models.PositiveIntegerField(default=0)
    success = models.BooleanField(default=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, help_text=_("Truncated."))
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["message_id", "number"]

    def __str__(self) -> str:
        return f"{self.message_id}#{self.number}"
