"""Partner fixtures for every app's tests (imported by ``tests/conftest.py``).

``partner_api_client(partner=..., scopes=[...])`` returns an ``APIClient`` sending a fresh
API key as ``X-API-Key``; the client carries ``.partner``, ``.api_key`` and ``.key``.
"""

import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from partners.models import Partner
from tests.partners.factories import PartnerFactory, make_api_key


@pytest.fixture
def partner_rate_limit_isolation(settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Rate-limit and usage counters under a prefix of their own, removed afterwards."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    settings.PARTNER_RATE_LIMIT_KEY_PREFIX = prefix
    yield prefix
    url = django_settings.PARTNER_RATE_LIMIT_REDIS_URL
    if url:
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=1)
            keys = list(client.scan_iter(match=f"{prefix}*"))
            if keys:
                client.delete(*keys)
        except redis.RedisError:  # a test pointed the limiter at a Redis that is down
            pass


@pytest.fixture
def partner(db) -> Partner:  # type: ignore[no-untyped-def]
    return PartnerFactory()


PartnerClientFactory = Callable[..., APIClient]


@pytest.fixture
def partner_api_client(db, partner_rate_limit_isolation) -> PartnerClientFactory:  # type: ignore[no-untyped-def]
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
