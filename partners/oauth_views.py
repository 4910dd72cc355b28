"""OAuth endpoint overrides: introspection answers only for the caller's own tokens; the token
endpoint refuses the grant types the platform does not offer."""

import base64
import binascii
import hashlib
from typing import Any
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider.models import AccessToken
from oauth2_provider.views import IntrospectTokenView, TokenView
from oauthlib.oauth2.rfc6749.errors import UnsupportedGrantTypeError

from partners.oauth import GRANT_TYPES


def _client_id_of(request: HttpRequest) -> str | None:
    """The client that authenticated this call (already verified by the view's mixin)."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return unquote_plus(decoded.partition(":")[0])
    if scheme.lower() == "bearer":
        checksum = hashlib.sha256(value.strip().encode()).hexdigest()
        return (
            AccessToken.objects.filter(token_checksum=checksum)
            .values_list("application__client_id", flat=True)
            .first()
        )
    return request.POST.get("client_id") or None


class PartnerIntrospectTokenView(IntrospectTokenView):
    """RFC 7662 introspection; a client learns about its own tokens only (others: inactive)."""

    def _answer(self, request: HttpRequest, token_value: str | None) -> JsonResponse:
        if token_value is not None:
            checksum = hashlib.sha256(token_value.encode()).hexdigest()
            owner = (
                AccessToken.objects.filter(token_checksum=checksum)
                .values_list("application__client_id", flat=True)
                .first()
            )
            if owner is not None and owner != _client_id_of(request):
                return JsonResponse({"active": False})
        return self.get_token_response(token_value)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return self._answer(request, request.GET.get("token"))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return self._answer(request, request.POST.get("token"))


class PartnerTokenView(TokenView):
    """The token endpoint, for the grants in ``partners.oauth.GRANT_TYPES`` only. Others (the
    device-code grant django-oauth-toolkit would try, password, unknown ones) are answered
    ``unsupported_grant_type`` as RFC 6749 §5.2 says."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        grant_type = request.POST.get("grant_type")
        if grant_type and grant_type not in GRANT_TYPES:
            error = UnsupportedGrantTypeError()
            response = HttpResponse(
                error.json, status=error.status_code, content_type="application/json"
            )
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
            return response
        return super().post(request, *args, **kwargs)
