import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery.result import _set_task_join_will_block
from django.conf import settings as django_settings
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.test.utils import override_settings
from rest_framework.test import APIClient

from tests.clients import SignedInAPIClient, SignedInClient
from tests.clock import SteppedClock, stepped_clock
from tests.dbroles import credentials_use
from tests.infra import Broker

FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """MD5 instead of PBKDF2 for every password (and OAuth client secret) the suite hashes, as
    Django advises for tests: no test is about the hasher's cost, and PBKDF2 costs ~100 ms."""
    with override_settings(PASSWORD_HASHERS=FAST_PASSWORD_HASHERS):
        yield


@pytest.fixture(autouse=True)
def key_namespace(settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """This test's prefix for everything kept in Redis: the cache (``KEY_PREFIX``), the rate
    limiter's counters and usage, and the queues of tests that run Celery workers.

    Tests never see each other's keys — earlier tests, the other ``pytest -n`` workers, or
    another run on the same Redis database — and nothing flushes a database: the test's own
    keys are deleted after it. Changing the limiter's prefix also gives the test a fresh
    limiter and credential cache (their ``setting_changed`` receivers)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    namespace = f"test:{worker}:{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        name: {**config, "KEY_PREFIX": namespace} for name, config in settings.CACHES.items()
    }
    settings.PARTNER_RATE_LIMIT_KEY_PREFIX = f"{namespace}:"
    yield namespace
    # Also kombu's "_kombu.binding.<queue>" sets of the test's queues.
    _redis_keys_delete(pattern=f"*{namespace}:*")


def _redis_keys_delete(*, pattern: str) -> None:
    url = django_settings.REDIS_URL
    if not url:
        return
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
        with client:
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)
    except redis.RedisError:  # Redis down: the test that stopped it reports that
        pass


@pytest.fixture(autouse=True)
def _fresh_process_state() -> None:
    """What the process keeps between tests starts as new, so what a test sees or counts does
    not depend on the tests this process ran before it:

    - Django's content-type cache (a cold cache costs a query: query counts would vary);
    - Celery's "joining a result would block" flag: an eager task sets it for its duration and
      puts back what it saw, process-wide, so eager tasks in two threads at once (requests to
      a live server) can leave it set, and every later ``.delay().get()`` raises."""
    ContentType.objects.clear_cache()
    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _demo_credentials_in_tmp(settings, tmp_path: Path) -> Path:
    """Keep tests (demo modules, seed_demo) off the developer's var/demo-credentials.json."""
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "demo-credentials.json"
    return settings.DEMO_CREDENTIALS_FILE


@pytest.fixture(autouse=True)
def django_db_serialized_rollback() -> None:
    """Every transactional test restores the rows data migrations seeded (role templates, event
    types, message templates, beat schedules) instead of leaving the next test an empty table:
    a transactional test ends with a flush."""


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings: None) -> None:
    """pytest-django's (the xdist suffix), then: the test database is created and migrated by
    the owner role (``MIGRATION_DATABASE_URL``, when set; tests/dbroles.py)."""
    credentials_use(owner=True)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Every test connects as the app role, which owns nothing; the owner drops the database."""
    credentials_use(owner=False)
    yield
    with django_db_blocker.unblock():
        credentials_use(owner=True)


@pytest.fixture
def api_client() -> APIClient:
    """DRF's client; ``force_login`` signs in with both factors (tests/clients.py)."""
    return SignedInAPIClient()


@pytest.fixture
def client() -> Client:
    """Django's client; ``force_login`` signs in with both factors (tests/clients.py)."""
    return SignedInClient()


@pytest.fixture
def admin_client(db, admin_user) -> Client:  # type: ignore[no-untyped-def]
    """Signed in as pytest-django's superuser, with both factors (tests/clients.py)."""
    client = SignedInClient()
    client.force_login(admin_user)
    return client


@pytest.fixture
def clock() -> Iterator[SteppedClock]:
    """Wall and monotonic clocks frozen now, moved only by the test thread's sleeps."""
    with stepped_clock() as frozen:
        yield frozen


@pytest.fixture
def broker() -> Iterator[Broker]:
    """``broker.down()`` points Celery at a closed port; the broker is back after the test."""
    controller = Broker()
    try:
        yield controller
    finally:
        controller.up()


from tests.partners.fixtures import (  # noqa: E402, F401
    partner,
    partner_api_client,
)
