"""Partner leads, the RSA key pairs partners encrypt phones with, category mapping, and the
per-partner ingest failure counters (lead-ingest-from-partners.md)."""

import re
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careos.fields import EncryptedTextField
from careos.models import PublicIdField, TimeStampedModel

_SEPARATORS = re.compile(r"[\s\-/]+")


def normalize_business_category(value: str) -> str:
    """``"Home Care"`` → ``"home_care"``: how business categories are stored and matched."""
    return _SEPARATORS.sub("_", value.strip().lower())[:100]


class HealthcareCategory(models.TextChoices):
    HOME_CARE = "home_care", _("Home care")
    SENIOR_LIVING = "senior_living", _("Senior living")
    MENTAL_HEALTH = "mental_health", _("Mental health")
    PHYSICAL_THERAPY = "physical_therapy", _("Physical therapy")
    PRIMARY_CARE = "primary_care", _("Primary care")
    DENTAL = "dental", _("Dental care")
    PEDIATRICS = "pediatrics", _("Pediatrics")
    NUTRITION = "nutrition", _("Nutrition and wellness")
    SUBSTANCE_USE = "substance_use", _("Substance use treatment")
    GENERAL = "general", _("General care")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified")
    ASSIGNED = "assigned", _("Assigned")
    CONVERTED = "converted", _("Converted")
    LOST = "lost", _("Lost")


class LostReason(models.TextChoices):
    UNREACHABLE = "unreachable", _("Could not be reached")
    NOT_INTERESTED = "not_interested", _("Not interested")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")
    NO_CAPACITY = "no_capacity", _("No provider available")
    DUPLICATE = "duplicate", _("Duplicate")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent withdrawn")
    OTHER = "other", _("Other")


class LeadEncryptionKey(TimeStampedModel):
    """Our RSA key pair a partner encrypts phone numbers with (``kid`` names it).

    One active pair per partner (``retired_at`` empty). A rotated pair keeps decrypting until
    ``decrypt_until``. The private key is encrypted at rest and never leaves the server.
    """

    kid = models.CharField(max_length=64, unique=True)
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.CASCADE, related_name="lead_encryption_keys"
    )
    key_size = models.PositiveIntegerField(default=2048)
    public_key_pem = models.TextField()
    private_key_pem = EncryptedTextField()
    retired_at = models.DateTimeField(null=True, blank=True)
    decrypt_until = models.DateTimeField(
        null=True, blank=True, help_text=_("A retired key decrypts until then (grace period).")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner"],
                condition=Q(retired_at__isnull=True),
                name="leads_one_active_key_per_partner",
            ),
        ]

    def __str__(self) -> str:
        return self.kid

    @property
    def is_active(self) -> bool:
        return self.retired_at is None

    def accepts_at(self, when: datetime) -> bool:
        return self.retired_at is None or (
            self.decrypt_until is not None and when < self.decrypt_until
        )


class CategoryMapping(TimeStampedModel):
    """``mapToHealthcareCategory``: a partner's business category → our healthcare category.

    Business categories are matched normalised (lower case, ``_`` for spaces and dashes);
    unmapped ones fall back to ``LEADS_FALLBACK_CATEGORY``."""

    business_category = models.CharField(max_length=100, unique=True)
    healthcare_category = models.CharField(max_length=32, choices=HealthcareCategory.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["business_category"]

    def __str__(self) -> str:
        return f"{self.business_category} → {self.healthcare_category}"

    def clean(self) -> None:
        self.business_category = normalize_business_category(self.business_category)


class Lead(TimeStampedModel):
    """A person a partner referred to us, with their consent. PHI is encrypted at rest."""

    public_id = PublicIdField(prefix="lead")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="leads")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="leads"
    )
    source_platform = models.CharField(max_length=64)
    source_lead_id = models.CharField(max_length=128)
    encryption_kid = models.CharField(max_length=64)
    first_name = EncryptedTextField(blank=True)
    last_name = EncryptedTextField(blank=True)
    need = EncryptedTextField(blank=True)
    metadata = EncryptedTextField(blank=True, help_text=_("The partner's metadata (JSON)."))
    business_category = models.CharField(max_length=100, blank=True)
    healthcare_category = models.CharField(max_length=32, choices=HealthcareCategory.choices)
    language = models.CharField(max_length=8, default="en")
    location_state = models.CharField(max_length=32, blank=True)
    country = models.CharField(max_length=2, blank=True)
    referral_fee_minor = models.PositiveIntegerField(default=0)
    referral_fee_currency = models.CharField(max_length=3, default="USD")
    consent = models.ForeignKey(
        "rbac.ConsentRecord", on_delete=models.PROTECT, null=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW)
    status_changed_at = models.DateTimeField(default=timezone.now)
    lost_reason = models.CharField(max_length=32, choices=LostReason.choices, blank=True)
    lost_note = models.TextField(blank=True)
    assigned_clinic = models.ForeignKey(
        "rbac.Clinic", on_delete=models.PROTECT, null=True, blank=True, related_name="leads"
    )
    assigned_specialist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_leads",
    )
    welcome_message_ref = models.CharField(max_length=40, blank=True)
    welcome_message_queued = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "source_lead_id"], name="leads_source_lead_id_per_partner"
            ),
            models.CheckConstraint(
                condition=~Q(status="lost") | ~Q(lost_reason=""), name="leads_lost_has_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "-created_at"]),
            models.Index(fields=["partner", "status", "-created_at"]),
            models.Index(fields=["status", "healthcare_category"]),
        ]

    def __str__(self) -> str:
        return self.public_id


class IngestFailureCount(models.Model):
    """Refused ingests per partner, day and error code (decryption failures among them)."""

    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.CASCADE, related_name="lead_ingest_failures"
    )
    day = models.DateField()
    code = models.CharField(max_length=40)
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "day", "code"], name="leads_ingest_failure_per_day"
            )
        ]
        ordering = ["-day", "partner_id", "code"]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.day} {self.code}: {self.count}"
