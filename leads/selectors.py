"""leads reads shared by the API, the admin and the services."""

from datetime import date

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from careos.errors import NotFoundError
from leads.models import (
    CategoryMapping,
    HealthcareCategory,
    Lead,
    LeadEncryptionKey,
    normalize_business_category,
)
from partners.models import Partner
from partners.selectors import partner_agreements


def healthcare_category_for(business_category: str) -> str:
    """``mapToHealthcareCategory``: the mapped category, else ``LEADS_FALLBACK_CATEGORY``."""
    mapped = (
        CategoryMapping.objects.filter(
            business_category=normalize_business_category(business_category), is_active=True
        )
        .values_list("healthcare_category", flat=True)
        .first()
    )
    fallback = settings.LEADS_FALLBACK_CATEGORY
    if mapped:
        return mapped
    return fallback if fallback in HealthcareCategory.values else HealthcareCategory.GENERAL


def referral_fee_for(*, partner: Partner, on: date | None = None) -> tuple[int, str]:
    """(minor units, currency) of the partner's agreement in effect ``on`` (today); (0, USD)
    without one."""
    on = on or timezone.localdate()
    agreement = (
        partner_agreements(partner=partner)
        .filter(effective_from__lte=on)
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gte=on))
        .order_by("-effective_from", "-created_at")
        .first()
    )
    if agreement is None:
        return 0, "USD"
    return agreement.referral_fee_minor, agreement.currency


# Encrypted columns a partner-facing read never needs (nor decrypts).
PHI_FIELDS = ("first_name", "last_name", "need", "metadata")


def partner_leads(*, partner: Partner) -> QuerySet[Lead]:
    """The partner's own leads (tenant scope for every partner-facing read), without PHI."""
    return Lead.objects.filter(partner=partner).defer(*PHI_FIELDS)


def partner_lead_get(*, partner: Partner, public_id: str) -> Lead:
    lead = partner_leads(partner=partner).filter(public_id=public_id).first()
    if lead is None:
        raise NotFoundError("No lead with this id.")
    return lead


def lead_for_source(*, partner: Partner, source_lead_id: str) -> Lead | None:
    return partner_leads(partner=partner).filter(source_lead_id=source_lead_id).first()


def usable_encryption_keys(*, partner: Partner) -> list[LeadEncryptionKey]:
    """The active key first, then retired keys still in their grace period."""
    now = timezone.now()
    keys = (
        LeadEncryptionKey.objects.filter(partner=partner)
        .filter(Q(retired_at__isnull=True) | Q(decrypt_until__gt=now))
        .defer("private_key_pem")
    )
    return sorted(keys, key=lambda k: (k.retired_at is not None, -k.created_at.timestamp()))
