from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from careos.fields import EncryptedTextField
from careos.models import PublicIdField, TimeStampedModel


class BillingAccount(TimeStampedModel):
    """A business customer's subscription at the external billing provider."""

    class SubscriptionStatus(models.TextChoices):
        TRIALING = "trialing", _("Trialing")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        CANCELED = "canceled", _("Canceled")

    public_id = PublicIdField(prefix="bac")
    partner = models.OneToOneField(
        "partners.Partner", on_delete=models.PROTECT, related_name="billing_account"
    )
    provider_customer_id = models.CharField(max_length=255, unique=True)
    provider_key = EncryptedTextField()
    provider_key_hash = models.CharField(max_length=64, unique=True)
    email = EncryptedTextField(blank=True)
    # The language of billing emails: the registering browser's (Accept-Language).
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    subscription_status = models.CharField(
        max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE
    )
    plan = models.CharField(max_length=32, default="basic")
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    subscription_ends_at = models.DateTimeField(null=True, blank=True)
    last_billed_at = models.DateTimeField(null=True, blank=True)
    # When the provider event that set the current status happened (older events are ignored).
    status_event_at = models.DateTimeField(null=True, blank=True)
    # True while the partner is suspended because of billing (so reactivation restores it,
    # but never lifts a suspension an operator made for another reason).
    suspended_for_billing = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["subscription_status"])]

    def __str__(self) -> str:
        return self.public_id


class BillingEvent(models.Model):
    """A provider webhook event (each provider event id once), or a charge we made."""

    account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    provider_event_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    event_type = models.CharField(max_length=64)
    provider_customer_id = models.CharField(max_length=255, blank=True)
    amount = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=32, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.provider_event_id or ''}"


class BillingCharge(TimeStampedModel):
    """The monthly subscription charge of one account for one period (at most one)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey(BillingAccount, on_delete=models.PROTECT, related_name="charges")
    period = models.CharField(max_length=7, help_text=_("YYYY-MM"))
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    provider_charge_id = models.CharField(max_length=255, blank=True)
    error_message = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "period"], name="billing_charge_once")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.period}"
