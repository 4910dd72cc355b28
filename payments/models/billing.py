from django.db import models
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel


class PartnerPricing(TimeStampedModel):
    """How a partner is billed (or paid) each month.

    ``usage_tiers`` is graduated: ``[{"upTo": 10000, "unitAmount": 0}, {"upTo": null,
    "unitAmount": 1}]`` prices API calls 1-10,000 at 0 and the rest at 1 (minor units each).
    """

    class Model(models.TextChoices):
        REVENUE_SHARE = "revenue_share", _("Revenue share")
        FLAT_FEE = "flat_fee", _("Flat fee")
        USAGE_BASED = "usage_based", _("Usage based")
        HYBRID = "hybrid", _("Hybrid (flat fee + usage)")

    partner = models.OneToOneField(
        "partners.Partner", on_delete=models.CASCADE, related_name="pricing"
    )
    model = models.CharField(max_length=16, choices=Model.choices)
    currency = models.CharField(max_length=3, default="USD")
    flat_fee = models.BigIntegerField(default=0, help_text=_("Monthly, minor units."))
    revenue_share_bps = models.PositiveIntegerField(
        default=0, help_text=_("Partner's share of referred payment volume, basis points.")
    )
    usage_tiers = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.partner_id}: {self.model}"


class PartnerInvoice(TimeStampedModel):
    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        PAID = "paid", _("Paid")
        VOID = "void", _("Void")

    public_id = PublicIdField(prefix="inv")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField(help_text=_("Exclusive."))
    pricing_model = models.CharField(max_length=16, choices=PartnerPricing.Model.choices)
    currency = models.CharField(max_length=3)
    total = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ISSUED)
    due_date = models.DateField()
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "period_start"], name="partner_invoice_once_per_period"
            )
        ]

    def __str__(self) -> str:
        return self.public_id


class PartnerInvoiceLine(models.Model):
    invoice = models.ForeignKey(PartnerInvoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=200)
    quantity = models.BigIntegerField(default=1)
    unit_amount = models.BigIntegerField()
    amount = models.BigIntegerField()

    class Meta:
        ordering = ["invoice", "position"]

    def __str__(self) -> str:
        return self.description


class PartnerPayout(TimeStampedModel):
    """A partner's monthly revenue share of the payment volume it referred."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    public_id = PublicIdField(prefix="ppo")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    volume = models.BigIntegerField(help_text=_("Net referred payment volume."))
    share_bps = models.PositiveIntegerField()
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stripe_transfer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "period_start", "currency"],
                name="partner_payout_once_per_period",
            )
        ]

    def __str__(self) -> str:
        return self.public_id
