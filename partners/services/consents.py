"""Consent events: ``consent.confirmed`` and ``consent.revoked`` for the partner a consent is
tied to, published from rbac's ``consent_changed`` hook (connected in ``partners.signals``)."""

from datetime import datetime
from typing import Any

from partners.models import Partner, PlatformEvent
from partners.services.events import publish_event
from rbac.models import ConsentRecord

CONFIRMED = "consent.confirmed"
REVOKED = "consent.revoked"


def consent_partner(*, consent: ConsentRecord) -> Partner | None:
    """The partner a consent is tied to: the one its scope names (lead ingest records the
    referral consent with ``scope.partner``), else none."""
    public_id = (consent.scope or {}).get("partner")
    if not isinstance(public_id, str) or not public_id:
        return None
    return Partner.objects.filter(public_id=public_id).first()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def consent_event_payload(consent: ConsentRecord) -> dict[str, Any]:
    """Ids, type, state and times only: never the consent text, the revocation reason or
    anything about the person."""
    return {
        "consentId": consent.public_id,
        "consentType": consent.consent_type,
        "status": consent.status,
        "leadId": (consent.scope or {}).get("leadId"),
        "confirmedAt": _iso(consent.confirmed_at),
        "revokedAt": _iso(consent.revoked_at),
    }


def consent_event_publish(*, consent: ConsentRecord, change: str) -> PlatformEvent | None:
    """Publish, in the caller's transaction, the event of ``change`` (as rbac's hook names it)
    to the partner the consent is tied to. A consent recorded (or confirmed) as confirmed is
    ``consent.confirmed``, a revocation ``consent.revoked``; a consent recorded as pending, or
    tied to no partner, announces nothing (``None``). The ledger makes each change once per
    consent (its transitions are taken under a row lock), so no idempotency key (and no look-up
    for one) is needed."""
    if change == "revoked":
        event_type, occurred_at = REVOKED, consent.revoked_at
    elif change in ("recorded", "confirmed") and consent.status == ConsentRecord.Status.CONFIRMED:
        event_type, occurred_at = CONFIRMED, consent.confirmed_at
    else:
        return None
    partner = consent_partner(consent=consent)
    if partner is None:
        return None
    return publish_event(
        event_type=event_type,
        owner=partner,
        payload=consent_event_payload(consent),
        occurred_at=occurred_at,
    )
