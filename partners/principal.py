"""Who is calling a partner endpoint: the value of ``request.auth`` for partner credentials."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from careos.actors import Actor
from partners.models import Partner

T = TypeVar("T")


@dataclass(frozen=True)
class PartnerPrincipal:
    partner: Partner
    credential_ref: str  # ``key_…`` for an API key, the OAuth client id for an access token
    scopes: frozenset[str]
    actor: Actor
    credential_kind: str = "api_key"  # or "oauth"
    # What callers derived from the partner's configuration (see ``memoized``).
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def partner_ref(self) -> str:
        return self.partner.public_id

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def memoized(self, name: str, load: Callable[[], T]) -> T:
        """``load()``, kept as long as this principal is. A principal lives in the process's
        credential cache until the credentials generation moves (``partners.principal_cache``),
        which every change to a model watched with
        ``partners.signals.watch_partner_configuration`` makes it do: memoize only what such
        models hold."""
        if name not in self._memo:
            self._memo[name] = load()
        return self._memo[name]
