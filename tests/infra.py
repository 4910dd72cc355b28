"""Tests that need a real service skip locally when it is missing, and FAIL in CI (CI=true)."""

import os
import socket
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


def worker_task_names() -> set[str]:
    """The tasks a Celery worker of the project knows: at start it imports every app's
    ``tasks`` module (autodiscovery), which a test process has done only for the modules that
    the tests it ran so far imported."""
    from careos.celery import app

    app.loader.import_default_modules()
    return set(app.tasks)


def closed_local_port() -> int:
    """A local TCP port with nothing listening: the OS picks a free one, which is then closed,
    so a connection to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unreachable_redis_cache() -> dict[str, dict[str, str]]:
    """A ``CACHES`` setting whose default cache is a Redis that refuses connections."""
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_local_port()}/0",
        }
    }


class Broker:
    """Makes the Celery broker unreachable and brings it back: while it is down, tasks are
    really published (not eager) to a closed local port, with the project's publish settings."""

    def __init__(self) -> None:
        from careos.celery import app

        self._app = app
        self._saved = (app.conf.task_always_eager, app.conf.broker_url)

    def _reset_connections(self) -> None:
        # Celery caches the broker connection pool on the app; drop it so a changed URL is used.
        self._app._pool = None
        self._app.amqp._producer_pool = None

    def down(self) -> None:
        self._app.conf.task_always_eager = False
        self._app.conf.broker_url = f"redis://127.0.0.1:{closed_local_port()}/0"
        self._reset_connections()

    def up(self) -> None:
        self._app.conf.task_always_eager, self._app.conf.broker_url = self._saved
        self._reset_connections()
