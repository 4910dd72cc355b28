"""Who is platform staff, which people a clinic has, and the rows a staff member may see.

* **Platform staff** see every clinic: active superusers, and active staff users (``is_staff``)
  in the ``platform`` group (``rbac.roles.PLATFORM``). Nobody else is platform staff, whatever
  Django permissions they hold.
* **Clinic staff** hold an active membership, in an active clinic, whose role is not the
  patient role: that opens the console, and their clinic roles decide what they see there.
* **A clinic's people**: users with an active membership there (staff and patients), and
  patients with a relationship to it that a higher app declares with
  ``patient_relationship_register`` (a booking, a ticket, a lead routed to the clinic). rbac
  imports none of those apps: they register their model by label in ``AppConfig.ready``.

``rows_in_clinics`` is the one filter the console (``rbac.console``) applies to every admin:
a row is visible when its clinic (``clinic_field``) is one of the clinics, or, for admins that
allow it, when it has no clinic and is about (``person_field``) one of those clinics' people.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from rbac.models import Membership, User
from rbac.roles import PATIENT, PLATFORM

_PLATFORM_CACHE = "_rbac_is_platform_staff"
_CONSOLE_CACHE = "_rbac_console_clinic_ids"


@dataclass(frozen=True)
class PatientRelationship:
    """Rows of ``model_label`` tie the user at ``patient_field`` to the clinic at
    ``clinic_field``."""

    model_label: str
    patient_field: str
    clinic_field: str

    def patient_ids(self, clinic_ids: QuerySet | Iterable[int]) -> QuerySet:
        model = apps.get_model(self.model_label)
        return model._default_manager.filter(**{f"{self.clinic_field}__in": clinic_ids}).values(
            self.patient_field
        )

    def clinic_ids(self, patient_id: int) -> QuerySet:
        """A subquery of the clinic ids of ``patient_id``'s rows."""
        model = apps.get_model(self.model_label)
        return model._default_manager.filter(
            **{self.patient_field: patient_id, f"{self.clinic_field}__isnull": False}
        ).values(self.clinic_field)


_RELATIONSHIPS: dict[str, PatientRelationship] = {}


def patient_relationship_register(
    *, model_label: str, patient_field: str, clinic_field: str
) -> None:
    """Declare that a row of ``model_label`` makes its patient one of its clinic's people."""
    relationship = PatientRelationship(model_label, patient_field, clinic_field)
    _RELATIONSHIPS[f"{model_label}:{patient_field}:{clinic_field}"] = relationship


def patient_relationships() -> list[PatientRelationship]:
    return list(_RELATIONSHIPS.values())


def is_platform_staff(user: User | AnonymousUser | None) -> bool:
    """Active superusers, and active ``is_staff`` users in the ``platform`` group (cached on
    the user instance for the request)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    cached = getattr(user, _PLATFORM_CACHE, None)
    if cached is None:
        cached = bool(
            user.is_superuser or (user.is_staff and user.groups.filter(name=PLATFORM).exists())
        )
        setattr(user, _PLATFORM_CACHE, cached)
    return cached


def console_clinic_ids(user: User | AnonymousUser | None) -> frozenset[int]:
    """Clinics where ``user`` holds an active staff (non-patient) membership (cached)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, _CONSOLE_CACHE, None)
    if cached is None:
        cached = frozenset(
            Membership.objects.filter(user=user, is_active=True, clinic__is_active=True)
            .exclude(role__slug=PATIENT)
            .values_list("clinic_id", flat=True)
        )
        setattr(user, _CONSOLE_CACHE, cached)
    return cached


def scoping_cache_clear(user: User) -> None:
    for attr in (_PLATFORM_CACHE, _CONSOLE_CACHE):
        if hasattr(user, attr):
            delattr(user, attr)


def clinic_people_q(clinic_ids: QuerySet | Iterable[int], *, field: str = "pk") -> Q:
    """Rows whose user (``field``) is one of these clinics' people (see the module doc)."""
    q = Q(
        **{
            f"{field}__in": Membership.objects.filter(clinic__in=clinic_ids, is_active=True).values(
                "user_id"
            )
        }
    )
    for relationship in _RELATIONSHIPS.values():
        q |= Q(**{f"{field}__in": relationship.patient_ids(clinic_ids)})
    return q


def rows_in_clinics(
    queryset: QuerySet,
    clinic_ids: QuerySet | Iterable[int],
    *,
    clinic_field: str | None,
    person_field: str | None = None,
    person_when_no_clinic: bool = False,
) -> QuerySet:
    """``queryset`` cut down to rows of these clinics (see the module doc). ``clinic_field``
    ``None``: rows are matched through ``person_field`` only (a user, an opt-out)."""
    if clinic_field is None:
        if person_field is None:
            return queryset.none()
        return queryset.filter(clinic_people_q(clinic_ids, field=person_field))
    q = Q(**{f"{clinic_field}__in": clinic_ids})
    if person_field is not None and person_when_no_clinic:
        q |= Q(**{f"{clinic_field}__isnull": True}) & clinic_people_q(
            clinic_ids, field=person_field
        )
    return queryset.filter(q)
