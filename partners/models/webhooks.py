"""Webhook endpoints of partners, one message per (event, endpoint), one attempt per try."""

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from careos.fields import EncryptedTextField
from careos.ids import derived_public_id
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
    # Secrets we must reuse to sign: encrypted rather than hashed (docs/architecture.md, Secrets).
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
    """The delivery of one event to one endpoint. Its public id is the stable ``webhook-id``
    (create messages with ``for_delivery``)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (dead letter)")

    public_id = PublicIdField(prefix="msg")
    # Not indexed alone: the (event, endpoint) unique constraint's index leads with it.
    event = models.ForeignKey(
        PlatformEvent, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="messages")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempt_count = models.PositiveIntegerField(default=0, help_text=_("All attempts made."))
    schedule_position = models.PositiveIntegerField(
        default=0, help_text=_("Attempts in the current retry cycle (a manual retry restarts it).")
    )
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
            # The delivery batch (an endpoint's due messages in order) and the sweep (endpoints
            # with due messages); partial, so delivered and failed messages leave it.
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                condition=Q(status="pending"),
                name="partners_whmsg_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @classmethod
    def for_delivery(
        cls, *, event: PlatformEvent, endpoint: WebhookEndpoint, next_attempt_at: datetime
    ) -> "WebhookMessage":
        """The (unsaved) message of ``event`` to ``endpoint``. Its id, the ``webhook-id``
        receivers deduplicate on, is derived from the event's and the endpoint's ids: every
        retry, recover and replay of the event to the endpoint carries the same one, even if
        the message were ever written again."""
        return cls(
            public_id=derived_public_id("msg", event.public_id, endpoint.public_id),
            event=event,
            endpoint=endpoint,
            next_attempt_at=next_attempt_at,
        )


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
