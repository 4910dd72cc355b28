"""OAuth endpoint overrides: introspection answers only for the caller's own tokens and
challenges callers that fail to authenticate; the token endpoint refuses the grant types the
platform does not offer; the RFC 8414 metadata document."""

import base64
import binascii
import hashlib
import json
from typing import Any
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider.models import AccessToken
from oauth2_provider.views import IntrospectTokenView, TokenView
from oauth2_provider.views.metadata import OAuthServerMetadataView
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749.errors import UnsupportedGrantTypeError

from partners.oauth import CLIENT_CHALLENGE, GRANT_TYPES, REALM
from partners.scopes import grantable_scopes


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

    def unauthenticated_response(
        self, request: HttpRequest, oauthlib_request: OAuthlibRequest | None = None
    ) -> JsonResponse:
        """RFC 7662 §2.3: a caller that does not authenticate gets a 401 whose challenge is
        the scheme it tried: Bearer for a token (RFC 6750 §3), else client authentication
        (Basic, RFC 6749 §5.2). DOT answers an empty 403."""
        scheme = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")[0].lower()
        if scheme == "bearer":
            oauth2_error = getattr(oauthlib_request, "oauth2_error", None) or {}
            error = oauth2_error.get("error", "invalid_token")
            body = {"error": error, "error_description": "Introspection needs client credentials."}
            challenge = f'Bearer realm="{REALM}", error="{error}"'
        else:
            body = {"error": "invalid_client", "error_description": "Client authentication failed."}
            challenge = CLIENT_CHALLENGE
        response = JsonResponse(body, status=401)
        response["WWW-Authenticate"] = challenge
        response["Cache-Control"] = "no-store"
        return response

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


class PartnerServerMetadataView(OAuthServerMetadataView):
    """RFC 8414 ``/.well-known/oauth-authorization-server``: DOT's document (issuer and endpoint
    URLs from ``PUBLIC_BASE_URL``, grant and response types from the settings) with the
    scopes a partner's client can be granted and how each endpoint authenticates clients."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        document = json.loads(super().get(request, *args, **kwargs).content)
        # DOT asks the scopes backend without a client, which grants nothing (fail closed).
        document["scopes_supported"] = grantable_scopes()
        # Public clients have no secret to introspect with.
        if "introspection_endpoint" in document:
            document["introspection_endpoint_auth_methods_supported"] = [
                "client_secret_basic",
                "client_secret_post",
            ]
        response = JsonResponse(document)
        response["Access-Control-Allow-Origin"] = "*"
        return response
