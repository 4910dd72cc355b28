"""Fixtures for the partners tests only (shared partner fixtures: tests/partners/fixtures.py)."""

import pytest
import redis
from django.conf import settings


@pytest.fixture
def real_redis(partner_rate_limit_isolation: str) -> redis.Redis:
    """The configured Redis (CI and local runs set REDIS_URL); skipped without one."""
    url = settings.PARTNER_RATE_LIMIT_REDIS_URL
    if not url:
        pytest.skip("needs REDIS_URL")
    return redis.Redis.from_url(url, decode_responses=True)
