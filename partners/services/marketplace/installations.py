"""Installing a listing for a clinic is an OAuth consent: a clinic admin grants the app the
listing's scopes for the clinic. The consent is recorded as an installation (who, when, which
scopes) and yields a django-oauth-toolkit authorization code for the app's redirect URI, as the
consent page at /o/authorize/ does; the app exchanges it at /o/token/ as usual.

The code's hash binds the tokens it is exchanged for to the installation
(``partners.services.oauth_codes`` records the code with its access token and refresh-token
family), so uninstalling revokes exactly the app's tokens for that clinic: the unexchanged code,
the first access token and every token refreshed from it. ``app.installed`` and
``app.uninstalled`` are published to the partner in the same transaction."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import generate_token

from careos.errors import ConflictError, DomainError
from partners.models import (
    ListingStatus,
    MarketplaceInstallation,
    MarketplaceListing,
    RedeemedAuthorizationCode,
)
from partners.services.events import publish_event
from partners.services.marketplace.stats import day_bump
from rbac.models import Clinic, User
from rbac.services import audit_record

INSTALLED = "app.installed"
UNINSTALLED = "app.uninstalled"


class AlreadyInstalled(ConflictError):
    code = "already_installed"


class NotInstallable(ConflictError):
    code = "not_installable"


class InstallInvalid(DomainError):
    code = "install_invalid"
    status = 400


@dataclass(frozen=True)
class InstallResult:
    installation: MarketplaceInstallation
    redirect_to: str  # the app's redirect URI with ``code`` (and ``state``, ``iss``)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _iso(moment: Any) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def installation_event_payload(installation: MarketplaceInstallation) -> dict[str, Any]:
    payload = {
        "installationId": installation.public_id,
        "listingId": installation.listing.public_id,
        "applicationId": installation.listing.application.public_id,
        "clinicId": installation.clinic.public_id,
    }
    if installation.status == MarketplaceInstallation.Status.ACTIVE:
        return {
            **payload,
            "scopes": installation.scopes,
            "installedAt": _iso(installation.installed_at),
        }
    return {**payload, "uninstalledAt": _iso(installation.uninstalled_at)}


def _oauth_application(listing: MarketplaceListing) -> Application:
    client = listing.application.oauth_client
    if client is None or client.revoked_at is not None:
        raise NotInstallable("The app has no usable OAuth client.")
    application = client.application
    if application.authorization_grant_type != Application.GRANT_AUTHORIZATION_CODE:
        raise NotInstallable("The app does not use the authorization-code grant.")
    return application


def _redirect_uri(application: Application, requested: str) -> str:
    allowed = application.redirect_uris.split()
    if not requested:
        return allowed[0]
    if requested not in allowed:
        raise InstallInvalid(
            "redirectUri must be one of the app's registered redirect URIs.",
            extra={"errors": [{"field": "redirectUri", "message": "Not registered."}]},
        )
    return requested


def _with_query(uri: str, params: dict[str, str]) -> str:
    separator = "&" if urlsplit(uri).query else "?"
    return f"{uri}{separator}{urlencode(params)}"


@transaction.atomic
def listing_install(
    *,
    listing: MarketplaceListing,
    clinic: Clinic,
    user: User,
    code_challenge: str,
    redirect_uri: str = "",
    state: str = "",
) -> InstallResult:
    """``user`` (an admin of ``clinic``: checked by the caller) installs ``listing``. The app
    proves it is the one exchanging the code with PKCE (S256; RFC 9700 wants it of every
    client, and the token endpoint requires it): ``code_challenge`` is the app's."""
    listing = (
        MarketplaceListing.objects.select_for_update(of=("self",))
        .select_related("partner", "application__oauth_client__application")
        .get(pk=listing.pk)
    )
    if listing.status != ListingStatus.PUBLISHED:
        raise NotInstallable("Only a published listing can be installed.")
    application = _oauth_application(listing)
    redirect = _redirect_uri(application, redirect_uri)
    scopes = sorted(set(listing.scopes) & set(listing.application.oauth_client.scopes))
    now = timezone.now()
    code = generate_token()
    try:
        with transaction.atomic():
            installation = MarketplaceInstallation.objects.create(
                listing=listing,
                clinic=clinic,
                scopes=scopes,
                installed_by=user,
                installed_at=now,
                code_hash=_hash(code),
            )
    except IntegrityError:
        raise AlreadyInstalled("This clinic has this app installed already.") from None
    Grant.objects.create(
        application=application,
        user=user,
        code=code,
        expires=now + timedelta(seconds=oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS),
        redirect_uri=redirect,
        scope=" ".join(scopes),
        code_challenge=code_challenge,
        code_challenge_method="S256",
    )
    MarketplaceListing.objects.filter(pk=listing.pk).update(
        install_count=F("install_count") + 1, active_install_count=F("active_install_count") + 1
    )
    day_bump(listing_id=listing.pk, installs=1)
    audit_record(
        actor=user,
        action="partner.marketplace.installed",
        target_type="marketplace_installation",
        target_ref=installation.public_id,
        clinic=clinic,
        metadata={
            "listing": listing.public_id,
            "scopes": scopes,
            "partner": listing.partner.public_id,
        },
    )
    publish_event(
        event_type=INSTALLED,
        owner=listing.partner,
        payload=installation_event_payload(installation),
        occurred_at=now,
    )
    params = {"code": code}
    if state:
        params["state"] = state
    params["iss"] = settings.OAUTH2_PROVIDER.get("OIDC_ISS_ENDPOINT", "")
    return InstallResult(installation=installation, redirect_to=_with_query(redirect, params))


def _revoke_tokens(installation: MarketplaceInstallation) -> int:
    """Revoke what the installation's code produced; returns how many tokens went."""
    application_id = installation.listing.application.oauth_client.application_id
    revoked = 0
    for grant in Grant.objects.filter(application_id=application_id):
        if _hash(grant.code) == installation.code_hash:
            grant.delete()
    record = RedeemedAuthorizationCode.objects.filter(code_hash=installation.code_hash).first()
    if record is not None:
        tokens = AccessToken.objects.filter(pk=record.access_token_id)
        if record.token_family:
            family_tokens = RefreshToken.objects.filter(
                token_family=record.token_family, access_token__isnull=False
            ).values("access_token_id")
            revoked = AccessToken.objects.filter(pk__in=family_tokens).count()
            RefreshToken.revoke_family(record.token_family)
        revoked += tokens.delete()[0]
    return revoked


@transaction.atomic
def listing_uninstall(
    *, installation: MarketplaceInstallation, user: User
) -> MarketplaceInstallation:
    """``user`` (an admin of the installation's clinic) uninstalls: the app's tokens for the
    clinic are revoked and the partner is told."""
    installation = (
        MarketplaceInstallation.objects.select_for_update(of=("self",))
        .select_related("listing__partner", "listing__application__oauth_client", "clinic")
        .get(pk=installation.pk)
    )
    if installation.status != MarketplaceInstallation.Status.ACTIVE:
        raise ConflictError("This installation is uninstalled already.", code="not_installed")
    revoked = _revoke_tokens(installation)
    installation.status = MarketplaceInstallation.Status.UNINSTALLED
    installation.uninstalled_at = timezone.now()
    installation.uninstalled_by = user
    installation.save(update_fields=["status", "uninstalled_at", "uninstalled_by", "updated_at"])
    listing = installation.listing
    MarketplaceListing.objects.filter(pk=listing.pk).update(
        active_install_count=F("active_install_count") - 1
    )
    day_bump(listing_id=listing.pk, uninstalls=1)
    audit_record(
        actor=user,
        action="partner.marketplace.uninstalled",
        target_type="marketplace_installation",
        target_ref=installation.public_id,
        clinic=installation.clinic,
        metadata={"listing": listing.public_id, "tokensRevoked": revoked},
    )
    publish_event(
        event_type=UNINSTALLED,
        owner=listing.partner,
        payload=installation_event_payload(installation),
        occurred_at=installation.uninstalled_at,
    )
    return installation
