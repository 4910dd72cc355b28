"""``POST /api/v1/business/register`` (also at ``/api/business/register``): rate limited per
client IP; a refused or unverifiable provider key writes nothing and is never echoed or logged."""

import logging

import httpx
import pytest
import respx
from django.test import override_settings

from partners.models import ApiKey, Partner
from payments.models import BillingAccount
from rbac.models import AuditEvent
from tests.infra import unreachable_redis_cache
from tests.payments.conftest import PROVIDER_BASE

pytestmark = pytest.mark.django_db

URL = "/api/v1/business/register"
SECRET_KEY = "cvt_live_very_secret_key_987"


def _register(api_client, key: str = SECRET_KEY, **extra):  # type: ignore[no-untyped-def]
    return api_client.post(
        URL,
        {"cvtApiKey": key, "businessName": "Acme Dental", "email": "owner@acme.test"},
        format="json",
        **extra,
    )


def _nothing_written() -> None:
    assert not Partner.objects.exists()
    assert not BillingAccount.objects.exists()
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.fixture
def other_ip() -> str:
    return "203.0.113.77"


def test_registrations_are_rate_limited_per_client_ip(
    settings, api_client, fake_provider, other_ip
):
    settings.BUSINESS_REGISTER_RATE_LIMIT = "3/hour"
    answers = [_register(api_client).status_code for _ in range(3)]
    assert answers == [401, 401, 401]
    calls_before = len(fake_provider.auth_headers)

    limited = _register(api_client)

    assert limited.status_code == 429
    assert limited["Content-Type"] == "application/problem+json"
    body = limited.json()
    assert body["code"] == "rate_limited" and body["status"] == 429
    retry_after = int(limited["Retry-After"])
    assert 0 < retry_after <= 3600 and body["retryAfter"] == retry_after
    assert len(fake_provider.auth_headers) == calls_before  # the provider is not asked
    # A forged X-Forwarded-For does not reset the count (no trusted proxy configured) ...
    assert _register(api_client, HTTP_X_FORWARDED_FOR=other_ip).status_code == 429
    # ... while another client address has its own budget.
    assert _register(api_client, REMOTE_ADDR=other_ip).status_code == 401
    _nothing_written()


def test_forwarded_address_counts_behind_a_trusted_proxy(
    settings, api_client, fake_provider, other_ip
):
    settings.BUSINESS_REGISTER_RATE_LIMIT = "1/minute"
    settings.RBAC_TRUSTED_PROXY_COUNT = 1
    assert _register(api_client).status_code == 401
    assert _register(api_client).status_code == 429
    assert _register(api_client, HTTP_X_FORWARDED_FOR=other_ip).status_code == 401
    assert _register(api_client, HTTP_X_FORWARDED_FOR=other_ip).status_code == 429


def test_the_guides_path_shares_the_rate_limit(settings, api_client, fake_provider):
    settings.BUSINESS_REGISTER_RATE_LIMIT = "2/hour"
    assert _register(api_client).status_code == 401
    seed_path = api_client.post(
        "/api/business/register",
        {"cvtApiKey": SECRET_KEY, "businessName": "Acme Dental", "email": "owner@acme.test"},
        format="json",
    )
    assert seed_path.status_code == 401
    assert _register(api_client).status_code == 429
    _nothing_written()


def test_rate_limit_setting_empty_disables_it(settings, api_client, fake_provider):
    settings.BUSINESS_REGISTER_RATE_LIMIT = ""
    assert {_register(api_client).status_code for _ in range(12)} == {401}


def test_default_limit_is_ten_an_hour(api_client, fake_provider):
    answers = [_register(api_client).status_code for _ in range(11)]
    assert answers == [401] * 10 + [429]


def test_registration_keeps_working_and_limited_when_the_cache_is_down(
    settings, api_client, fake_provider, caplog
):
    settings.BUSINESS_REGISTER_RATE_LIMIT = "2/hour"
    fake_provider.keys[SECRET_KEY] = {"id": "cus_1", "subscription": {"status": "active"}}
    client_ip = {"REMOTE_ADDR": "198.51.100.31"}  # its own budget in this process's counts
    with override_settings(CACHES=unreachable_redis_cache()):
        registered = _register(api_client, **client_ip)
        refused = _register(api_client, "cvt_live_unknown", **client_ip)
        limited = _register(api_client, **client_ip)

    assert registered.status_code == 201, registered.content
    assert Partner.objects.filter(public_id=registered.json()["business"]["id"]).exists()
    assert refused.status_code == 401
    assert limited.status_code == 429
    assert limited["Content-Type"] == "application/problem+json"
    assert limited.json()["code"] == "rate_limited"
    assert "counting in this process" in caplog.text


def test_refused_key_writes_nothing_and_leaks_nothing(api_client, fake_provider, caplog):
    caplog.set_level(logging.DEBUG)
    response = _register(api_client)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_provider_key"
    assert SECRET_KEY not in response.content.decode()
    assert SECRET_KEY not in caplog.text
    _nothing_written()


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, text=f"internal error for {SECRET_KEY}"),
        httpx.ConnectTimeout("timed out"),
    ],
    ids=["provider-5xx", "timeout"],
)
def test_unverifiable_key_writes_nothing_and_leaks_nothing(api_client, caplog, failure):
    caplog.set_level(logging.DEBUG)
    with respx.mock(base_url=PROVIDER_BASE) as mock:
        mock.post("/v1/verify").mock(side_effect=[failure])
        response = _register(api_client)
    assert response.status_code in (502, 503)
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"].startswith("billing_provider_")
    assert SECRET_KEY not in response.content.decode()
    assert SECRET_KEY not in caplog.text
    _nothing_written()


def test_a_registered_key_is_not_revealed_to_an_unverified_caller(api_client, fake_provider):
    fake_provider.keys[SECRET_KEY] = {"id": "cus_1", "subscription": {"status": "active"}}
    assert _register(api_client).status_code == 201
    fake_provider.keys.clear()  # e.g. the key was revoked at the provider
    again = _register(api_client)
    assert again.status_code == 401 and again.json()["code"] == "invalid_provider_key"
    assert Partner.objects.count() == 1


# --- the provider-side customer (the seed: verify key → create/lookup customer → store id) ---

NEW_KEY = "cvt_live_no_customer_yet"


def test_verified_key_without_customer_creates_it_at_the_provider(api_client, fake_provider):
    fake_provider.keys[NEW_KEY] = {"subscription": {"plan": "pro"}}  # verified, no customer

    response = _register(api_client, NEW_KEY)

    assert response.status_code == 201, response.content
    assert fake_provider.customers == [
        {"email": "owner@acme.test", "name": "Acme Dental", "plan": "pro"}
    ]
    assert fake_provider.auth_headers == ["Bearer cvt-secret", "Bearer cvt-secret"]
    assert fake_provider.customer_keys[0].startswith("careos:business_register:")
    assert NEW_KEY not in fake_provider.customer_keys[0]
    account = BillingAccount.objects.get()
    assert account.provider_customer_id == "cus_new_1"
    assert (account.plan, account.subscription_status) == ("pro", "trialing")
    assert account.trial_ends_at is not None and account.provider_key == NEW_KEY
    assert response.json()["business"]["id"] == account.partner.public_id


def test_verified_key_with_a_customer_uses_it(api_client, fake_provider):
    fake_provider.keys[NEW_KEY] = {"id": "cus_existing", "subscription": {"status": "active"}}
    assert _register(api_client, NEW_KEY).status_code == 201
    assert fake_provider.customers == []
    assert BillingAccount.objects.get().provider_customer_id == "cus_existing"


def test_provider_refusing_the_customer_is_a_clear_problem(api_client, fake_provider):
    fake_provider.keys[NEW_KEY] = {}
    fake_provider.router.routes["customers"].mock(
        return_value=httpx.Response(422, json={"error": f"email taken ({NEW_KEY})"})
    )
    response = _register(api_client, NEW_KEY)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "billing_provider_rejected" and "customer" in body["detail"]
    assert NEW_KEY not in response.content.decode()
    _nothing_written()


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (httpx.Response(500, json={"error": "boom"}), 502, "billing_provider_error"),
        (httpx.Response(200, text="<html>proxy</html>"), 502, "billing_provider_error"),
        (httpx.Response(200, json={"email": "no id"}), 502, "billing_provider_error"),
        (httpx.ReadTimeout("timed out"), 503, "billing_provider_unavailable"),
    ],
    ids=["5xx", "not-json", "no-id", "timeout"],
)
def test_provider_failing_to_create_the_customer_writes_nothing(
    api_client, fake_provider, failure, status, code
):
    fake_provider.keys[NEW_KEY] = {}
    fake_provider.router.routes["customers"].mock(side_effect=[failure])
    response = _register(api_client, NEW_KEY)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    _nothing_written()


def test_retry_after_a_timeout_sends_the_same_idempotency_key(api_client, fake_provider):
    fake_provider.keys[NEW_KEY] = {}
    sent: list[str] = []

    def flaky(request):  # type: ignore[no-untyped-def]
        sent.append(request.headers["idempotency-key"])
        if len(sent) == 1:
            raise httpx.ReadTimeout("timed out")
        return fake_provider.customer(request)

    fake_provider.router.routes["customers"].mock(side_effect=flaky)
    assert _register(api_client, NEW_KEY).status_code == 503
    assert _register(api_client, NEW_KEY).status_code == 201
    assert len(sent) == 2 and sent[0] == sent[1]
    assert BillingAccount.objects.get().provider_customer_id == "cus_new_1"


def test_console_backend_creates_a_local_customer(settings, api_client):
    from payments.providers.billing_provider import provider_customer_create

    settings.BILLING_PROVIDER_BACKEND = "console"
    customer = provider_customer_create(
        email="a@b.test", name="B", plan="basic", idempotency_key="k1"
    )
    assert customer.id.startswith("cus_console_")
    assert (
        customer.id
        == provider_customer_create(
            email="a@b.test", name="B", plan="basic", idempotency_key="k1"
        ).id
    )


def test_schema_documents_the_registration_problems():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in ("/api/v1/business/register", "/api/business/register"):
        responses = schema["paths"][path]["post"]["responses"]
        for status in ("401", "409", "422", "429", "502", "503"):
            assert "application/problem+json" in responses[status]["content"], (path, status)
    assert schema["paths"]["/api/business/register"]["post"]["deprecated"] is True
    created = schema["paths"]["/api/v1/business/register"]["post"]["responses"]["201"]
    ref = created["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][ref]["properties"]) == {"business", "apiKey"}
