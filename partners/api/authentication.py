"""DRF authentication for partner credentials: API keys and OAuth 2.0 access tokens.

``request.user`` stays ``AnonymousUser``: a partner is not a user, so user-based checks
(``IsAuthenticated``, Django permissions, staff flags) can never grant a partner anything by
accident. Partner views use :class:`partners.api.permissions.RequiresScope`, which reads
``request.auth`` — a :class:`partners.principal.PartnerPrincipal`.

After the credential is resolved, the request is counted and rate limited (one Redis round trip,
see ``partners.ratelimit``); over the limit the request is answered 429 ``rate_limited``.
"""

import hashlib
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from careos.actors import Actor
from partners import principal_cache, ratelimit
from partners.access import AccessDenial, access_denial_for
from partners.models import Partner
from partners.principal import PartnerPrincipal
from partners.selectors import access_token_for, api_key_for_secret
from partners.services.credentials import api_key_hash, looks_like_api_key


class CredentialsInvalid(exceptions.AuthenticationFailed):
    problem_code = "credentials_invalid"
    default_detail = "The credential is unknown or revoked."


class CredentialsExpired(exceptions.AuthenticationFailed):
    problem_code = "credentials_expired"
    default_detail = "The credential has expired."


class PartnerSuspended(exceptions.PermissionDenied):
    problem_code = "partner_suspended"
    default_detail = "This partner account is suspended."


class PartnerInactive(exceptions.PermissionDenied):
    problem_code = "partner_inactive"
    default_detail = "This partner account is not active."


class AccessDenied(exceptions.PermissionDenied):
    """A registered access check (``partners.access``) refused the partner."""

    def __init__(self, denial: AccessDenial) -> None:
        super().__init__(denial.detail)
        self.problem_code = denial.code


class PlatformMismatch(exceptions.PermissionDenied):
    problem_code = "platform_mismatch"
    default_detail = "X-Platform does not match the partner of this credential."


class RateLimited(exceptions.Throttled):
    problem_code = "rate_limited"


def _credential_from_headers(request: Request) -> str | None:
    api_key = request.META.get("HTTP_X_API_KEY", "").strip()
    if api_key:
        return api_key
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _principal_for_api_key(secret: str) -> tuple[PartnerPrincipal, float | None]:
    api_key = api_key_for_secret(secret=secret)
    if api_key is None or api_key.revoked_at is not None:
        raise CredentialsInvalid()
    if api_key.expires_at is not None and api_key.expires_at <= timezone.now():
        raise CredentialsExpired()
    partner = api_key.partner
    scopes = frozenset(api_key.scopes)
    principal = PartnerPrincipal(
        partner=partner,
        credential_ref=api_key.public_id,
        scopes=scopes,
        actor=Actor(
            kind="partner",
            ref=api_key.public_id,
            label=f"{partner.slug}:{api_key.name}",
            partner_ref=partner.public_id,
            scopes=scopes,
        ),
        credential_kind="api_key",
    )
    return principal, api_key.expires_at.timestamp() if api_key.expires_at else None


def _principal_for_access_token(token: str) -> tuple[PartnerPrincipal, float | None]:
    access_token = access_token_for(token=token)
    if access_token is None:
        raise CredentialsInvalid()
    if access_token.is_expired():
        raise CredentialsExpired()
    client = getattr(access_token.application, "partner_client", None)
    if client is None or client.revoked_at is not None:
        raise CredentialsInvalid()
    partner = client.partner
    client_id = access_token.application.client_id
    scopes = frozenset(access_token.scope.split()) & frozenset(client.scopes)
    principal = PartnerPrincipal(
        partner=partner,
        credential_ref=client_id,
        scopes=scopes,
        actor=Actor(
            kind="partner",
            ref=client_id,
            label=f"{partner.slug}:{access_token.application.name}",
            partner_ref=partner.public_id,
            scopes=scopes,
        ),
        credential_kind="oauth",
    )
    return principal, access_token.expires.timestamp()


def _resolve(credential: str) -> tuple[PartnerPrincipal, float | None]:
    """The principal for ``credential`` from the database, or the 401 it deserves."""
    if looks_like_api_key(credential):
        return _principal_for_api_key(credential)
    return _principal_for_access_token(credential)


def _digest(credential: str) -> str:
    if looks_like_api_key(credential):
        return f"k:{api_key_hash(credential)}"
    return f"t:{hashlib.sha256(credential.encode()).hexdigest()}"


def _endpoint(request: Request) -> str:
    match = getattr(request._request, "resolver_match", None)
    route = match.route if match is not None else request.path
    return f"{request.method} {route}"


def rate_limit_for(*, partner: Partner, view: Any) -> tuple[str, int]:
    """(bucket, requests per window) for a call by ``partner`` to ``view``.

    A view may set its own limit and counters: ``rate_limit_per_minute`` (a number, or the name
    of a setting such as ``"LEADS_INGEST_RATE_LIMIT_PER_MINUTE"``) and ``rate_limit_bucket``.
    """
    per_view = getattr(view, "rate_limit_per_minute", None)
    if isinstance(per_view, str):  # the name of a setting, read per request (tests override it)
        per_view = getattr(settings, per_view)
    if per_view:
        return getattr(view, "rate_limit_bucket", None) or type(view).__name__, int(per_view)
    if partner.rate_limit_per_minute:
        return "default", partner.rate_limit_per_minute
    return "default", settings.PARTNER_RATE_LIMITS.get(
        partner.tier, settings.PARTNER_RATE_LIMITS["basic"]
    )


class PartnerAuthentication(BaseAuthentication):
    """``X-API-Key: <key>`` or ``Authorization: Bearer <key or OAuth access token>``."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, PartnerPrincipal] | None:
        credential = _credential_from_headers(request)
        if credential is None:
            return None
        digest = _digest(credential)
        entry = principal_cache.get(digest)
        if entry is not None:
            if entry.expires_at is not None and entry.expires_at <= time.time():
                principal_cache.drop(digest)
                raise CredentialsExpired()
            try:
                self._check_partner(request, entry.principal)
            except AccessDenied:
                # It passed when cached: an access check that follows the clock (an ended
                # subscription) fails now. Reloaded, so a renewal made since then counts.
                principal_cache.drop(digest)
                entry = None
        if entry is not None:
            principal = entry.principal
            decision = self._limit(request, principal)
            if decision.degraded or decision.generation != entry.generation:
                # Something changed since this was cached (or the limiter is unreachable):
                # the database decides. The generation was read before this lookup.
                principal_cache.drop(digest)
                principal, expires_at = _resolve(credential)
                self._check_partner(request, principal)
                if not decision.degraded:
                    principal_cache.put(
                        digest,
                        principal=principal,
                        expires_at=expires_at,
                        generation=decision.generation,
                    )
        else:
            generation = ratelimit.credentials_generation()
            principal, expires_at = _resolve(credential)
            self._check_partner(request, principal)
            decision = self._limit(request, principal)
            if generation is not None:
                principal_cache.put(
                    digest, principal=principal, expires_at=expires_at, generation=generation
                )
        if not decision.allowed:
            raise RateLimited(wait=decision.reset_seconds)
        return AnonymousUser(), principal

    def _check_partner(self, request: Request, principal: PartnerPrincipal) -> None:
        partner = principal.partner
        # First: an app's reason (a lapsed subscription suspended the partner) says more than
        # the bare status.
        denial = access_denial_for(principal=principal)
        if denial is not None:
            raise AccessDenied(denial)
        if partner.status == Partner.Status.SUSPENDED:
            raise PartnerSuspended()
        if partner.status != Partner.Status.ACTIVE:
            raise PartnerInactive()
        platform = request.META.get("HTTP_X_PLATFORM", "").strip()
        if platform and platform != partner.slug:
            raise PlatformMismatch()

    def _limit(self, request: Request, principal: PartnerPrincipal) -> ratelimit.Decision:
        """Count and rate limit this call: the one Redis round trip of the request."""
        view = (getattr(request, "parser_context", None) or {}).get("view")
        bucket, limit = rate_limit_for(partner=principal.partner, view=view)
        hit = ratelimit.Hit(
            partner_pk=principal.partner.pk,
            credential_ref=principal.credential_ref,
            api_key_ref=principal.credential_ref if principal.credential_kind == "api_key" else "",
            endpoint=_endpoint(request),
            bucket=bucket,
            limit=limit,
            now=time.time(),
        )
        decision = ratelimit.hit(hit)
        request._request.partner_call = (hit, decision)
        return decision

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="careos"'


class PartnerAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the three ways to send a partner credential, and each operation's scope."""

    target_class = "partners.api.authentication.PartnerAuthentication"
    name = ["ApiKeyAuth", "BearerAuth", "OAuth2"]
    priority = 1

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        from partners.api.permissions import required_scope

        try:
            scope = required_scope(auto_schema.view, auto_schema.method)
        except exceptions.MethodNotAllowed:
            scope = None
        scopes = [scope] if scope else []
        return [{"ApiKeyAuth": []}, {"BearerAuth": []}, {"OAuth2": scopes}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        from partners.scopes import SCOPES

        scopes = {name: str(text) for name, text in SCOPES.items()}
        return [
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key (ck_live_…/ck_test_…) or an OAuth 2.0 access token.",
            },
            {
                "type": "oauth2",
                "flows": {
                    "authorizationCode": {
                        "authorizationUrl": "/o/authorize/",
                        "tokenUrl": "/o/token/",
                        "refreshUrl": "/o/token/",
                        "scopes": scopes,
                    },
                    "clientCredentials": {"tokenUrl": "/o/token/", "scopes": scopes},
                },
            },
        ]
