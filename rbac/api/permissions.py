"""DRF permission class on top of ``rbac.selectors.user_can``."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from rbac.roles import split_permission
from rbac.selectors import user_can


class HasClinicPermission(BasePermission):
    """Grants access when the user holds the view's permission in a clinic.

    The view declares ``required_permission = "support.view_ticket"`` (or, per HTTP method,
    ``required_permissions = {"GET": "support.view_ticket", "POST": "support.add_ticket"}``;
    a method missing there is refused). ``has_permission`` asks "in any of the user's clinics";
    ``has_object_permission`` asks for the object's clinic (``user_can(user, perm, obj)``).
    Anonymous → 401, lacking the permission → 403. Querysets must still be scoped in the selector
    (``rbac.selectors.scope_to_user`` / ``clinics_where``) so another tenant's object is a 404
    before this is consulted.

    Views that also serve people their own records (a patient reading their consents) set
    ``allow_own_records = True``: for ``view_*`` permissions ``has_permission`` then admits any
    authenticated user, and the selector must scope with ``scope_to_user(..., own_field=...)``;
    object checks still apply.
    """

    message = "You do not have permission to do this."

    @staticmethod
    def required(request: Request, view: APIView) -> str | None:
        per_method: dict[str, str] | None = getattr(view, "required_permissions", None)
        if per_method is not None:
            return per_method.get(request.method or "")
        permission: str | None = getattr(view, "required_permission", None)
        if permission is None:
            raise TypeError(
                f"{type(view).__name__} uses HasClinicPermission without required_permission"
            )
        return permission

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False  # DRF raises NotAuthenticated: a 401 problem with a challenge
        permission = self.required(request, view)
        if permission is None:
            return False
        if getattr(view, "allow_own_records", False) and split_permission(permission)[1].startswith(
            "view_"
        ):
            return True
        return user_can(request.user, permission)

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        permission = self.required(request, view)
        return permission is not None and user_can(request.user, permission, obj)
