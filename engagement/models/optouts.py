from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel
from engagement.models.messages import Channel


class OptOut(TimeStampedModel):
    """The recipient (by blind index of its address) refuses ``channel``. Never sent to."""

    class Source(models.TextChoices):
        SMS_KEYWORD = "sms_keyword", _("SMS keyword")
        EMAIL_LINK = "email_link", _("Email unsubscribe link")
        PATIENT = "patient", _("Patient preference")
        STAFF = "staff", _("Staff")
        PROVIDER = "provider", _("Provider report")

    public_id = PublicIdField(prefix="opt")
    recipient_index = models.CharField(max_length=64)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="engagement_optouts",
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    keyword = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient_index", "channel"], name="optout_unique_recipient_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.channel} ({self.source})"


class PushSubscription(TimeStampedModel):
    """A browser's Web Push subscription (endpoint + keys) registered by a patient."""

    public_id = PublicIdField(prefix="psh")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1000)
    endpoint_index = models.CharField(max_length=64, unique=True, editable=False)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    user_agent = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.public_id
