"""Fixtures for the partners tests only (shared partner fixtures: tests/partners/fixtures.py)."""

import importlib
from collections.abc import Iterator

import pytest
import redis
from django.apps import apps as django_apps
from django.conf import settings

from partners.models import Partner
from partners.services import events
from tests.partners.factories import PartnerFactory
from tests.partners.webhook_receiver import Receiver, running_receiver


@pytest.fixture
def real_redis() -> redis.Redis:
    """The configured Redis (CI and local runs set REDIS_URL); skipped without one."""
    url = settings.PARTNER_RATE_LIMIT_REDIS_URL
    if not url:
        pytest.skip("needs REDIS_URL")
    return redis.Redis.from_url(url, decode_responses=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP receiver on loopback (tests/partners/webhook_receiver.py)."""
    with running_receiver() as running:
        yield running


@pytest.fixture
def webhook_settings(settings):  # type: ignore[no-untyped-def]
    """Loopback http receivers allowed, no jitter (the queueing flags are in the test's own
    cache namespace: tests/conftest.py ``key_namespace``)."""
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = True
    settings.OUTBOUND_HTTP_REQUIRE_HTTPS = False
    settings.WEBHOOK_RETRY_JITTER = 0.0
    settings.WEBHOOK_TIMEOUT_SECONDS = 5.0
    return settings


@pytest.fixture
def other_partner(db) -> Partner:  # type: ignore[no-untyped-def]
    return PartnerFactory()


@pytest.fixture
def event_catalog(transactional_db: None) -> Iterator[None]:
    """The seeded event catalog for ``transaction=True`` tests: an earlier such test's flush
    empties the table that migrations 0006 and 0009 filled (and the process remembers type
    ids)."""
    importlib.import_module("partners.migrations.0006_seed_event_types").seed(django_apps, None)
    importlib.import_module("partners.migrations.0009_event_type_planned").mark(django_apps, None)
    events._event_type_ids.clear()
    yield
    events._event_type_ids.clear()
