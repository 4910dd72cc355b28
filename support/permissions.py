"""Which support desks a user works: clinics where an rbac role grants the permission, and the
platform's partner-support desk (rows with no clinic) for CareOS staff."""

from dataclasses import dataclass

from django.db.models import Q

from rbac.models import User
from rbac.selectors import clinics_where

WORK = "support.work_ticket"
SUPERVISE = "support.supervise_ticket"
# A global permission (the user's or a group's, given in the admin), never a clinic role's.
PLATFORM = "support.work_platform_ticket"


def agent_clinic_ids(user: User, *, permission: str = WORK) -> set[int]:
    """Clinic pks where ``user`` holds ``permission``; cached on the instance for one request."""
    cache = user.__dict__.setdefault("_support_clinic_ids", {})
    if permission not in cache:
        cache[permission] = set(clinics_where(user, permission).values_list("pk", flat=True))
    return cache[permission]


def works_platform_desk(user: User) -> bool:
    """CareOS staff who work partners' tickets to the platform: a superuser, or an active staff
    user holding ``support.work_platform_ticket`` itself (clinic staff, whatever their clinic
    roles, do not)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.has_perm(PLATFORM)


@dataclass(frozen=True)
class Desks:
    """The desks an agent works: ``clinic_ids``, and ``platform`` (rows with no clinic)."""

    clinic_ids: frozenset[int]
    platform: bool

    def q(self, field: str = "clinic") -> Q:
        """Rows of these desks, through the row's ``field`` foreign key to the clinic."""
        rows = Q(**{f"{field}__in": self.clinic_ids})
        return rows | Q(**{f"{field}__isnull": True}) if self.platform else rows

    def covers(self, clinic_id: int | None) -> bool:
        return self.platform if clinic_id is None else clinic_id in self.clinic_ids

    def __bool__(self) -> bool:
        return self.platform or bool(self.clinic_ids)


def agent_desks(user: User, *, permission: str = WORK) -> Desks:
    return Desks(
        clinic_ids=frozenset(agent_clinic_ids(user, permission=permission)),
        platform=works_platform_desk(user),
    )


def agent_can(user: User, *, clinic_id: int | None, permission: str = WORK) -> bool:
    """Whether ``user`` works tickets of that clinic's desk (``None``: the platform's)."""
    return agent_desks(user, permission=permission).covers(clinic_id)
