"""The clinic's price catalogue: services, their prices over time, discount codes, tax rates,
and the clinic's billing profile (legal details printed on invoices, tax jurisdiction)."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel

LANGUAGES = ("en", "es", "fr")


class ClinicBillingProfile(TimeStampedModel):
    """What a clinic's invoices say about the seller, and which tax jurisdiction it charges."""

    clinic = models.OneToOneField(
        "rbac.Clinic", on_delete=models.CASCADE, related_name="billing_profile"
    )
    legal_name = models.CharField(max_length=200)
    tax_id = models.CharField(max_length=64, blank=True, help_text=_("VAT / EIN / NIF …"))
    address = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    jurisdiction = models.CharField(
        max_length=32, blank=True, help_text=_("Tax jurisdiction, e.g. US-NY: its rates apply.")
    )
    invoice_prefix = models.CharField(max_length=16, default="INV")

    def __str__(self) -> str:
        return self.legal_name


class CatalogueService(TimeStampedModel):
    """Something a clinic sells (a consultation, a blood test), named in en/es/fr."""

    class LineKind(models.TextChoices):
        SERVICE = "service", _("Service")
        PROCEDURE = "procedure", _("Procedure")

    public_id = PublicIdField(prefix="svc")
    clinic = models.ForeignKey(
        "rbac.Clinic", on_delete=models.PROTECT, related_name="catalogue_services"
    )
    code = models.SlugField(max_length=64)
    category = models.SlugField(
        max_length=64, help_text=_("Tax rates and exemptions apply per category.")
    )
    line_kind = models.CharField(max_length=16, choices=LineKind.choices, default="service")
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_es = models.CharField(_("name (Spanish)"), max_length=200, blank=True)
    name_fr = models.CharField(_("name (French)"), max_length=200, blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    description_es = models.TextField(_("description (Spanish)"), blank=True)
    description_fr = models.TextField(_("description (French)"), blank=True)
    duration_minutes = models.PositiveIntegerField(default=30)
    is_active = models.BooleanField(default=True)
    stripe_product_id = models.CharField(max_length=255, blank=True, editable=False)

    class Meta:
        ordering = ["clinic_id", "category", "name_en"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "code"], name="catalogue_service_code_uniq")
        ]

    def __str__(self) -> str:
        return self.name_en

    def name_in(self, language: str | None) -> str:
        """The name in ``language`` (``es-mx`` counts as ``es``), English when not translated."""
        code = (language or "en")[:2]
        return (getattr(self, f"name_{code}", "") if code in LANGUAGES else "") or self.name_en

    def description_in(self, language: str | None) -> str:
        code = (language or "en")[:2]
        text = getattr(self, f"description_{code}", "") if code in LANGUAGES else ""
        return text or self.description_en


class ServicePrice(TimeStampedModel):
    """A service's price in one tier from ``effective_from`` until ``effective_until``
    (exclusive; open-ended when empty). Never edited: a new price closes the previous one."""

    DEFAULT_TIER = "standard"

    public_id = PublicIdField(prefix="prc")
    service = models.ForeignKey(CatalogueService, on_delete=models.PROTECT, related_name="prices")
    tier = models.SlugField(
        max_length=32, default=DEFAULT_TIER, help_text=_("e.g. standard, self-pay.")
    )
    amount = models.BigIntegerField(help_text=_("Minor units (cents)."))
    currency = models.CharField(max_length=3)
    effective_from = models.DateTimeField()
    effective_until = models.DateTimeField(null=True, blank=True)
    stripe_price_id = models.CharField(max_length=255, blank=True, editable=False)

    class Meta:
        ordering = ["service_id", "tier", "-effective_from"]
        indexes = [models.Index(fields=["service", "tier", "effective_from"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="service_price_amount_gte_0"),
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True)
                | Q(effective_until__gt=F("effective_from")),
                name="service_price_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} ({self.tier}): {self.amount} {self.currency}"


class DiscountCode(TimeStampedModel):
    """A code a clinic gives out: a percentage or a fixed amount off, with limits and expiry."""

    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percentage")
        FIXED = "fixed", _("Fixed amount")

    public_id = PublicIdField(prefix="dsc")
    clinic = models.ForeignKey("rbac.Clinic", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=32, help_text=_("Compared case-insensitively."))
    kind = models.CharField(max_length=16, choices=Kind.choices)
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount = models.BigIntegerField(null=True, blank=True, help_text=_("Minor units."))
    currency = models.CharField(max_length=3, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    valid_from = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["clinic_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "code"], name="discount_code_uniq"),
            models.CheckConstraint(
                condition=(
                    Q(kind="percent", percent__gt=0, percent__lte=100)
                    | Q(kind="fixed", amount__gt=0)
                ),
                name="discount_code_value",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class TaxRate(TimeStampedModel):
    """A tax a clinic charges in a jurisdiction, on every category or on some, exempt ones
    excluded; ``inclusive`` when catalogue prices already include it."""

    public_id = PublicIdField(prefix="txr")
    clinic = models.ForeignKey("rbac.Clinic", on_delete=models.PROTECT, related_name="+")
    jurisdiction = models.CharField(max_length=32, blank=True)
    name = models.CharField(max_length=100)
    rate = models.DecimalField(max_digits=7, decimal_places=4, help_text=_("Percent, e.g. 8.875."))
    inclusive = models.BooleanField(default=False)
    categories = models.JSONField(
        default=list, blank=True, help_text=_("Categories taxed; empty: every category.")
    )
    exempt_categories = models.JSONField(default=list, blank=True)
    effective_from = models.DateTimeField()
    effective_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["clinic_id", "jurisdiction", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lt=100), name="tax_rate_percent"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rate}%)"

    def applies_to(self, category: str) -> bool:
        if category in (self.exempt_categories or []):
            return False
        return not self.categories or category in self.categories
