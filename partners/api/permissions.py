"""Scope checks for partner endpoints, driven by the view's ``required_scopes``.

``required_scopes`` is either one scope for every method or a dict ``{"GET": "read:leads",
"POST": "write:leads"}``; a method missing from the dict is refused. ``None`` on a method means
"any authenticated partner".
"""

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from partners.principal import PartnerPrincipal


class InsufficientScope(exceptions.PermissionDenied):
    problem_code = "insufficient_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"This call needs the scope {scope}.")
        self.problem_extra = {"requiredScope": scope}


def required_scope(view: Any, method: str) -> str | None:
    """The scope ``view`` needs for ``method``; raises ``MethodNotAllowed`` if it has none."""
    declared = getattr(view, "required_scopes", None)
    if isinstance(declared, dict):
        if method.upper() not in declared and method.upper() in ("HEAD", "OPTIONS"):
            return declared.get("GET")
        if method.upper() not in declared:
            raise exceptions.MethodNotAllowed(method)
        return declared[method.upper()]
    return declared


class RequiresScope(BasePermission):
    """A partner credential carrying the view's ``required_scopes`` for this method."""

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, PartnerPrincipal):
            raise exceptions.NotAuthenticated("A partner API key or access token is required.")
        scope = required_scope(view, request.method or "GET")
        if scope is not None and scope not in principal.scopes:
            raise InsufficientScope(scope)
        return True


class IsPlatformAdmin(BasePermission):
    """A CareOS staff user (session) with ``partners.manage_partners``, or a superuser."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        return bool(
            user.is_superuser or (user.is_staff and user.has_perm("partners.manage_partners"))
        )
