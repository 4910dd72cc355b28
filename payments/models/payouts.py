from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel


class ConnectedAccount(TimeStampedModel):
    """The Stripe Connect account a specialist or a partner is paid into."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stripe_account",
    )
    partner = models.OneToOneField(
        "partners.Partner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stripe_account",
    )
    stripe_account_id = models.CharField(max_length=255, unique=True)
    payouts_enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, partner__isnull=True)
                | Q(user__isnull=True, partner__isnull=False),
                name="connected_account_one_owner",
            )
        ]

    def __str__(self) -> str:
        return self.stripe_account_id


class SpecialistPayout(TimeStampedModel):
    """One Stripe Connect transfer to a specialist for a set of completed, paid bookings."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        REVERSED = "reversed", _("Reversed")

    public_id = PublicIdField(prefix="po")
    specialist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts"
    )
    amount = models.BigIntegerField()
    fee_amount = models.BigIntegerField(default=0)
    gross_amount = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stripe_transfer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["specialist", "status"])]

    def __str__(self) -> str:
        return self.public_id
