"""Who a partner is: contacts and signed agreements."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel
from careos.phones import validate_phone_e164
from partners.models.partner import Partner


class PartnerContact(TimeStampedModel):
    """A person at the partner (business contact data, not patient data)."""

    class Role(models.TextChoices):
        PRIMARY = "primary", _("Primary")
        TECHNICAL = "technical", _("Technical")
        BILLING = "billing", _("Billing")
        LEGAL = "legal", _("Legal")
        SUPPORT = "support", _("Support")

    public_id = PublicIdField(prefix="pcon")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="contacts")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PRIMARY)
    name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(
        max_length=32,
        blank=True,
        validators=[validate_phone_e164],
        help_text=_("E.164, e.g. +14155550122."),
    )
    title = models.CharField(max_length=120, blank=True)

    class Meta:
        indexes = [models.Index(fields=["partner", "role"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


class PartnerAgreement(TimeStampedModel):
    """A version of the commercial agreement with a partner."""

    public_id = PublicIdField(prefix="pagr")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="agreements")
    version = models.CharField(max_length=32)
    terms = models.TextField(blank=True)
    referral_fee_minor = models.PositiveIntegerField(
        default=0, help_text=_("Fee per accepted referral, in minor units of the currency.")
    )
    currency = models.CharField(max_length=3, default="USD")
    revenue_share_bps = models.PositiveIntegerField(
        default=0, help_text=_("Revenue share in basis points (100 = 1%).")
    )
    signed_by = models.CharField(max_length=200, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    effective_from = models.DateField()
    effective_until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "version"], name="partner_agreement_version"
            ),
            models.CheckConstraint(
                condition=Q(revenue_share_bps__lte=10_000), name="partner_agreement_bps_max"
            ),
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True)
                | Q(effective_until__gte=models.F("effective_from")),
                name="partner_agreement_dates_ordered",
            ),
        ]
        indexes = [models.Index(fields=["partner", "-effective_from"])]

    def __str__(self) -> str:
        return f"{self.partner.slug} v{self.version}"
