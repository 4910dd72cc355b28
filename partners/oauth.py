"""django-oauth-toolkit wiring: scopes from the catalog, PKCE for public clients, and where
oauthlib's answers differ from the RFCs: ``invalid_client`` challenges with the client
authentication scheme (Basic, RFC 6749 §5.2), a missing ``grant_type`` is ``invalid_request``,
and a replayed authorization code revokes the tokens issued from it (RFC 6749 §4.1.2)."""

from typing import Any, NoReturn

from django.http import HttpRequest
from oauth2_provider.models import Application, Grant
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError, OAuth2Error

from partners.scopes import SCOPES
from partners.services.oauth_codes import (
    AuthorizationCodeAlreadyRedeemed,
    authorization_code_redeem,
    authorization_code_replay,
)

REALM = "CareOS"
# What RFC 6749 §5.1/§5.2 ask of every token endpoint answer.
_JSON_NO_STORE = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
}

# The grants the token endpoint accepts (RFC 9700: no implicit or password grant; no device flow).
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")


def _client_scopes(application: Application | None) -> list[str]:
    client = getattr(application, "partner_client", None) if application is not None else None
    if client is None or client.revoked_at is not None:
        return []
    return list(client.scopes)


class CatalogScopes(BaseScopes):
    """Scopes are the catalog's; a client may be granted only the scopes it was approved for."""

    def get_all_scopes(self) -> dict[str, str]:
        return {name: str(text) for name, text in SCOPES.items()}

    def get_available_scopes(
        self, application: Application | None = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return _client_scopes(application)

    def get_default_scopes(
        self, application: Application | None = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return _client_scopes(application)


def pkce_required(client_id: str) -> bool:
    """PKCE is required for public clients (and for unknown ids, to fail closed)."""
    client_type = (
        Application.objects.filter(client_id=client_id)
        .values_list("client_type", flat=True)
        .first()
    )
    return client_type != Application.CLIENT_CONFIDENTIAL


# The ``WWW-Authenticate`` of an ``invalid_client`` 401: client authentication is HTTP Basic (or
# client_secret_post, which has no HTTP scheme to name).
CLIENT_CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'


OAuthlibResponse = tuple[str | None, dict[str, str], str, int]


def _error(error: OAuth2Error) -> OAuthlibResponse:
    return None, {**_JSON_NO_STORE, **error.headers}, error.json, error.status_code


def _conformant(response: OAuthlibResponse) -> OAuthlibResponse:
    """Every error as JSON, not cached (DOT drops oauthlib's headers for errors raised outside
    a grant's validation); ``invalid_client`` challenged with Basic, where oauthlib answers
    Bearer, the resource-server scheme the client did not (and could not) use."""
    uri, headers, body, status = response
    if status < 400:
        return response
    headers = {**_JSON_NO_STORE, **headers}
    if status == 401:
        headers = {k: v for k, v in headers.items() if k.lower() != "www-authenticate"}
        headers["WWW-Authenticate"] = CLIENT_CHALLENGE
    return uri, headers, body, status


class PartnerOAuthLibCore(OAuthLibCore):
    """The token and revocation endpoints' answers, as RFC 6749 §5.2 spells them."""

    def create_token_response(self, request: HttpRequest) -> OAuthlibResponse:
        # oauthlib sends a request without grant_type to the authorization-code grant, which
        # answers unsupported_grant_type; the parameter is missing, not unsupported.
        if not request.POST.get("grant_type"):
            return _error(InvalidRequestError(description="Missing grant_type parameter."))
        return _conformant(super().create_token_response(request))

    def create_revocation_response(self, request: HttpRequest) -> OAuthlibResponse:
        return _conformant(super().create_revocation_response(request))


class PartnerOAuth2Validator(OAuth2Validator):
    """DOT's validator, with authorization codes consumed in the transaction that saves their
    tokens and remembered (partners.services.oauth_codes), so a second use revokes them."""

    def validate_code(
        self,
        client_id: str,
        code: str,
        client: Application,
        request: OAuthlibRequest,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        if super().validate_code(client_id, code, client, request, *args, **kwargs):
            return True
        authorization_code_replay(code=code)
        return False

    # Between validate_code and the token, a concurrent request may consume the code: DOT then
    # fails to find the grant (a 500); it is that request's replay.

    def _redeemed_meanwhile(self, request: OAuthlibRequest) -> NoReturn:
        authorization_code_replay(code=request.code)
        raise InvalidGrantError(request=request)

    def confirm_redirect_uri(
        self,
        client_id: str,
        code: str,
        redirect_uri: str,
        client: Application,
        request: OAuthlibRequest,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        try:
            return super().confirm_redirect_uri(
                client_id, code, redirect_uri, client, request, *args, **kwargs
            )
        except Grant.DoesNotExist:
            self._redeemed_meanwhile(request)

    def get_code_challenge(self, code: str, request: OAuthlibRequest) -> str | None:
        try:
            return super().get_code_challenge(code, request)
        except Grant.DoesNotExist:
            self._redeemed_meanwhile(request)

    def get_code_challenge_method(self, code: str, request: OAuthlibRequest) -> str | None:
        try:
            return super().get_code_challenge_method(code, request)
        except Grant.DoesNotExist:
            self._redeemed_meanwhile(request)

    def save_bearer_token(
        self, token: dict[str, Any], request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> Any:
        try:
            return super().save_bearer_token(token, request, *args, **kwargs)
        except AuthorizationCodeAlreadyRedeemed:
            # A concurrent request exchanged the same code first: a replay too.
            authorization_code_replay(code=request.code)
            raise InvalidGrantError(request=request) from None

    def _save_bearer_token(
        self, token: dict[str, Any], request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> None:
        super()._save_bearer_token(token, request, *args, **kwargs)
        if request.grant_type == "authorization_code":
            authorization_code_redeem(
                code=request.code, application=request.client, access_token=token["access_token"]
            )

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> None:
        if request.grant_type == "authorization_code":
            return  # consumed already, with the tokens (_save_bearer_token)
        super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)
