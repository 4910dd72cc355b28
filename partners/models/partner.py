from django.db import models
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel


class Partner(TimeStampedModel):
    class Type(models.TextChoices):
        REFERRAL_PLATFORM = "referral_platform", _("Referral platform")
        TECHNOLOGY_APP = "technology_app", _("Technology app")
        BUSINESS_CUSTOMER = "business_customer", _("Business customer")
        CLINIC_VENDOR = "clinic_vendor", _("Clinic vendor")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATED = "terminated", _("Terminated")

    class Tier(models.TextChoices):
        BASIC = "basic", _("Basic")
        PRO = "pro", _("Pro")
        ENTERPRISE = "enterprise", _("Enterprise")

    public_id = PublicIdField(prefix="ptr")
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True, help_text=_("Sent by the partner as X-Platform."))
    partner_type = models.CharField(max_length=32, choices=Type.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.BASIC)
    website = models.URLField(blank=True)
    description = models.TextField(blank=True)
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Overrides the tier's default requests per minute (per partner and per key)."),
    )

    class Meta:
        indexes = [models.Index(fields=["status", "tier"])]
        permissions = [("manage_partners", "Can manage partners and approve applications")]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def partner_ref(self) -> str:
        return self.public_id
