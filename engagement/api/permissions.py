import re
from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class SignedIn(BasePermission):
    """Any signed-in user (their own data only, scoped in the view). Anonymous: DRF answers
    ``NotAuthenticated``, a 401 problem with the authenticator's challenge."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated)


_PUBLIC_ID = re.compile(r"[A-Za-z0-9_]{1,40}")


class PublicIdPathMixin:
    """Path ids that cannot be public ids answer 404 before any query (no odd bytes reach the
    database)."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        for name in ("public_id", "clinic_id"):
            value = kwargs.get(name)
            if value is not None and not _PUBLIC_ID.fullmatch(value):
                raise NotFound()
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
