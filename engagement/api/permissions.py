from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class SignedIn(BasePermission):
    """Any signed-in user (their own data only, scoped in the view): anonymous → 401."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            raise NotAuthenticated()  # the kernel's handler answers 401 with a challenge
        return True
