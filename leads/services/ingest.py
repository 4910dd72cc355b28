"""Partner lead ingest (lead-ingest-from-partners.md, "Integration Flow" step 7)."""

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from careos.actors import Actor
from careos.errors import DomainError
from engagement.models import Channel
from engagement.services.optouts import is_opted_out
from leads.models import IngestFailureCount, Lead, normalize_business_category
from leads.selectors import IngestConfig, ingest_config_load, lead_for_source
from leads.services.keys import (
    UNKNOWN_KEY_DETAIL,
    DecryptionFailedError,
    UnknownKeyIdError,
    phone_decrypt_with,
)
from leads.services.welcome import welcome_queue, welcomed_within_window
from leads.texts import referral_consent_language, supported_language
from partners.models import Partner
from partners.services.events import publish_event
from payments.services.partner_payments import partner_payment_accrue
from rbac.models import ConsentRecord, phone_blind_index
from rbac.services import audit_record, consent_record, patient_get_or_create

logger = logging.getLogger("leads.ingest")


class PhoneInvalidError(DomainError):
    code = "phone_invalid"
    status = 422
    title = "The decrypted phone is not a valid phone number"


class PhoneHashMismatchError(DomainError):
    code = "phone_hash_mismatch"
    status = 422
    title = "phoneHash does not match the phone number"


class ConsentRequiredError(DomainError):
    code = "consent_required"
    status = 422
    title = "The person's consent is required"


# Refusals counted per partner (IngestFailureCount) for the admin and alerts.
COUNTED_ERRORS: tuple[type[DomainError], ...] = (
    DecryptionFailedError,
    UnknownKeyIdError,
    PhoneInvalidError,
    PhoneHashMismatchError,
    ConsentRequiredError,
)


@dataclass(frozen=True)
class ConsentInput:
    given: bool
    text: str
    method: str
    timestamp: datetime | None


@dataclass(frozen=True)
class LeadIngestInput:
    source_lead_id: str
    encrypted_phone: str
    key_id: str
    phone_hash: str
    business_category: str
    consent: ConsentInput | None
    first_name: str = ""
    last_name: str = ""
    need: str = ""
    language: str = "en"
    location_state: str = ""
    country: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestResult:
    lead: Lead
    created: bool


def phone_normalize(*, raw: str, country: str = "") -> str:
    """E.164 of ``raw`` (``country`` is the region for numbers without ``+``)."""
    try:
        number = phonenumbers.parse(raw, (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        raise PhoneInvalidError("The phone number is not valid.") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneInvalidError("The phone number is not valid.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_hash_verify(*, phone_e164: str, expected_hex: str) -> None:
    digest = hashlib.sha256(phone_e164.encode()).hexdigest()
    if not hmac.compare_digest(digest, expected_hex.strip().lower()):
        raise PhoneHashMismatchError("phoneHash must be the SHA-256 of the E.164 phone number.")


def _consent_check(consent: ConsentInput | None) -> ConsentInput:
    if consent is None or not consent.given or not consent.text.strip() or not consent.timestamp:
        raise ConsentRequiredError(
            "consent.given must be true, with the text shown to the person and its timestamp."
        )
    return consent


def lead_event_payload(lead: Lead) -> dict[str, Any]:
    """What partners' webhooks receive about a lead: no PHI."""
    return {
        "leadId": lead.public_id,
        "sourceLeadId": lead.source_lead_id,
        "status": lead.status,
        "healthcareCategory": lead.healthcare_category,
    }


def lead_ingest(
    *,
    partner: Partner,
    data: LeadIngestInput,
    actor: Actor,
    request: HttpRequest | None = None,
    config: IngestConfig | None = None,
) -> IngestResult:
    """Steps 2-10 of the ingest, in one transaction; a repeated ``sourceLeadId`` (also a
    concurrent one) returns the original lead and writes nothing. Raises ``UnknownKeyIdError``,
    ``DecryptionFailedError``, ``PhoneInvalidError``, ``PhoneHashMismatchError`` and
    ``ConsentRequiredError``; on any error nothing is written. ``config`` is the partner's
    (``leads.selectors.ingest_config_for``), read from the database when not given."""
    config = config or ingest_config_load(partner=partner)
    if not config.accepts_key(data.key_id, now=timezone.now()):
        raise UnknownKeyIdError(UNKNOWN_KEY_DETAIL)
    raw_phone = phone_decrypt_with(kid=data.key_id, ciphertext_b64=data.encrypted_phone)
    phone = phone_normalize(raw=raw_phone, country=data.country)
    phone_hash_verify(phone_e164=phone, expected_hex=data.phone_hash)
    consent = _consent_check(data.consent)
    try:
        # No look-up first: the unique (partner, sourceLeadId) makes the Lead insert of a repeat
        # (earlier or concurrent) fail, and this block (a transaction, or a savepoint inside a
        # caller's) undoes everything the call wrote; the original is then returned. New leads,
        # the common case, save a SELECT and, outside a transaction, a SAVEPOINT/RELEASE.
        with transaction.atomic():
            lead = _ingest_new(
                partner=partner,
                config=config,
                data=data,
                phone=phone,
                consent=consent,
                actor=actor,
                request=request,
            )
    except IntegrityError:
        original = lead_for_source(partner=partner, source_lead_id=data.source_lead_id)
        if original is None:
            raise
        return IngestResult(lead=original, created=False)
    return IngestResult(lead=lead, created=True)


def _ingest_new(
    *,
    partner: Partner,
    config: IngestConfig,
    data: LeadIngestInput,
    phone: str,
    consent: ConsentInput,
    actor: Actor,
    request: HttpRequest | None,
) -> Lead:
    language = supported_language(data.language)
    _phone_lock(phone)
    patient, created = patient_get_or_create(
        phone=phone,
        actor=actor,
        preferred_language=language,
        source=f"{partner.slug}_referral",
        source_lead_id=data.source_lead_id,
        location_state=data.location_state,
    )
    fee, currency = config.referral_fee(on=timezone.localdate())
    lead = Lead(
        partner=partner,
        patient=patient,
        source_platform=partner.slug,
        source_lead_id=data.source_lead_id,
        encryption_kid=data.key_id,
        first_name=data.first_name,
        last_name=data.last_name,
        need=data.need,
        metadata=json.dumps(data.metadata, sort_keys=True) if data.metadata else "",
        business_category=normalize_business_category(data.business_category),
        healthcare_category=config.healthcare_category(data.business_category),
        language=language,
        location_state=data.location_state,
        country=data.country.upper(),
        referral_fee_minor=fee,
        referral_fee_currency=currency,
    )
    lead.consent = consent_record(
        patient=patient,
        consent_type=ConsentRecord.Type.PARTNER_REFERRAL,
        status=ConsentRecord.Status.CONFIRMED,
        text=consent.text,
        language=language,
        source_platform=partner.slug,
        method=consent.method,
        given_at=consent.timestamp,
        scope={
            "partner": partner.public_id,
            "leadId": lead.public_id,
            "statement": referral_consent_language(language=language, partner_name=partner.name),
        },
        actor=actor,
    )
    # The welcome SMS is composed and queued by a task after commit (nothing is announced
    # that did not happen); an SMS opt-out, and a welcome this partner already sent this
    # person within LEADS_WELCOME_WINDOW_DAYS, are known now, so the partner hears it at once.
    # (_phone_lock makes a concurrent ingest of the same phone wait for this one's commit.)
    welcomed = not created and welcomed_within_window(partner=partner, patient=patient)
    lead.welcome_message_queued = not welcomed and not is_opted_out(
        channel=Channel.SMS, address=phone
    )
    lead.save(force_insert=True)
    audit_record(
        actor=actor,
        action="lead.created",
        target_type="lead",
        target_ref=lead.public_id,
        patient=patient,
        request=request,
        metadata={
            "partner": partner.public_id,
            "sourceLeadId": lead.source_lead_id,
            "healthcareCategory": lead.healthcare_category,
            "newPatient": created,
        },
    )
    _referral_fee_accrue(partner=partner, lead=lead, actor=actor)
    publish_event(
        event_type="lead.created",
        owner=partner,
        payload=lead_event_payload(lead),
    )
    if lead.welcome_message_queued:
        transaction.on_commit(lambda: welcome_queue(lead_id=lead.pk))
    return lead


def _phone_lock(phone: str) -> None:
    """Serialise concurrent ingests of one phone number (PostgreSQL, until commit), so the
    find-or-create sees a patient another ingest just created instead of making a second."""
    if connection.vendor != "postgresql":
        return  # SQLite serialises writers anyway
    key = int(phone_blind_index(phone)[:15], 16)  # 60 bits: fits a signed bigint
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _referral_fee_accrue(*, partner: Partner, lead: Lead, actor: Actor) -> None:
    if lead.referral_fee_minor <= 0:
        return
    partner_payment_accrue(
        partner=partner,
        referral_ref=lead.public_id,
        amount=lead.referral_fee_minor,
        currency=lead.referral_fee_currency,
        actor=actor,
        referral_is_new=True,  # the lead was inserted just now, in this transaction
    )


def ingest_failure_record(*, partner: Partner, code: str) -> None:
    """Count a refused ingest (outside the refused request's transaction, which wrote nothing)."""
    now = timezone.now()
    day = now.date()
    updated = IngestFailureCount.objects.filter(partner=partner, day=day, code=code).update(
        count=F("count") + 1, last_at=now
    )
    if not updated:
        try:
            with transaction.atomic():
                IngestFailureCount.objects.create(
                    partner=partner, day=day, code=code, count=1, last_at=now
                )
        except IntegrityError:
            IngestFailureCount.objects.filter(partner=partner, day=day, code=code).update(
                count=F("count") + 1, last_at=now
            )
    logger.warning("lead ingest refused for partner %s: %s", partner.slug, code)
