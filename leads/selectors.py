"""leads reads shared by the API, the admin and the services."""

from dataclasses import dataclass
from datetime import date, datetime

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
from partners.models import Partner, PartnerAgreement
from partners.principal import PartnerPrincipal
from partners.selectors import partner_agreements


@dataclass(frozen=True)
class IngestConfig:
    """What an ingest reads of the partner's configuration: its encryption keys (validity
    only), its agreements and the category mapping. ``ingest_config_for`` keeps one per
    partner credential in each process until any of these rows changes."""

    keys: dict[str, LeadEncryptionKey]  # by kid; kid, retired_at and decrypt_until only
    agreements: tuple[PartnerAgreement, ...]  # latest effective_from (then created_at) first
    categories: dict[str, str]  # normalised business category -> active healthcare category

    def accepts_key(self, kid: str, *, now: datetime) -> bool:
        key = self.keys.get(kid)
        return key is not None and key.accepts_at(now)

    def referral_fee(self, *, on: date) -> tuple[int, str]:
        """(minor units, currency) of the agreement in effect ``on``; (0, USD) without one."""
        for agreement in self.agreements:
            if agreement.effective_from <= on and (
                agreement.effective_until is None or agreement.effective_until >= on
            ):
                return agreement.referral_fee_minor, agreement.currency
        return 0, "USD"

    def healthcare_category(self, business_category: str) -> str:
        """``mapToHealthcareCategory``: the mapped category, else ``LEADS_FALLBACK_CATEGORY``."""
        mapped = self.categories.get(normalize_business_category(business_category))
        if mapped:
            return mapped
        fallback = settings.LEADS_FALLBACK_CATEGORY
        return fallback if fallback in HealthcareCategory.values else HealthcareCategory.GENERAL


def ingest_config_load(*, partner: Partner) -> IngestConfig:
    keys = LeadEncryptionKey.objects.filter(partner=partner).only(
        "kid", "retired_at", "decrypt_until"
    )
    agreements = partner_agreements(partner=partner).order_by("-effective_from", "-created_at")
    categories = CategoryMapping.objects.filter(is_active=True).values_list(
        "business_category", "healthcare_category"
    )
    return IngestConfig(
        keys={key.kid: key for key in keys},
        agreements=tuple(agreements),
        categories=dict(categories),
    )


def ingest_config_for(principal: PartnerPrincipal) -> IngestConfig:
    """The partner's ``IngestConfig``, loaded once per credential and process: keys,
    agreements and mappings are watched (leads.apps), so a change reloads it everywhere."""
    return principal.memoized(
        "leads.ingest_config", lambda: ingest_config_load(partner=principal.partner)
    )


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
