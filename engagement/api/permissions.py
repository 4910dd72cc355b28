from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from rbac.api.permissions import AuthenticationRequired


class SignedIn(BasePermission):
    """Any signed-in user (their own data only, scoped in the view): anonymous → 401."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            header = view.get_authenticate_header(request) or 'Session realm="careos"'
            raise AuthenticationRequired(header)
        return True
