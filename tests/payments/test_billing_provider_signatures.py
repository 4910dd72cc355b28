"""Billing-provider webhook signatures: the provider's plain scheme (the default) and the
timestamped scheme a deployment can require instead (``BILLING_PROVIDER_SIGNATURE_SCHEME``)."""

import hashlib
import hmac
import json
import time

import pytest
from django.core.checks import run_checks

from payments.models import BillingEvent
from tests.payments.conftest import provider_headers, provider_timestamped_headers

pytestmark = pytest.mark.django_db

URL = "/api/v1/payments/billing-provider/webhook"
EVENT = {
    "id": "evt_sig_1",
    "type": "charge.succeeded",
    "data": {"customer_id": "cus_nobody", "amount": 2999, "currency": "USD"},
}
PAYLOAD = json.dumps(EVENT).encode()


def _post(api_client, payload: bytes = PAYLOAD, **headers: str):  # type: ignore[no-untyped-def]
    return api_client.post(URL, data=payload, content_type="application/json", **headers)


def _refused(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_signature"


def test_plain_scheme_is_the_default_and_accepts_the_providers_signature(settings, api_client):
    assert settings.BILLING_PROVIDER_SIGNATURE_SCHEME == "plain"
    response = _post(api_client, **provider_headers(PAYLOAD))
    assert response.status_code == 200 and response.json() == {"received": True}
    assert BillingEvent.objects.get().provider_event_id == "evt_sig_1"


def test_plain_signature_in_upper_case_hex_is_accepted(api_client):
    signature = provider_headers(PAYLOAD)["HTTP_CVT_SIGNATURE"].upper()
    assert _post(api_client, HTTP_CVT_SIGNATURE=signature).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_CVT_SIGNATURE": ""},
        provider_headers(PAYLOAD, secret="not-the-secret"),
        provider_headers(PAYLOAD + b" "),  # signed another body
        provider_timestamped_headers(PAYLOAD),  # signed "<timestamp>.<body>": not the body
        {"HTTP_CVT_SIGNATURE": "sha256=" + provider_headers(PAYLOAD)["HTTP_CVT_SIGNATURE"]},
        {"HTTP_CVT_SIGNATURE": "é" * 64},  # not ASCII: refused, not a 500
    ],
    ids=[
        "missing",
        "empty",
        "wrong-secret",
        "other-body",
        "timestamped",
        "prefixed",
        "non-ascii",
    ],
)
def test_plain_scheme_refuses_anything_else(api_client, headers):
    _refused(_post(api_client, **headers))
    assert not BillingEvent.objects.exists()


def test_without_a_webhook_secret_everything_is_refused(settings, api_client):
    settings.BILLING_PROVIDER_WEBHOOK_SECRET = ""
    empty_key = hmac.new(b"", PAYLOAD, hashlib.sha256).hexdigest()
    _refused(_post(api_client, HTTP_CVT_SIGNATURE=empty_key))


def test_timestamped_scheme_requires_a_fresh_timestamp(settings, api_client, time_machine):
    settings.BILLING_PROVIDER_SIGNATURE_SCHEME = "timestamped"
    now = int(time.time())
    time_machine.move_to(now, tick=False)  # the tolerance is measured, not raced
    _refused(_post(api_client, **provider_headers(PAYLOAD)))  # the plain scheme is not enough
    _refused(_post(api_client, **provider_timestamped_headers(PAYLOAD, at=now - 301)))
    _refused(_post(api_client, **provider_timestamped_headers(PAYLOAD, at=now + 301)))
    stale_header = provider_timestamped_headers(PAYLOAD, at=now)
    stale_header["HTTP_CVT_TIMESTAMP"] = str(now - 1)  # signed with another timestamp
    _refused(_post(api_client, **stale_header))
    not_a_number = {**provider_timestamped_headers(PAYLOAD), "HTTP_CVT_TIMESTAMP": "soon"}
    _refused(_post(api_client, **not_a_number))
    assert not BillingEvent.objects.exists()

    assert (
        _post(api_client, **provider_timestamped_headers(PAYLOAD, at=now - 300)).status_code == 200
    )
    assert BillingEvent.objects.count() == 1


def test_an_unknown_scheme_refuses_every_webhook_and_fails_the_checks(settings, api_client):
    settings.BILLING_PROVIDER_SIGNATURE_SCHEME = "none"
    _refused(_post(api_client, **provider_headers(PAYLOAD)))
    [error] = [m for m in run_checks() if m.id == "payments.E001"]
    assert "'none'" in error.msg and "plain, timestamped" in error.hint


def test_the_known_schemes_pass_the_checks(settings):
    for scheme in ("plain", "timestamped"):
        settings.BILLING_PROVIDER_SIGNATURE_SCHEME = scheme
        assert not [m for m in run_checks() if m.id == "payments.E001"]


def test_a_replayed_plain_request_is_processed_once(api_client):
    """The plain scheme has no timestamp: a captured request stays valid, and only the
    once-per-event-id processing makes its replay harmless."""
    headers = provider_headers(PAYLOAD)
    first, replay = _post(api_client, **headers), _post(api_client, **headers)
    assert first.status_code == replay.status_code == 200
    assert BillingEvent.objects.filter(provider_event_id="evt_sig_1").count() == 1


def test_a_signed_body_that_is_not_an_event_is_a_clear_problem(api_client):
    for payload, code in (
        (b"[1, 2]", "invalid_event"),
        (b"not json", "malformed_request"),
        (b"\xff\xfe", "malformed_request"),
    ):
        response = _post(api_client, payload, **provider_headers(payload))
        assert response.status_code == 400
        assert response.json()["code"] == code
    for event in (
        {"type": "charge.failed", "data": {}},
        {"id": "", "type": "charge.failed", "data": {}},
        {"id": True, "type": "charge.failed", "data": {}},
        {"id": {"nested": 1}, "type": "charge.failed", "data": {}},
        {"id": "e" * 256, "type": "charge.failed", "data": {}},  # longer than the column
        {"id": "evt_x", "data": "text"},
    ):
        payload = json.dumps(event).encode()
        response = _post(api_client, payload, **provider_headers(payload))
        assert response.status_code == 400 and response.json()["code"] == "invalid_event"
    assert not BillingEvent.objects.exists()
