"""Base classes for partner-facing views (other apps' partner endpoints use them too)."""

from rest_framework.views import APIView

from partners.api.authentication import PartnerAuthentication
from partners.api.permissions import RequiresScope


class PartnerAPIView(APIView):
    """Authenticated by a partner credential; set ``required_scopes`` on the subclass."""

    authentication_classes = [PartnerAuthentication]
    permission_classes = [RequiresScope]
    required_scopes: str | dict[str, str | None] | None = None
