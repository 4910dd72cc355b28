from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel


class PartnerTransfer(TimeStampedModel):
    """One payment run's transfer to a partner: the sum of its due referral fees."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    public_id = PublicIdField(prefix="ptx")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=7, help_text=_("YYYY-MM of the run."))
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stripe_transfer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "currency", "period"], name="partner_transfer_once_per_period"
            )
        ]

    def __str__(self) -> str:
        return self.public_id


class PartnerPayment(TimeStampedModel):
    """A fee owed to a partner for one referral (a lead, by its public id)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        DISPUTED = "disputed", _("Disputed")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = PublicIdField(prefix="ppay")
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="referral_payments"
    )
    # Public id of what is paid for (``lead_…``); not a foreign key: leads sits above payments.
    referral_ref = models.CharField(max_length=64)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    due_date = models.DateField()
    paid_at = models.DateTimeField(null=True, blank=True)
    stripe_transfer_id = models.CharField(max_length=255, blank=True)
    transfer = models.ForeignKey(
        PartnerTransfer, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    status_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "referral_ref"], name="partner_payment_once_per_referral"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="partner_payment_amount_gt_0"),
        ]
        indexes = [models.Index(fields=["partner", "status", "due_date"])]

    def __str__(self) -> str:
        return self.public_id
