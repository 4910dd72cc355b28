"""Tests that need a real service skip locally when it is missing, and FAIL in CI (CI=true)."""

import os
from typing import NoReturn

import pytest
import redis
from django.conf import settings
from django.db import connection


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{reason}; with CI=true this is a failure, not a skip")
    pytest.skip(reason)


def require_redis() -> str:
    """The reachable ``REDIS_URL``, or skip (locally) / fail (CI)."""
    url = settings.REDIS_URL
    if not url:
        skip_or_fail("REDIS_URL is not set")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis at {url} is unreachable: {exc}")
    return url


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL (set DATABASE_URL=postgres://...)")
