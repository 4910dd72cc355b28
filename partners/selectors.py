"""Partner reads shared by several callers."""

import hashlib
import hmac
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from oauth2_provider.models import AccessToken
from rest_framework.request import Request

from careos.errors import NotFoundError
from partners.models import (
    ApiKey,
    Partner,
    PartnerAgreement,
    PartnerApplication,
    PartnerContact,
    PartnerOAuthClient,
    PartnerUsageDaily,
)
from partners.principal import PartnerPrincipal


def api_key_for_secret(*, secret: str) -> ApiKey | None:
    """The key whose hash matches ``secret`` (revoked or expired included), with its partner."""
    from partners.services.credentials import api_key_hash

    digest = api_key_hash(secret)
    api_key = ApiKey.objects.select_related("partner").filter(key_hash=digest).first()
    # The lookup is by an index on the digest; compare again in constant time anyway.
    if api_key is None or not hmac.compare_digest(api_key.key_hash, digest):
        return None
    return api_key


def access_token_for(*, token: str) -> AccessToken | None:
    checksum = hashlib.sha256(token.encode()).hexdigest()
    return (
        AccessToken.objects.select_related(
            "application", "application__partner_client", "application__partner_client__partner"
        )
        .filter(token_checksum=checksum)
        .first()
    )


def partner_from_request(request: HttpRequest | Request) -> Partner:
    """The partner behind a request authenticated with a partner credential.

    Raises ``NotFoundError`` when the request carries no partner credential.
    """
    principal = getattr(request, "auth", None)
    if not isinstance(principal, PartnerPrincipal):
        raise NotFoundError("No partner is associated with this request.")
    return principal.partner


def partner_api_keys(*, partner: Partner) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(partner=partner).select_related("partner")


def partner_by_public_id(*, public_id: str) -> Partner:
    partner = Partner.objects.filter(public_id=public_id).first()
    if partner is None:
        raise NotFoundError("No partner with this id.")
    return partner


def partner_usage(*, partner: Partner, since: date, until: date) -> QuerySet[PartnerUsageDaily]:
    return PartnerUsageDaily.objects.filter(partner=partner, day__gte=since, day__lte=until)


def partner_contacts(*, partner: Partner) -> QuerySet[PartnerContact]:
    return PartnerContact.objects.filter(partner=partner)


def partner_agreements(*, partner: Partner) -> QuerySet[PartnerAgreement]:
    return PartnerAgreement.objects.filter(partner=partner)


def partner_applications(*, partner: Partner | None = None) -> QuerySet[PartnerApplication]:
    """Applications, scoped to ``partner`` when given (platform admins pass None)."""
    queryset = PartnerApplication.objects.select_related(
        "partner", "oauth_client", "oauth_client__application"
    )
    return queryset if partner is None else queryset.filter(partner=partner)


def partner_oauth_clients(*, partner: Partner) -> QuerySet[PartnerOAuthClient]:
    return PartnerOAuthClient.objects.filter(partner=partner).select_related(
        "application", "partner_application"
    )


def owned_or_404(queryset: QuerySet, *, public_id: str, what: str) -> Any:
    """The object with ``public_id`` in an already tenant-scoped ``queryset``, else 404."""
    found = queryset.filter(public_id=public_id).first()
    if found is None:
        raise NotFoundError(f"No {what} with this id.")
    return found
