"""Who is calling a partner endpoint: the value of ``request.auth`` for partner credentials."""

from dataclasses import dataclass

from careos.actors import Actor
from partners.models import Partner


@dataclass(frozen=True)
class PartnerPrincipal:
    partner: Partner
    credential_ref: str  # ``key_…`` for an API key, the OAuth client id for an access token
    scopes: frozenset[str]
    actor: Actor
    credential_kind: str = "api_key"  # or "oauth"

    @property
    def partner_ref(self) -> str:
        return self.partner.public_id

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
