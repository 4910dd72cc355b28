"""Who may call the ticket endpoints: requesters (a signed-in user, or a partner credential
with ``read:support``/``write:support``) and agents (``support.work_ticket`` in the clinic, or
CareOS staff on the platform's partner-support desk)."""

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from partners.api.permissions import RequiresScope
from partners.principal import PartnerPrincipal
from rbac.api.permissions import HasClinicPermission
from support.permissions import WORK, works_platform_desk

READ_SCOPE = "read:support"
WRITE_SCOPE = "write:support"


def partner_principal(request: Request) -> PartnerPrincipal | None:
    return request.auth if isinstance(request.auth, PartnerPrincipal) else None


class IsRequester(BasePermission):
    """A signed-in user, or a partner credential holding the method's support scope."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if partner_principal(request) is not None:
            view.required_scopes = {
                method: READ_SCOPE if method in SAFE_METHODS else WRITE_SCOPE
                for method in ("GET", "HEAD", "OPTIONS", "POST", "PATCH", "PUT", "DELETE")
            }
            return RequiresScope().has_permission(request, view)
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()  # the kernel answers 401 with a challenge
        return True


class IsAgent(HasClinicPermission):
    """A signed-in user holding ``support.work_ticket`` in at least one clinic, or CareOS staff
    working the platform's partner-support desk (anonymous: 401). The ticket itself is looked
    up in the user's desks only, so another desk's is 404."""

    def has_permission(self, request: Request, view: Any) -> bool:
        view.required_permission = WORK
        if super().has_permission(request, view):
            return True
        return bool(request.user and works_platform_desk(request.user))
