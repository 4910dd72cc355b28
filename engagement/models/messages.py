from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from careos.crypto import blind_index
from careos.fields import EncryptedTextField
from careos.models import PublicIdField, TimeStampedModel

RECIPIENT_INDEX_PURPOSE = "engagement.recipient"


def normalize_address(address: str) -> str:
    return address.strip().lower()


def recipient_blind_index(address: str) -> str:
    """Blind index of a channel address (E.164 phone, email, or ``usr_…`` for push)."""
    return blind_index(normalize_address(address), purpose=RECIPIENT_INDEX_PURPOSE)


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    PUSH = "push", _("Web push")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    DEFERRED = "deferred", _("Deferred (quiet hours)")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    UNDELIVERABLE = "undeliverable", _("Undeliverable")
    SUPPRESSED = "suppressed", _("Suppressed (opted out or capped)")
    CANCELLED = "cancelled", _("Cancelled")


FINAL_STATUSES = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.UNDELIVERABLE,
        MessageStatus.SUPPRESSED,
        MessageStatus.CANCELLED,
    }
)


class Message(TimeStampedModel):
    """One outbound message to one address. Recipient and content are PHI: encrypted."""

    public_id = PublicIdField(prefix="msg")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    purpose = models.CharField(max_length=64, db_index=True)
    template_key = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=8, default="en")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="engagement_messages",
    )
    to_address = EncryptedTextField()
    recipient_index = models.CharField(max_length=64, editable=False)
    clinic = models.ForeignKey(
        "rbac.Clinic", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    campaign = models.ForeignKey(
        "engagement.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    subject = EncryptedTextField(blank=True)
    body = EncryptedTextField()
    html_body = EncryptedTextField(blank=True)
    dedupe_key = models.CharField(max_length=200)
    urgent = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    send_after = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=32, blank=True)
    provider_message_id = models.CharField(max_length=128, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "recipient_index", "dedupe_key"],
                name="message_unique_purpose_recipient_dedupe",
            )
        ]
        indexes = [
            models.Index(fields=["status", "send_after"]),
            models.Index(fields=["campaign", "status"]),
            models.Index(fields=["clinic", "created_at"]),
            models.Index(fields=["recipient_index", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.channel} {self.purpose} ({self.status})"


class MessageAttempt(models.Model):
    class Outcome(models.TextChoices):
        SENT = "sent", _("Sent")
        TRANSIENT = "transient", _("Transient error")
        PERMANENT = "permanent", _("Permanent error")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    provider_message_id = models.CharField(max_length=128, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "number"], name="attempt_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.message_id}#{self.number} {self.outcome}"
