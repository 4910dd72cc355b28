"""Partner contacts and agreements."""

from datetime import date, datetime
from typing import Any

from django.db import transaction

from careos.actors import Actor
from careos.errors import ConflictError, DomainError
from careos.phones import phone_e164
from partners.models import Partner, PartnerAgreement, PartnerContact
from rbac.models import User
from rbac.services import audit_record

CONTACT_FIELDS = ("role", "name", "email", "phone", "title")


class InvalidPhoneError(DomainError):
    code = "invalid_phone"
    status = 400
    title = "The phone number is not valid"


def _phone_clean(phone: str) -> str:
    """E.164 of ``phone`` ("" stays ""), or ``InvalidPhoneError`` naming the field."""
    if not phone:
        return ""
    e164 = phone_e164(phone)
    if e164 is None:
        raise InvalidPhoneError(
            "Give the phone number in international form, e.g. +14155550122.",
            extra={"errors": [{"field": "phone", "code": "invalid_phone", "message": "Invalid."}]},
        )
    return e164


@transaction.atomic
def contact_create(
    *,
    partner: Partner,
    name: str,
    email: str,
    role: str = PartnerContact.Role.PRIMARY,
    phone: str = "",
    title: str = "",
    actor: Actor | User,
) -> PartnerContact:
    contact = PartnerContact.objects.create(
        partner=partner, name=name, email=email, role=role, phone=_phone_clean(phone), title=title
    )
    audit_record(
        actor=actor,
        action="partner.contact.created",
        target_type="partner_contact",
        target_ref=contact.public_id,
        metadata={"partner": partner.public_id},
    )
    return contact


@transaction.atomic
def contact_update(
    *, contact: PartnerContact, actor: Actor | User, **changes: Any
) -> PartnerContact:
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise DomainError(f"Not updatable: {', '.join(sorted(unknown))}.")
    if "phone" in changes:
        changes["phone"] = _phone_clean(changes["phone"])
    for field, value in changes.items():
        setattr(contact, field, value)
    contact.save(update_fields=[*changes, "updated_at"])
    audit_record(
        actor=actor,
        action="partner.contact.updated",
        target_type="partner_contact",
        target_ref=contact.public_id,
        metadata={"fields": sorted(changes)},
    )
    return contact


@transaction.atomic
def contact_delete(*, contact: PartnerContact, actor: Actor | User) -> None:
    audit_record(
        actor=actor,
        action="partner.contact.deleted",
        target_type="partner_contact",
        target_ref=contact.public_id,
    )
    contact.delete()


@transaction.atomic
def agreement_create(
    *,
    partner: Partner,
    version: str,
    effective_from: date,
    actor: Actor | User,
    terms: str = "",
    referral_fee_minor: int = 0,
    currency: str = "USD",
    revenue_share_bps: int = 0,
    signed_by: str = "",
    signed_at: datetime | None = None,
    effective_until: date | None = None,
) -> PartnerAgreement:
    if PartnerAgreement.objects.filter(partner=partner, version=version).exists():
        raise ConflictError(f"Version {version} exists already.", code="agreement_version_taken")
    if not 0 <= revenue_share_bps <= 10_000:
        raise DomainError("Revenue share is 0 to 10000 basis points.", code="invalid_revenue_share")
    if effective_until is not None and effective_until < effective_from:
        raise DomainError("The agreement ends before it starts.", code="invalid_dates")
    if len(currency) != 3 or not currency.isalpha():
        raise DomainError("Currency is an ISO 4217 code.", code="invalid_currency")
    agreement = PartnerAgreement.objects.create(
        partner=partner,
        version=version,
        terms=terms,
        referral_fee_minor=referral_fee_minor,
        currency=currency.upper(),
        revenue_share_bps=revenue_share_bps,
        signed_by=signed_by,
        signed_at=signed_at,
        effective_from=effective_from,
        effective_until=effective_until,
    )
    audit_record(
        actor=actor,
        action="partner.agreement.created",
        target_type="partner_agreement",
        target_ref=agreement.public_id,
        metadata={"partner": partner.public_id, "version": version},
    )
    return agreement
