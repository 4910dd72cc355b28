"""Which clinics a user may work tickets in (rbac role permissions, clinic-scoped)."""

from rbac.models import User
from rbac.selectors import clinics_where

WORK = "support.work_ticket"
SUPERVISE = "support.supervise_ticket"


def agent_clinic_ids(user: User, *, permission: str = WORK) -> set[int]:
    """Clinic pks where ``user`` holds ``permission``; cached on the instance for one request."""
    cache = user.__dict__.setdefault("_support_clinic_ids", {})
    if permission not in cache:
        cache[permission] = set(clinics_where(user, permission).values_list("pk", flat=True))
    return cache[permission]


def agent_can(user: User, *, clinic_id: int, permission: str = WORK) -> bool:
    return clinic_id in agent_clinic_ids(user, permission=permission)
