"""API keys: generate (secret shown once), rotate with a grace period, revoke."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from careos.actors import Actor
from careos.errors import ConflictError, DomainError
from partners.models import ApiKey, Partner
from partners.scopes import (
    scopes_beyond_tier,
    scopes_for_tier,
    scopes_grant_check,
    scopes_held_by,
)
from rbac.models import User
from rbac.services import actor_for_user, audit_record

KEY_PREFIXES = {ApiKey.Environment.LIVE: "ck_live_", ApiKey.Environment.TEST: "ck_test_"}
_SECRET_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # noqa: S105
_SECRET_LENGTH = 40  # base62: ~238 bits
_VISIBLE_CHARS = 8


class ScopeNotAllowedError(DomainError):
    code = "scope_not_allowed"
    status = 400
    title = "A requested scope is not allowed"


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    secret: str  # the full key; returned once, never stored


def looks_like_api_key(value: str) -> bool:
    return value.startswith(tuple(KEY_PREFIXES.values()))


def api_key_hash(secret: str) -> str:
    """Keyed HMAC-SHA256 of the whole key.

    Keys carry ~238 random bits, so a fast keyed hash is the right tool (a slow password hash
    would only cost every request); the key makes a leaked table useless without the setting.
    """
    return hmac.new(
        settings.PARTNER_API_KEY_HASH_KEY.encode(), secret.encode(), hashlib.sha256
    ).hexdigest()


def _as_actor(actor: Actor | User) -> Actor:
    return actor_for_user(actor) if isinstance(actor, User) else actor


def _checked_scopes(*, partner: Partner, scopes: list[str] | None, actor: Actor) -> list[str]:
    if scopes is None:
        held = scopes_held_by(actor)
        allowed = scopes_for_tier(partner.tier)
        return sorted(allowed if held is None else allowed & held)
    refused = scopes_beyond_tier(scopes, tier=partner.tier)
    if refused:
        raise ScopeNotAllowedError(
            f"Not allowed for a {partner.tier} partner: {', '.join(refused)}.",
            extra={"scopes": refused},
        )
    scopes_grant_check(scopes, actor=actor)
    return sorted(set(scopes))


def _new_secret(environment: str) -> str:
    body = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(_SECRET_LENGTH))
    return f"{KEY_PREFIXES[environment]}{body}"


def _create_key(
    *,
    partner: Partner,
    name: str,
    environment: str,
    scopes: list[str],
    expires_at: datetime | None,
    actor: Actor,
) -> IssuedApiKey:
    secret = _new_secret(environment)
    api_key = ApiKey.objects.create(
        partner=partner,
        name=name,
        environment=environment,
        prefix=secret[: len(KEY_PREFIXES[environment]) + _VISIBLE_CHARS],
        key_hash=api_key_hash(secret),
        scopes=scopes,
        expires_at=expires_at,
        created_by=actor.ref,
    )
    return IssuedApiKey(api_key=api_key, secret=secret)


@transaction.atomic
def api_key_generate(
    *,
    partner: Partner,
    name: str,
    environment: str = ApiKey.Environment.LIVE,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    actor: Actor | User,
) -> IssuedApiKey:
    """A new key for ``partner``; ``scopes=None`` means every scope the tier allows (that the
    minting credential holds, when a partner credential mints it: it never grants more)."""
    actor = _as_actor(actor)
    if environment not in KEY_PREFIXES:
        raise DomainError(f"Unknown environment {environment!r}.", code="invalid_environment")
    if partner.status == Partner.Status.TERMINATED:
        raise ConflictError("A terminated partner cannot get new keys.")
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError(
            "expiresAt must be in the future.", code="invalid_expiry", extra={"field": "expiresAt"}
        )
    issued = _create_key(
        partner=partner,
        name=name,
        environment=environment,
        scopes=_checked_scopes(partner=partner, scopes=scopes, actor=actor),
        expires_at=expires_at,
        actor=actor,
    )
    audit_record(
        actor=actor,
        action="partner.api_key.created",
        target_type="api_key",
        target_ref=issued.api_key.public_id,
        metadata={"partner": partner.public_id, "environment": environment},
    )
    return issued


@transaction.atomic
def api_key_rotate(
    *, api_key: ApiKey, actor: Actor | User, grace_seconds: int | None = None
) -> IssuedApiKey:
    """A replacement key with the same name and scopes; the old one expires after the grace.
    A partner credential rotates only keys whose scopes it holds (it sees the new secret)."""
    actor = _as_actor(actor)
    api_key = ApiKey.objects.select_for_update().select_related("partner").get(pk=api_key.pk)
    if api_key.status != ApiKey.Status.ACTIVE or api_key.replaced_by_id is not None:
        raise ConflictError("Only an active key that was not rotated already can be rotated.")
    scopes_grant_check(api_key.scopes, actor=actor)
    if grace_seconds is None:
        grace_seconds = settings.PARTNER_API_KEY_ROTATION_GRACE_SECONDS
    issued = _create_key(
        partner=api_key.partner,
        name=api_key.name,
        environment=api_key.environment,
        scopes=list(api_key.scopes),
        expires_at=api_key.expires_at,
        actor=actor,
    )
    grace_end = timezone.now() + timedelta(seconds=grace_seconds)
    api_key.expires_at = min(grace_end, api_key.expires_at or grace_end)
    api_key.replaced_by = issued.api_key
    api_key.save(update_fields=["expires_at", "replaced_by", "updated_at"])
    audit_record(
        actor=actor,
        action="partner.api_key.rotated",
        target_type="api_key",
        target_ref=api_key.public_id,
        metadata={"replacement": issued.api_key.public_id, "graceSeconds": grace_seconds},
    )
    return issued


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Actor | User, reason: str = "") -> ApiKey:
    """Revoke now; the next request with the key is refused."""
    actor = _as_actor(actor)
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is not None:
        return api_key
    api_key.revoked_at = timezone.now()
    api_key.revoked_by = actor.ref
    api_key.revoked_reason = reason
    api_key.save(update_fields=["revoked_at", "revoked_by", "revoked_reason", "updated_at"])
    audit_record(
        actor=actor,
        action="partner.api_key.revoked",
        target_type="api_key",
        target_ref=api_key.public_id,
        reason=reason,
    )
    return api_key


def api_key_touch_many(*, last_used: dict[str, float]) -> int:
    """Record last-used times gathered outside the database (by the usage flush)."""
    updated = 0
    for public_id, timestamp in last_used.items():
        when = datetime.fromtimestamp(timestamp, tz=UTC)
        updated += (
            ApiKey.objects.filter(public_id=public_id)
            .exclude(last_used_at__gte=when)
            .update(last_used_at=when)
        )
    return updated
