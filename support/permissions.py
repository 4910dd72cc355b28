"""Which clinics a user may work tickets in, from rbac memberships and role permissions."""

from django.db.models import Q

from rbac.models import Membership, User

WORK = "support.work_ticket"
SUPERVISE = "support.supervise_ticket"


def agent_clinic_ids(user: User, *, permission: str = WORK) -> set[int]:
    """Clinic pks where ``user`` holds ``permission`` through an active membership's role."""
    if not user.is_authenticated:
        return set()
    app_label, codename = permission.split(".", 1)
    rows = Membership.objects.filter(
        Q(user=user, is_active=True),
        role__permissions__content_type__app_label=app_label,
        role__permissions__codename=codename,
    ).values_list("clinic_id", flat=True)
    return set(rows)


def agent_can(user: User, *, clinic_id: int, permission: str = WORK) -> bool:
    return clinic_id in agent_clinic_ids(user, permission=permission)
