"""django-oauth-toolkit wiring: scopes from the catalog, PKCE for public clients."""

from typing import Any

from oauth2_provider.models import Application
from oauth2_provider.scopes import BaseScopes

from partners.scopes import SCOPES

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
