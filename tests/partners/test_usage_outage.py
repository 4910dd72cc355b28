"""A Redis outage neither lifts the rate limit nor loses the usage that billing invoices."""

import logging
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from partners import ratelimit
from partners.models import ApiKey, PartnerUsageDaily
from partners.services.usage import usage_flush
from payments.services.partner_billing import partner_calls
from tests.infra import closed_local_port
from tests.partners.factories import PartnerFactory
from tests.partners.tcp_proxy import TcpProxy

pytestmark = pytest.mark.django_db

ME = "/api/v1/partners/me"


@pytest.fixture(autouse=True)
def _midday(time_machine) -> None:  # type: ignore[no-untyped-def]
    """Daily counters: the test runs at noon UTC, never across midnight."""
    now = timezone.now()
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    time_machine.move_to(noon if noon >= now else noon + timedelta(days=1))  # forward only


def _redis_down(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PARTNER_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{closed_local_port()}/0"


def _billed_calls(partner) -> int:  # type: ignore[no-untyped-def]
    today = timezone.now().date()
    return partner_calls(partner=partner, start=today, end=today + timedelta(days=1))


def test_each_process_allows_its_share_of_the_limit(partner_api_client, settings):
    _redis_down(settings)
    settings.PARTNER_RATE_LIMIT_FALLBACK_PROCESSES = 2
    client = partner_api_client(partner=PartnerFactory(rate_limit_per_minute=5))
    responses = [client.get(ME) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[0]["RateLimit-Limit"] == "3"  # ceil(5 / 2)


def test_calls_during_an_outage_reach_the_billing_read(partner_api_client, settings):
    _redis_down(settings)
    client = partner_api_client(partner=PartnerFactory(rate_limit_per_minute=3))
    statuses = [client.get(ME).status_code for _ in range(2)]
    statuses.append(client.get("/api/v1/partners/me/keys/key_missing").status_code)
    statuses.append(client.get(ME).status_code)
    assert statuses == [200, 200, 404, 429]
    # Counted in the database as they happen: no flush, no Redis needed.
    assert _billed_calls(client.partner) == 3
    ratelimit.send_buffer()  # the idle process sends the last response's error and latency
    me = PartnerUsageDaily.objects.get(partner=client.partner, endpoint="GET api/v1/partners/me")
    assert (me.calls, me.errors, me.rate_limited) == (2, 0, 1)
    missing = PartnerUsageDaily.objects.get(
        partner=client.partner, endpoint="GET api/v1/partners/me/keys/<str:key_id>"
    )
    assert (missing.calls, missing.errors) == (1, 1)
    assert ApiKey.objects.get(pk=client.api_key.pk).last_used_at is not None


def test_usage_before_during_and_after_an_outage_is_all_billed(
    partner_api_client, settings, real_redis, caplog
):
    working_url = settings.PARTNER_RATE_LIMIT_REDIS_URL
    client = partner_api_client()
    assert client.get(ME).status_code == 200  # counted in Redis
    _redis_down(settings)
    with caplog.at_level(logging.WARNING, logger="partners.ratelimit"):
        assert [client.get(ME).status_code for _ in range(3)] == [200] * 3
    assert "usage counted in the database" in caplog.text
    settings.PARTNER_RATE_LIMIT_REDIS_URL = working_url  # Redis is back
    assert client.get(ME).status_code == 200
    usage_flush()  # the beat task, once Redis answers again
    assert _billed_calls(client.partner) == 5
    assert PartnerUsageDaily.objects.get(partner=client.partner).calls == 5


def test_counts_wait_in_the_process_when_the_database_fails_too(
    partner_api_client, settings, caplog
):
    _redis_down(settings)
    client = partner_api_client()

    def refuse_usage_writes(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if "partners_partnerusagedaily" in sql:
            raise OperationalError("the database is unreachable")
        return execute(sql, params, many, context)

    with (
        caplog.at_level(logging.ERROR, logger="partners.ratelimit"),
        connection.execute_wrapper(refuse_usage_writes),
    ):
        assert client.get(ME).status_code == 200
    assert "API usage kept in process" in caplog.text
    assert _billed_calls(client.partner) == 0
    ratelimit.send_buffer()  # the flusher thread, once the database answers
    assert _billed_calls(client.partner) == 1


def test_redis_going_down_and_coming_back_mid_run_loses_no_call(
    partner_api_client, settings, real_redis
):
    """A real outage of the limiter's Redis (a proxy in front of it stops, then starts again on
    the same port), with the same limiter throughout: nothing is reset between the phases."""
    target = urlsplit(settings.PARTNER_RATE_LIMIT_REDIS_URL)
    proxy = TcpProxy(host=target.hostname or "127.0.0.1", port=target.port or 6379)
    proxy.start()
    settings.PARTNER_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{proxy.port}{target.path}"
    client = partner_api_client()
    try:
        assert client.get(ME)["RateLimit-Remaining"] == "999"  # through Redis
        proxy.stop()
        assert [client.get(ME).status_code for _ in range(2)] == [200, 200]
        assert _billed_calls(client.partner) == 2  # the outage's calls, at once
        proxy.start()
        # Redis counts again (the outage calls were limited by the process, not by Redis).
        assert client.get(ME)["RateLimit-Remaining"] == "998"
        usage_flush()
        assert _billed_calls(client.partner) == 4
    finally:
        proxy.stop()
