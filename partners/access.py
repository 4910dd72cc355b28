"""A hook through which apps above partners refuse a partner's API access (partners never
imports them): e.g. payments denies a business customer whose subscription has ended.

An app registers a check from its ``ready()``. ``PartnerAuthentication`` runs every check on
every partner request once the credential is resolved (from its cache too), so a check must be
cheap: memoize what it reads on the principal (``PartnerPrincipal.memoized``) and watch the
models it reads (``partners.signals.watch_partner_configuration``) so a change reloads them.
"""

from collections.abc import Callable
from dataclasses import dataclass

from partners.principal import PartnerPrincipal


@dataclass(frozen=True)
class AccessDenial:
    """Why a partner may not call the API now: answered 403 with this problem ``code``."""

    code: str
    detail: str


AccessCheck = Callable[[PartnerPrincipal], AccessDenial | None]

_checks: list[AccessCheck] = []


def access_check_register(check: AccessCheck) -> None:
    """Run ``check`` on every partner request (registering the same check twice is a no-op)."""
    if check not in _checks:
        _checks.append(check)


def access_denial_for(*, principal: PartnerPrincipal) -> AccessDenial | None:
    """The first registered check's denial of ``principal``, or None when all allow it."""
    for check in _checks:
        denial = check(principal)
        if denial is not None:
            return denial
    return None
