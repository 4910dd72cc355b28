from collections.abc import Iterator

import pytest
from django.core.cache import cache

from partners.models import Partner
from tests.partners.webhook_receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def webhook_settings(settings):
    """Loopback http receivers allowed, no jitter, and a clean queueing cache."""
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = True
    settings.OUTBOUND_HTTP_REQUIRE_HTTPS = False
    settings.WEBHOOK_RETRY_JITTER = 0.0
    settings.WEBHOOK_TIMEOUT_SECONDS = 5.0
    cache.clear()
    yield settings
    cache.clear()


@pytest.fixture
def partner(db) -> Partner:
    return Partner.objects.create(
        name="Acme Referrals", slug="acme", partner_type="referral_platform", status="active"
    )


@pytest.fixture
def other_partner(db) -> Partner:
    return Partner.objects.create(
        name="Globex Apps", slug="globex", partner_type="technology_app", status="active"
    )
