"""Authorization codes are single-use (RFC 6749 §4.1.2): a code presented again is refused and
every token issued from it is revoked, since one of the two parties presenting it stole it.

A code is consumed in the transaction that saves its tokens (``authorization_code_redeem``),
which records the code's hash with the first access token and the refresh-token family; every
later token of that session (refresh rotation) stays in the family, so revoking the family
revokes all of them. The records are forgotten once nothing issued from them can be used.
"""

import hashlib
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from oauth2_provider.models import (
    AccessToken,
    Application,
    Grant,
    RefreshToken,
    refresh_token_expire_timedelta,
)

from careos.actors import Actor, system_actor
from partners.models import RedeemedAuthorizationCode
from rbac.services import audit_record


class AuthorizationCodeAlreadyRedeemed(Exception):
    """Another token request consumed the code first (the two raced)."""


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@transaction.atomic
def authorization_code_redeem(
    *, code: str, application: Application, access_token: str
) -> RedeemedAuthorizationCode:
    """Consume ``code`` and record the tokens it was exchanged for (``access_token`` is the raw
    token just saved, in the caller's transaction).

    Raises ``AuthorizationCodeAlreadyRedeemed`` when the code is gone: the caller rolls its
    tokens back, so a race of two requests issues tokens once.
    """
    consumed, _ = Grant.objects.filter(code=code, application=application).delete()
    if not consumed:
        raise AuthorizationCodeAlreadyRedeemed
    token = AccessToken.objects.get(token_checksum=_hash(access_token))
    family = (
        RefreshToken.objects.filter(access_token=token)
        .values_list("token_family", flat=True)
        .first()
    )
    return RedeemedAuthorizationCode.objects.create(
        code_hash=_hash(code), application=application, access_token=token, token_family=family
    )


def _client_actor(application: Application) -> Actor:
    client = getattr(application, "partner_client", None)
    if client is None:
        return system_actor("oauth")
    return Actor(
        kind="partner",
        ref=application.client_id,
        label=f"{client.partner.slug}:{application.name}",
        partner_ref=client.partner.public_id,
    )


@transaction.atomic
def authorization_code_replay(*, code: str) -> bool:
    """When ``code`` was already exchanged, revoke every token issued from it and audit the
    replay; returns whether it was one (``False``: a code never redeemed, or forgotten)."""
    record = (
        RedeemedAuthorizationCode.objects.select_for_update().filter(code_hash=_hash(code)).first()
    )
    if record is None:
        return False
    application = Application.objects.select_related("partner_client__partner").get(
        pk=record.application_id
    )
    if record.access_token_id is not None:
        # Deleting is how DOT revokes an access token (and what the credential cache watches).
        AccessToken.objects.filter(pk=record.access_token_id).delete()
    RefreshToken.revoke_family(record.token_family)
    first_replay = record.replayed_at is None
    if first_replay:
        record.replayed_at = timezone.now()
        record.save(update_fields=["replayed_at"])
    client = getattr(application, "partner_client", None)
    audit_record(
        actor=_client_actor(application),
        action="partner.oauth_client.code_replayed",
        target_type="oauth_client",
        target_ref=application.client_id,
        reason="An authorization code was presented again; the tokens issued from it are revoked.",
        metadata={
            "partner": client.partner.public_id if client is not None else "",
            "redeemedAt": record.redeemed_at.isoformat(),
            "firstReplay": first_replay,
        },
    )
    return True


def authorization_codes_prune(*, now: datetime | None = None) -> int:
    """Forget redeemed codes whose tokens are all unusable: the first access token expired or
    revoked, and no refresh token of the family still live (unrevoked, with an access token
    whose expiry plus the refresh-token lifetime is ahead). Returns how many were forgotten."""
    now = now or timezone.now()
    live_access = AccessToken.objects.filter(pk=OuterRef("access_token_id"), expires__gt=now)
    live_refresh = RefreshToken.objects.filter(
        token_family=OuterRef("token_family"), revoked__isnull=True, access_token__isnull=False
    )
    refresh_lifetime = refresh_token_expire_timedelta()
    if refresh_lifetime is not None:
        live_refresh = live_refresh.filter(access_token__expires__gt=now - refresh_lifetime)
    deleted, _ = (
        RedeemedAuthorizationCode.objects.exclude(Exists(live_access))
        .exclude(Exists(live_refresh))
        .delete()
    )
    return deleted
