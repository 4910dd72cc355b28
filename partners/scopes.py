"""The one scope catalog: API keys, OAuth clients and views all use these names.

A partner's tier decides which scopes its credentials may carry; ``admin`` is never granted by
tier (platform staff only).
"""

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

from careos.actors import Actor
from careos.errors import DomainError

READ_PARTNER = "read:partner"
MANAGE_PARTNER = "manage:partner"
READ_LEADS = "read:leads"
WRITE_LEADS = "write:leads"
READ_WEBHOOKS = "read:webhooks"
MANAGE_WEBHOOKS = "manage:webhooks"
READ_SUPPORT = "read:support"
WRITE_SUPPORT = "write:support"
READ_PAYMENTS = "read:payments"
READ_CONNECTIONS = "read:connections"
WRITE_CONNECTIONS = "write:connections"
MANAGE_MARKETPLACE = "manage:marketplace"
ADMIN = "admin"

SCOPES: dict[str, str] = {
    READ_PARTNER: _("Read your partner profile, contacts, agreements and usage"),
    MANAGE_PARTNER: _("Manage your contacts, applications, API keys and OAuth clients"),
    READ_LEADS: _("Read leads you referred"),
    WRITE_LEADS: _("Submit leads"),
    READ_WEBHOOKS: _("Read webhook endpoints and deliveries"),
    MANAGE_WEBHOOKS: _("Create, change and replay webhook endpoints"),
    READ_SUPPORT: _("Read your support tickets"),
    WRITE_SUPPORT: _("Open and answer support tickets"),
    READ_PAYMENTS: _("Read invoices, payouts and billing"),
    READ_CONNECTIONS: _("Read connectors and data-sharing connections"),
    WRITE_CONNECTIONS: _("Create and change connections"),
    MANAGE_MARKETPLACE: _("Manage your marketplace listings, their media and review replies"),
    ADMIN: _("Platform administration (CareOS staff only)"),
}

_BASIC = frozenset(
    {
        READ_PARTNER,
        MANAGE_PARTNER,
        READ_LEADS,
        WRITE_LEADS,
        READ_WEBHOOKS,
        MANAGE_WEBHOOKS,
        READ_SUPPORT,
        WRITE_SUPPORT,
        READ_PAYMENTS,
        MANAGE_MARKETPLACE,
    }
)
_PRO = _BASIC | {READ_CONNECTIONS, WRITE_CONNECTIONS}

TIER_SCOPES: dict[str, frozenset[str]] = {
    "basic": _BASIC,
    "pro": _PRO,
    "enterprise": _PRO,
}


def scopes_for_tier(tier: str) -> frozenset[str]:
    """Every scope a credential of a partner on ``tier`` may carry."""
    return TIER_SCOPES.get(tier, frozenset())


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    return sorted(set(scopes) - SCOPES.keys())


def scopes_beyond_tier(scopes: Iterable[str], *, tier: str) -> list[str]:
    """The scopes in ``scopes`` that ``tier`` does not allow (unknown ones included)."""
    return sorted(set(scopes) - scopes_for_tier(tier))


SCOPE_CHOICES: list[tuple[str, str]] = [(name, name) for name in sorted(SCOPES)]


def grantable_scopes() -> list[str]:
    """Every scope some partner's credential may carry (``admin`` never is), sorted."""
    return sorted(frozenset().union(*TIER_SCOPES.values()))


class ScopeNotHeldError(DomainError):
    code = "scope_not_held"
    status = 403
    title = "A credential can grant only scopes it holds itself"


def scopes_held_by(actor: object) -> frozenset[str] | None:
    """The scopes a partner credential acting as ``actor`` holds; ``None`` for users and jobs
    (CareOS staff and the platform grant within the partner's tier)."""
    return actor.scopes if isinstance(actor, Actor) else None


def scopes_grant_check(scopes: Iterable[str], *, actor: object) -> None:
    """Refuse (403 ``scope_not_held``) when ``actor`` is a partner credential that does not hold
    every scope in ``scopes``: no credential mints, rotates or reveals one stronger than itself."""
    held = scopes_held_by(actor)
    if held is None:
        return
    missing = sorted(set(scopes) - held)
    if missing:
        raise ScopeNotHeldError(
            f"This credential does not hold: {', '.join(missing)}.", extra={"scopes": missing}
        )
