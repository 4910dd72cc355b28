"""Partner fixtures for every app's tests (imported by ``tests/conftest.py``).

``partner_api_client(partner=..., scopes=[...])`` returns an ``APIClient`` sending a fresh
API key as ``X-API-Key``; the client carries ``.partner``, ``.api_key`` and ``.key``.
"""

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from partners.models import Partner
from tests.partners.factories import PartnerFactory, make_api_key


@pytest.fixture
def partner(db) -> Partner:  # type: ignore[no-untyped-def]
    return PartnerFactory()


PartnerClientFactory = Callable[..., APIClient]


@pytest.fixture
def partner_api_client(db) -> PartnerClientFactory:  # type: ignore[no-untyped-def]
    def build(
        *,
        partner: Partner | None = None,
        scopes: list[str] | None = None,
        environment: str = "test",
        platform: str | None = None,
    ) -> APIClient:
        issued = make_api_key(partner=partner, scopes=scopes, environment=environment)
        client = APIClient()
        headers = {"HTTP_X_API_KEY": issued.secret}
        if platform is not None:
            headers["HTTP_X_PLATFORM"] = platform
        client.credentials(**headers)
        client.partner = issued.api_key.partner  # type: ignore[attr-defined]
        client.api_key = issued.api_key  # type: ignore[attr-defined]
        client.key = issued.secret  # type: ignore[attr-defined]
        return client

    return build
