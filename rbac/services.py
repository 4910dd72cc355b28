"""rbac writes: audit events, clinics, roles, memberships, consent ledger.

Every function that changes state takes an ``actor`` (an ``Actor`` or a ``User``), runs in one
transaction and writes an audit event in it. ``user_can``/``clinics_where`` are reads that live
in ``rbac.selectors``; they are re-exported here for convenience.
"""

import ipaddress
import re
import zoneinfo
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.apps import apps as global_apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.timezone import now as timezone_now

from careos.actors import Actor
from careos.ids import new_public_id
from rbac.audit_chain import HASHED_FIELDS, chain_advance, chain_next, entry_hash
from rbac.errors import (
    ClinicSlugTaken,
    InvalidClinic,
    InvalidConsent,
    InvalidConsentTransition,
    InvalidUser,
    NotARoleTemplate,
    RoleNotInClinic,
)
from rbac.migration_helpers import ensure_permissions
from rbac.models import (
    AuditEvent,
    Clinic,
    ConsentRecord,
    Membership,
    Role,
    User,
    phone_blind_index,
)
from rbac.roles import ROLE_TEMPLATES
from rbac.selectors import clinics_where, permission_cache_clear, user_can
from rbac.signals import consent_changed

__all__ = [
    "actor_for_user",
    "audit_record",
    "client_ip",
    "clinic_create",
    "clinic_settings_clean",
    "clinics_where",
    "consent_confirm",
    "consent_record",
    "consent_revoke",
    "membership_grant",
    "membership_revoke",
    "patient_get_or_create",
    "role_clone_for_clinic",
    "role_templates_sync",
    "user_can",
    "user_create",
]


# --- actors and audit ---------------------------------------------------------------------


def actor_for_user(user: User) -> Actor:
    return Actor(kind="user", ref=user.public_id, label=user.get_username(), user_id=user.pk)


def _as_actor(actor: Actor | User) -> Actor:
    return actor_for_user(actor) if isinstance(actor, User) else actor


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address. ``X-Forwarded-For`` is used only with ``RBAC_TRUSTED_PROXY_COUNT``
    proxies in front: the entry that many hops from the right is the one our first proxy saw
    (entries further left are whatever the client sent)."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR", "") or "")
    hops = settings.RBAC_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops <= 0 or not forwarded:
        return remote
    entries = [entry for entry in forwarded.split(",") if entry.strip()]
    if len(entries) < hops:
        return remote
    return _valid_ip(entries[-hops]) or remote


def audit_record(
    *,
    actor: Actor | User,
    action: str,
    target_type: str = "",
    target_ref: str = "",
    patient: User | None = None,
    clinic: Clinic | None = None,
    request: HttpRequest | None = None,
    reason: str = "",
    metadata: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event in the caller's transaction.

    ``metadata`` must not hold PHI (it is stored in clear): ids, statuses and counts only.
    """
    actor = _as_actor(actor)
    event = AuditEvent(
        actor_kind=actor.kind,
        actor_ref=actor.ref[:80],
        actor_label=actor.label[:200],
        actor_user_id=actor.user_id,
        partner_ref=actor.partner_ref,
        action=action,
        target_type=target_type,
        target_ref=target_ref,
        patient=patient,
        clinic=clinic,
        ip_address=client_ip(request) if request is not None else None,
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""),
        reason=reason,
        metadata=metadata or {},
    )
    # The chain's next link, written in the caller's transaction (or one of its own): the
    # chain's lock is held until that transaction ends, so the next writer sees this event.
    with transaction.atomic(savepoint=False):
        event.chain, event.chain_seq, event.prev_hash = chain_next(
            clinic_id=clinic.pk if clinic else None, partner_ref=actor.partner_ref
        )
        event.occurred_at = timezone_now()
        event.entry_hash = entry_hash(
            values={name: getattr(event, name) for name in HASHED_FIELDS},
            prev_hash=event.prev_hash,
        )
        event.save(force_insert=True)
        chain_advance(chain=event.chain, chain_seq=event.chain_seq, entry_hash=event.entry_hash)
    return event


# --- roles and clinics -------------------------------------------------------------------


@transaction.atomic
def role_templates_sync(*, actor: Actor | User) -> list[Role]:
    """Create missing system role templates and add any missing template permission (never
    removes). The data migration does the same on ``migrate``; this repairs a flushed database."""
    specs = {spec["slug"]: spec for spec in ROLE_TEMPLATES}
    by_name = ensure_permissions(
        global_apps, sorted({p for spec in ROLE_TEMPLATES for p in spec["permissions"]})
    )
    templates = []
    for slug, spec in specs.items():
        template, created = Role.objects.get_or_create(
            clinic=None,
            slug=slug,
            defaults={"name": spec["name"], "description": spec["description"]},
        )
        template.permissions.add(*[by_name[p] for p in spec["permissions"]])
        if created:
            audit_record(
                actor=actor, action="role.template_created", target_type="role", target_ref=slug
            )
        templates.append(template)
    return templates


@transaction.atomic
def role_clone_for_clinic(*, template: Role, clinic: Clinic, actor: Actor | User) -> Role:
    """The clinic's copy of a system template (same slug, name and permissions). Idempotent: a
    clinic that already has a role with that slug gets it back unchanged."""
    if not template.is_template:
        raise NotARoleTemplate(f"role {template.public_id} belongs to a clinic")
    existing = Role.objects.filter(clinic=clinic, slug=template.slug).first()
    if existing is not None:
        return existing
    role = Role.objects.create(
        clinic=clinic,
        template=template,
        slug=template.slug,
        name=template.name,
        description=template.description,
    )
    role.permissions.set(template.permissions.all())
    audit_record(
        actor=actor,
        action="role.cloned",
        target_type="role",
        target_ref=role.public_id,
        clinic=clinic,
        metadata={"template": template.slug},
    )
    return role


_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
_REGION_RE = re.compile(r"^[A-Z0-9-]{1,32}$")


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def clinic_settings_clean(
    *, timezone: str, languages: list[str], regions: list[str]
) -> tuple[list[str], list[str]]:
    """Validate a clinic's timezone and normalise its language and region codes (deduplicated,
    regions upper-case); raises ``InvalidClinic`` naming the bad field in ``extra["field"]``."""
    if timezone not in _timezones():
        raise InvalidClinic(f"unknown timezone {timezone!r}", extra={"field": "timezone"})
    if not isinstance(languages, list) or not isinstance(regions, list):
        raise InvalidClinic(
            "languages and regions are lists of codes", extra={"field": "languages"}
        )
    if not all(isinstance(code, str) for code in [*languages, *regions]):
        raise InvalidClinic("codes must be strings", extra={"field": "languages"})
    languages = list(dict.fromkeys(code.strip() for code in languages))
    if not all(_LANGUAGE_RE.match(code) for code in languages):
        raise InvalidClinic(
            "languages must be language codes such as 'en'", extra={"field": "languages"}
        )
    regions = list(dict.fromkeys(code.strip().upper() for code in regions))
    if not all(_REGION_RE.match(code) for code in regions):
        raise InvalidClinic("regions must be region codes such as 'NY'", extra={"field": "regions"})
    return languages, regions


@transaction.atomic
def clinic_create(
    *,
    name: str,
    slug: str,
    timezone: str,
    languages: list[str],
    regions: list[str],
    actor: Actor | User,
) -> Clinic:
    """A new clinic with its own copy of every system role template."""
    languages, regions = clinic_settings_clean(
        timezone=timezone, languages=languages, regions=regions
    )
    if not name.strip():
        raise InvalidClinic("name is required", extra={"field": "name"})
    try:
        validate_slug(slug)
    except ValidationError as exc:
        raise InvalidClinic(
            "slug must be letters, digits, - or _", extra={"field": "slug"}
        ) from exc
    if Clinic.objects.filter(slug=slug).exists():
        raise ClinicSlugTaken(f"slug {slug!r} is taken")
    try:
        with transaction.atomic():
            clinic = Clinic.objects.create(
                name=name.strip(),
                slug=slug,
                timezone=timezone,
                languages=languages,
                regions=regions,
            )
    except IntegrityError as exc:  # a concurrent create won the slug
        raise ClinicSlugTaken(f"slug {slug!r} is taken") from exc
    audit_record(
        actor=actor,
        action="clinic.created",
        target_type="clinic",
        target_ref=clinic.public_id,
        clinic=clinic,
    )
    for template in Role.objects.filter(clinic__isnull=True).order_by("pk"):
        role_clone_for_clinic(template=template, clinic=clinic, actor=actor)
    return clinic


# --- memberships -------------------------------------------------------------------------


@transaction.atomic
def membership_grant(*, user: User, clinic: Clinic, role: Role, actor: Actor | User) -> Membership:
    """Give ``user`` ``role`` in ``clinic`` (one membership per user and clinic: an existing one
    gets the new role and is reactivated)."""
    if role.clinic_id != clinic.pk:
        raise RoleNotInClinic(f"role {role.public_id} is not a role of clinic {clinic.public_id}")
    membership, created = Membership.objects.select_for_update().get_or_create(
        user=user, clinic=clinic, defaults={"role": role}
    )
    previous_role = None if created else membership.role.slug
    if not created:
        membership.role = role
        membership.is_active = True
        membership.revoked_at = None
        membership.save(update_fields=["role", "is_active", "revoked_at", "updated_at"])
    audit_record(
        actor=actor,
        action="membership.granted",
        target_type="membership",
        target_ref=user.public_id,
        patient=user if user.kind == User.Kind.PATIENT else None,
        clinic=clinic,
        metadata={"role": role.slug, "previousRole": previous_role},
    )
    permission_cache_clear(user)
    return membership


@transaction.atomic
def membership_revoke(
    *, membership: Membership, actor: Actor | User, reason: str = ""
) -> Membership:
    """Deactivate a membership (kept for history). Revoking an inactive one changes nothing."""
    locked = (
        Membership.objects.select_for_update()
        .select_related("user", "clinic", "role")
        .get(pk=membership.pk)
    )
    if locked.is_active:
        locked.is_active = False
        locked.revoked_at = timezone_now()
        locked.save(update_fields=["is_active", "revoked_at", "updated_at"])
        audit_record(
            actor=actor,
            action="membership.revoked",
            target_type="membership",
            target_ref=locked.user.public_id,
            patient=locked.user if locked.user.kind == User.Kind.PATIENT else None,
            clinic=locked.clinic,
            reason=reason,
            metadata={"role": locked.role.slug},
        )
    membership.is_active, membership.revoked_at = locked.is_active, locked.revoked_at
    permission_cache_clear(membership.user)
    return membership


# --- consent ledger ----------------------------------------------------------------------

_CONSENT_TRANSITIONS: dict[str, set[str]] = {
    ConsentRecord.Status.PENDING: {ConsentRecord.Status.CONFIRMED, ConsentRecord.Status.REVOKED},
    ConsentRecord.Status.CONFIRMED: {ConsentRecord.Status.REVOKED},
    ConsentRecord.Status.REVOKED: set(),
}


def _announce(consent: ConsentRecord, change: str, actor: Actor) -> None:
    # In the transaction of the change, so what receivers write (an event in the outbox)
    # commits or rolls back with it.
    consent_changed.send(sender=ConsentRecord, consent=consent, change=change, actor=actor)


def _audit_consent(
    consent: ConsentRecord, action: str, actor: Actor, *, reason: str = ""
) -> AuditEvent:
    return audit_record(
        actor=actor,
        action=action,
        target_type="consent",
        target_ref=consent.public_id,
        patient=consent.patient,
        clinic=consent.clinic,
        reason=reason,
        metadata={
            "consentType": consent.consent_type,
            "status": consent.status,
            "sourcePlatform": consent.source_platform,
        },
    )


def consent_record(
    *,
    patient: User,
    consent_type: str,
    text: str,
    language: str,
    source_platform: str = "",
    method: str = "",
    given_at: datetime | None = None,
    scope: dict[str, Any] | None = None,
    clinic: Clinic | None = None,
    status: str = ConsentRecord.Status.CONFIRMED,
    actor: Actor | User,
    metadata: dict[str, Any] | None = None,
) -> ConsentRecord:
    """Add a consent to the ledger, as ``confirmed`` (given now or at ``given_at``) or
    ``pending`` (to be confirmed later, e.g. by the patient replying YES).

    ``text`` is the exact wording shown to the person, in ``language``."""
    actor = _as_actor(actor)
    if consent_type not in ConsentRecord.Type.values:
        raise InvalidConsent(
            f"unknown consent type {consent_type!r}", extra={"field": "consentType"}
        )
    if status not in (ConsentRecord.Status.PENDING, ConsentRecord.Status.CONFIRMED):
        raise InvalidConsent(
            "a consent is recorded as pending or confirmed", extra={"field": "status"}
        )
    if not text.strip():
        raise InvalidConsent("the consent text shown is required", extra={"field": "text"})
    if not language.strip() or len(language) > 8:
        raise InvalidConsent("language must be a language code", extra={"field": "language"})
    now = timezone_now()
    confirmed = status == ConsentRecord.Status.CONFIRMED
    # Validated above and nothing below catches an error: no savepoint is needed when called
    # inside a transaction (a failure is the caller's; saves a SAVEPOINT/RELEASE per call).
    with transaction.atomic(savepoint=False):
        consent = ConsentRecord.objects.create(
            patient=patient,
            clinic=clinic,
            consent_type=consent_type,
            status=status,
            source_platform=source_platform,
            scope=scope or {},
            text=text,
            language=language,
            method=method,
            given_at=given_at or (now if confirmed else None),
            recorded_by=actor.ref[:80],
            confirmed_at=now if confirmed else None,
            confirmed_by=actor.ref[:80] if confirmed else "",
            metadata=metadata or {},
        )
        _audit_consent(consent, "consent.recorded", actor)
        _announce(consent, "recorded", actor)
    return consent


def _transition(consent: ConsentRecord, target: str) -> ConsentRecord:
    locked = ConsentRecord.objects.select_for_update().get(pk=consent.pk)
    if target not in _CONSENT_TRANSITIONS[locked.status]:
        raise InvalidConsentTransition(
            f"consent {locked.public_id} is {locked.status}; it cannot become {target}",
            extra={"currentStatus": locked.status},
        )
    return locked


def _sync(consent: ConsentRecord, locked: ConsentRecord) -> None:
    for field in ("status", "confirmed_at", "confirmed_by", "revoked_at", "revoked_by"):
        setattr(consent, field, getattr(locked, field))
    consent.revocation_reason = locked.revocation_reason
    consent.updated_at = locked.updated_at


@transaction.atomic
def consent_confirm(*, consent: ConsentRecord, actor: Actor | User) -> ConsentRecord:
    """pending → confirmed; anything else raises ``InvalidConsentTransition`` (409)."""
    actor = _as_actor(actor)
    locked = _transition(consent, ConsentRecord.Status.CONFIRMED)
    locked.status = ConsentRecord.Status.CONFIRMED
    locked.confirmed_at = timezone_now()
    locked.confirmed_by = actor.ref[:80]
    if locked.given_at is None:
        locked.given_at = locked.confirmed_at
    locked.save(update_fields=["status", "confirmed_at", "confirmed_by", "given_at", "updated_at"])
    _sync(consent, locked)
    consent.given_at = locked.given_at
    _audit_consent(locked, "consent.confirmed", actor)
    _announce(locked, "confirmed", actor)
    return consent


@transaction.atomic
def consent_revoke(*, consent: ConsentRecord, actor: Actor | User, reason: str) -> ConsentRecord:
    """pending|confirmed → revoked (the record stays in the ledger); revoked raises
    ``InvalidConsentTransition`` (409)."""
    actor = _as_actor(actor)
    locked = _transition(consent, ConsentRecord.Status.REVOKED)
    locked.status = ConsentRecord.Status.REVOKED
    locked.revoked_at = timezone_now()
    locked.revoked_by = actor.ref[:80]
    locked.revocation_reason = reason
    locked.save(
        update_fields=["status", "revoked_at", "revoked_by", "revocation_reason", "updated_at"]
    )
    _sync(consent, locked)
    _audit_consent(locked, "consent.revoked", actor, reason=reason)
    _announce(locked, "revoked", actor)
    return consent


# --- users ---------------------------------------------------------------------------------

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _generated_username(kind: str) -> str:
    return new_public_id(kind[:3])


def user_create(
    *,
    kind: str,
    actor: Actor | User,
    username: str = "",
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    phone: str = "",
    preferred_language: str = "en",
    region: str = "",
    timezone: str = "UTC",
    source: str = "",
    source_lead_id: str = "",
    location_state: str = "",
) -> User:
    """A new user (password unusable unless given). ``phone`` must be E.164."""
    if kind not in User.Kind.values:
        raise InvalidUser(f"unknown user kind {kind!r}", extra={"field": "kind"})
    if phone and not _E164.match(phone):
        raise InvalidUser("phone must be E.164 (+12125550101)", extra={"field": "phone"})
    user = User(
        username=username or _generated_username(kind),
        kind=kind,
        first_name=first_name,
        last_name=last_name,
        email=email.strip(),
        phone=phone,
        preferred_language=preferred_language,
        region=region,
        timezone=timezone,
        source=source,
        source_lead_id=source_lead_id,
        location_state=location_state,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    # Validated above and nothing below catches an error: no savepoint (see consent_record).
    with transaction.atomic(savepoint=False):
        user.save()
        audit_record(
            actor=actor,
            action="user.created",
            target_type="user",
            target_ref=user.public_id,
            patient=user if kind == User.Kind.PATIENT else None,
            metadata={"kind": kind, "source": source},
        )
    return user


def patient_get_or_create(
    *,
    phone: str,
    actor: Actor | User,
    preferred_language: str = "en",
    source: str = "",
    source_lead_id: str = "",
    location_state: str = "",
) -> tuple[User, bool]:
    """The patient with this phone (blind-index lookup), created if missing. Referral source
    fields follow "the first referral wins": an existing patient keeps them, unless empty."""
    if not _E164.match(phone):
        raise InvalidUser("phone must be E.164 (+12125550101)", extra={"field": "phone"})
    # Validated above and nothing below catches an error: no savepoint (see consent_record).
    with transaction.atomic(savepoint=False):
        # FOR NO KEY UPDATE (only non-key columns change): other transactions may still insert
        # rows that reference the patient. A plain FOR UPDATE also blocks their foreign-key
        # checks, and deadlocks a duplicate lead ingest against the lead's welcome SMS.
        existing = (
            User.objects.select_for_update(no_key=True)
            .filter(phone_index=phone_blind_index(phone))
            .first()
        )
        if existing is None:
            user = user_create(
                kind=User.Kind.PATIENT,
                phone=phone,
                preferred_language=preferred_language,
                source=source,
                source_lead_id=source_lead_id,
                location_state=location_state,
                region=location_state,
                actor=actor,
            )
            return user, True
        if not existing.source and source:
            existing.source, existing.source_lead_id = source, source_lead_id
            existing.location_state = existing.location_state or location_state
            existing.save(
                update_fields=["source", "source_lead_id", "location_state", "updated_at"]
            )
            audit_record(
                actor=actor,
                action="user.source_set",
                target_type="user",
                target_ref=existing.public_id,
                patient=existing,
                metadata={"source": source},
            )
        return existing, False
