"""rbac reads: permission checks, tenancy scoping, consent and audit lookups.

Permission model (``user_can``):

* Superusers (active) may do everything. Anonymous and inactive users may do nothing.
* Everyone else is clinic-scoped: ``"app.codename"`` is granted in a clinic when the user holds an
  active membership there (in an active clinic) whose role has that permission. Django's own
  user/group permissions are not consulted.
* The object decides the clinic(s):
  - ``None``: any clinic of the user ("may do this somewhere"; scope the rows with
    ``clinics_where``);
  - a ``Clinic``: that clinic;
  - a ``User``: the clinics where that user is a patient: an active membership whose role slug
    is ``"patient"`` (clinic roles keep their template's slug), or a care relationship a higher
    app registered (``rbac.scoping``: a booking, a ticket, a lead routed to the clinic);
  - anything with ``clinic_id``/``clinic`` set: that clinic; when that is empty, the clinics of
    its ``patient`` (a FK to the user model), as for a ``User``;
  - anything else: no clinic, so only superusers.
* Object-level: a user may always *read* (``view_*`` permissions) their own records: the object
  is the user, or its ``patient``/``owner``/``user`` FK (to the user model) is the user.

The user's clinic→permissions map is loaded with one query and cached on the user instance (one
request), so checking many objects costs no further queries (objects resolved through a patient
cost one query per distinct patient, also cached). Services that change memberships
clear it on the instance they are given (``permission_cache_clear``).
"""

import re
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q, QuerySet

from rbac.errors import PatientNotInClinic
from rbac.models import (
    AuditEvent,
    Clinic,
    ConsentRecord,
    Membership,
    Role,
    User,
    email_blind_index,
    phone_blind_index,
)
from rbac.roles import PATIENT, split_permission
from rbac.scoping import patient_relationships, scoping_cache_clear

_PERMS_CACHE = "_rbac_clinic_permissions"
_PATIENT_CLINICS_CACHE = "_rbac_patient_clinic_ids"
_OWNER_FIELDS = ("patient", "owner", "user")


def clinic_permissions(user: User) -> dict[int, frozenset[str]]:
    """``{clinic_pk: {"app.codename", ...}}`` from the user's active memberships (cached)."""
    cached = getattr(user, _PERMS_CACHE, None)
    if cached is not None:
        return cached
    grants: dict[int, set[str]] = {}
    rows = Membership.objects.filter(user=user, is_active=True, clinic__is_active=True).values_list(
        "clinic_id",
        "role__permissions__content_type__app_label",
        "role__permissions__codename",
    )
    for clinic_id, app_label, codename in rows:
        perms = grants.setdefault(clinic_id, set())
        if codename:
            perms.add(f"{app_label}.{codename}")
    result = {clinic_id: frozenset(perms) for clinic_id, perms in grants.items()}
    setattr(user, _PERMS_CACHE, result)
    return result


def permission_cache_clear(user: User) -> None:
    for attr in (_PERMS_CACHE, _PATIENT_CLINICS_CACHE):
        if hasattr(user, attr):
            delattr(user, attr)
    scoping_cache_clear(user)


def patient_clinic_ids(patient_id: int) -> frozenset[int]:
    """The active clinics the user ``patient_id`` is a patient of: an active membership with the
    patient role, or a relationship a higher app registered (``rbac.scoping``: a booking, a
    ticket, a lead routed to the clinic)."""
    q = Q(
        pk__in=Membership.objects.filter(
            user_id=patient_id, is_active=True, role__slug=PATIENT
        ).values("clinic_id")
    )
    for relationship in patient_relationships():
        q |= Q(pk__in=relationship.clinic_ids(patient_id))
    return frozenset(
        Clinic.objects.filter(q, is_active=True).values_list("pk", flat=True).order_by()
    )


def patient_in_clinic(*, patient: User, clinic: Clinic) -> bool:
    """Whether ``patient`` has a care relationship with ``clinic`` (the one ``user_can``
    follows: see ``patient_clinic_ids``)."""
    return patient.kind == User.Kind.PATIENT and clinic.pk in patient_clinic_ids(patient.pk)


def patient_clinic_require(*, patient: User, clinic: Clinic) -> None:
    """Raise ``PatientNotInClinic`` (a 404: another clinic's patient is not confirmed to
    exist) unless ``patient`` is a patient of ``clinic``. Every service that acts on a patient
    on a clinic's behalf calls it, so no caller can skip the check."""
    if not patient_in_clinic(patient=patient, clinic=clinic):
        raise PatientNotInClinic()


def patient_by_public_id(public_id: str) -> User | None:
    """The patient with this public id (any clinic's: follow with ``patient_clinic_require``)."""
    return User.objects.filter(public_id=public_id, kind=User.Kind.PATIENT).first()


def _cached_patient_clinic_ids(checker: User, patient_id: int) -> frozenset[int]:
    cache: dict[int, frozenset[int]] | None = getattr(checker, _PATIENT_CLINICS_CACHE, None)
    if cache is None:
        cache = {}
        setattr(checker, _PATIENT_CLINICS_CACHE, cache)
    if patient_id not in cache:
        cache[patient_id] = patient_clinic_ids(patient_id)
    return cache[patient_id]


def _user_fk_id(obj: Any, name: str) -> int | None:
    """The id of the ``User`` that ``obj.<name>`` points to, or ``None``. On models only a
    forward FK to the user model counts (an ``owner`` FK to a partner is not a user)."""
    meta = getattr(obj, "_meta", None)
    if meta is not None:
        try:
            field = meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if not (field.concrete and (field.many_to_one or field.one_to_one)):
            return None
        if field.related_model is not User:
            return None
        return getattr(obj, field.attname)
    value = getattr(obj, name, None)
    return value.pk if isinstance(value, User) else None


def _object_clinic_ids(checker: User, obj: Any) -> Iterable[int]:
    if isinstance(obj, Clinic):
        return (obj.pk,)
    if isinstance(obj, User):
        return _cached_patient_clinic_ids(checker, obj.pk)
    clinic_id = getattr(obj, "clinic_id", None)
    if clinic_id is None:
        clinic = getattr(obj, "clinic", None)
        clinic_id = clinic.pk if isinstance(clinic, Clinic) else None
    if clinic_id is not None:
        return (clinic_id,)
    patient_id = _user_fk_id(obj, "patient")
    if patient_id is not None:
        return _cached_patient_clinic_ids(checker, patient_id)
    return ()


def _is_own_record(user: User, obj: Any) -> bool:
    if isinstance(obj, User):
        return obj.pk == user.pk
    return any(_user_fk_id(obj, name) == user.pk for name in _OWNER_FIELDS)


def _is_read(permission: str) -> bool:
    return split_permission(permission)[1].startswith("view_")


def user_can(user: User | AnonymousUser | None, permission: str, obj: Any = None) -> bool:
    """Whether ``user`` holds ``permission`` (``"app.codename"``) for ``obj`` (see module doc)."""
    split_permission(permission)
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    assert isinstance(user, User)
    if user.is_superuser:
        return True
    if obj is not None and _is_read(permission) and _is_own_record(user, obj):
        return True
    grants = clinic_permissions(user)
    if obj is None:
        return any(permission in perms for perms in grants.values())
    return any(
        permission in grants.get(clinic_id, ()) for clinic_id in _object_clinic_ids(user, obj)
    )


def clinics_where(user: User | AnonymousUser | None, permission: str) -> QuerySet[Clinic]:
    """The active clinics where ``user`` holds ``permission``: scope tenant querysets with it
    (``Ticket.objects.filter(clinic__in=clinics_where(user, "support.view_ticket"))``)."""
    app_label, codename = split_permission(permission)
    if user is None or not user.is_authenticated or not user.is_active:
        return Clinic.objects.none()
    if user.is_superuser:
        return Clinic.objects.filter(is_active=True)
    return Clinic.objects.filter(
        is_active=True,
        pk__in=Membership.objects.filter(
            user=user,
            is_active=True,
            role__permissions__codename=codename,
            role__permissions__content_type__app_label=app_label,
        ).values("clinic_id"),
    )


def scope_to_user(
    queryset: QuerySet,
    user: User | AnonymousUser | None,
    permission: str,
    *,
    clinic_field: str = "clinic",
    own_field: str | None = None,
) -> QuerySet:
    """``queryset`` cut down to what ``user`` may see with ``permission``: rows whose
    ``clinic_field`` is one of ``clinics_where(user, permission)``, plus (for ``view_*``
    permissions, when ``own_field`` names the row's patient/owner FK) the user's own rows.
    Superusers see everything; anonymous users nothing. Use it in selectors, so another
    tenant's object is simply not found (404)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_superuser:
        return queryset
    q = Q(**{f"{clinic_field}__in": clinics_where(user, permission)})
    if own_field is not None and _is_read(permission):
        q |= Q(**{own_field: user})
    return queryset.filter(q)


def role_templates() -> QuerySet[Role]:
    return Role.objects.filter(clinic__isnull=True).prefetch_related("permissions")


def memberships_for_user(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user, is_active=True).select_related("clinic", "role")


def consents_for_patient(patient: User) -> QuerySet[ConsentRecord]:
    """Every consent of ``patient``, newest first (revoked ones included: it is a ledger)."""
    return (
        ConsentRecord.objects.filter(patient=patient)
        .select_related("clinic")
        .order_by("-created_at", "-pk")
    )


def active_consent(
    patient: User,
    consent_type: str,
    *,
    clinic: Clinic | None = None,
    source_platform: str | None = None,
) -> ConsentRecord | None:
    """The newest confirmed (not revoked) consent of this type, or ``None``.

    ``clinic``: a consent for that clinic or one without a clinic (covers all).
    ``source_platform``: only consents given on that platform.
    """
    qs = ConsentRecord.objects.filter(
        patient=patient, consent_type=consent_type, status=ConsentRecord.Status.CONFIRMED
    )
    if clinic is not None:
        qs = qs.filter(Q(clinic=clinic) | Q(clinic__isnull=True))
    if source_platform is not None:
        qs = qs.filter(source_platform=source_platform)
    return qs.order_by("-confirmed_at", "-pk").first()


def audit_events_for_patient(patient: User) -> QuerySet[AuditEvent]:
    """Who did or read what on ``patient``'s data, newest first."""
    return (
        AuditEvent.objects.filter(patient=patient)
        .select_related("actor_user", "clinic")
        .order_by("-occurred_at", "-pk")
    )


def audit_events_for_clinic(clinic: Clinic) -> QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(clinic=clinic)
        .select_related("actor_user", "patient")
        .order_by("-occurred_at", "-pk")
    )


def user_by_phone(phone_e164: str) -> User | None:
    """Exact lookup through the blind index (the phone column itself is encrypted)."""
    return User.objects.filter(phone_index=phone_blind_index(phone_e164)).first()


def user_by_email(email: str) -> User | None:
    return User.objects.filter(email_index=email_blind_index(email)).first()


_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_PHONE = re.compile(r"\+?\d{6,15}")


def contact_match_q(term: str, *, prefix: str = "") -> Q | None:
    """A filter matching users (at ``prefix``, e.g. ``"patient__"``) whose phone or email is
    exactly ``term``, through the blind indexes; ``None`` when ``term`` is neither.

    Phones: separators are ignored and a missing ``+`` is added (``1 (212) 555-0101`` →
    ``+12125550101``); the country code must be typed. Emails are case-insensitive."""
    term = term.strip()
    if "@" in term:
        return Q(**{f"{prefix}email_index": email_blind_index(term)})
    digits = _PHONE_SEPARATORS.sub("", term)
    if _PHONE.fullmatch(digits):
        phone = digits if digits.startswith("+") else f"+{digits}"
        return Q(**{f"{prefix}phone_index": phone_blind_index(phone)})
    return None
