"""Signed provider webhooks with bodies no column can hold: 400 naming the field, nothing stored
(issue 12). The signatures are valid, so only the parsing and validation can refuse them."""

import json
import time
from typing import Any

import pytest
from django.db import connection

from payments.models import BillingAccount, BillingEvent, StripeEvent
from tests.payments.conftest import provider_headers, stripe_event, stripe_signature

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
STRIPE = "/api/v1/payments/stripe/webhook"
BILLING = "/api/v1/payments/billing-provider/webhook"
DEEP = ("[" * 5000 + "]" * 5000).encode()


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == code
    return body


def post_stripe(api_client: Any, payload: bytes) -> Any:
    return api_client.post(
        STRIPE,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(payload),
    )


def post_billing(api_client: Any, payload: bytes) -> Any:
    return api_client.post(
        BILLING, data=payload, content_type="application/json", **provider_headers(payload)
    )


def intent(**fields: Any) -> dict[str, Any]:
    return stripe_event("payment_intent.succeeded", {"id": "pi_unknown", **fields})


# --- Stripe ---------------------------------------------------------------------------------


def test_stripe_deeply_nested_body_is_malformed_request(api_client):
    assert_problem(post_stripe(api_client, DEEP), 400, "malformed_request")
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (intent(amount=10**20), "data.object.amount"),
        (intent(amount_received=-(10**20)), "data.object.amount_received"),
        ({**intent(), "created": 10**15}, "created"),  # beyond the year 9999
        ({**intent(), "created": -1}, "created"),
        ({key: value for key, value in intent().items() if key != "id"}, "id"),
        ({**intent(), "data": {"object": ["not", "an", "object"]}}, "data.object"),
    ],
    ids=["amount", "amount-received", "created-far", "created-negative", "no-id", "no-object"],
)
def test_stripe_event_out_of_range_names_the_field(api_client, event, field):
    body = assert_problem(
        post_stripe(api_client, json.dumps(event).encode()), 400, "validation_error"
    )
    assert [error["field"] for error in body["errors"]] == [field]
    assert not StripeEvent.objects.exists()


def test_stripe_body_that_is_not_an_object_is_refused(api_client):
    body = assert_problem(post_stripe(api_client, b"[1, 2]"), 400, "validation_error")
    assert body["errors"][0]["field"] == ""
    assert not StripeEvent.objects.exists()


def test_stripe_event_within_range_is_stored(api_client):
    event = intent(amount=2**63 - 1)
    response = post_stripe(api_client, json.dumps(event).encode())
    assert response.status_code == 200, response.content
    assert StripeEvent.objects.get().payload["data"]["object"]["amount"] == 2**63 - 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL refuses NUL in jsonb")
def test_stripe_event_postgresql_cannot_store_is_400_not_500(api_client):
    event = intent(description="nul \u0000 byte")
    body = assert_problem(post_stripe(api_client, json.dumps(event).encode()), 400, "invalid_value")
    assert "jsonb" not in json.dumps(body) and "INSERT" not in json.dumps(body)
    assert not StripeEvent.objects.exists()


# --- billing provider -----------------------------------------------------------------------


GOOD_KEY = "cvt_live_bad_input_key"


@pytest.fixture
def account(api_client, fake_provider) -> BillingAccount:  # type: ignore[no-untyped-def]
    fake_provider.keys[GOOD_KEY] = {
        "id": "cus_100",
        "email": "owner@acme.test",
        "subscription": {"status": "active", "plan": "pro"},
    }
    response = api_client.post(
        "/api/v1/business/register",
        {"cvtApiKey": GOOD_KEY, "businessName": "Acme Dental", "email": "owner@acme.test"},
        format="json",
    )
    assert response.status_code == 201, response.content
    return BillingAccount.objects.get(provider_customer_id="cus_100")


def billing_event(event_type: str, data: dict[str, Any], **overrides: Any) -> bytes:
    event = {"id": "cvt_evt_bad", "type": event_type, "created": int(time.time()), "data": data}
    return json.dumps({**event, **overrides}).encode()


def test_billing_deeply_nested_body_is_malformed_request(api_client):
    assert_problem(post_billing(api_client, DEEP), 400, "malformed_request")
    assert not BillingEvent.objects.exists()


def test_billing_amount_beyond_the_column_names_the_field(api_client, account):
    payload = billing_event("charge.succeeded", {"customer_id": "cus_100", "amount": 10**20})
    body = assert_problem(post_billing(api_client, payload), 400, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["data.amount"]
    assert not BillingEvent.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"created": 10**15}, "created"),
        ({"created": "2026-02-30T00:00:00Z"}, "created"),
        ({"data": {"customer_id": "cus_100", "ends_at": -(10**15)}}, "data.ends_at"),
    ],
)
def test_billing_time_no_datetime_can_hold_names_the_field(api_client, account, fields, field):
    overrides = {"data": {"customer_id": "cus_100"}, **fields}
    payload = billing_event("subscription.canceled", **overrides)
    body = assert_problem(post_billing(api_client, payload), 400, "invalid_event")
    assert body["field"] == field
    assert not BillingEvent.objects.exists()
    account.refresh_from_db()
    assert account.subscription_status == BillingAccount.SubscriptionStatus.ACTIVE


def test_billing_naive_iso_time_is_utc(api_client, account):
    payload = billing_event(
        "subscription.canceled", {"customer_id": "cus_100"}, created="2026-01-02T03:04:05"
    )
    assert post_billing(api_client, payload).status_code == 200
    account.refresh_from_db()
    assert account.subscription_status == BillingAccount.SubscriptionStatus.CANCELED
    assert account.status_event_at.isoformat() == "2026-01-02T03:04:05+00:00"
