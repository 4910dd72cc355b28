"""Rate limits per credential and per partner, and usage counting."""

import logging
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.utils import timezone

from partners import ratelimit
from partners.api.authentication import rate_limit_for
from partners.models import ApiKey, Partner, PartnerUsageDaily
from partners.services.usage import usage_flush
from tests.infra import closed_local_port
from tests.partners.factories import PartnerFactory, make_api_key

ME = "/api/v1/partners/me"


@pytest.mark.django_db
def test_headers_on_every_response(partner_api_client):
    client = partner_api_client()
    first = client.get(ME)
    assert first["RateLimit-Limit"] == "1000"
    assert first["RateLimit-Remaining"] == "999"
    assert 1 <= int(first["RateLimit-Reset"]) <= 60
    # A refused call (missing scope) is counted and carries the headers too.
    refused = partner_api_client(partner=client.partner, scopes=["read:leads"]).get(ME)
    assert refused.status_code == 403
    assert refused["RateLimit-Remaining"] == "998"


@pytest.mark.django_db
def test_tier_and_partner_override_set_the_limit(partner_api_client):
    enterprise = partner_api_client(partner=PartnerFactory(tier=Partner.Tier.ENTERPRISE))
    assert enterprise.get(ME)["RateLimit-Limit"] == "10000"
    custom = partner_api_client(partner=PartnerFactory(rate_limit_per_minute=7))
    assert custom.get(ME)["RateLimit-Limit"] == "7"


def test_a_view_can_have_its_own_bucket_and_limit(settings):
    settings.LEADS_INGEST_RATE_LIMIT_PER_MINUTE = 100

    class LeadIngest:
        rate_limit_per_minute = 100
        rate_limit_bucket = "lead_ingest"

    class BySetting:
        rate_limit_per_minute = "LEADS_INGEST_RATE_LIMIT_PER_MINUTE"
        rate_limit_bucket = "lead_ingest"

    partner = Partner(tier=Partner.Tier.ENTERPRISE, rate_limit_per_minute=50_000)
    assert rate_limit_for(partner=partner, view=LeadIngest()) == ("lead_ingest", 100)
    assert rate_limit_for(partner=partner, view=BySetting()) == ("lead_ingest", 100)
    assert rate_limit_for(partner=partner, view=object()) == ("default", 50_000)


@pytest.mark.django_db
def test_over_the_limit_is_429_with_retry_after(partner_api_client):
    client = partner_api_client(partner=PartnerFactory(rate_limit_per_minute=2))
    assert [client.get(ME).status_code for _ in range(2)] == [200, 200]
    response = client.get(ME)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["RateLimit-Remaining"] == "0"


@pytest.mark.django_db
def test_partner_limit_is_shared_by_its_credentials(partner_api_client):
    partner = PartnerFactory(rate_limit_per_minute=3)
    first, second = partner_api_client(partner=partner), partner_api_client(partner=partner)
    statuses = [c.get(ME).status_code for c in (first, second, first, second)]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_exactly_the_limit_succeeds(live_server, real_redis, settings):
    settings.PARTNER_RATE_LIMIT_WINDOW_SECONDS = 3600
    partner = PartnerFactory(rate_limit_per_minute=20)
    keys = [make_api_key(partner=partner).secret for _ in range(3)]

    def call(index: int) -> int:
        response = httpx.get(
            f"{live_server.url}{ME}", headers={"X-API-Key": keys[index % 3]}, timeout=30
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(call, range(32)))
    assert statuses.count(200) == 20
    assert statuses.count(429) == 12


@pytest.mark.django_db
def test_redis_down_degrades_to_a_per_process_limit(partner_api_client, settings, caplog):
    settings.PARTNER_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{closed_local_port()}/0"
    client = partner_api_client(partner=PartnerFactory(rate_limit_per_minute=2))
    with caplog.at_level(logging.WARNING, logger="partners.ratelimit"):
        responses = [client.get(ME) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r["RateLimit-Remaining"] for r in responses] == ["1", "0", "0"]
    assert responses[2].json()["code"] == "rate_limited"
    assert "per-process limit" in caplog.text


def _outage_warnings(caplog: pytest.LogCaptureFixture) -> int:
    return sum("per-process limit" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_an_outage_is_warned_about_once_per_ten_seconds(
    partner_api_client, settings, caplog, clock
):
    settings.PARTNER_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{closed_local_port()}/0"
    client = partner_api_client()
    with caplog.at_level(logging.WARNING, logger="partners.ratelimit"):
        assert [client.get(ME).status_code for _ in range(3)] == [200] * 3
        assert _outage_warnings(caplog) == 1  # not one per request
        clock.advance(9.9)
        assert client.get(ME).status_code == 200
        assert _outage_warnings(caplog) == 1
        clock.advance(0.1)
        assert client.get(ME).status_code == 200
        assert _outage_warnings(caplog) == 2
        # Pointed at another Redis, the limiter reports its first failure at once.
        settings.PARTNER_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{closed_local_port()}/0"
        assert client.get(ME).status_code == 200
        assert _outage_warnings(caplog) == 3


@pytest.mark.django_db
def test_in_process_limiter_without_redis(partner_api_client, settings):
    settings.PARTNER_RATE_LIMIT_REDIS_URL = ""
    client = partner_api_client(partner=PartnerFactory(rate_limit_per_minute=1))
    assert client.get(ME).status_code == 200
    assert client.get(ME).status_code == 429


@pytest.mark.django_db
@pytest.mark.parametrize("redis_url", ["configured", ""])
def test_usage_is_counted_then_flushed_to_the_database(partner_api_client, settings, redis_url):
    if redis_url == "":
        settings.PARTNER_RATE_LIMIT_REDIS_URL = ""
    client = partner_api_client(partner=PartnerFactory(rate_limit_per_minute=3))
    assert client.get(ME).status_code == 200
    assert client.get(ME).status_code == 200
    assert client.get("/api/v1/partners/me/keys/key_missing").status_code == 404
    assert client.get(ME).status_code == 429
    assert not PartnerUsageDaily.objects.exists()  # no database write per request

    assert usage_flush() == 2
    today = timezone.now().date()
    me = PartnerUsageDaily.objects.get(partner=client.partner, endpoint="GET api/v1/partners/me")
    assert (me.day, me.calls, me.errors, me.rate_limited) == (today, 2, 0, 1)
    missing = PartnerUsageDaily.objects.get(
        partner=client.partner, endpoint="GET api/v1/partners/me/keys/<str:key_id>"
    )
    assert (missing.calls, missing.errors) == (1, 1)
    assert ApiKey.objects.get(pk=client.api_key.pk).last_used_at is not None
    assert usage_flush() == 0  # drained


@pytest.mark.django_db
def test_usage_endpoint_lists_own_usage_only(partner_api_client):
    client = partner_api_client()
    other = PartnerFactory()
    today = timezone.now().date()
    PartnerUsageDaily.objects.create(
        partner=client.partner, day=today, endpoint="GET api/v1/x", calls=10, total_latency_ms=50
    )
    PartnerUsageDaily.objects.create(partner=other, day=today, endpoint="GET api/v1/x", calls=3)
    response = client.get("/api/v1/partners/me/usage")
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "day": today.isoformat(),
            "endpoint": "GET api/v1/x",
            "calls": 10,
            "errors": 0,
            "rateLimited": 0,
            "totalLatencyMs": 50,
            "averageLatencyMs": 5,
        }
    ]


@pytest.mark.django_db
def test_usage_flush_runs_on_a_beat_schedule(partner_api_client):
    from django_celery_beat.models import PeriodicTask

    from partners.tasks import flush_partner_usage

    task = PeriodicTask.objects.get(task="partners.tasks.flush_partner_usage")
    assert (task.enabled, task.interval.every, task.interval.period) == (True, 60, "seconds")
    client = partner_api_client()
    client.get(ME)
    assert flush_partner_usage.delay().get() == 1
    assert PartnerUsageDaily.objects.get(partner=client.partner).calls == 1


@pytest.mark.parametrize("backend", ["redis", "memory"])
def test_sliding_window_holds_a_boundary_burst_to_the_limit(settings, backend):
    """A full burst at the end of a window and another at the start of the next: a fixed
    window would allow 2x the limit; the weighted previous window allows what slid out."""
    if backend == "memory":
        settings.PARTNER_RATE_LIMIT_REDIS_URL = ""
    elif not settings.PARTNER_RATE_LIMIT_REDIS_URL:
        pytest.skip("needs REDIS_URL")
    settings.PARTNER_RATE_LIMIT_WINDOW_SECONDS = 60
    start = 60 * 29_000_000.0  # a window boundary

    def burst(at: float, *, credential: str = "key_a", count: int = 30) -> list[ratelimit.Decision]:
        hit = ratelimit.Hit(
            partner_pk=7,
            credential_ref=credential,
            api_key_ref="",
            endpoint="GET api/v1/partners/me",
            bucket="default",
            limit=10,
            now=at,
        )
        return [ratelimit.hit(hit) for _ in range(count)]

    def allowed(decisions: list[ratelimit.Decision]) -> int:
        return sum(d.allowed for d in decisions)

    # Inside one window with an empty previous window: exactly the limit.
    first = burst(start + 59)
    assert allowed(first) == 10
    assert [d.remaining for d in first[:10]] == list(range(9, -1, -1))
    # The window ends in 1 s; right at the boundary all 10 still count, just after it 9 do.
    assert first[10].reset_seconds == 2
    # 0.5 s into the next window, 10 * (59.5/60) → 9 of the previous 10 still count: one call.
    second = burst(start + 60.5)
    assert allowed(second) == 1
    # Refused until floor(10 * weight) + 1 < 10, i.e. 6 s into the window: 5.5 s from now.
    assert second[1].reset_seconds == 6
    # Half way through, half of the previous window slid out: 5 + 1 used, 4 more.
    assert allowed(burst(start + 90)) == 4
    # The partner's counter is shared: another credential of the same partner is held too.
    assert allowed(burst(start + 90, credential="key_b")) == 0
    # Over any 60 s the calls stay near the limit, never 2x: 10 + 1 + 4 from 59 s to 90 s.
    # Two windows later the oldest window no longer counts at all; the previous one (5) does.
    assert allowed(burst(start + 120)) == 5
    assert allowed(burst(start + 240)) == 10
